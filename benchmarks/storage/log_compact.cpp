// benchmarks/storage/log_compact.cpp -- compaction of a log_storage of about
// 100 MB (set CRDT_BENCH_LOG_MB to change it) in which each of 20k keys
// (1 KiB values) was overwritten ~5 times, so ~20 MB are live. Each
// iteration builds a fresh log (untimed) and times compact(). Baseline in the
// same run: copying the same number of live bytes with write + one fdatasync
// (the floor for rewriting the live data durably).
// Names: log_compact/<crdt|copy_live_bytes>; bytes_per_second counts the
// log's size before compaction.
#include <crdt/storage/log_storage.hpp>

#include "storage/bench_dir.hpp"
#include "support/registration.hpp"

#include <benchmark/benchmark.h>

#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <string>
#include <vector>

namespace {

using crdt_bench::bench_key;
using crdt_bench::scratch_dir;

std::uint64_t target_bytes() {
    const char* env = std::getenv("CRDT_BENCH_LOG_MB");
    return (env != nullptr ? std::strtoull(env, nullptr, 10) : 100) << 20;
}

constexpr std::uint64_t live_keys = 20000;

std::uint64_t build(const std::filesystem::path& dir) {
    crdt::log_storage s(dir, {crdt::durability::none});
    const crdt::storage_bytes v = crdt::to_storage_bytes(std::string(1024, 'c'));
    crdt::write_batch b;
    std::uint64_t i = 0;
    while (s.disk_size() < target_bytes()) {
        b.clear();
        for (int j = 0; j < 1000; ++j, ++i) {
            b.save(bench_key(i % live_keys), v);
        }
        s.commit(b);
    }
    s.flush();
    return s.disk_size();
}

void compact(benchmark::State& state) {
    std::uint64_t size = 0;
    for (auto _ : state) {
        state.PauseTiming();
        scratch_dir dir;
        size = build(dir.path());
        crdt::log_storage s(dir.path(), {crdt::durability::none});
        state.ResumeTiming();
        s.compact();
        state.PauseTiming();
        if (s.size() != live_keys) {
            state.SkipWithError("lost keys");
        }
        state.ResumeTiming();
    }
    state.SetBytesProcessed(static_cast<std::int64_t>(size) * state.iterations());
    state.counters["log_MB"] = static_cast<double>(size) / (1 << 20);
}

void copy_live(benchmark::State& state) {
    scratch_dir dir;
    const std::vector<char> buf(1 << 20, 'c');
    const std::uint64_t live = live_keys * 1100;
    for (auto _ : state) {
        const int fd = ::open((dir.path() / "copy").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        for (std::uint64_t done = 0; done < live; done += buf.size()) {
            if (::write(fd, buf.data(), buf.size()) < 0) {
                state.SkipWithError("write failed");
            }
        }
        ::fdatasync(fd);
        ::close(fd);
    }
    state.SetBytesProcessed(static_cast<std::int64_t>(live) * state.iterations());
}

} // namespace

int main(int argc, char** argv) {
    benchmark::RegisterBenchmark("log_compact/crdt", compact)
        ->Iterations(3)
        ->Unit(benchmark::kMillisecond)
        ->UseRealTime();
    benchmark::RegisterBenchmark("log_compact/copy_live_bytes", copy_live)
        ->Iterations(3)
        ->Unit(benchmark::kMillisecond)
        ->UseRealTime();
    return crdt_bench::run_benchmarks(argc, argv);
}
