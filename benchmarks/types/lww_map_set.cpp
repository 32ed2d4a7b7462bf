// benchmarks/types/lww_map_set.cpp -- lww_map::set of 1M fresh keys (each
// set also builds and returns its one-entry delta), against
// std::unordered_map::insert_or_assign of the same keys, and
// boost::container::flat_map built from the same pairs (bulk: one sort; 1M
// single inserts into a flat_map would be quadratic). No reserve anywhere.
// Names: set/<u64|string>/<crdt|std_unordered|flat_bulk>. Time is per
// iteration (1M sets); items/s is sets per second.
#include "common.hpp"

namespace {

using namespace types_bench;

template <class K, class V>
void bm_crdt(benchmark::State& state) {
    const auto& d = dataset<K, V>();
    for (auto _ : state) {
        crdt_map<K, V> m{crdt::replica_id(1)};
        for (std::size_t i = 0; i < d.keys.size(); ++i) {
            auto delta = m.set(d.keys[i], d.values[i]);
            benchmark::DoNotOptimize(delta);
        }
        benchmark::DoNotOptimize(m);
    }
    items(state, d.keys.size());
}

template <class K, class V>
void bm_std(benchmark::State& state) {
    const auto& d = dataset<K, V>();
    for (auto _ : state) {
        std_map<K, V> m;
        for (std::size_t i = 0; i < d.keys.size(); ++i) {
            m.insert_or_assign(d.keys[i], d.values[i]);
        }
        benchmark::DoNotOptimize(m);
    }
    items(state, d.keys.size());
}

template <class K, class V>
void bm_flat(benchmark::State& state) {
    for (auto _ : state) {
        auto m = filled_flat<K, V>();
        benchmark::DoNotOptimize(m);
    }
    items(state, dataset<K, V>().keys.size());
}

} // namespace

BENCHMARK_TEMPLATE(bm_crdt, std::uint64_t, std::uint64_t)
    ->Name("set/u64/crdt")
    ->Unit(benchmark::kMillisecond);
BENCHMARK_TEMPLATE(bm_std, std::uint64_t, std::uint64_t)
    ->Name("set/u64/std_unordered")
    ->Unit(benchmark::kMillisecond);
BENCHMARK_TEMPLATE(bm_flat, std::uint64_t, std::uint64_t)
    ->Name("set/u64/flat_bulk")
    ->Unit(benchmark::kMillisecond);
BENCHMARK_TEMPLATE(bm_crdt, std::string, std::string)
    ->Name("set/string/crdt")
    ->Unit(benchmark::kMillisecond);
BENCHMARK_TEMPLATE(bm_std, std::string, std::string)
    ->Name("set/string/std_unordered")
    ->Unit(benchmark::kMillisecond);
BENCHMARK_TEMPLATE(bm_flat, std::string, std::string)
    ->Name("set/string/flat_bulk")
    ->Unit(benchmark::kMillisecond);

BENCHMARK_MAIN();
