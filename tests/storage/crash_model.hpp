// A model of a store's logical state for crash tests: every operation of a
// workload is applied to the model, and after a crash the reopened store must
// equal the model after some prefix of the workload that is at least as long
// as what was acknowledged durable.
#pragma once

#include <crdt/storage/concepts.hpp>

#include <catch2/catch.hpp>

#include "helpers.hpp"

#include <map>
#include <string>
#include <vector>

namespace storage_test {

struct model_state {
    std::map<crdt::storage_key, crdt::storage_bytes> kv;
    std::vector<crdt::storage_bytes> log;
    bool operator==(const model_state&) const = default;
};

template <class S>
model_state read_state(S& s) {
    model_state m;
    for (auto& kv : s.load_range({})) {
        m.kv.emplace(kv.key, kv.value);
    }
    if constexpr (crdt::append_log_storage<S>) {
        for (auto& e : s.read_since(0)) {
            m.log.push_back(e.value);
        }
    }
    return m;
}

/// A value whose length and content depend on the step number.
inline std::string value_for(int i) {
    std::string v = "value-" + std::to_string(i) + "-";
    v.append(static_cast<std::size_t>((i * 37) % 90), static_cast<char>('a' + i % 26));
    return v;
}

} // namespace storage_test
