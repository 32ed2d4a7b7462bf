// Branches of crdt::sequence<char32_t> on the automerge-paper trace (its
// final document, 259,778 patches replayed once in setup):
//
//   * fork: fork() of the final document (O(1): the run tree and its index
//     are persistent and the op store is shared);
//   * edit_merge/fork: fork, 100 local edits on the fork (typing 50 code
//     points at one place, 50 backspaces at another), merge back into the
//     main document; the baselines in the same run: the same edits on a
//     deep copy (`seq_t copy = main;`) merged back, and on a second,
//     separate replica whose delta_since(its version before the edits) the
//     main replica merges;
//   * fork_at at 1%, 10%, 50%, 100% of the history (100% is the current
//     version, which fork_at turns into fork), and one patch before the end
//     (the bottom-up rebuild at full size); content_at() at the same
//     versions, a read-only view of the same document, next to it.
//
// Every run of an edit_merge variant starts (untimed) from a deep copy of
// the final document as its main document, which keeps its size and gains
// 100 ops per round; 200 rounds per run, then one more, untimed, after
// which the main document must hold exactly the edited text. Counters:
// memory_bytes() of the document and of the branch (memory_bytes() counts
// the shared op store on each branch), and the run tree's bytes of each (a
// fork shares every node; a fork_at branch has a tree of its own).
//
// The trace is read from CRDT_SHARED_DIR through `gzip -dc` (no zlib link)
// and parsed with the system nlohmann/json.hpp (header-only).
#include <crdt/sequence.hpp>

#include "trace_input.hpp"

#include <benchmark/benchmark.h>
#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <random>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

using seq_t = crdt::sequence<char32_t>;

using crdt_bench::apply_patch;
using crdt_bench::patch;

/// The final automerge-paper document and versions along its history.
struct fixture {
    std::unique_ptr<seq_t> doc;
    /// At 1%, 10%, 50%, 100% of the patches, then one patch before the end.
    std::vector<seq_t::version_type> versions;
};

const fixture& paper() {
    static const fixture f = [] {
        std::u32string end;
        const nlohmann::json j = crdt_bench::load_trace_json("automerge-paper");
        end = crdt_bench::decode_utf8(j.at("endContent").get<std::string>());
        const std::vector<patch> patches = crdt_bench::sequential_patches(j);
        fixture out;
        out.doc = std::make_unique<seq_t>(crdt::agent_id("agent"));
        seq_t::version_type before_last;
        for (std::size_t i = 0; i < patches.size(); ++i) {
            if (i + 1 == patches.size()) {
                before_last = out.doc->version();
            }
            apply_patch(*out.doc, patches[i]);
            for (const std::size_t pct : {1u, 10u, 50u}) {
                if (i + 1 == patches.size() * pct / 100) {
                    out.versions.push_back(out.doc->version());
                }
            }
        }
        out.versions.push_back(out.doc->version());
        out.versions.push_back(before_last);
        const auto c = out.doc->content();
        if (std::u32string(c.begin(), c.end()) != end) {
            throw std::runtime_error("automerge-paper: replay differs from endContent");
        }
        return out;
    }();
    return f;
}

double tree_bytes(const seq_t& s) {
    return static_cast<double>(s.engine().tree().statistics().bytes);
}

void BM_fork(benchmark::State& state) {
    const seq_t& doc = *paper().doc;
    for (auto _ : state) {
        seq_t f = doc.fork(crdt::agent_id("fork"));
        benchmark::DoNotOptimize(&f);
    }
    const seq_t f = doc.fork(crdt::agent_id("fork"));
    state.counters["doc_memory_bytes"] = static_cast<double>(doc.memory_bytes());
    state.counters["fork_memory_bytes"] = static_cast<double>(f.memory_bytes());
    state.counters["tree_bytes"] = tree_bytes(doc);
}

/// 100 local edits on `s`: 50 code points typed one by one at one place,
/// then 50 backspaces at another (positions from `rng`); the size does not
/// change.
void edit_100(seq_t& s, std::mt19937_64& rng) {
    std::size_t pos = static_cast<std::size_t>(rng() % (s.size() + 1));
    for (int i = 0; i < 50; ++i) {
        s.insert(pos++, static_cast<char32_t>(U'a' + rng() % 26));
    }
    pos = 50 + static_cast<std::size_t>(rng() % (s.size() - 49));
    for (int i = 0; i < 50; ++i) {
        s.erase(--pos, 1);
    }
}

/// Not timed: one more round, then the main document must hold exactly
/// the editor's text.
void check_round(benchmark::State& state, const seq_t& main, const seq_t& editor) {
    main.verify();
    if (main.content() != editor.content()) {
        state.SkipWithError("the merged document differs from the edited one");
    }
    state.counters["main_chars"] = static_cast<double>(main.size());
    state.counters["main_memory_bytes"] = static_cast<double>(main.memory_bytes());
}

void BM_edit_merge_fork(benchmark::State& state) {
    seq_t main = *paper().doc; // untimed: each run starts from the final document
    std::mt19937_64 rng(1);
    for (auto _ : state) {
        seq_t b = main.fork(crdt::agent_id("editor"));
        edit_100(b, rng);
        main.merge(b);
    }
    seq_t b = main.fork(crdt::agent_id("editor"));
    edit_100(b, rng);
    main.merge(b);
    check_round(state, main, b);
}

void BM_edit_merge_deep_copy(benchmark::State& state) {
    seq_t main = *paper().doc; // the copies edit as main's replica, "agent"
    std::mt19937_64 rng(1);
    for (auto _ : state) {
        seq_t copy = main;
        edit_100(copy, rng);
        main.merge(copy);
    }
    seq_t copy = main;
    edit_100(copy, rng);
    main.merge(copy);
    check_round(state, main, copy);
}

void BM_edit_merge_delta(benchmark::State& state) {
    seq_t main = *paper().doc;
    // The separate replica: the same document, its own op store.
    seq_t peer = seq_t::load_snapshot(main.snapshot(), crdt::agent_id("editor"));
    std::mt19937_64 rng(1);
    for (auto _ : state) {
        const auto v = peer.version();
        edit_100(peer, rng);
        main.merge(peer.delta_since(v));
    }
    const auto v = peer.version();
    edit_100(peer, rng);
    main.merge(peer.delta_since(v));
    check_round(state, main, peer);
}

void BM_fork_at(benchmark::State& state) {
    const fixture& f = paper();
    const auto& v = f.versions.at(static_cast<std::size_t>(state.range(0)));
    for (auto _ : state) {
        seq_t b = f.doc->fork_at(v, crdt::agent_id("past"));
        benchmark::DoNotOptimize(&b);
    }
    const seq_t b = f.doc->fork_at(v, crdt::agent_id("past"));
    b.verify();
    if (b.content() != f.doc->content_at(v) || !(b.version() == v)) {
        state.SkipWithError("fork_at differs from content_at");
    }
    state.counters["chars"] = static_cast<double>(b.size());
    state.counters["doc_memory_bytes"] = static_cast<double>(f.doc->memory_bytes());
    state.counters["branch_memory_bytes"] = static_cast<double>(b.memory_bytes());
    state.counters["doc_tree_bytes"] = tree_bytes(*f.doc);
    state.counters["branch_tree_bytes"] = tree_bytes(b);
}

void BM_content_at(benchmark::State& state) {
    const fixture& f = paper();
    const auto& v = f.versions.at(static_cast<std::size_t>(state.range(0)));
    std::size_t chars = 0;
    for (auto _ : state) {
        const auto c = f.doc->content_at(v);
        chars = c.size();
        benchmark::DoNotOptimize(c.data());
    }
    state.counters["chars"] = static_cast<double>(chars);
}

} // namespace

BENCHMARK(BM_fork)->Unit(benchmark::kMicrosecond);
// A fixed number of rounds, so every run of every variant makes the same
// edits on the same document.
BENCHMARK(BM_edit_merge_fork)->Iterations(200)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_edit_merge_deep_copy)->Iterations(200)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_edit_merge_delta)->Iterations(200)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_fork_at)
    ->ArgName("version_1_10_50_100pct_last")
    ->DenseRange(0, 4)
    ->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_content_at)
    ->ArgName("version_1_10_50_100pct_last")
    ->DenseRange(0, 4)
    ->Unit(benchmark::kMillisecond);

BENCHMARK_MAIN();
