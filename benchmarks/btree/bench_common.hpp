// Shared fixtures of the btree benchmarks: a 16-byte "run" item like the
// sequence CRDT's (a length, a line count, an id) summarized into counts.
#pragma once

#include <crdt/btree/cursor.hpp>
#include <crdt/btree/tree.hpp>

#include <benchmark/benchmark.h>

#include <cstdint>
#include <random>
#include <vector>

namespace crdt_bench {

struct run {
    std::uint32_t len;
    std::uint32_t lines;
    std::uint64_t id;
};

struct run_summary {
    std::uint64_t count = 0;
    std::uint64_t len = 0;
    std::uint64_t lines = 0;
    friend bool operator==(const run_summary&, const run_summary&) = default;
};

struct run_traits {
    using item_type = run;
    using summary_type = run_summary;
    static run_summary summarize(const run& r) { return {1, r.len, r.lines}; }
    static run_summary zero() { return {}; }
    static void combine(run_summary& a, const run_summary& b) {
        a.count += b.count;
        a.len += b.len;
        a.lines += b.lines;
    }
};

using run_tree = crdt::btree::tree<run_traits>;
using count_dim = crdt::btree::sum_of<&run_summary::count>;
using len_dim = crdt::btree::sum_of<&run_summary::len>;
using lines_dim = crdt::btree::sum_of<&run_summary::lines>;

constexpr std::size_t million = 1'000'000;

inline std::vector<run> make_runs(std::size_t n, std::uint64_t seed = 42) {
    std::mt19937_64 rng(seed);
    std::vector<run> v(n);
    for (std::size_t i = 0; i < n; ++i) {
        v[i] = run{static_cast<std::uint32_t>(1 + rng() % 16),
                   static_cast<std::uint32_t>(rng() % 2), i};
    }
    return v;
}

/// Bytes of node storage per item beyond sizeof(run).
inline double overhead_per_item(const run_tree& t) {
    const auto st = t.statistics();
    return static_cast<double>(st.bytes) / static_cast<double>(st.items) -
           static_cast<double>(sizeof(run));
}

} // namespace crdt_bench
