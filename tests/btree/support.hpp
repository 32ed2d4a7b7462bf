// Shared fixtures of the btree tests: a "piece" item (a run with a length, a
// line count and a key), its summary, dimensions and the policy list every
// generic test runs over (tiny fan-out, default, single-threaded default).
#pragma once

#include <crdt/btree/btree_defaults.hpp>
#include <crdt/btree/summary.hpp>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <random>
#include <tuple>
#include <vector>

namespace crdt_test::btree {

struct piece {
    std::uint32_t len = 0;
    std::uint32_t lines = 0;
    std::uint64_t key = 0;
    friend bool operator==(const piece&, const piece&) = default;
};

struct piece_summary {
    std::uint64_t count = 0;
    std::uint64_t len = 0;
    std::uint64_t lines = 0;
    std::uint64_t min_key = std::numeric_limits<std::uint64_t>::max();
    std::uint64_t max_key = 0;
    friend bool operator==(const piece_summary&, const piece_summary&) = default;
};

struct piece_traits {
    using item_type = piece;
    using summary_type = piece_summary;
    static piece_summary summarize(const piece& p) { return {1, p.len, p.lines, p.key, p.key}; }
    static piece_summary zero() { return {}; }
    static void combine(piece_summary& acc, const piece_summary& r) {
        acc.count += r.count;
        acc.len += r.len;
        acc.lines += r.lines;
        acc.min_key = std::min(acc.min_key, r.min_key);
        acc.max_key = std::max(acc.max_key, r.max_key);
    }
};

/// The same items with a cold summary (key bounds and a key sum) kept once
/// per node: exercises the hot/cold split.
struct piece_cold {
    std::uint64_t min_key = std::numeric_limits<std::uint64_t>::max();
    std::uint64_t max_key = 0;
    std::uint64_t key_sum = 0;
    friend bool operator==(const piece_cold&, const piece_cold&) = default;
};

struct cold_piece_traits : piece_traits {
    using cold_summary_type = piece_cold;
    static piece_cold summarize_cold(const piece& p) { return {p.key, p.key, p.key}; }
    static piece_cold zero_cold() { return {}; }
    static void combine_cold(piece_cold& acc, const piece_cold& r) {
        acc.min_key = std::min(acc.min_key, r.min_key);
        acc.max_key = std::max(acc.max_key, r.max_key);
        acc.key_sum += r.key_sum;
    }
};

/// Patches for piece summaries (crdt::btree::has_patch): additive fields by
/// difference; key bounds only when the new item's bounds contain the old
/// item's (a narrower item may have held the fold's bound: refold then).
inline bool patch_piece(piece_summary& acc, const piece_summary& o, const piece_summary& n) {
    if (n.min_key > o.min_key || n.max_key < o.max_key) {
        return false;
    }
    acc.count += n.count - o.count;
    acc.len += n.len - o.len;
    acc.lines += n.lines - o.lines;
    acc.min_key = std::min(acc.min_key, n.min_key);
    acc.max_key = std::max(acc.max_key, n.max_key);
    return true;
}

struct patch_piece_traits : piece_traits {
    static bool patch(piece_summary& acc, const piece_summary& o, const piece_summary& n) {
        return patch_piece(acc, o, n);
    }
};

/// cold_piece_traits with patches of both summaries.
struct patch_cold_piece_traits : cold_piece_traits {
    static bool patch(piece_summary& acc, const piece_summary& o, const piece_summary& n) {
        return patch_piece(acc, o, n);
    }
    static bool patch_cold(piece_cold& acc, const piece_cold& o, const piece_cold& n) {
        if (n.min_key > o.min_key || n.max_key < o.max_key) {
            return false;
        }
        acc.min_key = std::min(acc.min_key, n.min_key);
        acc.max_key = std::max(acc.max_key, n.max_key);
        acc.key_sum += n.key_sum - o.key_sum;
        return true;
    }
};

using count_dim = crdt::btree::sum_of<&piece_summary::count>;
using len_dim = crdt::btree::sum_of<&piece_summary::len>;
using lines_dim = crdt::btree::sum_of<&piece_summary::lines>;
using all_dims = crdt::btree::dims<count_dim, len_dim, lines_dim>;

/// A partial dimension, like "length at version V": the length of the pieces
/// whose key is below `bound`. Known over a subtree only when all its keys are
/// below (adds the length) or none is (adds 0).
struct len_below {
    std::uint64_t bound = 0;
    std::uint64_t value = 0;
    bool try_add(const piece_summary& s) {
        if (s.count == 0) {
            return true;
        }
        if (s.max_key < bound) {
            value += s.len;
            return true;
        }
        if (s.min_key >= bound) {
            return true;
        }
        return false;
    }
    friend bool operator==(const len_below&, const len_below&) = default;
    friend auto operator<=>(const len_below& a, std::uint64_t b) { return a.value <=> b; }
    friend bool operator==(const len_below& a, std::uint64_t b) { return a.value == b; }
};

/// len_below reading the key bounds from the cold summary (for
/// cold_piece_traits): a partial cold dimension.
struct len_below_cold {
    std::uint64_t bound = 0;
    std::uint64_t value = 0;
    bool try_add(const piece_summary& s, const piece_cold& c) {
        if (s.count == 0) {
            return true;
        }
        if (c.max_key < bound) {
            value += s.len;
            return true;
        }
        return c.min_key >= bound;
    }
    friend bool operator==(const len_below_cold&, const len_below_cold&) = default;
    friend auto operator<=>(const len_below_cold& a, std::uint64_t b) { return a.value <=> b; }
    friend bool operator==(const len_below_cold& a, std::uint64_t b) { return a.value == b; }
};

struct tiny_policy : crdt::btree::btree_defaults {
    static constexpr std::size_t max_fanout = 4;
    using refcount = crdt::btree::local_refcount;
};
struct default_policy : crdt::btree::btree_defaults {};
struct local_policy : crdt::btree::btree_defaults {
    using refcount = crdt::btree::local_refcount;
};

using policies = std::tuple<tiny_policy, default_policy>;

inline piece random_piece(std::mt19937_64& rng) {
    return piece{static_cast<std::uint32_t>(rng() % 8), static_cast<std::uint32_t>(rng() % 3),
                 rng() % 1000};
}

} // namespace crdt_test::btree
