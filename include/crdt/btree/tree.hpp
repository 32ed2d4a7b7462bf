// crdt/btree/tree.hpp -- crdt::btree::tree, a persistent summarized B+-tree.
//
// A tree<Traits, Policy> is a sequence of items (Traits::item_type) whose
// summaries (Traits::summary_type, a monoid; see summary.hpp) are folded at
// every internal node. It is what std::vector would be if positions could be
// measured in any unit (items, characters, lines, "last key") and every copy
// were a free snapshot:
//
//   * Copying a tree is O(1): the copy shares every node. Editing either copy
//     afterwards clones only the root-to-leaf path it touches (copy-on-write);
//     the other copy never changes. Nodes that are not shared (reference count
//     1) are edited in place, so a tree that is never copied behaves like an
//     ordinary mutable B-tree ("transient" behaviour, see transient below).
//   * A cursor (cursor.hpp) seeks by any dimension folded from summaries, with
//     a bias for ties, and keeps the tree it walks alive.
//   * slice, split, append and erase of a range run in O(B log n) and share
//     every untouched subtree; bulk build is O(n).
//   * walk() classifies subtrees by their summary: skip, take whole or
//     descend ("content at version V" for the sequence CRDT).
//   * Traits may split the summary into a hot part (in parent slots, read by
//     every seek) and a cold part (once per node header, read by cold-aware
//     dimensions and classifiers); see summary.hpp.
//
// Differences from std containers: iterators are const (edit through a
// cursor or a position); size is not stored (fold a count into the summary if
// you need it); iterators do not keep the tree alive, cursors do.
//
// Complexity (n items, B the fan-out, h = log_B n): copy O(1); seek O(B h);
// insert/erase/replace at a cursor O(B h) (in place when unshared, otherwise
// O(h) new nodes); append O(B (|h1 - h2| + 1)); split/slice O(B h); build O(n);
// iteration O(1) amortized per item; verify O(n).
//
// Thread safety: const members may run concurrently. Distinct tree handles
// sharing nodes may be edited on different threads when Policy::refcount is
// atomic_refcount (the default); with local_refcount every handle, cursor and
// snapshot of a tree must stay on one thread.
//
// Exception safety: operations allocate nodes and copy items, so they may
// throw std::bad_alloc or what the item's copy throws. Snapshots are never
// affected by a throwing edit; the edited handle itself is left valid but
// with unspecified content when an item copy throws mid-edit (basic guarantee),
// and unchanged when an allocation fails before the first node write.
#pragma once

#include <crdt/btree/btree_defaults.hpp>
#include <crdt/btree/summary.hpp>
#include <crdt/core/config.hpp>
#include <crdt/detail/btree/algorithms.hpp>
#include <crdt/detail/btree/node.hpp>
#include <crdt/detail/btree/seek.hpp>

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <iterator>
#include <ranges>
#include <stdexcept>
#include <utility>

CRDT_BEGIN_NAMESPACE
namespace btree {

template <summary_traits Traits, class Policy = btree_defaults>
class tree;
template <summary_traits Traits, class Policy = btree_defaults, class D = no_dimension>
class cursor;
template <summary_traits Traits, class Policy = btree_defaults>
class transient;
} // namespace btree
template <class K, class V, class Compare, class Policy>
class btree_map;
namespace btree {

/// Node counts and bytes of a tree (nodes shared with other trees included).
struct node_statistics {
    std::size_t leaves = 0;
    std::size_t internal_nodes = 0;
    std::size_t items = 0;
    std::size_t bytes = 0;
};

template <summary_traits Traits, class Policy>
class tree {
    using pm = detail::btree::params<Traits, Policy>;
    using alg = detail::btree::node_algorithms<pm>;
    using ptr = detail::btree::node_ptr<pm>;
    using node_t = detail::btree::node<pm>;

public:
    using traits_type = Traits;
    using policy_type = Policy;
    using item_type = typename Traits::item_type;
    using summary_type = typename Traits::summary_type;
    using value_type = item_type;
    template <class D = no_dimension>
    using cursor_type = cursor<Traits, Policy, D>;

    /// Items per leaf and children per internal node.
    static constexpr std::size_t leaf_capacity = pm::leaf_capacity;
    static constexpr std::size_t internal_capacity = pm::internal_capacity;

    /// A forward iterator over the items (const). Valid while the tree (or any
    /// copy sharing its nodes) is alive and unedited.
    class const_iterator {
    public:
        using value_type = item_type;
        using difference_type = std::ptrdiff_t;
        using reference = const item_type&;
        using pointer = const item_type*;
        using iterator_category = std::forward_iterator_tag;

        const_iterator() = default;
        reference operator*() const noexcept { return *cur_; }
        pointer operator->() const noexcept { return cur_; }
        const_iterator& operator++() {
            if (++cur_ == leaf_end_) {
                st_.finish_leaf();
                load();
            }
            return *this;
        }
        const_iterator operator++(int) {
            const_iterator old = *this;
            ++*this;
            return old;
        }
        friend bool operator==(const const_iterator& a, const const_iterator& b) noexcept {
            return a.cur_ == b.cur_;
        }

    private:
        friend class tree;
        explicit const_iterator(const node_t* root) {
            st_.to_first(root);
            load();
        }
        const_iterator(const node_t* root, const std::uint16_t* path, std::size_t len) {
            st_.assign_path(root, path, len);
            load();
        }
        void load() noexcept {
            if (st_.at_end()) {
                cur_ = leaf_end_ = nullptr;
                return;
            }
            const auto* l = detail::btree::node_ops<pm>::as_leaf(st_.leaf());
            cur_ = l->items() + st_.index();
            leaf_end_ = l->items() + l->count;
            if (st_.depth() >= 2) {
                // Leaves made by random inserts are scattered in memory: fetch
                // the next four while this one is scanned.
                const auto& parent = st_.at(st_.depth() - 2);
                const auto* in = detail::btree::node_ops<pm>::as_internal(parent.n);
                for (std::size_t j = parent.i + 1u; j < in->count && j <= parent.i + 4u; ++j) {
                    detail::btree::prefetch_node(in->children[j], sizeof(*l));
                }
            }
        }
        detail::btree::cursor_state<pm, no_dimension> st_;
        const item_type* cur_ = nullptr;
        const item_type* leaf_end_ = nullptr;
    };
    using iterator = const_iterator;

    /// Effects: an empty tree. Complexity: O(1), no allocation.
    tree() noexcept : summary_(Traits::zero()) {}

    /// Effects: a tree of the given items, built bottom-up. Complexity: O(n).
    tree(std::initializer_list<item_type> items) : tree(build(items.begin(), items.end())) {}

    /// Returns: a tree holding [first, last) in order. Complexity: O(n); leaves
    /// packed to capacity.
    template <std::input_iterator It, std::sentinel_for<It> Sent>
    static tree build(It first, Sent last) {
        return tree(alg::build(std::move(first), std::move(last)));
    }
    /// Returns: a tree holding the range's items in order. Complexity: O(n).
    template <std::ranges::input_range R>
    static tree from_range(R&& r) {
        return build(std::ranges::begin(r), std::ranges::end(r));
    }

    /// Copy: O(1), shares every node (a snapshot). A moved-from tree is
    /// empty (zero summary, a new stamp).
    tree(const tree&) = default;
    tree(tree&& o) noexcept
        : root_(std::move(o.root_)), summary_(std::move(o.summary_)), stamp_(o.stamp_) {
        o.clear_moved();
    }
    tree& operator=(const tree&) = default;
    tree& operator=(tree&& o) noexcept {
        if (this != &o) {
            root_ = std::move(o.root_);
            summary_ = std::move(o.summary_);
            stamp_ = o.stamp_;
            o.clear_moved();
        }
        return *this;
    }
    ~tree() = default;

    bool empty() const noexcept { return !root_; }

    /// Returns: an id of this tree's contents: every edit (and every new
    /// tree) takes one never used before in this process; a copy shares it
    /// until either is edited. An item_path stays valid while it is
    /// unchanged. Complexity: O(1).
    std::uint64_t stamp() const noexcept { return stamp_; }

    /// A remembered item position (the index of each node on the way down):
    /// cheaper to keep than a cursor, and it holds no share of the tree.
    /// Valid for the tree it came from while stamp() is unchanged, like an
    /// iterator; item_at() and update() check its indices, so a stale path
    /// names some item or none, never memory outside the tree.
    struct item_path {
        std::uint16_t index[pm::max_depth] = {};
        std::size_t depth = 0;
    };

    /// Requires: !at.at_end(), `at` from this tree.
    /// Returns: the path of the cursor's item. Complexity: O(h).
    template <class D>
    item_path path_of(const cursor_type<D>& at) const noexcept {
        check(at);
        CRDT_ASSERT(!at.at_end());
        item_path p;
        p.depth = at.st_.path(p.index);
        return p;
    }

    /// Returns: the item at path `p`, or null if `p` names no item of this
    ///   tree (its indices run past a node, or its depth is not the
    ///   tree's). Complexity: O(h).
    const item_type* item_at(const item_path& p) const noexcept {
        const node_t* n = root_.get();
        if (n == nullptr || p.depth != std::size_t{n->height} + 1u) {
            return nullptr;
        }
        for (std::size_t d = 0; d + 1 < p.depth; ++d) {
            if (p.index[d] >= n->count) {
                return nullptr;
            }
            n = detail::btree::node_ops<pm>::as_internal(n)->children[p.index[d]];
        }
        if (p.index[p.depth - 1] >= n->count) {
            return nullptr;
        }
        return &detail::btree::node_ops<pm>::as_leaf(n)->item(p.index[p.depth - 1]);
    }

    /// Effects: as update(cursor, fn) for the item at path `p` (the shape
    ///   does not change, so `p` names the same item afterwards, under the
    ///   new stamp()).
    /// Throws: std::out_of_range if item_at(p) is null (nothing changes).
    /// Complexity: as update(cursor, fn), without the seek.
    template <class Fn>
    void update(const item_path& p, Fn fn) {
        if (item_at(p) == nullptr) {
            throw std::out_of_range("crdt::btree::tree::update: the path names no item");
        }
        update_path(p.index, fn);
    }
    /// Returns: the fold of every item's summary. Complexity: O(1).
    const summary_type& summary() const noexcept { return summary_; }
    /// Returns: the fold of every item's cold summary (Traits with a cold
    /// summary only). Complexity: O(1).
    template <class Tr = Traits>
    requires has_cold_summary<Tr>
    typename Tr::cold_summary_type cold_summary() const {
        return root_ ? root_->cold : Tr::zero_cold();
    }

    /// Returns: the number of levels (0 when empty, 1 for a single leaf).
    std::size_t height() const noexcept { return root_ ? root_->height + 1u : 0u; }

    const_iterator begin() const { return const_iterator(root_.get()); }
    const_iterator end() const noexcept { return const_iterator(); }

    /// Effects: calls fn(item) on every item in order; a fn returning bool
    /// stops the walk by returning false. Complexity: O(n), no allocation.
    template <class Fn>
    void for_each(Fn fn) const {
        if (root_) {
            detail::btree::for_each<pm>(root_.get(), fn);
        }
    }

    /// Returns: a cursor at the first item whose positions start at `origin`.
    /// The cursor shares (and keeps alive) this version of the tree.
    /// Complexity: O(h), no allocation.
    template <class D = no_dimension>
    cursor_type<D> cursor(D origin = D{}) const {
        cursor_type<D> c(root_, std::move(origin));
        c.st_.to_first(root_.get());
        return c;
    }

    /// Returns: a cursor after `seek(target, b)` (see cursor::seek).
    template <class D, class T>
    requires seek_target_for<T, D> cursor_type<D> find(const T& target, bias b, D origin = D{})
    const {
        cursor_type<D> c(root_, std::move(origin));
        c.seek(target, b);
        return c;
    }

    /// Returns: the item a seek for target with bias b lands on (null past the
    /// end) and the position before it, without building a cursor.
    /// Complexity: O(B h), no allocation.
    template <class D, class T>
    requires seek_target_for<T, D> std::pair<const item_type*, D> lookup(const T& target, bias b,
                                                                         D origin = D{})
    const {
        D pos = std::move(origin);
        const item_type* hit = nullptr;
        if (root_) {
            hit = detail::btree::lookup<pm>(root_.get(), pos, target, b);
        }
        return {hit, std::move(pos)};
    }

    // -----------------------------------------------------------------------
    // Editing. Every edit leaves other copies of the tree untouched. Edits at
    // a cursor require a cursor of this very version (obtained from *this and
    // no edit since); pass it as an rvalue (std::move, or a temporary from
    // find) so that it releases its share first and unshared nodes are
    // edited in place; an lvalue cursor stays valid on the old version and the
    // edit copies the path.
    // -----------------------------------------------------------------------

    /// Effects: inserts item before the cursor's item (at the end when the
    /// cursor is at the end). Complexity: O(B h).
    template <class D>
    void insert(const cursor_type<D>& at, item_type item) {
        insert_impl<false>(at, std::move(item));
    }
    template <class D>
    void insert(cursor_type<D>&& at, item_type item) {
        insert_impl<true>(at, std::move(item));
    }

    /// Effects: inserts all items of `other` before the cursor's item.
    /// Complexity: O(B h), sharing other's nodes.
    template <class D>
    void insert(const cursor_type<D>& at, const tree& other) {
        check(at);
        auto [l, r] = split_parts(at);
        set_root(alg::join(alg::join(std::move(l), other.root_), std::move(r)));
    }

    /// Requires: !at.at_end(). Effects: replaces the cursor's item.
    /// Complexity: O(B h); O(h) + O(B) when the summaries patch (see update).
    template <class D>
    void replace(const cursor_type<D>& at, item_type item) {
        auto assign = [&item](item_type& it) { it = std::move(item); };
        modify_item<false>(at, assign);
    }
    template <class D>
    void replace(cursor_type<D>&& at, item_type item) {
        auto assign = [&item](item_type& it) { it = std::move(item); };
        modify_item<true>(at, assign);
    }

    /// Requires: !at.at_end(), and an item follows the cursor's.
    /// Effects: replaces the cursor's item with `first` and the item after it
    /// with `second` (one descent for both; run-length items that move
    /// elements between neighbours need this). Complexity: as replace.
    /// Throws: std::out_of_range if no item follows (the tree is unchanged).
    template <class D>
    void replace_pair(cursor_type<D>&& at, item_type first, item_type second) {
        check(at);
        CRDT_ASSERT(!at.at_end() && "edit at the end cursor");
        std::uint16_t path[pm::max_depth];
        std::uint16_t next[pm::max_depth];
        const std::size_t depth = at.st_.path(path);
        at.release();
        if (!alg::next_path(root_.get(), path, depth, next)) {
            throw std::out_of_range("crdt::btree::tree::replace_pair: no item after the cursor");
        }
        stamp_ = detail::btree::new_stamp();
        root_.make_unique();
        auto set_first = [&first](item_type& it) { it = std::move(first); };
        auto set_second = [&second](item_type& it) { it = std::move(second); };
        bool patched = false;
        try {
            patched = alg::update_root_at(root_.get(), path, set_first, summary_);
            patched = alg::update_root_at(root_.get(), next, set_second, summary_) && patched;
        } catch (...) {
            summary_ = alg::refresh_root(root_); // the nodes are valid (update_at)
            throw;
        }
        if (!patched) {
            summary_ = alg::total(root_.get());
        }
    }

    /// Requires: !at.at_end().
    /// Effects: replaces the cursor's item with `first` and inserts `second`
    /// right after it (one descent for both: splitting a run-length item in
    /// two). Complexity: O(B h).
    template <class D>
    void replace_insert_after(cursor_type<D>&& at, item_type first, item_type second) {
        check(at);
        CRDT_ASSERT(!at.at_end() && "edit at the end cursor");
        std::uint16_t path[pm::max_depth];
        const std::size_t depth = at.st_.path(path);
        at.release();
        stamp_ = detail::btree::new_stamp();
        root_.make_unique();
        try {
            alg::replace_at(root_.get(), path, std::move(first));
        } catch (...) {
            summary_ = alg::refresh_root(root_);
            throw;
        }
        ++path[depth - 1]; // after it, in its leaf
        insert_at_path(path, std::move(second));
    }

    /// Requires: !at.at_end(); fn(item_type&) keeps the item valid.
    /// Effects: edits the cursor's item in place and refreshes the summaries
    /// above it. Complexity: O(B h); O(h) + O(B) when the traits patch
    /// summaries (has_patch, and has_cold_patch if they have a cold summary)
    /// and the patches succeed.
    template <class D, class Fn>
    void update(cursor_type<D>&& at, Fn fn) {
        modify_item<true>(at, fn);
    }

    /// Requires: !at.at_end(). Effects: erases the cursor's item.
    /// Complexity: O(B h).
    template <class D>
    void erase(const cursor_type<D>& at) {
        modify<false>(at,
                      [&](node_t* root, const std::uint16_t* path) { alg::erase_at(root, path); });
    }
    template <class D>
    void erase(cursor_type<D>&& at) {
        modify<true>(at,
                     [&](node_t* root, const std::uint16_t* path) { alg::erase_at(root, path); });
    }

    /// Requires: first is not after last. Effects: erases the items in
    /// [first, last). Complexity: O(B h).
    template <class D1, class D2>
    void erase(const cursor_type<D1>& first, const cursor_type<D2>& last) {
        check(first);
        check(last);
        ptr l = split_parts(first).first;
        ptr r = split_parts(last).second;
        set_root(alg::join(std::move(l), std::move(r)));
    }

    /// Effects: appends an item. Complexity: O(B h) (in place when unshared).
    void push_back(item_type item) {
        const item_type* p = &item;
        set_root(alg::join(std::move(root_), alg::build(p, p + 1)));
    }
    /// Effects: prepends an item. Complexity: O(B h).
    void push_front(item_type item) {
        const item_type* p = &item;
        set_root(alg::join(alg::build(p, p + 1), std::move(root_)));
    }

    /// Effects: *this becomes *this followed by other; other's nodes are
    /// shared. Complexity: O(B (|h - other.h| + 1)).
    void append(const tree& other) {
        ptr b = other.root_; // first: `other` may be *this (arguments are unsequenced)
        set_root(alg::join(std::move(root_), std::move(b)));
    }
    void append(tree&& other) {
        if (&other == this) {
            append(static_cast<const tree&>(other));
            return;
        }
        set_root(alg::join(std::move(root_), std::move(other.root_)));
        other.summary_ = Traits::zero();
        other.stamp_ = detail::btree::new_stamp();
    }

    /// Returns: (items before the cursor's item, items from it on), sharing
    /// subtrees. Complexity: O(B h).
    template <class D>
    std::pair<tree, tree> split(const cursor_type<D>& at) const {
        check(at);
        auto [l, r] = split_parts(at);
        return {tree(std::move(l)), tree(std::move(r))};
    }

    /// Returns: the items in [first, last) as a tree sharing whole subtrees.
    /// Complexity: O(B h).
    template <class D1, class D2>
    tree slice(const cursor_type<D1>& first, const cursor_type<D2>& last) const {
        check(first);
        check(last);
        return tree(range_parts(first.st_, last.st_));
    }

    /// The three-way walk. classify(summary) -- or classify(position, summary)
    /// -- returns visit::skip, take_whole or descend for every subtree (and
    /// for every item under a descended node), left to right:
    ///   skip        its summary is added to the position; nothing emitted;
    ///   take_whole  added to the position and emitted: consecutive taken
    ///               subtrees/items are coalesced into one
    ///               on_whole(start_position, folded_summary) call;
    ///   descend     its children are classified; an item that is "descended"
    ///               is handed to on_item(start_position, item).
    /// A subtree over which a partial dimension is unknown is descended even if
    /// classified skip or take_whole, so positions stay exact. on_whole and
    /// on_item may return bool; false stops the walk.
    /// Requires: classify is monotone: a subtree may be skipped (taken) only if
    /// all its items would be. Returns: the position reached.
    /// Complexity: O(B (a log(n/a) + 1)) for a items not decided by a subtree.
    template <class D = no_dimension, class Classify, class OnWhole, class OnItem>
    D walk(Classify classify, OnWhole on_whole, OnItem on_item, D origin = D{}) const {
        detail::btree::walker<pm, D, Classify, OnWhole, OnItem> w(std::move(origin), classify,
                                                                  on_whole, on_item);
        w.run(root_.get());
        return w.position();
    }

    /// Effects: checks every structural invariant: fan-out bounds, equal leaf
    /// depth, every stored summary equal to the recomputed fold, the cached
    /// root summary. Throws: std::logic_error naming the broken invariant.
    /// Complexity: O(n).
    /// (A member template so that explicit instantiation of a tree whose
    /// summary has no operator== does not instantiate it.)
    template <class S = summary_type>
    requires std::equality_comparable<S>
    void verify() const {
        if (!root_) {
            if (!(summary_ == Traits::zero())) {
                alg::fail("empty tree with a non-zero summary");
            }
            return;
        }
        const summary_type s = alg::verify(root_.get(), true);
        if (!(s == summary_)) {
            alg::fail("cached root summary differs from the recomputed fold");
        }
    }

    /// Returns: node counts and bytes reachable from this tree (shared nodes
    /// counted once per reachable path). Complexity: O(n / B).
    node_statistics statistics() const {
        typename alg::stats st;
        if (root_) {
            alg::collect(root_.get(), st);
        }
        return {st.leaves, st.internals, st.items, st.bytes};
    }

    /// Returns: true when both handles share the same root (the same
    /// version). Complexity: O(1).
    bool same_version(const tree& o) const noexcept { return root_ == o.root_; }

    /// Returns: a transient (batch-edit) handle; see transient.
    transient<Traits, Policy> make_transient() && {
        return transient<Traits, Policy>(std::move(*this));
    }
    transient<Traits, Policy> make_transient() const& {
        return transient<Traits, Policy>(tree(*this));
    }

private:
    template <summary_traits, class, class>
    friend class cursor;
    template <class, class, class, class>
    friend class ::crdt::btree_map;

    explicit tree(ptr root) : summary_(Traits::zero()) { set_root(std::move(root)); }

    static const_iterator make_iterator(const node_t* root, const std::uint16_t* path,
                                        std::size_t len) {
        return const_iterator(root, path, len);
    }

    void set_root(ptr r) {
        stamp_ = detail::btree::new_stamp();
        alg::normalize_root(r);
        root_ = std::move(r);
        summary_ = alg::refresh_root(root_);
    }

    template <class C>
    void check(const C& at) const {
        CRDT_ASSERT(at.root_ == root_ && "cursor from another version of the tree");
        (void)at;
    }

    template <class C>
    std::pair<ptr, ptr> split_parts(const C& at) const {
        if (!root_) {
            return {};
        }
        std::uint16_t path[pm::max_depth];
        at.st_.path(path);
        return alg::split(root_.get(), path);
    }

    template <class S1, class S2>
    ptr range_parts(const S1& a, const S2& b) const {
        if (!root_) {
            return ptr();
        }
        std::uint16_t pa[pm::max_depth];
        std::uint16_t pb[pm::max_depth];
        a.path(pa);
        b.path(pb);
        return alg::range(root_.get(), pa, pb);
    }

    template <bool Release, class C>
    void insert_impl(C& at, item_type&& item) {
        check(at);
        stamp_ = detail::btree::new_stamp();
        if (at.at_end()) {
            if constexpr (Release) {
                at.release();
            }
            push_back(std::move(item));
            return;
        }
        std::uint16_t path[pm::max_depth];
        at.st_.path(path);
        if constexpr (Release) {
            at.release();
        }
        root_.make_unique();
        insert_at_path(path, std::move(item));
    }

    /// The insert of insert_impl and replace_insert_after, at a valid path of
    /// the unique root. If an allocation throws, the root is kept (a new
    /// root is made from a second share of it) and the cached total follows
    /// the nodes. (A split that fails half way through a cascade may still
    /// lose the items it was moving: basic guarantee only for the rest.)
    void insert_at_path(const std::uint16_t* path, item_type&& item) {
        try {
            ptr extra = alg::insert_at(root_.get(), path, std::move(item));
            if (extra) {
                ptr old = root_; // if make_root throws, root_ still holds the tree
                root_ = alg::make_root(std::move(old), std::move(extra));
            }
        } catch (...) {
            summary_ = alg::refresh_root(root_);
            throw;
        }
        summary_ = alg::refresh_root(root_);
    }

    template <bool Release, class C, class Op>
    void modify(C& at, Op op) {
        check(at);
        stamp_ = detail::btree::new_stamp();
        CRDT_ASSERT(!at.at_end() && "edit at the end cursor");
        std::uint16_t path[pm::max_depth];
        at.st_.path(path);
        if constexpr (Release) {
            at.release();
        }
        root_.make_unique();
        try {
            op(root_.get(), path);
        } catch (...) {
            // The nodes are valid (see update); the cached total follows them.
            summary_ = alg::refresh_root(root_);
            throw;
        }
        alg::normalize_root(root_);
        summary_ = alg::refresh_root(root_);
    }

    /// modify() for an edit of one item in place (replace, update): the
    /// cached total is patched with the path when the traits can patch, not
    /// refolded from the root's entries; the shape does not change.
    template <bool Release, class C, class Fn>
    void modify_item(C& at, Fn& fn) {
        check(at);
        CRDT_ASSERT(!at.at_end() && "edit at the end cursor");
        std::uint16_t path[pm::max_depth];
        at.st_.path(path);
        if constexpr (Release) {
            at.release();
        }
        update_path(path, fn);
    }

    /// The item edit of modify_item and update(item_path), at a valid path.
    template <class Fn>
    void update_path(const std::uint16_t* path, Fn& fn) {
        stamp_ = detail::btree::new_stamp();
        root_.make_unique();
        bool patched = false;
        try {
            patched = alg::update_root_at(root_.get(), path, fn, summary_);
        } catch (...) {
            summary_ = alg::refresh_root(root_); // the nodes are valid (update_at)
            throw;
        }
        if (!patched) {
            summary_ = alg::total(root_.get());
        }
    }

    /// Effects: makes a moved-from tree the empty tree.
    void clear_moved() noexcept {
        root_.reset();
        summary_ = Traits::zero();
        stamp_ = detail::btree::new_stamp();
    }

    ptr root_;
    summary_type summary_;
    std::uint64_t stamp_ = detail::btree::new_stamp();
};

/// A batch-edit handle: a move-only tree. Nothing can take a share of its
/// nodes by accident (no copies, and the cursors its find() returns are
/// consumed by the edits), so once an edit has made a path unique, every
/// later edit along it happens in place (the share test is one load per
/// node). Nodes still shared with snapshots taken before make_transient() are
/// copied on first write, so those snapshots never change.
///
///   auto t = std::move(tree).make_transient();
///   for (auto& x : items) t.push_back(x);
///   tree = std::move(t).persistent();
///
/// Complexity: as tree. Thread safety: one thread at a time.
template <summary_traits Traits, class Policy>
class transient {
public:
    using tree_type = tree<Traits, Policy>;
    using item_type = typename Traits::item_type;
    template <class D = no_dimension>
    using cursor_type = cursor<Traits, Policy, D>;

    explicit transient(tree_type t) noexcept : t_(std::move(t)) {}
    transient(transient&&) noexcept = default;
    transient& operator=(transient&&) noexcept = default;
    transient(const transient&) = delete;
    transient& operator=(const transient&) = delete;

    /// Effects: appends an item, in place when the right spine is unshared.
    void push_back(item_type item) { t_.push_back(std::move(item)); }
    void append(const tree_type& other) { t_.append(other); }
    /// Edits at a cursor; the cursor must come from this transient's find().
    template <class D>
    void insert(cursor_type<D>&& at, item_type item) {
        t_.insert(std::move(at), std::move(item));
    }
    template <class D>
    void replace(cursor_type<D>&& at, item_type item) {
        t_.replace(std::move(at), std::move(item));
    }
    template <class D>
    void erase(cursor_type<D>&& at) {
        t_.erase(std::move(at));
    }
    template <class D, class T>
    requires seek_target_for<T, D> cursor_type<D> find(const T& target, bias b, D origin = D{})
    const { return t_.template find<D>(target, b, std::move(origin)); }
    const typename Traits::summary_type& summary() const noexcept { return t_.summary(); }
    bool empty() const noexcept { return t_.empty(); }

    /// Returns: the edited tree (O(1)); *this becomes empty.
    tree_type persistent() && { return std::move(t_); }

private:
    tree_type t_;
};

} // namespace btree
CRDT_END_NAMESPACE

#include <crdt/btree/cursor.hpp>
