// crdt/core/version_vector.hpp -- version vectors: replica -> highest counter seen.
//
// A version vector names a causally closed set of operations: for every
// replica r, the dots (r, 1) .. (r, get(r)). Versions are partially ordered
// by inclusion; `compare` says before / after / equal / concurrent.
//
// Layout: a sorted Boost.Container small_vector of (replica, counter) entries
// with `inline_capacity` (4) entries stored inline, so vectors of up to four
// replicas never allocate. Entries with counter 0 are never stored, so two
// vectors are equal exactly when their entries are.
//
// Complexity: get/contains O(log n); set/advance O(n) worst case (insertion
// into a sorted array), O(log n) when the replica is present; merge, compare
// and missing_from O(n + m).
//
// Compared with std::map<replica, counter>: contiguous and allocation-free
// for small vectors, and `operator==`, `compare` and `merge` are linear walks.
//
// Thread safety: a value type; concurrent const access is safe.
// Exception safety: strong for every mutator: they allocate and copy replica
// ids (which may throw, e.g. agent_id's string) before changing anything.
#pragma once

#include <crdt/codec/codec.hpp>
#include <crdt/core/concepts.hpp>
#include <crdt/core/config.hpp>
#include <crdt/core/dot.hpp>
#include <crdt/core/error.hpp>
#include <crdt/core/replica_id.hpp>
#include <crdt/detail/hash.hpp>

#include <boost/container/small_vector.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <limits>
#include <type_traits>
#include <vector>

CRDT_BEGIN_NAMESPACE

/// The result of comparing two versions.
enum class causal_order {
    equal,      ///< the same set of operations
    before,     ///< strictly included in the other (happened before)
    after,      ///< strictly includes the other (happened after)
    concurrent, ///< neither includes the other
};

/// A version vector over replica ids of type `ReplicaId`.
template <replica_identifier ReplicaId>
class basic_version_vector {
public:
    using replica_type = ReplicaId;
    using dot_type = basic_dot<ReplicaId>;
    using range_type = basic_dot_range<ReplicaId>;

    /// One entry: every dot (replica, 1..counter) is included. counter >= 1.
    struct entry {
        ReplicaId replica{};
        std::uint64_t counter = 0;
        friend bool operator==(const entry&, const entry&) = default;
    };

    /// Entries stored inline before the vector allocates.
    static constexpr std::size_t inline_capacity = 4;

private:
    using storage = boost::container::small_vector<entry, inline_capacity>;

public:
    using const_iterator = typename storage::const_iterator;
    using iterator = const_iterator;
    using value_type = entry;
    using size_type = std::size_t;

    /// Effects: the empty version (no operations).
    basic_version_vector() = default;

    /// Effects: the version with the given entries; entries with counter 0
    ///   are ignored; for a repeated replica the largest counter is kept.
    basic_version_vector(std::initializer_list<entry> entries) {
        for (const auto& e : entries) {
            advance(e.replica, e.counter);
        }
    }

    /// Returns: the highest counter of `replica`, 0 if none.
    /// Complexity: O(log n). Throws: nothing.
    std::uint64_t get(const ReplicaId& replica) const noexcept {
        auto it = find(replica);
        return it != entries_.end() && it->replica == replica ? it->counter : 0;
    }

    /// Effects: sets the counter of `replica` to exactly `counter` (0 removes it).
    /// Complexity: O(n) worst case.
    void set(const ReplicaId& replica, std::uint64_t counter) {
        auto it = find(replica);
        const bool present = it != entries_.end() && it->replica == replica;
        if (counter == 0) {
            if (present) {
                entries_.erase(it);
            }
        } else if (present) {
            mut(it)->counter = counter;
        } else {
            entries_.insert(it, entry{replica, counter});
        }
    }

    /// Effects: raises the counter of `replica` to `counter` if it is lower.
    /// Complexity: O(n) worst case.
    void advance(const ReplicaId& replica, std::uint64_t counter) {
        if (counter == 0) {
            return;
        }
        auto it = find(replica);
        if (it != entries_.end() && it->replica == replica) {
            mut(it)->counter = std::max(it->counter, counter);
        } else {
            entries_.insert(it, entry{replica, counter});
        }
    }

    /// Effects: includes `d` and everything before it from the same replica.
    void advance(const dot_type& d) { advance(d.replica, d.counter); }

    /// Effects: increments the counter of `replica`.
    /// Returns: the dot of the new operation, (replica, previous + 1).
    /// Throws: crdt::error(errc::counter_overflow) if the counter is already
    ///   2^64-1 (the vector is then unchanged).
    dot_type increment(const ReplicaId& replica) {
        auto it = find(replica);
        const bool present = it != entries_.end() && it->replica == replica;
        if (present && it->counter == std::numeric_limits<std::uint64_t>::max()) {
            // Reachable from outside: a peer's version may hold our replica at
            // the maximum. Refuse rather than wrap to a zero counter.
            throw error(errc::counter_overflow,
                        "version_vector::increment: the replica's counter is at its maximum");
        }
        // Build the result (copying the id, which may throw) before changing anything.
        dot_type d{replica, present ? it->counter + 1 : 1};
        if (present) {
            mut(it)->counter = d.counter;
        } else {
            entries_.insert(it, entry{replica, 1});
        }
        return d;
    }

    /// Returns: whether the operation `d` is included: 1 <= d.counter <= get(d.replica).
    bool contains(const dot_type& d) const noexcept {
        return d.counter != 0 && d.counter <= get(d.replica);
    }

    /// Returns: whether every operation of `other` is included in *this.
    /// Complexity: O(n + m).
    bool includes(const basic_version_vector& other) const noexcept {
        const auto order = compare(other);
        return order == causal_order::equal || order == causal_order::after;
    }

    /// Effects: *this becomes the pointwise maximum of *this and `other`
    ///   (the union of both sets of operations).
    /// Complexity: O(n + m); allocates only if the result outgrows the current
    ///   capacity, or, for ids whose copy may throw (agent_id), the inline one.
    /// Exception safety: strong.
    void merge(const basic_version_vector& other) {
        // Count the replicas of `other` missing here.
        std::size_t extra = 0;
        {
            auto a = entries_.begin();
            for (const auto& e : other.entries_) {
                while (a != entries_.end() && a->replica < e.replica) {
                    ++a;
                }
                if (a == entries_.end() || a->replica != e.replica) {
                    ++extra;
                }
            }
        }
        if (extra == 0) { // only counters change: nothing throws
            auto a = entries_.begin();
            for (const auto& e : other.entries_) {
                while (a->replica < e.replica) {
                    ++a;
                }
                a->counter = std::max(a->counter, e.counter);
            }
            return;
        }
        if constexpr (std::is_nothrow_copy_assignable_v<entry>) {
            // Merge from the back in place: after the resize nothing throws.
            const std::size_t n = entries_.size();
            entries_.resize(n + extra);
            std::size_t i = n;                     // one past the last unmerged entry of *this
            std::size_t j = other.entries_.size(); // one past the last unmerged entry of other
            std::size_t k = n + extra;             // one past the next slot to fill
            while (j > 0) {
                const entry& b = other.entries_[j - 1];
                if (i > 0 && b.replica < entries_[i - 1].replica) {
                    entries_[--k] = entries_[--i];
                } else if (i > 0 && entries_[i - 1].replica == b.replica) {
                    entry merged = entries_[--i];
                    merged.counter = std::max(merged.counter, b.counter);
                    entries_[--k] = merged;
                    --j;
                } else {
                    entries_[--k] = b;
                    --j;
                }
            }
            // Entries [0, i) of *this are already in place (k == i here).
            CRDT_ASSERT(k == i);
        } else {
            // Copying a replica id may throw (agent_id's string): merge into
            // new storage (inline when the result fits) and swap it in, so a
            // throw leaves *this unchanged.
            storage merged;
            merged.reserve(entries_.size() + extra);
            auto a = entries_.cbegin();
            for (const auto& e : other.entries_) {
                while (a != entries_.cend() && a->replica < e.replica) {
                    merged.push_back(*a++);
                }
                if (a != entries_.cend() && a->replica == e.replica) {
                    merged.push_back(entry{a->replica, std::max(a->counter, e.counter)});
                    ++a;
                } else {
                    merged.push_back(e);
                }
            }
            merged.insert(merged.end(), a, entries_.cend());
            entries_.swap(merged);
        }
    }

    /// Returns: how *this relates to `other` in the causal partial order.
    /// Complexity: O(n + m). Throws: nothing.
    causal_order compare(const basic_version_vector& other) const noexcept {
        bool greater = false; // *this has something other lacks
        bool less = false;    // other has something *this lacks
        auto a = entries_.begin();
        auto b = other.entries_.begin();
        while (a != entries_.end() && b != other.entries_.end()) {
            if (a->replica < b->replica) {
                greater = true;
                ++a;
            } else if (b->replica < a->replica) {
                less = true;
                ++b;
            } else {
                greater |= a->counter > b->counter;
                less |= a->counter < b->counter;
                ++a;
                ++b;
            }
            if (greater && less) {
                return causal_order::concurrent;
            }
        }
        greater |= a != entries_.end();
        less |= b != other.entries_.end();
        if (greater && less) {
            return causal_order::concurrent;
        }
        if (greater) {
            return causal_order::after;
        }
        return less ? causal_order::before : causal_order::equal;
    }

    /// Returns: the operations *this includes and `other` does not, as one
    ///   range (replica, other.get(replica)+1 .. get(replica)) per replica
    ///   where *this is ahead, in replica order. This is what a peer at
    ///   version `other` is missing from us.
    /// Complexity: O(n + m); allocates the result.
    std::vector<range_type> missing_from(const basic_version_vector& other) const {
        std::vector<range_type> out;
        auto b = other.entries_.begin();
        for (const auto& e : entries_) {
            while (b != other.entries_.end() && b->replica < e.replica) {
                ++b;
            }
            const std::uint64_t theirs =
                b != other.entries_.end() && b->replica == e.replica ? b->counter : 0;
            if (e.counter > theirs) {
                out.push_back(range_type{e.replica, theirs + 1, e.counter});
            }
        }
        return out;
    }

    /// Returns: the total number of operations included (sum of counters).
    std::uint64_t total() const noexcept {
        std::uint64_t sum = 0;
        for (const auto& e : entries_) {
            sum += e.counter;
        }
        return sum;
    }

    /// Returns: the number of replicas with at least one operation.
    size_type size() const noexcept { return entries_.size(); }
    /// Returns: whether this is the empty version.
    bool empty() const noexcept { return entries_.empty(); }
    /// Effects: becomes the empty version.
    void clear() noexcept { entries_.clear(); }

    /// Iteration over entries in increasing replica order.
    const_iterator begin() const noexcept { return entries_.begin(); }
    const_iterator end() const noexcept { return entries_.end(); }

    friend bool operator==(const basic_version_vector& a, const basic_version_vector& b) {
        return a.entries_ == b.entries_;
    }

private:
    const_iterator find(const ReplicaId& replica) const noexcept {
        return std::lower_bound(entries_.begin(), entries_.end(), replica,
                                [](const entry& e, const ReplicaId& r) { return e.replica < r; });
    }
    entry* mut(const_iterator it) noexcept { return entries_.data() + (it - entries_.cbegin()); }

    storage entries_;
};

/// The version vector over the default replica id.
using version_vector = basic_version_vector<replica_id>;

/// Encoding: the entry count as a varint, then per entry (in increasing
/// replica order) the replica id and the counter as a varint.
/// Throws on decode: crdt::error(errc::invalid_value) for a zero counter or
///   replicas out of order or repeated (the encoding is canonical).
template <replica_identifier ReplicaId>
struct codec<basic_version_vector<ReplicaId>> {
    using vv = basic_version_vector<ReplicaId>;

    static void encode(byte_writer& w, const vv& v) {
        w.varint(v.size());
        for (const auto& e : v) {
            codec<ReplicaId>::encode(w, e.replica);
            w.varint(e.counter);
        }
    }

    static vv decode(byte_reader& r) {
        const std::size_t n = r.length("version_vector entry count");
        vv out;
        ReplicaId previous{};
        for (std::size_t i = 0; i < n; ++i) {
            const std::size_t at = r.offset();
            ReplicaId replica = codec<ReplicaId>::decode(r);
            if (i > 0 && !(previous < replica)) {
                r.fail_at(errc::invalid_value,
                          "version_vector entry (replicas must be strictly increasing)", at);
            }
            const std::size_t counter_at = r.offset();
            const std::uint64_t counter = r.varint_as<std::uint64_t>("version_vector counter");
            if (counter == 0) {
                r.fail_at(errc::invalid_value, "version_vector counter (must be >= 1)", counter_at);
            }
            // Appending in order keeps the entries sorted: set() inserts at the end.
            out.set(replica, counter);
            previous = std::move(replica);
        }
        return out;
    }
};

CRDT_END_NAMESPACE

template <crdt::replica_identifier R>
struct std::hash<crdt::basic_version_vector<R>> {
    std::size_t operator()(const crdt::basic_version_vector<R>& v) const noexcept {
        std::uint64_t h = 0x84222325cbf29ce4ull;
        for (const auto& e : v) {
            h = crdt::detail::mix64(h ^ std::hash<R>{}(e.replica));
            h = crdt::detail::mix64(h ^ e.counter);
        }
        return static_cast<std::size_t>(h);
    }
};
