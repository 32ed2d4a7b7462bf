// crdt/btree/btree_map.hpp -- crdt::btree_map<K, V>, a persistent ordered map
// built on the summarized B-tree (like Zed's TreeMap on SumTree).
//
// Items are (key, value) pairs in key order; the summary of a subtree is its
// last key and its entry count, so a lookup descends by comparing the key
// with the last key of each child, and size() is the root's count.
//
// Differences from std::map:
//   * copying is O(1) and yields a snapshot; editing a copy never changes the
//     original (copy-on-write nodes);
//   * iterators are const and are invalidated by any edit of the map they came
//     from (not of its copies); there are no node handles and no hint inserts;
//   * keys and values are stored by value in B-tree leaves: K must be
//     default-constructible and copyable, V copyable; entries move on insert
//     and erase (no reference stability);
//   * erase(key) and insert return counts / bools instead of iterators.
//
// Complexity (n entries, B fan-out): find/insert/erase O(B log_B n), copy
// O(1), iteration O(1) amortized per entry, range(lo, hi) O(B log_B n) to
// position. Thread safety: const members are safe concurrently; copies may be
// edited on different threads (atomic_refcount policy, the default).
// Exception safety: as crdt::btree::tree (strong for copies, basic for the
// edited map when a K or V copy throws mid-edit).
#pragma once

#include <crdt/btree/btree_defaults.hpp>
#include <crdt/btree/cursor.hpp>
#include <crdt/btree/summary.hpp>
#include <crdt/btree/tree.hpp>
#include <crdt/core/config.hpp>
#include <crdt/core/error.hpp>

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <iterator>
#include <ranges>
#include <type_traits>
#include <utility>
#include <vector>

CRDT_BEGIN_NAMESPACE

namespace detail::btree {

/// The summary of a btree_map subtree: its last key and its entry count.
template <class K>
struct map_summary {
    K last{};
    std::uint64_t count = 0;
    friend bool operator==(const map_summary&, const map_summary&) = default;
};

template <class K, class V>
struct map_traits {
    using item_type = std::pair<K, V>;
    using summary_type = map_summary<K>;
    static summary_type summarize(const item_type& e) { return {e.first, 1}; }
    static summary_type zero() { return {}; }
    static void combine(summary_type& acc, const summary_type& rhs) {
        if (rhs.count != 0) {
            acc.last = rhs.last;
            acc.count += rhs.count;
        }
    }
    /// Patching (see crdt/btree/summary.hpp): replacing one entry keeps the
    /// count; the last key changes only if the entry is the subtree's last,
    /// which, keys being unique, is when the subtree's last key equals the
    /// entry's. Only for keys whose == is identity (integers, enums,
    /// pointers): a comparator may tell apart keys that == calls equal
    /// (-0.0 and +0.0 under std::strong_order), so other keys refold.
    static bool patch(summary_type& acc, const summary_type& o, const summary_type& n) {
        if constexpr (std::is_integral_v<K> || std::is_enum_v<K> || std::is_pointer_v<K>) {
            if (acc.count == 0 || o.count != 1 || n.count != 1) {
                return false;
            }
            if (acc.last == o.last) {
                acc.last = n.last;
            }
            return true;
        } else {
            (void)acc;
            (void)o;
            (void)n;
            return false;
        }
    }
};

} // namespace detail::btree

template <class K, class V, class Compare = std::less<K>, class Policy = btree::btree_defaults>
class btree_map {
    using traits = detail::btree::map_traits<K, V>;
    using tree_t = btree::tree<traits, Policy>;
    using pm = detail::btree::params<traits, Policy>;
    using alg = detail::btree::node_algorithms<pm>;
    using ops = detail::btree::node_ops<pm>;
    using node_t = detail::btree::node<pm>;
    using ptr = detail::btree::node_ptr<pm>;

    static_assert(std::default_initializable<K>,
                  "crdt::btree_map: K must be default-constructible (the summary stores a key)");
    static_assert(std::copyable<K> && std::copyable<V>,
                  "crdt::btree_map: keys and values are stored by value and must be copyable");

public:
    using key_type = K;
    using mapped_type = V;
    using value_type = std::pair<K, V>;
    using key_compare = Compare;
    using size_type = std::size_t;
    using const_iterator = typename tree_t::const_iterator;
    using iterator = const_iterator;

    /// Effects: an empty map. Complexity: O(1).
    btree_map() = default;
    explicit btree_map(Compare cmp) : cmp_(std::move(cmp)) {}
    /// Effects: inserts each pair (the first of equal keys wins).
    /// Complexity: O(n log n); O(n) when the input is sorted with unique keys.
    btree_map(std::initializer_list<value_type> init, Compare cmp = Compare())
        : cmp_(std::move(cmp)) {
        insert_range(init);
    }

    /// Effects: inserts each pair of r whose key is absent. Complexity: O(n)
    /// (bulk build) into an empty map from sorted unique keys, otherwise
    /// O(n log n).
    template <std::ranges::input_range R>
    void insert_range(R&& r) {
        std::vector<value_type> v(std::ranges::begin(r), std::ranges::end(r));
        bool sorted_unique = true;
        for (std::size_t i = 1; i < v.size() && sorted_unique; ++i) {
            sorted_unique = cmp_(v[i - 1].first, v[i].first);
        }
        if (empty() && sorted_unique) {
            t_ = tree_t::build(v.begin(), v.end());
            return;
        }
        for (auto& e : v) {
            insert(std::move(e.first), std::move(e.second));
        }
    }

    /// Requires: [first, last) yields pairs whose keys strictly increase
    ///   under the comparator.
    /// Effects: replaces the content by those pairs, built bottom-up (no
    ///   intermediate copy). Complexity: O(n).
    template <std::input_iterator It, std::sentinel_for<It> Sent>
    void assign_sorted_unique(It first, Sent last) {
        t_ = tree_t::build(std::move(first), std::move(last));
    }

    size_type size() const noexcept { return static_cast<size_type>(t_.summary().count); }
    bool empty() const noexcept { return t_.empty(); }

    const_iterator begin() const { return t_.begin(); }
    const_iterator end() const noexcept { return t_.end(); }

    /// Returns: a pointer to the value of `key`, or null. Valid until this map
    /// is edited. Complexity: O(B log n), no allocation.
    const V* get(const K& key) const {
        const node_t* n = t_.root_.get();
        if (n == nullptr) {
            return nullptr;
        }
        while (n->height > 0) {
            const auto* in = ops::as_internal(n);
            std::size_t i = 0;
            while (i < in->count && cmp_(in->sum(i).last, key)) {
                ++i;
            }
            if (i == in->count) {
                return nullptr;
            }
            n = in->children[i];
        }
        const auto* l = ops::as_leaf(n);
        for (std::size_t i = 0; i < l->count; ++i) {
            const auto& e = l->item(i);
            if (!cmp_(e.first, key)) {
                return cmp_(key, e.first) ? nullptr : &e.second;
            }
        }
        return nullptr;
    }
    bool contains(const K& key) const { return get(key) != nullptr; }

    /// Returns: an iterator to the entry with `key`, or end().
    const_iterator find(const K& key) const {
        const_iterator it = lower_bound(key);
        return it != end() && !cmp_(key, it->first) ? it : end();
    }
    /// Returns: the first entry whose key is not less than `key`.
    const_iterator lower_bound(const K& key) const { return bound(key, false); }
    /// Returns: the first entry whose key is greater than `key`.
    const_iterator upper_bound(const K& key) const { return bound(key, true); }

    /// A view of consecutive entries [begin(), end()) (a borrowed range: valid
    /// while the map is unedited).
    class range_view {
    public:
        range_view() = default;
        range_view(const_iterator first, const_iterator last) : first_(first), last_(last) {}
        const_iterator begin() const noexcept { return first_; }
        const_iterator end() const noexcept { return last_; }
        bool empty() const noexcept { return first_ == last_; }

    private:
        const_iterator first_;
        const_iterator last_;
    };

    /// Returns: the entries with lo <= key < hi, as a view.
    /// Complexity: O(B log n) to position, then O(1) amortized per entry.
    range_view range(const K& lo, const K& hi) const {
        if (!cmp_(lo, hi)) {
            return {end(), end()};
        }
        return {lower_bound(lo), lower_bound(hi)};
    }

    /// Effects: inserts (key, value) if key is absent. Returns: true if
    /// inserted. Complexity: O(B log n); in place when unshared.
    bool insert(K key, V value) { return put(std::move(key), std::move(value), false); }
    /// Effects: inserts or overwrites. Returns: true if inserted.
    bool insert_or_assign(K key, V value) { return put(std::move(key), std::move(value), true); }

    /// Effects: if `from` is present, gives its entry the key `to`, in
    ///   place (the value and the entry's position stay).
    /// Returns: false if `from` is absent (nothing changes), else true.
    /// Throws: crdt::error(invalid_value) if `to` is not strictly between
    ///   the keys of the entries before and after `from` (the map is
    ///   unchanged): the entry may not move.
    /// Complexity: O(B log n), no allocation when unshared; cheaper than
    ///   erase(from) then insert(to, value), which may merge and split nodes.
    bool rekey(const K& from, K to) {
        path p;
        if (!locate(from, p)) {
            return false;
        }
        const node_t* up[pm::max_depth];
        const node_t* n = t_.root_.get();
        for (std::size_t d = 0; d + 1 < p.depth; ++d) {
            up[d] = n;
            n = ops::as_internal(n)->children[p.idx[d]];
        }
        const auto* leaf = ops::as_leaf(n);
        const std::size_t i = p.idx[p.depth - 1];
        const K* before = i > 0 ? &leaf->item(i - 1).first : nullptr;
        const K* after = i + 1 < leaf->count ? &leaf->item(i + 1).first : nullptr;
        for (std::size_t d = p.depth - 1; d-- > 0 && (before == nullptr || after == nullptr);) {
            const auto* in = ops::as_internal(up[d]);
            if (before == nullptr && p.idx[d] > 0) {
                before = &in->sum(p.idx[d] - 1u).last; // the last key left of the path
            }
            if (after == nullptr && p.idx[d] + 1u < in->count) {
                const node_t* m = in->children[p.idx[d] + 1u];
                while (m->height > 0) {
                    m = ops::as_internal(m)->children[0];
                }
                after = &ops::as_leaf(m)->item(0).first; // the first key right of it
            }
        }
        if ((before != nullptr && !cmp_(*before, to)) || (after != nullptr && !cmp_(to, *after))) {
            throw crdt::error(errc::invalid_value,
                              "btree_map::rekey: the new key is not between the keys of the "
                              "neighbouring entries (the entry would move)");
        }
        t_.root_.make_unique();
        auto set_key = [&to](value_type& e) { e.first = std::move(to); };
        try {
            alg::update_at(t_.root_.get(), p.idx, set_key);
        } catch (...) {
            refresh(); // the nodes are valid (update_at); keep the total in step
            throw;
        }
        refresh();
        return true;
    }

    /// Effects: removes key if present. Returns: the number removed (0 or 1).
    size_type erase(const K& key) {
        path p;
        if (!locate(key, p)) {
            return 0;
        }
        t_.root_.make_unique();
        alg::erase_at(t_.root_.get(), p.idx);
        alg::normalize_root(t_.root_);
        refresh();
        return 1;
    }

    /// Effects: removes every entry. Complexity: O(1) (nodes freed when no
    /// snapshot shares them).
    void clear() noexcept { t_ = tree_t(); }

    /// Returns: the underlying summarized tree (O(1), shared).
    const tree_t& tree() const noexcept { return t_; }

    /// Effects: checks the tree invariants and the key order.
    /// Throws: std::logic_error on a violation. Complexity: O(n).
    void verify() const {
        t_.verify();
        const value_type* prev = nullptr;
        for (const value_type& e : t_) {
            if (prev != nullptr && !cmp_(prev->first, e.first)) {
                alg::fail("btree_map keys out of order or duplicated");
            }
            prev = &e;
        }
    }

private:
    struct path {
        std::uint16_t idx[pm::max_depth];
        std::size_t depth = 0;
    };

    /// Fills p with the path to the first entry not less than key (leaf index
    /// may equal the leaf's count: after the last entry). Returns: true if
    /// that entry's key is equivalent to key.
    bool locate(const K& key, path& p) const {
        const node_t* n = t_.root_.get();
        p.depth = 0;
        if (n == nullptr) {
            return false;
        }
        while (n->height > 0) {
            const auto* in = ops::as_internal(n);
            std::size_t i = 0;
            while (i + 1 < in->count && cmp_(in->sum(i).last, key)) {
                ++i;
            }
            p.idx[p.depth++] = static_cast<std::uint16_t>(i);
            n = in->children[i];
        }
        const auto* l = ops::as_leaf(n);
        std::size_t i = 0;
        while (i < l->count && cmp_(l->item(i).first, key)) {
            ++i;
        }
        p.idx[p.depth++] = static_cast<std::uint16_t>(i);
        return i < l->count && !cmp_(key, l->item(i).first);
    }

    const_iterator bound(const K& key, bool upper) const {
        if (t_.empty()) {
            return end();
        }
        path p;
        const bool found = locate(key, p);
        if (found && upper) {
            ++p.idx[p.depth - 1];
        }
        return tree_t::make_iterator(t_.root_.get(), p.idx, p.depth);
    }

    bool put(K&& key, V&& value, bool assign) {
        if (t_.empty()) {
            t_.push_back(value_type(std::move(key), std::move(value)));
            return true;
        }
        path p;
        const bool found = locate(key, p);
        if (found) {
            if (assign) {
                t_.root_.make_unique();
                try {
                    alg::replace_at(t_.root_.get(), p.idx,
                                    value_type(std::move(key), std::move(value)));
                } catch (...) {
                    refresh(); // the nodes are valid (update_at); keep the total in step
                    throw;
                }
                refresh();
            }
            return false;
        }
        t_.root_.make_unique();
        ptr extra =
            alg::insert_at(t_.root_.get(), p.idx, value_type(std::move(key), std::move(value)));
        if (extra) {
            t_.root_ = alg::make_root(std::move(t_.root_), std::move(extra));
        }
        refresh();
        return true;
    }

    void refresh() {
        t_.summary_ = alg::refresh_root(t_.root_);
        t_.stamp_ = detail::btree::new_stamp();
    }

    tree_t t_;
    [[no_unique_address]] Compare cmp_{};
};

CRDT_END_NAMESPACE
