// crdt/lww_map.hpp -- a last-writer-wins map: per key, the write with the
// largest (timestamp, replica id) wins; the PARStore dictionary.
//
// set(k, v) and erase(k) are both timestamped writes; erase writes a
// tombstone, so a later set revives the key and an earlier one does not,
// whatever order replicas receive them in. Every write also takes a dot
// (replica, counter) from the map's causal context, which is what version()
// and delta_since() are made of; a merge skips writes whose dots it has
// already seen. purge_tombstones(stable) drops tombstones every replica has
// seen (see its comment for the exact precondition).
//
// Timestamps come from the clock policy (Lamport by default, an HLC, or the
// caller's); ties go to the tie-break policy (larger replica id wins by
// default), then to the later write of the same replica.
//
// Layout: an open-addressing hash index over a vector of slots, see
// crdt/detail/dot_store/lww_store.hpp; about 16 bytes of metadata per key
// (timestamp + packed dot) plus ~5-9 bytes of index, versus ~40-60 for a
// std::unordered_map node. Nested in or_map (the table DB's rows), the map
// shares the or_map's causal context, and erasing the row writes tombstones
// for the fields the eraser saw (fields it did not see survive).
//
// Compared with std::unordered_map: get() is one hash and a short probe;
// set() also returns a delta (a one-entry lww_map) and records the dot;
// iteration is in insertion order, never sorted; erase keeps a tombstone.
//
// Complexity: get/set/erase O(1) expected (amortized for growth); merge of
// a delta of m writes O(m) expected; delta_since, purge and encoding O(n).
// Thread safety: a value type, not synchronized (PARStore serializes access
// through its memory queue). Exception safety: set/erase strong unless the
// value's copy throws mid-way; merge strong when the clock policy rejects a
// timestamp (nothing changes), basic otherwise.
#pragma once

#include <crdt/codec/codec.hpp>
#include <crdt/core/config.hpp>
#include <crdt/core/error.hpp>
#include <crdt/core/replica_id.hpp>
#include <crdt/core/version_vector.hpp>
#include <crdt/detail/dot_store/causal_base.hpp>
#include <crdt/detail/dot_store/codec.hpp>
#include <crdt/detail/dot_store/lww_store.hpp>
#include <crdt/detail/dot_store/policies.hpp>

#include <range/v3/view/filter.hpp>
#include <range/v3/view/transform.hpp>

#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <type_traits>
#include <utility>
#include <vector>

CRDT_BEGIN_NAMESPACE

/// Policy of lww_map; derive and override a member.
struct lww_map_defaults {
    using replica_id = crdt::replica_id;
    /// lamport_timestamps, hlc_timestamps<Wall>, or caller_timestamps<T>.
    using clock = lamport_timestamps;
    /// larger_replica_wins or smaller_replica_wins.
    using tie_break = larger_replica_wins;
    /// The key hash (its result is mixed with detail::mix64).
    template <class K>
    using hash = std::hash<K>;
    /// The allocator slots and the index use (rebound as needed).
    template <class T>
    using allocator = std::allocator<T>;
};

namespace detail::dot_store {
template <class K, class V, class P>
using lww_map_store = lww_store<K, V, typename P::replica_id, typename P::clock::timestamp_type,
                                typename P::tie_break, typename P::template hash<K>,
                                typename P::template allocator<K>>;
} // namespace detail::dot_store

/// A last-writer-wins map.
template <class K, class V, class Policy = lww_map_defaults>
class lww_map
    : public detail::dot_store::causal_base<lww_map<K, V, Policy>,
                                            detail::dot_store::lww_map_store<K, V, Policy>,
                                            typename Policy::replica_id, typename Policy::clock> {
    using base =
        detail::dot_store::causal_base<lww_map<K, V, Policy>,
                                       detail::dot_store::lww_map_store<K, V, Policy>,
                                       typename Policy::replica_id, typename Policy::clock>;
    friend base;
    friend struct detail::dot_store::access;
    using R = typename Policy::replica_id;
    using clock_policy_ = typename Policy::clock;
    using store = detail::dot_store::lww_map_store<K, V, Policy>;

public:
    using key_type = K;
    using mapped_type = V;
    using replica_type = R;
    using timestamp_type = typename clock_policy_::timestamp_type;
    using policy_type = Policy;

    /// Effects: an empty map that cannot be mutated (a delta holder).
    lww_map() = default;
    /// Effects: an empty map written by replica `id`.
    explicit lww_map(R id) : base(std::move(id)) {}
    /// Effects: as above, with the clock `c` (e.g. an HLC on a test clock).
    lww_map(R id, typename base::clock_type c) : base(std::move(id), std::move(c)) {}

    /// Requires: a replica id; a clock policy that is not caller-supplied.
    /// Effects: writes k = v at the clock's next timestamp.
    /// Returns: the delta (a one-entry map). Allocates the delta's slot.
    /// Throws: crdt::error(errc::counter_overflow) past the limits of
    ///   lww_store.hpp or of the clock; what V's copy throws.
    /// Complexity: O(1) expected, amortized.
    lww_map set(const K& k, V v) requires(!clock_policy_::caller_supplied) {
        return write(k, std::move(v), clock_policy_::next(this->clock_), false);
    }

    /// Requires: a replica id; caller-supplied timestamps.
    /// Effects: writes k = v at `ts` (a write that loses to the stored one
    ///   changes only the context, as it would on any replica).
    /// Returns: the delta.
    lww_map set(const K& k, V v, timestamp_type ts) requires(clock_policy_::caller_supplied) {
        return write(k, std::move(v), std::move(ts), false);
    }

    /// Requires: a replica id; a clock policy that is not caller-supplied.
    /// Effects: writes a tombstone for `k` at the clock's next timestamp
    ///   (also when `k` is absent: it beats concurrent earlier sets).
    /// Returns: the delta.
    lww_map erase(const K& k) requires(!clock_policy_::caller_supplied) {
        return write(k, V{}, clock_policy_::next(this->clock_), true);
    }

    /// Requires: a replica id; caller-supplied timestamps.
    /// Effects: writes a tombstone for `k` at `ts`. Returns: the delta.
    lww_map erase(const K& k, timestamp_type ts) requires(clock_policy_::caller_supplied) {
        return write(k, V{}, std::move(ts), true);
    }

    /// Requires: a replica id; a clock policy that is not caller-supplied.
    /// Effects: erases every key this replica holds (or_map::erase of a row).
    /// Returns: the delta (one tombstone per erased key).
    lww_map reset() requires(!clock_policy_::caller_supplied) {
        lww_map delta;
        std::vector<K> keys;
        for (const auto& s : this->state_.store.slots()) {
            if (!s.tombstone()) {
                keys.push_back(s.key);
            }
        }
        for (const auto& k : keys) {
            delta.merge_local(write(k, V{}, clock_policy_::next(this->clock_), true));
        }
        return delta;
    }

    /// Returns: the value of `k`, or nullptr if absent or erased. The
    ///   pointer is invalidated by the next mutation or merge.
    /// Complexity: O(1) expected. Throws: nothing.
    const V* get(const K& k) const noexcept {
        const auto* s = this->state_.store.find(k);
        return s != nullptr && !s->tombstone() ? &s->value : nullptr;
    }

    /// Returns: whether `k` has a value.
    bool contains(const K& k) const noexcept { return get(k) != nullptr; }

    /// Returns: the timestamp of the latest write (set or erase) of `k`.
    std::optional<timestamp_type> timestamp(const K& k) const {
        const auto* s = this->state_.store.find(k);
        return s != nullptr ? std::optional<timestamp_type>(s->ts) : std::nullopt;
    }

    /// Returns: the number of keys with a value (tombstones excluded).
    std::size_t size() const noexcept { return this->state_.store.live(); }
    /// Returns: whether no key has a value.
    bool empty() const noexcept { return size() == 0; }
    /// Returns: the number of tombstones held.
    std::size_t tombstones() const noexcept {
        return this->state_.store.size() - this->state_.store.live();
    }

    /// Effects: reserves room for `n` keys.
    void reserve(std::size_t n) { this->state_.store.reserve(n); }

    /// Returns: a view (range-v3) of the live entries as
    ///   std::pair<const K&, const V&>, in insertion order.
    auto entries() const {
        return live_slots() | ranges::views::transform([](const auto& s) {
                   return std::pair<const K&, const V&>(s.key, s.value);
               });
    }
    /// Returns: a view of the live keys.
    auto keys() const {
        return live_slots() |
               ranges::views::transform([](const auto& s) -> const K& { return s.key; });
    }
    /// Returns: a view of the live values.
    auto values() const {
        return live_slots() |
               ranges::views::transform([](const auto& s) -> const V& { return s.value; });
    }

    /// Effects: lets the clock observe `other`'s new timestamps, then joins
    ///   `other` (a state or a delta) into *this.
    /// Throws: crdt::error(errc::clock_skew) from an HLC clock policy when a
    ///   timestamp is too far ahead; *this is then unchanged.
    /// Complexity: O(m) expected for m entries in `other`.
    void merge(const lww_map& other) {
        observe_all(this->clock_, this->state_, other.state_.store);
        this->join(other);
    }

    /// Requires: `stable` is causally stable: every replica's context
    ///   includes it, and this replica has received every write made before
    ///   its author saw the tombstones being purged -- e.g. the pointwise
    ///   minimum of all replicas' versions taken after each has merged all
    ///   others' states. Each replica purges on its own.
    /// Effects: removes the tombstones whose dots are in `stable`; the dots
    ///   stay in the context, so a late copy of a purged tombstone, or of
    ///   any write it superseded, is recognized and skipped. (By replicas: a
    ///   delta holder that buffered such a write before the purge keeps it,
    ///   so start a new replica from a replica's state or delta_since, not
    ///   from a buffer older than the purge.)
    /// Returns: the number of tombstones removed. Complexity: O(n).
    std::size_t purge_tombstones(const typename base::version_type& stable) {
        return this->state_.store.purge(stable);
    }

    /// Returns: bytes this map has allocated for its entries and index.
    std::size_t allocated_bytes() const noexcept { return this->state_.store.allocated_bytes(); }

    static bool visibly_empty(const store& s) { return s.live() == 0; }

    /// Effects: store-level purge_tombstones (used by or_map).
    static std::size_t purge_store(store& s, const typename base::version_type& stable) {
        return s.purge(stable);
    }

    template <class State>
    static void observe_all(typename base::clock_type& clock, const State& state, const store& s) {
        if constexpr (!clock_policy_::caller_supplied) {
            const timestamp_type* top = nullptr;
            for (const auto& o : s.slots()) {
                if ((top == nullptr || *top < o.ts) && !state.ctx.contains(s.dot_of(o))) {
                    top = &o.ts;
                }
            }
            if (top != nullptr) {
                clock_policy_::observe(clock, *top);
            }
        }
    }

private:
    auto live_slots() const {
        return this->state_.store.slots() |
               ranges::views::filter([](const auto& s) { return !s.tombstone(); });
    }

    lww_map write(const K& k, V v, timestamp_type ts, bool tombstone) {
        const auto d = this->fresh_dot();
        lww_map delta;
        delta.state_.store.put(k, v, ts, d, tombstone);
        delta.state_.ctx.insert(d);
        this->state_.store.put(k, std::move(v), std::move(ts), d, tombstone);
        this->state_.ctx.insert(d);
        return delta;
    }

    void merge_local(const lww_map& d) { this->join(d); }
};

/// Encoding: the causal state; the store as a replica table, then per key
/// (in insertion order): key, replica index, counter, timestamp, tombstone
/// flag, value (absent for tombstones).
template <class K, class V, class Policy>
struct codec<lww_map<K, V, Policy>> : detail::dot_store::causal_codec<lww_map<K, V, Policy>> {};

CRDT_END_NAMESPACE
