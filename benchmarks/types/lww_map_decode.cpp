// benchmarks/types/lww_map_decode.cpp -- decoding a map of 1M keys:
// crdt::decode<lww_map> (validating every field, rebuilding the hash index)
// against decoding bare (key, value) pairs into a reserved
// std::unordered_map and into a boost::container::flat_map (pairs read into
// its sequence, then one sort). Names: decode/<u64|string>/<impl>.
#include "common.hpp"

#include <crdt/codec/codec.hpp>

namespace {

using namespace types_bench;

template <class K, class V>
void bm_crdt(benchmark::State& state) {
    static const auto bytes = crdt::encode(filled_crdt<K, V>());
    std::size_t n = 0;
    for (auto _ : state) {
        auto m = crdt::decode<crdt_map<K, V>>(bytes);
        n = m.size();
        benchmark::DoNotOptimize(m);
    }
    items(state, n);
}

template <class K, class V>
const std::vector<std::byte>& pair_bytes() {
    static const auto bytes = [] {
        const auto m = filled_std<K, V>();
        crdt::byte_writer w;
        w.varint(m.size());
        for (const auto& [k, v] : m) {
            crdt::codec<K>::encode(w, k);
            crdt::codec<V>::encode(w, v);
        }
        return w.take();
    }();
    return bytes;
}

template <class K, class V>
void bm_std(benchmark::State& state) {
    const auto& bytes = pair_bytes<K, V>();
    std::size_t n = 0;
    for (auto _ : state) {
        crdt::byte_reader r(bytes);
        const std::size_t count = r.length();
        std_map<K, V> m;
        m.reserve(count);
        for (std::size_t i = 0; i < count; ++i) {
            K k = crdt::codec<K>::decode(r);
            m.insert_or_assign(std::move(k), crdt::codec<V>::decode(r));
        }
        n = m.size();
        benchmark::DoNotOptimize(m);
    }
    items(state, n);
}

template <class K, class V>
void bm_flat(benchmark::State& state) {
    const auto& bytes = pair_bytes<K, V>();
    std::size_t n = 0;
    for (auto _ : state) {
        crdt::byte_reader r(bytes);
        const std::size_t count = r.length();
        typename flat_map<K, V>::sequence_type seq;
        seq.reserve(count);
        for (std::size_t i = 0; i < count; ++i) {
            K k = crdt::codec<K>::decode(r);
            seq.emplace_back(std::move(k), crdt::codec<V>::decode(r));
        }
        flat_map<K, V> m;
        m.adopt_sequence(std::move(seq));
        n = m.size();
        benchmark::DoNotOptimize(m);
    }
    items(state, n);
}

} // namespace

BENCHMARK_TEMPLATE(bm_crdt, std::uint64_t, std::uint64_t)
    ->Name("decode/u64/crdt")
    ->Unit(benchmark::kMillisecond);
BENCHMARK_TEMPLATE(bm_std, std::uint64_t, std::uint64_t)
    ->Name("decode/u64/std_unordered_pairs")
    ->Unit(benchmark::kMillisecond);
BENCHMARK_TEMPLATE(bm_flat, std::uint64_t, std::uint64_t)
    ->Name("decode/u64/flat_pairs")
    ->Unit(benchmark::kMillisecond);
BENCHMARK_TEMPLATE(bm_crdt, std::string, std::string)
    ->Name("decode/string/crdt")
    ->Unit(benchmark::kMillisecond);
BENCHMARK_TEMPLATE(bm_std, std::string, std::string)
    ->Name("decode/string/std_unordered_pairs")
    ->Unit(benchmark::kMillisecond);
BENCHMARK_TEMPLATE(bm_flat, std::string, std::string)
    ->Name("decode/string/flat_pairs")
    ->Unit(benchmark::kMillisecond);

BENCHMARK_MAIN();
