// A model of a store's logical state for crash tests: every operation of a
// workload is applied to the model, and after a crash the reopened store must
// equal the model after some prefix of the workload that is at least as long
// as what was acknowledged durable. Crash loops run once per power-loss
// outcome for directory changes (directory_outcomes).
#pragma once

#include <crdt/detail/storage/fault.hpp>
#include <crdt/storage/concepts.hpp>

#include <catch2/catch.hpp>

#include "helpers.hpp"

#include <algorithm>
#include <array>
#include <filesystem>
#include <map>
#include <optional>
#include <set>
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

/// Both outcomes of a power loss for directory changes that no directory
/// sync made durable: undone (the adversarial case) and kept.
inline constexpr std::array directory_outcomes{crdt::detail::storage::directory_changes::lose,
                                               crdt::detail::storage::directory_changes::keep};

inline const char* to_string(crdt::detail::storage::directory_changes d) {
    return d == crdt::detail::storage::directory_changes::lose ? "lose" : "keep";
}

/// Effects: deletes the temporaries ("*.tmp.*") under `root`. A crashed
///   adapter's temporaries belong to this (live) process, so open keeps them;
///   a real crash kills the process, and its restart would delete them.
inline void remove_temporaries(const std::filesystem::path& root) {
    std::vector<std::filesystem::path> found;
    for (const auto& e : std::filesystem::recursive_directory_iterator(root)) {
        if (e.path().filename().string().find(".tmp.") != std::string::npos) {
            found.push_back(e.path());
        }
    }
    for (const auto& p : found) {
        std::filesystem::remove(p);
    }
}

/// Returns: whether `got` equals states[i] for some i in [durable, done + 1]
///   (the durable steps, and possibly the later acknowledged ones and the
///   one in flight, landed as a prefix of the workload).
inline bool matches_prefix(const model_state& got, const std::vector<model_state>& states,
                           std::size_t durable, std::size_t done) {
    for (std::size_t i = durable; i <= done + 1 && i < states.size(); ++i) {
        if (got == states[i]) {
            return true;
        }
    }
    return false;
}

/// Returns: whether `got` is what a crash may leave judged key by key: every
///   key holds its value (or its absence) in some states[i], i in
///   [durable, done + 1], and the append log lies between the durable one
///   and the longest. Weaker than matches_prefix: it allows a newer write to
///   one key to survive while an older, unflushed write to another is lost
///   (an adapter with one file per key at durability normal), but still
///   every durable value is intact and none is torn.
inline bool matches_per_key(const model_state& got, const std::vector<model_state>& states,
                            std::size_t durable, std::size_t done) {
    const std::size_t last = std::min(done + 1, states.size() - 1);
    if (durable > last) {
        return false;
    }
    std::set<crdt::storage_key> keys;
    for (const auto& kv : got.kv) {
        keys.insert(kv.first);
    }
    for (std::size_t i = durable; i <= last; ++i) {
        for (const auto& kv : states[i].kv) {
            keys.insert(kv.first);
        }
    }
    auto value_in = [](const model_state& m, const crdt::storage_key& k) {
        const auto it = m.kv.find(k);
        return it == m.kv.end() ? std::optional<crdt::storage_bytes>() : it->second;
    };
    for (const auto& k : keys) {
        bool ok = false;
        for (std::size_t i = durable; i <= last && !ok; ++i) {
            ok = value_in(got, k) == value_in(states[i], k);
        }
        if (!ok) {
            return false;
        }
    }
    auto is_prefix = [](const auto& a, const auto& b) {
        return a.size() <= b.size() && std::equal(a.begin(), a.end(), b.begin());
    };
    return is_prefix(states[durable].log, got.log) && is_prefix(got.log, states[last].log);
}

/// A value whose length and content depend on the step number.
inline std::string value_for(int i) {
    std::string v = "value-" + std::to_string(i) + "-";
    v.append(static_cast<std::size_t>((i * 37) % 90), static_cast<char>('a' + i % 26));
    return v;
}

} // namespace storage_test
