// fuzz/support/sequences.hpp -- the sequence instantiations the sequence
// harnesses (sequence_delta, sequence_snapshot) fuzz, and deterministic
// replica ids and elements for their sample documents.
#pragma once

#include <crdt/core/replica_id.hpp>
#include <crdt/sequence.hpp>

#include <cstdint>
#include <string>
#include <type_traits>

namespace crdt_fuzz::seq {

/// Replicas named by 64-bit ids (the default policy uses agent_id strings).
struct id_policy {
    using replica_type = crdt::replica_id;
    static constexpr std::uint64_t first_counter = 1;
};

using text_seq = crdt::sequence<char32_t>;
using int_seq = crdt::sequence<std::uint64_t, id_policy>;
using str_seq = crdt::sequence<std::string>;

/// Returns: the i-th replica id of S's kind ("a", "b", ... or 1, 2, ...).
template <class S>
typename S::replica_type agent(std::uint64_t i) {
    if constexpr (std::is_same_v<typename S::replica_type, crdt::replica_id>) {
        return crdt::replica_id(i + 1);
    } else {
        return crdt::agent_id(std::string(1, static_cast<char>('a' + i)));
    }
}

/// Returns: the i-th sample element: code points of 1 to 4 UTF-8 bytes and
/// a newline; strings of 0 to 2 bytes; or integers.
template <class S>
typename S::value_type element(std::uint64_t i) {
    using V = typename S::value_type;
    if constexpr (std::is_same_v<V, char32_t>) {
        static constexpr char32_t alphabet[] = {U'x', U'\u00e9', U'\u4e2d', U'\U0001F600', U'\n'};
        return alphabet[i % 5];
    } else if constexpr (std::is_same_v<V, std::string>) {
        return std::string(i % 3, static_cast<char>('p' + i % 7));
    } else {
        return i * 1000;
    }
}

} // namespace crdt_fuzz::seq
