// Snapshots of crdt::sequence<char32_t> on the three shared traces:
// automerge-paper and seph-blog1 (final documents made once in setup by
// replaying their patches as local edits) and friendsforever (made through
// the public API only: each transaction's patches as local edits on
// fork_at(the version of its parents) as its agent, merged into the main
// document; the same idea as check_conformance_by_branches in
// tests/sequence_crdt/branches.cpp). Every document is checked against the
// trace's endContent.
//
//   * snapshot(): the history plus the document order, CRC-sealed; next to
//     it the write side of the baseline, crdt::encode(delta_since({}));
//   * load_snapshot(): ops stored, run tree built bottom-up, no op
//     integrated; the baseline in the same run is the replay load, the
//     decode of the full-history delta plus merge() into a fresh sequence.
//
// After the timed loops each load is checked (untimed): verify(), the
// original's content and version. Counters: snapshot_bytes, delta_bytes,
// and for the loads the loaded document's memory_bytes() and run count,
// next to the original's (a document edited locally keeps the runs its
// edits split; loading and merging build runs per op).
//
// The traces are read from CRDT_SHARED_DIR through `gzip -dc` (no zlib
// link) and parsed with the system nlohmann/json.hpp (header-only).
#include <crdt/codec/codec.hpp>
#include <crdt/sequence.hpp>

#include "trace_input.hpp"

#include <benchmark/benchmark.h>
#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <map>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

using seq_t = crdt::sequence<char32_t>;

using crdt_bench::decode_utf8;

/// Effects: applies the patches of one transaction of the trace JSON.
void apply_patches(seq_t& s, const nlohmann::json& patches) {
    for (const crdt_bench::patch& p : crdt_bench::patches_of(patches)) {
        crdt_bench::apply_patch(s, p);
    }
}

/// A sequential trace replayed as local edits.
seq_t replay_sequential(const nlohmann::json& j) {
    seq_t s(crdt::agent_id("agent"));
    for (const auto& txn : j.at("txns")) {
        apply_patches(s, txn.at("patches"));
    }
    return s;
}

/// A concurrent trace through fork_at: each transaction edits, as its
/// agent, a branch at its parents' version, then merges into the document.
seq_t replay_concurrent(const nlohmann::json& j) {
    seq_t main(crdt::agent_id("reader"));
    std::vector<seq_t::version_type> ends; // per transaction: its version after it
    for (const auto& txn : j.at("txns")) {
        seq_t::version_type v;
        for (const auto& parent : txn.at("parents")) {
            v.merge(ends.at(parent.get<std::size_t>()));
        }
        seq_t b =
            main.fork_at(v, crdt::agent_id("agent" + std::to_string(txn.at("agent").get<int>())));
        apply_patches(b, txn.at("patches"));
        ends.push_back(b.version());
        main.merge(b);
    }
    return main;
}

/// A final document, its snapshot and its encoded full-history delta.
struct fixture {
    std::unique_ptr<seq_t> doc;
    std::vector<std::byte> snapshot;
    std::vector<std::byte> delta;
};

const fixture& document(const std::string& name) {
    static std::map<std::string, fixture> cache;
    auto it = cache.find(name);
    if (it == cache.end()) {
        const nlohmann::json j = crdt_bench::load_trace_json(name);
        fixture f;
        f.doc = std::make_unique<seq_t>(j.contains("kind") && j.at("kind") == "concurrent"
                                            ? replay_concurrent(j)
                                            : replay_sequential(j));
        const auto c = f.doc->content();
        if (std::u32string(c.begin(), c.end()) !=
            decode_utf8(j.at("endContent").get<std::string>())) {
            throw std::runtime_error(name + ": the document differs from endContent");
        }
        f.snapshot = f.doc->snapshot();
        f.delta = crdt::encode(f.doc->delta_since({}));
        it = cache.emplace(name, std::move(f)).first;
    }
    return it->second;
}

void size_counters(benchmark::State& state, const fixture& f) {
    state.counters["snapshot_bytes"] = static_cast<double>(f.snapshot.size());
    state.counters["delta_bytes"] = static_cast<double>(f.delta.size());
}

/// Not timed: `loaded` must be the fixture's document.
void check_load(benchmark::State& state, const fixture& f, const seq_t& loaded) {
    loaded.verify();
    if (loaded.content() != f.doc->content() || !(loaded.version() == f.doc->version())) {
        state.SkipWithError("the loaded document differs from the original");
    }
    state.counters["memory_bytes"] = static_cast<double>(loaded.memory_bytes());
    state.counters["runs"] = static_cast<double>(loaded.engine().tree().statistics().items);
    state.counters["original_memory_bytes"] = static_cast<double>(f.doc->memory_bytes());
    state.counters["original_runs"] =
        static_cast<double>(f.doc->engine().tree().statistics().items);
}

void BM_snapshot(benchmark::State& state, const std::string& name) {
    const fixture& f = document(name);
    for (auto _ : state) {
        const auto bytes = f.doc->snapshot();
        benchmark::DoNotOptimize(bytes.data());
    }
    size_counters(state, f);
}

void BM_encode_delta(benchmark::State& state, const std::string& name) {
    const fixture& f = document(name);
    for (auto _ : state) {
        const auto bytes = crdt::encode(f.doc->delta_since({}));
        benchmark::DoNotOptimize(bytes.data());
    }
    size_counters(state, f);
}

void BM_load_snapshot(benchmark::State& state, const std::string& name) {
    const fixture& f = document(name);
    for (auto _ : state) {
        const seq_t s = seq_t::load_snapshot(f.snapshot, crdt::agent_id("loader"));
        benchmark::DoNotOptimize(&s);
    }
    size_counters(state, f);
    check_load(state, f, seq_t::load_snapshot(f.snapshot, crdt::agent_id("loader")));
}

void BM_load_replay(benchmark::State& state, const std::string& name) {
    const fixture& f = document(name);
    const auto load = [&] {
        seq_t s(crdt::agent_id("loader"));
        s.merge(crdt::decode<seq_t::delta_type>(f.delta, "full-history delta"));
        return s;
    };
    for (auto _ : state) {
        const seq_t s = load();
        benchmark::DoNotOptimize(&s);
    }
    size_counters(state, f);
    check_load(state, f, load());
}

} // namespace

BENCHMARK_CAPTURE(BM_snapshot, automerge_paper, std::string("automerge-paper"))
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_encode_delta, automerge_paper, std::string("automerge-paper"))
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_load_snapshot, automerge_paper, std::string("automerge-paper"))
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_load_replay, automerge_paper, std::string("automerge-paper"))
    ->Unit(benchmark::kMillisecond);

BENCHMARK_CAPTURE(BM_snapshot, seph_blog1, std::string("seph-blog1"))
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_encode_delta, seph_blog1, std::string("seph-blog1"))
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_load_snapshot, seph_blog1, std::string("seph-blog1"))
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_load_replay, seph_blog1, std::string("seph-blog1"))
    ->Unit(benchmark::kMillisecond);

BENCHMARK_CAPTURE(BM_snapshot, friendsforever, std::string("friendsforever"))
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_encode_delta, friendsforever, std::string("friendsforever"))
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_load_snapshot, friendsforever, std::string("friendsforever"))
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_load_replay, friendsforever, std::string("friendsforever"))
    ->Unit(benchmark::kMillisecond);

BENCHMARK_MAIN();
