// benchmarks/core/varint_decode.cpp -- LEB128 decode throughput against a
// plain memcpy of the same values as fixed 8-byte integers, in the same run.
//
// For each distribution of benchmarks/support/varint_values.hpp (1M values,
// encoded once before timing), decoding into a preallocated array:
//   varint_decode/<dist>/raw      crdt::varint::decode (status checked);
//   varint_decode/<dist>/reader   crdt::byte_reader::varint (bounds-checked,
//                                 throws on bad input);
//   varint_decode/<dist>/memcpy   the baseline: one memcpy of the 8-byte values.
// items/s counts values; bytes/s counts bytes read (the encoded size for
// varints, 8 per value for memcpy), so compare implementations by items/s.
// Every decoded array is checked against the original values once.
#include "support/varint_values.hpp"

#include <crdt/codec/reader.hpp>
#include <crdt/codec/varint.hpp>
#include <crdt/codec/writer.hpp>

#include "support/registration.hpp"

#include <benchmark/benchmark.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

namespace {

using crdt_bench::varint_distribution;

void set_counters(benchmark::State& state, std::size_t values, std::size_t bytes) {
    state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(values));
    state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(bytes));
}

std::vector<std::byte> encode_all(const std::vector<std::uint64_t>& values) {
    crdt::byte_writer w;
    for (const auto v : values) {
        w.varint(v);
    }
    return w.take();
}

void decode_raw(benchmark::State& state, varint_distribution d) {
    const auto values = crdt_bench::make_varint_values(d);
    const auto encoded = encode_all(values);
    std::vector<std::uint64_t> out(values.size());
    bool ok = true;
    for (auto _ : state) {
        const std::byte* p = encoded.data();
        const std::byte* last = p + encoded.size();
        for (auto& v : out) {
            std::uint64_t x = 0;
            if (crdt::varint::decode(p, last, x) != crdt::varint::decode_status::ok) {
                ok = false;
                break;
            }
            v = x;
        }
        benchmark::DoNotOptimize(out.data());
        benchmark::ClobberMemory();
    }
    if (!ok || out != values) {
        state.SkipWithError("varint::decode did not return the encoded values");
    }
    set_counters(state, values.size(), encoded.size());
}

void decode_reader(benchmark::State& state, varint_distribution d) {
    const auto values = crdt_bench::make_varint_values(d);
    const auto encoded = encode_all(values);
    std::vector<std::uint64_t> out(values.size());
    for (auto _ : state) {
        crdt::byte_reader r(encoded);
        for (auto& v : out) {
            v = r.varint();
        }
        benchmark::DoNotOptimize(out.data());
        benchmark::ClobberMemory();
    }
    if (out != values) {
        state.SkipWithError("byte_reader::varint did not return the encoded values");
    }
    set_counters(state, values.size(), encoded.size());
}

void decode_memcpy(benchmark::State& state, varint_distribution d) {
    const auto values = crdt_bench::make_varint_values(d);
    const std::size_t bytes = values.size() * sizeof(std::uint64_t);
    std::vector<std::byte> encoded(bytes);
    std::memcpy(encoded.data(), values.data(), bytes);
    std::vector<std::uint64_t> out(values.size());
    for (auto _ : state) {
        std::memcpy(out.data(), encoded.data(), bytes);
        benchmark::DoNotOptimize(out.data());
        benchmark::ClobberMemory();
    }
    if (out != values) {
        state.SkipWithError("memcpy baseline did not copy the values");
    }
    set_counters(state, values.size(), bytes);
}

} // namespace

int main(int argc, char** argv) {
    for (const auto d : crdt_bench::all_varint_distributions) {
        const std::string prefix =
            crdt_bench::bench_name({"varint_decode/", crdt_bench::name_of(d)});
        benchmark::RegisterBenchmark(crdt_bench::bench_name({prefix, "/raw"}).c_str(), decode_raw,
                                     d);
        benchmark::RegisterBenchmark(crdt_bench::bench_name({prefix, "/reader"}).c_str(),
                                     decode_reader, d);
        benchmark::RegisterBenchmark(crdt_bench::bench_name({prefix, "/memcpy"}).c_str(),
                                     decode_memcpy, d);
    }
    return crdt_bench::run_benchmarks(argc, argv);
}
