// benchmarks/types/or_set_merge_delta.cpp -- merging one small mutator delta
// into a large or_set or or_map (a replica receiving a peer's edits one by
// one), against the same edit on a plain container in the same run.
//
//   or_set/crdt            a 1M-element or_set<uint64_t> (hashed) merges
//                          replica B's delta of one add, then of its remove
//                          (per iteration: both);
//   or_set/full_join       the same two merges through the kernel's full
//                          join, which visits every element (what merge()
//                          did before the dot -> key index);
//   or_set/std_unordered_set  insert + erase of the same key;
//   or_set/first_merge     the first small merge into a fresh copy of the
//                          set: it builds the index (once per replica);
//   table/crdt             the table DB's rows, or_map<uint64_t,
//                          lww_map<uint64_t, uint64_t>> with 200k rows of
//                          2 fields: B's delta updating one field of a row,
//                          then B's erase of another row;
//   table/std_unordered_map   an unordered_map of unordered_maps doing the
//                          same assignment and erase.
// Counter index_bytes_per_dot: the index's size (entries x (8 + key)) per
// indexed dot, without vector slack.
#include "common.hpp"

#include <crdt/lww_map.hpp>
#include <crdt/or_map.hpp>
#include <crdt/or_set.hpp>

#include <unordered_map>
#include <unordered_set>

namespace {

using namespace types_bench;
using crdt::detail::dot_store::access;

struct hashed_set : crdt::or_set_defaults {
    using containers = crdt::hashed_containers;
};
using set = crdt::or_set<std::uint64_t, hashed_set>;

struct hashed_map : crdt::or_map_defaults {
    using containers = crdt::hashed_containers;
};
using row = crdt::lww_map<std::uint64_t, std::uint64_t>;
using table = crdt::or_map<std::uint64_t, row, hashed_map>;

const std::vector<std::uint64_t>& keys() {
    return dataset<std::uint64_t, std::uint64_t>().keys;
}

struct set_pair {
    set a{crdt::replica_id(1)};
    set b{crdt::replica_id(2)};
};

// A holds every key; B has merged A. The first small merge into A has
// already built its index (or_set/first_merge measures that).
set_pair& sets() {
    static set_pair p = [] {
        set_pair out;
        for (auto k : keys()) {
            out.a.add(k);
        }
        out.b.merge(out.a);
        out.a.merge(out.b.add(keys()[0]));
        return out;
    }();
    return p;
}

std::uint64_t fresh_key(std::uint64_t i) {
    return crdt::detail::mix64(i + 0x9e3779b97f4a7c15u);
}

void bm_set_crdt(benchmark::State& state) {
    auto& p = sets();
    std::uint64_t i = 0;
    for (auto _ : state) {
        const std::uint64_t k = fresh_key(i++);
        p.a.merge(p.b.add(k));
        p.a.merge(p.b.remove(k));
    }
    if (p.a.size() != keys().size() || !access::state(p.a).index.enabled()) {
        state.SkipWithError("wrong size, or the index was not used");
    }
    items(state, 2);
}

void bm_set_full_join(benchmark::State& state) {
    auto& p = sets();
    auto& s = access::state(p.a);
    std::uint64_t i = std::uint64_t{1} << 40;
    for (auto _ : state) {
        const std::uint64_t k = fresh_key(i++);
        for (const auto& d : {p.b.add(k), p.b.remove(k)}) {
            const auto& o = access::state(d);
            s.store.join(&o.store, s.view(), o.view());
            s.ctx.merge(o.ctx);
        }
    }
    s.index.rebuild(s.store.map()); // the full join does not maintain it (untimed: after the loop)
    if (p.a.size() != keys().size()) {
        state.SkipWithError("wrong size");
    }
    items(state, 2);
}

void bm_set_std(benchmark::State& state) {
    static std::unordered_set<std::uint64_t> s(keys().begin(), keys().end());
    std::uint64_t i = 0;
    for (auto _ : state) {
        const std::uint64_t k = fresh_key(i++);
        s.insert(k);
        s.erase(k);
    }
    items(state, 2);
}

void bm_set_first_merge(benchmark::State& state) {
    auto& p = sets();
    std::uint64_t i = std::uint64_t{1} << 41;
    for (auto _ : state) {
        state.PauseTiming();
        set fresh = p.b; // a copy without an index (B merged only full states)
        const auto d = p.a.add(fresh_key(i++));
        state.ResumeTiming();
        fresh.merge(d);
        state.PauseTiming();
        if (!access::state(fresh).index.enabled()) {
            state.SkipWithError("the first merge did not build the index");
        }
        fresh = set();
        state.ResumeTiming();
    }
    const auto& s = access::state(p.a);
    state.counters["index_bytes_per_dot"] =
        static_cast<double>(s.index.entries() * (sizeof(std::uint64_t) * 2)) /
        static_cast<double>(p.a.size());
}

constexpr std::size_t table_rows = 200'000;

struct table_pair {
    table a{crdt::replica_id(1)};
    table b{crdt::replica_id(2)};
};

table_pair& tables() {
    static table_pair p = [] {
        table_pair out;
        for (std::size_t r = 0; r < table_rows; ++r) {
            out.a.update(keys()[r], [&](row& x) {
                auto d = x.set(1, r);
                d.merge(x.set(2, r + 1));
                return d;
            });
        }
        out.b.merge(out.a);
        out.a.merge(out.b.update(keys()[0], [](row& x) { return x.set(1, 7); }));
        return out;
    }();
    return p;
}

void bm_table_crdt(benchmark::State& state) {
    auto& p = tables();
    std::size_t i = 1;
    for (auto _ : state) {
        const std::uint64_t row_key = keys()[i % table_rows];
        const std::uint64_t gone = fresh_key(i);
        ++i;
        p.a.merge(p.b.update(row_key, [&](row& x) { return x.set(1, i); }));
        // A row B adds and erases: A merges the add and the erase.
        p.a.merge(p.b.update(gone, [&](row& x) { return x.set(1, i); }));
        p.a.merge(p.b.erase(gone));
    }
    if (p.a.size() != table_rows || !access::state(p.a).index.enabled()) {
        state.SkipWithError("wrong size, or the index was not used");
    }
    items(state, 3);
}

void bm_table_std(benchmark::State& state) {
    static std::unordered_map<std::uint64_t, std::unordered_map<std::uint64_t, std::uint64_t>> t =
        [] {
            std::unordered_map<std::uint64_t, std::unordered_map<std::uint64_t, std::uint64_t>> out;
            for (std::size_t r = 0; r < table_rows; ++r) {
                out[keys()[r]] = {{1, r}, {2, r + 1}};
            }
            return out;
        }();
    std::size_t i = 1;
    for (auto _ : state) {
        const std::uint64_t row_key = keys()[i % table_rows];
        const std::uint64_t gone = fresh_key(i);
        ++i;
        t[row_key][1] = i;
        t[gone][1] = i;
        t.erase(gone);
    }
    items(state, 3);
}

} // namespace

BENCHMARK(bm_set_crdt)->Name("or_set/crdt")->Unit(benchmark::kMicrosecond);
BENCHMARK(bm_set_full_join)->Name("or_set/full_join")->Unit(benchmark::kMicrosecond);
BENCHMARK(bm_set_std)->Name("or_set/std_unordered_set")->Unit(benchmark::kMicrosecond);
BENCHMARK(bm_set_first_merge)
    ->Name("or_set/first_merge")
    ->Unit(benchmark::kMillisecond)
    ->Iterations(3);
BENCHMARK(bm_table_crdt)->Name("table/crdt")->Unit(benchmark::kMicrosecond);
BENCHMARK(bm_table_std)->Name("table/std_unordered_map")->Unit(benchmark::kMicrosecond);

BENCHMARK_MAIN();
