// crdt/g_counter.hpp -- a grow-only counter as a delta-state dot store.
//
// Each replica owns one live dot whose payload is its running total; an
// increment writes a fresh dot with the new total and removes the replica's
// previous dot (dot_fun<R, uint64>, crdt/detail/dot_store/kernel.hpp). The
// value is the sum, over replicas, of the total under each replica's newest
// dot. Because it is a dot store it nests in or_map, where erasing the key
// resets the counter (a concurrent increment by a replica that had not seen
// the reset keeps that replica's whole running total: the classic
// observed-reset caveat of embedded counters).
//
// Compared with a plain per-replica max map: the same value and size (one
// entry per replica), plus a causal context, so that it can be reset inside
// an or_map and can answer delta_since(version).
//
// Complexity: value() O(r) for r replicas; increment O(r); merge O(r + r').
// Thread safety: a value type, not synchronized.
// Exception safety: increment is strong; merge is basic.
#pragma once

#include <crdt/codec/codec.hpp>
#include <crdt/core/config.hpp>
#include <crdt/core/error.hpp>
#include <crdt/core/replica_id.hpp>
#include <crdt/detail/dot_store/causal_base.hpp>
#include <crdt/detail/dot_store/codec.hpp>
#include <crdt/detail/dot_store/kernel.hpp>

#include <cstdint>
#include <limits>

CRDT_BEGIN_NAMESPACE

/// Policy of g_counter and pn_counter; derive and override a member.
struct counter_defaults {
    /// The replica identifier type (replica_id, replica_id128, agent_id).
    using replica_id = crdt::replica_id;
};

/// A grow-only counter.
template <class Policy = counter_defaults>
class basic_g_counter : public detail::dot_store::causal_base<
                            basic_g_counter<Policy>,
                            detail::dot_store::dot_fun<typename Policy::replica_id, std::uint64_t>,
                            typename Policy::replica_id, no_timestamps> {
    using base = detail::dot_store::causal_base<
        basic_g_counter<Policy>,
        detail::dot_store::dot_fun<typename Policy::replica_id, std::uint64_t>,
        typename Policy::replica_id, no_timestamps>;
    friend base;
    friend struct detail::dot_store::access;

public:
    using replica_type = typename Policy::replica_id;
    using policy_type = Policy;

    /// Effects: an empty counter that cannot be mutated (a delta holder).
    basic_g_counter() = default;
    /// Effects: an empty counter mutated by replica `id`.
    explicit basic_g_counter(replica_type id) : base(std::move(id)) {}

    /// Requires: constructed with a replica id.
    /// Effects: adds `n` to this replica's total.
    /// Returns: the delta (this replica's new dot and total).
    /// Throws: crdt::error(errc::counter_overflow) if the replica's total
    ///   would exceed 2^64-1; nothing changes then.
    /// Complexity: O(r).
    basic_g_counter increment(std::uint64_t n = 1) {
        const auto d = this->fresh_dot();
        const std::uint64_t own = own_total();
        if (n > std::numeric_limits<std::uint64_t>::max() - own) {
            throw error(errc::counter_overflow, "g_counter::increment: total would exceed 2^64-1");
        }
        basic_g_counter delta;
        delta.state_.store.insert(d, own + n);
        observe_own(delta);
        delta.state_.ctx.insert(d);
        this->join(delta);
        return delta;
    }

    /// Effects: resets what this replica has observed (used by or_map::erase).
    /// Returns: the delta (an empty store whose context holds the removed dots).
    basic_g_counter reset() {
        basic_g_counter delta;
        this->state_.store.for_each_dot([&](const auto& d) { delta.state_.ctx.insert(d); });
        this->stamp_removal(delta);
        this->join(delta);
        return delta;
    }

    /// Returns: the sum of every replica's newest total.
    /// Complexity: O(r). Throws: nothing.
    std::uint64_t value() const noexcept {
        std::uint64_t sum = 0;
        const auto& e = this->state_.store.entries();
        for (auto it = e.begin(); it != e.end(); ++it) {
            auto next = it + 1;
            if (next == e.end() || !(next->first.replica == it->first.replica)) {
                sum += it->second;
            }
        }
        return sum;
    }

    /// Effects: joins `other` (a state or a delta) into *this.
    /// Complexity: O(r + r').
    void merge(const basic_g_counter& other) { this->join(other); }

    /// Returns: whether the store is empty (a reset or new counter).
    static bool visibly_empty(const typename base::store_type& s) { return s.empty(); }

private:
    std::uint64_t own_total() const {
        std::uint64_t total = 0;
        for (const auto& e : this->state_.store.entries()) {
            if (e.first.replica == *this->id_) {
                total = e.second; // entries are in counter order: the last is the newest
            }
        }
        return total;
    }
    void observe_own(basic_g_counter& delta) const {
        for (const auto& e : this->state_.store.entries()) {
            if (e.first.replica == *this->id_) {
                delta.state_.ctx.insert(e.first);
            }
        }
    }
};

/// The grow-only counter over the default policy.
using g_counter = basic_g_counter<>;

/// Encoding: the causal state (crdt/detail/dot_store/codec.hpp); each dot's
/// payload is its total as a varint.
template <class Policy>
struct codec<basic_g_counter<Policy>> : detail::dot_store::causal_codec<basic_g_counter<Policy>> {};

CRDT_END_NAMESPACE
