// benchmarks/support/registration.hpp -- helpers for benchmark files that
// register their cases at run time (one case per scenario and implementation).
//
//   bench_name({"merge/", "disjoint", "/crdt/", "16"})  joins the parts
//       (appending, which also avoids a GCC 12 -Wrestrict false positive on
//       `"literal" + std::string` at -O3);
//   run_benchmarks(argc, argv)  the body of a Google Benchmark main().
//
// Thread safety: call from main() only. Exception safety: std::bad_alloc only.
#pragma once

#include <benchmark/benchmark.h>

#include <initializer_list>
#include <string>
#include <string_view>

namespace crdt_bench {

/// Returns: the concatenation of `parts`.
inline std::string bench_name(std::initializer_list<std::string_view> parts) {
    std::string out;
    for (const auto p : parts) {
        out.append(p);
    }
    return out;
}

/// Effects: parses Google Benchmark's flags and runs the registered cases.
/// Returns: the process exit status (1 for an unrecognized argument).
inline int run_benchmarks(int argc, char** argv) {
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) {
        return 1;
    }
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}

} // namespace crdt_bench
