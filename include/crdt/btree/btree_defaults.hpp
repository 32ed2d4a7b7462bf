// crdt/btree/btree_defaults.hpp -- the policy of the summarized B-tree.
//
// Derive from btree_defaults and override one member:
//
//   struct single_threaded : crdt::btree::btree_defaults {
//       using refcount = crdt::btree::local_refcount;
//   };
//   crdt::btree::tree<my_traits, single_threaded> t;
//
// Members:
//   node_bytes  byte budget of one node allocation. Leaf capacity is
//               (node_bytes - header) / sizeof(item); internal capacity is
//               (node_bytes - header) / (sizeof(summary) + sizeof(pointer)).
//               Both must come out at least 4 (static_assert): with fewer, a
//               split of a full node or a merge of two minimal nodes cannot
//               keep both halves at the minimum occupancy of capacity/2 >= 2.
//   max_fanout  an upper clamp on both capacities (linear scans inside a node
//               stop paying off beyond ~64; tests set 4 to force constant
//               splits and merges).
//   refcount    atomic_refcount (default: snapshots may be shared across
//               threads) or local_refcount (the user promises that every
//               snapshot of one tree stays on one thread; no atomic RMW).
//
// Thread safety: the policy is a set of constants. Exception safety: n/a.
#pragma once

#include <crdt/core/config.hpp>

#include <atomic>
#include <cstddef>
#include <cstdint>

CRDT_BEGIN_NAMESPACE
namespace btree {

/// Reference counts with atomic read-modify-write: snapshots of one tree may
/// be read and copied on several threads at once (each thread editing its own
/// handle).
struct atomic_refcount {
    using counter = std::atomic<std::uint32_t>;
    static void init(counter& c) noexcept { c.store(1, std::memory_order_relaxed); }
    static void increment(counter& c) noexcept { c.fetch_add(1, std::memory_order_relaxed); }
    /// Returns: true when the count dropped to zero.
    static bool decrement(counter& c) noexcept {
        return c.fetch_sub(1, std::memory_order_acq_rel) == 1;
    }
    static bool unique(const counter& c) noexcept { return c.load(std::memory_order_acquire) == 1; }
    static std::uint32_t load(const counter& c) noexcept {
        return c.load(std::memory_order_relaxed);
    }
};

/// Plain integer reference counts: every handle, cursor and snapshot of a tree
/// must stay on one thread.
struct local_refcount {
    using counter = std::uint32_t;
    static void init(counter& c) noexcept { c = 1; }
    static void increment(counter& c) noexcept { ++c; }
    static bool decrement(counter& c) noexcept { return --c == 0; }
    static bool unique(const counter& c) noexcept { return c == 1; }
    static std::uint32_t load(const counter& c) noexcept { return c; }
};

/// The default policy of crdt::btree::tree and crdt::btree_map.
struct btree_defaults {
    /// Byte budget of one node (see the file comment).
    static constexpr std::size_t node_bytes = 512;
    /// Upper clamp on the number of items per leaf and children per node.
    static constexpr std::size_t max_fanout = 64;
    /// atomic_refcount or local_refcount.
    using refcount = atomic_refcount;
};

} // namespace btree
CRDT_END_NAMESPACE
