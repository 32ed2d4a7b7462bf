// crdt/detail/dot_store/causal_base.hpp -- the common part of every public
// replicated type: a causal state (store + context), the local replica id
// (absent in deltas and decoded states), and the clock of timestamped types.
//
// The public types derive from causal_base (CRTP) and add their mutators and
// reads. Every mutator builds its delta, joins it into the state with the
// kernel's join and returns it. merge() is the kernel's join; version(),
// context(), delta_since() and equality are the same for every type.
//
// Nesting: or_map holds the stores of its values and lends them, with its
// shared context, replica id and clock, to a temporary value object while a
// caller mutates it (`access::lend` / `access::give_back`).
//
// Thread safety: values; not synchronized. Exception safety: merge() gives
// the basic guarantee (strong when the clock policy rejects a timestamp:
// the clock is consulted before anything changes).
#pragma once

#include <crdt/core/causal_context.hpp>
#include <crdt/core/config.hpp>
#include <crdt/core/dot.hpp>
#include <crdt/core/error.hpp>
#include <crdt/core/version_vector.hpp>
#include <crdt/detail/dot_store/kernel.hpp>

#include <optional>
#include <string>
#include <utility>

CRDT_BEGIN_NAMESPACE

/// Clock policy of types without timestamps.
struct no_timestamps {
    struct timestamp_type {
        friend auto operator<=>(const timestamp_type&, const timestamp_type&) = default;
    };
    struct clock_type {
        friend bool operator==(const clock_type&, const clock_type&) = default;
    };
    static constexpr bool caller_supplied = false;
    static void observe(clock_type&, const timestamp_type&) noexcept {}
};

namespace detail::dot_store {

struct access;

template <class Derived, class Store, class R, class ClockPolicy>
class causal_base {
public:
    using replica_type = R;
    using dot_type = basic_dot<R>;
    using version_type = basic_version_vector<R>;
    using context_type = basic_causal_context<R>;
    using store_type = Store;
    using clock_policy = ClockPolicy;
    using clock_type = typename ClockPolicy::clock_type;

    /// Deltas made by mutators converge when merged in any order, but the
    ///   version of a state that merged one early may then claim dots whose
    ///   effects it lacks (an add's delta names the dots it replaces, so a
    ///   later add can mark an earlier one as seen before it arrives). So
    ///   the sync protocol delivers them causally: each carries the version
    ///   its replica had before the mutation, and waits for it.
    static constexpr bool mutator_deltas_commute = false;

    /// Returns: the replica id mutators use; empty for deltas and decoded states.
    const std::optional<R>& replica() const noexcept { return id_; }

    /// Returns: every dot this state has seen.
    const context_type& context() const noexcept { return state_.ctx; }

    /// Returns: the contiguous part of context(): the version a peer can ask
    ///   delta_since() about.
    const version_type& version() const noexcept { return state_.ctx.version(); }

    /// Returns: what a peer whose version is `v` lacks: a delta (no replica
    ///   id) such that `peer.merge(delta)` gives the peer everything we have.
    /// Complexity: O(n) in the size of the state.
    Derived delta_since(const version_type& v) const {
        Derived d;
        d.state_ = state_.since(v);
        return d;
    }

    /// Effects: checks the invariants of the state: every stored dot is in
    ///   the context, no dot is stored twice, a replica holds no keep set, and
    ///   the merge index (if built) records every stored dot. CRDT_ASSERT
    ///   fails if one is broken. Complexity: O(n log n). For tests.
    void verify() const {
        state_.verify();
        CRDT_ASSERT(!id_.has_value() || (state_.keep.empty() && state_.base.empty()));
    }

    /// Returns: the clock (timestamped types).
    const clock_type& clock() const noexcept { return clock_; }

    /// Effects: equal states: same store, context and keep set (the replica
    ///   id and the clock are not part of the state).
    friend bool operator==(const causal_base& a, const causal_base& b) {
        return a.state_ == b.state_;
    }

protected:
    friend struct access;

    template <class Id>
    static std::string replica_name(const Id& r) {
        if constexpr (requires { r.to_string(); }) {
            return r.to_string();
        } else if constexpr (requires { std::to_string(r); }) {
            return std::to_string(r);
        } else {
            return "(unprintable id)";
        }
    }

    causal_base() = default;
    explicit causal_base(R id) : id_(std::move(id)) {}
    causal_base(R id, clock_type c) : id_(std::move(id)), clock_(std::move(c)) {}

    /// Returns: the next dot of the local replica (not yet in the context).
    dot_type fresh_dot() const {
        CRDT_ASSERT(id_.has_value()); // mutators need a replica id: construct with one
        return dot_type{*id_, state_.ctx.version().get(*id_) + 1};
    }

    /// Effects: the plain kernel join.
    /// Throws: crdt::error(errc::causality_gap) if *this is a replica (has a
    ///   replica id) and `o` is a delta_since(v) delta for a version v it has
    ///   not reached: `o` omits the payloads of dots alive in v, so merging it
    ///   would leave this replica claiming dots it cannot show. Nothing
    ///   changes then; merge delta_since(version()) instead.
    void join(const Derived& o) {
        if (id_.has_value() && !state_.ctx.version().includes(o.state_.base)) {
            // An lww_map delta_since(v) delta (its base is v): it may lack
            // writes inside v that this replica has not seen either.
            throw error(errc::causality_gap,
                        "merge: the delta was made by delta_since(v) for a version v this "
                        "replica has not reached; merge delta_since(version()) instead");
        }
        if (id_.has_value()) {
            for (const auto& d : o.state_.keep) {
                if (!state_.ctx.contains(d)) {
                    throw error(errc::causality_gap,
                                "merge: the delta was made by delta_since(v) for a version v "
                                "this replica has not reached (it lacks an operation of replica " +
                                    replica_name(d.replica) + ", counter " +
                                    std::to_string(d.counter) +
                                    "); merge delta_since(version()) instead");
                }
            }
        }
        state_.merge(o.state_);
    }

    /// Effects: gives a removal delta (one whose context holds the removed
    ///   dots and whose store is empty) a fresh dot of its own, in its
    ///   context and in no store. Removals then advance the version, so a
    ///   peer that missed one has a smaller version and version-vector sync
    ///   (crdt/sync/) sends it what it lacks; without the dot, two replicas
    ///   could differ by a removal and have equal versions. Does nothing for
    ///   an empty removal or without a replica id (a delta holder).
    void stamp_removal(Derived& delta) const {
        if (id_.has_value() && !delta.state_.ctx.empty()) {
            delta.state_.ctx.insert(fresh_dot());
        }
    }

    causal<Store, R> state_;
    std::optional<R> id_;
    clock_type clock_{};
};

/// The back door nesting and codecs use.
struct access {
    template <class T>
    static auto& state(T& t) noexcept {
        return t.state_;
    }
    template <class T>
    static const auto& state(const T& t) noexcept {
        return t.state_;
    }
    template <class T>
    static auto& clock(T& t) noexcept {
        return t.clock_;
    }
    template <class T>
    static auto& id(T& t) noexcept {
        return t.id_;
    }
};

} // namespace detail::dot_store
CRDT_END_NAMESPACE
