// benchmarks/types/or_set_ops.cpp -- or_set<uint64_t> (hashed containers:
// 1M random adds into a flat map would be quadratic) against
// std::unordered_set doing the same operations in the same run:
//   add/<impl>       1M adds of distinct random keys into an empty set;
//   remove/<impl>    remove every other key (50%) from a copy of the 1M set;
//   merge/crdt       merge replica B's state into a copy of replica A's: B
//                    saw all of A, removed 50% and added 100k new elements
//                    (baseline: apply the same erases and inserts);
//   encode/crdt      crdt::encode of the state after the 50% removes; counter
//                    bytes_per_live_element (and the bare varint encoding of
//                    the live keys as a baseline).
#include "common.hpp"

#include <crdt/codec/codec.hpp>
#include <crdt/or_set.hpp>

#include <unordered_set>

namespace {

using namespace types_bench;

struct hashed : crdt::or_set_defaults {
    using containers = crdt::hashed_containers;
};
using set = crdt::or_set<std::uint64_t, hashed>;

const std::vector<std::uint64_t>& keys() {
    return dataset<std::uint64_t, std::uint64_t>().keys;
}

set filled() {
    set s{crdt::replica_id(1)};
    for (auto k : keys()) {
        s.add(k);
    }
    return s;
}

void bm_add_crdt(benchmark::State& state) {
    for (auto _ : state) {
        auto s = filled();
        benchmark::DoNotOptimize(s);
    }
    items(state, keys().size());
}

void bm_add_std(benchmark::State& state) {
    for (auto _ : state) {
        std::unordered_set<std::uint64_t> s;
        for (auto k : keys()) {
            s.insert(k);
        }
        benchmark::DoNotOptimize(s);
    }
    items(state, keys().size());
}

void bm_remove_crdt(benchmark::State& state) {
    static const set base = filled();
    for (auto _ : state) {
        state.PauseTiming();
        set s = base;
        state.ResumeTiming();
        for (std::size_t i = 0; i < keys().size(); i += 2) {
            auto d = s.remove(keys()[i]);
            benchmark::DoNotOptimize(d);
        }
        state.PauseTiming();
        s = set();
        state.ResumeTiming();
    }
    items(state, keys().size() / 2);
}

void bm_remove_std(benchmark::State& state) {
    static const std::unordered_set<std::uint64_t> base(keys().begin(), keys().end());
    for (auto _ : state) {
        state.PauseTiming();
        auto s = base;
        state.ResumeTiming();
        for (std::size_t i = 0; i < keys().size(); i += 2) {
            s.erase(keys()[i]);
        }
        state.PauseTiming();
        s = {};
        state.ResumeTiming();
    }
    items(state, keys().size() / 2);
}

struct merge_fixture {
    set a;
    set b;
};

const merge_fixture& fixture() {
    static const merge_fixture f = [] {
        merge_fixture out;
        out.a = filled();
        out.b = set{crdt::replica_id(2)};
        out.b.merge(out.a);
        for (std::size_t i = 0; i < keys().size(); i += 2) {
            out.b.remove(keys()[i]);
        }
        for (std::size_t i = 0; i < keys().size() / 10; ++i) {
            out.b.add(crdt::detail::mix64(i + 0x51ed270b27u));
        }
        return out;
    }();
    return f;
}

void bm_merge_crdt(benchmark::State& state) {
    const auto& f = fixture();
    for (auto _ : state) {
        state.PauseTiming();
        set s = f.a;
        state.ResumeTiming();
        s.merge(f.b);
        benchmark::DoNotOptimize(s);
        state.PauseTiming();
        if (s.size() != f.b.size()) {
            state.SkipWithError("merge result has the wrong size");
        }
        s = set();
        state.ResumeTiming();
    }
    items(state, f.a.size() + f.b.size());
}

void bm_merge_std(benchmark::State& state) {
    static const std::unordered_set<std::uint64_t> base(keys().begin(), keys().end());
    for (auto _ : state) {
        state.PauseTiming();
        auto s = base;
        state.ResumeTiming();
        for (std::size_t i = 0; i < keys().size(); i += 2) {
            s.erase(keys()[i]);
        }
        for (std::size_t i = 0; i < keys().size() / 10; ++i) {
            s.insert(crdt::detail::mix64(i + 0x51ed270b27u));
        }
        benchmark::DoNotOptimize(s);
        state.PauseTiming();
        s = {};
        state.ResumeTiming();
    }
    items(state, keys().size() + keys().size() / 2 + keys().size() / 10);
}

void bm_encode_crdt(benchmark::State& state) {
    static const set s = [] {
        set x = filled();
        for (std::size_t i = 0; i < keys().size(); i += 2) {
            x.remove(keys()[i]);
        }
        return x;
    }();
    std::size_t bytes = 0;
    for (auto _ : state) {
        auto out = crdt::encode(s);
        bytes = out.size();
        benchmark::DoNotOptimize(out);
    }
    items(state, s.size());
    state.counters["bytes_per_live_element"] =
        static_cast<double>(bytes) / static_cast<double>(s.size());
}

void bm_encode_plain(benchmark::State& state) {
    std::size_t bytes = 0;
    std::size_t n = 0;
    for (auto _ : state) {
        crdt::byte_writer w;
        n = 0;
        for (std::size_t i = 1; i < keys().size(); i += 2) {
            w.varint(keys()[i]);
            ++n;
        }
        auto out = w.take();
        bytes = out.size();
        benchmark::DoNotOptimize(out);
    }
    items(state, n);
    state.counters["bytes_per_live_element"] = static_cast<double>(bytes) / static_cast<double>(n);
}

} // namespace

BENCHMARK(bm_add_crdt)->Name("add/crdt")->Unit(benchmark::kMillisecond);
BENCHMARK(bm_add_std)->Name("add/std_unordered_set")->Unit(benchmark::kMillisecond);
BENCHMARK(bm_remove_crdt)->Name("remove/crdt")->Unit(benchmark::kMillisecond);
BENCHMARK(bm_remove_std)->Name("remove/std_unordered_set")->Unit(benchmark::kMillisecond);
BENCHMARK(bm_merge_crdt)->Name("merge/crdt")->Unit(benchmark::kMillisecond);
BENCHMARK(bm_merge_std)->Name("merge/std_unordered_set_same_edits")->Unit(benchmark::kMillisecond);
BENCHMARK(bm_encode_crdt)->Name("encode/crdt")->Unit(benchmark::kMillisecond);
BENCHMARK(bm_encode_plain)->Name("encode/plain_varints")->Unit(benchmark::kMillisecond);

BENCHMARK_MAIN();
