// benchmarks/core/version_vector_merge.cpp -- version_vector::merge for 2, 16
// and 1,000 replicas, against the naive baseline in the same run: a
// std::map<std::uint64_t, std::uint64_t> merged with one lookup per replica.
//
// Every benchmark computes b.merge(a) for a scenario of
// benchmarks/support/version_vectors.hpp. Merging mutates its target, so
// merges run in batches: a batch of copies of b is restored with the timer
// paused, then each copy is merged with the timer running. Names are
// merge/<case>/<crdt|std_map>/<replicas>.
//
// Before anything is timed, main() checks that both representations merge
// to the same entries.
#include "support/version_vectors.hpp"

#include "support/registration.hpp"

#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

namespace {

using crdt_bench::map_vv;
using crdt_bench::vv_case;

// About 64k entries per batch: long enough to hide PauseTiming's cost,
// short enough that a batch of small vectors stays in cache.
benchmark::IterationCount batch_size(std::size_t replicas) {
    return std::clamp<benchmark::IterationCount>(
        static_cast<benchmark::IterationCount>(65536 / replicas), 16, 4096);
}

template <class V, class Merge>
void run_merge(benchmark::State& state, const V& target, const V& source, std::size_t replicas,
               Merge merge) {
    const benchmark::IterationCount batch = batch_size(replicas);
    std::vector<V> work(static_cast<std::size_t>(batch), target);
    while (state.KeepRunningBatch(batch)) {
        state.PauseTiming();
        for (auto& w : work) {
            w = target;
        }
        state.ResumeTiming();
        for (auto& w : work) {
            merge(w, source);
            benchmark::DoNotOptimize(w);
        }
    }
    benchmark::ClobberMemory();
    state.SetItemsProcessed(state.iterations());
}

bool same_entries(const crdt::version_vector& v, const map_vv& m) {
    if (v.size() != m.size()) {
        return false;
    }
    auto it = m.begin();
    for (const auto& e : v) {
        if (e.replica.value() != it->first || e.counter != it->second) {
            return false;
        }
        ++it;
    }
    return true;
}

} // namespace

int main(int argc, char** argv) {
    for (const vv_case c : crdt_bench::all_vv_cases) {
        for (const std::size_t n : {std::size_t{2}, std::size_t{16}, std::size_t{1000}}) {
            const auto s = crdt_bench::make_vv_scenario(c, n);
            crdt::version_vector merged = s.b;
            merged.merge(s.a);
            map_vv map_merged = s.map_b;
            crdt_bench::naive_merge(map_merged, s.map_a);
            if (!same_entries(merged, map_merged)) {
                std::fprintf(stderr, "version_vector_merge: crdt and baseline disagree on %s/%zu\n",
                             crdt_bench::name_of(c).c_str(), n);
                return 1;
            }
            const std::string count = std::to_string(n);
            benchmark::RegisterBenchmark(
                crdt_bench::bench_name({"merge/", crdt_bench::name_of(c), "/crdt/", count}).c_str(),
                [s, n](benchmark::State& st) {
                    run_merge(
                        st, s.b, s.a, n,
                        [](crdt::version_vector& t, const crdt::version_vector& u) { t.merge(u); });
                });
            benchmark::RegisterBenchmark(
                crdt_bench::bench_name({"merge/", crdt_bench::name_of(c), "/std_map/", count})
                    .c_str(),
                [s, n](benchmark::State& st) {
                    run_merge(st, s.map_b, s.map_a, n,
                              [](map_vv& t, const map_vv& u) { crdt_bench::naive_merge(t, u); });
                });
        }
    }
    return crdt_bench::run_benchmarks(argc, argv);
}
