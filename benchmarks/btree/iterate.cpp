// Full sequential iteration over 1M items (summing lengths): tree iterator,
// tree::for_each, a cursor tracking a dimension; baseline std::vector in the
// same run (the target: the tree iterator within 2x of std::vector).
#include "btree/bench_common.hpp"

#include <vector>

using namespace crdt_bench;

static void BM_vector_iterate_1M(benchmark::State& state) {
    const auto v = make_runs(million);
    for (auto _ : state) {
        std::uint64_t s = 0;
        for (const run& r : v) {
            s += r.len;
        }
        benchmark::DoNotOptimize(s);
    }
    state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(million));
}
BENCHMARK(BM_vector_iterate_1M);

static void BM_tree_iterator_1M(benchmark::State& state) {
    const run_tree t = run_tree::from_range(make_runs(million));
    for (auto _ : state) {
        std::uint64_t s = 0;
        for (const run& r : t) {
            s += r.len;
        }
        benchmark::DoNotOptimize(s);
    }
    state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(million));
}
BENCHMARK(BM_tree_iterator_1M);

static void BM_tree_for_each_1M(benchmark::State& state) {
    const run_tree t = run_tree::from_range(make_runs(million));
    for (auto _ : state) {
        std::uint64_t s = 0;
        t.for_each([&](const run& r) { s += r.len; });
        benchmark::DoNotOptimize(s);
    }
    state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(million));
}
BENCHMARK(BM_tree_for_each_1M);

static void BM_tree_cursor_next_with_position_1M(benchmark::State& state) {
    const run_tree t = run_tree::from_range(make_runs(million));
    for (auto _ : state) {
        std::uint64_t s = 0;
        for (auto c = t.cursor(len_dim{}); !c.at_end(); c.next()) {
            s += c.start().value;
        }
        benchmark::DoNotOptimize(s);
    }
    state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(million));
}
BENCHMARK(BM_tree_cursor_next_with_position_1M);

// A tree built by random inserts (leaves ~70% full) iterates a little slower.
static void BM_tree_iterator_random_built_1M(benchmark::State& state) {
    run_tree t;
    std::mt19937_64 rng(9);
    for (std::uint64_t n = 0; n < million; ++n) {
        t.insert(t.find<count_dim>(rng() % (n + 1), crdt::btree::bias::right), run{3, 0, n});
    }
    for (auto _ : state) {
        std::uint64_t s = 0;
        for (const run& r : t) {
            s += r.len;
        }
        benchmark::DoNotOptimize(s);
    }
    state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(million));
}
BENCHMARK(BM_tree_iterator_random_built_1M);

static void BM_tree_for_each_random_built_1M(benchmark::State& state) {
    run_tree t;
    std::mt19937_64 rng(9);
    for (std::uint64_t n = 0; n < million; ++n) {
        t.insert(t.find<count_dim>(rng() % (n + 1), crdt::btree::bias::right), run{3, 0, n});
    }
    for (auto _ : state) {
        std::uint64_t s = 0;
        t.for_each([&](const run& r) { s += r.len; });
        benchmark::DoNotOptimize(s);
    }
    state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(million));
}
BENCHMARK(BM_tree_for_each_random_built_1M);

BENCHMARK_MAIN();
