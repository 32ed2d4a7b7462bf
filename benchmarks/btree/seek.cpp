// Seek by dimension at 1M items: the item at a random item index (count
// dimension) and at a random character offset (len dimension), by one-shot
// lookup and by cursor, with two dimensions tracked at once; baselines in
// the same run: std::map<uint64_t, run>::find by a random key (the target:
// seek by position at least 2x faster) and std::upper_bound over a prefix-sum
// array (the best a flat, non-editable layout can do).
#include "btree/bench_common.hpp"

#include <algorithm>
#include <map>
#include <vector>

using namespace crdt_bench;
namespace bt = crdt::btree;

namespace {
std::vector<std::uint64_t> random_targets(std::uint64_t bound, std::uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::vector<std::uint64_t> t(1 << 16);
    for (auto& x : t) {
        x = rng() % bound;
    }
    return t;
}
} // namespace

static void BM_tree_lookup_by_count_1M(benchmark::State& state) {
    const run_tree t = run_tree::from_range(make_runs(million));
    const auto targets = random_targets(million, 1);
    std::size_t k = 0;
    for (auto _ : state) {
        auto [item, pos] =
            t.lookup<count_dim>(targets[k++ & (targets.size() - 1)], bt::bias::right);
        benchmark::DoNotOptimize(item);
        benchmark::DoNotOptimize(pos);
    }
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_tree_lookup_by_count_1M);

static void BM_tree_lookup_by_len_1M(benchmark::State& state) {
    const run_tree t = run_tree::from_range(make_runs(million));
    const auto targets = random_targets(t.summary().len, 2);
    std::size_t k = 0;
    for (auto _ : state) {
        auto [item, pos] = t.lookup<len_dim>(targets[k++ & (targets.size() - 1)], bt::bias::right);
        benchmark::DoNotOptimize(item);
        benchmark::DoNotOptimize(pos);
    }
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_tree_lookup_by_len_1M);

static void BM_tree_cursor_seek_by_count_1M(benchmark::State& state) {
    const run_tree t = run_tree::from_range(make_runs(million));
    const auto targets = random_targets(million, 1);
    auto c = t.cursor(count_dim{});
    std::size_t k = 0;
    for (auto _ : state) {
        c.seek(targets[k++ & (targets.size() - 1)], bt::bias::right);
        benchmark::DoNotOptimize(c.item_ptr());
    }
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_tree_cursor_seek_by_count_1M);

static void BM_tree_cursor_seek_len_track_lines_1M(benchmark::State& state) {
    const run_tree t = run_tree::from_range(make_runs(million));
    const auto targets = random_targets(t.summary().len, 2);
    auto c = t.cursor(bt::dims<len_dim, lines_dim>{});
    std::size_t k = 0;
    for (auto _ : state) {
        c.seek(targets[k++ & (targets.size() - 1)], bt::bias::right);
        benchmark::DoNotOptimize(c.start().get<1>().value);
    }
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_tree_cursor_seek_len_track_lines_1M);

static void BM_std_map_find_1M(benchmark::State& state) {
    std::map<std::uint64_t, run> m;
    const auto runs = make_runs(million);
    std::mt19937_64 rng(5);
    std::vector<std::uint64_t> keys(million);
    for (std::size_t i = 0; i < million; ++i) {
        keys[i] = rng();
        m.emplace(keys[i], runs[i]);
    }
    std::vector<std::uint64_t> targets(1 << 16);
    for (auto& x : targets) {
        x = keys[rng() % million];
    }
    std::size_t k = 0;
    for (auto _ : state) {
        auto it = m.find(targets[k++ & (targets.size() - 1)]);
        benchmark::DoNotOptimize(it);
    }
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_std_map_find_1M);

static void BM_prefix_sum_upper_bound_1M(benchmark::State& state) {
    const auto runs = make_runs(million);
    std::vector<std::uint64_t> ends(million);
    std::uint64_t s = 0;
    for (std::size_t i = 0; i < million; ++i) {
        s += runs[i].len;
        ends[i] = s;
    }
    const auto targets = random_targets(s, 2);
    std::size_t k = 0;
    for (auto _ : state) {
        auto it = std::upper_bound(ends.begin(), ends.end(), targets[k++ & (targets.size() - 1)]);
        benchmark::DoNotOptimize(it);
    }
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_prefix_sum_upper_bound_1M);

BENCHMARK_MAIN();
