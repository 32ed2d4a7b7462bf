// crdt/detail/dot_store/policies.hpp -- the policy building blocks shared by
// the replicated types (registers, counters, lww_map, or_set, or_map).
//
// The names defined here are public (namespace crdt): users pick them in the
// `*_defaults` structs they derive from. They live in a detail header only so
// that every type header can include them without including each other.
//
//   clock policies    lamport_timestamps (default), hlc_timestamps<Wall>,
//                     caller_timestamps<T>: where an LWW timestamp comes from
//                     and how a merge observes remote timestamps;
//   tie-breaks        larger_replica_wins (default), smaller_replica_wins:
//                     which of two writes with equal timestamps wins; both
//                     are total orders, so every replica decides alike;
//   biases            add_wins (default), remove_wins: concurrent add and
//                     remove of the same element in or_set;
//   containers        flat_containers (Boost flat_map, small states),
//                     hashed_containers (std::unordered_map, large states).
//
// Thread safety: stateless policy types. Exception safety: the HLC policy's
// observe() throws crdt::error(errc::clock_skew) and then changes nothing.
#pragma once

#include <crdt/core/config.hpp>
#include <crdt/core/hybrid_logical_clock.hpp>
#include <crdt/core/lamport_clock.hpp>

#include <boost/container/flat_map.hpp>

#include <concepts>
#include <cstdint>
#include <functional>
#include <memory>
#include <type_traits>
#include <unordered_map>
#include <utility>

CRDT_BEGIN_NAMESPACE

/// Clock policy: Lamport timestamps (a uint64). A write that saw another
/// write always wins over it; "last" between replicas that never talked is
/// decided by the tie-break. merge() raises the clock to every remote
/// timestamp it receives.
struct lamport_timestamps {
    using timestamp_type = std::uint64_t;
    using clock_type = lamport_clock;
    static constexpr bool caller_supplied = false;
    /// Returns: the timestamp of a new local write. Throws: counter_overflow.
    static timestamp_type next(clock_type& c) { return c.tick(); }
    /// Effects: records a remote timestamp. Throws: nothing.
    static void observe(clock_type& c, const timestamp_type& t) { c.observe(t); }
};

/// Clock policy: hybrid logical clock timestamps read from `Wall`. merge()
/// passes the largest remote timestamp to the clock's update(), which
/// rejects one too far ahead of the local wall clock with
/// crdt::error(errc::clock_skew); the merge then changes nothing.
template <wall_clock Wall = system_wall_clock>
struct hlc_timestamps {
    using timestamp_type = hlc_timestamp;
    using clock_type = basic_hybrid_logical_clock<Wall>;
    static constexpr bool caller_supplied = false;
    static timestamp_type next(clock_type& c) { return c.now(); }
    static void observe(clock_type& c, const timestamp_type& t) { (void)c.update(t); }
};

/// Clock policy: the caller passes every timestamp (`set(k, v, ts)`).
/// `T` must be totally ordered and encodable. A local write whose timestamp
/// does not beat what the replica already holds loses, as it would remotely.
template <class T>
struct caller_timestamps {
    using timestamp_type = T;
    struct clock_type {
        friend bool operator==(const clock_type&, const clock_type&) = default;
    };
    static constexpr bool caller_supplied = true;
    static void observe(clock_type&, const timestamp_type&) noexcept {}
};

/// Tie-break: of two writes with equal timestamps, the larger replica id wins.
struct larger_replica_wins {
    /// Returns: whether a write by `a` beats a write by `b` at the same time.
    template <class R>
    static bool beats(const R& a, const R& b) {
        return b < a;
    }
};

/// Tie-break: of two writes with equal timestamps, the smaller replica id wins.
struct smaller_replica_wins {
    template <class R>
    static bool beats(const R& a, const R& b) {
        return a < b;
    }
};

/// Bias of or_set: a concurrent add and remove of one element keep it.
struct add_wins {};
/// Bias of or_set: a concurrent add and remove of one element remove it.
struct remove_wins {};

/// Containers: Boost flat_map (sorted vector): compact, fast to iterate and
/// to merge, O(n) single inserts. Best for small states and nested values.
struct flat_containers {
    template <class K, class V, class Alloc>
    using map = boost::container::flat_map<
        K, V, std::less<K>,
        typename std::allocator_traits<Alloc>::template rebind_alloc<std::pair<K, V>>>;
    static constexpr bool ordered = true;
};

/// Containers: std::unordered_map: O(1) expected single-key operations,
/// more memory per element. Best for large maps and sets. Keys must be
/// hashable (std::hash) and, for a canonical encoding, totally ordered.
struct hashed_containers {
    template <class K, class V, class Alloc>
    using map = std::unordered_map<
        K, V, std::hash<K>, std::equal_to<K>,
        typename std::allocator_traits<Alloc>::template rebind_alloc<std::pair<const K, V>>>;
    static constexpr bool ordered = false;
};

CRDT_END_NAMESPACE
