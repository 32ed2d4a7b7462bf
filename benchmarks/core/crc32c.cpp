// benchmarks/core/crc32c.cpp -- CRC-32C throughput: crdt::crc32c (SSE4.2
// when the CPU has it) and crdt::crc32c_portable (slicing-by-8), against a
// memcpy of the same buffer in the same run, on 4 KiB and 1 MiB of random
// bytes. Names are crc32c/<4KiB|1MiB>/<crc32c|portable|memcpy>; bytes/s
// counts bytes read.
#include <crdt/codec/crc32c.hpp>

#include "support/registration.hpp"

#include <benchmark/benchmark.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <random>
#include <span>
#include <string>
#include <vector>

namespace {

std::vector<std::byte> random_bytes(std::size_t n) {
    std::mt19937_64 rng(0xc3c32c00u + n);
    std::vector<std::byte> out(n);
    for (auto& b : out) {
        b = static_cast<std::byte>(rng());
    }
    return out;
}

enum class impl { hardware, portable, copy };

void run(benchmark::State& state, impl which, std::size_t size) {
    const auto data = random_bytes(size);
    std::vector<std::byte> sink(size);
    if (crdt::crc32c(data) != crdt::crc32c_portable(data)) {
        state.SkipWithError("crc32c and crc32c_portable disagree");
    }
    for (auto _ : state) {
        switch (which) {
        case impl::hardware: {
            auto crc = crdt::crc32c(data);
            benchmark::DoNotOptimize(crc);
            break;
        }
        case impl::portable: {
            auto crc = crdt::crc32c_portable(data);
            benchmark::DoNotOptimize(crc);
            break;
        }
        case impl::copy:
            std::memcpy(sink.data(), data.data(), size);
            benchmark::DoNotOptimize(sink.data());
            benchmark::ClobberMemory();
            break;
        }
    }
    state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(size));
}

} // namespace

int main(int argc, char** argv) {
    const std::pair<const char*, std::size_t> sizes[] = {{"4KiB", 4096}, {"1MiB", 1 << 20}};
    for (const auto& [label, size] : sizes) {
        const std::string prefix = crdt_bench::bench_name({"crc32c/", label});
        benchmark::RegisterBenchmark(crdt_bench::bench_name({prefix, "/crc32c"}).c_str(), run,
                                     impl::hardware, size);
        benchmark::RegisterBenchmark(crdt_bench::bench_name({prefix, "/portable"}).c_str(), run,
                                     impl::portable, size);
        benchmark::RegisterBenchmark(crdt_bench::bench_name({prefix, "/memcpy"}).c_str(), run,
                                     impl::copy, size);
    }
    return crdt_bench::run_benchmarks(argc, argv);
}
