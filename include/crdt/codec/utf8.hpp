// crdt/codec/utf8.hpp -- UTF-8 validation, code point counting and encoding.
//
// Validation follows RFC 3629 / Unicode table 3-7: no overlong forms, no
// surrogates (U+D800..U+DFFF), nothing above U+10FFFF.
//
// Thread safety: pure functions. Exception safety: nothing here throws but
// append (std::bad_alloc, strong).
#pragma once

#include <crdt/core/config.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

CRDT_BEGIN_NAMESPACE
namespace utf8 {

/// Returns: the byte offset of the first invalid sequence in `text`, or
///   std::nullopt if `text` is valid UTF-8.
/// Complexity: linear in `text.size()`.
constexpr std::optional<std::size_t> find_invalid(std::string_view text) noexcept {
    const std::size_t n = text.size();
    std::size_t i = 0;
    while (i < n) {
        const auto c = static_cast<std::uint8_t>(text[i]);
        if (c < 0x80) {
            ++i;
            continue;
        }
        std::size_t len = 0;
        std::uint8_t lo = 0x80;
        std::uint8_t hi = 0xbf;
        if (c >= 0xc2 && c <= 0xdf) {
            len = 2;
        } else if (c >= 0xe0 && c <= 0xef) {
            len = 3;
            if (c == 0xe0) {
                lo = 0xa0; // no overlong 3-byte forms
            } else if (c == 0xed) {
                hi = 0x9f; // no surrogates
            }
        } else if (c >= 0xf0 && c <= 0xf4) {
            len = 4;
            if (c == 0xf0) {
                lo = 0x90; // no overlong 4-byte forms
            } else if (c == 0xf4) {
                hi = 0x8f; // nothing above U+10FFFF
            }
        } else {
            return i;
        }
        if (n - i < len) {
            return i;
        }
        const auto c1 = static_cast<std::uint8_t>(text[i + 1]);
        if (c1 < lo || c1 > hi) {
            return i;
        }
        for (std::size_t k = 2; k < len; ++k) {
            const auto ck = static_cast<std::uint8_t>(text[i + k]);
            if (ck < 0x80 || ck > 0xbf) {
                return i;
            }
        }
        i += len;
    }
    return std::nullopt;
}

/// Returns: whether `text` is valid UTF-8.
constexpr bool is_valid(std::string_view text) noexcept {
    return !find_invalid(text).has_value();
}

/// Requires: `text` is valid UTF-8.
/// Returns: the number of code points in `text`.
constexpr std::size_t count_code_points(std::string_view text) noexcept {
    std::size_t count = 0;
    for (char ch : text) {
        count += (static_cast<std::uint8_t>(ch) & 0xc0) != 0x80 ? 1 : 0;
    }
    return count;
}

/// Requires: `c` is a Unicode scalar value (at most U+10FFFF, not a
///   surrogate).
/// Effects: appends the UTF-8 encoding of `c` (1 to 4 bytes) to `out`.
/// Throws: std::bad_alloc.
inline void append(std::string& out, char32_t c) {
    const auto u = static_cast<std::uint32_t>(c);
    const auto put = [&](std::uint32_t b) { out.push_back(static_cast<char>(b)); };
    if (u < 0x80) {
        put(u);
    } else if (u < 0x800) {
        put(0xC0u | (u >> 6));
        put(0x80u | (u & 0x3Fu));
    } else if (u < 0x10000) {
        put(0xE0u | (u >> 12));
        put(0x80u | ((u >> 6) & 0x3Fu));
        put(0x80u | (u & 0x3Fu));
    } else {
        put(0xF0u | (u >> 18));
        put(0x80u | ((u >> 12) & 0x3Fu));
        put(0x80u | ((u >> 6) & 0x3Fu));
        put(0x80u | (u & 0x3Fu));
    }
}

} // namespace utf8
CRDT_END_NAMESPACE
