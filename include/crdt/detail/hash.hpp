// crdt/detail/hash.hpp -- hash mixing shared by the std::hash specializations.
#pragma once

#include <crdt/core/config.hpp>

#include <cstdint>

CRDT_BEGIN_NAMESPACE
namespace detail {

/// The splitmix64 finalizer: a bijection on 64-bit values whose output bits
/// each depend on every input bit. Used to spread sequential or structured
/// values over hash buckets.
constexpr std::uint64_t mix64(std::uint64_t x) noexcept {
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebull;
    x ^= x >> 31;
    return x;
}

} // namespace detail
CRDT_END_NAMESPACE
