// crdt/lww_register.hpp -- a last-writer-wins register as a delta-state dot
// store.
//
// Every write carries a timestamp from the clock policy (Lamport by default,
// a hybrid logical clock, or one the caller passes) and the writer's replica
// id; the value is that of the write with the largest (timestamp, replica)
// under the tie-break policy (larger replica id wins by default), so every
// replica picks the same winner whatever the delivery order. Internally the
// register is a dot_fun<R, (timestamp, value)>: a write removes the dots it
// observed, and concurrent writes stay as siblings until a later write sees
// them; conflicts() shows the losing ones. That makes the register nest in
// or_map with reset-remove semantics (erasing the key drops exactly what the
// eraser saw).
//
// A local write whose (timestamp, replica) does not beat the current value
// (possible only with caller-supplied timestamps) is ignored and returns an
// empty delta, as it would lose on every other replica.
//
// Complexity: get() O(s) for s siblings (usually 1); assign O(s); merge
// O(s + s'). Thread safety: a value type. Exception safety: assign is
// strong; merge is strong when the clock rejects a timestamp (HLC skew),
// basic otherwise.
#pragma once

#include <crdt/codec/codec.hpp>
#include <crdt/core/config.hpp>
#include <crdt/core/replica_id.hpp>
#include <crdt/detail/dot_store/causal_base.hpp>
#include <crdt/detail/dot_store/codec.hpp>
#include <crdt/detail/dot_store/kernel.hpp>
#include <crdt/detail/dot_store/policies.hpp>
#include <crdt/mv_register.hpp>

#include <range/v3/view/filter.hpp>
#include <range/v3/view/transform.hpp>

#include <cstddef>
#include <optional>
#include <utility>

CRDT_BEGIN_NAMESPACE

/// Policy of lww_register; derive and override a member.
struct lww_register_defaults {
    using replica_id = crdt::replica_id;
    /// Where timestamps come from: lamport_timestamps, hlc_timestamps<>,
    /// caller_timestamps<T>.
    using clock = lamport_timestamps;
    /// Which of two writes at the same timestamp wins.
    using tie_break = larger_replica_wins;
};

/// A timestamped value: the payload of one write.
template <class TS, class T>
struct lww_payload {
    TS timestamp{};
    T value{};
    friend bool operator==(const lww_payload&, const lww_payload&) = default;
};

/// Encoding: the timestamp, then the value.
template <class TS, class T>
struct codec<lww_payload<TS, T>> {
    static void encode(byte_writer& w, const lww_payload<TS, T>& p) {
        codec<TS>::encode(w, p.timestamp);
        codec<T>::encode(w, p.value);
    }
    static lww_payload<TS, T> decode(byte_reader& r) {
        lww_payload<TS, T> p;
        p.timestamp = codec<TS>::decode(r);
        p.value = codec<T>::decode(r);
        return p;
    }
};

/// A last-writer-wins register.
template <class T, class Policy = lww_register_defaults>
class lww_register
    : public detail::dot_store::causal_base<
          lww_register<T, Policy>,
          detail::dot_store::dot_fun<typename Policy::replica_id,
                                     lww_payload<typename Policy::clock::timestamp_type, T>>,
          typename Policy::replica_id, typename Policy::clock> {
    using clock_policy_ = typename Policy::clock;
    using timestamp_type = typename clock_policy_::timestamp_type;
    using payload = lww_payload<timestamp_type, T>;
    using base = detail::dot_store::causal_base<
        lww_register<T, Policy>, detail::dot_store::dot_fun<typename Policy::replica_id, payload>,
        typename Policy::replica_id, clock_policy_>;
    friend base;
    friend struct detail::dot_store::access;
    using R = typename Policy::replica_id;
    using tie_break = typename Policy::tie_break;

public:
    using value_type = T;
    using replica_type = R;
    using policy_type = Policy;

    /// Effects: an empty register that cannot be mutated (a delta holder).
    lww_register() = default;
    /// Effects: an empty register written by replica `id`.
    explicit lww_register(R id) : base(std::move(id)) {}
    /// Effects: as above, with the clock `c` (e.g. an HLC on a test clock).
    lww_register(R id, typename base::clock_type c) : base(std::move(id), std::move(c)) {}

    /// Requires: a replica id; a clock policy that is not caller-supplied.
    /// Effects: writes `v` at the clock's next timestamp.
    /// Returns: the delta. Throws: what the clock throws (counter_overflow).
    lww_register assign(T v) requires(!clock_policy_::caller_supplied) {
        if (const auto* w = winner()) {
            clock_policy_::observe(this->clock_, w->second.timestamp);
        }
        return write(clock_policy_::next(this->clock_), std::move(v));
    }

    /// Requires: a replica id; caller-supplied timestamps.
    /// Effects: writes `v` at timestamp `ts`, unless the current value's
    ///   (timestamp, replica) beats (ts, this replica).
    /// Returns: the delta (empty if the write was ignored).
    lww_register assign(T v, timestamp_type ts) requires(clock_policy_::caller_supplied) {
        return write(std::move(ts), std::move(v));
    }

    /// Returns: the current value, or nullptr if the register is empty.
    const T* get() const {
        const auto* w = winner();
        return w ? &w->second.value : nullptr;
    }

    /// Returns: the timestamp of the current value, if any.
    std::optional<timestamp_type> timestamp() const {
        const auto* w = winner();
        return w ? std::optional<timestamp_type>(w->second.timestamp) : std::nullopt;
    }

    /// Returns: a view of the concurrent writes that lost (as lww_payload).
    auto conflicts() const {
        const auto& e = this->state_.store.entries();
        const auto* w = winner();
        return detail::dot_store::newest_per_replica(e) |
               ranges::views::filter([&e, w](std::size_t i) { return &*e.nth(i) != w; }) |
               ranges::views::transform(
                   [&e](std::size_t i) -> const payload& { return e.nth(i)->second; });
    }

    /// Returns: whether the register holds no value.
    bool empty() const noexcept { return this->state_.store.empty(); }

    /// Effects: removes every value this replica has seen (or_map::erase).
    /// Returns: the delta.
    lww_register reset() {
        lww_register delta;
        this->state_.store.for_each_dot([&](const auto& x) { delta.state_.ctx.insert(x); });
        this->stamp_removal(delta);
        this->join(delta);
        return delta;
    }

    /// Effects: lets the clock observe `other`'s timestamps, then joins it.
    /// Throws: crdt::error(errc::clock_skew) from an HLC clock policy if a
    ///   timestamp is too far ahead; *this is then unchanged.
    void merge(const lww_register& other) {
        observe_all(this->clock_, this->state_, other.state_.store);
        this->join(other);
    }

    static bool visibly_empty(const typename base::store_type& s) { return s.empty(); }

    /// Effects: lets `clock` observe the largest timestamp in `s` not yet
    ///   covered by `state`'s context (used by merge and by or_map).
    template <class State>
    static void observe_all(typename base::clock_type& clock, const State& state,
                            const typename base::store_type& s) {
        const payload* top = nullptr;
        for (const auto& e : s.entries()) {
            if (!state.ctx.contains(e.first) &&
                (top == nullptr || top->timestamp < e.second.timestamp)) {
                top = &e.second;
            }
        }
        if (top != nullptr) {
            clock_policy_::observe(clock, top->timestamp);
        }
    }

private:
    using entry = typename base::store_type::value_type;

    static bool beats(const timestamp_type& ts, const basic_dot<R>& d, const entry& other) {
        if (other.second.timestamp < ts) {
            return true;
        }
        if (ts < other.second.timestamp) {
            return false;
        }
        if (d.replica == other.first.replica) {
            return other.first.counter < d.counter;
        }
        return tie_break::beats(d.replica, other.first.replica);
    }

    const entry* winner() const {
        const auto& e = this->state_.store.entries();
        const entry* best = nullptr;
        for (std::size_t i : detail::dot_store::newest_per_replica(e)) {
            const entry& x = *e.nth(i);
            if (best == nullptr || beats(x.second.timestamp, x.first, *best)) {
                best = &x;
            }
        }
        return best;
    }

    lww_register write(timestamp_type ts, T v) {
        const auto d = this->fresh_dot();
        lww_register delta;
        if (const auto* w = winner(); w != nullptr && !beats(ts, d, *w)) {
            return delta;
        }
        this->state_.store.for_each_dot([&](const auto& x) { delta.state_.ctx.insert(x); });
        delta.state_.store.insert(d, payload{std::move(ts), std::move(v)});
        delta.state_.ctx.insert(d);
        this->join(delta);
        return delta;
    }
};

/// Encoding: the causal state; each dot's payload is (timestamp, value).
template <class T, class Policy>
struct codec<lww_register<T, Policy>> : detail::dot_store::causal_codec<lww_register<T, Policy>> {};

CRDT_END_NAMESPACE
