// benchmarks/types/common.hpp -- data sets and helpers shared by the
// replicated-type benchmarks (one file per operation in this folder).
//
// Key sets: 1,000,000 keys (override with CRDT_BENCH_KEYS for quick runs).
//   u64     key = splitmix64(i), value = i;
//   string  key = "key" + i, value = "val" + i: at most 15 bytes, so both fit
//           in std::string's inline buffer and no entry owns heap memory
//           beyond its node/slot (which keeps memory-per-entry comparable).
// Baselines: std::unordered_map and boost::container::flat_map doing the
// same inserts/lookups in the same run.
#pragma once

#include <crdt/detail/hash.hpp>
#include <crdt/lww_map.hpp>

#include <benchmark/benchmark.h>
#include <boost/container/flat_map.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <random>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace types_bench {

inline std::size_t key_count() {
    if (const char* env = std::getenv("CRDT_BENCH_KEYS")) {
        return static_cast<std::size_t>(std::strtoull(env, nullptr, 10));
    }
    return 1'000'000;
}

template <class K>
K make_key(std::size_t i);
template <>
inline std::uint64_t make_key<std::uint64_t>(std::size_t i) {
    return crdt::detail::mix64(i + 1);
}
template <>
inline std::string make_key<std::string>(std::size_t i) {
    return "key" + std::to_string(i);
}
template <class V>
V make_value(std::size_t i);
template <>
inline std::uint64_t make_value<std::uint64_t>(std::size_t i) {
    return i;
}
template <>
inline std::string make_value<std::string>(std::size_t i) {
    return "val" + std::to_string(i);
}

template <class K, class V>
struct data {
    std::vector<K> keys;
    std::vector<V> values;
    std::vector<std::size_t> lookup_order; // a random permutation
};

template <class K, class V>
const data<K, V>& dataset() {
    static const data<K, V> d = [] {
        data<K, V> out;
        const std::size_t n = key_count();
        for (std::size_t i = 0; i < n; ++i) {
            out.keys.push_back(make_key<K>(i));
            out.values.push_back(make_value<V>(i));
            out.lookup_order.push_back(i);
        }
        std::mt19937_64 rng(42);
        std::shuffle(out.lookup_order.begin(), out.lookup_order.end(), rng);
        return out;
    }();
    return d;
}

template <class K, class V>
using crdt_map = crdt::lww_map<K, V>;
template <class K, class V>
using std_map = std::unordered_map<K, V>;
template <class K, class V>
using flat_map = boost::container::flat_map<K, V>;

/// Returns: a crdt map of replica `id` holding the whole data set.
template <class K, class V>
crdt_map<K, V> filled_crdt(std::uint64_t id = 1) {
    const auto& d = dataset<K, V>();
    crdt_map<K, V> m{crdt::replica_id(id)};
    for (std::size_t i = 0; i < d.keys.size(); ++i) {
        m.set(d.keys[i], d.values[i]);
    }
    return m;
}

template <class K, class V>
std_map<K, V> filled_std() {
    const auto& d = dataset<K, V>();
    std_map<K, V> m;
    for (std::size_t i = 0; i < d.keys.size(); ++i) {
        m.insert_or_assign(d.keys[i], d.values[i]);
    }
    return m;
}

template <class K, class V>
flat_map<K, V> filled_flat() {
    const auto& d = dataset<K, V>();
    typename flat_map<K, V>::sequence_type seq;
    seq.reserve(d.keys.size());
    for (std::size_t i = 0; i < d.keys.size(); ++i) {
        seq.emplace_back(d.keys[i], d.values[i]);
    }
    flat_map<K, V> m;
    m.adopt_sequence(std::move(seq)); // sorts
    return m;
}

inline void items(benchmark::State& state, std::size_t per_iteration) {
    state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(per_iteration));
}

} // namespace types_bench
