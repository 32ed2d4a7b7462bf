// benchmarks/storage/log_open.cpp -- open (recovery: scan every segment,
// check every CRC, rebuild the index) of a log_storage of about 100 MB (set
// CRDT_BENCH_LOG_MB), 100-byte values under 1M distinct keys overwritten
// until the size is reached. Baseline in the same run: reading the same
// segment files into memory (read(2), no parsing), so the ratio is the
// recovery's CPU cost over plain I/O.
// Names: log_open/<crdt|read_files>; bytes_per_second counts the log's size.
#include <crdt/storage/log_storage.hpp>

#include "storage/bench_dir.hpp"
#include "support/registration.hpp"

#include <benchmark/benchmark.h>

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <vector>

namespace {

using crdt_bench::bench_key;
using crdt_bench::scratch_dir;

std::uint64_t target_bytes() {
    const char* env = std::getenv("CRDT_BENCH_LOG_MB");
    return (env != nullptr ? std::strtoull(env, nullptr, 10) : 100) << 20;
}

struct fixture {
    scratch_dir dir;
    std::uint64_t size = 0;
    fixture() {
        crdt::log_storage s(dir.path(), {crdt::durability::none});
        crdt::write_batch b;
        std::uint64_t i = 0;
        while (s.disk_size() < target_bytes()) {
            b.clear();
            for (int j = 0; j < 1000; ++j, ++i) {
                b.save(bench_key(i % 1000000), crdt_bench::value100());
            }
            s.commit(b);
        }
        s.flush();
        size = s.disk_size();
    }
};

fixture& shared() {
    static fixture f;
    return f;
}

void open_log(benchmark::State& state) {
    auto& f = shared();
    std::size_t keys = 0;
    for (auto _ : state) {
        crdt::log_storage s(f.dir.path(), {crdt::durability::none});
        keys = s.size();
    }
    state.counters["keys"] = static_cast<double>(keys);
    state.counters["log_MB"] = static_cast<double>(f.size) / (1 << 20);
    state.SetBytesProcessed(static_cast<std::int64_t>(f.size) * state.iterations());
}

void read_files(benchmark::State& state) {
    auto& f = shared();
    for (auto _ : state) {
        std::size_t n = 0;
        for (const auto& e : std::filesystem::directory_iterator(f.dir.path())) {
            if (e.path().extension() == ".log") {
                std::ifstream in(e.path(), std::ios::binary);
                std::vector<char> data((std::istreambuf_iterator<char>(in)),
                                       std::istreambuf_iterator<char>());
                n += data.size();
            }
        }
        benchmark::DoNotOptimize(n);
    }
    state.SetBytesProcessed(static_cast<std::int64_t>(f.size) * state.iterations());
}

} // namespace

int main(int argc, char** argv) {
    benchmark::RegisterBenchmark("log_open/crdt", open_log)
        ->Unit(benchmark::kMillisecond)
        ->UseRealTime();
    benchmark::RegisterBenchmark("log_open/read_files", read_files)
        ->Unit(benchmark::kMillisecond)
        ->UseRealTime();
    return crdt_bench::run_benchmarks(argc, argv);
}
