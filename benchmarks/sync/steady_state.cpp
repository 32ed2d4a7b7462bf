// benchmarks/sync/steady_state.cpp -- steady-state throughput of small
// deltas: one replica makes one lww_map set per change() call as fast as it
// can while a peer applies them.
//
// The writer (replica 1) cycles over 10,000 keys "key-0000123" with short
// values; the reader (replica 2) writes nothing. Both are
// crdt::store::replica<lww_map<std::string, std::string>, Storage,
// Transport> with the default replica policy (automatic compaction on, a
// protocol tick every 100 ms). One iteration is a batch of changes, each
// followed by the writer's poll(), then polls until the writer is settled
// (the reader has acknowledged the last change): nothing is left in flight
// when the clock stops. Cases, `steady/<transport>/<storage>`:
//   tcp/*       two processes: the reader is a child forked at the start of
//               the case, before either side creates an Asio object; it
//               listens on 127.0.0.1, the writer dials it. The child polls
//               (tcp_transport::wait, then poll) until the parent closes a
//               pipe.
//   loopback/*  the in-process reference: both replicas in this thread on a
//               loopback_hub, the reader polled after every change.
// Storage (the same kind on both sides): memory_full = memory_storage at
// durability::full (flush O(1)); memory_none = memory_storage at
// durability::none (its flush() copies the whole store, see
// crdt/storage/memory_storage.hpp); file_full = file_storage at
// durability::full in a scratch directory under $CRDT_BENCH_DIR or the
// system temporary directory (two fsyncs per save on each side).
//
// Counters: ops_per_s = changes / wall time (the time column is wall time
// per batch, UseManualTime); bytes_per_op = sync payload bytes the writer
// sent per change; wire_bytes_per_op (TCP) = bytes the writer's socket
// wrote per change; acks_per_op = messages the writer received per change;
// writer_cpu_us = the writer thread's CPU time per change; reader_cpu_us
// (TCP) = the child's CPU time per change (getrusage, setup included).
#include <crdt/core/replica_id.hpp>
#include <crdt/lww_map.hpp>
#include <crdt/storage/durability.hpp>
#include <crdt/storage/file_storage.hpp>
#include <crdt/storage/memory_storage.hpp>
#include <crdt/store/replica.hpp>
#include <crdt/transport/loopback.hpp>
#include <crdt/transport/tcp_transport.hpp>

#include <storage/bench_dir.hpp>
#include <support/registration.hpp>

#include <benchmark/benchmark.h>

#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <string_view>

#include <poll.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "pipe_io.hpp"

namespace {

using map_t = crdt::lww_map<std::string, std::string>;
using clock_type = std::chrono::steady_clock;

constexpr std::size_t key_space = 10'000;
constexpr std::chrono::seconds deadline{120}; // a batch that takes longer is a bug

std::string key_of(std::size_t i) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "key-%07zu", i);
    return buf;
}

double seconds_since(clock_type::time_point t0) {
    return std::chrono::duration<double>(clock_type::now() - t0).count();
}

double thread_cpu_seconds() {
    timespec ts{};
    ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

double children_cpu_seconds() {
    rusage ru{};
    ::getrusage(RUSAGE_CHILDREN, &ru);
    auto s = [](const timeval& tv) {
        return static_cast<double>(tv.tv_sec) + 1e-6 * static_cast<double>(tv.tv_usec);
    };
    return s(ru.ru_utime) + s(ru.ru_stime);
}

// --- storage kinds ----------------------------------------------------------

struct memory_full {
    using storage_type = crdt::memory_storage;
    static constexpr std::size_t batch = 5000;
    std::optional<storage_type> s;
    storage_type& open() { return s.emplace(); }
};

struct memory_none {
    using storage_type = crdt::memory_storage;
    static constexpr std::size_t batch = 5000;
    std::optional<storage_type> s;
    storage_type& open() {
        return s.emplace(crdt::memory_storage::options{crdt::durability::none});
    }
};

struct file_full {
    using storage_type = crdt::file_storage;
    static constexpr std::size_t batch = 200;
    crdt_bench::scratch_dir dir;
    std::optional<storage_type> s;
    storage_type& open() {
        return s.emplace(dir.path(), crdt::file_storage::options{crdt::durability::full, true});
    }
};

template <class Kind, class Tr>
using replica_t = crdt::store::replica<map_t, typename Kind::storage_type, Tr>;

// The writer's side of one change: one set, then a poll.
template <class Replica>
void change_one(Replica& a, std::size_t i) {
    a.change([&](map_t& m) { return m.set(key_of(i % key_space), "v" + std::to_string(i)); });
    a.poll();
}

struct totals {
    double ops = 0, wall = 0, cpu = 0;
    void report(benchmark::State& state, const crdt::replica_stats& a) const {
        state.counters["ops_per_s"] = ops / wall;
        state.counters["writer_cpu_us"] = 1e6 * cpu / ops;
        state.counters["bytes_per_op"] = static_cast<double>(a.sync.bytes_out) / ops;
        state.counters["acks_per_op"] = static_cast<double>(a.sync.messages_in) / ops;
        state.counters["compactions"] = static_cast<double>(a.compactions);
    }
};

// --- the in-process reference -----------------------------------------------

template <class Kind>
void bm_loopback(benchmark::State& state) {
    crdt::loopback_hub hub;
    Kind ka, kb;
    crdt::loopback_transport ta(hub, "writer");
    crdt::loopback_transport tb(hub, "reader");
    replica_t<Kind, crdt::loopback_transport> a(ka.open(), ta, "doc", crdt::replica_id(1));
    replica_t<Kind, crdt::loopback_transport> b(kb.open(), tb, "doc", crdt::replica_id(2));
    while (a.peers().empty() || b.peers().empty() || !a.settled() || !b.settled()) {
        a.poll();
        b.poll();
    }
    const auto before = a.stats(); // the handshake's messages are not counted
    totals t;
    std::size_t next = 0;
    for (auto _ : state) {
        const double c0 = thread_cpu_seconds();
        const auto t0 = clock_type::now();
        for (std::size_t i = 0; i < Kind::batch; ++i) {
            change_one(a, next++);
            b.poll();
        }
        while (!a.settled() && clock_type::now() - t0 < deadline) {
            a.poll();
            b.poll();
        }
        const double wall = seconds_since(t0);
        state.SetIterationTime(wall);
        t.ops += static_cast<double>(Kind::batch);
        t.wall += wall;
        t.cpu += thread_cpu_seconds() - c0;
        if (!a.settled()) {
            state.SkipWithError("loopback: the reader did not acknowledge the batch");
            break;
        }
    }
    if (a.version() != b.version()) {
        state.SkipWithError("loopback: the replicas differ");
    }
    auto s = a.stats();
    s.sync.bytes_out -= before.sync.bytes_out;
    s.sync.messages_in -= before.sync.messages_in;
    t.report(state, s);
}

// --- two processes over TCP -------------------------------------------------

using crdt_bench::read_all;
using crdt_bench::write_all;

// The child: a reader replica that listens, sends its port up the pipe,
// and polls until the parent closes `down`. Returns: the exit status.
template <class Kind>
int run_reader(int down, int up) {
    Kind kind;
    crdt::tcp_transport tb("reader");
    const std::uint16_t port = tb.listen("127.0.0.1", 0);
    replica_t<Kind, crdt::tcp_transport> b(kind.open(), tb, "doc", crdt::replica_id(2));
    if (!write_all(up, &port, sizeof port)) {
        return 11;
    }
    for (;;) {
        tb.wait(std::chrono::milliseconds(20));
        b.poll();
        pollfd p{down, POLLIN, 0};
        if (::poll(&p, 1, 0) > 0) {
            char c = 0;
            if (::read(down, &c, 1) <= 0) {
                return 0; // the parent closed the pipe: done
            }
        }
    }
}

template <class Kind>
void bm_tcp(benchmark::State& state) {
    int down[2];
    int up[2];
    if (::pipe(down) != 0 || ::pipe(up) != 0) {
        state.SkipWithError("pipe failed");
        return;
    }
    const double child_cpu_before = children_cpu_seconds();
    const pid_t pid = ::fork();
    if (pid < 0) {
        state.SkipWithError("fork failed");
        return;
    }
    if (pid == 0) {
        ::close(down[1]);
        ::close(up[0]);
        int status = 30;
        try {
            status = run_reader<Kind>(down[0], up[1]);
        } catch (...) {
            status = 30;
        }
        ::_exit(status);
    }
    ::close(down[0]);
    ::close(up[1]);
    std::uint16_t port = 0;
    const bool got_port = read_all(up[0], &port, sizeof port);
    totals t;
    bool ok = got_port;
    if (ok) {
        Kind kind;
        crdt::tcp_transport ta("writer");
        ta.connect("127.0.0.1", port);
        replica_t<Kind, crdt::tcp_transport> a(kind.open(), ta, "doc", crdt::replica_id(1));
        const auto t_join = clock_type::now();
        while ((a.peers().empty() || !a.settled()) && clock_type::now() - t_join < deadline) {
            ta.wait(std::chrono::milliseconds(10));
            a.poll();
        }
        ok = !a.peers().empty() && a.settled();
        const auto before = a.stats();
        const auto wire_before = ta.stats().bytes_out;
        std::size_t next = 0;
        for (auto _ : state) {
            if (!ok) {
                state.SkipWithError("tcp: the reader did not join");
                break;
            }
            const double c0 = thread_cpu_seconds();
            const auto t0 = clock_type::now();
            for (std::size_t i = 0; i < Kind::batch; ++i) {
                change_one(a, next++);
            }
            while (!a.settled() && clock_type::now() - t0 < deadline) {
                ta.wait(std::chrono::milliseconds(1));
                a.poll();
            }
            const double wall = seconds_since(t0);
            state.SetIterationTime(wall);
            t.ops += static_cast<double>(Kind::batch);
            t.wall += wall;
            t.cpu += thread_cpu_seconds() - c0;
            if (!a.settled()) {
                ok = false;
                state.SkipWithError("tcp: the reader did not acknowledge the batch");
                break;
            }
        }
        if (ok && t.ops > 0) {
            auto s = a.stats();
            s.sync.bytes_out -= before.sync.bytes_out;
            s.sync.messages_in -= before.sync.messages_in;
            t.report(state, s);
            state.counters["wire_bytes_per_op"] =
                static_cast<double>(ta.stats().bytes_out - wire_before) / t.ops;
        }
    } else {
        state.SkipWithError("tcp: no port from the reader");
    }
    ::close(down[1]); // the reader stops
    int status = 0;
    ::waitpid(pid, &status, 0);
    ::close(up[0]);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        state.SkipWithError("tcp: the reader process failed");
    } else if (ok && t.ops > 0) {
        state.counters["reader_cpu_us"] = 1e6 * (children_cpu_seconds() - child_cpu_before) / t.ops;
    }
}

} // namespace

int main(int argc, char** argv) {
    using crdt_bench::bench_name;
    auto reg = [](std::string_view name, void (*fn)(benchmark::State&)) {
        benchmark::RegisterBenchmark(bench_name({"steady/", name}).c_str(), fn)
            ->UseManualTime()
            ->Unit(benchmark::kMillisecond);
    };
    reg("loopback/memory_full", bm_loopback<memory_full>);
    reg("loopback/memory_none", bm_loopback<memory_none>);
    reg("tcp/memory_full", bm_tcp<memory_full>);
    reg("tcp/memory_none", bm_tcp<memory_none>);
    reg("tcp/file_full", bm_tcp<file_full>);
    return crdt_bench::run_benchmarks(argc, argv);
}
