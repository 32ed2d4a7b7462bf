// crdt/detail/btree/algorithms.hpp -- node algorithms of the summarized
// B-tree, separate from the owning container (Boost.Intrusive style).
//
// Every function works on raw nodes (node.hpp) and follows one ownership rule:
// a function that edits a node requires it to be unique (rc == 1, reached from
// an owner that holds it); a child reached through a unique parent is made
// unique with unique_child() (cloned if shared, path copying). Functions that
// take a `part` (an owning root) consume it.
//
// Invariants restored by every function (checked by verify()):
//   * every leaf at the same depth (heights decrease by one per level);
//   * non-root nodes hold [min, capacity] entries, a root leaf >= 1 item, a
//     root internal node >= 2 children;
//   * sums[i] of an internal node equals the fold of child i.
//
// Complexity (n items, B = capacity, h = log_B n): insert/erase/replace at a
// path O(B h); join O(B (|h_a - h_b| + 1)); split and range O(B h); build O(n).
// Exception safety: basic for edits of unique nodes: items and summaries move
// without throwing (static_assert in params), so a throwing item copy,
// assignment or update function, or a failed allocation, leaves a valid
// tree (an update's path is refolded from the item as it was left); strong
// for every function applied to shared nodes, since those are never written.
#pragma once

#include <crdt/btree/summary.hpp>
#include <crdt/core/config.hpp>
#include <crdt/detail/btree/node.hpp>

#include <cstddef>
#include <cstdint>
#include <iterator>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

// GCC 12 at -O3 reports out-of-bounds indices and "iteration ... invokes
// undefined behavior" on the entry-shifting loops below, for node counts it
// cannot bound after inlining. They are false positives: count <= capacity is
// an invariant of every node (checked by verify()).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Warray-bounds"
#pragma GCC diagnostic ignored "-Waggressive-loop-optimizations"
#endif

CRDT_BEGIN_NAMESPACE
namespace detail::btree {

template <class Pm>
struct node_algorithms {
    using traits = typename Pm::traits;
    using item_type = typename Pm::item_type;
    using summary_type = typename Pm::summary_type;
    using node_t = node<Pm>;
    using leaf_t = leaf_node<Pm>;
    using internal_t = internal_node<Pm>;
    using ops = node_ops<Pm>;
    using ptr = node_ptr<Pm>;

    static constexpr std::size_t leaf_cap = Pm::leaf_capacity;
    static constexpr std::size_t internal_cap = Pm::internal_capacity;

    static std::size_t capacity(const node_t* n) noexcept {
        return n->height == 0 ? leaf_cap : internal_cap;
    }
    static std::size_t min_count(const node_t* n) noexcept {
        return n->height == 0 ? Pm::min_leaf : Pm::min_internal;
    }

    // -----------------------------------------------------------------------
    // Summaries
    // -----------------------------------------------------------------------

    /// Returns: the fold of entries [from, to) of n.
    static summary_type fold(const node_t* n, std::size_t from, std::size_t to) {
        summary_type s = traits::zero();
        if (n->height == 0) {
            const auto* l = ops::as_leaf(n);
            for (std::size_t i = from; i < to; ++i) {
                traits::combine(s, traits::summarize(l->item(i)));
            }
        } else {
            const auto* in = ops::as_internal(n);
            for (std::size_t i = from; i < to; ++i) {
                traits::combine(s, in->sum(i));
            }
        }
        return s;
    }
    static summary_type total(const node_t* n) { return fold(n, 0, n->count); }

    using cold_type = typename Pm::cold_type;

    /// Returns: the fold of the cold summaries of n's entries (children's
    /// stored cold summaries, or items').
    static cold_type fold_cold(const node_t* n) {
        if constexpr (Pm::has_cold) {
            cold_type c = traits::zero_cold();
            if (n->height == 0) {
                const auto* l = ops::as_leaf(n);
                for (std::size_t i = 0; i < l->count; ++i) {
                    traits::combine_cold(c, traits::summarize_cold(l->item(i)));
                }
            } else {
                const auto* in = ops::as_internal(n);
                for (std::size_t i = 0; i < in->count; ++i) {
                    traits::combine_cold(c, in->children[i]->cold);
                }
            }
            return c;
        } else {
            return cold_type{};
        }
    }

    /// Effects: recomputes unique n's cold summary (when Traits has one).
    /// Returns: n's (hot) total, for its parent slot.
    static summary_type refresh(node_t* n) {
        if constexpr (Pm::has_cold) {
            n->cold = fold_cold(n);
        }
        return total(n);
    }

    /// Returns: the total of a tree's root, refreshing its cold summary when
    /// the root is unique (a shared root is a node of a valid tree already).
    static summary_type refresh_root(const ptr& root) {
        if (!root) {
            return traits::zero();
        }
        if (root.unique()) {
            return refresh(root.get());
        }
        return total(root.get());
    }

    /// Returns: the summary of entry i (an item's summary or a child's).
    static summary_type entry_summary(const node_t* n, std::size_t i) {
        return n->height == 0 ? traits::summarize(ops::as_leaf(n)->item(i))
                              : ops::as_internal(n)->sum(i);
    }

    // -----------------------------------------------------------------------
    // Entry moves. dst must be unique and have room.
    // -----------------------------------------------------------------------

    /// Effects: opens a gap of k entries at pos in n (entries move right).
    static void open_gap(node_t* n, std::size_t pos, std::size_t k) {
        const std::size_t cnt = n->count;
        if (k == 0 || pos >= cnt) {
            return;
        }
        if (n->height == 0) {
            item_type* it = ops::as_leaf(n)->items();
            // Move-construct the tail into raw storage from the back.
            for (std::size_t i = cnt; i-- > pos;) {
                ::new (static_cast<void*>(it + i + k)) item_type(std::move(it[i]));
                std::destroy_at(it + i);
            }
        } else {
            auto* in = ops::as_internal(n);
            summary_type* s = in->sums();
            for (std::size_t i = cnt; i-- > pos;) {
                ::new (static_cast<void*>(s + i + k)) summary_type(std::move(s[i]));
                std::destroy_at(s + i);
                in->children[i + k] = in->children[i];
            }
        }
    }

    /// Effects: closes a gap of k destroyed entries at pos (entries move left).
    static void close_gap(node_t* n, std::size_t pos, std::size_t k, std::size_t old_count) {
        if (k == 0 || pos + k >= old_count) {
            return;
        }
        if (n->height == 0) {
            item_type* it = ops::as_leaf(n)->items();
            for (std::size_t i = pos + k; i < old_count; ++i) {
                ::new (static_cast<void*>(it + i - k)) item_type(std::move(it[i]));
                std::destroy_at(it + i);
            }
        } else {
            auto* in = ops::as_internal(n);
            summary_type* s = in->sums();
            for (std::size_t i = pos + k; i < old_count; ++i) {
                ::new (static_cast<void*>(s + i - k)) summary_type(std::move(s[i]));
                std::destroy_at(s + i);
                in->children[i - k] = in->children[i];
            }
        }
    }

    /// Effects: inserts copies of src's entries [from, to) at pos of dst
    /// (children are shared, retained). src is not modified.
    static void copy_entries(node_t* dst, std::size_t pos, const node_t* src, std::size_t from,
                             std::size_t to) {
        const std::size_t k = to - from;
        CRDT_ASSERT(dst->count + k <= capacity(dst) && dst->height == src->height);
        open_gap(dst, pos, k);
        if (dst->height == 0) {
            item_type* d = ops::as_leaf(dst)->items();
            const item_type* s = ops::as_leaf(src)->items();
            for (std::size_t i = 0; i < k; ++i) {
                ::new (static_cast<void*>(d + pos + i)) item_type(s[from + i]);
            }
        } else {
            auto* d = ops::as_internal(dst);
            const auto* s = ops::as_internal(src);
            for (std::size_t i = 0; i < k; ++i) {
                ::new (static_cast<void*>(d->sums() + pos + i)) summary_type(s->sum(from + i));
                d->children[pos + i] = s->children[from + i];
                ops::retain(d->children[pos + i]);
            }
        }
        dst->count = static_cast<std::uint16_t>(dst->count + k);
    }

    /// Effects: moves src's entries [from, to) to pos of dst and removes them
    /// from src. Requires: src unique, src != dst.
    static void move_entries(node_t* dst, std::size_t pos, node_t* src, std::size_t from,
                             std::size_t to) {
        const std::size_t k = to - from;
        CRDT_ASSERT(dst->count + k <= capacity(dst) && dst->height == src->height);
        open_gap(dst, pos, k);
        if (dst->height == 0) {
            item_type* d = ops::as_leaf(dst)->items();
            item_type* s = ops::as_leaf(src)->items();
            for (std::size_t i = 0; i < k; ++i) {
                ::new (static_cast<void*>(d + pos + i)) item_type(std::move(s[from + i]));
                std::destroy_at(s + from + i);
            }
        } else {
            auto* d = ops::as_internal(dst);
            auto* s = ops::as_internal(src);
            for (std::size_t i = 0; i < k; ++i) {
                ::new (static_cast<void*>(d->sums() + pos + i))
                    summary_type(std::move(s->sum(from + i)));
                std::destroy_at(s->sums() + from + i);
                d->children[pos + i] = s->children[from + i];
            }
        }
        dst->count = static_cast<std::uint16_t>(dst->count + k);
        const std::size_t old = src->count;
        src->count = static_cast<std::uint16_t>(old - k);
        close_gap(src, from, k, old);
    }

    /// Effects: destroys entries [from, to) of unique n (releasing children).
    static void remove_entries(node_t* n, std::size_t from, std::size_t to) {
        const std::size_t k = to - from;
        if (n->height == 0) {
            std::destroy_n(ops::as_leaf(n)->items() + from, k);
        } else {
            auto* in = ops::as_internal(n);
            for (std::size_t i = from; i < to; ++i) {
                ops::release(in->children[i]);
            }
            std::destroy_n(in->sums() + from, k);
        }
        const std::size_t old = n->count;
        n->count = static_cast<std::uint16_t>(old - k);
        close_gap(n, from, k, old);
    }

    /// Effects: appends (or prepends) all entries of src to dst, consuming src
    /// (moved when unique, copied when shared).
    static void absorb(node_t* dst, std::size_t pos, ptr src) {
        if (src.unique()) {
            move_entries(dst, pos, src.get(), 0, src->count);
        } else {
            copy_entries(dst, pos, src.get(), 0, src->count);
        }
    }

    /// Returns: child i of unique internal node p, made unique (cloned and
    /// swapped into the slot when shared).
    static node_t* unique_child(internal_t* p, std::size_t i) {
        node_t* c = p->children[i];
        if (!Pm::refcount::unique(c->rc)) {
            node_t* copy = ops::clone(c);
            ops::release(c);
            p->children[i] = copy;
            c = copy;
        }
        return c;
    }

    /// Effects: evens out the entries of unique siblings l and r.
    static void redistribute(node_t* l, node_t* r) {
        const std::size_t total_count = std::size_t{l->count} + r->count;
        const std::size_t want_l = total_count / 2;
        if (l->count > want_l) {
            move_entries(r, 0, l, want_l, l->count);
        } else if (l->count < want_l) {
            move_entries(l, l->count, r, 0, want_l - l->count);
        }
    }

    /// Creates an empty node of n's kind and height.
    static node_t* new_like(const node_t* n) {
        if (n->height == 0) {
            return ops::new_leaf();
        }
        return ops::new_internal(n->height);
    }

    /// Returns: child j of unique p made unique if it is unique already or
    ///   null when it is shared (a shared sibling is not cloned just to take
    ///   entries: that would copy a node other versions keep anyway).
    static node_t* unique_sibling(internal_t* p, std::size_t j) noexcept {
        node_t* s = p->children[j];
        return Pm::refcount::unique(s->rc) ? s : nullptr;
    }

    /// Effects: inserts one entry into unique n at pos through `put(node, pos)`
    /// (which constructs the entry and increments count). When n is full and
    /// n is child `slot` of unique internal node p (p may be null: n is the
    /// root), the entries spill into a unique sibling with room first: half
    /// of the sibling's free room moves over (at least one entry), as in a
    /// B*-tree, so that nodes fill to ~80% under random inserts and to ~100%
    /// under appends instead of ~50-70%; only when neither sibling has room
    /// (or is unique) does n split in two. The caller refreshes p's slot for
    /// n; a sibling's slot is refreshed here.
    /// Returns: the new right sibling of n, or null.
    template <class Put>
    static ptr insert_into(node_t* n, std::size_t pos, Put&& put, internal_t* p, std::size_t slot) {
        const std::size_t cap = capacity(n);
        if (n->count < cap) {
            put(n, pos);
            return ptr();
        }
        if (p != nullptr) {
            node_t* l = slot > 0 ? unique_sibling(p, slot - 1) : nullptr;
            node_t* r = slot + 1 < p->count ? unique_sibling(p, slot + 1) : nullptr;
            const std::size_t room_l = l != nullptr ? cap - l->count : 0;
            const std::size_t room_r = r != nullptr ? cap - r->count : 0;
            if (room_l != 0 && room_l >= room_r) {
                // k of the cap + 1 entries go left: the new one among them
                // when pos < k.
                const std::size_t k = (room_l + 1) / 2;
                const std::size_t at = l->count;
                if (pos < k) {
                    move_entries(l, at, n, 0, k - 1);
                    put(l, at + pos);
                } else {
                    move_entries(l, at, n, 0, k);
                    put(n, pos - k);
                }
                p->sum(slot - 1) = refresh(l);
                return ptr();
            }
            if (room_r != 0) {
                // The last k of the cap + 1 entries go right.
                const std::size_t k = (room_r + 1) / 2;
                const std::size_t first = cap + 1 - k;
                if (pos >= first) {
                    move_entries(r, 0, n, first, cap);
                    put(r, pos - first);
                } else {
                    move_entries(r, 0, n, first - 1, cap);
                    put(n, pos);
                }
                p->sum(slot + 1) = refresh(r);
                return ptr();
            }
        }
        ptr right(new_like(n));
        const std::size_t left_count = (cap + 1) / 2;
        if (pos < left_count) {
            move_entries(right.get(), 0, n, left_count - 1, cap);
            put(n, pos);
        } else {
            move_entries(right.get(), 0, n, left_count, cap);
            put(right.get(), pos - left_count);
        }
        return right;
    }

    template <class Item>
    static auto put_item(Item&& item) {
        return [&item](node_t* n, std::size_t pos) {
            auto* l = ops::as_leaf(n);
            open_gap(l, pos, 1);
            ::new (static_cast<void*>(l->items() + pos)) item_type(std::forward<Item>(item));
            ++l->count;
        };
    }

    /// The entry put for a child: adopts `child`'s reference.
    static auto put_child(ptr& child) {
        return [&child](node_t* n, std::size_t pos) {
            auto* in = ops::as_internal(n);
            summary_type s = refresh(child.get());
            open_gap(in, pos, 1);
            ::new (static_cast<void*>(in->sums() + pos)) summary_type(std::move(s));
            in->children[pos] = child.detach();
            ++in->count;
        };
    }

    /// Returns: a new internal root over two nodes of equal height.
    static ptr make_root(ptr left, ptr right) {
        ptr root(ops::new_internal(static_cast<std::uint8_t>(left->height + 1)));
        put_child(left)(root.get(), 0);
        put_child(right)(root.get(), 1);
        return root;
    }

    /// Effects: collapses internal roots with one child; an empty leaf root
    /// becomes an empty tree.
    static void normalize_root(ptr& root) {
        while (root && root->height > 0 && root->count == 1) {
            ptr child = ptr::share(ops::as_internal(root.get())->children[0]);
            root = std::move(child);
        }
        if (root && root->count == 0) {
            root.reset();
        }
    }

    // -----------------------------------------------------------------------
    // Point edits at an index path (one index per level, root first).
    // -----------------------------------------------------------------------

    /// Effects: inserts item before entry path[depth..] of unique n, which is
    ///   child `slot` of unique p (p null: n is the root).
    /// Returns: n's new right sibling if n split.
    template <class Item>
    static ptr insert_at(node_t* n, const std::uint16_t* path, Item&& item, internal_t* p = nullptr,
                         std::size_t slot = 0) {
        const std::size_t i = path[0];
        if (n->height == 0) {
            return insert_into(n, i, put_item(std::forward<Item>(item)), p, slot);
        }
        auto* in = ops::as_internal(n);
        node_t* c = unique_child(in, i);
        ptr extra;
        try {
            extra = insert_at(c, path + 1, std::forward<Item>(item), in, i);
        } catch (...) {
            // An allocation below failed (a split's new node, say): the
            // nodes are valid but may have changed; keep this level's
            // summary of the child in step (the levels above do the same).
            in->sum(i) = refresh(c);
            throw;
        }
        in->sum(i) = refresh(c);
        if (extra) {
            return insert_into(n, i + 1, put_child(extra), p, slot);
        }
        return ptr();
    }

    /// Effects: writes into out the index path of the item after the one at
    ///   `path` (depth entries, root first) in the tree rooted at n.
    /// Returns: false if that item is the last one.
    static bool next_path(const node_t* n, const std::uint16_t* path, std::size_t depth,
                          std::uint16_t* out) {
        const node_t* on_path[Pm::max_depth];
        for (std::size_t d = 0; d < depth; ++d) {
            on_path[d] = n;
            out[d] = path[d];
            if (d + 1 < depth) {
                n = ops::as_internal(n)->children[path[d]];
            }
        }
        for (std::size_t d = depth; d-- > 0;) {
            if (path[d] + 1u < on_path[d]->count) {
                out[d] = static_cast<std::uint16_t>(path[d] + 1u);
                for (std::size_t e = d + 1; e < depth; ++e) {
                    out[e] = 0; // the leftmost item of the next subtree
                }
                return true;
            }
        }
        return false;
    }

    /// Effects: replaces the item at path of unique n with `item`.
    template <class Item>
    static void replace_at(node_t* n, const std::uint16_t* path, Item&& item) {
        auto assign = [&item](item_type& it) { it = std::forward<Item>(item); };
        update_at(n, path, assign);
    }

    /// Effects: calls fn(item&) on the item at path of unique n and refreshes
    /// the summaries above it: patched level by level (O(h)) while the traits
    /// can patch (has_patch / has_cold_patch), refolded from the first level
    /// where they cannot.
    /// If fn throws (or a replacing assignment does), the summaries on the
    /// path are refolded from the item as fn left it, then the exception
    /// propagates: the tree stays valid (basic guarantee).
    template <class Fn>
    static void update_at(node_t* n, const std::uint16_t* path, Fn& fn) {
        if constexpr (::crdt::btree::has_patch<traits>) {
            update_patched(n, path, fn, nullptr);
        } else {
            update_refolded(n, path, fn);
        }
    }

    /// Effects: as update_at on the root n, and patches `total` (the tree's
    ///   cached summary of n) alike.
    /// Returns: whether `total` was patched; if not (a level refolded, or the
    ///   traits cannot patch), the caller recomputes it (refresh_root). The
    ///   root's cold summary is always up to date on return.
    template <class Fn>
    static bool update_root_at(node_t* n, const std::uint16_t* path, Fn& fn, summary_type& total) {
        if constexpr (::crdt::btree::has_patch<traits>) {
            return update_patched(n, path, fn, &total);
        } else {
            update_refolded(n, path, fn);
            if constexpr (Pm::has_cold) {
                n->cold = fold_cold(n);
            }
            return false;
        }
    }

    /// update_at refolding every node on the path (O(B h)).
    template <class Fn>
    static void update_refolded(node_t* n, const std::uint16_t* path, Fn& fn) {
        const std::size_t i = path[0];
        if (n->height == 0) {
            fn(ops::as_leaf(n)->item(i));
            return;
        }
        auto* in = ops::as_internal(n);
        node_t* c = unique_child(in, i);
        try {
            update_refolded(c, path + 1, fn);
        } catch (...) {
            in->sum(i) = refresh(c); // c is unique: refold it as fn left it
            throw;
        }
        in->sum(i) = refresh(c);
    }

    /// update_at patching the stored summaries (traits with patch).
    /// When `root_total` is not null it is the cached summary of the root n,
    /// and is patched too; returns whether it was (false: the caller refolds
    /// it).
    template <class Fn>
    static bool update_patched(node_t* n, const std::uint16_t* path, Fn& fn,
                               summary_type* root_total) {
        internal_t* up[Pm::max_depth];
        std::size_t depth = 0;
        while (n->height > 0) {
            auto* in = ops::as_internal(n);
            up[depth] = in;
            n = unique_child(in, path[depth]);
            ++depth;
        }
        item_type& it = ops::as_leaf(n)->item(path[depth]);
        const summary_type old_s = traits::summarize(it);
        // Every node on the path is unique now; if fn throws, refold them.
        const auto refold_all = [&] {
            if constexpr (Pm::has_cold) {
                n->cold = fold_cold(n);
            }
            for (std::size_t d = depth; d-- > 0;) {
                up[d]->sum(path[d]) = total(up[d]->children[path[d]]);
                if constexpr (Pm::has_cold) {
                    up[d]->cold = fold_cold(up[d]);
                }
            }
        };
        [[maybe_unused]] cold_type old_c{};
        if constexpr (Pm::has_cold) {
            old_c = traits::summarize_cold(it);
        }
        try {
            fn(it);
        } catch (...) {
            refold_all();
            throw;
        }
        const summary_type new_s = traits::summarize(it);
        [[maybe_unused]] cold_type new_c{};
        bool cold_ok = true;
        if constexpr (Pm::has_cold) {
            new_c = traits::summarize_cold(it);
            cold_ok = patch_cold(n->cold, old_c, new_c);
            if (!cold_ok) {
                n->cold = fold_cold(n);
            }
        }
        bool hot_ok = true;
        while (depth-- > 0) {
            internal_t* p = up[depth];
            const std::size_t i = path[depth];
            hot_ok = hot_ok && traits::patch(p->sum(i), old_s, new_s);
            if (!hot_ok) {
                p->sum(i) = total(p->children[i]);
            }
            if constexpr (Pm::has_cold) {
                cold_ok = cold_ok && patch_cold(p->cold, old_c, new_c);
                if (!cold_ok) {
                    p->cold = fold_cold(p);
                }
            }
        }
        return root_total != nullptr && hot_ok && traits::patch(*root_total, old_s, new_s);
    }

    /// Returns: traits::patch_cold(acc, old_c, new_c) when the traits have it,
    ///   else false (the caller refolds).
    static bool patch_cold(cold_type& acc, const cold_type& old_c, const cold_type& new_c) {
        if constexpr (::crdt::btree::has_cold_patch<traits>) {
            return traits::patch_cold(acc, old_c, new_c);
        } else {
            (void)acc;
            (void)old_c;
            (void)new_c;
            return false;
        }
    }

    /// Effects: if child i of unique p is below its minimum, merges it with a
    /// sibling or borrows from one.
    static void fix_underflow(internal_t* p, std::size_t i) {
        node_t* c = p->children[i];
        if (c->count >= min_count(c) || p->count < 2) {
            return;
        }
        const std::size_t l = i > 0 ? i - 1 : i;
        const std::size_t r = l + 1;
        node_t* ln = unique_child(p, l);
        node_t* rn = unique_child(p, r);
        if (std::size_t{ln->count} + rn->count <= capacity(ln)) {
            move_entries(ln, ln->count, rn, 0, rn->count);
            p->sum(l) = refresh(ln);
            remove_entries(p, r, r + 1);
        } else {
            redistribute(ln, rn);
            p->sum(l) = refresh(ln);
            p->sum(r) = refresh(rn);
        }
    }

    /// Effects: erases the item at path of unique n.
    static void erase_at(node_t* n, const std::uint16_t* path) {
        const std::size_t i = path[0];
        if (n->height == 0) {
            remove_entries(n, i, i + 1);
            return;
        }
        auto* in = ops::as_internal(n);
        node_t* c = unique_child(in, i);
        erase_at(c, path + 1);
        in->sum(i) = refresh(c);
        fix_underflow(in, i);
    }

    // -----------------------------------------------------------------------
    // Join, split, range.
    // -----------------------------------------------------------------------

    /// Pushes tree b (height hb < n->height, or equal) into the right spine of
    /// unique n, child `slot` of unique p (p null: n is the root). When n has
    /// no room for b, entries of n spill into its unique left sibling first
    /// (see insert_into), so that repeated push_back fills nodes.
    /// Returns: n's new right sibling, or null.
    static ptr join_right(node_t* n, ptr b, internal_t* p, std::size_t slot) {
        if (n->height == b->height) {
            const std::size_t cap = capacity(n);
            const std::size_t total = std::size_t{n->count} + b->count;
            if (total > cap && p != nullptr && slot > 0) {
                node_t* l = unique_sibling(p, slot - 1);
                if (l != nullptr && l->count + (total - cap) <= cap) {
                    move_entries(l, l->count, n, 0, total - cap);
                    p->sum(slot - 1) = refresh(l);
                }
            }
            if (std::size_t{n->count} + b->count <= cap) {
                absorb(n, n->count, std::move(b));
                return ptr();
            }
            b.make_unique();
            redistribute(n, b.get());
            return b;
        }
        auto* in = ops::as_internal(n);
        const std::size_t last = in->count - 1u;
        node_t* c = unique_child(in, last);
        ptr extra = join_right(c, std::move(b), in, last);
        in->sum(last) = refresh(c);
        if (extra) {
            return insert_into(n, last + 1, put_child(extra), p, slot);
        }
        return ptr();
    }

    /// Pushes tree a (height ha < n->height, or equal) into the left spine of
    /// unique n, child `slot` of unique p (p null: n is the root); the mirror
    /// of join_right (n's entries spill into its unique right sibling).
    /// Returns: n's new right sibling, or null.
    static ptr join_left(node_t* n, ptr a, internal_t* p, std::size_t slot) {
        if (n->height == a->height) {
            const std::size_t cap = capacity(n);
            const std::size_t total = std::size_t{n->count} + a->count;
            if (total > cap && p != nullptr && slot + 1 < p->count) {
                node_t* r = unique_sibling(p, slot + 1);
                if (r != nullptr && r->count + (total - cap) <= cap) {
                    move_entries(r, 0, n, n->count - (total - cap), n->count);
                    p->sum(slot + 1) = refresh(r);
                }
            }
            if (std::size_t{n->count} + a->count <= cap) {
                absorb(n, 0, std::move(a));
                return ptr();
            }
            ptr right(new_like(n));
            move_entries(right.get(), 0, n, 0, n->count);
            absorb(n, 0, std::move(a));
            redistribute(n, right.get());
            return right;
        }
        auto* in = ops::as_internal(n);
        node_t* c = unique_child(in, 0);
        ptr extra = join_left(c, std::move(a), in, 0);
        in->sum(0) = refresh(c);
        if (extra) {
            return insert_into(n, 1, put_child(extra), p, slot);
        }
        return ptr();
    }

    /// Returns: the concatenation a ++ b as a valid tree (consumes both).
    static ptr join(ptr a, ptr b) {
        if (!a) {
            return b;
        }
        if (!b) {
            return a;
        }
        if (a->height >= b->height) {
            a.make_unique();
            ptr extra = join_right(a.get(), std::move(b), nullptr, 0);
            if (extra) {
                return make_root(std::move(a), std::move(extra));
            }
            return a;
        }
        b.make_unique();
        ptr extra = join_left(b.get(), std::move(a), nullptr, 0);
        if (extra) {
            return make_root(std::move(b), std::move(extra));
        }
        return b;
    }

    /// Returns: a root over entries [from, to) of n, sharing them (null when
    /// empty; the lone child itself when one child).
    static ptr sub_node(const node_t* n, std::size_t from, std::size_t to) {
        if (from >= to) {
            return ptr();
        }
        if (from == 0 && to == n->count) {
            return ptr::share(const_cast<node_t*>(n));
        }
        if (n->height > 0 && to - from == 1) {
            return ptr::share(ops::as_internal(n)->children[from]);
        }
        ptr out(new_like(n));
        copy_entries(out.get(), 0, n, from, to);
        return out;
    }

    /// Returns: (items before path, items from path on) of subtree n. An
    /// index equal to n->count at any level means "after everything".
    static std::pair<ptr, ptr> split(const node_t* n, const std::uint16_t* path) {
        const std::size_t i = path[0];
        if (n->height == 0 || i >= n->count) {
            return {sub_node(n, 0, i), sub_node(n, i, n->count)};
        }
        const auto* in = ops::as_internal(n);
        auto [cl, cr] = split(in->children[i], path + 1);
        ptr left = join(sub_node(n, 0, i), std::move(cl));
        ptr right = join(std::move(cr), sub_node(n, i + 1, n->count));
        normalize_root(left);
        normalize_root(right);
        return {std::move(left), std::move(right)};
    }

    /// Returns: the items in [pa, pb) of subtree n (paths as in split).
    static ptr range(const node_t* n, const std::uint16_t* pa, const std::uint16_t* pb) {
        const std::size_t ia = pa[0];
        const std::size_t ib = pb[0];
        if (ia >= n->count || ia > ib) {
            return ptr();
        }
        if (n->height == 0) {
            return sub_node(n, ia, std::min<std::size_t>(ib, n->count));
        }
        const auto* in = ops::as_internal(n);
        if (ia == ib) {
            ptr r = range(in->children[ia], pa + 1, pb + 1);
            normalize_root(r);
            return r;
        }
        ptr left = split(in->children[ia], pa + 1).second;
        ptr mid = sub_node(n, ia + 1, std::min<std::size_t>(ib, n->count));
        ptr right = ib < n->count ? split(in->children[ib], pb + 1).first : ptr();
        ptr out = join(join(std::move(left), std::move(mid)), std::move(right));
        normalize_root(out);
        return out;
    }

    // -----------------------------------------------------------------------
    // Bulk build.
    // -----------------------------------------------------------------------

    /// Returns: a tree holding [first, last) in order, in O(n): leaves packed
    /// to capacity, the last two nodes of every level evened out.
    template <std::input_iterator It, std::sentinel_for<It> Sent>
    static ptr build(It first, Sent last) {
        std::vector<ptr> level;
        while (first != last) {
            ptr leaf(ops::new_leaf());
            auto* l = ops::as_leaf(leaf.get());
            while (first != last && l->count < leaf_cap) {
                ::new (static_cast<void*>(l->items() + l->count)) item_type(*first);
                ++l->count;
                ++first;
            }
            level.push_back(std::move(leaf));
        }
        if (level.empty()) {
            return ptr();
        }
        while (true) {
            if (level.size() >= 2) {
                node_t* a = level[level.size() - 2].get();
                node_t* b = level.back().get();
                if (b->count < min_count(b)) {
                    redistribute(a, b);
                }
            }
            if (level.size() == 1) {
                return std::move(level.front());
            }
            std::vector<ptr> up;
            up.reserve(level.size() / internal_cap + 1);
            const auto h = static_cast<std::uint8_t>(level.front()->height + 1);
            for (std::size_t i = 0; i < level.size();) {
                ptr parent(ops::new_internal(h));
                for (std::size_t k = 0; k < internal_cap && i < level.size(); ++k, ++i) {
                    put_child(level[i])(parent.get(), parent->count);
                }
                up.push_back(std::move(parent));
            }
            if (up.size() >= 2) {
                // Evening out internal nodes moves children with their sums.
                node_t* a = up[up.size() - 2].get();
                node_t* b = up.back().get();
                if (b->count < min_count(b)) {
                    redistribute(a, b);
                }
            }
            level = std::move(up);
            if (level.size() == 1) {
                return std::move(level.front());
            }
            // The next round re-checks the last pair, which is already even.
        }
    }

    // -----------------------------------------------------------------------
    // Verification and statistics.
    // -----------------------------------------------------------------------

    [[noreturn]] static void fail(const std::string& what) {
        throw std::logic_error("crdt::btree::verify: " + what);
    }

    /// Checks the invariants of subtree n; returns its recomputed summary.
    static summary_type verify(const node_t* n,
                               bool is_root) requires std::equality_comparable<summary_type> {
        if (Pm::refcount::load(n->rc) == 0) {
            fail("reachable node with reference count 0");
        }
        const std::size_t cap = capacity(n);
        if (n->count > cap) {
            fail("node holds " + std::to_string(n->count) + " entries, capacity " +
                 std::to_string(cap));
        }
        if (is_root) {
            if (n->count < (n->height == 0 ? 1u : 2u)) {
                fail("root holds " + std::to_string(n->count) + " entries");
            }
        } else if (n->count < min_count(n)) {
            fail("node at height " + std::to_string(n->height) + " holds " +
                 std::to_string(n->count) + " entries, minimum " + std::to_string(min_count(n)));
        }
        if constexpr (Pm::has_cold) {
            if constexpr (std::equality_comparable<cold_type>) {
                if (!(n->cold == fold_cold(n))) {
                    fail("stored cold summary at height " + std::to_string(n->height) +
                         " differs from the recomputed fold");
                }
            }
        }
        if (n->height == 0) {
            return total(n);
        }
        const auto* in = ops::as_internal(n);
        summary_type s = traits::zero();
        for (std::size_t i = 0; i < in->count; ++i) {
            const node_t* c = in->children[i];
            if (c == nullptr) {
                fail("null child");
            }
            if (c->height + 1 != n->height) {
                fail("child height " + std::to_string(c->height) + " under height " +
                     std::to_string(n->height) + ": leaves at different depths");
            }
            summary_type cs = verify(c, false);
            if (!(cs == in->sum(i))) {
                fail("stored summary of child " + std::to_string(i) + " at height " +
                     std::to_string(n->height) + " differs from the recomputed fold");
            }
            traits::combine(s, cs);
        }
        return s;
    }

    struct stats {
        std::size_t leaves = 0;
        std::size_t internals = 0;
        std::size_t items = 0;
        std::size_t bytes = 0;
    };

    static void collect(const node_t* n, stats& st) {
        if (n->height == 0) {
            ++st.leaves;
            st.items += n->count;
            st.bytes += sizeof(leaf_t);
            return;
        }
        ++st.internals;
        st.bytes += sizeof(internal_t);
        const auto* in = ops::as_internal(n);
        for (std::size_t i = 0; i < in->count; ++i) {
            collect(in->children[i], st);
        }
    }
};

} // namespace detail::btree
CRDT_END_NAMESPACE

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
