// benchmarks/types/lww_map_merge_full.cpp -- full-state merge of two maps of
// 1M keys: replica 2 wrote every key concurrently with replica 1 (its writes
// win the timestamp ties), and its whole state is merged into a copy of
// replica 1's. Baselines: insert_or_assign of the same 1M pairs into copies
// of std::unordered_map / boost::container::flat_map holding the keys.
// Names: merge_full/<u64|string>/<impl>.
#include "common.hpp"

namespace {

using namespace types_bench;

template <class K, class V>
struct fixture {
    crdt_map<K, V> a;
    crdt_map<K, V> b;
    std::vector<std::pair<K, V>> writes;
};

template <class K, class V>
const fixture<K, V>& get_fixture() {
    static const fixture<K, V> f = [] {
        fixture<K, V> out;
        const auto& d = dataset<K, V>();
        out.a = filled_crdt<K, V>(1);
        out.b = crdt_map<K, V>{crdt::replica_id(2)};
        for (std::size_t i = 0; i < d.keys.size(); ++i) {
            const V v = make_value<V>(i + 3);
            out.b.set(d.keys[i], v);
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
        auto m = f.a;
        state.ResumeTiming();
        m.merge(f.b);
        benchmark::DoNotOptimize(m);
        state.PauseTiming();
        const auto* got = m.get(f.writes.back().first);
        if (got == nullptr || *got != f.writes.back().second) {
            state.SkipWithError("merge lost a write");
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
    ->Name("merge_full/u64/crdt")
    ->Unit(benchmark::kMillisecond);
BENCHMARK_TEMPLATE(bm_std, std::uint64_t, std::uint64_t)
    ->Name("merge_full/u64/std_unordered")
    ->Unit(benchmark::kMillisecond);
BENCHMARK_TEMPLATE(bm_flat, std::uint64_t, std::uint64_t)
    ->Name("merge_full/u64/flat")
    ->Unit(benchmark::kMillisecond);
BENCHMARK_TEMPLATE(bm_crdt, std::string, std::string)
    ->Name("merge_full/string/crdt")
    ->Unit(benchmark::kMillisecond);
BENCHMARK_TEMPLATE(bm_std, std::string, std::string)
    ->Name("merge_full/string/std_unordered")
    ->Unit(benchmark::kMillisecond);
BENCHMARK_TEMPLATE(bm_flat, std::string, std::string)
    ->Name("merge_full/string/flat")
    ->Unit(benchmark::kMillisecond);

BENCHMARK_MAIN();
