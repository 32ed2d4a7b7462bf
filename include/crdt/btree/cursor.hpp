// crdt/btree/cursor.hpp -- crdt::btree::cursor, a position in a summarized
// B-tree tracked in a dimension D (or several: dims<D1, D2, ...>).
//
// A cursor holds a share of the tree version it was made from, so it stays
// valid (and keeps that version alive) however the tree handle is edited or
// destroyed afterwards; edits made through the handle are not visible to it.
// It is either at an item or at the end.
//
//   using offset = crdt::btree::sum_of<&run_summary::chars>;
//   using lines = crdt::btree::sum_of<&run_summary::lines>;
//   auto c = t.cursor(crdt::btree::dims<offset, lines>{});
//   c.seek(std::uint64_t{120}, crdt::btree::bias::right);   // by the first dimension
//   auto line = c.start().get<1>().value;                   // position in the second
//   auto middle = c.slice(std::uint64_t{200}, crdt::btree::bias::left);
//
// Positions: start() is the fold of D over every item before the current one
// (from the origin given at construction); end() adds the current item.
//
// Complexity: seek O(B h) summary additions; seek_forward from the current
// position (amortized sweeps); next O(1) amortized, prev O(B) amortized;
// slice/suffix O(B h). Copying a cursor copies its stack (O(h)) and takes one
// more share of the root. Thread safety: a cursor is a value; distinct
// cursors may be used on distinct threads (atomic_refcount).
// Exception safety: navigation does not allocate and throws only what D's
// add throws; slice/suffix allocate (strong guarantee).
#pragma once

#include <crdt/btree/summary.hpp>
#include <crdt/btree/tree.hpp>
#include <crdt/core/config.hpp>
#include <crdt/detail/btree/seek.hpp>

#include <cstdint>
#include <utility>

CRDT_BEGIN_NAMESPACE
namespace btree {

template <summary_traits Traits, class Policy, class D>
class cursor {
    using pm = detail::btree::params<Traits, Policy>;
    using alg = detail::btree::node_algorithms<pm>;
    using ptr = detail::btree::node_ptr<pm>;
    using state = detail::btree::cursor_state<pm, D>;
    static_assert(dimension<D, typename Traits::summary_type> ||
                      partial_dimension<D, typename Traits::summary_type> ||
                      detail::btree::uses_cold<pm, D>,
                  "crdt::btree::cursor: D must be a dimension of the summary: give it "
                  "`void add(const summary_type&)` or `bool try_add(const summary_type&)` "
                  "(or, with a cold summary, the (hot, cold) forms; see "
                  "crdt/btree/summary.hpp)");
    static_assert(std::default_initializable<D>,
                  "crdt::btree::cursor: D must be default-constructible (its value is the "
                  "cursor's stack slot); pass the real origin to tree::cursor(origin)");

public:
    using tree_type = tree<Traits, Policy>;
    using item_type = typename Traits::item_type;
    using summary_type = typename Traits::summary_type;
    using dimension_type = D;

    /// Effects: a cursor over no tree (at the end of an empty tree).
    cursor() = default;

    /// Returns: true when past the last item (always for an empty tree).
    bool at_end() const noexcept { return st_.at_end(); }
    /// Returns: true at the first item (always for an empty tree): prev()
    /// is allowed iff !at_begin().
    bool at_begin() const noexcept { return st_.at_begin(); }

    /// Requires: !at_end(). Returns: the current item; valid while the cursor
    /// lives.
    const item_type& item() const noexcept {
        CRDT_ASSERT(!at_end());
        return st_.item();
    }
    /// Returns: the current item, or null at the end.
    const item_type* item_ptr() const noexcept { return at_end() ? nullptr : &st_.item(); }
    /// Requires: !at_end(). Returns: Traits::summarize(item()).
    summary_type item_summary() const { return Traits::summarize(item()); }

    /// Returns: the position before the current item (the total at the end).
    const D& start() const noexcept { return st_.start(); }
    /// Returns: the position after the current item (start() at the end).
    D end() const {
        D e = st_.start();
        if (!at_end()) {
            [[maybe_unused]] const bool ok =
                detail::btree::add_item<pm>(e, item_summary(), st_.item());
            CRDT_ASSERT(ok);
        }
        return e;
    }

    /// Effects: moves to the first item not skipped by `target` from the start
    /// of the tree: an item (or subtree) is skipped while target > its end
    /// position, or == with bias::right (summary.hpp explains bias).
    /// Returns: !at_end(). Complexity: O(B h).
    template <class T>
    requires seek_target_for<T, D>
    bool seek(const T& target, bias b) {
        st_.reset(root_.get());
        st_.seek_forward(target, b, [](const summary_type&) {});
        return !at_end();
    }

    /// Requires: target is not before start(). Effects: as seek, continuing
    /// from the current item. Returns: !at_end(). Complexity: O(B log d) for a
    /// distance of d items in the common case.
    template <class T>
    requires seek_target_for<T, D>
    bool seek_forward(const T& target, bias b) {
        st_.seek_forward(target, b, [](const summary_type&) {});
        return !at_end();
    }

    /// Requires: !at_end(). Effects: moves to the next item (or the end).
    void next() {
        CRDT_ASSERT(!at_end());
        st_.next();
    }
    /// Requires: not at the first item. Effects: moves to the previous item
    /// (from the end: to the last item).
    void prev() { st_.prev(); }
    /// Effects: moves to the first item.
    void reset() { st_.to_first(root_.get()); }

    /// Returns: the items from the current one up to where seek_forward(target,
    /// b) lands (excluded), as a tree sharing every whole subtree; the cursor
    /// is moved there. Complexity: O(B h).
    template <class T>
    requires seek_target_for<T, D> tree_type slice(const T& target, bias b) {
        state from = st_;
        st_.seek_forward(target, b, [](const summary_type&) {});
        return range(from, st_);
    }

    /// Returns: the items from the current one to the end; the cursor moves to
    /// the end. Complexity: O(B h).
    tree_type suffix() {
        state from = st_;
        st_.to_end(root_.get());
        return range(from, st_);
    }

    /// Returns: dimension Out folded (from out_origin) over the items from the
    /// current one up to where seek_forward(target, b) lands (excluded); the
    /// cursor is moved there. Complexity: O(B h).
    template <class Out, class T>
    requires seek_target_for<T, D> &&
        (dimension<Out, summary_type> || partial_dimension<Out, summary_type>)Out
        summary(const T& target, bias b, Out out_origin = Out{}) {
        Out out = std::move(out_origin);
        st_.seek_forward(target, b, [&](const summary_type& s) {
            [[maybe_unused]] const bool ok = try_add(out, s);
            CRDT_ASSERT(ok && "summary<Out>() needs Out known over every skipped subtree");
        });
        return out;
    }

    /// Returns: the version of the tree this cursor walks (O(1), shared).
    tree_type snapshot() const { return tree_type(root_); }

    /// Effects: drops the cursor's share of the tree; it becomes an end
    ///   cursor of an empty tree. A cursor keeps its version alive, so an
    ///   edit of the tree while a cursor of it exists copies the path it
    ///   changes (O(B h) allocations); release cursors (or let them go out
    ///   of scope) before editing through other means.
    void release() noexcept {
        root_.reset();
        st_.reset(nullptr);
    }

private:
    friend tree_type;

    cursor(ptr root, D origin) : root_(std::move(root)), st_(std::move(origin)) {
        st_.reset(root_.get());
    }

    tree_type range(const state& a, const state& b) const {
        if (!root_) {
            return tree_type();
        }
        std::uint16_t pa[pm::max_depth];
        std::uint16_t pb[pm::max_depth];
        a.path(pa);
        b.path(pb);
        return tree_type(alg::range(root_.get(), pa, pb));
    }

    ptr root_;
    state st_;
};

} // namespace btree
CRDT_END_NAMESPACE
