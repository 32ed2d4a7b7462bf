// benchmarks/core/varint_encode.cpp -- LEB128 encode throughput against a
// plain memcpy of the same values as fixed 8-byte integers, in the same run.
//
// For each distribution of benchmarks/support/varint_values.hpp (1M values):
//   varint_encode/<dist>/raw      crdt::varint::encode into a preallocated buffer;
//   varint_encode/<dist>/writer   crdt::byte_writer::varint (capacity kept
//                                 across iterations by clear());
//   varint_encode/<dist>/memcpy   the baseline: one memcpy of the 8-byte values.
// items/s counts values; bytes/s counts bytes written (the encoded size for
// varints, 8 per value for memcpy), so compare implementations by items/s.
#include "support/varint_values.hpp"

#include <crdt/codec/varint.hpp>
#include <crdt/codec/writer.hpp>

#include "support/registration.hpp"

#include <benchmark/benchmark.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

namespace {

using crdt_bench::varint_distribution;

void set_counters(benchmark::State& state, std::size_t values, std::size_t bytes) {
    state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(values));
    state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(bytes));
}

void encode_raw(benchmark::State& state, varint_distribution d) {
    const auto values = crdt_bench::make_varint_values(d);
    std::vector<std::byte> out(values.size() * crdt::varint::max_length);
    std::size_t written = 0;
    for (auto _ : state) {
        std::byte* p = out.data();
        for (const auto v : values) {
            p = crdt::varint::encode(v, p);
        }
        written = static_cast<std::size_t>(p - out.data());
        benchmark::DoNotOptimize(out.data());
        benchmark::ClobberMemory();
    }
    if (written != crdt_bench::encoded_size(values)) {
        state.SkipWithError("varint::encode wrote an unexpected number of bytes");
    }
    set_counters(state, values.size(), written);
}

void encode_writer(benchmark::State& state, varint_distribution d) {
    const auto values = crdt_bench::make_varint_values(d);
    crdt::byte_writer w(values.size() * crdt::varint::max_length);
    for (auto _ : state) {
        w.clear();
        for (const auto v : values) {
            w.varint(v);
        }
        benchmark::DoNotOptimize(w.view().data());
        benchmark::ClobberMemory();
    }
    if (w.size() != crdt_bench::encoded_size(values)) {
        state.SkipWithError("byte_writer::varint wrote an unexpected number of bytes");
    }
    set_counters(state, values.size(), w.size());
}

void encode_memcpy(benchmark::State& state, varint_distribution d) {
    const auto values = crdt_bench::make_varint_values(d);
    const std::size_t bytes = values.size() * sizeof(std::uint64_t);
    std::vector<std::byte> out(bytes);
    for (auto _ : state) {
        std::memcpy(out.data(), values.data(), bytes);
        benchmark::DoNotOptimize(out.data());
        benchmark::ClobberMemory();
    }
    set_counters(state, values.size(), bytes);
}

} // namespace

int main(int argc, char** argv) {
    for (const auto d : crdt_bench::all_varint_distributions) {
        const std::string prefix =
            crdt_bench::bench_name({"varint_encode/", crdt_bench::name_of(d)});
        benchmark::RegisterBenchmark(crdt_bench::bench_name({prefix, "/raw"}).c_str(), encode_raw,
                                     d);
        benchmark::RegisterBenchmark(crdt_bench::bench_name({prefix, "/writer"}).c_str(),
                                     encode_writer, d);
        benchmark::RegisterBenchmark(crdt_bench::bench_name({prefix, "/memcpy"}).c_str(),
                                     encode_memcpy, d);
    }
    return crdt_bench::run_benchmarks(argc, argv);
}
