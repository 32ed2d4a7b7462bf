// benchmarks/storage/load_range.cpp -- load_range of one prefix holding 10k
// keys (100-byte values) in a store that also holds 10k keys under another
// prefix, for the log, SQLite, file and memory adapters and a warm
// cached_storage over the log; baseline in the same run: the same range
// query in plain SQLite (SELECT k, v ... WHERE k >= ? AND k < ?).
// Names: load_range/<adapter>; items_per_second counts entries returned.
#include <crdt/storage/cached_storage.hpp>
#include <crdt/storage/file_storage.hpp>
#include <crdt/storage/log_storage.hpp>
#include <crdt/storage/memory_storage.hpp>
#include <crdt/storage/sqlite_storage.hpp>

#include "storage/bench_dir.hpp"
#include "support/registration.hpp"

#include <benchmark/benchmark.h>

#include <sqlite3.h>

#include <memory>

namespace {

using crdt_bench::bench_key;
using crdt_bench::scratch_dir;
using crdt_bench::value100;

constexpr int keys = 10000;

template <class S>
void fill(S& s) {
    crdt::write_batch b;
    for (int i = 0; i < keys; ++i) {
        b.save(bench_key(static_cast<std::uint64_t>(i), "doc"), value100());
        b.save(bench_key(static_cast<std::uint64_t>(i), "other"), value100());
    }
    if constexpr (crdt::batch_storage<S>) {
        s.commit(b);
    } else {
        for (const auto& op : b.operations()) {
            s.save(op.key, *op.value);
        }
    }
}

template <class S>
void run(benchmark::State& state, S& s) {
    const crdt::storage_key prefix{"ws", "doc"};
    std::size_t n = 0;
    for (auto _ : state) {
        auto r = s.load_range(prefix);
        n = r.size();
        benchmark::DoNotOptimize(r.data());
    }
    if (n != keys) {
        state.SkipWithError("wrong number of entries");
    }
    state.SetItemsProcessed(state.iterations() * keys);
}

void plain_sqlite(benchmark::State& state) {
    scratch_dir dir;
    {
        crdt::sqlite_storage s(dir.path() / "s.db", {crdt::durability::none});
        fill(s);
    }
    sqlite3* db = nullptr;
    sqlite3_open((dir.path() / "s.db").c_str(), &db);
    sqlite3_stmt* q = nullptr;
    sqlite3_prepare_v2(db, "SELECT k, v FROM kv WHERE k >= ? AND k < ? ORDER BY k", -1, &q,
                       nullptr);
    const auto lo = crdt::encode_key(crdt::storage_key{"ws", "doc"});
    const auto hi = *crdt::prefix_successor(lo);
    for (auto _ : state) {
        std::vector<std::pair<std::string, std::vector<std::byte>>> out;
        sqlite3_bind_blob(q, 1, lo.data(), static_cast<int>(lo.size()), SQLITE_STATIC);
        sqlite3_bind_blob(q, 2, hi.data(), static_cast<int>(hi.size()), SQLITE_STATIC);
        while (sqlite3_step(q) == SQLITE_ROW) {
            const auto* k = static_cast<const char*>(sqlite3_column_blob(q, 0));
            const auto* v = static_cast<const std::byte*>(sqlite3_column_blob(q, 1));
            out.emplace_back(std::string(k, static_cast<std::size_t>(sqlite3_column_bytes(q, 0))),
                             std::vector<std::byte>(v, v + sqlite3_column_bytes(q, 1)));
        }
        sqlite3_reset(q);
        benchmark::DoNotOptimize(out.data());
    }
    sqlite3_finalize(q);
    sqlite3_close(db);
    state.SetItemsProcessed(state.iterations() * keys);
}

} // namespace

int main(int argc, char** argv) {
    benchmark::RegisterBenchmark("load_range/log",
                                 [](benchmark::State& st) {
                                     scratch_dir dir;
                                     crdt::log_storage s(dir.path(), {crdt::durability::none});
                                     fill(s);
                                     run(st, s);
                                 })
        ->Unit(benchmark::kMillisecond)
        ->UseRealTime();
    benchmark::RegisterBenchmark("load_range/cached_log_warm",
                                 [](benchmark::State& st) {
                                     scratch_dir dir;
                                     using C = crdt::cached_storage<crdt::log_storage>;
                                     C s(C::options{64 << 20}, dir.path(),
                                         crdt::log_storage::options{crdt::durability::none});
                                     fill(s);
                                     (void)s.load_range(crdt::storage_key{"ws", "doc"});
                                     run(st, s);
                                 })
        ->Unit(benchmark::kMillisecond)
        ->UseRealTime();
    benchmark::RegisterBenchmark("load_range/sqlite",
                                 [](benchmark::State& st) {
                                     scratch_dir dir;
                                     crdt::sqlite_storage s(dir.path() / "s.db",
                                                            {crdt::durability::none});
                                     fill(s);
                                     run(st, s);
                                 })
        ->Unit(benchmark::kMillisecond)
        ->UseRealTime();
    benchmark::RegisterBenchmark("load_range/plain_sqlite", plain_sqlite)
        ->Unit(benchmark::kMillisecond)
        ->UseRealTime();
    benchmark::RegisterBenchmark("load_range/file",
                                 [](benchmark::State& st) {
                                     scratch_dir dir;
                                     crdt::file_storage s(dir.path(), {crdt::durability::none});
                                     fill(s);
                                     run(st, s);
                                 })
        ->Unit(benchmark::kMillisecond)
        ->UseRealTime();
    benchmark::RegisterBenchmark("load_range/memory",
                                 [](benchmark::State& st) {
                                     crdt::memory_storage s;
                                     fill(s);
                                     run(st, s);
                                 })
        ->Unit(benchmark::kMillisecond)
        ->UseRealTime();
    return crdt_bench::run_benchmarks(argc, argv);
}
