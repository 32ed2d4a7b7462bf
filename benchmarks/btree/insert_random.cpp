// Random-position insert: one item at a random item index of a tree holding
// about 1M items (seek by count + in-place insert), against std::vector insert
// at a random index (memmove of half the array on average) in the same run.
// Also builds a 1M tree from empty by random-position inserts and reports its
// memory overhead per item.
#include "btree/bench_common.hpp"

#include <vector>

using namespace crdt_bench;

static void BM_tree_insert_random_1M(benchmark::State& state) {
    const auto runs = make_runs(million);
    run_tree t = run_tree::from_range(runs);
    std::mt19937_64 rng(7);
    std::uint64_t n = million;
    for (auto _ : state) {
        const std::uint64_t i = rng() % (n + 1);
        t.insert(t.find<count_dim>(i, crdt::btree::bias::right), run{3, 0, i});
        ++n;
    }
    state.SetItemsProcessed(state.iterations());
    state.counters["overhead_B_per_item"] = overhead_per_item(t);
}
BENCHMARK(BM_tree_insert_random_1M);

static void BM_vector_insert_random_1M(benchmark::State& state) {
    std::vector<run> v = make_runs(million);
    std::mt19937_64 rng(7);
    for (auto _ : state) {
        const std::size_t i = rng() % (v.size() + 1);
        v.insert(v.begin() + static_cast<std::ptrdiff_t>(i), run{3, 0, i});
    }
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_vector_insert_random_1M);

// Building 1M items from empty by random-position inserts (whole build timed).
static void BM_tree_build_by_random_insert_1M(benchmark::State& state) {
    double overhead = 0;
    for (auto _ : state) {
        run_tree t;
        std::mt19937_64 rng(9);
        for (std::uint64_t n = 0; n < million; ++n) {
            const std::uint64_t i = rng() % (n + 1);
            t.insert(t.find<count_dim>(i, crdt::btree::bias::right), run{3, 0, n});
        }
        benchmark::DoNotOptimize(t.summary());
        overhead = overhead_per_item(t);
    }
    state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(million));
    state.counters["overhead_B_per_item"] = overhead;
}
BENCHMARK(BM_tree_build_by_random_insert_1M)->Unit(benchmark::kMillisecond)->Iterations(1);

// Bulk build of 1M items (O(n)) and its memory overhead per item.
static void BM_tree_bulk_build_1M(benchmark::State& state) {
    const auto runs = make_runs(million);
    double overhead = 0;
    for (auto _ : state) {
        run_tree t = run_tree::from_range(runs);
        benchmark::DoNotOptimize(t.summary());
        overhead = overhead_per_item(t);
    }
    state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(million));
    state.counters["overhead_B_per_item"] = overhead;
}
BENCHMARK(BM_tree_bulk_build_1M)->Unit(benchmark::kMillisecond);

static void BM_vector_copy_build_1M(benchmark::State& state) {
    const auto runs = make_runs(million);
    for (auto _ : state) {
        std::vector<run> v(runs.begin(), runs.end());
        benchmark::DoNotOptimize(v.data());
    }
    state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(million));
}
BENCHMARK(BM_vector_copy_build_1M)->Unit(benchmark::kMillisecond);

BENCHMARK_MAIN();
