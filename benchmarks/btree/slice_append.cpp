// slice + append at 1M items: cut a random range out and join the two outer
// parts (the edit idiom "prefix ++ new ++ suffix"), sharing every untouched
// subtree; baseline: the same on std::vector (copy prefix, append suffix).
#include "btree/bench_common.hpp"

#include <vector>

using namespace crdt_bench;
namespace bt = crdt::btree;

static void BM_tree_slice_append_1M(benchmark::State& state) {
    const run_tree t = run_tree::from_range(make_runs(million));
    std::mt19937_64 rng(3);
    for (auto _ : state) {
        std::uint64_t a = rng() % million;
        std::uint64_t b = rng() % million;
        if (a > b) {
            std::swap(a, b);
        }
        auto c = t.find<count_dim>(a, bt::bias::right);
        run_tree prefix = t.slice(t.cursor(count_dim{}), c);
        c.seek_forward(b, bt::bias::right);
        prefix.append(c.suffix());
        benchmark::DoNotOptimize(prefix.summary());
    }
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_tree_slice_append_1M);

static void BM_tree_split_append_1M(benchmark::State& state) {
    run_tree t = run_tree::from_range(make_runs(million));
    std::mt19937_64 rng(3);
    for (auto _ : state) {
        auto [l, r] = t.split(t.find<count_dim>(rng() % million, bt::bias::right));
        l.append(std::move(r));
        t = std::move(l);
    }
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_tree_split_append_1M);

static void BM_vector_slice_append_1M(benchmark::State& state) {
    const auto v = make_runs(million);
    std::mt19937_64 rng(3);
    for (auto _ : state) {
        std::size_t a = rng() % million;
        std::size_t b = rng() % million;
        if (a > b) {
            std::swap(a, b);
        }
        std::vector<run> out(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(a));
        out.insert(out.end(), v.begin() + static_cast<std::ptrdiff_t>(b), v.end());
        benchmark::DoNotOptimize(out.data());
    }
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_vector_slice_append_1M);

BENCHMARK_MAIN();
