// crdt/mv_register.hpp -- a multi-value register: keeps every value written
// concurrently, as a delta-state dot store (dot_fun<R, T>).
//
// assign(v) writes v under a fresh dot and removes every dot it observed,
// so after a merge the register holds one value per write that no other
// write saw (siblings). values() reads them; resolve(fn) collapses them by
// assigning fn(values()). No tombstones: a replaced value is just a dot in
// the causal context. Nests in or_map (erasing the key resets the register;
// a concurrent assign survives).
//
// A sibling written by replica r hides any older sibling of r (r had seen
// it), so out-of-order delivery never shows a stale value.
//
// Complexity: assign O(s) for s siblings (usually 1); values() O(s); merge
// O(s + s'). Thread safety: a value type. Exception safety: assign is
// strong; merge is basic.
#pragma once

#include <crdt/codec/codec.hpp>
#include <crdt/core/config.hpp>
#include <crdt/core/replica_id.hpp>
#include <crdt/detail/dot_store/causal_base.hpp>
#include <crdt/detail/dot_store/codec.hpp>
#include <crdt/detail/dot_store/kernel.hpp>

#include <range/v3/view/filter.hpp>
#include <range/v3/view/iota.hpp>
#include <range/v3/view/transform.hpp>

#include <cstddef>
#include <utility>

CRDT_BEGIN_NAMESPACE

/// Policy of mv_register; derive and override a member.
struct mv_register_defaults {
    using replica_id = crdt::replica_id;
};

namespace detail::dot_store {
/// Returns: a view of the indices of the newest entry of each replica in a
///   dot_fun's entries (sorted by replica, then counter).
template <class Entries>
auto newest_per_replica(const Entries& e) {
    return ranges::views::iota(std::size_t{0}, e.size()) |
           ranges::views::filter([&e](std::size_t i) {
               return i + 1 == e.size() ||
                      !(e.nth(i + 1)->first.replica == e.nth(i)->first.replica);
           });
}
} // namespace detail::dot_store

/// A register keeping concurrent values.
template <class T, class Policy = mv_register_defaults>
class mv_register
    : public detail::dot_store::causal_base<
          mv_register<T, Policy>, detail::dot_store::dot_fun<typename Policy::replica_id, T>,
          typename Policy::replica_id, no_timestamps> {
    using base =
        detail::dot_store::causal_base<mv_register<T, Policy>,
                                       detail::dot_store::dot_fun<typename Policy::replica_id, T>,
                                       typename Policy::replica_id, no_timestamps>;
    friend base;
    friend struct detail::dot_store::access;

public:
    using value_type = T;
    using replica_type = typename Policy::replica_id;
    using policy_type = Policy;

    /// Effects: an empty register that cannot be mutated (a delta holder).
    mv_register() = default;
    /// Effects: an empty register mutated by replica `id`.
    explicit mv_register(replica_type id) : base(std::move(id)) {}

    /// Requires: constructed with a replica id.
    /// Effects: replaces every value this replica has seen by `v`.
    /// Returns: the delta. Complexity: O(s).
    mv_register assign(T v) {
        const auto d = this->fresh_dot();
        mv_register delta;
        this->state_.store.for_each_dot([&](const auto& x) { delta.state_.ctx.insert(x); });
        delta.state_.store.insert(d, std::move(v));
        delta.state_.ctx.insert(d);
        this->join(delta);
        return delta;
    }

    /// Requires: constructed with a replica id; `fn(values())` returns a T.
    /// Effects: assign(fn(values())): collapses the siblings into one value.
    /// Returns: the delta.
    template <class F>
    mv_register resolve(F&& fn) {
        return assign(std::forward<F>(fn)(values()));
    }

    /// Effects: removes every value this replica has seen (or_map::erase).
    /// Returns: the delta.
    mv_register reset() {
        mv_register delta;
        this->state_.store.for_each_dot([&](const auto& x) { delta.state_.ctx.insert(x); });
        this->stamp_removal(delta);
        this->join(delta);
        return delta;
    }

    /// Returns: a view (range-v3) of the current values, one per write no
    ///   other write observed, in (replica, counter) order. Invalidated by
    ///   any change to *this.
    auto values() const {
        const auto& e = this->state_.store.entries();
        return detail::dot_store::newest_per_replica(e) |
               ranges::views::transform(
                   [&e](std::size_t i) -> const T& { return e.nth(i)->second; });
    }

    /// Returns: the same view as values(): every value is a conflict.
    auto conflicts() const { return values(); }

    /// Returns: whether the register holds no value.
    bool empty() const noexcept { return this->state_.store.empty(); }

    /// Effects: joins `other` (a state or a delta) into *this.
    void merge(const mv_register& other) { this->join(other); }

    static bool visibly_empty(const typename base::store_type& s) { return s.empty(); }
};

/// Encoding: the causal state; each dot's payload is codec<T>.
template <class T, class Policy>
struct codec<mv_register<T, Policy>> : detail::dot_store::causal_codec<mv_register<T, Policy>> {};

CRDT_END_NAMESPACE
