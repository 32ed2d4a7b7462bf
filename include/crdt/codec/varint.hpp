// crdt/codec/varint.hpp -- LEB128 varints and zigzag, on raw byte buffers.
//
// The byte-level core that byte_writer and byte_reader are built on; use
// those unless you are writing a hot loop over your own buffer.
//
// Encoding: unsigned LEB128, seven bits per byte, least significant group
// first, high bit set on every byte but the last. Only the minimal encoding
// is accepted when decoding (no trailing 0x80 0x00 padding), so every value
// has exactly one encoding and encoded bytes can be content-addressed.
// Signed values are zigzag-mapped first (0, -1, 1, -2, ... -> 0, 1, 2, 3).
//
// Thread safety: pure functions. Exception safety: nothing here throws.
#pragma once

#include <crdt/core/config.hpp>

#include <cstddef>
#include <cstdint>

CRDT_BEGIN_NAMESPACE
namespace varint {

/// The longest encoding of a 64-bit value, in bytes.
inline constexpr std::size_t max_length = 10;

/// Returns: the number of bytes `encode(value, ...)` writes (1 to 10).
/// Complexity: constant.
constexpr std::size_t encoded_length(std::uint64_t value) noexcept {
    std::size_t n = 1;
    while (value >= 0x80) {
        value >>= 7;
        ++n;
    }
    return n;
}

/// Requires: `out` has room for `encoded_length(value)` bytes.
/// Effects: writes the LEB128 encoding of `value` to `out`.
/// Returns: one past the last byte written.
constexpr std::byte* encode(std::uint64_t value, std::byte* out) noexcept {
    while (value >= 0x80) {
        *out++ = static_cast<std::byte>((value & 0x7f) | 0x80);
        value >>= 7;
    }
    *out++ = static_cast<std::byte>(value);
    return out;
}

/// The outcome of `decode`.
enum class decode_status {
    ok,        ///< a value was decoded
    truncated, ///< the input ended inside the varint
    overlong,  ///< more than 10 bytes, a value above 2^64-1, or a non-minimal encoding
};

/// Effects: decodes one LEB128 value from [`first`, `last`) into `value`.
/// Returns: the status; on `ok`, `first` is advanced past the varint. On
///   failure `first` and `value` are unspecified.
/// Complexity: at most 10 byte reads; never reads at or past `last`.
constexpr decode_status decode(const std::byte*& first, const std::byte* last,
                               std::uint64_t& value) noexcept {
    if (first == last) {
        return decode_status::truncated;
    }
    auto b = static_cast<std::uint8_t>(*first);
    if (b < 0x80) { // fast path: one byte
        ++first;
        value = b;
        return decode_status::ok;
    }
    std::uint64_t result = 0;
    unsigned shift = 0;
    for (std::size_t i = 0; i < max_length; ++i) {
        if (first == last) {
            return decode_status::truncated;
        }
        b = static_cast<std::uint8_t>(*first++);
        if (i == max_length - 1 && b > 0x01) {
            return decode_status::overlong; // would exceed 64 bits
        }
        result |= static_cast<std::uint64_t>(b & 0x7f) << shift;
        if (b < 0x80) {
            if (b == 0 && i > 0) {
                return decode_status::overlong; // non-minimal encoding
            }
            value = result;
            return decode_status::ok;
        }
        shift += 7;
    }
    return decode_status::overlong;
}

/// Returns: `value` mapped to an unsigned integer so that small magnitudes
///   stay small: 0 -> 0, -1 -> 1, 1 -> 2, -2 -> 3, ...
constexpr std::uint64_t zigzag_encode(std::int64_t value) noexcept {
    return (static_cast<std::uint64_t>(value) << 1) ^ static_cast<std::uint64_t>(value >> 63);
}

/// Returns: the inverse of `zigzag_encode`.
constexpr std::int64_t zigzag_decode(std::uint64_t value) noexcept {
    return static_cast<std::int64_t>((value >> 1) ^ (~(value & 1) + 1));
}

} // namespace varint
CRDT_END_NAMESPACE
