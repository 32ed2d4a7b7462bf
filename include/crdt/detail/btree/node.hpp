// crdt/detail/btree/node.hpp -- node layout, reference counting and the
// canonical parameter struct of the summarized B-tree.
//
// A node is one allocation of at most Policy::node_bytes bytes, written out as
// if it had the following structure:
//
//   struct node_header {
//       counter  rc;      // owners of this node: tree handles, cursors and
//                         // parent slots. >= 1 while reachable. A node with
//                         // rc == 1 reached from a handle that owns it is
//                         // edited in place; otherwise it is cloned first
//                         // (copy-on-write, Arc::make_mut style).
//       uint16_t count;   // live entries. Leaf: items; internal: children.
//                         // Non-root leaf:     min_leaf     <= count <= leaf_capacity
//                         // Non-root internal: min_internal <= count <= internal_capacity
//                         // Root leaf: 1 <= count; root internal: 2 <= count.
//                         // An empty tree has no root at all.
//       uint8_t  height;  // 0 for a leaf; a child's height is its parent's
//                         // height - 1, so every leaf is at the same depth.
//       cold_summary cold; // only when Traits has a cold summary: the fold of
//                         // the cold summaries of this subtree. Refreshed
//                         // whenever the node's hot total is written to its
//                         // parent slot or to the tree handle; correct in
//                         // every node reachable from a tree handle.
//   };
//   struct leaf : node_header {
//       item_type items[leaf_capacity];       // [0, count) constructed
//   };
//   struct internal : node_header {
//       summary_type sums[internal_capacity]; // sums[i] == fold of children[i]
//       node*    children[internal_capacity]; // each holds one reference
//   };
//
// Summaries of a child live in the parent slot, next to the child pointer, so a
// seek reads one node per level; a node does not store its own total (the
// root's total is kept in the tree handle). Item summaries are not cached in
// leaves: Traits::summarize is called when a leaf is scanned, which keeps
// leaves dense (the per-item memory overhead is the leaf's slack only).
//
// Nodes are plain pointers with intrusive counts rather than indices into an
// arena: persistence shares subtrees between many trees, which an arena per
// tree cannot express without a global arena and its own garbage collection.
//
// Thread safety: with atomic_refcount, nodes reachable from several handles
// may be read on several threads; a node is only ever written while unique.
#pragma once

#include <crdt/btree/btree_defaults.hpp>
#include <crdt/btree/summary.hpp>
#include <crdt/core/config.hpp>

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>
#include <type_traits>
#include <utility>

CRDT_BEGIN_NAMESPACE
namespace detail::btree {

constexpr std::size_t floor_log2(std::size_t v) noexcept {
    std::size_t r = 0;
    while (v > 1) {
        v >>= 1;
        ++r;
    }
    return r;
}

struct cold_of {
    template <class Tr>
    using type = typename Tr::cold_summary_type;
};
struct no_cold_of {
    struct empty {
        friend bool operator==(empty, empty) noexcept { return true; }
    };
    template <class Tr>
    using type = empty;
};

/// The canonical, fully derived parameters of tree<Traits, Policy>.
template <class Traits, class Policy>
struct params {
    using traits = Traits;
    using item_type = typename Traits::item_type;
    using summary_type = typename Traits::summary_type;
    using refcount = typename Policy::refcount;
    using counter = typename refcount::counter;

    static constexpr bool has_cold = ::crdt::btree::has_cold_summary<Traits>;
    using cold_type =
        typename std::conditional_t<has_cold, cold_of, no_cold_of>::template type<Traits>;

    struct header {
        counter rc;
        std::uint16_t count;
        std::uint8_t height;
        [[no_unique_address]] cold_type cold;
    };

    static constexpr std::size_t budget = Policy::node_bytes > sizeof(header)
                                              ? Policy::node_bytes - sizeof(header)
                                              : 0;
    static constexpr std::size_t leaf_capacity =
        std::min<std::size_t>(Policy::max_fanout, budget / sizeof(item_type));
    static constexpr std::size_t internal_capacity =
        std::min<std::size_t>(Policy::max_fanout, budget / (sizeof(summary_type) + sizeof(void*)));

    // Why 4: a full node that receives one more entry splits into halves of
    // (capacity+1)/2 and capacity+1-(capacity+1)/2 entries, and an underfull
    // node (min-1 entries) merges with a minimal sibling into 2*min-1 entries.
    // Both stay within [min, capacity] with min = capacity/2 only when
    // min >= 2, i.e. capacity >= 4; below that a node could be left with one
    // child and the height bound (and the cursor's fixed stack) would break.
    static_assert(leaf_capacity >= 4,
                  "crdt::btree: fewer than 4 items fit in a leaf; raise Policy::node_bytes "
                  "or store large items behind a pointer (see docs/btree.md)");
    static_assert(internal_capacity >= 4,
                  "crdt::btree: fewer than 4 children fit in an internal node; raise "
                  "Policy::node_bytes or shrink the summary (see docs/btree.md)");
    static_assert(Policy::max_fanout <= 0xffff, "crdt::btree: node counts are 16-bit");
    // Splits, merges and spills move entries one by one between nodes; a move
    // that throws half way would leave a node with a hole in it.
    static_assert(std::is_nothrow_move_constructible_v<item_type> &&
                      std::is_nothrow_move_constructible_v<summary_type> &&
                      std::is_nothrow_move_constructible_v<cold_type>,
                  "crdt::btree: items and summaries must be nothrow move constructible "
                  "(store an item with a throwing move behind a pointer; see docs/btree.md)");

    static constexpr std::size_t min_leaf = leaf_capacity / 2;
    static constexpr std::size_t min_internal = internal_capacity / 2;
    /// Deepest possible stack: a non-root internal node has >= min_internal
    /// children and at most 2^48 items fit in memory.
    static constexpr std::size_t max_depth = 48 / floor_log2(min_internal) + 3;
};

template <class Pm>
struct node : Pm::header {};

template <class Pm>
struct leaf_node : node<Pm> {
    using item_type = typename Pm::item_type;
    alignas(item_type) std::byte storage[sizeof(item_type) * Pm::leaf_capacity];

    item_type* items() noexcept {
        return std::launder(reinterpret_cast<item_type*>(static_cast<std::byte*>(storage)));
    }
    const item_type* items() const noexcept {
        return std::launder(
            reinterpret_cast<const item_type*>(static_cast<const std::byte*>(storage)));
    }
    item_type& item(std::size_t i) noexcept { return items()[i]; }
    const item_type& item(std::size_t i) const noexcept { return items()[i]; }
};

template <class Pm>
struct internal_node : node<Pm> {
    using summary_type = typename Pm::summary_type;
    alignas(summary_type) std::byte sum_storage[sizeof(summary_type) * Pm::internal_capacity];
    node<Pm>* children[Pm::internal_capacity];

    summary_type* sums() noexcept {
        return std::launder(reinterpret_cast<summary_type*>(static_cast<std::byte*>(sum_storage)));
    }
    const summary_type* sums() const noexcept {
        return std::launder(
            reinterpret_cast<const summary_type*>(static_cast<const std::byte*>(sum_storage)));
    }
    summary_type& sum(std::size_t i) noexcept { return sums()[i]; }
    const summary_type& sum(std::size_t i) const noexcept { return sums()[i]; }
};

/// Returns: a number never returned before in this process (never 0): each
/// thread takes blocks of 2^16 from one atomic counter, so the common call
/// is a thread-local increment. Trees stamp their contents with it.
inline std::uint64_t new_stamp() noexcept {
    static std::atomic<std::uint64_t> next_block{1};
    thread_local std::uint64_t cur = 0;
    thread_local std::uint64_t end = 0;
    if (cur == end) {
        constexpr std::uint64_t block = std::uint64_t{1} << 16;
        cur = next_block.fetch_add(block, std::memory_order_relaxed);
        end = cur + block;
    }
    return cur++;
}

/// Hints the cache to load `bytes` bytes at n (no effect on other compilers).
inline void prefetch_node(const void* n, std::size_t bytes) noexcept {
#if defined(__GNUC__) || defined(__clang__)
    const char* p = static_cast<const char*>(n);
    for (std::size_t off = 0; off < bytes; off += 64) {
        __builtin_prefetch(p + off);
    }
    // GCC counts a prefetch as no effect, so it deems a function that only
    // prefetches pure and drops calls to it; an empty volatile asm keeps them.
    __asm__ volatile("" : : "r"(p));
#else
    (void)n;
    (void)bytes;
#endif
}

/// Allocation, reference counting and cloning of nodes.
template <class Pm>
struct node_ops {
    using node_t = node<Pm>;
    using leaf_t = leaf_node<Pm>;
    using internal_t = internal_node<Pm>;
    using rc = typename Pm::refcount;

    static leaf_t* as_leaf(node_t* n) noexcept { return static_cast<leaf_t*>(n); }
    static const leaf_t* as_leaf(const node_t* n) noexcept { return static_cast<const leaf_t*>(n); }
    static internal_t* as_internal(node_t* n) noexcept { return static_cast<internal_t*>(n); }
    static const internal_t* as_internal(const node_t* n) noexcept {
        return static_cast<const internal_t*>(n);
    }

    static leaf_t* new_leaf() {
        auto* n = new leaf_t;
        rc::init(n->rc);
        n->count = 0;
        n->height = 0;
        init_cold(n);
        return n;
    }
    static internal_t* new_internal(std::uint8_t height) {
        auto* n = new internal_t;
        rc::init(n->rc);
        n->count = 0;
        n->height = height;
        init_cold(n);
        return n;
    }

    static void init_cold(node_t* n) {
        if constexpr (Pm::has_cold) {
            n->cold = Pm::traits::zero_cold();
        }
    }

    static void retain(node_t* n) noexcept { rc::increment(n->rc); }

    static void release(node_t* n) noexcept {
        if (n == nullptr || !rc::decrement(n->rc)) {
            return;
        }
        if (n->height == 0) {
            auto* l = as_leaf(n);
            std::destroy_n(l->items(), l->count);
            delete l;
        } else {
            auto* in = as_internal(n);
            for (std::size_t i = 0; i < in->count; ++i) {
                release(in->children[i]);
            }
            std::destroy_n(in->sums(), in->count);
            delete in;
        }
    }

    /// Returns: a new unique node equal to *n (children shared, retained).
    static node_t* clone(const node_t* n) {
        if (n->height == 0) {
            const auto* src = as_leaf(n);
            auto* l = new_leaf();
            try {
                std::uninitialized_copy_n(src->items(), src->count, l->items());
            } catch (...) {
                delete l;
                throw;
            }
            l->count = src->count;
            l->cold = src->cold;
            return l;
        }
        const auto* src = as_internal(n);
        auto* in = new_internal(src->height);
        try {
            std::uninitialized_copy_n(src->sums(), src->count, in->sums());
        } catch (...) {
            delete in;
            throw;
        }
        for (std::size_t i = 0; i < src->count; ++i) {
            in->children[i] = src->children[i];
            retain(in->children[i]);
        }
        in->count = src->count;
        in->cold = src->cold;
        return in;
    }
};

/// An owning, intrusive pointer to a node.
template <class Pm>
class node_ptr {
public:
    using node_t = node<Pm>;
    using ops = node_ops<Pm>;

    node_ptr() noexcept = default;
    /// Adopts one reference.
    explicit node_ptr(node_t* n) noexcept : p_(n) {}
    node_ptr(const node_ptr& o) noexcept : p_(o.p_) {
        if (p_ != nullptr) {
            ops::retain(p_);
        }
    }
    node_ptr(node_ptr&& o) noexcept : p_(std::exchange(o.p_, nullptr)) {}
    node_ptr& operator=(const node_ptr& o) noexcept {
        node_ptr(o).swap(*this);
        return *this;
    }
    node_ptr& operator=(node_ptr&& o) noexcept {
        node_ptr(std::move(o)).swap(*this);
        return *this;
    }
    ~node_ptr() { ops::release(p_); }

    /// Returns: a new owning pointer that shares `n` (one more reference).
    static node_ptr share(node_t* n) noexcept {
        if (n != nullptr) {
            ops::retain(n);
        }
        return node_ptr(n);
    }

    void swap(node_ptr& o) noexcept { std::swap(p_, o.p_); }
    void reset() noexcept { node_ptr().swap(*this); }
    node_t* get() const noexcept { return p_; }
    node_t* operator->() const noexcept { return p_; }
    explicit operator bool() const noexcept { return p_ != nullptr; }
    /// Gives up ownership without releasing.
    node_t* detach() noexcept { return std::exchange(p_, nullptr); }
    bool unique() const noexcept { return Pm::refcount::unique(p_->rc); }
    /// Effects: clones *this if it is shared, so it may be edited in place.
    void make_unique() {
        if (!unique()) {
            node_ptr(ops::clone(p_)).swap(*this);
        }
    }
    friend bool operator==(const node_ptr& a, const node_ptr& b) noexcept { return a.p_ == b.p_; }

private:
    node_t* p_ = nullptr;
};

} // namespace detail::btree
CRDT_END_NAMESPACE
