// btree_map<uint64_t, uint64_t> insert and find against std::map and
// boost::container::flat_map in the same run. find at 1M entries (random
// present keys); insert of random keys into an empty map: 1M for the trees,
// 100k for all three (flat_map inserts are O(n) each).
#include <crdt/btree/btree_map.hpp>

#include <benchmark/benchmark.h>
#include <boost/container/flat_map.hpp>

#include <algorithm>
#include <cstdint>
#include <map>
#include <random>
#include <vector>

namespace {
std::vector<std::uint64_t> random_keys(std::size_t n, std::uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::vector<std::uint64_t> k(n);
    for (auto& x : k) {
        x = rng();
    }
    return k;
}

template <class Map>
void insert_all(Map& m, const std::vector<std::uint64_t>& keys) {
    for (auto k : keys) {
        if constexpr (requires { m.emplace(k, k); }) {
            m.emplace(k, k);
        } else {
            m.insert(k, k);
        }
    }
}

template <class Map>
void bench_insert(benchmark::State& state) {
    const auto keys = random_keys(static_cast<std::size_t>(state.range(0)), 11);
    for (auto _ : state) {
        Map m;
        insert_all(m, keys);
        benchmark::DoNotOptimize(m.size());
    }
    state.SetItemsProcessed(state.iterations() * state.range(0));
}

template <class Map>
void bench_find(benchmark::State& state) {
    const auto keys = random_keys(static_cast<std::size_t>(state.range(0)), 12);
    Map m;
    if constexpr (requires { m.reserve(keys.size()); }) {
        m.reserve(keys.size());
        auto sorted = keys;
        std::sort(sorted.begin(), sorted.end());
        for (auto k : sorted) {
            m.emplace_hint(m.end(), k, k);
        }
    } else {
        insert_all(m, keys);
    }
    std::mt19937_64 rng(13);
    std::vector<std::uint64_t> targets(1 << 16);
    for (auto& t : targets) {
        t = keys[rng() % keys.size()];
    }
    std::size_t i = 0;
    std::uint64_t sum = 0;
    for (auto _ : state) {
        const auto k = targets[i++ & (targets.size() - 1)];
        if constexpr (requires { m.get(k); }) {
            const auto* v = m.get(k);
            sum += v != nullptr ? *v : 0;
        } else {
            sum += m.find(k)->second;
        }
    }
    benchmark::DoNotOptimize(sum);
    state.SetItemsProcessed(state.iterations());
}

using btree_map_t = crdt::btree_map<std::uint64_t, std::uint64_t>;
using std_map_t = std::map<std::uint64_t, std::uint64_t>;
using flat_map_t = boost::container::flat_map<std::uint64_t, std::uint64_t>;
} // namespace

BENCHMARK(bench_insert<btree_map_t>)->Arg(100'000)->Arg(1'000'000)->Unit(benchmark::kMillisecond);
BENCHMARK(bench_insert<std_map_t>)->Arg(100'000)->Arg(1'000'000)->Unit(benchmark::kMillisecond);
BENCHMARK(bench_insert<flat_map_t>)->Arg(100'000)->Unit(benchmark::kMillisecond);
BENCHMARK(bench_find<btree_map_t>)->Arg(1'000'000);
BENCHMARK(bench_find<std_map_t>)->Arg(1'000'000);
BENCHMARK(bench_find<flat_map_t>)->Arg(1'000'000);

BENCHMARK_MAIN();
