// benchmarks/core/version_vector_compare.cpp -- version_vector::compare for
// 2, 16 and 1,000 replicas, and includes() / missing_from() for 1,000,
// against the naive baseline in the same run: a std::map<std::uint64_t,
// std::uint64_t> compared pointwise with one lookup per replica.
//
// Scenarios are those of benchmarks/support/version_vectors.hpp; every
// benchmark evaluates a.<op>(b). Names are
//   compare/<case>/<crdt|std_map>/<replicas>
//   includes/<ahead|concurrent>/<crdt|std_map>/1000
//   missing_from/<ahead|disjoint>/<crdt|std_map>/1000
// (missing_from allocates its result in both implementations).
//
// Before anything is timed, main() checks that both representations give
// the same answers.
#include "support/version_vectors.hpp"

#include "support/registration.hpp"

#include <benchmark/benchmark.h>

#include <cstddef>
#include <cstdio>
#include <string>

namespace {

using crdt_bench::map_vv;
using crdt_bench::vv_case;

template <class Op>
void run_const(benchmark::State& state, Op op) {
    for (auto _ : state) {
        auto result = op();
        benchmark::DoNotOptimize(result);
    }
    state.SetItemsProcessed(state.iterations());
}

bool check(bool ok, const char* what, vv_case c, std::size_t n) {
    if (!ok) {
        std::fprintf(stderr, "version_vector_compare: crdt and baseline disagree: %s on %s/%zu\n",
                     what, crdt_bench::name_of(c).c_str(), n);
    }
    return ok;
}

} // namespace

int main(int argc, char** argv) {
    for (const vv_case c : crdt_bench::all_vv_cases) {
        for (const std::size_t n : {std::size_t{2}, std::size_t{16}, std::size_t{1000}}) {
            const auto s = crdt_bench::make_vv_scenario(c, n);
            if (!check(s.a.compare(s.b) == crdt_bench::naive_compare(s.map_a, s.map_b), "compare",
                       c, n)) {
                return 1;
            }
            const std::string count = std::to_string(n);
            benchmark::RegisterBenchmark(
                crdt_bench::bench_name({"compare/", crdt_bench::name_of(c), "/crdt/", count})
                    .c_str(),
                [s](benchmark::State& st) { run_const(st, [&] { return s.a.compare(s.b); }); });
            benchmark::RegisterBenchmark(
                crdt_bench::bench_name({"compare/", crdt_bench::name_of(c), "/std_map/", count})
                    .c_str(),
                [s](benchmark::State& st) {
                    run_const(st, [&] { return crdt_bench::naive_compare(s.map_a, s.map_b); });
                });
        }
    }
    constexpr std::size_t n = 1000;
    for (const vv_case c : {vv_case::ahead, vv_case::concurrent}) {
        const auto s = crdt_bench::make_vv_scenario(c, n);
        if (!check(s.a.includes(s.b) == crdt_bench::naive_includes(s.map_a, s.map_b), "includes", c,
                   n)) {
            return 1;
        }
        benchmark::RegisterBenchmark(
            crdt_bench::bench_name({"includes/", crdt_bench::name_of(c), "/crdt/1000"}).c_str(),
            [s](benchmark::State& st) { run_const(st, [&] { return s.a.includes(s.b); }); });
        benchmark::RegisterBenchmark(
            crdt_bench::bench_name({"includes/", crdt_bench::name_of(c), "/std_map/1000"}).c_str(),
            [s](benchmark::State& st) {
                run_const(st, [&] { return crdt_bench::naive_includes(s.map_a, s.map_b); });
            });
    }
    for (const vv_case c : {vv_case::ahead, vv_case::disjoint}) {
        const auto s = crdt_bench::make_vv_scenario(c, n);
        const auto ranges = s.a.missing_from(s.b);
        const auto naive = crdt_bench::naive_missing_from(s.map_a, s.map_b);
        bool same = ranges.size() == naive.size();
        for (std::size_t i = 0; same && i < ranges.size(); ++i) {
            same = ranges[i].replica.value() == naive[i].replica &&
                   ranges[i].first == naive[i].first && ranges[i].last == naive[i].last;
        }
        if (!check(same, "missing_from", c, n)) {
            return 1;
        }
        benchmark::RegisterBenchmark(
            crdt_bench::bench_name({"missing_from/", crdt_bench::name_of(c), "/crdt/1000"}).c_str(),
            [s](benchmark::State& st) { run_const(st, [&] { return s.a.missing_from(s.b); }); });
        benchmark::RegisterBenchmark(
            crdt_bench::bench_name({"missing_from/", crdt_bench::name_of(c), "/std_map/1000"})
                .c_str(),
            [s](benchmark::State& st) {
                run_const(st, [&] { return crdt_bench::naive_missing_from(s.map_a, s.map_b); });
            });
    }
    return crdt_bench::run_benchmarks(argc, argv);
}
