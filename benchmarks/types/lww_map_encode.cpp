// benchmarks/types/lww_map_encode.cpp -- encoding a map of 1M keys:
// crdt::encode(lww_map) (context, replica table, per key: key, dot,
// timestamp, flag, value) against writing the bare (key, value) pairs of a
// std::unordered_map / boost::container::flat_map with the same codecs.
// Counter bytes_per_entry is the encoded size divided by the key count.
// Names: encode/<u64|string>/<impl>.
#include "common.hpp"

#include <crdt/codec/codec.hpp>

namespace {

using namespace types_bench;

template <class K, class V>
void bm_crdt(benchmark::State& state) {
    static const auto m = filled_crdt<K, V>();
    std::size_t bytes = 0;
    for (auto _ : state) {
        auto out = crdt::encode(m);
        bytes = out.size();
        benchmark::DoNotOptimize(out);
    }
    items(state, m.size());
    state.counters["bytes_per_entry"] = static_cast<double>(bytes) / static_cast<double>(m.size());
}

template <class M>
void run_pairs(benchmark::State& state, const M& m) {
    using K = typename M::key_type;
    using V = typename M::mapped_type;
    std::size_t bytes = 0;
    for (auto _ : state) {
        crdt::byte_writer w;
        w.varint(m.size());
        for (const auto& [k, v] : m) {
            crdt::codec<K>::encode(w, k);
            crdt::codec<V>::encode(w, v);
        }
        auto out = w.take();
        bytes = out.size();
        benchmark::DoNotOptimize(out);
    }
    items(state, m.size());
    state.counters["bytes_per_entry"] = static_cast<double>(bytes) / static_cast<double>(m.size());
}

template <class K, class V>
void bm_std(benchmark::State& state) {
    static const auto m = filled_std<K, V>();
    run_pairs(state, m);
}

template <class K, class V>
void bm_flat(benchmark::State& state) {
    static const auto m = filled_flat<K, V>();
    run_pairs(state, m);
}

} // namespace

BENCHMARK_TEMPLATE(bm_crdt, std::uint64_t, std::uint64_t)
    ->Name("encode/u64/crdt")
    ->Unit(benchmark::kMillisecond);
BENCHMARK_TEMPLATE(bm_std, std::uint64_t, std::uint64_t)
    ->Name("encode/u64/std_unordered_pairs")
    ->Unit(benchmark::kMillisecond);
BENCHMARK_TEMPLATE(bm_flat, std::uint64_t, std::uint64_t)
    ->Name("encode/u64/flat_pairs")
    ->Unit(benchmark::kMillisecond);
BENCHMARK_TEMPLATE(bm_crdt, std::string, std::string)
    ->Name("encode/string/crdt")
    ->Unit(benchmark::kMillisecond);
BENCHMARK_TEMPLATE(bm_std, std::string, std::string)
    ->Name("encode/string/std_unordered_pairs")
    ->Unit(benchmark::kMillisecond);
BENCHMARK_TEMPLATE(bm_flat, std::string, std::string)
    ->Name("encode/string/flat_pairs")
    ->Unit(benchmark::kMillisecond);

BENCHMARK_MAIN();
