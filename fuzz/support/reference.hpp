// fuzz/support/reference.hpp -- naive reference decoders the harnesses
// compare crdt's codec against (differential oracles).
//
// Written independently of crdt/codec/ and for clarity, not speed: LEB128
// by accumulating 7-bit groups and checking the rules afterwards, UTF-8 by
// decoding code points and checking the RFC 3629 ranges on the result.
//
// Thread safety: pure functions. Exception safety: nothing here throws.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

namespace crdt_fuzz::reference {

/// The outcome of reading one LEB128 varint.
struct varint_result {
    enum status_t { ok, truncated, overlong } status = truncated;
    std::uint64_t value = 0; ///< when ok
    std::size_t length = 0;  ///< bytes consumed, when ok
};

/// Returns: the minimal LEB128 varint at the start of `in`, if any.
inline varint_result varint(std::span<const std::byte> in) {
    // Find the terminating byte (high bit clear) within the first 10.
    std::size_t n = 0;
    while (true) {
        if (n == 10) { // ten bytes, all with the continuation bit
            return {varint_result::overlong};
        }
        if (n == in.size()) {
            return {varint_result::truncated};
        }
        const bool more = (std::to_integer<unsigned>(in[n]) & 0x80u) != 0;
        ++n;
        if (!more) {
            break;
        }
    }
    // 10 groups of 7 bits hold 70 bits; only 64 may be used: the 10th
    // byte may only be 0 or 1.
    if (n == 10 && std::to_integer<unsigned>(in[9]) > 1) {
        return {varint_result::overlong};
    }
    // Minimal: a multi-byte encoding must not end in a zero group.
    if (n > 1 && std::to_integer<unsigned>(in[n - 1]) == 0) {
        return {varint_result::overlong};
    }
    std::uint64_t v = 0;
    for (std::size_t i = n; i-- > 0;) {
        v = (v << 7) | (std::to_integer<std::uint64_t>(in[i]) & 0x7f);
    }
    return {varint_result::ok, v, n};
}

/// Returns: the zigzag-decoded value of `v` (0, -1, 1, -2, ... for 0, 1, 2, 3, ...).
inline std::int64_t unzigzag(std::uint64_t v) {
    const std::uint64_t magnitude = v / 2;
    if (v % 2 == 0) {
        return static_cast<std::int64_t>(magnitude);
    }
    // -(magnitude + 1), computed without overflow.
    return -static_cast<std::int64_t>(magnitude) - 1;
}

/// Returns: the byte offset of the first invalid UTF-8 sequence, or nullopt.
inline std::optional<std::size_t> first_invalid_utf8(std::string_view s) {
    std::size_t i = 0;
    while (i < s.size()) {
        const auto c = static_cast<unsigned char>(s[i]);
        std::size_t len = 0;
        std::uint32_t cp = 0;
        if (c < 0x80) {
            len = 1;
            cp = c;
        } else if ((c & 0xe0) == 0xc0) {
            len = 2;
            cp = c & 0x1fu;
        } else if ((c & 0xf0) == 0xe0) {
            len = 3;
            cp = c & 0x0fu;
        } else if ((c & 0xf8) == 0xf0) {
            len = 4;
            cp = c & 0x07u;
        } else {
            return i;
        }
        if (s.size() - i < len) {
            return i;
        }
        for (std::size_t k = 1; k < len; ++k) {
            const auto cc = static_cast<unsigned char>(s[i + k]);
            if ((cc & 0xc0) != 0x80) {
                return i;
            }
            cp = (cp << 6) | (cc & 0x3fu);
        }
        static constexpr std::uint32_t smallest[] = {0, 0, 0x80, 0x800, 0x10000};
        if (cp < smallest[len] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
            return i;
        }
        i += len;
    }
    return std::nullopt;
}

/// Returns: the `N`-byte little-endian unsigned value at the start of `in`.
/// Requires: in.size() >= N.
template <std::size_t N>
std::uint64_t little_endian(std::span<const std::byte> in) {
    std::uint64_t v = 0;
    for (std::size_t i = N; i-- > 0;) {
        v = (v << 8) | std::to_integer<std::uint64_t>(in[i]);
    }
    return v;
}

} // namespace crdt_fuzz::reference
