// benchmarks/support/varint_values.hpp -- the value distributions of the
// varint benchmarks (varint_encode.cpp, varint_decode.cpp).
//
// Each distribution is 1,000,000 std::uint64_t values from a fixed seed:
//   small  uniform in [0, 127]: one byte each (flags, small counts);
//   mixed  60% below 2^7, 25% below 2^14, 10% below 2^28, 5% full 64-bit,
//          each uniform in its range: the mix of counters, lengths and
//          timestamps a CRDT wire format carries;
//   full   uniform over all 64 bits: nine or ten bytes each, the worst case.
//
// Thread safety: plain functions. Exception safety: std::bad_alloc only.
#pragma once

#include <crdt/codec/varint.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace crdt_bench {

inline constexpr std::size_t varint_value_count = 1'000'000;

enum class varint_distribution { small, mixed, full };

inline constexpr std::array<varint_distribution, 3> all_varint_distributions = {
    varint_distribution::small, varint_distribution::mixed, varint_distribution::full};

inline std::string name_of(varint_distribution d) {
    switch (d) {
    case varint_distribution::small: return "small";
    case varint_distribution::mixed: return "mixed";
    case varint_distribution::full: return "full";
    }
    return "?";
}

/// Returns: `varint_value_count` values drawn from `d`.
inline std::vector<std::uint64_t> make_varint_values(varint_distribution d) {
    std::mt19937_64 rng(0x7a121e57u + static_cast<unsigned>(d));
    std::vector<std::uint64_t> out(varint_value_count);
    for (auto& v : out) {
        switch (d) {
        case varint_distribution::small: v = rng() & 0x7f; break;
        case varint_distribution::mixed: {
            const std::uint64_t pick = rng() % 100;
            const std::uint64_t r = rng();
            if (pick < 60) {
                v = r & 0x7f;
            } else if (pick < 85) {
                v = r & 0x3fff;
            } else if (pick < 95) {
                v = r & 0xfffffff;
            } else {
                v = r;
            }
            break;
        }
        case varint_distribution::full: v = rng(); break;
        }
    }
    return out;
}

/// Returns: the total number of bytes the LEB128 encodings of `values` take.
inline std::size_t encoded_size(const std::vector<std::uint64_t>& values) {
    std::size_t n = 0;
    for (const auto v : values) {
        n += crdt::varint::encoded_length(v);
    }
    return n;
}

} // namespace crdt_bench
