// benchmarks/support/version_vectors.hpp -- scenarios for the version vector
// benchmarks (version_vector_merge.cpp, version_vector_compare.cpp).
//
// A scenario is a pair of versions (a, b) over `n` replicas each, built
// deterministically from a fixed seed, in two representations: crdt's
// version_vector and the naive baseline, a std::map<std::uint64_t,
// std::uint64_t> (replica -> counter) handled with pointwise loops.
//
//   disjoint    a and b share no replica (merge doubles the size; compare
//               is `concurrent` as soon as both sides had a private replica);
//   identical   the same replicas with the same counters (compare `equal`
//               after a full scan; merge changes nothing);
//   ahead       the same replicas, a >= b everywhere and > on every other
//               replica (compare `after` after a full scan; b.merge(a)
//               raises half the counters);
//   concurrent  the same replicas and counters except the first (a ahead)
//               and the last (b ahead): the worst case for compare, which
//               only knows the answer at the last entry.
//
// Replica ids are random 64-bit values (what replica_id::random() draws);
// counters are random in [1, 10^6].
//
// Thread safety: plain functions. Exception safety: std::bad_alloc only.
#pragma once

#include <crdt/core/replica_id.hpp>
#include <crdt/core/version_vector.hpp>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <map>
#include <random>
#include <string>
#include <vector>

namespace crdt_bench {

/// The baseline: a version vector as an ordered map replica -> counter.
using map_vv = std::map<std::uint64_t, std::uint64_t>;

/// One benchmark case: two versions in both representations.
struct vv_scenario {
    crdt::version_vector a;
    crdt::version_vector b;
    map_vv map_a;
    map_vv map_b;
};

enum class vv_case { disjoint, identical, ahead, concurrent };

inline constexpr std::array<vv_case, 4> all_vv_cases = {vv_case::disjoint, vv_case::identical,
                                                        vv_case::ahead, vv_case::concurrent};

inline std::string name_of(vv_case c) {
    switch (c) {
    case vv_case::disjoint: return "disjoint";
    case vv_case::identical: return "identical";
    case vv_case::ahead: return "ahead";
    case vv_case::concurrent: return "concurrent";
    }
    return "?";
}

/// Returns: the scenario `c` over `n` replicas per side (n >= 2).
inline vv_scenario make_vv_scenario(vv_case c, std::size_t n) {
    std::mt19937_64 rng(0x5eed0000u + n);
    std::uniform_int_distribution<std::uint64_t> counter(1, 1'000'000);
    // 2n distinct random ids; the first n are a's, the others b's when disjoint.
    std::vector<std::uint64_t> ids;
    while (ids.size() < 2 * n) {
        const std::uint64_t id = rng();
        if (std::find(ids.begin(), ids.end(), id) == ids.end()) {
            ids.push_back(id);
        }
    }
    std::vector<std::pair<std::uint64_t, std::uint64_t>> a;
    std::vector<std::pair<std::uint64_t, std::uint64_t>> b;
    for (std::size_t i = 0; i < n; ++i) {
        a.emplace_back(ids[i], counter(rng));
    }
    switch (c) {
    case vv_case::disjoint:
        for (std::size_t i = 0; i < n; ++i) {
            b.emplace_back(ids[n + i], counter(rng));
        }
        break;
    case vv_case::identical: b = a; break;
    case vv_case::ahead:
        b = a;
        for (std::size_t i = 0; i < n; i += 2) {
            b[i].second = a[i].second / 2 + 1; // <= a's counter
            a[i].second += 1;                  // so a is now strictly ahead
        }
        break;
    case vv_case::concurrent: {
        b = a;
        // In replica order: a ahead at the smallest replica, b at the largest.
        auto lo = std::min_element(a.begin(), a.end());
        auto hi = std::max_element(a.begin(), a.end());
        const auto lo_i = static_cast<std::size_t>(lo - a.begin());
        const auto hi_i = static_cast<std::size_t>(hi - a.begin());
        a[lo_i].second += 1;
        b[hi_i].second += 1;
        break;
    }
    }
    vv_scenario s;
    for (const auto& [r, k] : a) {
        s.a.set(crdt::replica_id(r), k);
        s.map_a[r] = k;
    }
    for (const auto& [r, k] : b) {
        s.b.set(crdt::replica_id(r), k);
        s.map_b[r] = k;
    }
    return s;
}

/// Baseline merge: a[r] = max(a[r], b[r]) for every r of b, one lookup each.
inline void naive_merge(map_vv& a, const map_vv& b) {
    for (const auto& [r, k] : b) {
        auto& mine = a[r];
        mine = std::max(mine, k);
    }
}

/// Baseline compare: the pointwise definition, one lookup per replica of
/// either side, stopping once both sides are known to have something extra.
inline crdt::causal_order naive_compare(const map_vv& a, const map_vv& b) {
    bool greater = false;
    bool less = false;
    for (const auto& [r, k] : a) {
        auto it = b.find(r);
        const std::uint64_t theirs = it == b.end() ? 0 : it->second;
        greater |= k > theirs;
        less |= k < theirs;
        if (greater && less) {
            return crdt::causal_order::concurrent;
        }
    }
    for (const auto& [r, k] : b) {
        if (a.find(r) == a.end()) {
            less = true;
            break;
        }
    }
    if (greater && less) {
        return crdt::causal_order::concurrent;
    }
    if (greater) {
        return crdt::causal_order::after;
    }
    return less ? crdt::causal_order::before : crdt::causal_order::equal;
}

/// Baseline includes: every counter of b is at most a's.
inline bool naive_includes(const map_vv& a, const map_vv& b) {
    for (const auto& [r, k] : b) {
        auto it = a.find(r);
        if (it == a.end() || it->second < k) {
            return false;
        }
    }
    return true;
}

/// A (replica, first, last) range, as the baseline's missing_from returns.
struct naive_range {
    std::uint64_t replica;
    std::uint64_t first;
    std::uint64_t last;
};

/// Baseline missing_from: what a has and b lacks, one range per replica.
inline std::vector<naive_range> naive_missing_from(const map_vv& a, const map_vv& b) {
    std::vector<naive_range> out;
    for (const auto& [r, k] : a) {
        auto it = b.find(r);
        const std::uint64_t theirs = it == b.end() ? 0 : it->second;
        if (k > theirs) {
            out.push_back({r, theirs + 1, k});
        }
    }
    return out;
}

} // namespace crdt_bench
