// benchmarks/sync/catch_up.cpp -- bringing a fresh replica up to date with
// a large lww_map<std::string, std::string> (keys "key-0000123", values
// "val-123"), over the sync protocol, against the encoded state as the floor.
// (The issue also asks for the 260k-operation automerge-paper text: not
// possible yet, the sequence type has no codec / delta_since.)
//
// Replica A holds N keys (100,000 or 1,000,000), all written by replica 1.
// A fresh replica B (empty) joins; the wall time runs from the creation of
// B's transport until B's version includes A's and A has B's acknowledgement
// (A settled). Cases, `catch_up/<N>/<how>`:
//   direct             the time floor: crdt::encode(A) + crdt::decode +
//                      merge into an empty map, no protocol. Counters give
//                      the split in thread CPU time (encode_ms, decode_ms,
//                      merge_ms) and, untimed, the CPU cost of
//                      A.delta_since(empty version), which the protocol
//                      adds (delta_since_ms).
//   session_loopback   two crdt::sync_session over a loopback_hub, no
//                      storage: the protocol alone (delta_since, encoding,
//                      1 MiB parts, reassembly, decode, merge, ack).
//   session_tcp        the same over two tcp_transport on 127.0.0.1.
//   replica_loopback   two crdt::store::replica with memory_storage
//                      (durability::full, whose flush() is O(1); at normal
//                      and none memory_storage copies the store on flush)
//                      over a loopback_hub: the protocol plus B saving the
//                      received delta as a chunk (re-encoding, CRC, hash).
//   replica_tcp        the same over two tcp_transport on 127.0.0.1.
//   replica_tcp_2proc  A in a forked child process, B here; B's side stops
//                      the clock when its version includes A's (A's
//                      settling is not observed). Counters a_resyncs and
//                      a_bytes_out: what A sent per join, retransmissions
//                      included.
//   replica_tcp_2proc_patient  the same with A's sync policy waiting 40
//                      ticks (4 s) instead of 4 (400 ms) without progress
//                      before it retransmits.
// Except in _2proc, both ends live in this process and thread, polled
// alternately: the time is the whole job done on one core. Replicas use a
// policy without automatic compaction, so B does not write a snapshot right
// after catching up. A is set up once per case (not timed); the replica
// cases keep it across iterations and B rejoins with a fresh replica,
// transport and storage each iteration.
//
// Counters: bytes = sync payload bytes sent by both sides (sync_stats:
// hellos, delta parts, acks); floor_bytes = crdt::encode(A).size();
// bytes_ratio = bytes / floor_bytes; wire_bytes (TCP) = bytes written to the
// sockets (framing and transport handshakes included); cpu_ms = this
// thread's CPU time during the timed part (in _2proc, B's side only: cpu_ms_b).
// Times are manual wall-clock times (UseManualTime); on a shared machine
// quote cpu_ms too, which the load inflates far less.
#include <crdt/codec/codec.hpp>
#include <crdt/core/replica_id.hpp>
#include <crdt/lww_map.hpp>
#include <crdt/storage/memory_storage.hpp>
#include <crdt/store/replica.hpp>
#include <crdt/sync/session.hpp>
#include <crdt/transport/concepts.hpp>
#include <crdt/transport/loopback.hpp>
#include <crdt/transport/tcp_transport.hpp>

#include <support/registration.hpp>

#include <benchmark/benchmark.h>

#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include <poll.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "pipe_io.hpp"

namespace {

using map_t = crdt::lww_map<std::string, std::string>;
using version_t = map_t::version_type;
using clock_type = std::chrono::steady_clock;

constexpr std::chrono::seconds deadline{300}; // a catch-up that takes longer is a bug

struct no_compaction : crdt::replica_defaults {
    static constexpr bool auto_compact = false;
};

template <class Tr, class Policy = no_compaction>
using replica_t = crdt::store::replica<map_t, crdt::memory_storage, Tr, Policy>;

// The same, with 40 ticks (4 s) instead of 4 before a retransmission.
struct patient_retransmit : no_compaction {
    struct sync_policy : crdt::sync_defaults {
        static constexpr std::uint64_t retransmit_ticks = 40;
    };
};

std::string key_of(std::size_t i) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "key-%07zu", i);
    return buf;
}

double seconds_since(clock_type::time_point t0) {
    return std::chrono::duration<double>(clock_type::now() - t0).count();
}

// CPU time of this thread: every case runs on one thread (TCP included: the
// kernel's copies are charged to the thread making the system calls), so
// this is the work done, which a loaded machine inflates far less than the
// wall time.
double thread_cpu_seconds() {
    timespec ts{};
    ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

/// Returns: the source state of `n` keys, all written by replica 1 (built once).
const map_t& source(std::size_t n) {
    static std::map<std::size_t, std::unique_ptr<map_t>> cache;
    auto& slot = cache[n];
    if (!slot) {
        slot = std::make_unique<map_t>(crdt::replica_id(1));
        slot->reserve(n);
        for (std::size_t i = 0; i < n; ++i) {
            slot->set(key_of(i), "val-" + std::to_string(i));
        }
    }
    return *slot;
}

std::size_t floor_bytes(std::size_t n) {
    static std::map<std::size_t, std::size_t> cache;
    auto [it, fresh] = cache.try_emplace(n, 0);
    if (fresh) {
        it->second = crdt::encode(source(n)).size();
    }
    return it->second;
}

void set_byte_counters(benchmark::State& state, std::size_t n, double bytes, double wire) {
    const auto floor = static_cast<double>(floor_bytes(n));
    state.counters["floor_bytes"] = floor;
    state.counters["bytes"] = bytes;
    state.counters["bytes_ratio"] = bytes / floor;
    if (wire > 0) {
        state.counters["wire_bytes"] = wire;
        state.counters["wire_ratio"] = wire / floor;
    }
}

// ---------------------------------------------------------------------------
// direct: encode + decode + merge, no protocol (the floor for time).

void bm_direct(benchmark::State& state, std::size_t n) {
    const map_t& a = source(n);
    double encode_s = 0, decode_s = 0, merge_s = 0, since_s = 0;
    std::size_t bytes = 0;
    for (auto _ : state) {
        const auto t0 = clock_type::now();
        const double c0 = thread_cpu_seconds();
        const std::vector<std::byte> encoded = crdt::encode(a);
        const double c1 = thread_cpu_seconds();
        map_t decoded = crdt::decode<map_t>(encoded);
        const double c2 = thread_cpu_seconds();
        map_t b{crdt::replica_id(2)};
        b.merge(decoded);
        const double c3 = thread_cpu_seconds();
        state.SetIterationTime(seconds_since(t0));
        encode_s += c1 - c0;
        decode_s += c2 - c1;
        merge_s += c3 - c2;
        bytes = encoded.size();
        // Untimed: what delta_since adds on the sending side.
        const double c4 = thread_cpu_seconds();
        map_t since = a.delta_since(version_t{});
        since_s += thread_cpu_seconds() - c4;
        benchmark::DoNotOptimize(since);
        if (!(b == a)) {
            state.SkipWithError("direct: the merged state differs from the source");
            break;
        }
    }
    const auto iters = static_cast<double>(state.iterations());
    state.counters["encode_ms"] = 1e3 * encode_s / iters;
    state.counters["decode_ms"] = 1e3 * decode_s / iters;
    state.counters["merge_ms"] = 1e3 * merge_s / iters;
    state.counters["delta_since_ms"] = 1e3 * since_s / iters;
    state.counters["cpu_ms"] = 1e3 * (encode_s + decode_s + merge_s) / iters;
    set_byte_counters(state, n, static_cast<double>(bytes), 0);
}

// ---------------------------------------------------------------------------
// Transports: a pair of endpoints "a" and "b" of one kind.

struct loopback_pair {
    crdt::loopback_hub hub;
    std::unique_ptr<crdt::loopback_transport> a;
    std::unique_ptr<crdt::loopback_transport> b;

    void open_a() { a = std::make_unique<crdt::loopback_transport>(hub, "a"); }
    void open_b() { b = std::make_unique<crdt::loopback_transport>(hub, "b"); }
    void close_b() { b.reset(); }
    static double wire_bytes(const crdt::loopback_transport&) { return 0; }
};

struct tcp_pair {
    std::unique_ptr<crdt::tcp_transport> a;
    std::unique_ptr<crdt::tcp_transport> b;
    std::uint16_t port = 0;

    void open_a() {
        a = std::make_unique<crdt::tcp_transport>("a");
        port = a->listen("127.0.0.1", 0);
    }
    void open_b() {
        b = std::make_unique<crdt::tcp_transport>("b");
        b->connect("127.0.0.1", port);
    }
    void close_b() { b.reset(); }
    static double wire_bytes(const crdt::tcp_transport& t) {
        return static_cast<double>(t.stats().bytes_out);
    }
};

template <class Tr>
auto sender(Tr& t) {
    return [&t](crdt::peer_id p, std::span<const std::byte> b) { return t.send(p, b); };
}

// Hands the transport's pending events to a bare session (what replica::poll
// does, without storage).
template <class Tr, class Apply>
void pump(Tr& t, crdt::sync_session<map_t>& s, const map_t& state, Apply&& apply) {
    std::vector<crdt::transport_event> events;
    t.poll([&](crdt::transport_event&& ev) { events.push_back(std::move(ev)); });
    auto send = sender(t);
    for (auto& ev : events) {
        switch (ev.what) {
        case crdt::transport_event::kind::joined: s.peer_joined(ev.peer, state, send); break;
        case crdt::transport_event::kind::left: s.peer_left(ev.peer); break;
        case crdt::transport_event::kind::message:
            s.receive(ev.peer, ev.bytes, state, apply, send);
            break;
        }
    }
    s.flush(state, send);
}

// ---------------------------------------------------------------------------
// session_*: two bare sync_sessions; A's state is the source itself.

template <class Pair>
void bm_session(benchmark::State& state, std::size_t n) {
    const map_t& a_state = source(n);
    std::uint64_t next_session = 1;
    double bytes = 0, wire = 0, cpu_s = 0;
    for (auto _ : state) {
        const double c0 = thread_cpu_seconds();
        const auto t0 = clock_type::now();
        Pair net;
        net.open_a();
        net.open_b();
        crdt::sync_session<map_t> a("doc", "a", next_session++);
        crdt::sync_session<map_t> b("doc", "b", next_session++);
        map_t b_state{crdt::replica_id(2)};
        auto apply_a = [](map_t&&, const version_t*) { return false; }; // B has nothing to give
        auto apply_b = [&](map_t&& d, const version_t*) {
            b_state.merge(d);
            return true;
        };
        bool done = false;
        while (!done) {
            pump(*net.a, a, a_state, apply_a);
            pump(*net.b, b, b_state, apply_b);
            done = !a.peers().empty() && a.settled(a_state) &&
                   b_state.version().includes(a_state.version());
            if (!done && clock_type::now() - t0 > deadline) {
                break;
            }
        }
        state.SetIterationTime(seconds_since(t0));
        cpu_s += thread_cpu_seconds() - c0;
        if (!done || !(b_state == a_state)) {
            state.SkipWithError("session: B did not catch up");
            break;
        }
        bytes += static_cast<double>(a.stats().bytes_out + b.stats().bytes_out);
        wire += Pair::wire_bytes(*net.a) + Pair::wire_bytes(*net.b);
    }
    const auto iters = static_cast<double>(state.iterations());
    state.counters["cpu_ms"] = 1e3 * cpu_s / iters;
    set_byte_counters(state, n, bytes / iters, wire / iters);
}

// ---------------------------------------------------------------------------
// replica_*: store::replica with memory_storage on both sides.

template <class Pair>
void bm_replica(benchmark::State& state, std::size_t n) {
    using transport_t = typename decltype(Pair::a)::element_type;
    const map_t& src = source(n);
    Pair net;
    net.open_a();
    crdt::memory_storage a_storage;
    replica_t<transport_t> a(a_storage, *net.a, "doc", crdt::replica_id(1));
    a.change([&](map_t& m) {
        m.merge(src);
        return src;
    });
    double bytes = 0, wire = 0, cpu_s = 0;
    for (auto _ : state) {
        const auto a_before = a.stats().sync.bytes_out;
        const double a_wire_before = Pair::wire_bytes(*net.a);
        const double c0 = thread_cpu_seconds();
        const auto t0 = clock_type::now();
        net.open_b();
        {
            crdt::memory_storage b_storage;
            replica_t<transport_t> b(b_storage, *net.b, "doc", crdt::replica_id(2));
            const version_t target = a.version();
            bool done = false;
            while (!done) {
                a.poll();
                b.poll();
                done = !a.peers().empty() && a.settled() && b.version().includes(target);
                if (!done && clock_type::now() - t0 > deadline) {
                    break;
                }
            }
            state.SetIterationTime(seconds_since(t0));
            cpu_s += thread_cpu_seconds() - c0;
            const bool same = a.read(
                [&](const map_t& x) { return b.read([&](const map_t& y) { return x == y; }); });
            if (!done || !same) {
                state.SkipWithError("replica: B did not catch up");
                break;
            }
            bytes +=
                static_cast<double>(a.stats().sync.bytes_out - a_before + b.stats().sync.bytes_out);
            wire += Pair::wire_bytes(*net.a) - a_wire_before + Pair::wire_bytes(*net.b);
        }
        net.close_b(); // B leaves; A sees it at its next poll
    }
    const auto iters = static_cast<double>(state.iterations());
    state.counters["cpu_ms"] = 1e3 * cpu_s / iters;
    set_byte_counters(state, n, bytes / iters, wire / iters);
}

// ---------------------------------------------------------------------------
// replica_tcp_2proc: A in a child process forked at the start of the case
// (before this process creates an Asio object), B here; each side polls
// only its own replica, waiting on its transport when idle, so A keeps
// ticking while B decodes and merges -- as between two real processes.

using crdt_bench::read_all;
using crdt_bench::write_all;

struct holder_report {
    std::uint64_t bytes_out = 0;
    std::uint64_t resyncs = 0;
    std::uint64_t joins = 0;
};

// The child: replica A holding the source; sends its port up, serves until
// the parent closes `down`, then sends its counters up.
template <class Policy>
int run_holder(std::size_t n, int down, int up) {
    crdt::tcp_transport ta("a");
    const std::uint16_t port = ta.listen("127.0.0.1", 0);
    crdt::memory_storage storage;
    replica_t<crdt::tcp_transport, Policy> a(storage, ta, "doc", crdt::replica_id(1));
    const map_t& src = source(n);
    a.change([&](map_t& m) {
        m.merge(src);
        return src;
    });
    if (!write_all(up, &port, sizeof port)) {
        return 11;
    }
    holder_report r;
    for (;;) {
        ta.wait(std::chrono::milliseconds(20));
        a.poll();
        pollfd p{down, POLLIN, 0};
        if (::poll(&p, 1, 0) > 0) {
            char c = 0;
            if (::read(down, &c, 1) <= 0) {
                break;
            }
        }
    }
    const auto st = a.stats();
    r.bytes_out = st.sync.bytes_out;
    r.resyncs = st.sync.resyncs;
    return write_all(up, &r, sizeof r) ? 0 : 12;
}

template <class Policy>
void bm_replica_2proc(benchmark::State& state, std::size_t n) {
    const map_t& src = source(n); // built before the fork: the child shares it
    const version_t target = src.version();
    floor_bytes(n);
    int down[2];
    int up[2];
    if (::pipe(down) != 0 || ::pipe(up) != 0) {
        state.SkipWithError("pipe failed");
        return;
    }
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
            status = run_holder<Policy>(n, down[0], up[1]);
        } catch (...) {
            status = 30;
        }
        ::_exit(status);
    }
    ::close(down[0]);
    ::close(up[1]);
    std::uint16_t port = 0;
    bool ok = read_all(up[0], &port, sizeof port);
    double bytes = 0, wire = 0, cpu_s = 0;
    for (auto _ : state) {
        if (!ok) {
            state.SkipWithError("2proc: the holder did not start");
            break;
        }
        const double c0 = thread_cpu_seconds();
        const auto t0 = clock_type::now();
        crdt::tcp_transport tb("b");
        tb.connect("127.0.0.1", port);
        crdt::memory_storage b_storage;
        replica_t<crdt::tcp_transport> b(b_storage, tb, "doc", crdt::replica_id(2));
        while (!b.version().includes(target) && clock_type::now() - t0 < deadline) {
            tb.wait(std::chrono::milliseconds(5));
            b.poll();
        }
        state.SetIterationTime(seconds_since(t0));
        cpu_s += thread_cpu_seconds() - c0;
        const bool same = b.read([&](const map_t& y) { return y == src; });
        if (!same) {
            ok = false;
            state.SkipWithError("2proc: B did not catch up");
            break;
        }
        const auto st = b.stats();
        bytes += static_cast<double>(st.sync.bytes_in + st.sync.bytes_out);
        wire += static_cast<double>(tb.stats().bytes_in + tb.stats().bytes_out);
        // Let B's acknowledgement leave before B does (untimed).
        for (int i = 0; i < 200 && tb.unsent_bytes() > 0; ++i) {
            tb.wait(std::chrono::milliseconds(5));
            b.poll();
        }
    }
    ::close(down[1]); // the holder stops and reports
    holder_report r;
    const bool got_report = read_all(up[0], &r, sizeof r);
    int status = 0;
    ::waitpid(pid, &status, 0);
    ::close(up[0]);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || !got_report) {
        state.SkipWithError("2proc: the holder process failed");
        return;
    }
    if (ok) {
        const auto iters = static_cast<double>(state.iterations());
        state.counters["cpu_ms_b"] = 1e3 * cpu_s / iters;
        state.counters["a_resyncs"] = static_cast<double>(r.resyncs) / iters;
        state.counters["a_bytes_out"] = static_cast<double>(r.bytes_out) / iters;
        set_byte_counters(state, n, bytes / iters, wire / iters);
    }
}

} // namespace

int main(int argc, char** argv) {
    using crdt_bench::bench_name;
    for (const std::size_t n : {std::size_t{100'000}, std::size_t{1'000'000}}) {
        const std::string size = std::to_string(n);
        auto reg = [&](std::string_view how, auto fn) {
            benchmark::RegisterBenchmark(bench_name({"catch_up/", size, "/", how}).c_str(),
                                         [fn, n](benchmark::State& s) { fn(s, n); })
                ->UseManualTime()
                ->Unit(benchmark::kMillisecond);
        };
        reg("direct", bm_direct);
        reg("session_loopback", bm_session<loopback_pair>);
        reg("session_tcp", bm_session<tcp_pair>);
        reg("replica_loopback", bm_replica<loopback_pair>);
        reg("replica_tcp", bm_replica<tcp_pair>);
        reg("replica_tcp_2proc", bm_replica_2proc<no_compaction>);
        reg("replica_tcp_2proc_patient", bm_replica_2proc<patient_retransmit>);
    }
    return crdt_bench::run_benchmarks(argc, argv);
}
