// benchmarks/types/lww_map_merge_delta.cpp -- merging a 10% delta into a
// map of 1M keys: another replica overwrote 100k existing keys (after
// seeing them, so its writes win); their deltas, joined into one, are merged
// into a copy of the 1M-key map. Baselines apply the same 100k
// insert_or_assign to std::unordered_map and boost::container::flat_map
// copies. Copies are made with the timer paused.
// Names: merge_delta/<u64|string>/<impl>; items/s = entries merged per second.
#include "common.hpp"

namespace {

using namespace types_bench;

template <class K, class V>
struct fixture {
    crdt_map<K, V> base;
    crdt_map<K, V> delta;
    std::vector<std::pair<K, V>> writes;
};

template <class K, class V>
const fixture<K, V>& get_fixture() {
    static const fixture<K, V> f = [] {
        fixture<K, V> out;
        const auto& d = dataset<K, V>();
        out.base = filled_crdt<K, V>(1);
        crdt_map<K, V> other{crdt::replica_id(2)};
        other.merge(out.base);
        const std::size_t n = d.keys.size() / 10;
        for (std::size_t j = 0; j < n; ++j) {
            const std::size_t i = d.lookup_order[j];
            const V v = make_value<V>(i + 7);
            out.delta.merge(other.set(d.keys[i], v));
            out.writes.emplace_back(d.keys[i], v);
        }
        return out;
    }();
    return f;
}

template <class K, class V>
void bm_crdt(benchmark::State& state) {
    const auto& f = get_fixture<K, V>();
    for (auto _ : state) {
        state.PauseTiming();
        auto m = f.base;
        state.ResumeTiming();
        m.merge(f.delta);
        benchmark::DoNotOptimize(m);
        state.PauseTiming();
        const auto* got = m.get(f.writes.front().first);
        if (got == nullptr || *got != f.writes.front().second) {
            state.SkipWithError("delta not applied");
        }
        m = crdt_map<K, V>();
        state.ResumeTiming();
    }
    items(state, f.writes.size());
}

template <class K, class V, class M>
void run_baseline(benchmark::State& state, const M& base) {
    const auto& f = get_fixture<K, V>();
    for (auto _ : state) {
        state.PauseTiming();
        auto m = base;
        state.ResumeTiming();
        for (const auto& [k, v] : f.writes) {
            m.insert_or_assign(k, v);
        }
        benchmark::DoNotOptimize(m);
        state.PauseTiming();
        m = M();
        state.ResumeTiming();
    }
    items(state, f.writes.size());
}

template <class K, class V>
void bm_std(benchmark::State& state) {
    static const auto base = filled_std<K, V>();
    run_baseline<K, V>(state, base);
}

template <class K, class V>
void bm_flat(benchmark::State& state) {
    static const auto base = filled_flat<K, V>();
    run_baseline<K, V>(state, base);
}

} // namespace

BENCHMARK_TEMPLATE(bm_crdt, std::uint64_t, std::uint64_t)
    ->Name("merge_delta/u64/crdt")
    ->Unit(benchmark::kMillisecond);
BENCHMARK_TEMPLATE(bm_std, std::uint64_t, std::uint64_t)
    ->Name("merge_delta/u64/std_unordered")
    ->Unit(benchmark::kMillisecond);
BENCHMARK_TEMPLATE(bm_flat, std::uint64_t, std::uint64_t)
    ->Name("merge_delta/u64/flat")
    ->Unit(benchmark::kMillisecond);
BENCHMARK_TEMPLATE(bm_crdt, std::string, std::string)
    ->Name("merge_delta/string/crdt")
    ->Unit(benchmark::kMillisecond);
BENCHMARK_TEMPLATE(bm_std, std::string, std::string)
    ->Name("merge_delta/string/std_unordered")
    ->Unit(benchmark::kMillisecond);
BENCHMARK_TEMPLATE(bm_flat, std::string, std::string)
    ->Name("merge_delta/string/flat")
    ->Unit(benchmark::kMillisecond);

BENCHMARK_MAIN();
