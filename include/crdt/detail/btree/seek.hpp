// crdt/detail/btree/seek.hpp -- the traversal engine of the summarized B-tree:
// the cursor's stack, seeks by any (total or partial) dimension, next/prev,
// one-shot lookups and the three-way classifier walk.
//
// Stack layout: frames[0] is the root; frames[k].n is the node at depth k,
// frames[k].i the entry the cursor is in, and frames[k].pos the position
// (dimension D) *before* entry i of that node. A cursor is either at an item
// (depth == height + 1, leaf frame i < count) or at the end (depth == 1, root
// frame i == count, pos == position after everything), or on an empty tree
// (depth == 0).
//
// Complexity: seek O(B h) summary additions and O(h) node visits; next/prev
// amortized O(1) node visits (prev recomputes one leaf prefix, O(B)).
// Partial dimensions add, for every subtree whose position is unknown on the
// way, a descent into it. Thread safety: a cursor state is a plain value.
#pragma once

#include <crdt/btree/summary.hpp>
#include <crdt/core/config.hpp>
#include <crdt/detail/btree/algorithms.hpp>
#include <crdt/detail/btree/node.hpp>

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <type_traits>
#include <utility>

CRDT_BEGIN_NAMESPACE
namespace detail::btree {

namespace bt = ::crdt::btree;

/// True when D reads the cold summary (and Traits has one).
template <class Pm, class D>
inline constexpr bool
    uses_cold = Pm::has_cold &&
                (bt::cold_dimension<D, typename Pm::summary_type, typename Pm::cold_type> ||
                 bt::partial_cold_dimension<D, typename Pm::summary_type, typename Pm::cold_type>);

/// The cold summary of one item (an empty placeholder without one).
template <class Pm>
typename Pm::cold_type item_cold(const typename Pm::item_type& item) {
    if constexpr (Pm::has_cold) {
        return Pm::traits::summarize_cold(item);
    } else {
        (void)item;
        return {};
    }
}

/// Adds an item to d. Returns: false when a partial dimension is unknown.
template <class Pm, class D>
bool add_item(D& d, const typename Pm::summary_type& s, const typename Pm::item_type& item) {
    if constexpr (uses_cold<Pm, D>) {
        return bt::try_add(d, s, item_cold<Pm>(item));
    } else {
        (void)item;
        return bt::try_add(d, s);
    }
}

/// Adds subtree `child` (summary s from its parent slot) to d, reading its cold
/// summary only when D needs it. Returns: false when unknown.
template <class Pm, class D>
bool add_child(D& d, const typename Pm::summary_type& s, const node<Pm>* child) {
    if constexpr (uses_cold<Pm, D>) {
        return bt::try_add(d, s, child->cold);
    } else {
        (void)child;
        return bt::try_add(d, s);
    }
}

/// Effects: adds subtree n (with summary s) to pos, descending where a partial
/// dimension is unknown.
template <class Pm, class D>
void add_subtree(D& pos, const node<Pm>* n, const typename Pm::summary_type& s);

template <class Pm, class D>
void add_entries(D& pos, const node<Pm>* n, std::size_t from, std::size_t to) {
    using traits = typename Pm::traits;
    if constexpr (std::is_same_v<D, bt::no_dimension>) {
        return;
    } else if (n->height == 0) {
        const auto* l = node_ops<Pm>::as_leaf(n);
        for (std::size_t i = from; i < to; ++i) {
            [[maybe_unused]] const bool ok =
                add_item<Pm>(pos, traits::summarize(l->item(i)), l->item(i));
            CRDT_ASSERT(ok && "a partial dimension must be known over a single item");
        }
    } else {
        const auto* in = node_ops<Pm>::as_internal(n);
        for (std::size_t i = from; i < to; ++i) {
            add_subtree<Pm>(pos, in->children[i], in->sum(i));
        }
    }
}

template <class Pm, class D>
void add_subtree(D& pos, const node<Pm>* n, const typename Pm::summary_type& s) {
    if (!add_child<Pm>(pos, s, n)) {
        add_entries<Pm>(pos, n, 0, n->count);
    }
}

template <class Pm, class D>
class cursor_state {
public:
    using traits = typename Pm::traits;
    using item_type = typename Pm::item_type;
    using summary_type = typename Pm::summary_type;
    using node_t = node<Pm>;
    using ops = node_ops<Pm>;
    using alg = node_algorithms<Pm>;

    struct frame {
        const node_t* n;
        std::uint16_t i;
        D pos;
    };

    cursor_state() = default;
    explicit cursor_state(D origin) : origin_(std::move(origin)) {}
    /// Copies cost O(depth), not O(max_depth): only the frames in use.
    cursor_state(const cursor_state& o) : origin_(o.origin_), depth_(o.depth_) {
        for (std::size_t k = 0; k < depth_; ++k) {
            frames_[k] = o.frames_[k];
        }
    }
    cursor_state& operator=(const cursor_state& o) {
        if (this != &o) {
            origin_ = o.origin_;
            depth_ = o.depth_;
            for (std::size_t k = 0; k < depth_; ++k) {
                frames_[k] = o.frames_[k];
            }
        }
        return *this;
    }
    ~cursor_state() = default;

    const D& origin() const noexcept { return origin_; }
    std::size_t depth() const noexcept { return depth_; }
    const frame& at(std::size_t k) const noexcept { return frames_[k]; }

    bool at_end() const noexcept {
        return depth_ == 0 || (depth_ == 1 && frames_[0].i == frames_[0].n->count);
    }
    /// At the first item: every frame at its node's first entry (or empty).
    bool at_begin() const noexcept {
        for (std::size_t k = 0; k < depth_; ++k) {
            if (frames_[k].i != 0) {
                return false;
            }
        }
        return true;
    }
    const node_t* leaf() const noexcept { return frames_[depth_ - 1].n; }
    std::size_t index() const noexcept { return frames_[depth_ - 1].i; }
    const item_type& item() const noexcept {
        const frame& f = frames_[depth_ - 1];
        return ops::as_leaf(f.n)->item(f.i);
    }
    /// Position before the current item (after everything at the end).
    const D& start() const noexcept { return depth_ == 0 ? origin_ : frames_[depth_ - 1].pos; }

    /// Copies the index path (root first) into out; returns its length.
    std::size_t path(std::uint16_t* out) const noexcept {
        for (std::size_t k = 0; k < depth_; ++k) {
            out[k] = frames_[k].i;
        }
        return depth_;
    }

    /// Effects: positions at the root, before everything, without descending.
    void reset(const node_t* root) {
        depth_ = 0;
        if (root != nullptr) {
            frames_[0] = frame{root, 0, origin_};
            depth_ = 1;
        }
    }

    /// Effects: positions at the first item.
    void to_first(const node_t* root) {
        reset(root);
        if (depth_ != 0) {
            descend_leftmost();
        }
    }

    /// Effects: positions at the end.
    void to_end(const node_t* root) {
        reset(root);
        if (depth_ != 0) {
            D pos = origin_;
            add_entries<Pm>(pos, root, 0, root->count);
            frames_[0].i = root->count;
            frames_[0].pos = std::move(pos);
        }
    }

    /// Effects: from the current position, moves forward to the first item not
    /// skipped by target t with bias b (or to the end); calls agg(s) for every
    /// item or subtree skipped, with its summary.
    template <class T, class Agg>
    void seek_forward(const T& t, bt::bias b, Agg&& agg) {
        if (depth_ == 0) {
            return;
        }
        const bool right = b == bt::bias::right;
        // Each node's entries are scanned with the position in a local (kept
        // in registers): writing it to the frame per entry and reading it
        // back whole stalls store forwarding.
        while (true) {
            frame& f = frames_[depth_ - 1];
            const node_t* n = f.n;
            const std::size_t count = n->count;
            std::size_t i = f.i;
            if (i < count) {
                D pos = f.pos;
                if (n->height == 0) {
                    const auto* l = ops::as_leaf(n);
                    for (; i < count; ++i) {
                        const summary_type s = traits::summarize(l->item(i));
                        D e = pos;
                        [[maybe_unused]] const bool ok = add_item<Pm>(e, s, l->item(i));
                        CRDT_ASSERT(ok && "a partial dimension must be known over a single item");
                        const auto c = bt::compare_target(t, e);
                        if (!(c > 0 || (c == 0 && right))) {
                            break;
                        }
                        agg(s);
                        pos = std::move(e);
                    }
                    f.i = static_cast<std::uint16_t>(i);
                    f.pos = std::move(pos);
                    if (i < count) {
                        return; // at the item
                    }
                } else {
                    const auto* in = ops::as_internal(n);
                    for (; i < count; ++i) {
                        const summary_type& s = in->sum(i);
                        D e = pos;
                        if (!add_child<Pm>(e, s, in->children[i])) {
                            break; // unknown over this child: descend
                        }
                        const auto c = bt::compare_target(t, e);
                        if (!(c > 0 || (c == 0 && right))) {
                            break;
                        }
                        agg(s);
                        pos = std::move(e);
                    }
                    f.i = static_cast<std::uint16_t>(i);
                    if (i < count) {
                        f.pos = pos;
                        frames_[depth_] = frame{in->children[i], 0, std::move(pos)};
                        ++depth_;
                        continue;
                    }
                    f.pos = std::move(pos);
                }
            }
            // Past the node's last entry: continue in the parent.
            if (depth_ == 1) {
                return;
            }
            D end = std::move(frames_[depth_ - 1].pos);
            --depth_;
            frame& p = frames_[depth_ - 1];
            p.pos = std::move(end);
            ++p.i;
        }
    }

    /// Requires: !at_end(). Effects: moves to the next item or the end.
    void next() {
        frame& f = frames_[depth_ - 1];
        if constexpr (!std::is_same_v<D, bt::no_dimension>) {
            const auto& item = ops::as_leaf(f.n)->item(f.i);
            [[maybe_unused]] const bool ok = add_item<Pm>(f.pos, traits::summarize(item), item);
            CRDT_ASSERT(ok && "a partial dimension must be known over a single item");
        }
        if (++f.i < f.n->count) {
            return;
        }
        next_leaf();
    }

    /// Effects: positions at the entry named by a full root-to-leaf index
    /// path (a leaf index may equal the leaf's count: then the cursor moves to
    /// the next leaf). Positions are left at the origin: for D ==
    /// no_dimension only.
    void assign_path(const node_t* root, const std::uint16_t* path, std::size_t len) {
        reset(root);
        if (depth_ == 0) {
            return;
        }
        frames_[0].i = path[0];
        for (std::size_t k = 1; k < len; ++k) {
            frames_[k] = frame{ops::as_internal(frames_[k - 1].n)->children[frames_[k - 1].i],
                               path[k], origin_};
        }
        depth_ = len;
        if (frames_[depth_ - 1].i == frames_[depth_ - 1].n->count) {
            next_leaf();
        }
    }

    /// Effects: for iteration without positions (D == no_dimension): leaves
    /// the current leaf and moves to the next one, or to the end.
    void finish_leaf() {
        frames_[depth_ - 1].i = frames_[depth_ - 1].n->count;
        next_leaf();
    }

    /// Effects: from a leaf frame with i == count, moves to the first item of
    /// the next leaf, or to the end.
    void next_leaf() {
        while (depth_ > 1 && frames_[depth_ - 1].i == frames_[depth_ - 1].n->count) {
            D end = std::move(frames_[depth_ - 1].pos);
            --depth_;
            frame& p = frames_[depth_ - 1];
            p.pos = std::move(end);
            ++p.i;
        }
        if (frames_[depth_ - 1].i < frames_[depth_ - 1].n->count) {
            descend_leftmost();
        }
    }

    /// Requires: not at the first item, tree not empty. Effects: moves to the
    /// previous item.
    void prev() {
        CRDT_ASSERT(depth_ != 0);
        if (at_end()) {
            set_entry(0, frames_[0].n->count - 1u);
            descend_rightmost();
            return;
        }
        std::size_t k = depth_;
        while (k > 0 && frames_[k - 1].i == 0) {
            --k;
        }
        CRDT_ASSERT(k > 0 && "prev() at the first item");
        depth_ = k;
        set_entry(k - 1, frames_[k - 1].i - 1u);
        descend_rightmost();
    }

private:
    /// Sets frame k to entry i, recomputing its position from its parent's.
    void set_entry(std::size_t k, std::size_t i) {
        frame& f = frames_[k];
        D pos = k == 0 ? origin_ : frames_[k - 1].pos;
        add_entries<Pm>(pos, f.n, 0, i);
        f.i = static_cast<std::uint16_t>(i);
        f.pos = std::move(pos);
    }

    void descend_leftmost() {
        while (true) {
            const frame& f = frames_[depth_ - 1];
            if (f.n->height == 0) {
                return;
            }
            frames_[depth_] = frame{ops::as_internal(f.n)->children[f.i], 0, f.pos};
            ++depth_;
        }
    }

    void descend_rightmost() {
        while (true) {
            const frame& f = frames_[depth_ - 1];
            if (f.n->height == 0) {
                return;
            }
            const node_t* c = ops::as_internal(f.n)->children[f.i];
            frames_[depth_] = frame{c, 0, f.pos};
            ++depth_;
            set_entry(depth_ - 1, c->count - 1u);
        }
    }

    /// The frame stack: max_depth frames of which [0, depth_) are in use.
    /// When frames are trivial the storage is left uninitialized, so a cursor
    /// is not cleared frame by frame when made (max_depth is 51 for a tree
    /// with small internal nodes; a seek uses a handful).
    static constexpr bool trivial_frames =
        std::is_trivially_copyable_v<frame> && std::is_trivially_destructible_v<frame>;
    struct raw_stack {
        union {
            frame f[Pm::max_depth];
        };
        raw_stack() noexcept {}
        raw_stack(const raw_stack&) = delete;
        raw_stack& operator=(const raw_stack&) = delete;
        ~raw_stack() = default;
        frame& operator[](std::size_t k) noexcept { return f[k]; }
        const frame& operator[](std::size_t k) const noexcept { return f[k]; }
    };
    struct plain_stack {
        frame f[Pm::max_depth];
        frame& operator[](std::size_t k) noexcept { return f[k]; }
        const frame& operator[](std::size_t k) const noexcept { return f[k]; }
    };

    D origin_{};
    std::size_t depth_ = 0;
    std::conditional_t<trivial_frames, raw_stack, plain_stack> frames_;
};

/// One-shot lookup: the item a seek for t with bias b stops at.
/// Returns: the item, with pos set to the position before it; or null (pos is
/// then the position after subtree n).
template <class Pm, class D, class T>
const typename Pm::item_type* lookup(const node<Pm>* n, D& pos, const T& t, bt::bias b) {
    using traits = typename Pm::traits;
    using ops = node_ops<Pm>;
    const bool right = b == bt::bias::right;
    // The position is scanned in a local (see cursor_state::seek_forward).
    D p = pos;
    if (n->height == 0) {
        const auto* l = ops::as_leaf(n);
        for (std::size_t i = 0; i < l->count; ++i) {
            D e = p;
            [[maybe_unused]] const bool ok =
                add_item<Pm>(e, traits::summarize(l->item(i)), l->item(i));
            CRDT_ASSERT(ok && "a partial dimension must be known over a single item");
            const auto c = bt::compare_target(t, e);
            if (c > 0 || (c == 0 && right)) {
                p = std::move(e);
                continue;
            }
            pos = std::move(p);
            return &l->item(i);
        }
        pos = std::move(p);
        return nullptr;
    }
    const auto* in = ops::as_internal(n);
    for (std::size_t i = 0; i < in->count; ++i) {
        D e = p;
        if (add_child<Pm>(e, in->sum(i), in->children[i])) {
            const auto c = bt::compare_target(t, e);
            if (c > 0 || (c == 0 && right)) {
                p = std::move(e);
                continue;
            }
        }
        pos = p;
        if (const auto* hit = lookup<Pm>(in->children[i], pos, t, b)) {
            return hit;
        }
        p = pos;
    }
    pos = std::move(p);
    return nullptr;
}

/// Calls fn(item) for every item of subtree n, in order; stops early (and
/// returns false) when fn returns false.
template <class Pm, class Fn>
bool for_each(const node<Pm>* n, Fn& fn) {
    using ops = node_ops<Pm>;
    if (n->height == 0) {
        const auto* it = ops::as_leaf(n)->items();
        for (std::size_t i = 0, c = n->count; i < c; ++i) {
            if constexpr (std::is_same_v<decltype(fn(it[i])), bool>) {
                if (!fn(it[i])) {
                    return false;
                }
            } else {
                fn(it[i]);
            }
        }
        return true;
    }
    const auto* in = ops::as_internal(n);
    for (std::size_t i = 0; i < in->count; ++i) {
        if (n->height == 1) { // leaves may be scattered: fetch four ahead
            for (std::size_t j = i == 0 ? 1 : i + 4; j <= i + 4 && j < in->count; ++j) {
                prefetch_node(in->children[j], sizeof(leaf_node<Pm>));
            }
        }
        if (!for_each<Pm>(in->children[i], fn)) {
            return false;
        }
    }
    return true;
}

/// Calls f(args...) and returns its result as "continue?" (void means true).
template <class F, class... Args>
bool call_continue(F& f, Args&&... args) {
    if constexpr (std::is_void_v<std::invoke_result_t<F&, Args...>>) {
        f(std::forward<Args>(args)...);
        return true;
    } else {
        return static_cast<bool>(f(std::forward<Args>(args)...));
    }
}

/// The three-way classifier walk (see tree::walk).
template <class Pm, class D, class Classify, class OnWhole, class OnItem>
class walker {
public:
    using traits = typename Pm::traits;
    using summary_type = typename Pm::summary_type;
    using node_t = node<Pm>;
    using ops = node_ops<Pm>;

    walker(D origin, Classify& classify, OnWhole& on_whole, OnItem& on_item)
        : pos_(std::move(origin)), run_start_(pos_), run_sum_(traits::zero()), classify_(classify),
          on_whole_(on_whole), on_item_(on_item) {}

    /// Returns: false when a callback asked to stop.
    bool run(const node_t* root) {
        if (root != nullptr) {
            visit_node(root);
        }
        flush();
        return !stopped_;
    }
    const D& position() const noexcept { return pos_; }

private:
    using cold_type = typename Pm::cold_type;

    /// Calls the classifier with what it accepts: (position, hot, cold),
    /// (hot, cold), (position, hot) or (hot).
    template <class ColdFn>
    bt::visit classify(const summary_type& s, ColdFn&& cold) {
        const D& pos = pos_;
        if constexpr (Pm::has_cold) {
            // Nested so that a classifier is never probed with the no-cold
            // placeholder type.
            if constexpr (std::is_invocable_v<Classify&, const D&, const summary_type&,
                                              const cold_type&>) {
                return classify_(pos, s, static_cast<const cold_type&>(cold()));
            } else if constexpr (std::is_invocable_v<Classify&, const summary_type&,
                                                     const cold_type&>) {
                return classify_(s, static_cast<const cold_type&>(cold()));
            } else {
                return classify_hot(pos, s);
            }
        } else {
            return classify_hot(pos, s);
        }
    }

    bt::visit classify_hot(const D& pos, const summary_type& s) {
        if constexpr (std::is_invocable_v<Classify&, const D&, const summary_type&>) {
            return classify_(pos, s);
        } else {
            return classify_(s);
        }
    }

    void flush() {
        if (has_run_) {
            has_run_ = false;
            if (!stopped_ && !call_continue(on_whole_, static_cast<const D&>(run_start_),
                                            static_cast<const summary_type&>(run_sum_))) {
                stopped_ = true;
            }
        }
    }

    void take(const summary_type& s) {
        if (!has_run_) {
            run_start_ = pos_;
            run_sum_ = s;
            has_run_ = true;
        } else {
            traits::combine(run_sum_, s);
        }
    }

    /// Handles one entry whose summary is s; returns true when decided without
    /// descending (skip or take).
    template <class ColdFn, class Add>
    bool decide(const summary_type& s, ColdFn&& cold, Add&& add) {
        const bt::visit v = classify(s, cold);
        if (v == bt::visit::descend) {
            return false;
        }
        D e = pos_;
        if (!add(e)) {
            return false; // position unknown over this subtree: look inside
        }
        if (v == bt::visit::take_whole) {
            take(s);
        } else {
            flush();
        }
        pos_ = std::move(e);
        return true;
    }

    void visit_node(const node_t* n) {
        if (n->height == 0) {
            const auto* l = ops::as_leaf(n);
            for (std::size_t i = 0; i < l->count && !stopped_; ++i) {
                const summary_type s = traits::summarize(l->item(i));
                const auto& item = l->item(i);
                if (decide(
                        s, [&] { return item_cold<Pm>(item); },
                        [&](D& e) { return add_item<Pm>(e, s, item); })) {
                    continue;
                }
                flush();
                if (stopped_) {
                    return;
                }
                if (!call_continue(on_item_, static_cast<const D&>(pos_), l->item(i))) {
                    stopped_ = true;
                }
                [[maybe_unused]] const bool ok = add_item<Pm>(pos_, s, item);
                CRDT_ASSERT(ok && "a partial dimension must be known over a single item");
            }
            return;
        }
        const auto* in = ops::as_internal(n);
        for (std::size_t i = 0; i < in->count && !stopped_; ++i) {
            const node_t* child = in->children[i];
            if (!decide(
                    in->sum(i), [&]() -> const cold_type& { return child->cold; },
                    [&](D& e) { return add_child<Pm>(e, in->sum(i), child); })) {
                visit_node(in->children[i]);
            }
        }
    }

    D pos_;
    D run_start_;
    summary_type run_sum_;
    bool has_run_ = false;
    bool stopped_ = false;
    Classify& classify_;
    OnWhole& on_whole_;
    OnItem& on_item_;
};

} // namespace detail::btree
CRDT_END_NAMESPACE
