// crdt/or_set.hpp -- an observed-remove set without tombstones, as a
// delta-state dot store.
//
// add-wins (default, the ORSWOT of Bieniusa et al. / Riak): element -> set of
// dots (dot_map<T, dot_set>). add(x) tags x with a fresh dot and drops the
// dots of x it observed; remove(x) drops the observed dots and leaves
// nothing behind but their presence in the causal context, so a removed
// element costs no memory. A concurrent add survives a remove: the remover
// never saw its dot.
//
// remove-wins (policy `bias = remove_wins`): element -> dot -> bool
// (dot_map<T, dot_fun<bool>>). add writes a true dot, remove a false dot,
// each replacing what it observed; x is present iff it has dots and all are
// true, so a concurrent remove beats an add. Here a removed element keeps
// one false dot per concurrent remover until a later add observes it.
//
// Containers: flat_containers (default; sorted vector) or hashed_containers
// (std::unordered_map, for large sets).
//
// Compared with std::set: merge-able across replicas; each element carries
// one dot (replica id + counter); a delta of one add is one element.
//
// Complexity (n elements): contains O(log n) flat / O(1) hashed; add and
// remove O(n) flat (vector insertion) / O(1) hashed; merge O(n + m), or
// O(k log n) for a delta touching k << n elements (kernel.hpp).
// Thread safety: a value type. Exception safety: add/remove strong; merge
// basic.
#pragma once

#include <crdt/codec/codec.hpp>
#include <crdt/core/config.hpp>
#include <crdt/core/replica_id.hpp>
#include <crdt/detail/dot_store/causal_base.hpp>
#include <crdt/detail/dot_store/codec.hpp>
#include <crdt/detail/dot_store/kernel.hpp>
#include <crdt/detail/dot_store/policies.hpp>

#include <range/v3/view/filter.hpp>
#include <range/v3/view/transform.hpp>

#include <cstddef>
#include <memory>
#include <type_traits>
#include <utility>

CRDT_BEGIN_NAMESPACE

/// Policy of or_set; derive and override a member.
struct or_set_defaults {
    using replica_id = crdt::replica_id;
    /// add_wins or remove_wins.
    using bias = add_wins;
    /// flat_containers or hashed_containers.
    using containers = flat_containers;
    /// The allocator the element map uses (rebound as needed).
    template <class T>
    using allocator = std::allocator<T>;
};

namespace detail::dot_store {
template <class T, class Policy>
using or_set_store = dot_map<typename Policy::replica_id, T,
                             std::conditional_t<std::is_same_v<typename Policy::bias, remove_wins>,
                                                dot_fun<typename Policy::replica_id, bool>,
                                                dot_set<typename Policy::replica_id>>,
                             typename Policy::containers, typename Policy::template allocator<T>>;
} // namespace detail::dot_store

/// An observed-remove set.
template <class T, class Policy = or_set_defaults>
class or_set : public detail::dot_store::causal_base<or_set<T, Policy>,
                                                     detail::dot_store::or_set_store<T, Policy>,
                                                     typename Policy::replica_id, no_timestamps> {
    using base = detail::dot_store::causal_base<or_set<T, Policy>,
                                                detail::dot_store::or_set_store<T, Policy>,
                                                typename Policy::replica_id, no_timestamps>;
    friend base;
    friend struct detail::dot_store::access;
    using R = typename Policy::replica_id;
    static constexpr bool remove_wins_ = std::is_same_v<typename Policy::bias, remove_wins>;
    using element_store = typename base::store_type::container::mapped_type;

public:
    using value_type = T;
    using replica_type = R;
    using policy_type = Policy;

    /// Effects: an empty set that cannot be mutated (a delta holder).
    or_set() = default;
    /// Effects: an empty set mutated by replica `id`.
    explicit or_set(R id) : base(std::move(id)) {}

    /// Requires: constructed with a replica id.
    /// Effects: adds `x` under a fresh dot, replacing the dots of x it saw.
    /// Returns: the delta. Complexity: see the file comment.
    or_set add(T x) { return write(std::move(x), true); }

    /// Requires: constructed with a replica id (remove-wins only).
    /// Effects: removes `x` as far as this replica has seen it. Under
    ///   add-wins, a remove of an absent element is a no-op (empty delta);
    ///   under remove-wins it still writes a remove dot.
    /// Returns: the delta.
    or_set remove(const T& x) {
        if constexpr (remove_wins_) {
            return write(x, false);
        } else {
            or_set delta;
            if (const auto* s = this->state_.store.find(x)) {
                s->for_each_dot([&](const auto& d) { delta.state_.ctx.insert(d); });
                this->stamp_removal(delta);
                apply_local(x, delta);
            }
            return delta;
        }
    }

    /// Effects: removes every element this replica has seen.
    /// Returns: the delta (an empty store and the removed dots).
    or_set reset() {
        or_set delta;
        this->state_.store.for_each_dot([&](const auto& d) { delta.state_.ctx.insert(d); });
        this->stamp_removal(delta);
        this->join(delta);
        return delta;
    }

    /// Returns: whether `x` is in the set.
    bool contains(const T& x) const {
        const auto* s = this->state_.store.find(x);
        return s != nullptr && present(*s);
    }

    /// Returns: a view (range-v3) of the elements, in key order for flat
    ///   containers. Invalidated by any change to *this.
    auto elements() const {
        return this->state_.store.map() |
               ranges::views::filter([](const auto& e) { return present(e.second); }) |
               ranges::views::transform([](const auto& e) -> const T& { return e.first; });
    }

    /// Returns: the number of elements. Complexity: O(1) add-wins, O(n) remove-wins.
    std::size_t size() const {
        if constexpr (remove_wins_) {
            std::size_t n = 0;
            for (const auto& e : this->state_.store.map()) {
                n += present(e.second) ? std::size_t{1} : std::size_t{0};
            }
            return n;
        } else {
            return this->state_.store.size();
        }
    }

    /// Returns: whether the set has no element.
    bool empty() const { return size() == 0; }

    /// Effects: joins `other` (a state or a delta) into *this.
    /// Throws: crdt::error(errc::causality_gap) for a delta_since(v) delta
    ///   when this replica has not reached v (nothing changes).
    /// Complexity: O(n + m); O(k log n) for a delta touching k <= n / 8
    ///   elements (after a one-time O(n log n) index build).
    void merge(const or_set& other) { this->join(other); }

    static bool visibly_empty(const typename base::store_type& s) {
        for (const auto& e : s.map()) {
            if (present(e.second)) {
                return false;
            }
        }
        return true;
    }

private:
    static bool present(const element_store& s) {
        if constexpr (remove_wins_) {
            for (const auto& e : s.entries()) {
                if (!e.second) {
                    return false;
                }
            }
        }
        return !s.empty();
    }

    or_set write(T x, bool add) {
        const auto d = this->fresh_dot();
        or_set delta;
        if (const auto* s = this->state_.store.find(x)) {
            s->for_each_dot([&](const auto& o) { delta.state_.ctx.insert(o); });
        }
        element_store es;
        if constexpr (remove_wins_) {
            es.insert(d, add);
        } else {
            es.insert(d);
        }
        delta.state_.ctx.insert(d);
        delta.state_.store.put(x, std::move(es));
        apply_local(x, delta);
        return delta;
    }

    // A local delta touches one key: join just that key.
    void apply_local(const T& x, const or_set& delta) {
        const auto* added = delta.state_.store.find(x);
        try {
            this->state_.store.join_key(x, added, this->state_.view(), delta.state_.view());
            this->state_.ctx.merge(delta.state_.ctx);
        } catch (...) {
            this->state_.drop_index(); // the key may hold a dot the index lacks
            throw;
        }
        if (added != nullptr) {
            added->for_each_dot([&](const auto& d) { this->state_.note(d, x); });
        }
    }
};

/// Encoding: the causal state; elements in increasing order, each with its
/// dots (add-wins) or dot -> bool (remove-wins).
template <class T, class Policy>
struct codec<or_set<T, Policy>> : detail::dot_store::causal_codec<or_set<T, Policy>> {};

CRDT_END_NAMESPACE
