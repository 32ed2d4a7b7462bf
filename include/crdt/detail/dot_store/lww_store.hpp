// crdt/detail/dot_store/lww_store.hpp -- the store kind of lww_map: one
// timestamped write (or tombstone) per key, tuned for get/set/merge speed.
//
// Semantics (the "LWW" store kind of the kernel): per key, the write with
// the largest (timestamp, replica, counter) survives, where replicas compare
// by the tie-break policy and the counter orders two writes of one replica
// at one timestamp. Removal is a write too (a tombstone), so a store never
// loses a key through its context: join(nullptr) changes nothing, and a
// complete side (no base: a state or a mutator delta) skips the other side's
// writes whose dots its context already covers (it has seen them: what it
// holds for that key is at least as new, or was purged). A delta_since
// delta has a base (the version it was made for; kernel.hpp, causal::base)
// and may lack writes, so it never skips. The join is the per-key max, a
// semilattice; together with the context's union it is the kernel's join
// for this kind.
//
// Layout (per key, for lww_map<uint64_t, uint64_t> with Lamport clocks:
// 8 + 8 + 8 + 8 = 32 bytes in `slots_`, plus 4 / load-factor bytes of index):
//
//   slots_    segmented_vector<slot> (blocks of 1024 slots: never more than
//             one block unused, and no slot moves once the map holds a
//             block) in insertion order; slot = {key, value,
//             timestamp, meta}. meta packs, from the top bit down:
//               replica index (20 bits) -- into `replicas_`,
//               counter       (43 bits) -- the write's dot counter (>= 1),
//               tombstone     (1 bit).
//             A tombstone's value is V{}.
//   index_    open addressing (linear probing) over slots_, 32 bits per
//             entry: 0 = empty, else (tag << 27) | (i + 1) for slots_[i],
//             where tag is the top 5 bits of the key's hash, so a probe
//             touches a slot whose key differs only once in 32 times.
//             Size 0 while there are at most 8 slots (lookups scan), else a
//             power of two, load factor <= 7/8. Hash: detail::mix64 of the
//             hash policy's value.
//   replicas_ the replica ids slots refer to, in first-use order (small).
//   live_     the number of slots that are not tombstones.
//
// Invariants: keys are unique; every index entry points at the slot whose
// key hashes to its probe sequence; live_ counts non-tombstones; replica
// indices are < replicas_.size(); counters are in [1, 2^43-1].
//
// Limits: at most 2^20 distinct replicas and 2^43-1 writes per replica in
// one map (crdt::error(errc::counter_overflow) beyond), 2^27-2 keys.
//
// Complexity: find O(1) expected; put O(1) amortized; join O(m) expected for
// an other side of m slots (never O(n)); since/purge/encode O(n).
// Thread safety: a value; concurrent const access is safe.
// Exception safety: basic (a failed allocation may leave a partial join).
#pragma once

#include <crdt/codec/codec.hpp>
#include <crdt/core/config.hpp>
#include <crdt/core/dot.hpp>
#include <crdt/core/error.hpp>
#include <crdt/core/version_vector.hpp>
#include <crdt/detail/dot_store/kernel.hpp>
#include <crdt/detail/hash.hpp>
#include <crdt/detail/segmented_vector.hpp>

#include <boost/container/small_vector.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <vector>

CRDT_BEGIN_NAMESPACE
namespace detail::dot_store {

template <class K, class V, class R, class TS, class TieBreak, class Hash, class Alloc>
class lww_store {
public:
    using dot_type = basic_dot<R>;
    using key_type = K;
    using mapped_type = V;
    using timestamp_type = TS;

    /// Deltas describe what they leave out by a base version (kernel.hpp).
    static constexpr bool uses_base = true;

    static constexpr unsigned counter_bits = 43;
    static constexpr unsigned replica_bits = 20;
    static constexpr std::uint64_t max_counter = (std::uint64_t{1} << counter_bits) - 1;
    static constexpr std::size_t max_replicas = std::size_t{1} << replica_bits;

    struct slot {
        K key;
        V value;
        TS ts;
        std::uint64_t meta;

        bool tombstone() const noexcept { return (meta & 1u) != 0; }
        std::uint64_t counter() const noexcept { return (meta >> 1) & max_counter; }
        std::uint32_t replica_index() const noexcept {
            return static_cast<std::uint32_t>(meta >> (counter_bits + 1));
        }
    };

private:
    using slot_alloc = typename std::allocator_traits<Alloc>::template rebind_alloc<slot>;
    using index_alloc = typename std::allocator_traits<Alloc>::template rebind_alloc<std::uint32_t>;
    static constexpr std::size_t scan_limit = 8;
    static constexpr unsigned slot_bits = 27;
    static constexpr std::uint32_t slot_mask = (std::uint32_t{1} << slot_bits) - 1;
    static constexpr std::size_t max_slots = slot_mask - 1;

public:
    bool empty() const noexcept { return slots_.empty(); }
    /// Returns: the number of keys, tombstones included.
    std::size_t size() const noexcept { return slots_.size(); }
    /// Returns: the number of keys that are not tombstones.
    std::size_t live() const noexcept { return live_; }
    const segmented_vector<slot, slot_alloc>& slots() const noexcept { return slots_; }
    const R& replica_of(const slot& s) const noexcept { return replicas_[s.replica_index()]; }
    dot_type dot_of(const slot& s) const { return dot_type{replica_of(s), s.counter()}; }

    /// Effects: reserves room for `n` keys.
    void reserve(std::size_t n) {
        slots_.reserve(n);
        if (n > scan_limit) {
            rehash(index_capacity_for(n));
        }
    }

    /// Returns: the slot of `k`, or nullptr.
    const slot* find(const K& k) const noexcept { return find_impl(k); }

    /// Returns: whether a write (ts, d) beats the existing slot `s`.
    bool beats(const TS& ts, const R& replica, std::uint64_t counter, const slot& s) const {
        if (s.ts < ts) {
            return true;
        }
        if (ts < s.ts) {
            return false;
        }
        const R& other = replica_of(s);
        if (replica == other) {
            return s.counter() < counter;
        }
        return TieBreak::beats(replica, other);
    }

    /// Effects: applies one write: inserts `k` or overwrites it if the write
    ///   beats what is stored.
    /// Returns: whether the store changed.
    /// Throws: crdt::error(errc::counter_overflow) past the limits.
    bool put(const K& k, V v, TS ts, const dot_type& d, bool tombstone) {
        const std::uint64_t meta = pack(intern(d.replica), d.counter, tombstone);
        if (slot* s = find_impl(k)) {
            if (!beats(ts, d.replica, d.counter, *s)) {
                return false;
            }
            live_ -= s->tombstone() ? std::size_t{0} : std::size_t{1};
            s->value = tombstone ? V{} : std::move(v);
            s->ts = std::move(ts);
            s->meta = meta;
            live_ += tombstone ? std::size_t{0} : std::size_t{1};
            return true;
        }
        append(slot{k, tombstone ? V{} : std::move(v), std::move(ts), meta});
        return true;
    }

    template <class F>
    void for_each_dot(F&& f) const {
        for (const auto& s : slots_) {
            f(dot_of(s));
        }
    }

    /// Effects: the LWW join with `other` (see the file comment).
    void join(const lww_store* other, const ctx_view<R>& mine, const ctx_view<R>&) {
        if (other == nullptr || other->slots_.empty()) {
            return;
        }
        constexpr std::uint32_t unmapped = std::numeric_limits<std::uint32_t>::max();
        std::vector<std::uint32_t> to_mine(other->replicas_.size(), unmapped);
        if (slots_.empty()) {
            reserve(other->slots_.size());
        }
        // Only a complete side (no base: it holds every write its context
        // covers, or one beating it) may skip a write it has seen.
        const bool complete = mine.base == nullptr || mine.base->empty();
        for (const auto& o : other->slots_) {
            const R& replica = other->replicas_[o.replica_index()];
            if (complete && mine.covers(dot_type{replica, o.counter()})) {
                continue;
            }
            if (slot* s = find_impl(o.key)) {
                if (!beats(o.ts, replica, o.counter(), *s)) {
                    continue;
                }
                std::uint32_t& idx = to_mine[o.replica_index()];
                if (idx == unmapped) {
                    idx = intern(replica);
                }
                live_ -= s->tombstone() ? std::size_t{0} : std::size_t{1};
                s->value = o.value;
                s->ts = o.ts;
                s->meta = pack(idx, o.counter(), o.tombstone());
                live_ += o.tombstone() ? std::size_t{0} : std::size_t{1};
            } else {
                std::uint32_t& idx = to_mine[o.replica_index()];
                if (idx == unmapped) {
                    idx = intern(replica);
                }
                append(slot{o.key, o.value, o.ts, pack(idx, o.counter(), o.tombstone())});
            }
        }
    }

    /// Returns: the writes whose dots are not in `v` (the LWW kind needs no
    ///   keep set: it never removes through the context; causal::since
    ///   records `v` as the delta's base instead).
    lww_store since(const basic_version_vector<R>& v, std::vector<dot_type>&) const {
        lww_store out;
        out.replicas_ = replicas_;
        // Size the slots and the index once: a fresh peer's delta is the
        // whole store, and growing the index insert by insert cost a third
        // of a 1M-key catch-up (docs/benchmarks.md, Sync).
        const auto lacking = static_cast<std::size_t>(std::count_if(
            slots_.begin(), slots_.end(), [&](const slot& s) { return !v.contains(dot_of(s)); }));
        out.reserve(lacking);
        for (const auto& s : slots_) {
            if (!v.contains(dot_of(s))) {
                out.append(s);
            }
        }
        return out;
    }

    /// Effects: removes the tombstones whose dots are in `stable`.
    /// Returns: how many were removed. Complexity: O(n).
    std::size_t purge(const basic_version_vector<R>& stable) {
        segmented_vector<slot, slot_alloc> kept;
        kept.reserve(slots_.size());
        std::size_t removed = 0;
        for (auto& s : slots_) {
            if (s.tombstone() && stable.contains(dot_of(s))) {
                ++removed;
            } else {
                kept.push_back(std::move(s));
            }
        }
        if (removed != 0) {
            slots_ = std::move(kept);
            index_.clear();
            if (slots_.size() > scan_limit) {
                rehash(index_capacity_for(slots_.size()));
            }
        } else {
            slots_ = std::move(kept);
        }
        return removed;
    }

    void encode(byte_writer& w) const {
        w.varint(replicas_.size());
        for (const auto& r : replicas_) {
            codec<R>::encode(w, r);
        }
        w.varint(slots_.size());
        for (const auto& s : slots_) {
            codec<K>::encode(w, s.key);
            w.varint(s.replica_index());
            w.varint(s.counter());
            codec<TS>::encode(w, s.ts);
            w.byte(s.tombstone() ? 1 : 0);
            if (!s.tombstone()) {
                codec<V>::encode(w, s.value);
            }
        }
    }

    static lww_store decode(byte_reader& r) {
        lww_store out;
        const std::size_t table_at = r.offset();
        const std::size_t nr = r.length("lww_map replica table size");
        if (nr > max_replicas) {
            r.fail_at(errc::invalid_value, "lww_map replica table (more than 2^20 replicas)",
                      table_at);
        }
        for (std::size_t i = 0; i < nr; ++i) {
            out.replicas_.push_back(codec<R>::decode(r));
        }
        {
            std::vector<R> sorted(out.replicas_.begin(), out.replicas_.end());
            std::sort(sorted.begin(), sorted.end());
            if (std::adjacent_find(sorted.begin(), sorted.end()) != sorted.end()) {
                r.fail_at(errc::invalid_value, "lww_map replica table (a replica twice)", table_at);
            }
        }
        const std::size_t count_at = r.offset();
        const std::size_t n = r.length("lww_map size");
        if (n > max_slots) {
            r.fail_at(errc::invalid_value, "lww_map size (more than 2^27-2 keys)", count_at);
        }
        out.reserve(n);
        for (std::size_t i = 0; i < n; ++i) {
            const std::size_t at = r.offset();
            K key = codec<K>::decode(r);
            const std::uint64_t ri = r.varint();
            const std::uint64_t counter = r.varint();
            if (ri >= nr || counter == 0 || counter > max_counter) {
                r.fail_at(errc::invalid_value,
                          "lww_map entry (replica index out of range or counter not in "
                          "[1, 2^43-1])",
                          at);
            }
            TS ts = codec<TS>::decode(r);
            const std::size_t flag_at = r.offset();
            const std::uint8_t flag = r.byte();
            if (flag > 1) {
                r.fail_at(errc::invalid_value, "lww_map entry flag (must be 0 or 1)", flag_at);
            }
            V value{};
            if (flag == 0) {
                value = codec<V>::decode(r);
            }
            if (out.find_impl(key) != nullptr) {
                r.fail_at(errc::invalid_value, "lww_map entry (a key twice)", at);
            }
            out.append(slot{std::move(key), std::move(value), std::move(ts),
                            pack(static_cast<std::uint32_t>(ri), counter, flag == 1)});
        }
        return out;
    }

    friend bool operator==(const lww_store& a, const lww_store& b) {
        if (a.slots_.size() != b.slots_.size() || a.live_ != b.live_) {
            return false;
        }
        for (const auto& s : a.slots_) {
            const slot* t = b.find_impl(s.key);
            if (t == nullptr || s.counter() != t->counter() || s.tombstone() != t->tombstone() ||
                !(a.replica_of(s) == b.replica_of(*t)) || !(s.ts == t->ts) ||
                (!s.tombstone() && !(s.value == t->value))) {
                return false;
            }
        }
        return true;
    }

    /// Returns: bytes allocated by this store (slots, index, replica table).
    std::size_t allocated_bytes() const noexcept {
        return slots_.allocated_bytes() + index_.capacity() * sizeof(std::uint32_t) +
               (replicas_.capacity() > 4 ? replicas_.capacity() * sizeof(R) : 0);
    }

private:
    static std::uint64_t pack(std::uint32_t replica_index, std::uint64_t counter, bool tombstone) {
        if (counter > max_counter) {
            throw error(errc::counter_overflow,
                        "lww_map: a replica's counter exceeds 2^43-1 (the per-map limit)");
        }
        return (std::uint64_t{replica_index} << (counter_bits + 1)) | (counter << 1) |
               (tombstone ? 1u : 0u);
    }

    std::uint32_t intern(const R& replica) {
        for (std::size_t i = 0; i < replicas_.size(); ++i) {
            if (replicas_[i] == replica) {
                return static_cast<std::uint32_t>(i);
            }
        }
        if (replicas_.size() >= max_replicas) {
            throw error(errc::counter_overflow, "lww_map: more than 2^20 replicas in one map");
        }
        replicas_.push_back(replica);
        return static_cast<std::uint32_t>(replicas_.size() - 1);
    }

    static std::size_t hash_of(const K& k) noexcept {
        return static_cast<std::size_t>(mix64(static_cast<std::uint64_t>(Hash{}(k))));
    }

    static std::uint32_t tag_of(std::size_t h) noexcept {
        return static_cast<std::uint32_t>(static_cast<std::uint64_t>(h) >> 59);
    }

    static std::size_t index_capacity_for(std::size_t n) {
        std::size_t cap = 16;
        while (cap * 7 < n * 8) {
            cap *= 2;
        }
        return cap;
    }

    slot* find_impl(const K& k) const noexcept {
        auto* self = const_cast<lww_store*>(this);
        if (index_.empty()) {
            for (auto& s : self->slots_) {
                if (s.key == k) {
                    return &s;
                }
            }
            return nullptr;
        }
        const std::size_t mask = index_.size() - 1;
        const std::size_t h = hash_of(k);
        const std::uint32_t tag = tag_of(h);
        std::size_t pos = h & mask;
        for (;;) {
            const std::uint32_t e = index_[pos];
            if (e == 0) {
                return nullptr;
            }
            if ((e >> slot_bits) == tag) {
                slot& s = self->slots_[(e & slot_mask) - 1];
                if (s.key == k) {
                    return &s;
                }
            }
            pos = (pos + 1) & mask;
        }
    }

    void place(std::size_t slot_index) {
        const std::size_t mask = index_.size() - 1;
        const std::size_t h = hash_of(slots_[slot_index].key);
        std::size_t pos = h & mask;
        while (index_[pos] != 0) {
            pos = (pos + 1) & mask;
        }
        index_[pos] = (tag_of(h) << slot_bits) | static_cast<std::uint32_t>(slot_index + 1);
    }

    void rehash(std::size_t cap) {
        if (cap <= index_.size()) {
            return;
        }
        index_.assign(cap, 0);
        for (std::size_t i = 0; i < slots_.size(); ++i) {
            place(i);
        }
    }

    void append(slot s) {
        if (slots_.size() >= max_slots) {
            throw error(errc::counter_overflow, "lww_map: more than 2^27-2 keys");
        }
        const bool live = !s.tombstone();
        slots_.push_back(std::move(s));
        live_ += live ? std::size_t{1} : std::size_t{0};
        if (index_.empty()) {
            if (slots_.size() > scan_limit) {
                rehash(index_capacity_for(slots_.size()));
            }
            return;
        }
        if (slots_.size() * 8 > index_.size() * 7) {
            rehash(index_.size() * 2);
        } else {
            place(slots_.size() - 1);
        }
    }

    segmented_vector<slot, slot_alloc> slots_;
    std::vector<std::uint32_t, index_alloc> index_;
    boost::container::small_vector<R, 4> replicas_;
    std::size_t live_ = 0;
};

} // namespace detail::dot_store
CRDT_END_NAMESPACE
