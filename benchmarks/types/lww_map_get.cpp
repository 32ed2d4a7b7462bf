// benchmarks/types/lww_map_get.cpp -- 1M lookups (all hits, random order)
// in a map of 1M keys: lww_map::get against std::unordered_map::find and
// boost::container::flat_map::find. Names: get/<u64|string>/<impl>.
#include "common.hpp"

namespace {

using namespace types_bench;

template <class K, class V, class M, class Find>
void run(benchmark::State& state, const M& m, Find find) {
    const auto& d = dataset<K, V>();
    for (auto _ : state) {
        std::size_t hits = 0;
        for (std::size_t i : d.lookup_order) {
            hits += find(m, d.keys[i]) ? std::size_t{1} : std::size_t{0};
        }
        if (hits != d.keys.size()) {
            state.SkipWithError("a lookup missed");
        }
        benchmark::DoNotOptimize(hits);
    }
    items(state, d.keys.size());
}

template <class K, class V>
void bm_crdt(benchmark::State& state) {
    static const auto m = filled_crdt<K, V>();
    run<K, V>(state, m, [](const auto& map, const K& k) {
        const V* v = map.get(k);
        benchmark::DoNotOptimize(v);
        return v != nullptr;
    });
}

template <class K, class V>
void bm_std(benchmark::State& state) {
    static const auto m = filled_std<K, V>();
    run<K, V>(state, m, [](const auto& map, const K& k) {
        auto it = map.find(k);
        benchmark::DoNotOptimize(it);
        return it != map.end();
    });
}

template <class K, class V>
void bm_flat(benchmark::State& state) {
    static const auto m = filled_flat<K, V>();
    run<K, V>(state, m, [](const auto& map, const K& k) {
        auto it = map.find(k);
        benchmark::DoNotOptimize(it);
        return it != map.end();
    });
}

} // namespace

BENCHMARK_TEMPLATE(bm_crdt, std::uint64_t, std::uint64_t)
    ->Name("get/u64/crdt")
    ->Unit(benchmark::kMillisecond);
BENCHMARK_TEMPLATE(bm_std, std::uint64_t, std::uint64_t)
    ->Name("get/u64/std_unordered")
    ->Unit(benchmark::kMillisecond);
BENCHMARK_TEMPLATE(bm_flat, std::uint64_t, std::uint64_t)
    ->Name("get/u64/flat")
    ->Unit(benchmark::kMillisecond);
BENCHMARK_TEMPLATE(bm_crdt, std::string, std::string)
    ->Name("get/string/crdt")
    ->Unit(benchmark::kMillisecond);
BENCHMARK_TEMPLATE(bm_std, std::string, std::string)
    ->Name("get/string/std_unordered")
    ->Unit(benchmark::kMillisecond);
BENCHMARK_TEMPLATE(bm_flat, std::string, std::string)
    ->Name("get/string/flat")
    ->Unit(benchmark::kMillisecond);

BENCHMARK_MAIN();
