// benchmarks/types/lww_map_memory.cpp -- heap bytes per entry of a map of 1M
// keys, counted by replacing the global operator new/delete (live bytes
// requested, not malloc's own headers, which add ~8-16 bytes per node
// allocation: that favours std::unordered_map, whose every entry is one).
// Counters: bytes_per_entry (live heap bytes / keys) and
// overhead_per_entry (bytes_per_entry - sizeof(K) - sizeof(V); keys and
// values are short enough to live inside std::string's inline buffer).
// The timed part is building the map; the counters are what matters.
// Names: memory/<u64|string>/<impl>.
#include "common.hpp"

#include <atomic>
#include <cstdlib>
#include <new>

namespace {
std::atomic<std::size_t> live_bytes{0};
} // namespace

void* operator new(std::size_t n) {
    void* p = std::malloc(n + 16);
    if (p == nullptr) {
        throw std::bad_alloc();
    }
    *static_cast<std::size_t*>(p) = n;
    live_bytes += n;
    return static_cast<char*>(p) + 16;
}
void operator delete(void* p) noexcept {
    if (p != nullptr) {
        char* base = static_cast<char*>(p) - 16;
        live_bytes -= *reinterpret_cast<std::size_t*>(base);
        std::free(base);
    }
}
void operator delete(void* p, std::size_t) noexcept {
    operator delete(p);
}

namespace {

using namespace types_bench;

template <class K, class V, class Build>
void run(benchmark::State& state, Build build) {
    const std::size_t n = dataset<K, V>().keys.size();
    double per_entry = 0;
    for (auto _ : state) {
        const std::size_t before = live_bytes.load();
        auto m = build();
        const std::size_t after = live_bytes.load();
        per_entry = static_cast<double>(after - before) / static_cast<double>(n);
        benchmark::DoNotOptimize(m);
    }
    state.counters["bytes_per_entry"] = per_entry;
    state.counters["overhead_per_entry"] = per_entry - static_cast<double>(sizeof(K) + sizeof(V));
}

template <class K, class V>
void bm_crdt(benchmark::State& state) {
    run<K, V>(state, [] { return filled_crdt<K, V>(); });
}
template <class K, class V>
void bm_std(benchmark::State& state) {
    run<K, V>(state, [] { return filled_std<K, V>(); });
}
template <class K, class V>
void bm_flat(benchmark::State& state) {
    run<K, V>(state, [] { return filled_flat<K, V>(); });
}

} // namespace

BENCHMARK_TEMPLATE(bm_crdt, std::uint64_t, std::uint64_t)
    ->Name("memory/u64/crdt")
    ->Unit(benchmark::kMillisecond)
    ->Iterations(1);
BENCHMARK_TEMPLATE(bm_std, std::uint64_t, std::uint64_t)
    ->Name("memory/u64/std_unordered")
    ->Unit(benchmark::kMillisecond)
    ->Iterations(1);
BENCHMARK_TEMPLATE(bm_flat, std::uint64_t, std::uint64_t)
    ->Name("memory/u64/flat")
    ->Unit(benchmark::kMillisecond)
    ->Iterations(1);
BENCHMARK_TEMPLATE(bm_crdt, std::string, std::string)
    ->Name("memory/string/crdt")
    ->Unit(benchmark::kMillisecond)
    ->Iterations(1);
BENCHMARK_TEMPLATE(bm_std, std::string, std::string)
    ->Name("memory/string/std_unordered")
    ->Unit(benchmark::kMillisecond)
    ->Iterations(1);
BENCHMARK_TEMPLATE(bm_flat, std::string, std::string)
    ->Name("memory/string/flat")
    ->Unit(benchmark::kMillisecond)
    ->Iterations(1);

BENCHMARK_MAIN();
