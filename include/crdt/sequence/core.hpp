// crdt/sequence/core.hpp -- the engine of crdt::sequence and crdt::text: runs
// of one insertion stored as items of a summarized B-tree, ordered by the
// FugueMax (yjsmod) integrate rule.
//
// Every op (one inserted or one deleted element) gets a local version (LV),
// its index in the op store's arrival order; ids (agent, seq) map to LVs and
// back through run-length tables. A run is consecutive elements of one
// insertion: LVs [lv, lv + len), the first with origin-left `origin_left`,
// the others with the previous element as origin-left, all with the same
// origin-right. Runs carry a dense 64-bit order key (Zed's Locator, fixed
// width): the tree is sorted by key, and the insertion index (a btree_map
// from a run's first LV to its key) turns an LV into a tree position with two
// O(log n) seeks. When two neighbouring keys leave no room, the smallest
// window of runs around them with room enough is relabelled (rare).
// Typing extends a run; deleted pieces re-join their deleted neighbours.
//
// The op store (struct store, shared by every branch of one document
// through a shared_ptr) holds, append-only by LV: the elements, once each, in
// an arena (delete LVs hold a placeholder; code points take one byte each
// while they fit, see element_arena<char32_t>), so runs own no memory; an
// insert/delete bit per LV; the id tables; and the deletes both ways: per
// insert LV its first
// delete in a run-length table (first_delete_table: spans of elements whose
// first deletes step by +1 or -1, a few per backspaced or deleted stretch),
// plus a multimap of concurrent further ones, and per delete LV its
// target in a run-length table (spans of ascending or descending targets),
// from which for_each_op rebuilds the ops of an LV range with their origins
// and targets (deltas). A branch (the rest of the engine) is its run tree,
// its index, the set of LVs applied on it and, per agent, the next seq it
// has applied; branch() copies it in O(1) (persistent trees).
//
// Complexity (n runs): local insert/erase at a position O(log n) plus one
// seek per run touched; remote ops O(log n) plus O(g log n) for g runs
// between the op's origins (concurrent inserts only); content O(n + chars).
// Thread safety: none (like a std::vector); branches share the op store.
// Exception safety: basic for edits (an exception from allocation may leave
// the engine needing reload); queries are strong.
#pragma once

#include <crdt/btree/btree_map.hpp>
#include <crdt/btree/cursor.hpp>
#include <crdt/btree/summary.hpp>
#include <crdt/btree/tree.hpp>
#include <crdt/core/config.hpp>
#include <crdt/core/error.hpp>

#include <algorithm>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

CRDT_BEGIN_NAMESPACE
namespace detail::seq {

/// A local version: the index of an op in this replica's arrival order.
using lv_t = std::uint32_t;
/// "No element": the document start as an origin-left, its end as an
/// origin-right.
inline constexpr lv_t no_lv = std::numeric_limits<lv_t>::max();

/// Text metrics of a span of elements; for non-text elements only `units`
/// (the element count) is meaningful.
struct metrics {
    std::uint32_t utf8 = 0;
    std::uint32_t utf16 = 0;
    std::uint32_t lines = 0;
};

/// Measures elements: code points get UTF-8, UTF-16 and line counts.
template <class T>
struct element_metrics {
    static metrics measure(const T*, std::size_t) noexcept { return {}; }
};
/// Returns: the metrics of the code points p[0, n) (C: any unsigned type
/// holding code points).
template <class C>
metrics measure_code_points(const C* p, std::size_t n) noexcept {
    metrics m;
    for (std::size_t i = 0; i < n; ++i) {
        const auto c = static_cast<char32_t>(p[i]);
        m.utf8 += c < 0x80 ? 1u : c < 0x800 ? 2u : c < 0x10000 ? 3u : 4u;
        m.utf16 += c < 0x10000 ? 1u : 2u;
        m.lines += c == U'\n' ? 1u : 0u;
    }
    return m;
}
template <>
struct element_metrics<char32_t> {
    static metrics measure(const char32_t* p, std::size_t n) noexcept {
        return measure_code_points(p, n);
    }
};

/// The elements of the op store by LV (a value-initialized placeholder for
/// each delete LV), append-only. Readers get elements by value or as spans
/// of `const T*` (for_each_span). Generic T: one std::vector<T>.
template <class T>
class element_arena {
public:
    std::size_t size() const noexcept { return v_.size(); }
    /// Effects: appends n value-initialized elements (placeholders).
    void grow(std::size_t n) { v_.resize(v_.size() + n); }
    /// Effects: appends values[0, n).
    void append(const T* values, std::size_t n) { v_.insert(v_.end(), values, values + n); }
    /// Effects: keeps the first n elements (undoes an append). Requires: n <= size().
    void truncate(std::size_t n) {
        v_.erase(v_.begin() + static_cast<std::ptrdiff_t>(n), v_.end());
    }
    /// Effects: elements [i, i + n) become values[0, n). Requires: i + n <= size().
    void assign(std::size_t i, const T* values, std::size_t n) {
        std::copy(values, values + n, v_.begin() + static_cast<std::ptrdiff_t>(i));
    }
    /// Effects: none (the char32_t arena widens here for `values`).
    void prepare(const T*, std::size_t) noexcept {}
    const T& get(std::size_t i) const noexcept { return v_[i]; }
    /// Effects: calls f(const T* p, std::size_t k) (returning bool: false
    ///   stops) for the elements [i, i + n) in order, in one or more spans.
    /// Returns: false if f stopped it.
    template <class F>
    bool for_each_span(std::size_t i, std::size_t n, F&& f) const {
        return n == 0 || f(v_.data() + i, n);
    }
    /// Effects: appends the elements [i, i + n) to out.
    void append_to(std::vector<T>& out, std::size_t i, std::size_t n) const {
        const auto first = v_.begin() + static_cast<std::ptrdiff_t>(i);
        out.insert(out.end(), first, first + static_cast<std::ptrdiff_t>(n));
    }
    /// Effects: copies the elements [i, i + n) to to[0, n).
    void copy_to(std::size_t i, std::size_t n, T* to) const {
        const auto first = v_.begin() + static_cast<std::ptrdiff_t>(i);
        std::copy(first, first + static_cast<std::ptrdiff_t>(n), to);
    }
    metrics measure(std::size_t i, std::size_t n) const noexcept {
        return element_metrics<T>::measure(v_.data() + i, n);
    }
    /// Returns: the heap bytes held, by capacity.
    std::size_t memory_bytes() const noexcept { return v_.capacity() * sizeof(T); }

private:
    std::vector<T> v_;
};

/// Code points (crdt::text, sequence<char32_t>): stored one byte each while
/// every one is below 0x100, two bytes while below 0x10000, else four; the
/// arena widens (O(n), at most twice in its life) when an element needs it.
/// for_each_span hands out char32_t spans, converted through a small buffer
/// while narrow.
template <>
class element_arena<char32_t> {
    // (Defined first: the members below deduce their return types.)
    template <class F>
    decltype(auto) visit(F&& f) const {
        return width_ == 1 ? f(b1_) : width_ == 2 ? f(b2_) : f(b4_);
    }
    template <class F>
    void visit_mut(F&& f) {
        if (width_ == 1) {
            f(b1_);
        } else if (width_ == 2) {
            f(b2_);
        } else {
            f(b4_);
        }
    }

public:
    std::size_t size() const noexcept {
        return width_ == 1 ? b1_.size() : width_ == 2 ? b2_.size() : b4_.size();
    }
    /// Returns: the bytes per element (1, 2 or 4).
    unsigned width() const noexcept { return width_; }
    void grow(std::size_t n) {
        visit_mut([&](auto& v) { v.resize(v.size() + n); });
    }
    /// Effects: widens the arena so that it can hold `values` (called
    ///   before the op store grows, so a failed widening leaves no trace).
    void prepare(const char32_t* values, std::size_t n) {
        char32_t hi = 0;
        for (std::size_t k = 0; k < n; ++k) {
            hi = std::max(hi, values[k]);
        }
        widen(hi < 0x100 ? 1u : hi < 0x10000 ? 2u : 4u);
    }
    /// Effects: keeps the first n elements (undoes an append). Requires: n <= size().
    void truncate(std::size_t n) {
        visit_mut([&](auto& v) { v.resize(n); });
    }
    /// Effects: appends values[0, n) (widening first if they need it).
    void append(const char32_t* values, std::size_t n) {
        prepare(values, n); // nothing to do after acquire's prepare
        visit_mut([&](auto& v) {
            using C = typename std::remove_reference_t<decltype(v)>::value_type;
            if (n == 1) {
                v.push_back(static_cast<C>(values[0])); // a keystroke
                return;
            }
            const std::size_t at = v.size();
            v.resize(at + n);
            for (std::size_t k = 0; k < n; ++k) {
                v[at + k] = static_cast<C>(values[k]);
            }
        });
    }
    char32_t get(std::size_t i) const noexcept {
        return width_ == 1 ? char32_t{b1_[i]} : width_ == 2 ? char32_t{b2_[i]} : b4_[i];
    }
    template <class F>
    bool for_each_span(std::size_t i, std::size_t n, F&& f) const {
        if (n == 0) {
            return true;
        }
        if (width_ == 4) {
            return f(b4_.data() + i, n);
        }
        char32_t buf[chunk];
        return visit([&](const auto& v) {
            for (std::size_t done = 0; done < n;) {
                const std::size_t k = std::min(chunk, n - done);
                std::copy(v.begin() + static_cast<std::ptrdiff_t>(i + done),
                          v.begin() + static_cast<std::ptrdiff_t>(i + done + k), buf);
                if (!f(static_cast<const char32_t*>(buf), k)) {
                    return false;
                }
                done += k;
            }
            return true;
        });
    }
    void append_to(std::vector<char32_t>& out, std::size_t i, std::size_t n) const {
        const std::size_t at = out.size();
        out.resize(at + n);
        copy_to(i, n, out.data() + at);
    }
    void copy_to(std::size_t i, std::size_t n, char32_t* to) const {
        visit([&](const auto& v) {
            const auto* p = v.data() + i;
            for (std::size_t k = 0; k < n; ++k) {
                to[k] = p[k];
            }
        });
    }
    metrics measure(std::size_t i, std::size_t n) const noexcept {
        return visit([&](const auto& v) { return measure_code_points(v.data() + i, n); });
    }
    std::size_t memory_bytes() const noexcept {
        return b1_.capacity() + b2_.capacity() * 2 + b4_.capacity() * 4;
    }
    /// Requires: the arena is empty; w is 1, 2 or 4.
    /// Effects (snapshot loading): makes it hold n placeholders (zero), w
    ///   bytes each, then calls f(p) with p its first element (std::uint8_t*,
    ///   char16_t* or char32_t*) to fill in. Complexity: O(n) plus f.
    template <class F>
    void load(unsigned w, std::size_t n, F&& f) {
        CRDT_ASSERT(size() == 0 && (w == 1 || w == 2 || w == 4));
        width_ = w;
        visit_mut([&](auto& v) {
            v.resize(n);
            f(v.data());
        });
    }
    /// Returns: f(p) with p the first element as stored (const std::uint8_t*,
    ///   const char16_t* or const char32_t*, by width()).
    template <class F>
    decltype(auto) visit_data(F&& f) const {
        return visit([&](const auto& v) { return f(v.data()); });
    }

private:
    static constexpr std::size_t chunk = 256;

    /// Effects: makes the elements at least w bytes wide.
    void widen(unsigned w) {
        if (w <= width_) {
            return;
        }
        if (w == 2) {
            b2_.assign(b1_.begin(), b1_.end());
        } else if (width_ == 1) {
            b4_.assign(b1_.begin(), b1_.end());
        } else {
            b4_.assign(b2_.begin(), b2_.end());
        }
        b1_ = std::vector<std::uint8_t>();
        if (w == 4) {
            b2_ = std::vector<char16_t>();
        }
        width_ = w;
    }

    std::vector<std::uint8_t> b1_;
    std::vector<char16_t> b2_;
    std::vector<char32_t> b4_;
    unsigned width_ = 1;
};

/// One B-tree item: a run of consecutive elements of one insertion.
struct run {
    std::uint64_t key = 0;     ///< dense order key; strictly increasing along the tree
    lv_t lv = 0;               ///< LV of the first element
    lv_t len = 0;              ///< number of elements (> 0)
    lv_t origin_left = 0;      ///< origin-left of the first element (no_lv: start)
    lv_t origin_right = 0;     ///< origin-right of every element (no_lv: end)
    metrics m;                 ///< text metrics of the elements
    std::uint32_t deleted = 0; ///< 1 when deleted (by any delete op)
    lv_t touch_hi = 0;         ///< >= the LV of every op that touched the run
    lv_t witness_lo = no_lv;   ///< min over elements of their first delete (no_lv: one is live)
    lv_t witness_hi = no_lv;   ///< max over elements of their first delete (no_lv: one is live)
};

/// Cold summary: the visibility bounds of research/zed-sumtree.md 5.8 over
/// local versions. touch_lo is ins_lo (a delete always follows its target).
struct run_cold {
    lv_t ins_lo = no_lv;
    lv_t ins_hi = 0;
    lv_t touch_hi = 0;
    lv_t witness_lo = no_lv;
    lv_t witness_hi = 0; ///< no_lv (absorbing under max) when some element is live
    friend bool operator==(const run_cold&, const run_cold&) = default;
};

/// Hot summary: visible lengths in every unit, total length, last key.
struct run_summary {
    std::uint64_t chars = 0; ///< visible elements (code points for text)
    std::uint64_t utf8 = 0;
    std::uint64_t utf16 = 0;
    std::uint64_t lines = 0;
    std::uint64_t full = 0; ///< elements, deleted ones included
    std::uint64_t key = 0;  ///< key of the last run (0 when empty)
    std::uint64_t runs = 0; ///< number of runs
    friend bool operator==(const run_summary&, const run_summary&) = default;
};

struct run_traits {
    using item_type = run;
    using summary_type = run_summary;
    static run_summary summarize(const run& r) noexcept {
        run_summary s;
        if (r.deleted == 0) {
            s.chars = r.len;
            s.utf8 = r.m.utf8;
            s.utf16 = r.m.utf16;
            s.lines = r.m.lines;
        }
        s.full = r.len;
        s.key = r.key;
        s.runs = 1;
        return s;
    }
    static run_summary zero() noexcept { return {}; }
    using cold_summary_type = run_cold;
    static run_cold summarize_cold(const run& r) noexcept {
        return {r.lv, r.lv + r.len - 1, r.touch_hi, r.witness_lo, r.witness_hi};
    }
    static run_cold zero_cold() noexcept { return {}; }
    /// Every cold field is a min or a max: a run whose new bounds contain its
    /// old ones (typing extends a run: ins_hi and touch_hi grow) patches a
    /// fold by combining; otherwise the tree refolds.
    static bool patch_cold(run_cold& acc, const run_cold& o, const run_cold& n) noexcept {
        if (n.ins_lo > o.ins_lo || n.ins_hi < o.ins_hi || n.touch_hi < o.touch_hi ||
            n.witness_lo > o.witness_lo || n.witness_hi < o.witness_hi) {
            return false;
        }
        combine_cold(acc, n);
        return true;
    }
    /// Lengths and counts patch by difference; the last key only when the
    /// run keeps its key (every replace of a run does).
    static bool patch(run_summary& acc, const run_summary& o, const run_summary& n) noexcept {
        if (o.key != n.key || o.full == 0 || n.full == 0) {
            return false;
        }
        acc.chars += n.chars - o.chars;
        acc.utf8 += n.utf8 - o.utf8;
        acc.utf16 += n.utf16 - o.utf16;
        acc.lines += n.lines - o.lines;
        acc.full += n.full - o.full;
        acc.runs += n.runs - o.runs;
        return true;
    }
    static void combine_cold(run_cold& acc, const run_cold& rhs) noexcept {
        acc.ins_lo = std::min(acc.ins_lo, rhs.ins_lo);
        acc.ins_hi = std::max(acc.ins_hi, rhs.ins_hi);
        acc.touch_hi = std::max(acc.touch_hi, rhs.touch_hi);
        acc.witness_lo = std::min(acc.witness_lo, rhs.witness_lo);
        acc.witness_hi = std::max(acc.witness_hi, rhs.witness_hi);
    }
    static void combine(run_summary& acc, const run_summary& rhs) noexcept {
        acc.chars += rhs.chars;
        acc.utf8 += rhs.utf8;
        acc.utf16 += rhs.utf16;
        acc.lines += rhs.lines;
        if (rhs.full != 0) {
            acc.key = rhs.key;
        }
        acc.full += rhs.full;
        acc.runs += rhs.runs;
    }
};

using run_tree = crdt::btree::tree<run_traits>;
using chars_dim = crdt::btree::sum_of<&run_summary::chars>;
using utf8_dim = crdt::btree::sum_of<&run_summary::utf8>;
using utf16_dim = crdt::btree::sum_of<&run_summary::utf16>;
using lines_dim = crdt::btree::sum_of<&run_summary::lines>;
using runs_dim = crdt::btree::sum_of<&run_summary::runs>;

/// Dimension: the key of the last run so far.
struct key_dim {
    std::uint64_t key = 0;
    void add(const run_summary& s) noexcept {
        if (s.full != 0) {
            key = s.key;
        }
    }
};
/// Seek target: the run with key `k` (bias::left), or the first run after it
/// (bias::right).
struct key_target {
    std::uint64_t k = 0;
    std::weak_ordering compare(const key_dim& pos) const noexcept { return k <=> pos.key; }
};

/// Dimension: visible elements and the last key (position_of needs both).
struct chars_key_dim {
    std::uint64_t chars = 0;
    std::uint64_t key = 0;
    void add(const run_summary& s) noexcept {
        chars += s.chars;
        if (s.full != 0) {
            key = s.key;
        }
    }
};
/// Seek target: the run with key `k`, positions counted in chars_key_dim.
struct key_target_chars {
    std::uint64_t k = 0;
    std::weak_ordering compare(const chars_key_dim& pos) const noexcept { return k <=> pos.key; }
};

/// A set of local versions as sorted, disjoint intervals [lo, hi): the
/// compact local form of a version. Queries are binary searches.
class lv_set {
public:
    /// Effects: adds [lo, hi). Call normalize() before querying.
    void add(lv_t lo, lv_t hi) {
        if (lo < hi) {
            iv_.emplace_back(lo, hi);
        }
    }
    /// Effects: sorts and merges the intervals.
    void normalize() {
        std::sort(iv_.begin(), iv_.end());
        std::size_t out = 0;
        for (std::size_t i = 0; i < iv_.size(); ++i) {
            if (out > 0 && iv_[i].first <= iv_[out - 1].second) {
                iv_[out - 1].second = std::max(iv_[out - 1].second, iv_[i].second);
            } else {
                iv_[out++] = iv_[i];
            }
        }
        iv_.resize(out);
    }
    /// Effects: adds [lo, hi) to a normalized set, keeping it normalized.
    /// Complexity: O(1) when lo is at or after the start of the last
    ///   interval (the common case: LVs grow), else O(k log k).
    void insert(lv_t lo, lv_t hi) {
        if (lo >= hi) {
            return;
        }
        if (iv_.empty() || lo > iv_.back().second) {
            iv_.emplace_back(lo, hi);
        } else if (lo >= iv_.back().first) {
            iv_.back().second = std::max(iv_.back().second, hi);
        } else {
            iv_.emplace_back(lo, hi);
            normalize();
        }
    }
    /// Returns: the LVs in both normalized sets. Complexity: O(k + m).
    lv_set intersect(const lv_set& o) const {
        lv_set out;
        auto a = iv_.begin();
        auto b = o.iv_.begin();
        while (a != iv_.end() && b != o.iv_.end()) {
            const lv_t lo = std::max(a->first, b->first);
            const lv_t hi = std::min(a->second, b->second);
            if (lo < hi) {
                out.iv_.emplace_back(lo, hi);
            }
            if (a->second < b->second) {
                ++a;
            } else {
                ++b;
            }
        }
        return out;
    }
    bool empty() const noexcept { return iv_.empty(); }
    /// Returns: whether x is in the set.
    bool contains(lv_t x) const noexcept {
        const auto it = find(x);
        return it != iv_.end() && it->first <= x;
    }
    /// Returns: whether some LV in [lo, hi] (inclusive) is in the set.
    bool intersects(lv_t lo, lv_t hi) const noexcept {
        const auto it = find(lo);
        return it != iv_.end() && it->first <= hi;
    }
    /// Returns: whether every LV in [lo, hi] (inclusive) is in the set.
    bool covers(lv_t lo, lv_t hi) const noexcept {
        const auto it = find(lo);
        return it != iv_.end() && it->first <= lo && hi < it->second;
    }
    const std::vector<std::pair<lv_t, lv_t>>& intervals() const noexcept { return iv_; }

private:
    /// The first interval whose end is after x.
    std::vector<std::pair<lv_t, lv_t>>::const_iterator find(lv_t x) const noexcept {
        return std::upper_bound(
            iv_.begin(), iv_.end(), x,
            [](lv_t v, const std::pair<lv_t, lv_t>& p) { return v < p.second; });
    }
    std::vector<std::pair<lv_t, lv_t>> iv_;
};

/// The first delete of each inserted element (no_lv: none yet), by insert
/// LV, run-length. The LVs are cut into blocks of 2^block_bits; a block
/// holds sorted, disjoint spans of elements whose first deletes step by +1
/// or -1 from one element to the next (typing then deleting forward, or
/// backspacing, gives one span per run of deletes), or, once more than
/// 2^block_bits / 4 spans would be needed, a plain array (so the table
/// never takes much more than the 4 bytes per LV of a flat array). Elements
/// in no span have no delete. Blocks past the last one written are absent.
/// Complexity: get O(log s) for s spans in the block (at most 2^block_bits
/// / 4); a reader walking LVs upwards O(1) amortized per LV; set O(k +
/// s) for k elements. Thread safety: none; readers are invalidated by set().
class first_delete_table {
public:
    static constexpr unsigned block_bits = 10;
    static constexpr lv_t block_size = lv_t{1} << block_bits;
    static constexpr std::size_t max_spans = block_size / 4;

    /// Elements [start, start + size()) with first deletes del, del + 1,
    /// ... (or del, del - 1, ... when down()).
    struct span {
        static constexpr lv_t down_bit = lv_t{1} << 31;
        lv_t start;
        lv_t bits; ///< length, and down_bit when the deletes descend
        lv_t del;  ///< the first delete of element `start`
        lv_t size() const noexcept { return bits & ~down_bit; }
        bool down() const noexcept { return (bits & down_bit) != 0; }
        lv_t end() const noexcept { return start + size(); }
        lv_t at(lv_t x) const noexcept { return down() ? del - (x - start) : del + (x - start); }
    };

    /// Returns: the first delete of element `x`, or no_lv.
    lv_t get(lv_t x) const noexcept {
        const std::size_t b = x >> block_bits;
        if (b >= blocks_.size()) {
            return no_lv;
        }
        const block& bl = blocks_[b];
        if (!bl.dense.empty()) {
            return bl.dense[x & (block_size - 1)];
        }
        const auto it = after(bl.spans, x);
        if (it == bl.spans.begin()) {
            return no_lv;
        }
        const span& s = *(it - 1);
        return x < s.end() ? s.at(x) : no_lv;
    }

    /// Effects: gives the elements [t, t + k) that have no first delete yet
    ///   the first deletes d, d + 1, ... in order, and calls taken(x, d + (x
    ///   - t)) for each element x that has one already (kept).
    template <class Taken>
    void set(lv_t t, lv_t k, lv_t d, Taken&& taken) {
        if (k == 1 && extend_hint(t, d)) {
            return;
        }
        while (k > 0) {
            const lv_t n = std::min<lv_t>(k, block_size - (t & (block_size - 1)));
            set_in_block(t, n, d, taken);
            t += n;
            d += n;
            k -= n;
        }
    }

    /// Reads first deletes for LVs that mostly go up one at a time: it keeps
    /// the span or gap it found last, so a walk costs O(1) per LV plus a
    /// search per span or gap entered. Invalidated by set() on the table.
    class reader {
    public:
        explicit reader(const first_delete_table& t) noexcept : t_(&t) {}
        /// Returns: the first delete of element x, or no_lv.
        lv_t get(lv_t x) noexcept {
            if (x - lo_ >= len_) [[unlikely]] {
                seek(x);
            }
            const lv_t i = x - lo_;
            return dense_ != nullptr ? dense_[i] : base_ + i * step_;
        }

    private:
        void seek(lv_t x) noexcept {
            const std::size_t b = x >> block_bits;
            const lv_t block_lo = static_cast<lv_t>(b) << block_bits;
            dense_ = nullptr;
            base_ = no_lv; // a gap: no_lv throughout
            step_ = 0;
            if (b >= t_->blocks_.size()) {
                lo_ = block_lo;
                len_ = no_lv - block_lo;
                block_ = none;
                return;
            }
            const block& bl = t_->blocks_[b];
            if (!bl.dense.empty()) {
                dense_ = bl.dense.data();
                lo_ = block_lo;
                len_ = block_size;
                block_ = none;
                return;
            }
            // it: the first span starting after x. Walking upwards in one
            // block, it is at most a few spans after the last one.
            const std::vector<span>& v = bl.spans;
            std::size_t it = 0;
            if (block_ == b && x >= lo_) {
                it = next_;
                for (int k = 0; k < 4 && it < v.size() && v[it].start <= x; ++k) {
                    ++it;
                }
                if (it < v.size() && v[it].start <= x) {
                    it = static_cast<std::size_t>(after(v, x) - v.begin());
                }
            } else {
                it = static_cast<std::size_t>(after(v, x) - v.begin());
            }
            block_ = b;
            next_ = it;
            if (it > 0 && x < v[it - 1].end()) {
                const span& s = v[it - 1];
                lo_ = s.start;
                len_ = s.size();
                base_ = s.del;
                step_ = s.down() ? no_lv : 1; // no_lv: -1 modulo 2^32
                return;
            }
            lo_ = it == 0 ? block_lo : v[it - 1].end();
            len_ = (it == v.size() ? block_lo + block_size : v[it].start) - lo_;
        }
        static constexpr std::size_t none = std::numeric_limits<std::size_t>::max();
        const first_delete_table* t_;
        const lv_t* dense_ = nullptr; ///< the block's array when it is dense
        lv_t lo_ = 0;                 ///< [lo_, lo_ + len_): the LVs cached
        lv_t len_ = 0;
        lv_t base_ = no_lv;        ///< first delete of lo_ (unless dense)
        lv_t step_ = 0;            ///< and its step
        std::size_t block_ = none; ///< the block of spans cached (none: other)
        std::size_t next_ = 0;     ///< there, the first span after lo_
    };

    /// Requires: `spans` sorted by start, disjoint, each non-empty, of
    ///   length below 2^31, down only when longer than 1 element, and
    ///   within the LVs (they may cross blocks).
    /// Effects (snapshot loading): replaces the table by one holding the
    ///   first deletes that `spans` give (no delete elsewhere): cut at block
    ///   boundaries, joined where they continue each other, a block dense
    ///   past max_spans. Complexity: O(s + b) for s spans and b blocks, plus
    ///   O(block_size) per dense block.
    void assign_spans(const std::vector<span>& spans) {
        blocks_.clear();
        hint_block_ = std::numeric_limits<std::size_t>::max();
        std::vector<span> tmp;
        std::size_t b = 0; // the block tmp holds
        const auto flush = [&]() {
            if (tmp.empty()) {
                return;
            }
            blocks_.resize(b + 1);
            block& bl = blocks_[b];
            if (tmp.size() > max_spans) {
                bl.spans = std::move(tmp);
                densify(bl, static_cast<lv_t>(b) << block_bits);
            } else {
                bl.spans.assign(tmp.begin(), tmp.end());
            }
            tmp.clear();
        };
        for (const span& whole : spans) {
            for (lv_t x = whole.start; x < whole.end();) {
                const std::size_t xb = x >> block_bits;
                if (xb != b) {
                    flush();
                    b = xb;
                }
                const auto n = static_cast<lv_t>(
                    std::min<std::uint64_t>(whole.end(), std::uint64_t{xb + 1} << block_bits) - x);
                const span piece{x, n > 1 && whole.down() ? n | span::down_bit : n, whole.at(x)};
                if (!tmp.empty() && tmp.back().end() == x) {
                    if (const auto j = joined(tmp.back(), piece)) {
                        tmp.back() = *j;
                        x += n;
                        continue;
                    }
                }
                tmp.push_back(piece);
                x += n;
            }
        }
        flush();
    }

    /// Effects: replaces the table by one holding the first deletes
    ///   flat[x] (no_lv: none) of the elements x < flat.size(), each block
    ///   cut into maximal spans in one pass. Complexity: O(flat.size()).
    void assign(const std::vector<lv_t>& flat) {
        blocks_.clear();
        hint_block_ = std::numeric_limits<std::size_t>::max();
        std::vector<span> tmp;
        tmp.reserve(max_spans + 1);
        const lv_t* const f = flat.data();
        for (std::size_t lo = 0; lo < flat.size(); lo += block_size) {
            const std::size_t hi = std::min(flat.size(), lo + block_size);
            tmp.clear();
            // Maximal spans, left to right; past max_spans the block is dense.
            for (std::size_t x = lo; tmp.size() <= max_spans;) {
                while (x < hi && f[x] == no_lv) {
                    ++x;
                }
                if (x == hi) {
                    break;
                }
                std::size_t y = x + 1;
                lv_t down = 0;
                if (y < hi && f[y] == f[x] + 1) {
                    for (++y; y < hi && f[y] == f[y - 1] + 1; ++y) {
                    }
                } else if (y < hi && f[y] != no_lv && f[y] + 1 == f[x]) {
                    for (++y; y < hi && f[y] != no_lv && f[y] + 1 == f[y - 1]; ++y) {
                    }
                    down = span::down_bit;
                }
                tmp.push_back(span{static_cast<lv_t>(x), static_cast<lv_t>(y - x) | down, f[x]});
                x = y;
            }
            if (tmp.empty()) {
                continue;
            }
            const std::size_t b = lo >> block_bits;
            blocks_.resize(b + 1);
            if (tmp.size() > max_spans) {
                blocks_[b].dense.assign(block_size, no_lv);
                std::copy(f + lo, f + hi, blocks_[b].dense.begin());
            } else {
                blocks_[b].spans.assign(tmp.begin(), tmp.end());
            }
        }
    }

    /// Returns: the spans of block b (empty when it is dense or absent).
    const std::vector<span>& spans_of_block(std::size_t b) const noexcept {
        static const std::vector<span> none;
        return b < blocks_.size() ? blocks_[b].spans : none;
    }
    /// Returns: whether block b is a plain array.
    bool dense_block(std::size_t b) const noexcept {
        return b < blocks_.size() && !blocks_[b].dense.empty();
    }
    std::size_t block_count() const noexcept { return blocks_.size(); }

    /// Returns: the heap bytes held, by capacity.
    std::size_t memory_bytes() const noexcept {
        std::size_t bytes = blocks_.capacity() * sizeof(block);
        for (const block& bl : blocks_) {
            bytes += bl.spans.capacity() * sizeof(span) + bl.dense.capacity() * sizeof(lv_t);
        }
        return bytes;
    }

    /// Effects: checks the representation. Throws: std::logic_error.
    void verify() const {
        for (std::size_t b = 0; b < blocks_.size(); ++b) {
            const block& bl = blocks_[b];
            const lv_t block_lo = static_cast<lv_t>(b) << block_bits;
            if (!bl.dense.empty()) {
                if (bl.dense.size() != block_size || !bl.spans.empty()) {
                    throw std::logic_error("sequence: bad dense first-delete block");
                }
                continue;
            }
            if (bl.spans.size() > max_spans) {
                throw std::logic_error("sequence: too many spans in a first-delete block");
            }
            lv_t prev_end = block_lo;
            for (std::size_t i = 0; i < bl.spans.size(); ++i) {
                const span& s = bl.spans[i];
                if (s.size() == 0 || s.start < prev_end || s.end() > block_lo + block_size ||
                    (s.size() == 1 && s.down())) {
                    throw std::logic_error("sequence: bad first-delete span");
                }
                if (i > 0 && s.start == prev_end && joined(bl.spans[i - 1], s)) {
                    throw std::logic_error("sequence: first-delete spans not joined");
                }
                prev_end = s.end();
            }
        }
    }

private:
    struct block {
        std::vector<span> spans; ///< sorted, disjoint, not joinable
        std::vector<lv_t> dense; ///< block_size entries, or empty
    };

    /// Effects: if the element t, with no first delete yet, continues the
    ///   span set last with first delete d (a backspace before it, a forward
    ///   delete after it), and does not touch another span, grows that
    ///   span. Returns: whether it did. Complexity: O(1).
    bool extend_hint(lv_t t, lv_t d) noexcept {
        if (hint_block_ != (t >> block_bits)) {
            return false;
        }
        std::vector<span>& v = blocks_[hint_block_].spans;
        if (hint_ >= v.size()) {
            return false; // also when the block is dense (no spans)
        }
        span& s = v[hint_];
        if (t + 1 == s.start && (s.down() || s.size() == 1) && s.del + 1 == d &&
            (hint_ == 0 || v[hint_ - 1].end() < t)) {
            s = span{t, (s.size() + 1) | span::down_bit, d}; // a backspace
            return true;
        }
        if (t == s.end() && !s.down() && s.at(t - 1) + 1 == d &&
            (hint_ + 1 == v.size() || v[hint_ + 1].start > t + 1)) {
            s.bits += 1; // a forward delete
            return true;
        }
        return false;
    }

    /// The first span starting after x.
    static std::vector<span>::const_iterator after(const std::vector<span>& v, lv_t x) noexcept {
        return std::upper_bound(v.begin(), v.end(), x,
                                [](lv_t y, const span& s) { return y < s.start; });
    }

    /// Returns: a and b (b right after a) as one span, if they can be.
    static std::optional<span> joined(const span& a, const span& b) noexcept {
        const lv_t last = a.at(a.end() - 1);
        const bool a_up = !a.down();
        const bool a_down = a.down() || a.size() == 1;
        const bool b_up = !b.down();
        const bool b_down = b.down() || b.size() == 1;
        if (a_up && b_up && last != no_lv && last + 1 == b.del) {
            return span{a.start, a.size() + b.size(), a.del};
        }
        if (a_down && b_down && b.del + 1 == last) {
            return span{a.start, (a.size() + b.size()) | span::down_bit, a.del};
        }
        return std::nullopt;
    }

    template <class Taken>
    void set_in_block(lv_t t, lv_t n, lv_t d, Taken& taken) {
        const std::size_t b = t >> block_bits;
        if (blocks_.size() <= b) {
            blocks_.resize(b + 1);
        }
        block& bl = blocks_[b];
        if (!bl.dense.empty()) {
            const lv_t block_lo = static_cast<lv_t>(b) << block_bits;
            for (lv_t i = 0; i < n; ++i) {
                lv_t& slot = bl.dense[t + i - block_lo];
                if (slot == no_lv) {
                    slot = d + i;
                } else {
                    taken(t + i, d + i);
                }
            }
            return;
        }
        auto& v = bl.spans;
        // i: the first span ending after x.
        auto i = static_cast<std::size_t>(
            std::upper_bound(v.begin(), v.end(), t,
                             [](lv_t y, const span& s) { return y < s.end(); }) -
            v.begin());
        const lv_t end = t + n;
        for (lv_t x = t; x < end;) {
            if (i < v.size() && v[i].start <= x) {
                const lv_t e = std::min(end, v[i].end());
                for (; x < e; ++x) {
                    taken(x, d + (x - t));
                }
                ++i;
                continue;
            }
            const lv_t e = i < v.size() ? std::min(end, v[i].start) : end;
            const span s{x, e - x, d + (x - t)};
            // Join with the span before, the span after, or both.
            std::size_t at = i;
            if (i > 0 && v[i - 1].end() == x) {
                if (const auto j = joined(v[i - 1], s)) {
                    v[i - 1] = *j;
                    at = i - 1;
                }
            }
            if (at == i) {
                if (i < v.size() && v[i].start == e) {
                    if (const auto j = joined(s, v[i])) {
                        v[i] = *j;
                    } else {
                        v.insert(v.begin() + static_cast<std::ptrdiff_t>(i), s);
                    }
                } else {
                    v.insert(v.begin() + static_cast<std::ptrdiff_t>(i), s);
                }
            } else if (i < v.size() && v[i].start == e) {
                if (const auto j = joined(v[at], v[i])) {
                    v[at] = *j;
                    v.erase(v.begin() + static_cast<std::ptrdiff_t>(i));
                }
            }
            // Continue after the span that now holds [x, e): if it reaches
            // past e (joined with the next one), those elements are taken.
            i = v[at].end() > e ? at : at + 1;
            hint_block_ = b;
            hint_ = at;
            x = e;
        }
        if (v.size() > max_spans) {
            densify(bl, static_cast<lv_t>(b) << block_bits);
        }
    }

    static void densify(block& bl, lv_t block_lo) {
        bl.dense.assign(block_size, no_lv);
        for (const span& s : bl.spans) {
            for (lv_t x = s.start; x < s.end(); ++x) {
                bl.dense[x - block_lo] = s.at(x);
            }
        }
        bl.spans = std::vector<span>();
    }

    std::vector<block> blocks_;
    std::size_t hint_block_ =
        std::numeric_limits<std::size_t>::max(); ///< block of the span set last
    std::size_t hint_ = 0;                       ///< its index there
};

/// A text unit a position can count.
enum class unit : std::uint8_t { chars, utf8, utf16, lines };

/// Returns: the field of `s` counting unit `u`.
inline std::uint64_t field(const run_summary& s, unit u) noexcept {
    switch (u) {
    case unit::chars: return s.chars;
    case unit::utf8: return s.utf8;
    case unit::utf16: return s.utf16;
    case unit::lines: return s.lines;
    }
    return 0;
}
/// Returns: how many of unit `u` the code point `c` takes.
inline std::uint64_t unit_len(char32_t c, unit u) noexcept {
    switch (u) {
    case unit::chars: return 1;
    case unit::utf8: return c < 0x80 ? 1u : c < 0x800 ? 2u : c < 0x10000 ? 3u : 4u;
    case unit::utf16: return c < 0x10000 ? 1u : 2u;
    case unit::lines: return c == U'\n' ? 1u : 0u;
    }
    return 0;
}
/// Dimension: every visible length at once.
struct all_dim {
    run_summary s;
    void add(const run_summary& x) noexcept { run_traits::combine(s, x); }
};
/// Seek target: position `x` counted in unit `u`.
struct unit_target {
    std::uint64_t x = 0;
    unit u = unit::chars;
    std::weak_ordering compare(const all_dim& p) const noexcept { return x <=> field(p.s, u); }
};

/// The engine. `Replica` names agents (totally ordered: ties between
/// concurrent inserts go to the smaller name). Counters are a replica's seqs.
template <class T, class Replica>
struct snapshot_codec;

template <class T, class Replica>
class engine {
    template <class, class>
    friend struct snapshot_codec; // crdt/sequence/snapshot.hpp

public:
    using cursor_t = run_tree::cursor_type<key_dim>;

    struct op_id {
        Replica agent{};
        std::uint64_t seq = 0;
        friend bool operator==(const op_id&, const op_id&) = default;
    };

    /// Effects: an empty document with its own op store.
    engine() = default;
    /// Effects: a deep copy: the copy gets its own op store (a copy of this
    ///   one), so editing either never affects the other.
    engine(const engine& o)
        : s_(std::make_shared<store>(*o.s_)), tree_(o.tree_), index_(o.index_),
          exhausted_at_(o.exhausted_at_), next_(o.next_), applied_(o.applied_) {}
    engine& operator=(const engine& o) {
        if (this != &o) {
            engine tmp(o);
            *this = std::move(tmp);
        }
        return *this;
    }
    /// A moved-from engine may only be assigned to or destroyed.
    engine(engine&&) noexcept = default;
    engine& operator=(engine&&) noexcept = default;
    ~engine() = default;

    /// Returns: a branch of this engine sharing its op store: the same
    ///   document state, edited independently from now on. Complexity: O(1)
    ///   (the trees are persistent) plus the per-agent table.
    engine branch() const {
        engine e(shared_tag{}, s_);
        e.tree_ = tree_;
        e.index_ = index_;
        e.exhausted_at_ = exhausted_at_;
        e.next_ = next_;
        e.applied_ = applied_;
        return e;
    }
    /// Returns: a branch of this engine's op store holding exactly the ops
    ///   of `v`: this branch's runs cut to the elements inserted in `v`, each
    ///   deleted iff a delete in `v` targets it, with fresh evenly spaced
    ///   keys, built bottom-up.
    /// Requires: v is normalized and a subset of applied().
    /// Throws: crdt::error(invalid_value) if `v` is not causally closed (an
    ///   insert whose origin, or a delete whose target, is not in `v`).
    /// Complexity: O(n + e log k) for n runs and e elements of v, plus O(d
    ///   log k) for the deletes of v.
    engine branch_at(const lv_set& v) const {
        const auto not_closed = [](const char* what) {
            throw crdt::error(errc::invalid_value,
                              std::string("sequence::fork_at: the version is not causally "
                                          "closed: ") +
                                  what + " is not in it");
        };
        for (const delete_span& d : s_->delete_spans) {
            for (lv_t x = d.del; x < d.del + d.size(); ++x) {
                if (v.contains(x) && !v.contains(d.target_of(x))) {
                    not_closed("the target of one of its deletes");
                }
            }
        }
        std::vector<run> runs;
        runs.reserve(static_cast<std::size_t>(tree_.summary().runs));
        first_delete_table::reader fd(s_->first_delete);
        tree_.for_each([&](const run& r) {
            const lv_t end = r.lv + r.len;
            for (lv_t i = r.lv; i < end;) {
                if (!v.contains(i)) {
                    ++i;
                    continue;
                }
                const bool del = !visible_at(i, v, fd);
                lv_t j = i + 1;
                while (j < end && v.contains(j) && visible_at(j, v, fd) != del) {
                    ++j;
                }
                run piece = r;
                piece.lv = i;
                piece.len = j - i;
                piece.origin_left = i == r.lv ? r.origin_left : i - 1;
                if ((piece.origin_left != no_lv && !v.contains(piece.origin_left)) ||
                    (piece.origin_right != no_lv && !v.contains(piece.origin_right))) {
                    not_closed("the origin of one of its inserts");
                }
                piece.deleted = del ? 1 : 0;
                piece.m = measure(piece.lv, piece.len);
                set_witness(piece);
                runs.push_back(piece);
                i = j;
            }
        });
        engine e(shared_tag{}, s_);
        const std::uint64_t spacing =
            std::min<std::uint64_t>(std::uint64_t{1} << 32, key_max / (runs.size() + 1));
        std::vector<std::pair<lv_t, std::uint64_t>> keys;
        keys.reserve(runs.size());
        for (std::size_t k = 0; k < runs.size(); ++k) {
            runs[k].key = spacing * (k + 1);
            keys.emplace_back(runs[k].lv, runs[k].key);
        }
        sort_by_lv_descending(keys);
        e.index_.insert_range(keys);
        e.tree_ = run_tree::build(runs.begin(), runs.end());
        e.applied_ = v;
        e.next_.assign(s_->agents.size(), 0);
        for (std::uint32_t a = 0; a < s_->agents.size(); ++a) {
            for (const agent_span& sp : s_->agents[a].spans) {
                if (!v.contains(sp.lv)) {
                    break;
                }
                lv_t end = sp.lv;
                while (end < sp.lv + sp.len && v.contains(end)) {
                    ++end; // a prefix of the span (v is causally closed)
                }
                e.next_[a] = sp.seq + (end - sp.lv);
                if (end < sp.lv + sp.len) {
                    break;
                }
            }
        }
        return e;
    }

    // ---- snapshots -------------------------------------------------------------

    /// A run of a snapshot: LVs [lv, lv + n) of a fresh engine (one
    /// insertion's elements), the first after `left`, the others each after
    /// the previous one, all before `right` (no_lv: the start / end).
    struct loaded_insert {
        lv_t lv;
        lv_t n;
        lv_t left;
        lv_t right;
    };

    /// Deletes [del, del + n) of a snapshot, of the elements target, target
    /// + 1, ... (target, target - 1, ... when down).
    struct loaded_delete {
        lv_t del;
        lv_t target;
        lv_t n;
        bool down;
    };

    /// LVs [lo, hi) of a snapshot that are all inserts (a maximal stretch).
    using loaded_span = std::pair<lv_t, lv_t>;

    /// Effects (snapshot loading): stores the ops of a snapshot in this
    ///   fresh engine, all applied: ids[i] = (agent index, length) gives the
    ///   next LVs to that agent, its seqs continuing from its last one (from
    ///   `first_counter`); the LVs in `inserts` (stretches, in order) are
    ///   inserts, the others deletes. The elements are stored by load_text
    ///   or load_elements.
    /// Requires: no op is stored yet; every agent index is interned; the
    ///   ids have non-zero lengths; `inserts` lie within the LVs they cover.
    /// Throws: crdt::error(counter_overflow) past 2^32 - 2 ops.
    /// Complexity: O(i + k + N / w) for i id spans, k insert stretches, N ops.
    void load_ops(const std::vector<std::pair<std::uint32_t, lv_t>>& ids,
                  const std::vector<loaded_span>& inserts, std::uint64_t first_counter) {
        store& st = *s_;
        CRDT_ASSERT(st.inserts.empty() && st.lv_spans.empty());
        std::uint64_t total = 0;
        for (const auto& [a, n] : ids) {
            total += n;
        }
        if (total >= no_lv) {
            throw crdt::error(errc::counter_overflow, "sequence: more than 2^32 - 2 ops");
        }
        st.inserts.assign(static_cast<std::size_t>(total), false);
        for (const auto& [lo, hi] : inserts) {
            CRDT_ASSERT(lo <= hi && hi <= total);
            const auto first = st.inserts.begin() + static_cast<std::ptrdiff_t>(lo);
            std::fill(first, first + static_cast<std::ptrdiff_t>(hi - lo), true);
        }
        if (ids.empty()) {
            return;
        }
        // As allocate() per id span: the pieces acquire() would take of one
        // span continue each other in LVs and seqs, so they join anyway.
        next_.assign(st.agents.size(), 0);
        st.lv_spans.reserve(ids.size());
        lv_t lv = 0;
        for (const auto& [a, n] : ids) {
            const std::uint64_t seq = next_[a] != 0 ? next_[a] : first_counter;
            note_ids(st, a, seq, lv, n);
            next_[a] = seq + n;
            lv += n;
        }
        applied_.insert(0, lv);
    }

    /// Requires: T is char32_t; load_ops stored the ops; `utf8` is valid
    ///   UTF-8 holding exactly one code point per insert LV, in LV order;
    ///   `inserts` are the stretches of insert LVs in order; every code
    ///   point fits in `width` bytes (1, 2 or 4); `ascii`: every byte is
    ///   below 0x80.
    /// Effects (snapshot loading): stores the elements, decoded straight
    ///   into the arena at its final width. Complexity: O(N + bytes).
    void load_text(std::string_view utf8, unsigned width, bool ascii,
                   const std::vector<loaded_span>& inserts) {
        s_->content.load(width, op_count(), [&](auto* out) {
            using C = std::remove_pointer_t<decltype(out)>;
            const auto* p = reinterpret_cast<const unsigned char*>(utf8.data());
            if constexpr (sizeof(C) == 1) {
                if (ascii) {
                    for (const auto& [lo, hi] : inserts) {
                        std::copy(p, p + (hi - lo), out + lo);
                        p += hi - lo;
                    }
                    return;
                }
            }
            for (const auto& [lo, hi] : inserts) {
                for (lv_t x = lo; x < hi; ++x) {
                    const unsigned b = *p;
                    char32_t c = b;
                    if (b < 0x80) {
                        ++p;
                    } else if (b < 0xE0) {
                        c = ((b & 0x1Fu) << 6) | (p[1] & 0x3Fu);
                        p += 2;
                    } else if (b < 0xF0) {
                        c = ((b & 0x0Fu) << 12) | ((p[1] & 0x3Fu) << 6) | (p[2] & 0x3Fu);
                        p += 3;
                    } else {
                        c = ((b & 0x07u) << 18) | ((p[1] & 0x3Fu) << 12) | ((p[2] & 0x3Fu) << 6) |
                            (p[3] & 0x3Fu);
                        p += 4;
                    }
                    out[x] = static_cast<C>(c);
                }
            }
        });
    }

    /// Requires: load_ops stored the ops; values holds one element per
    ///   insert LV, in LV order; `inserts` as for load_text.
    /// Effects (snapshot loading): stores the elements. Complexity: O(N).
    void load_elements(const T* values, const std::vector<loaded_span>& inserts) {
        element_arena<T>& a = s_->content;
        a.grow(op_count());
        for (const auto& [lo, hi] : inserts) {
            a.prepare(values, hi - lo);
            a.assign(lo, values, hi - lo);
            values += hi - lo;
        }
    }

    /// Effects: records in the op store the deletes `ds` (in the order of
    ///   their LVs), without touching the run tree (snapshot loading;
    ///   build_runs follows): the first delete of an element is the first
    ///   of `ds` to target it (later ones are concurrent extras). The
    ///   first-delete table is built from `ds` sorted by target when no two
    ///   target one element, else from a flat array in one pass.
    /// Requires: no delete is stored yet; every target is an insert before
    ///   its delete.
    /// Returns: the first deletes as spans sorted by start, disjoint (not
    ///   cut at the table's blocks), for build_runs.
    /// Complexity: O(d + b) for d entries of `ds` and b blocks of the
    ///   first-delete table; with concurrent extra deletes, O(N + e) for N
    ///   ops and e deleted elements, plus O(k log k) for k extras.
    std::vector<first_delete_table::span> load_deletes(const std::vector<loaded_delete>& ds) {
        CRDT_ASSERT(s_->delete_spans.empty());
        using fd_span = first_delete_table::span;
        for (const loaded_delete& x : ds) {
            CRDT_ASSERT(x.n > 0 && (!x.down || x.target + 1 >= x.n));
            if (x.down) {
                store_delete_spans_down(x.del, x.target, x.n);
            } else {
                store_delete_spans(x.del, x.target, x.n);
            }
        }
        // lowest target << 32 | index, sorted.
        std::vector<std::uint64_t> order(ds.size());
        lv_t top = 0;
        for (std::size_t i = 0; i < ds.size(); ++i) {
            const loaded_delete& x = ds[i];
            const lv_t lo = x.down ? x.target - (x.n - 1) : x.target;
            top = std::max(top, lo);
            order[i] = std::uint64_t{lo} << 32 | i;
        }
        sort_by_high_half(order, top);
        std::vector<fd_span> spans;
        spans.reserve(ds.size());
        lv_t prev_end = 0;
        for (const std::uint64_t o : order) {
            const loaded_delete& x = ds[static_cast<std::size_t>(o & 0xFFFFFFFFu)];
            const auto lo = static_cast<lv_t>(o >> 32);
            if (lo < prev_end || x.n >= fd_span::down_bit) {
                break; // two deletes of one element: the general way below
            }
            spans.push_back(x.down && x.n > 1
                                ? fd_span{lo, x.n | fd_span::down_bit, x.del + x.n - 1}
                                : fd_span{lo, x.n, x.del});
            prev_end = lo + x.n;
        }
        if (spans.size() == ds.size()) {
            s_->first_delete.assign_spans(spans);
            return spans;
        }
        std::vector<lv_t> first(op_count(), no_lv);
        for (const loaded_delete& x : ds) {
            for (lv_t i = 0; i < x.n; ++i) {
                const lv_t t = x.down ? x.target - i : x.target + i;
                if (first[t] == no_lv) {
                    first[t] = x.del + i;
                } else {
                    s_->extra_deletes.emplace(t, x.del + i);
                }
            }
        }
        s_->first_delete.assign(first);
        spans.clear();
        for (lv_t t = 0; t < first.size(); ++t) {
            if (first[t] == no_lv) {
                continue;
            }
            if (!spans.empty() && spans.back().end() == t && !spans.back().down() &&
                spans.back().del + spans.back().size() == first[t]) {
                ++spans.back().bits;
            } else {
                spans.push_back(fd_span{t, 1, first[t]});
            }
        }
        return spans;
    }

    /// Returns: the records of a snapshot's document order by LV, as LV <<
    ///   32 | index (what build_runs takes), checked to be disjoint, each
    ///   inside one stretch of `inserts`, and to hold every insert LV: so
    ///   every inserted element exactly once and no delete. Called before
    ///   the op store is filled: a forged order costs memory in proportion
    ///   to its records, not to the ops the snapshot claims.
    /// Requires: `inserts` are the stretches of insert LVs, in order, below
    ///   `total`.
    /// Throws: crdt::error(invalid_value) naming `what`, at byte `runs_at`
    ///   (where the document order starts in the input), if the records do
    ///   not hold every inserted LV exactly once, or hold a delete.
    /// Complexity: O(n + k) for n records and k stretches (a radix sort).
    static std::vector<std::uint64_t> order_loaded_runs(const std::vector<loaded_insert>& recs,
                                                        const std::vector<loaded_span>& inserts,
                                                        lv_t total, std::string_view what,
                                                        std::size_t runs_at) {
        const auto bad = [&](const char* why) {
            throw crdt::error(errc::invalid_value, std::string(what) + ": document order: " + why,
                              runs_at);
        };
        std::uint64_t insert_count = 0;
        for (const auto& [lo, hi] : inserts) {
            insert_count += hi - lo;
        }
        if (recs.size() > insert_count) {
            bad("an element appears twice, or a run holds a delete");
        }
        std::vector<std::uint64_t> order(recs.size());
        for (std::size_t i = 0; i < recs.size(); ++i) {
            const loaded_insert& rec = recs[i];
            if (rec.n == 0 || rec.lv >= total || rec.n > total - rec.lv) {
                bad("a run is out of range");
            }
            order[i] = std::uint64_t{rec.lv} << 32 | i;
        }
        sort_by_high_half(order, total);
        std::uint64_t placed = 0;
        lv_t prev_end = 0;
        std::size_t j = 0;
        for (const std::uint64_t o : order) {
            const loaded_insert& rec = recs[static_cast<std::size_t>(o & 0xFFFFFFFFu)];
            if (rec.lv < prev_end) {
                bad("an element appears twice");
            }
            while (j < inserts.size() && inserts[j].second <= rec.lv) {
                ++j;
            }
            if (j == inserts.size() || rec.lv < inserts[j].first ||
                rec.n > inserts[j].second - rec.lv) {
                bad("a run holds a delete");
            }
            prev_end = rec.lv + rec.n;
            placed += rec.n;
        }
        if (placed != insert_count) {
            bad("an inserted element is missing");
        }
        return order;
    }

    /// Effects: builds the run tree and index of this engine, which holds
    ///   every op of the snapshot in its store (all applied) and no run yet,
    ///   from `recs` (the document order): no op is integrated. Records are
    ///   cut where deletion status changes and joined where they continue
    ///   each other; keys are evenly spaced; the tree is built bottom-up.
    /// Requires: load_ops and load_deletes are done; `order` is what
    ///   order_loaded_runs returned for `recs` (so they hold every insert
    ///   exactly once); `fds` is what load_deletes returned.
    /// Complexity: O(e + n + x + p log x) for e elements, n runs, x
    ///   concurrent extra deletes, p pieces.
    void build_runs(const std::vector<loaded_insert>& recs, const std::vector<std::uint64_t>& order,
                    const std::vector<first_delete_table::span>& fds) {
        CRDT_ASSERT(order.size() == recs.size());
        // `at` gets each record's first span of `fds` ending after its start.
        std::vector<lv_t> at(recs.size());
        std::uint64_t insert_count = 0;
        {
            std::size_t p = 0;
            for (const std::uint64_t o : order) {
                const auto i = static_cast<std::size_t>(o & 0xFFFFFFFFu);
                const lv_t lv = recs[i].lv;
                while (p < fds.size() && fds[p].end() <= lv) {
                    ++p;
                }
                at[i] = static_cast<lv_t>(p);
                insert_count += recs[i].n;
            }
        }
        // Cut in document order; first[i]: the first run starting in record
        // i (a record's first piece may join the run before it). The latest
        // extra delete of each target (concurrent deletes of one element
        // beyond its first), ascending: a piece walks only its own targets.
        std::vector<std::pair<lv_t, lv_t>> extras;
        for (const auto& [t, d] : s_->extra_deletes) {
            if (!extras.empty() && extras.back().first == t) {
                extras.back().second = std::max(extras.back().second, d);
            } else {
                extras.emplace_back(t, d);
            }
        }
        std::vector<run> runs;
        // Each delete span's targets are one stretch: at most two cuts each.
        runs.reserve(static_cast<std::size_t>(
            std::min<std::uint64_t>(insert_count, recs.size() + 2 * s_->delete_spans.size())));
        std::vector<lv_t> first(recs.size() + 1);
        for (std::size_t i = 0; i < recs.size(); ++i) {
            const loaded_insert& rec = recs[i];
            first[i] = static_cast<lv_t>(runs.size());
            const lv_t end = rec.lv + rec.n;
            std::size_t p = at[i]; // fds[p] ends after x
            lv_t ids_end = 0;      // one past the id span holding x, once looked up
            for (lv_t x = rec.lv; x < end;) {
                lv_t y = end;
                lv_t w_lo = no_lv;
                lv_t w_hi = no_lv;
                const bool del = p < fds.size() && fds[p].start <= x;
                if (del) {
                    y = std::min(y, fds[p].end());
                } else if (p < fds.size() && fds[p].start < end) {
                    y = fds[p].start;
                }
                // A run holds consecutive ids of one agent: a record (one
                // op's elements, each after the previous) may span several.
                // Inside the record, x opens a new id span when it reaches the
                // end of the one before; at the record's start, ask (below).
                const bool opens_ids = x != rec.lv && x >= ids_end;
                if (x >= ids_end) {
                    ids_end = id_span_end(x);
                }
                y = std::min(y, ids_end);
                if (del) {
                    const first_delete_table::span& s = fds[p];
                    if (y == s.end()) {
                        ++p;
                    }
                    const lv_t f = s.at(x);
                    const lv_t last = s.at(y - 1);
                    w_lo = std::min(f, last);
                    w_hi = std::max(f, last);
                }
                lv_t touch = y - 1;
                if (del) {
                    touch = std::max(touch, w_hi);
                    if (!extras.empty()) {
                        auto it = std::lower_bound(
                            extras.begin(), extras.end(), x,
                            [](const std::pair<lv_t, lv_t>& e, lv_t v) { return e.first < v; });
                        for (; it != extras.end() && it->first < y; ++it) {
                            touch = std::max(touch, it->second);
                        }
                    }
                }
                const lv_t left = x == rec.lv ? rec.left : x - 1;
                run* back = runs.empty() ? nullptr : &runs.back();
                if (back != nullptr && back->lv + back->len == x && left == x - 1 &&
                    back->origin_right == rec.right && (back->deleted != 0) == del && !opens_ids &&
                    (x != rec.lv || continues(x - 1, x))) {
                    back->len += y - x;
                    back->touch_hi = std::max(back->touch_hi, touch);
                    back->witness_lo = std::min(back->witness_lo, w_lo);
                    back->witness_hi = std::max(back->witness_hi, w_hi);
                } else {
                    run r;
                    r.lv = x;
                    r.len = y - x;
                    r.origin_left = left;
                    r.origin_right = rec.right;
                    r.deleted = del ? 1 : 0;
                    r.touch_hi = touch;
                    r.witness_lo = w_lo;
                    r.witness_hi = w_hi;
                    runs.push_back(r);
                }
                x = y;
            }
        }
        first[recs.size()] = static_cast<lv_t>(runs.size());
        const std::uint64_t spacing =
            std::min<std::uint64_t>(std::uint64_t{1} << 32, key_max / (runs.size() + 1));
        for (std::size_t k = 0; k < runs.size(); ++k) {
            run& r = runs[k];
            r.key = spacing * (k + 1);
            r.m = measure_loaded(r.lv, r.len);
        }
        // The index, by descending LV: the records backwards, each one's
        // runs backwards.
        std::vector<std::pair<lv_t, std::uint64_t>> keys;
        keys.reserve(runs.size());
        for (std::size_t o = order.size(); o-- > 0;) {
            const auto i = static_cast<std::size_t>(order[o] & 0xFFFFFFFFu);
            for (lv_t k = first[i + 1]; k-- > first[i];) {
                keys.emplace_back(runs[k].lv, runs[k].key);
            }
        }
        index_ = index_type();
        index_.assign_sorted_unique(keys.begin(), keys.end());
        tree_ = run_tree::build(runs.begin(), runs.end());
    }

    /// Effects: sorts v ascending, where every value's high 32 bits are at
    ///   most `top`: an LSD radix sort of those bits, the digits of every
    ///   pass counted in one read. Complexity: O(n + top^(1/3)).
    static void sort_by_high_half(std::vector<std::uint64_t>& v, lv_t top) {
        if (v.size() < 64) {
            std::sort(v.begin(), v.end());
            return;
        }
        unsigned width = 1;
        while (width < 32 && (top >> width) != 0) {
            ++width;
        }
        const unsigned passes = (width + 10) / 11;
        const unsigned bits = (width + passes - 1) / passes;
        const std::size_t buckets = std::size_t{1} << bits;
        std::vector<std::size_t> count(buckets * passes);
        for (const std::uint64_t x : v) {
            const auto h = static_cast<lv_t>(x >> 32);
            for (unsigned k = 0; k < passes; ++k) {
                ++count[k * buckets + ((h >> (k * bits)) & (buckets - 1))];
            }
        }
        std::vector<std::uint64_t> tmp(v.size());
        for (unsigned k = 0; k < passes; ++k) {
            std::size_t* c = count.data() + k * buckets;
            std::size_t sum = 0;
            for (std::size_t d = 0; d < buckets; ++d) {
                const std::size_t n = c[d];
                c[d] = sum;
                sum += n;
            }
            const unsigned shift = 32 + k * bits;
            for (const std::uint64_t x : v) {
                tmp[c[(x >> shift) & (buckets - 1)]++] = x;
            }
            v.swap(tmp);
        }
    }

    /// Effects: sorts (LV, key) pairs with distinct LVs by descending LV
    ///   (the index's order): an LSD radix sort, 11 bits a pass, passes
    ///   whose digit is the same for all skipped. Complexity: O(n).
    static void sort_by_lv_descending(std::vector<std::pair<lv_t, std::uint64_t>>& v) {
        constexpr unsigned bits = 11;
        constexpr std::size_t buckets = std::size_t{1} << bits;
        std::vector<std::pair<lv_t, std::uint64_t>> tmp(v.size());
        std::vector<std::size_t> count(buckets);
        for (unsigned shift = 0; shift < 32; shift += bits) {
            std::fill(count.begin(), count.end(), std::size_t{0});
            for (const auto& p : v) {
                ++count[(p.first >> shift) & (buckets - 1)];
            }
            if (std::find(count.begin(), count.end(), v.size()) != count.end()) {
                continue; // one digit for all
            }
            // Descending: the largest digit first.
            std::size_t at = 0;
            for (std::size_t d = buckets; d-- > 0;) {
                const std::size_t c = count[d];
                count[d] = at;
                at += c;
            }
            for (const auto& p : v) {
                tmp[count[(p.first >> shift) & (buckets - 1)]++] = p;
            }
            v.swap(tmp);
        }
    }

    /// Returns: whether this engine and `o` are branches of one op store.
    bool shares_store(const engine& o) const noexcept { return s_ == o.s_; }

    // ---- ids -------------------------------------------------------------

    /// Returns: the agent index of `a`, interning it.
    std::uint32_t intern(const Replica& a) {
        const auto it = s_->agent_index.find(a);
        if (it != s_->agent_index.end()) {
            return it->second;
        }
        const auto idx = static_cast<std::uint32_t>(s_->agents.size());
        s_->agents.push_back({a, {}});
        s_->agent_index.emplace(a, idx);
        return idx;
    }
    /// Returns: the agent index of `a`, or nullopt.
    std::optional<std::uint32_t> find_agent(const Replica& a) const {
        const auto it = s_->agent_index.find(a);
        return it == s_->agent_index.end() ? std::nullopt
                                           : std::optional<std::uint32_t>(it->second);
    }
    /// Returns: one more than the largest seq of agent `a` applied on this
    ///   branch (`first` if none).
    std::uint64_t next_seq(std::uint32_t a, std::uint64_t first) const {
        return a < next_.size() && next_[a] != 0 ? next_[a] : first;
    }
    /// Returns: one more than the largest seq of agent `a` in the op store
    ///   (on any branch; `first` if none).
    std::uint64_t store_next_seq(std::uint32_t a, std::uint64_t first) const {
        const auto& spans = s_->agents[a].spans;
        return spans.empty() ? first : spans.back().seq + spans.back().len;
    }
    /// Returns: the LV of (agent a, seq) if applied on this branch, else no_lv.
    lv_t lv_of(std::uint32_t a, std::uint64_t seq) const {
        if (seq >= next_seq(a, 0)) {
            return no_lv;
        }
        return store_lv_of(a, seq);
    }
    /// Returns: the id of `lv` as (agent index, seq).
    std::pair<std::uint32_t, std::uint64_t> id_of(lv_t lv) const {
        const auto& lvs = s_->lv_spans;
        auto it = std::upper_bound(lvs.begin(), lvs.end(), lv,
                                   [](lv_t l, const lv_span& x) { return l < x.lv; });
        CRDT_ASSERT(it != lvs.begin());
        --it;
        return {it->agent, it->seq + (lv - it->lv)};
    }
    const Replica& agent_name(std::uint32_t a) const { return s_->agents[a].name; }
    std::size_t agent_count() const noexcept { return s_->agents.size(); }
    /// Returns: whether `lv` is an insert.
    bool is_insert(lv_t lv) const { return s_->inserts[lv]; }
    /// Returns: the number of LVs (ops) in the op store (every branch's).
    std::size_t op_count() const noexcept { return s_->inserts.size(); }
    /// Returns: the LVs applied on this branch.
    const lv_set& applied() const noexcept { return applied_; }

    /// Returns: whether the ids (a, seq + k), k < n, that the op store holds
    ///   already are all inserts (insert) or all deletes (!insert).
    bool store_kind_matches(std::uint32_t a, std::uint64_t seq, std::uint64_t n,
                            bool insert) const {
        const std::uint64_t end = std::min(seq + n, store_next_seq(a, seq));
        for (std::uint64_t c = seq; c < end; ++c) {
            if (s_->inserts[store_lv_of(a, c)] != insert) {
                return false;
            }
        }
        return true;
    }

    /// A span of LVs acquire() gave.
    struct lv_run {
        lv_t lv;       ///< first LV
        std::size_t n; ///< how many (consecutive LVs)
        bool fresh;    ///< new in the op store (else another branch's)
    };

    /// Effects: makes the first ids (a, seq), (a, seq + 1), ... applied on
    ///   this branch: the ones the op store holds already (another branch
    ///   applied them) keep their LVs, the others get new LVs, with the
    ///   elements `values` (inserts; nullptr for deletes) stored.
    /// Returns: the LVs of the first m <= n ids (consecutive LVs).
    /// Requires: seq == next_seq(a, seq); the kinds match
    ///   (store_kind_matches).
    /// Throws: crdt::error(counter_overflow) past 2^32 - 2 ops.
    lv_run acquire(std::uint32_t a, std::uint64_t seq, std::size_t n, bool insert,
                   const T* values) {
        if (n == 0) {
            throw crdt::error(errc::invalid_value, "sequence: empty op");
        }
        CRDT_ASSERT(seq == next_seq(a, seq));
        const std::uint64_t known = store_next_seq(a, seq);
        lv_run out{0, n, seq >= known};
        if (!out.fresh) {
            const auto& spans = s_->agents[a].spans;
            auto it =
                std::upper_bound(spans.begin(), spans.end(), seq,
                                 [](std::uint64_t x, const agent_span& sp) { return x < sp.seq; });
            --it;
            out.lv = static_cast<lv_t>(it->lv + (seq - it->seq));
            out.n = static_cast<std::size_t>(std::min<std::uint64_t>(n, it->seq + it->len - seq));
        } else {
            CRDT_ASSERT(seq == known);
            if (values != nullptr) {
                s_->content.prepare(values, n); // widen first: it may throw
            }
            out.lv = allocate(a, seq, n, insert, values);
        }
        if (next_.size() <= a) {
            next_.resize(s_->agents.size(), 0);
        }
        next_[a] = seq + out.n;
        applied_.insert(out.lv, out.lv + static_cast<lv_t>(out.n));
        return out;
    }

    // ---- queries -----------------------------------------------------------

    const run_tree& tree() const noexcept { return tree_; }
    const run_summary& summary() const noexcept { return tree_.summary(); }
    /// Returns: the elements of the LVs [lv, lv + n) (inserts).
    std::vector<T> elements(lv_t lv, std::size_t n) const {
        std::vector<T> out;
        out.reserve(n);
        s_->content.append_to(out, lv, n);
        return out;
    }

    /// Returns: the visible elements in document order.
    std::vector<T> content() const {
        std::vector<T> out(static_cast<std::size_t>(tree_.summary().chars));
        std::size_t at = 0;
        tree_.for_each([&](const run& r) {
            if (r.deleted == 0) {
                s_->content.copy_to(r.lv, r.len, out.data() + at);
                at += r.len;
            }
        });
        return out;
    }

    /// Returns: the heap bytes held (nodes of both trees, the element arena,
    ///   the id tables and the delete tables, by capacity; the multimap of
    ///   concurrent extra deletes is not counted). The op store is counted
    ///   whole although branches share it. Complexity: O(n / B).
    std::size_t memory_bytes() const {
        std::size_t bytes = tree_.statistics().bytes + index_.tree().statistics().bytes;
        bytes += s_->content.memory_bytes() + s_->inserts.capacity() / 8;
        bytes +=
            s_->lv_spans.capacity() * sizeof(lv_span) + s_->agents.capacity() * sizeof(agent_rec);
        bytes += s_->first_delete.memory_bytes();
        bytes += s_->delete_spans.capacity() * sizeof(delete_span);
        for (const agent_rec& a : s_->agents) {
            bytes += a.spans.capacity() * sizeof(agent_span);
        }
        bytes += next_.capacity() * sizeof(std::uint64_t);
        bytes += applied_.intervals().capacity() * sizeof(std::pair<lv_t, lv_t>);
        return bytes;
    }

    /// Returns: the LV of the visible element at `pos`, or no_lv past the end.
    lv_t lv_at(std::uint64_t pos) const {
        const auto [hit, start] = tree_.template lookup<chars_dim>(pos, crdt::btree::bias::right);
        if (hit == nullptr) {
            return no_lv;
        }
        return static_cast<lv_t>(hit->lv + (pos - start.value));
    }

    /// Returns: the visible position of element `lv` if it is visible, else
    ///   the position where it would be (the count of visible elements before
    ///   it); and whether it is visible. Complexity: O(B log n).
    std::pair<std::uint64_t, bool> position_of(lv_t lv) const {
        const auto key = order_of(lv).first;
        const auto [hit, start] =
            tree_.template lookup<chars_key_dim>(key_target_chars{key}, crdt::btree::bias::left);
        if (hit == nullptr || hit->key != key) {
            throw std::logic_error("sequence: no run with the key the index gives");
        }
        if (hit->deleted != 0) {
            return {start.chars, false};
        }
        return {start.chars + (lv - hit->lv), true};
    }

    /// Returns: (key, lv) order position of element `lv` (for comparisons).
    std::pair<std::uint64_t, lv_t> order_of(lv_t lv) const {
        const auto it = index_.lower_bound(lv);
        CRDT_ASSERT(it != index_.end());
        return {it->second, lv};
    }

    /// Requires: T is char32_t.
    /// Returns: the visible position `x` counted in unit `from` (not
    ///   unit::lines), counted in unit `to`.
    /// Throws: crdt::error(invalid_value) if x is past the end or inside a
    ///   code point.
    std::uint64_t convert(std::uint64_t x, unit from, unit to) const {
        const auto [hit, start] =
            tree_.template lookup<all_dim>(unit_target{x, from}, crdt::btree::bias::right);
        if (hit == nullptr) {
            if (x != field(tree_.summary(), from)) {
                throw crdt::error(errc::invalid_value,
                                  "text: position " + std::to_string(x) + " is past the end");
            }
            return field(tree_.summary(), to);
        }
        std::uint64_t f = field(start.s, from);
        std::uint64_t t = field(start.s, to);
        const std::size_t base = hit->lv;
        for (lv_t i = 0; i < hit->len; ++i) {
            if (f >= x) {
                break;
            }
            const char32_t c = s_->content.get(base + i);
            f += unit_len(c, from);
            t += unit_len(c, to);
        }
        if (f != x) {
            throw crdt::error(errc::invalid_value,
                              "text: position " + std::to_string(x) + " is inside a code point");
        }
        return t;
    }

    /// Requires: T is char32_t. Returns: the code point position where line
    ///   `line` (0-based) starts. Throws: crdt::error(invalid_value) if there
    ///   are not that many lines.
    std::uint64_t line_start(std::uint64_t line) const {
        if (line == 0) {
            return 0;
        }
        const auto [hit, start] =
            tree_.template lookup<all_dim>(unit_target{line, unit::lines}, crdt::btree::bias::left);
        if (hit == nullptr || line > tree_.summary().lines) {
            throw crdt::error(errc::invalid_value,
                              "text: line " + std::to_string(line) + " does not exist");
        }
        std::uint64_t n = start.s.lines;
        std::uint64_t pos = start.s.chars;
        const std::size_t base = hit->lv;
        for (lv_t i = 0; i < hit->len; ++i) {
            ++pos;
            if (s_->content.get(base + i) == U'\n' && ++n == line) {
                break;
            }
        }
        return pos;
    }

    // ---- local edits ---------------------------------------------------------

    /// Effects: inserts the elements of the LVs [lv, lv + n) (acquired, with
    ///   their elements stored) at visible position `pos`.
    /// Returns: (origin_left, origin_right) of the new run.
    /// Requires: pos <= visible size; the LVs were newly allocated by this
    ///   local op (so no delete targets them yet).
    std::pair<lv_t, lv_t> local_insert(std::uint64_t pos, lv_t lv, std::size_t n) {
        // Typing on: the run the last insert grew still ends at `pos` and
        // the tree has not changed since (same stamp), so it is grown again
        // through its remembered path, without a seek.
        if (typing_.stamp == tree_.stamp() && pos == typing_.pos_end && lv == typing_.next_lv) {
            const run* hit = tree_.item_at(typing_.path);
            if (hit != nullptr && hit->key == typing_.key && continues(lv - 1, lv)) {
                const lv_t right = hit->origin_right;
                tree_.update(typing_.path, [grown = grown_by(*hit, static_cast<lv_t>(n), true)](
                                               run& x) { x = grown; });
                typing_.stamp = tree_.stamp();
                typing_.pos_end += n;
                typing_.next_lv += static_cast<lv_t>(n);
                return {lv - 1, right};
            }
        }
        for (;;) {
            if (pos == 0) {
                auto c = tree_.template cursor<key_dim>();
                const lv_t right = c.at_end() ? no_lv : c.item().lv;
                const auto key = between(0, c.at_end() ? key_max : c.item().key);
                if (!key) {
                    relabel();
                    continue;
                }
                insert_new(std::move(c), make_run(*key, lv, n, no_lv, right));
                return {no_lv, right};
            }
            auto c = tree_.template find<chars_dim>(pos, crdt::btree::bias::left);
            CRDT_ASSERT(!c.at_end());
            const run r = c.item();
            const auto off = static_cast<lv_t>(pos - c.start().value);
            const lv_t left = r.lv + off - 1;
            if (off < r.len) {
                // Split r after `left`; the new run goes between the halves.
                // (The cursor's share of the tree goes first: edits made
                // while it is alive would copy their paths.)
                c.release();
                if (!split(r.key, off)) {
                    relabel();
                    continue;
                }
                if (!insert_after(r.key, make_run(0, lv, n, left, r.lv + off))) {
                    relabel();
                    continue;
                }
                return {left, r.lv + off};
            }
            // One cursor, stepped to the next run and back (a cursor copy
            // costs its whole frame stack).
            c.next();
            const lv_t right = c.at_end() ? no_lv : c.item().lv;
            const std::uint64_t next_key = c.at_end() ? key_max : c.item().key;
            if (r.deleted == 0 && r.lv + r.len == lv && r.origin_right == right &&
                continues(r.lv + r.len - 1, lv)) {
                const run grown = grown_by(r, static_cast<lv_t>(n), true);
                c.prev();
                const auto path = tree_.path_of(c);
                tree_.replace(std::move(c), grown);
                typing_ = {path, tree_.stamp(), pos + n, lv + static_cast<lv_t>(n), r.key};
                return {left, right};
            }
            const auto key = between(r.key, next_key);
            if (!key) {
                relabel();
                continue;
            }
            insert_new(std::move(c), make_run(*key, lv, n, left, right));
            return {left, right};
        }
    }

    /// Effects: deletes the first piece of the visible elements [pos, pos +
    ///   n): the k of them that one run holds (consecutive LVs from
    ///   `target`), by the k deletes whose first LV is acquire(k) (which
    ///   acquires them in the op store; nothing changed if it throws).
    /// Returns: (target, k).
    /// Requires: pos + n <= visible size, n > 0.
    /// Complexity: O(B log n): one seek by position; a backspace or a forward
    ///   delete next to deleted text of the same insertion (the common
    ///   cases) joins it without splitting (see delete_in_run).
    template <class Acquire>
    std::pair<lv_t, std::size_t> local_erase(std::uint64_t pos, std::size_t n, Acquire acquire) {
        auto c = tree_.template find<chars_dim>(pos, crdt::btree::bias::right);
        CRDT_ASSERT(!c.at_end());
        const run r = c.item();
        const auto off = static_cast<lv_t>(pos - c.start().value);
        const auto k = static_cast<lv_t>(std::min<std::size_t>(n, r.len - off));
        const lv_t target = r.lv + off;
        const lv_t del = acquire(std::size_t{k});
        store_deletes(del, target, k);
        const lv_t last = del + k - 1;
        if (off > 0 && off + k == r.len && tail_joins_next(std::move(c), r, off, k, last)) {
            return {target, k};
        }
        if (off == 0 && k < r.len && head_joins_prev(std::move(c), r, k, last)) {
            return {target, k};
        }
        c.release(); // before editing: else each edit copies its path
        delete_split(r, off, k, last);
        return {target, k};
    }

    // ---- remote ops ----------------------------------------------------------

    /// Effects: integrates the run [lv, lv + n) (acquired, with its elements
    ///   stored) with the given origins by the yjsmod / FugueMax rule;
    ///   concurrent siblings are ordered by id (goes_before).
    /// Requires: the origins are inserts applied on this branch.
    void remote_insert(lv_t lv, std::size_t n, lv_t left, lv_t right) {
        for (;;) {
            // Make the origins run boundaries so the gap is whole runs.
            if (left != no_lv && !boundary_after(left)) {
                relabel();
                continue;
            }
            if (right != no_lv && !boundary_before(right)) {
                relabel();
                continue;
            }
            const std::pair<std::uint64_t, lv_t> right_pos =
                right == no_lv ? std::pair<std::uint64_t, lv_t>{key_max, 0} : order_of(right);
            const std::pair<std::uint64_t, lv_t> left_pos =
                left == no_lv ? std::pair<std::uint64_t, lv_t>{0, 0} : order_of(left);
            std::uint64_t dest_key = left_pos.first; // insert after the run with this key
            auto c = left == no_lv ? tree_.template cursor<key_dim>()
                                   : tree_.template find<key_dim>(key_target{left_pos.first},
                                                                  crdt::btree::bias::right);
            bool scanning = false;
            for (; !c.at_end(); c.next()) {
                const run& o = c.item();
                if (o.lv == right) {
                    break;
                }
                if (o.origin_left != left) {
                    if (o.origin_left == no_lv || less_pos(order_of(o.origin_left), left_pos)) {
                        break;
                    }
                } else {
                    const bool same_right = o.origin_right == right;
                    if (same_right && goes_before(lv, o.lv)) {
                        break;
                    }
                    scanning = !same_right && (o.origin_right != no_lv &&
                                               less_pos(order_of(o.origin_right), right_pos));
                }
                if (!scanning) {
                    dest_key = o.key;
                }
            }
            c.release(); // before editing: else each edit copies its path
            if (left != no_lv && dest_key == left_pos.first && grow_run(dest_key, lv, n, right)) {
                return; // typed on after its own run: no new run
            }
            if (!insert_after(dest_key, make_run(0, lv, n, left, right),
                              left == no_lv && dest_key == 0)) {
                relabel();
                continue;
            }
            return;
        }
    }

    /// Effects: appends the elements [lv, lv + n) to the run with key `key`
    ///   if they continue it: consecutive LVs and seqs of its agent, the
    ///   first inserted right after the run's last element, one
    ///   origin-right, the run not deleted. Returns: whether it did.
    bool grow_run(std::uint64_t key, lv_t lv, std::size_t n, lv_t right) {
        auto c = tree_.template find<key_dim>(key_target{key}, crdt::btree::bias::left);
        const run& r = c.item();
        if (r.key != key || r.deleted != 0 || r.lv + r.len != lv || r.origin_right != right ||
            !continues(lv - 1, lv)) {
            return false;
        }
        const run grown = grown_by(r, static_cast<lv_t>(n));
        tree_.replace(std::move(c), grown);
        return true;
    }

    /// Returns: run `r` grown by its next `n` LVs (they continue it): its
    ///   metrics, touch bound and witness bounds updated for them only.
    ///   `fresh`: the LVs were just allocated, so no delete targets them yet
    ///   (a local insert): the witness bounds need no lookup.
    run grown_by(const run& r, lv_t n, bool fresh = false) const {
        run grown = r;
        const lv_t lv = r.lv + r.len;
        grown.len += n;
        grown.m = plus(r.m, measure(lv, n));
        grown.touch_hi = std::max(grown.touch_hi, grown.lv + grown.len - 1);
        if (fresh) {
            grown.witness_hi = no_lv; // a live element; witness_lo = min(lo, no_lv) = lo
        } else {
            widen_witness(grown, lv, n);
        }
        return grown;
    }

    /// Effects: the deletes [del, del + n) (acquired; `fresh`: new in the op
    ///   store) delete the elements [target, target + n), one each, in order
    ///   (consecutive LVs of inserts applied here): records them in the op
    ///   store when fresh, marks the elements deleted on this branch
    ///   (elements deleted already stay so, their bounds widened), and
    ///   re-joins deleted runs that continue each other.
    /// Complexity: O(B log n) per run touched, plus O(len) for a run that
    ///   was deleted already (its witness bounds are recomputed).
    void erase_elements(lv_t del, lv_t target, std::size_t n, bool fresh) {
        if (fresh) {
            store_deletes(del, target, n);
        }
        while (n > 0) {
            const run r = run_of(target);
            const lv_t off = target - r.lv;
            const auto k = static_cast<lv_t>(std::min<std::size_t>(n, r.len - off));
            const lv_t last = del + k - 1;
            if (r.deleted != 0) {
                auto c = tree_.template find<key_dim>(key_target{r.key}, crdt::btree::bias::left);
                run u = c.item();
                u.touch_hi = std::max(u.touch_hi, last);
                set_witness(u);
                tree_.replace(std::move(c), u);
            } else {
                delete_in_run(r, off, k, last);
            }
            target += k;
            del += k;
            n -= k;
        }
    }

    /// The tie-break: a goes before b when its id is smaller (agent name, seq).
    bool goes_before(lv_t a, lv_t b) const {
        const auto ia = id_of(a);
        const auto ib = id_of(b);
        if (ia.first != ib.first) {
            return s_->agents[ia.first].name < s_->agents[ib.first].name;
        }
        return ia.second < ib.second;
    }

    // ---- checks ----------------------------------------------------------------

    /// Effects: checks every invariant. Throws: std::logic_error.
    void verify() const {
        tree_.verify();
        index_.verify();
        s_->first_delete.verify();
        std::uint64_t prev = 0;
        std::size_t runs = 0;
        if (s_->content.size() != op_count()) {
            throw std::logic_error("sequence: the element arena does not hold every LV");
        }
        std::vector<char> seen(op_count(), 0);
        for (const auto& [lo, hi] : applied_.intervals()) {
            if (hi > op_count()) {
                throw std::logic_error("sequence: an applied LV is not in the op store");
            }
            for (lv_t i = lo; i < hi; ++i) {
                seen[i] = 2; // applied here, in no run yet
            }
        }
        tree_.for_each([&](const run& r) {
            ++runs;
            if (r.key <= prev) {
                throw std::logic_error("sequence: keys not increasing");
            }
            prev = r.key;
            if (r.len == 0 || r.lv + r.len > op_count()) {
                throw std::logic_error("sequence: bad run");
            }
            if (id_span_end(r.lv) < r.lv + r.len) {
                throw std::logic_error("sequence: a run holds ids of more than one op span");
            }
            const auto* k = index_.get(r.lv);
            if (k == nullptr || *k != r.key) {
                throw std::logic_error("sequence: index does not map a run to its key");
            }
            for (lv_t i = r.lv; i < r.lv + r.len; ++i) {
                if (seen[i] != 2 || !s_->inserts[i]) {
                    throw std::logic_error(
                        "sequence: LV in two runs, not applied here, or a delete LV in a run");
                }
                seen[i] = 1;
            }
            const metrics m = measure(r.lv, r.len);
            if (m.utf8 != r.m.utf8 || m.utf16 != r.m.utf16 || m.lines != r.m.lines) {
                throw std::logic_error("sequence: stale run metrics");
            }
        });
        if (runs != index_.size()) {
            throw std::logic_error("sequence: index size differs from the run count");
        }
        for (std::size_t i = 0; i < op_count(); ++i) {
            if (s_->inserts[i] && seen[i] == 2) {
                throw std::logic_error("sequence: an inserted LV is in no run");
            }
        }
    }

private:
    static constexpr std::uint64_t key_max = std::numeric_limits<std::uint64_t>::max();

    struct shared_tag {};
    struct store;
    engine(shared_tag, std::shared_ptr<store> s) : s_(std::move(s)) {}

    /// Returns: the LV of (agent a, seq) in the op store, or no_lv.
    lv_t store_lv_of(std::uint32_t a, std::uint64_t seq) const {
        const auto& spans = s_->agents[a].spans;
        auto it =
            std::upper_bound(spans.begin(), spans.end(), seq,
                             [](std::uint64_t x, const agent_span& sp) { return x < sp.seq; });
        if (it == spans.begin()) {
            return no_lv;
        }
        --it;
        if (seq >= it->seq + it->len) {
            return no_lv;
        }
        return static_cast<lv_t>(it->lv + (seq - it->seq));
    }

    /// Effects: records in the id tables of `st` that agent `a`'s seqs
    ///   [seq, seq + n) are the LVs [lv, lv + n): extends the agent's last
    ///   span and the last LV span when they continue, else appends.
    static void note_ids(store& st, std::uint32_t a, std::uint64_t seq, lv_t lv, std::size_t n) {
        auto& spans = st.agents[a].spans;
        // Room first (geometric), so that nothing below can throw: a failed
        // allocation changes neither table.
        const auto room = [](auto& v) {
            if (v.size() == v.capacity()) {
                v.reserve(v.capacity() * 2 + 4);
            }
        };
        room(spans);
        room(st.lv_spans);
        if (!spans.empty() && spans.back().seq + spans.back().len == seq &&
            spans.back().lv + spans.back().len == lv) {
            spans.back().len += n;
        } else {
            spans.push_back({seq, lv, n});
        }
        if (st.lv_spans.empty() || st.lv_spans.back().agent != a ||
            st.lv_spans.back().seq + (lv - st.lv_spans.back().lv) != seq) {
            st.lv_spans.push_back({lv, a, seq});
        }
    }

    /// Effects: allocates `n` LVs in the op store for agent `a`, seqs [seq,
    ///   seq + n). Requires: seq == store_next_seq(a, ...).
    /// Returns: the first LV.
    lv_t allocate(std::uint32_t a, std::uint64_t seq, std::size_t n, bool insert, const T* values) {
        store& st = *s_;
        if (st.inserts.size() + n >= no_lv) {
            throw crdt::error(errc::counter_overflow, "sequence: more than 2^32 - 2 ops");
        }
        const auto lv = static_cast<lv_t>(st.inserts.size());
        // Each step that can run out of memory undoes the ones before, and
        // the ids are noted last: a failed allocation leaves no trace (else
        // the replica's next seq would be taken and its edits refused).
        if (values != nullptr) {
            st.content.append(values, n);
        } else {
            st.content.grow(n); // placeholders (deletes)
        }
        try {
            if (n == 1) {
                st.inserts.push_back(insert); // a keystroke: resize's generic fill is slower
            } else {
                st.inserts.resize(st.inserts.size() + n, insert);
            }
            try {
                note_ids(st, a, seq, lv, n);
            } catch (...) {
                st.inserts.resize(lv);
                throw;
            }
        } catch (...) {
            st.content.truncate(lv);
            throw;
        }
        return lv;
    }

    struct agent_span {
        std::uint64_t seq;
        lv_t lv;
        std::size_t len;
    };
    struct lv_span {
        lv_t lv;
        std::uint32_t agent;
        std::uint64_t seq;
    };
    /// Deletes [del, del + size()) of the elements target, target +- 1, ...
    /// (descending for backspaces: one span for a run of them).
    struct delete_span {
        static constexpr lv_t down_bit = lv_t{1} << 31;
        static constexpr lv_t max_len = down_bit - 1;
        lv_t del;    ///< first delete LV
        lv_t target; ///< the element it deletes
        lv_t bits;   ///< length, and down_bit when the targets descend
        lv_t size() const noexcept { return bits & max_len; }
        bool down() const noexcept { return (bits & down_bit) != 0; }
        lv_t target_of(lv_t d) const noexcept {
            return down() ? target - (d - del) : target + (d - del);
        }
    };
    struct agent_rec {
        Replica name;
        std::vector<agent_span> spans;
    };

    static bool less_pos(const std::pair<std::uint64_t, lv_t>& a,
                         const std::pair<std::uint64_t, lv_t>& b) noexcept {
        return a < b;
    }

    /// Whether LV b is the next seq of the same agent as LV a.
    bool continues(lv_t a, lv_t b) const {
        const auto ia = id_of(a);
        const auto ib = id_of(b);
        return ia.first == ib.first && ia.second + 1 == ib.second;
    }

    static metrics minus(const metrics& a, const metrics& b) noexcept {
        return {a.utf8 - b.utf8, a.utf16 - b.utf16, a.lines - b.lines};
    }
    static metrics plus(const metrics& a, const metrics& b) noexcept {
        return {a.utf8 + b.utf8, a.utf16 + b.utf16, a.lines + b.lines};
    }

    metrics measure(lv_t lv, lv_t len) const { return s_->content.measure(lv, len); }

    run make_run(std::uint64_t key, lv_t lv, std::size_t n, lv_t left, lv_t right) const {
        run r;
        r.key = key;
        r.lv = lv;
        r.len = static_cast<lv_t>(n);
        r.origin_left = left;
        r.origin_right = right;
        r.m = measure(lv, r.len);
        r.touch_hi = lv + r.len - 1;
        return r;
    }

    /// Effects: recomputes the witness bounds of `r` from the first deletes
    ///   of its elements. Complexity: O(len).
    void set_witness(run& r) const {
        r.witness_lo = no_lv;
        r.witness_hi = 0;
        first_delete_table::reader fd_of(s_->first_delete);
        for (lv_t i = r.lv; i < r.lv + r.len; ++i) {
            const lv_t d = fd_of.get(i);
            r.witness_lo = std::min(r.witness_lo, d);
            r.witness_hi = std::max(r.witness_hi, d);
        }
    }

    /// Effects: widens the witness bounds of `r` by the elements [lv, lv +
    ///   n) it has just grown by. Complexity: O(n).
    void widen_witness(run& r, lv_t lv, lv_t n) const {
        first_delete_table::reader fd_of(s_->first_delete);
        for (lv_t i = lv; i < lv + n; ++i) {
            const lv_t d = fd_of.get(i);
            r.witness_lo = std::min(r.witness_lo, d);
            r.witness_hi = std::max(r.witness_hi, d);
        }
    }

    /// Returns: the run with key `key` (which must exist).
    run run_at_key(std::uint64_t key) const {
        const run* hit =
            tree_.template lookup<key_dim>(key_target{key}, crdt::btree::bias::left).first;
        if (hit == nullptr || hit->key != key) {
            throw std::logic_error("sequence: no run with the key the index gives");
        }
        return *hit;
    }

    /// Returns: a key strictly between lo and hi, or nullopt if none.
    std::optional<std::uint64_t> between(std::uint64_t lo, std::uint64_t hi) noexcept {
        if (hi - lo < 2) {
            exhausted_at_ = lo;
            return std::nullopt;
        }
        const std::uint64_t step = std::min<std::uint64_t>((hi - lo) / 2, std::uint64_t{1} << 32);
        return lo + step;
    }

    template <class C>
    void insert_new(C&& at, const run& r) {
        tree_.insert(std::forward<C>(at), r);
        index_.insert(r.lv, r.key);
    }

    /// Effects: inserts r (its key chosen here) after the run with key `after`
    ///   (at the start when `at_start`). Returns: false when no key is free.
    bool insert_after(std::uint64_t after, run r, bool at_start = false) {
        auto c = at_start
                     ? tree_.template cursor<key_dim>()
                     : tree_.template find<key_dim>(key_target{after}, crdt::btree::bias::right);
        const auto key = between(at_start ? 0 : after, c.at_end() ? key_max : c.item().key);
        if (!key) {
            return false;
        }
        r.key = *key;
        insert_new(std::move(c), r);
        return true;
    }

    /// Effects: splits the run with key `key` before its element `off`
    ///   (0 < off < len). Returns: false when no key is free (nothing changed).
    bool split(std::uint64_t key, lv_t off) {
        auto c = tree_.template find<key_dim>(key_target{key}, crdt::btree::bias::left);
        const run r = c.item();
        CRDT_ASSERT(r.key == key && off > 0 && off < r.len);
        c.next();
        const auto rkey = between(key, c.at_end() ? key_max : c.item().key);
        if (!rkey) {
            return false;
        }
        run right = r;
        right.key = *rkey;
        right.lv = r.lv + off;
        right.len = r.len - off;
        right.origin_left = r.lv + off - 1;
        run left = r;
        left.len = off;
        // O(min(off, len - off)), not O(len): splitting one element off a
        // long run (typing, backspacing in a pasted block) stays cheap.
        // Metrics: measure the shorter half, subtract it from the whole.
        // Witness bounds: the whole run's bounds hold for each half (a
        // half's first deletes are among the run's), and bounds that are
        // too wide only make the visibility walk descend more.
        if (off <= r.len - off) {
            left.m = measure(left.lv, left.len);
            right.m = minus(r.m, left.m);
        } else {
            right.m = measure(right.lv, right.len);
            left.m = minus(r.m, right.m);
        }
        c.prev();
        tree_.replace_insert_after(std::move(c), left, right);
        index_.insert(right.lv, right.key);
        return true;
    }

    /// Effects: makes `lv` the last element of its run. Returns: false when
    ///   no key is free.
    bool boundary_after(lv_t lv) {
        const auto [key, l] = order_of(lv);
        (void)l;
        const run r = run_at_key(key);
        const lv_t off = lv - r.lv + 1;
        return off == r.len || split(r.key, off);
    }
    /// Effects: makes `lv` the first element of its run.
    bool boundary_before(lv_t lv) {
        const auto [key, l] = order_of(lv);
        (void)l;
        const run r = run_at_key(key);
        const lv_t off = lv - r.lv;
        return off == 0 || split(r.key, off);
    }

    /// Effects: marks elements [off, off + k) of run `r` deleted (by
    ///   deletes whose last LV is `last_del`), splitting it as needed, and
    ///   sets the deleted piece's touch and witness bounds.
    /// Returns: the key of the deleted piece, or nullopt when no key is free
    ///   (the run may then be split already; calling again with the run that
    ///   then holds the piece is safe).
    std::optional<std::uint64_t> mark_deleted(const run& r, lv_t off, lv_t k, lv_t last_del) {
        std::uint64_t key = r.key;
        if (off + k < r.len && !split(key, off + k)) {
            return std::nullopt;
        }
        if (off > 0) {
            if (!split(key, off)) {
                return std::nullopt;
            }
            key = order_of(r.lv + off).first;
        }
        auto c = tree_.template find<key_dim>(key_target{key}, crdt::btree::bias::left);
        run d = c.item();
        d.deleted = 1;
        d.touch_hi = std::max(d.touch_hi, last_del);
        set_witness(d);
        tree_.replace(std::move(c), d);
        return key;
    }

    /// Effects: deletes the live elements [off, off + k) of run `r` (by
    ///   deletes whose last LV is `last_del`, recorded in the store). The
    ///   common cases touch two runs and the index, with no split: a tail of
    ///   a run joining the deleted run after it (backspacing), a head
    ///   joining the deleted run before it (forward delete). Otherwise the
    ///   piece is split off, marked, its bounds set, and runs re-joined.
    void delete_in_run(const run& r, lv_t off, lv_t k, lv_t last_del) {
        if (off > 0 && off + k == r.len &&
            tail_joins_next(
                tree_.template find<key_dim>(key_target{r.key}, crdt::btree::bias::left), r, off, k,
                last_del)) {
            return;
        }
        if (off == 0 && k < r.len &&
            head_joins_prev(
                tree_.template find<key_dim>(key_target{r.key}, crdt::btree::bias::left), r, k,
                last_del)) {
            return;
        }
        delete_split(r, off, k, last_del);
    }

    /// Effects: the general case of delete_in_run: the piece [off, off + k)
    ///   of `r` is split off, marked deleted, its bounds set, and deleted
    ///   runs re-joined.
    void delete_split(const run& r, lv_t off, lv_t k, lv_t last_del) {
        const lv_t target = r.lv + off;
        std::optional<std::uint64_t> key = mark_deleted(r, off, k, last_del);
        while (!key) {
            relabel();
            const run cur = run_of(target);
            key = mark_deleted(cur, target - cur.lv, k, last_del);
        }
        join_deleted(*key, target + k);
    }

    /// Effects: if the deleted run after `r` continues the tail [off, off +
    ///   k) of `r`, moves that tail into it. Returns: whether it did.
    /// Requires: c is at `r`.
    template <class C>
    bool tail_joins_next(C&& c, const run& r, lv_t off, lv_t k, lv_t last_del) {
        c.next();
        if (c.at_end()) {
            return false;
        }
        const run n = c.item();
        const lv_t target = r.lv + off;
        run piece = r;
        piece.lv = target;
        piece.len = k;
        piece.origin_left = target - 1;
        piece.deleted = 1;
        if (!joinable(piece, n)) {
            return false;
        }
        const metrics pm = measure(target, k);
        run left = r;
        left.len = off;
        left.m = minus(r.m, pm);
        run grown = n;
        grown.lv = target;
        grown.len += k;
        grown.origin_left = target - 1;
        grown.m = plus(n.m, pm);
        grown.touch_hi = std::max(n.touch_hi, last_del);
        widen_witness(grown, target, k);
        c.prev();
        tree_.replace_pair(std::move(c), left, grown);
        index_.rekey(n.lv, target); // r.lv < target < n.lv: nothing between
        return true;
    }

    /// Effects: if the head [0, k) of `r` continues the deleted run before
    ///   it, moves that head into it. Returns: whether it did.
    /// Requires: c is at `r`.
    template <class C>
    bool head_joins_prev(C&& c, const run& r, lv_t k, lv_t last_del) {
        if (c.at_begin()) {
            return false; // r is the first run
        }
        c.prev();
        const run p = c.item();
        run piece = r;
        piece.len = k;
        piece.deleted = 1;
        if (!joinable(p, piece)) {
            return false;
        }
        const metrics pm = measure(r.lv, k);
        run grown = p;
        grown.len += k;
        grown.m = plus(p.m, pm);
        grown.touch_hi = std::max(p.touch_hi, last_del);
        widen_witness(grown, r.lv, k);
        run right = r;
        right.lv = r.lv + k;
        right.len = r.len - k;
        right.origin_left = r.lv + k - 1;
        right.m = minus(r.m, pm);
        tree_.replace_pair(std::move(c), grown, right);
        index_.rekey(r.lv, r.lv + k); // p.lv < r.lv < r.lv + k < next run's
        return true;
    }

private:
    /// Returns: the index (in document order) of the run with key `k`.
    std::uint64_t index_of_key(std::uint64_t k) const {
        return tree_
            .template lookup<crdt::btree::dims<key_dim, runs_dim>>(key_target{k},
                                                                   crdt::btree::bias::left)
            .second.template get<1>()
            .value;
    }
    /// Returns: the run at index `i` in document order.
    run run_at_index(std::uint64_t i) const {
        const run* hit = tree_.template lookup<runs_dim>(i, crdt::btree::bias::right).first;
        if (hit == nullptr) {
            throw std::logic_error("sequence: run index out of range");
        }
        return *hit;
    }

    /// Returns: whether run `b` continues run `a` so that they can be one
    ///   deleted run: both deleted, consecutive LVs and seqs of one agent,
    ///   b's first element inserted right after a's last, one origin-right.
    bool joinable(const run& a, const run& b) const {
        return a.deleted != 0 && b.deleted != 0 && a.lv + a.len == b.lv &&
               b.origin_left == b.lv - 1 && a.origin_right == b.origin_right &&
               continues(b.lv - 1, b.lv);
    }

    /// Effects: re-joins runs that splits separated and deletes made alike:
    ///   the run with key `key` with the run before it, then with the runs
    ///   after it while they are joinable and hold LVs below `until` (the
    ///   runs a delete just touched), then once more. A run of backspaces
    ///   thus stays one deleted run. Complexity: O(j B log n) for j joins.
    void join_deleted(std::uint64_t key, lv_t until) {
        // Joins b into a (a before b); returns the joined run (a's key).
        const auto join = [&](const run& a, const run& b) {
            run j = a;
            j.len += b.len;
            j.m.utf8 += b.m.utf8;
            j.m.utf16 += b.m.utf16;
            j.m.lines += b.m.lines;
            j.touch_hi = std::max(a.touch_hi, b.touch_hi);
            j.witness_lo = std::min(a.witness_lo, b.witness_lo);
            j.witness_hi = std::max(a.witness_hi, b.witness_hi);
            tree_.erase(tree_.template find<key_dim>(key_target{b.key}, crdt::btree::bias::left));
            index_.erase(b.lv);
            tree_.replace(tree_.template find<key_dim>(key_target{a.key}, crdt::btree::bias::left),
                          j);
            return j;
        };
        auto c = tree_.template find<key_dim>(key_target{key}, crdt::btree::bias::left);
        run r = c.item();
        if (r.deleted == 0) {
            return;
        }
        std::optional<run> before;
        if (!c.at_begin()) {
            c.prev();
            before = c.item();
            c.next();
        }
        c.next();
        std::optional<run> after = c.at_end() ? std::nullopt : std::optional<run>(c.item());
        c.release(); // before editing: else each edit copies its path
        if (before && joinable(*before, r)) {
            r = join(*before, r);
        }
        while (after && joinable(r, *after)) {
            const bool more = after->lv + after->len < until;
            r = join(r, *after);
            if (!more) {
                break;
            }
            auto n = tree_.template find<key_dim>(key_target{r.key}, crdt::btree::bias::left);
            n.next();
            after = n.at_end() ? std::nullopt : std::optional<run>(n.item());
        }
    }

    /// Effects: the op store part of erase_elements: first deletes, further
    ///   (concurrent) deletes, and the run-length delete -> target table.
    void store_deletes(lv_t del, lv_t target, std::size_t k) {
        s_->first_delete.set(target, static_cast<lv_t>(k), del,
                             [&](lv_t t, lv_t d) { s_->extra_deletes.emplace(t, d); });
        store_delete_spans(del, target, k);
    }

    /// Effects: the delete -> target part of store_deletes.
    void store_delete_spans(lv_t del, lv_t target, std::size_t k) {
        CRDT_ASSERT(s_->delete_spans.empty() ||
                    s_->delete_spans.back().del + s_->delete_spans.back().size() <= del);
        for (std::size_t done = 0; done < k;) {
            const lv_t d = del + static_cast<lv_t>(done);
            const lv_t t = target + static_cast<lv_t>(done);
            const auto n = static_cast<lv_t>(std::min<std::size_t>(k - done, delete_span::max_len));
            delete_span* last = s_->delete_spans.empty() ? nullptr : &s_->delete_spans.back();
            const lv_t len = last ? last->size() : 0;
            if (last && last->del + len == d && len + n <= delete_span::max_len) {
                if (!last->down() && last->target + len == t) {
                    last->bits += n; // ascending
                    done += n;
                    continue;
                }
                if ((last->down() || len == 1) && n == 1 && last->target >= len &&
                    last->target - len == t) {
                    last->bits = (len + 1) | delete_span::down_bit; // a backspace
                    done += 1;
                    continue;
                }
            }
            s_->delete_spans.push_back({d, t, n});
            done += n;
        }
    }

    /// Effects: as store_delete_spans(del + i, target - i, 1) for i = 0 ..
    ///   k - 1 (a descending stretch of targets, snapshot loading), in O(1)
    ///   amortized.
    void store_delete_spans_down(lv_t del, lv_t target, lv_t k) {
        store_delete_spans(del, target, 1);
        for (lv_t i = 1; i < k;) {
            delete_span& last = s_->delete_spans.back();
            const lv_t len = last.size();
            const lv_t room = delete_span::max_len - len;
            // The last span holds del + i - 1 (stored just before).
            if ((last.down() || len == 1) && room > 0 && last.target >= len &&
                last.target - len == target - i) {
                const lv_t n = std::min(k - i, room);
                last.bits = (len + n) | delete_span::down_bit; // backspaces
                i += n;
            } else {
                s_->delete_spans.push_back({del + i, target - i, 1});
                ++i;
            }
        }
    }

    /// Returns: the metrics of the code points p[0, n), each below 0x100:
    ///   eight at a time, counted in the bytes of a word (SWAR).
    static metrics measure_bytes(const std::uint8_t* p, lv_t n) noexcept {
        constexpr std::uint64_t ones = 0x0101010101010101u;
        constexpr std::uint64_t low7 = 0x7F7F7F7F7F7F7F7Fu;
        std::uint32_t wide = 0;
        std::uint32_t lines = 0;
        lv_t i = 0;
        while (n - i >= 8) {
            // A 1 in the low bit of each byte that counts, summed in the
            // bytes of acc_*; 31 words at most, so that the sum of their
            // bytes (taken by the multiplication) stays below 256.
            std::uint64_t acc_wide = 0;
            std::uint64_t acc_lines = 0;
            const lv_t stop = i + 8 * std::min<lv_t>((n - i) / 8, 31);
            for (; i < stop; i += 8) {
                std::uint64_t w = 0;
                std::memcpy(&w, p + i, 8);
                acc_wide += (w >> 7) & ones;
                const std::uint64_t z = w ^ (ones * '\n'); // 0 where '\n'
                acc_lines += (~(((z & low7) + low7) | z) >> 7) & ones;
            }
            wide += static_cast<std::uint32_t>((acc_wide * ones) >> 56);
            lines += static_cast<std::uint32_t>((acc_lines * ones) >> 56);
        }
        for (; i < n; ++i) {
            wide += static_cast<std::uint32_t>(p[i] >= 0x80);
            lines += static_cast<std::uint32_t>(p[i] == '\n');
        }
        return metrics{n + wide, n, lines};
    }

    /// Returns: measure(lv, len), counted without branches per element
    ///   (snapshot loading: a run tree built at once).
    metrics measure_loaded(lv_t lv, lv_t len) const {
        if constexpr (std::is_same_v<T, char32_t>) {
            return s_->content.visit_data([&](const auto* data) {
                const auto* p = data + lv;
                if constexpr (sizeof(*data) == 1) {
                    return measure_bytes(p, len);
                } else {
                    std::uint32_t wide8 = 0;
                    std::uint32_t wide16 = 0;
                    std::uint32_t lines = 0;
                    for (lv_t i = 0; i < len; ++i) {
                        const auto c = static_cast<std::uint32_t>(p[i]);
                        wide8 += static_cast<std::uint32_t>(c >= 0x80) +
                                 static_cast<std::uint32_t>(c >= 0x800) +
                                 static_cast<std::uint32_t>(c >= 0x10000);
                        wide16 += static_cast<std::uint32_t>(c >= 0x10000);
                        lines += static_cast<std::uint32_t>(c == U'\n');
                    }
                    return metrics{len + wide8, len + wide16, lines};
                }
            });
        } else {
            return measure(lv, len);
        }
    }

public:
    /// Returns: whether element `x` (an insert) is visible at `v`.
    template <class Version>
    bool visible_at(lv_t x, const Version& v) const {
        return v.contains(x) && visible_given(x, s_->first_delete.get(x), v);
    }
    /// Returns: visible_at(x, v), reading the first delete through `fd` (a
    ///   reader of this engine's first-delete table: O(1) per LV for LVs
    ///   walked upwards).
    template <class Version>
    bool visible_at(lv_t x, const Version& v, first_delete_table::reader& fd) const {
        return v.contains(x) && visible_given(x, fd.get(x), v);
    }

private:
    /// Returns: whether the element `x` (in v) with first delete `d` is
    ///   visible at v.
    template <class Version>
    bool visible_given(lv_t x, lv_t d, const Version& v) const {
        if (d == no_lv) {
            return true;
        }
        if (v.contains(d)) {
            return false;
        }
        const auto range = s_->extra_deletes.equal_range(x);
        for (auto it = range.first; it != range.second; ++it) {
            if (v.contains(it->second)) {
                return false;
            }
        }
        return true;
    }

public:
    /// Effects: calls out(lo, hi) for the LV intervals of agent `a`'s ops
    ///   with from <= seq < end, in seq order. Complexity: O(log s + k) for s
    ///   spans of the agent, k of them in the range.
    template <class Out>
    void lv_ranges(std::uint32_t a, std::uint64_t from, std::uint64_t end, Out out) const {
        const auto& spans = s_->agents[a].spans;
        auto it =
            std::upper_bound(spans.begin(), spans.end(), from,
                             [](std::uint64_t x, const agent_span& sp) { return x < sp.seq; });
        if (it != spans.begin()) {
            --it;
        }
        for (; it != spans.end() && it->seq < end; ++it) {
            const std::uint64_t lo = std::max(from, it->seq);
            const std::uint64_t hi = std::min<std::uint64_t>(end, it->seq + it->len);
            if (lo < hi) {
                out(static_cast<lv_t>(it->lv + (lo - it->seq)),
                    static_cast<lv_t>(it->lv + (hi - it->seq)));
            }
        }
    }

    /// Effects: calls, in LV order, for the ops with LVs in [lo, hi) cut into
    ///   maximal spans that are one op each (one agent, consecutive seqs):
    ///   on_insert(lv, n, origin_left, origin_right) for the inserts [lv, lv +
    ///   n), the first after origin_left, each next after the previous one,
    ///   all before origin_right (the origins they were inserted with; no_lv
    ///   for the start / end), and on_erase(lv, n, target) for the deletes
    ///   [lv, lv + n) of the elements [target, target + n) (consecutive ids).
    /// Requires: lo <= hi <= op_count().
    /// Complexity: O(B log n) per span.
    template <class OnInsert, class OnErase>
    void for_each_op(lv_t lo, lv_t hi, OnInsert on_insert, OnErase on_erase) const {
        lv_t lv = lo;
        while (lv < hi) {
            const lv_t lim = std::min(hi, id_span_end(lv));
            if (s_->inserts[lv]) {
                run r = run_of(lv);
                const lv_t left = lv == r.lv ? r.origin_left : lv - 1;
                const lv_t right = r.origin_right;
                lv_t end = std::min<lv_t>(lim, r.lv + r.len);
                // Runs split after insertion continue the same op.
                while (end < lim && s_->inserts[end]) {
                    r = run_of(end);
                    if (r.lv != end || r.origin_left != end - 1 || r.origin_right != right) {
                        break;
                    }
                    end = std::min<lv_t>(lim, r.lv + r.len);
                }
                on_insert(lv, end - lv, left, right);
                lv = end;
            } else {
                const auto it =
                    std::upper_bound(s_->delete_spans.begin(), s_->delete_spans.end(), lv,
                                     [](lv_t x, const delete_span& d) { return x < d.del; });
                CRDT_ASSERT(it != s_->delete_spans.begin());
                const delete_span& d = *(it - 1);
                const lv_t target = d.target_of(lv);
                // Targets must be consecutive ids too (one id span); the
                // deletes of descending targets are one op each.
                const lv_t n =
                    d.down()
                        ? 1
                        : std::min({lim - lv, d.del + d.size() - lv, id_span_end(target) - target});
                on_erase(lv, n, target);
                lv += n;
            }
        }
    }

    /// Returns: the run holding the inserted element `lv`.
    run run_of(lv_t lv) const { return run_at_key(order_of(lv).first); }

    /// Returns: one past the last LV of the id span holding `lv` (the LVs
    ///   after `lv` with consecutive seqs of its agent).
    lv_t id_span_end(lv_t lv) const {
        auto it = std::upper_bound(s_->lv_spans.begin(), s_->lv_spans.end(), lv,
                                   [](lv_t l, const lv_span& x) { return l < x.lv; });
        return it == s_->lv_spans.end() ? static_cast<lv_t>(op_count()) : it->lv;
    }

    /// The visibility classifier of research/zed-sumtree.md 5.8 for version v.
    template <class Version>
    static crdt::btree::visit classify(const run_summary& hot, const run_cold& cold,
                                       const Version& v) {
        if (cold.ins_lo > cold.ins_hi || !v.intersects(cold.ins_lo, cold.ins_hi)) {
            return crdt::btree::visit::skip; // nothing inserted at v
        }
        if (v.covers(cold.ins_lo, cold.touch_hi)) { // unchanged since v
            return hot.chars == 0 ? crdt::btree::visit::skip : crdt::btree::visit::take_whole;
        }
        if (cold.witness_hi != no_lv && v.covers(cold.witness_lo, cold.witness_hi)) {
            return crdt::btree::visit::skip; // every element deleted at v
        }
        return crdt::btree::visit::descend;
    }

    /// Effects: calls out(const T* data, std::size_t n) for the elements
    ///   visible at v, in order, in spans found by the three-way walk
    ///   (maximal ones, cut in pieces of a few hundred elements where the
    ///   arena stores them narrower than T); out may return false to stop.
    template <class Version, class Out>
    void visit_at(const Version& v, Out out) const {
        visit_lvs_at(v, [&](lv_t lv, std::size_t n) {
            return s_->content.for_each_span(lv, n, [&](const T* p, std::size_t k) {
                if constexpr (std::is_same_v<decltype(out(p, k)), bool>) {
                    return out(p, k);
                } else {
                    out(p, k);
                    return true;
                }
            });
        });
    }

    /// Effects: appends the elements visible at v to `out`, in order (what
    ///   visit_at hands out, copied once).
    template <class Version>
    void append_at(const Version& v, std::vector<T>& out) const {
        visit_lvs_at(v, [&](lv_t lv, std::size_t n) {
            s_->content.append_to(out, lv, n);
            return true;
        });
    }

    /// Effects: calls emit(lv_t lv, std::size_t n) -> bool for the elements
    ///   visible at v, in order, as maximal spans of consecutive insert LVs
    ///   [lv, lv + n) found by the three-way walk; emit may return false to
    ///   stop.
    template <class Version, class Emit>
    void visit_lvs_at(const Version& v, Emit emit) const {
        first_delete_table::reader fd(s_->first_delete); // shared by the leaves
        tree_.template walk<chars_dim>(
            [&](const run_summary& hot, const run_cold& cold) { return classify(hot, cold, v); },
            [&](const chars_dim& start, const run_summary& whole) {
                // The subtree's current visible elements are its elements at v.
                std::uint64_t left = whole.chars;
                auto c = tree_.template find<chars_dim>(start.value, crdt::btree::bias::right);
                std::uint64_t off = start.value - c.start().value;
                for (; left > 0 && !c.at_end(); c.next(), off = 0) {
                    const run& r = c.item();
                    if (r.deleted != 0) {
                        continue;
                    }
                    const std::uint64_t n = std::min<std::uint64_t>(left, r.len - off);
                    if (!emit(static_cast<lv_t>(r.lv + off), static_cast<std::size_t>(n))) {
                        return false;
                    }
                    left -= n;
                }
                return true;
            },
            [&](const chars_dim&, const run& r) {
                lv_t i = r.lv;
                const lv_t end = r.lv + r.len;
                while (i < end) {
                    if (!visible_at(i, v, fd)) {
                        ++i;
                        continue;
                    }
                    lv_t j = i + 1;
                    while (j < end && visible_at(j, v, fd)) {
                        ++j;
                    }
                    if (!emit(i, j - i)) {
                        return false;
                    }
                    i = j;
                }
                return true;
            },
            chars_dim{});
    }

    /// The edits between two versions, as spans of (kind, elements).
    enum class edit_kind : std::uint8_t { retain, insert, erase };

    /// Effects: calls out(edit_kind, const T* data, std::size_t n) for the
    ///   spans that turn the document at v1 into the document at v2, in
    ///   order (retain: in both; insert: only at v2; erase: only at v1); a
    ///   span may come in several pieces (see visit_at).
    template <class Version, class Out>
    void diff(const Version& v1, const Version& v2, Out out) const {
        first_delete_table::reader fd(s_->first_delete); // shared by the leaves
        const auto emit = [&](edit_kind k, lv_t lv, std::size_t n) {
            s_->content.for_each_span(lv, n, [&](const T* p, std::size_t m) {
                out(k, p, m);
                return true;
            });
        };
        tree_.template walk<chars_dim>(
            [&](const run_summary& hot, const run_cold& cold) {
                const auto a = classify(hot, cold, v1);
                const auto b = classify(hot, cold, v2);
                if (a == crdt::btree::visit::skip && b == crdt::btree::visit::skip) {
                    return crdt::btree::visit::skip;
                }
                if (a == crdt::btree::visit::take_whole && b == crdt::btree::visit::take_whole) {
                    return crdt::btree::visit::take_whole;
                }
                return crdt::btree::visit::descend;
            },
            [&](const chars_dim& start, const run_summary& whole) {
                std::uint64_t left = whole.chars;
                auto c = tree_.template find<chars_dim>(start.value, crdt::btree::bias::right);
                std::uint64_t off = start.value - c.start().value;
                for (; left > 0 && !c.at_end(); c.next(), off = 0) {
                    const run& r = c.item();
                    if (r.deleted != 0) {
                        continue;
                    }
                    const std::uint64_t n = std::min<std::uint64_t>(left, r.len - off);
                    emit(edit_kind::retain, static_cast<lv_t>(r.lv + off),
                         static_cast<std::size_t>(n));
                    left -= n;
                }
            },
            [&](const chars_dim&, const run& r) {
                lv_t i = r.lv;
                const lv_t end = r.lv + r.len;
                const auto kind_of = [&](lv_t x) -> int {
                    const bool a = visible_at(x, v1, fd);
                    const bool b = visible_at(x, v2, fd);
                    return a && b ? 0 : b ? 1 : a ? 2 : 3;
                };
                while (i < end) {
                    const int k = kind_of(i);
                    lv_t j = i + 1;
                    while (j < end && kind_of(j) == k) {
                        ++j;
                    }
                    if (k != 3) {
                        emit(static_cast<edit_kind>(k), i, static_cast<std::size_t>(j - i));
                    }
                    i = j;
                }
            },
            chars_dim{});
    }

private:
    /// Effects: respaces the keys of the smallest window of runs around the
    ///   run with key exhausted_at_ (doubling from 16 runs) whose key range
    ///   leaves at least min_spacing between neighbours, as in list-labelling
    ///   order maintenance. Complexity: O(w log n) for a window of w runs.
    void relabel() {
        constexpr std::uint64_t min_spacing = std::uint64_t{1} << 24;
        const std::uint64_t total = tree_.summary().runs;
        std::uint64_t i = 0; // index of the run with key exhausted_at_
        if (exhausted_at_ != 0) {
            i = index_of_key(exhausted_at_);
        }
        const auto key_of = [&](std::uint64_t j) { return run_at_index(j).key; };
        std::uint64_t i0 = 0;
        std::uint64_t i1 = total;
        std::uint64_t lo = 0;
        std::uint64_t hi = key_max;
        for (std::uint64_t w = 16;; w *= 2) {
            i0 = i >= w / 2 ? i - w / 2 : 0;
            i1 = std::min(total, i0 + w);
            lo = i0 == 0 ? 0 : key_of(i0 - 1);
            hi = i1 == total ? key_max : key_of(i1);
            if ((hi - lo) / (i1 - i0 + 1) >= min_spacing || (i0 == 0 && i1 == total)) {
                break;
            }
        }
        const std::uint64_t spacing = (hi - lo) / (i1 - i0 + 1);
        if (spacing < 2) {
            throw crdt::error(errc::counter_overflow, "sequence: too many runs for 64-bit keys");
        }
        run_tree prefix;
        run_tree middle;
        run_tree suffix;
        {
            auto c = tree_.template cursor<runs_dim>();
            prefix = c.slice(i0, crdt::btree::bias::right);
            middle = c.slice(i1, crdt::btree::bias::right);
            suffix = c.suffix();
        }
        std::vector<run> runs;
        runs.reserve(static_cast<std::size_t>(i1 - i0));
        middle.for_each([&](const run& r) { runs.push_back(r); });
        for (std::size_t k = 0; k < runs.size(); ++k) {
            runs[k].key = lo + spacing * (k + 1);
            index_.insert_or_assign(runs[k].lv, runs[k].key);
        }
        tree_ = run_tree();
        middle = run_tree();
        prefix.append(run_tree::build(runs.begin(), runs.end()));
        prefix.append(std::move(suffix));
        tree_ = std::move(prefix);
    }

    using index_type = btree_map<lv_t, std::uint64_t, std::greater<lv_t>>;

    /// The op store: everything known about ops by LV, append-only, shared
    /// by every branch of one document (fork()).
    struct store {
        element_arena<T> content;      ///< LV -> element (placeholders for deletes)
        std::vector<bool> inserts;     ///< LV -> insert (true) or delete, one bit each
        std::vector<agent_rec> agents; ///< agent index -> name and seq spans
        std::map<Replica, std::uint32_t> agent_index;
        std::vector<lv_span> lv_spans;           ///< LV -> id, run-length
        first_delete_table first_delete;         ///< insert LV -> its first delete (no_lv: none)
        std::multimap<lv_t, lv_t> extra_deletes; ///< insert LV -> further (concurrent) deletes
        std::vector<delete_span> delete_spans;   ///< delete LV -> target, run-length, by LV
    };

    std::shared_ptr<store> s_ = std::make_shared<store>(); ///< never null
    run_tree tree_;                                        ///< this branch's runs in document order
    index_type index_;               ///< first LV of a run -> its key (floor lookups)
    std::uint64_t exhausted_at_ = 0; ///< the key after which between() found no room
    std::vector<std::uint64_t>
        next_;       ///< agent index -> one past its last seq applied here (0: none)
    lv_set applied_; ///< the LVs applied on this branch

    /// Where typing goes on (local_insert's fast path): the path of the run
    /// the last local insert grew, valid while the tree keeps `stamp`; the
    /// visible position after the run, the LV that would continue it, its
    /// key. Copies of the engine start without one (stamp 0 is never a
    /// tree's).
    struct typing_hint {
        run_tree::item_path path;
        std::uint64_t stamp = 0;
        std::uint64_t pos_end = 0;
        lv_t next_lv = no_lv;
        std::uint64_t key = 0;
    };
    typing_hint typing_;
};

} // namespace detail::seq
CRDT_END_NAMESPACE
