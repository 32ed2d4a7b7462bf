// benchmarks/storage/save.cpp -- saves of 100-byte values, one call per save
// and in batches of 1000, at each durability level, for the log, SQLite,
// file and memory adapters; baselines in the same run: raw write+fdatasync
// of 100 bytes to one file (durability full), raw write without sync (none),
// and plain SQLite inserts with the adapter's settings (same table shape,
// WAL, same synchronous mode).
//
// Names: save/<adapter|baseline>/<durability>/<single|batch1000>. Iteration
// counts are fixed: 100k saves at normal and none; at full, where every save
// waits for the disk, 2000 (log, raw, SQLite) or 500 (file: two syncs per
// save; CRDT_BENCH_FULL_SAVES=N runs N at full, a quarter of that for file).
// items_per_second counts saves. save/paired/... runs an adapter and
// its baseline alternately in one loop (see paired()) and reports the ratio.
#include <crdt/storage/file_storage.hpp>
#include <crdt/storage/log_storage.hpp>
#include <crdt/storage/memory_storage.hpp>
#include <crdt/storage/sqlite_storage.hpp>

#include "storage/bench_dir.hpp"
#include "support/registration.hpp"

#include <benchmark/benchmark.h>

#include <fcntl.h>
#include <sqlite3.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

namespace {

using crdt::durability;
using crdt_bench::bench_key;
using crdt_bench::scratch_dir;
using crdt_bench::value100;

constexpr int batch_size = 1000;

// Saves at `full` wait for the disk each time, so they are scaled down
// unless CRDT_BENCH_FULL_SAVES asks for more (100000: the count).
std::int64_t full_saves() {
    const char* env = std::getenv("CRDT_BENCH_FULL_SAVES");
    if (env != nullptr && *env != '\0') {
        char* end = nullptr;
        const long long n = std::strtoll(env, &end, 10);
        if (end != nullptr && *end == '\0' && n > 0) {
            return static_cast<std::int64_t>(n);
        }
    }
    return 2000;
}

std::int64_t single_iterations(durability d, bool file = false) {
    if (d == durability::full) {
        return file ? std::max<std::int64_t>(1, full_saves() / 4) : full_saves();
    }
    return 100000;
}

template <class Store, class Make>
void run_single(benchmark::State& state, Make make) {
    scratch_dir dir;
    auto s = make(dir.path());
    std::uint64_t i = 0;
    for (auto _ : state) {
        s->save(bench_key(i++), value100());
    }
    s->flush();
    state.SetItemsProcessed(state.iterations());
}

template <class Store, class Make>
void run_batch(benchmark::State& state, Make make) {
    scratch_dir dir;
    auto s = make(dir.path());
    std::uint64_t i = 0;
    crdt::write_batch b;
    for (auto _ : state) {
        state.PauseTiming();
        b.clear();
        for (int j = 0; j < batch_size; ++j) {
            b.save(bench_key(i++), value100());
        }
        state.ResumeTiming();
        s->commit(b);
    }
    s->flush();
    state.SetItemsProcessed(state.iterations() * batch_size);
}

void raw_write(benchmark::State& state, bool sync) {
    scratch_dir dir;
    const auto p = dir.path() / "raw.bin";
    const int fd = ::open(p.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0644);
    const auto& v = value100();
    for (auto _ : state) {
        if (::write(fd, v.data(), v.size()) != static_cast<ssize_t>(v.size())) {
            state.SkipWithError("write failed");
            break;
        }
        if (sync) {
            ::fdatasync(fd);
        }
    }
    ::close(fd);
    state.SetItemsProcessed(state.iterations());
}

// Plain SQLite: the adapter's table and pragmas, a prepared upsert, no crdt.
void plain_sqlite(benchmark::State& state, durability d, int per_txn) {
    scratch_dir dir;
    sqlite3* db = nullptr;
    sqlite3_open((dir.path() / "plain.db").c_str(), &db);
    sqlite3_exec(db, "PRAGMA journal_mode=WAL", nullptr, nullptr, nullptr);
    const char* sync = d == durability::full     ? "PRAGMA synchronous=FULL"
                       : d == durability::normal ? "PRAGMA synchronous=NORMAL"
                                                 : "PRAGMA synchronous=OFF";
    sqlite3_exec(db, sync, nullptr, nullptr, nullptr);
    sqlite3_exec(db,
                 "CREATE TABLE kv(k BLOB PRIMARY KEY, v BLOB NOT NULL, ver INTEGER NOT NULL) "
                 "WITHOUT ROWID",
                 nullptr, nullptr, nullptr);
    sqlite3_stmt* ins = nullptr;
    sqlite3_prepare_v2(db,
                       "INSERT INTO kv(k, v, ver) VALUES(?, ?, ?) ON CONFLICT(k) DO UPDATE SET "
                       "v = excluded.v, ver = excluded.ver",
                       -1, &ins, nullptr);
    std::uint64_t i = 0;
    const auto& v = value100();
    for (auto _ : state) {
        if (per_txn > 1) {
            sqlite3_exec(db, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr);
        }
        for (int j = 0; j < per_txn; ++j) {
            const auto k = crdt::encode_key(bench_key(i++));
            sqlite3_bind_blob(ins, 1, k.data(), static_cast<int>(k.size()), SQLITE_TRANSIENT);
            sqlite3_bind_blob(ins, 2, v.data(), static_cast<int>(v.size()), SQLITE_STATIC);
            sqlite3_bind_int64(ins, 3, static_cast<sqlite3_int64>(i));
            sqlite3_step(ins);
            sqlite3_reset(ins);
        }
        if (per_txn > 1) {
            sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr);
        }
    }
    sqlite3_finalize(ins);
    sqlite3_close(db);
    state.SetItemsProcessed(state.iterations() * per_txn);
}

// Paired runs: each iteration does one adapter save and one baseline save,
// timed separately, so both see the same disk and CPU conditions (fsync
// latency on a shared virtual disk varies several-fold within minutes).
// Counters: adapter_us and baseline_us (mean per save) and ratio.
template <class Adapter, class Baseline>
void paired(benchmark::State& state, Adapter adapter, Baseline baseline) {
    using clock = std::chrono::steady_clock;
    clock::duration a{};
    clock::duration b{};
    std::uint64_t i = 0;
    for (auto _ : state) {
        const auto t0 = clock::now();
        adapter(i);
        const auto t1 = clock::now();
        baseline(i);
        const auto t2 = clock::now();
        a += t1 - t0;
        b += t2 - t1;
        ++i;
    }
    const auto us = [&](clock::duration d) {
        return std::chrono::duration<double, std::micro>(d).count() / static_cast<double>(i);
    };
    state.counters["adapter_us"] = us(a);
    state.counters["baseline_us"] = us(b);
    state.counters["ratio"] = us(a) / us(b);
}

void paired_log_raw(benchmark::State& state, durability d) {
    scratch_dir dir;
    crdt::log_storage log(dir.path() / "log", {d});
    const auto p = dir.path() / "raw.bin";
    const int fd = ::open(p.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0644);
    const auto& v = value100();
    // Keys are made before the timed loop: building a storage_key (three
    // strings) is the caller's cost, not the adapter's.
    std::vector<crdt::storage_key> keys;
    keys.reserve(static_cast<std::size_t>(state.max_iterations));
    for (std::uint64_t i = 0; i < static_cast<std::uint64_t>(state.max_iterations); ++i) {
        keys.push_back(bench_key(i));
    }
    paired(
        state, [&](std::uint64_t i) { log.save(keys[i], v); },
        [&](std::uint64_t) {
            if (::write(fd, v.data(), v.size()) < 0) {
                state.SkipWithError("write failed");
            }
            if (d == durability::full) {
                ::fdatasync(fd);
            }
        });
    ::close(fd);
}

void paired_sqlite_plain(benchmark::State& state, durability d) {
    scratch_dir dir;
    crdt::sqlite_storage s(dir.path() / "adapter.db", {d});
    sqlite3* db = nullptr;
    sqlite3_open((dir.path() / "plain.db").c_str(), &db);
    sqlite3_exec(db, "PRAGMA journal_mode=WAL", nullptr, nullptr, nullptr);
    const char* sync = d == durability::full     ? "PRAGMA synchronous=FULL"
                       : d == durability::normal ? "PRAGMA synchronous=NORMAL"
                                                 : "PRAGMA synchronous=OFF";
    sqlite3_exec(db, sync, nullptr, nullptr, nullptr);
    sqlite3_exec(db,
                 "CREATE TABLE kv(k BLOB PRIMARY KEY, v BLOB NOT NULL, ver INTEGER NOT NULL) "
                 "WITHOUT ROWID",
                 nullptr, nullptr, nullptr);
    sqlite3_stmt* ins = nullptr;
    sqlite3_prepare_v2(db,
                       "INSERT INTO kv(k, v, ver) VALUES(?, ?, ?) ON CONFLICT(k) DO UPDATE SET "
                       "v = excluded.v, ver = excluded.ver",
                       -1, &ins, nullptr);
    const auto& v = value100();
    paired(
        state, [&](std::uint64_t i) { s.save(bench_key(i), v); },
        [&](std::uint64_t i) {
            const auto k = crdt::encode_key(bench_key(i));
            sqlite3_bind_blob(ins, 1, k.data(), static_cast<int>(k.size()), SQLITE_TRANSIENT);
            sqlite3_bind_blob(ins, 2, v.data(), static_cast<int>(v.size()), SQLITE_STATIC);
            sqlite3_bind_int64(ins, 3, static_cast<sqlite3_int64>(i + 1));
            sqlite3_step(ins);
            sqlite3_reset(ins);
        });
    sqlite3_finalize(ins);
    sqlite3_close(db);
}

void register_all() {
    for (const auto d : {durability::full, durability::normal, durability::none}) {
        const std::string level(crdt::to_string(d));
        const auto n = d == durability::full ? 1000 : 20000;
        benchmark::RegisterBenchmark(
            crdt_bench::bench_name({"save/paired/log_vs_raw_write/", level}).c_str(),
            [d](benchmark::State& s) { paired_log_raw(s, d); })
            ->Iterations(n)
            ->Unit(benchmark::kMicrosecond)
            ->UseRealTime();
        benchmark::RegisterBenchmark(
            crdt_bench::bench_name({"save/paired/sqlite_vs_plain_sqlite/", level}).c_str(),
            [d](benchmark::State& s) { paired_sqlite_plain(s, d); })
            ->Iterations(n)
            ->Unit(benchmark::kMicrosecond)
            ->UseRealTime();
    }
    using crdt_bench::bench_name;
    for (const auto d : {durability::full, durability::normal, durability::none}) {
        const std::string level(crdt::to_string(d));
        const auto n = single_iterations(d);
        const auto nb = d == durability::full ? 20 : 100;
        auto log = [d](const std::filesystem::path& p) {
            return std::make_unique<crdt::log_storage>(p, crdt::log_storage::options{d});
        };
        auto sql = [d](const std::filesystem::path& p) {
            return std::make_unique<crdt::sqlite_storage>(p / "s.db",
                                                          crdt::sqlite_storage::options{d});
        };
        auto file = [d](const std::filesystem::path& p) {
            return std::make_unique<crdt::file_storage>(p, crdt::file_storage::options{d});
        };
        auto mem = [d](const std::filesystem::path&) {
            return std::make_unique<crdt::memory_storage>(crdt::memory_storage::options{d});
        };
        benchmark::RegisterBenchmark(
            bench_name({"save/log/", level, "/single"}).c_str(),
            [log](benchmark::State& s) { run_single<crdt::log_storage>(s, log); })
            ->Iterations(n)
            ->Unit(benchmark::kMicrosecond)
            ->UseRealTime();
        benchmark::RegisterBenchmark(
            bench_name({"save/log/", level, "/batch1000"}).c_str(),
            [log](benchmark::State& s) { run_batch<crdt::log_storage>(s, log); })
            ->Iterations(nb)
            ->Unit(benchmark::kMicrosecond)
            ->UseRealTime();
        benchmark::RegisterBenchmark(
            bench_name({"save/sqlite/", level, "/single"}).c_str(),
            [sql](benchmark::State& s) { run_single<crdt::sqlite_storage>(s, sql); })
            ->Iterations(n)
            ->Unit(benchmark::kMicrosecond)
            ->UseRealTime();
        benchmark::RegisterBenchmark(
            bench_name({"save/sqlite/", level, "/batch1000"}).c_str(),
            [sql](benchmark::State& s) { run_batch<crdt::sqlite_storage>(s, sql); })
            ->Iterations(nb)
            ->Unit(benchmark::kMicrosecond)
            ->UseRealTime();
        benchmark::RegisterBenchmark(bench_name({"save/plain_sqlite/", level, "/single"}).c_str(),
                                     [d](benchmark::State& s) { plain_sqlite(s, d, 1); })
            ->Iterations(n)
            ->Unit(benchmark::kMicrosecond)
            ->UseRealTime();
        benchmark::RegisterBenchmark(
            bench_name({"save/plain_sqlite/", level, "/batch1000"}).c_str(),
            [d](benchmark::State& s) { plain_sqlite(s, d, batch_size); })
            ->Iterations(nb)
            ->Unit(benchmark::kMicrosecond)
            ->UseRealTime();
        benchmark::RegisterBenchmark(
            bench_name({"save/file/", level, "/single"}).c_str(),
            [file](benchmark::State& s) { run_single<crdt::file_storage>(s, file); })
            ->Iterations(single_iterations(d, true) / (d == durability::full ? 1 : 10))
            ->Unit(benchmark::kMicrosecond)
            ->UseRealTime();
        benchmark::RegisterBenchmark(
            bench_name({"save/memory/", level, "/single"}).c_str(),
            [mem](benchmark::State& s) { run_single<crdt::memory_storage>(s, mem); })
            ->Iterations(n)
            ->Unit(benchmark::kMicrosecond)
            ->UseRealTime();
    }
    benchmark::RegisterBenchmark("save/raw_write_fdatasync/full/single",
                                 [](benchmark::State& s) { raw_write(s, true); })
        ->Iterations(single_iterations(durability::full))
        ->Unit(benchmark::kMicrosecond)
        ->UseRealTime();
    benchmark::RegisterBenchmark("save/raw_write/none/single",
                                 [](benchmark::State& s) { raw_write(s, false); })
        ->Iterations(single_iterations(durability::none))
        ->Unit(benchmark::kMicrosecond)
        ->UseRealTime();
}

} // namespace

int main(int argc, char** argv) {
    register_all();
    return crdt_bench::run_benchmarks(argc, argv);
}
