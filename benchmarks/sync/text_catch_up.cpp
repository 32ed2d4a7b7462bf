// benchmarks/sync/text_catch_up.cpp -- bringing a fresh replica up to date
// with a crdt::text built by replaying the automerge-paper editing trace
// (259,778 single-character patches, 182,315 inserted / 77,463 deleted
// characters) locally, over the sync protocol, against the encoded history
// as the floor. The trace is read from CRDT_SHARED_DIR through `gzip -dc`;
// without it every case is skipped with an error saying so.
//
// Replica A holds the text (built once, untimed); a fresh replica B joins;
// the wall time runs from the creation of B's transport until B's version
// includes A's and A has B's acknowledgement (A settled). Cases,
// `text_catch_up/automerge_paper/<how>`:
//   direct            the time floor: A.delta_since({}) + crdt::encode +
//                     crdt::decode + merge into an empty text, no protocol
//                     (split in thread CPU time: delta_since_ms, encode_ms,
//                     decode_ms, merge_ms; untimed, merged_delta_since_ms:
//                     delta_since on the merged copy, as replica A holds).
//   session_loopback  two crdt::sync_session over a loopback_hub, no
//                     storage: the protocol alone.
//   replica_loopback  two crdt::store::replica with memory_storage
//                     (durability::full, auto_compact off) over a
//                     loopback_hub: the protocol plus B saving the delta.
//   replica_tcp       the same over two tcp_transport on 127.0.0.1, both in
//                     this process and thread, polled alternately.
//
// Counters: bytes = sync payload bytes sent by both sides (sync_stats
// bytes_out); floor_bytes = crdt::encode(A.delta_since({})).size() (the
// encoded history); bytes_ratio = bytes / floor_bytes; wire_bytes (TCP) =
// bytes written to the sockets; trace_gz_bytes / trace_json_bytes = the raw
// trace file, compressed and not, for reference; cpu_ms = this thread's CPU
// time during the timed part. Times are manual wall-clock times.
#include <crdt/codec/codec.hpp>
#include <crdt/storage/memory_storage.hpp>
#include <crdt/store/replica.hpp>
#include <crdt/sync/session.hpp>
#include <crdt/text.hpp>
#include <crdt/transport/loopback.hpp>
#include <crdt/transport/tcp_transport.hpp>

#include <support/registration.hpp>

#include <benchmark/benchmark.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <time.h>

namespace {

using text_t = crdt::text;
using delta_t = text_t::delta_type;
using version_t = text_t::version_type;
using clock_type = std::chrono::steady_clock;

constexpr std::chrono::seconds deadline{300}; // a catch-up that takes longer is a bug

struct no_compaction : crdt::replica_defaults {
    static constexpr bool auto_compact = false;
};

template <class Tr>
using replica_t = crdt::store::replica<text_t, crdt::memory_storage, Tr, no_compaction>;

double seconds_since(clock_type::time_point t0) {
    return std::chrono::duration<double>(clock_type::now() - t0).count();
}

// CPU time of this thread (TCP included: the kernel's copies are charged to
// the thread making the system calls).
double thread_cpu_seconds() {
    timespec ts{};
    ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

// ---------------------------------------------------------------------------
// The source: automerge-paper replayed into a text (built once).

struct source_t {
    std::unique_ptr<text_t> text;
    std::string error; // why there is no text
    std::size_t gz_bytes = 0;
    std::size_t json_bytes = 0;
    std::size_t floor_bytes = 0;
};

source_t build_source() {
    source_t s;
    const std::string path = std::string(CRDT_SHARED_DIR) + "/traces/automerge-paper.json.gz";
    std::error_code ec;
    if (!std::filesystem::is_regular_file(path, ec)) {
        s.error = "trace not found: " + path + " (CRDT_SHARED_DIR has no editing traces)";
        return s;
    }
    try {
        s.gz_bytes = static_cast<std::size_t>(std::filesystem::file_size(path));
        const std::string cmd = "gzip -dc '" + path + "'";
        std::unique_ptr<FILE, int (*)(FILE*)> f(popen(cmd.c_str(), "r"), pclose);
        if (!f) {
            throw std::runtime_error("cannot run " + cmd);
        }
        std::string json;
        char buf[65536];
        for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, f.get())) > 0;) {
            json.append(buf, n);
        }
        s.json_bytes = json.size();
        const nlohmann::json j = nlohmann::json::parse(json);
        auto t = std::make_unique<text_t>(crdt::agent_id("a"));
        for (const auto& txn : j.at("txns")) {
            for (const auto& p : txn.at("patches")) {
                const auto pos = p.at(0).get<std::size_t>();
                if (const auto del = p.at(1).get<std::size_t>(); del > 0) {
                    t->erase(pos, del);
                }
                if (const auto ins = p.at(2).get<std::string>(); !ins.empty()) {
                    t->insert(pos, ins);
                }
            }
        }
        if (t->str() != j.at("endContent").get<std::string>()) {
            throw std::runtime_error("replay differs from endContent");
        }
        s.floor_bytes = crdt::encode(t->delta_since(version_t{})).size();
        s.text = std::move(t);
    } catch (const std::exception& e) {
        s.error = std::string("automerge-paper: ") + e.what();
    }
    return s;
}

const source_t& source() {
    static const source_t s = build_source();
    return s;
}

/// Returns: the source text, or nullptr after skipping `state` with the reason.
const text_t* source_or_skip(benchmark::State& state) {
    const source_t& s = source();
    if (!s.text) {
        state.SkipWithError(s.error.c_str());
    }
    return s.text.get();
}

bool same(const text_t& x, const text_t& y) {
    return x.version() == y.version() && x.str() == y.str();
}

void set_counters(benchmark::State& state, double cpu_s, double bytes, double wire) {
    const source_t& s = source();
    const auto iters = static_cast<double>(state.iterations());
    const auto floor = static_cast<double>(s.floor_bytes);
    state.counters["cpu_ms"] = 1e3 * cpu_s / iters;
    state.counters["floor_bytes"] = floor;
    state.counters["bytes"] = bytes / iters;
    state.counters["bytes_ratio"] = bytes / iters / floor;
    if (wire > 0) {
        state.counters["wire_bytes"] = wire / iters;
        state.counters["wire_ratio"] = wire / iters / floor;
    }
    state.counters["trace_gz_bytes"] = static_cast<double>(s.gz_bytes);
    state.counters["trace_json_bytes"] = static_cast<double>(s.json_bytes);
}

// ---------------------------------------------------------------------------
// direct: delta_since + encode + decode + merge, no protocol.

void bm_direct(benchmark::State& state) {
    const text_t* a = source_or_skip(state);
    if (!a) {
        return;
    }
    double since_s = 0, encode_s = 0, decode_s = 0, merge_s = 0, merged_since_s = 0;
    std::size_t bytes = 0;
    for (auto _ : state) {
        const auto t0 = clock_type::now();
        const double c0 = thread_cpu_seconds();
        const delta_t history = a->delta_since(version_t{});
        const double c1 = thread_cpu_seconds();
        const std::vector<std::byte> encoded = crdt::encode(history);
        const double c2 = thread_cpu_seconds();
        const delta_t decoded = crdt::decode<delta_t>(encoded);
        const double c3 = thread_cpu_seconds();
        text_t b{crdt::agent_id("b")};
        b.merge(decoded);
        const double c4 = thread_cpu_seconds();
        state.SetIterationTime(seconds_since(t0));
        since_s += c1 - c0;
        encode_s += c2 - c1;
        decode_s += c3 - c2;
        merge_s += c4 - c3;
        bytes += encoded.size();
        if (!same(b, *a)) {
            state.SkipWithError("direct: the merged text differs from the source");
            return;
        }
        // Untimed: delta_since on the merged copy (what replica A, built by
        // merging, pays), which may differ from the replayed original's.
        const double c5 = thread_cpu_seconds();
        benchmark::DoNotOptimize(b.delta_since(version_t{}));
        merged_since_s += thread_cpu_seconds() - c5;
    }
    const auto iters = static_cast<double>(state.iterations());
    state.counters["delta_since_ms"] = 1e3 * since_s / iters;
    state.counters["encode_ms"] = 1e3 * encode_s / iters;
    state.counters["decode_ms"] = 1e3 * decode_s / iters;
    state.counters["merge_ms"] = 1e3 * merge_s / iters;
    state.counters["merged_delta_since_ms"] = 1e3 * merged_since_s / iters;
    set_counters(state, since_s + encode_s + decode_s + merge_s, static_cast<double>(bytes), 0);
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

// Hands the transport's pending events to a bare session (what replica::poll
// does, without storage).
template <class Tr, class Apply>
void pump(Tr& t, crdt::sync_session<text_t>& s, const text_t& state, Apply&& apply) {
    std::vector<crdt::transport_event> events;
    t.poll([&](crdt::transport_event&& ev) { events.push_back(std::move(ev)); });
    auto send = [&t](crdt::peer_id p, std::span<const std::byte> b) { return t.send(p, b); };
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
// session_loopback: two bare sync_sessions; A's state is the source itself.

void bm_session(benchmark::State& state) {
    const text_t* a_state = source_or_skip(state);
    if (!a_state) {
        return;
    }
    std::uint64_t next_session = 1;
    double bytes = 0, cpu_s = 0;
    for (auto _ : state) {
        const double c0 = thread_cpu_seconds();
        const auto t0 = clock_type::now();
        loopback_pair net;
        net.open_a();
        net.open_b();
        crdt::sync_session<text_t> a("doc", "a", next_session++);
        crdt::sync_session<text_t> b("doc", "b", next_session++);
        text_t b_state{crdt::agent_id("b")};
        auto apply_a = [](delta_t&&, const version_t*) { return false; }; // B has nothing
        auto apply_b = [&](delta_t&& d, const version_t*) {
            b_state.merge(d);
            return true;
        };
        bool done = false;
        while (!done) {
            pump(*net.a, a, *a_state, apply_a);
            pump(*net.b, b, b_state, apply_b);
            done = !a.peers().empty() && a.settled(*a_state) &&
                   b_state.version().includes(a_state->version());
            if (!done && clock_type::now() - t0 > deadline) {
                break;
            }
        }
        state.SetIterationTime(seconds_since(t0));
        cpu_s += thread_cpu_seconds() - c0;
        if (!done || !same(b_state, *a_state)) {
            state.SkipWithError("session: B did not catch up");
            return;
        }
        bytes += static_cast<double>(a.stats().bytes_out + b.stats().bytes_out);
    }
    set_counters(state, cpu_s, bytes, 0);
}

// ---------------------------------------------------------------------------
// replica_*: store::replica with memory_storage on both sides.

template <class Pair>
void bm_replica(benchmark::State& state) {
    using transport_t = typename decltype(Pair::a)::element_type;
    const text_t* src = source_or_skip(state);
    if (!src) {
        return;
    }
    Pair net;
    net.open_a();
    crdt::memory_storage a_storage;
    replica_t<transport_t> a(a_storage, *net.a, "doc", crdt::agent_id("a"));
    a.change([&](text_t& t) {
        delta_t d = src->delta_since(version_t{});
        t.merge(d);
        return d;
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
            replica_t<transport_t> b(b_storage, *net.b, "doc", crdt::agent_id("b"));
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
            const bool ok = done && a.read([&](const text_t& x) {
                return b.read([&](const text_t& y) { return same(x, y); });
            });
            if (!ok) {
                state.SkipWithError("replica: B did not catch up");
                return;
            }
            bytes +=
                static_cast<double>(a.stats().sync.bytes_out - a_before + b.stats().sync.bytes_out);
            wire += Pair::wire_bytes(*net.a) - a_wire_before + Pair::wire_bytes(*net.b);
        }
        net.close_b(); // B leaves; A sees it at its next poll
    }
    set_counters(state, cpu_s, bytes, wire);
}

} // namespace

int main(int argc, char** argv) {
    auto reg = [](const char* how, void (*fn)(benchmark::State&)) {
        benchmark::RegisterBenchmark(
            crdt_bench::bench_name({"text_catch_up/automerge_paper/", how}).c_str(), fn)
            ->UseManualTime()
            ->Unit(benchmark::kMillisecond);
    };
    reg("direct", bm_direct);
    reg("session_loopback", bm_session);
    reg("replica_loopback", bm_replica<loopback_pair>);
    reg("replica_tcp", bm_replica<tcp_pair>);
    return crdt_bench::run_benchmarks(argc, argv);
}
