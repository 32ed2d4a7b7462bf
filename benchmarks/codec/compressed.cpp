// Compressed encodings (crdt/codec/compressed.hpp) of the full history of
// automerge-paper (made once in setup by replaying its patches as local
// edits into crdt::sequence<char32_t>):
//
//   * BM_encode_plain / BM_decode_plain: crdt::encode(delta_since({})) and
//     crdt::decode of it, the uncompressed baseline in the same run;
//   * BM_compress/<level> and BM_decompress/<level>: crdt::compress of that
//     encoding at zlib levels 1, 6 (the default) and 9, and
//     crdt::decompress back (checked equal, untimed);
//   * BM_decode_compressed: crdt::decode_compressed (decompress + decode).
//
// Counters: plain_bytes, compressed_bytes, ratio (compressed / plain).
// Built only with zlib (the crdt::zlib target). The trace is read from
// CRDT_SHARED_DIR through `gzip -dc`, parsed with nlohmann/json.
#include <crdt/codec/codec.hpp>
#include <crdt/codec/compressed.hpp>
#include <crdt/sequence.hpp>

#include "sequence/trace_input.hpp"

#include <benchmark/benchmark.h>

#include <cstddef>
#include <vector>

namespace {

using seq_t = crdt::sequence<char32_t>;

const seq_t& document() {
    static const seq_t doc = [] {
        seq_t s(crdt::agent_id("agent"));
        for (const auto& p :
             crdt_bench::sequential_patches(crdt_bench::load_trace_json("automerge-paper"))) {
            crdt_bench::apply_patch(s, p);
        }
        return s;
    }();
    return doc;
}

const std::vector<std::byte>& plain() {
    static const std::vector<std::byte> bytes = crdt::encode(document().delta_since({}));
    return bytes;
}

void BM_encode_plain(benchmark::State& state) {
    const seq_t& doc = document();
    for (auto _ : state) {
        benchmark::DoNotOptimize(crdt::encode(doc.delta_since({})));
    }
    state.counters["plain_bytes"] = static_cast<double>(plain().size());
}
BENCHMARK(BM_encode_plain)->Unit(benchmark::kMillisecond);

void BM_decode_plain(benchmark::State& state) {
    const auto& bytes = plain();
    for (auto _ : state) {
        benchmark::DoNotOptimize(crdt::decode<seq_t::delta_type>(bytes));
    }
    state.counters["plain_bytes"] = static_cast<double>(bytes.size());
}
BENCHMARK(BM_decode_plain)->Unit(benchmark::kMillisecond);

void BM_compress(benchmark::State& state) {
    const auto& bytes = plain();
    const int level = static_cast<int>(state.range(0));
    std::vector<std::byte> packed;
    for (auto _ : state) {
        packed = crdt::compress(bytes, level);
        benchmark::DoNotOptimize(packed.data());
    }
    if (crdt::decompress(packed) != bytes) {
        state.SkipWithError("decompress(compress(x)) != x");
        return;
    }
    state.counters["plain_bytes"] = static_cast<double>(bytes.size());
    state.counters["compressed_bytes"] = static_cast<double>(packed.size());
    state.counters["ratio"] =
        static_cast<double>(packed.size()) / static_cast<double>(bytes.size());
}
BENCHMARK(BM_compress)->Arg(1)->Arg(6)->Arg(9)->Unit(benchmark::kMillisecond);

void BM_decompress(benchmark::State& state) {
    const auto& bytes = plain();
    const auto packed = crdt::compress(bytes, static_cast<int>(state.range(0)));
    std::vector<std::byte> out;
    for (auto _ : state) {
        out = crdt::decompress(packed);
        benchmark::DoNotOptimize(out.data());
    }
    if (out != bytes) {
        state.SkipWithError("decompress(compress(x)) != x");
        return;
    }
    state.counters["compressed_bytes"] = static_cast<double>(packed.size());
}
BENCHMARK(BM_decompress)->Arg(1)->Arg(6)->Arg(9)->Unit(benchmark::kMillisecond);

void BM_decode_compressed(benchmark::State& state) {
    const auto packed = crdt::compress(plain());
    for (auto _ : state) {
        benchmark::DoNotOptimize(crdt::decode_compressed<seq_t::delta_type>(packed));
    }
    state.counters["compressed_bytes"] = static_cast<double>(packed.size());
}
BENCHMARK(BM_decode_compressed)->Unit(benchmark::kMillisecond);

} // namespace

BENCHMARK_MAIN();
