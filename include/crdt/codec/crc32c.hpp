// crdt/codec/crc32c.hpp -- CRC-32C (Castagnoli), the checksum of crdt's
// framed records and wire messages.
//
// Polynomial 0x1EDC6F41 (reflected 0x82F63B78), initial value and final xor
// 0xFFFFFFFF: the same CRC as iSCSI, ext4, LevelDB and RocksDB. For example
// crc32c("123456789") == 0xE3069283.
//
// On x86-64 with GCC or Clang the SSE4.2 `crc32` instruction is used when the
// running CPU has it (checked once); elsewhere a portable slicing-by-8
// table computes the same value.
//
// Thread safety: pure functions (the CPU check is a thread-safe static).
// Exception safety: nothing here throws.
#pragma once

#include <crdt/core/config.hpp>

#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string_view>

#if (defined(__x86_64__) || defined(_M_X64)) && (defined(__GNUC__) || defined(__clang__))
#define CRDT_CRC32C_HAVE_SSE42 1
#include <nmmintrin.h>
#else
#define CRDT_CRC32C_HAVE_SSE42 0
#endif

CRDT_BEGIN_NAMESPACE
namespace detail::crc32c {

inline constexpr std::uint32_t polynomial = 0x82f63b78u; // reflected Castagnoli

using table_t = std::array<std::array<std::uint32_t, 256>, 8>;

constexpr table_t make_table() noexcept {
    table_t t{};
    for (std::uint32_t i = 0; i < 256; ++i) {
        std::uint32_t c = i;
        for (int k = 0; k < 8; ++k) {
            c = (c & 1u) != 0 ? (c >> 1) ^ polynomial : c >> 1;
        }
        t[0][i] = c;
    }
    for (std::size_t s = 1; s < 8; ++s) {
        for (std::size_t i = 0; i < 256; ++i) {
            const std::uint32_t prev = t[s - 1][i];
            t[s][i] = (prev >> 8) ^ t[0][prev & 0xffu];
        }
    }
    return t;
}

inline constexpr table_t table = make_table();

/// Raw (not pre/post-inverted) CRC update with slicing-by-8.
inline std::uint32_t update_portable(std::uint32_t crc, const unsigned char* p,
                                     std::size_t n) noexcept {
    while (n >= 8) {
        std::uint32_t lo = 0;
        std::uint32_t hi = 0;
        std::memcpy(&lo, p, 4);
        std::memcpy(&hi, p + 4, 4);
        if constexpr (std::endian::native == std::endian::big) {
            lo = __builtin_bswap32(lo);
            hi = __builtin_bswap32(hi);
        }
        lo ^= crc;
        crc = table[7][lo & 0xffu] ^ table[6][(lo >> 8) & 0xffu] ^ table[5][(lo >> 16) & 0xffu] ^
              table[4][lo >> 24] ^ table[3][hi & 0xffu] ^ table[2][(hi >> 8) & 0xffu] ^
              table[1][(hi >> 16) & 0xffu] ^ table[0][hi >> 24];
        p += 8;
        n -= 8;
    }
    while (n-- > 0) {
        crc = (crc >> 8) ^ table[0][(crc ^ *p++) & 0xffu];
    }
    return crc;
}

#if CRDT_CRC32C_HAVE_SSE42
__attribute__((target("sse4.2"))) inline std::uint32_t
update_sse42(std::uint32_t crc, const unsigned char* p, std::size_t n) noexcept {
    std::uint64_t c = crc;
    while (n >= 8) {
        std::uint64_t v = 0;
        std::memcpy(&v, p, 8);
        c = _mm_crc32_u64(c, v);
        p += 8;
        n -= 8;
    }
    auto c32 = static_cast<std::uint32_t>(c);
    while (n-- > 0) {
        c32 = _mm_crc32_u8(c32, *p++);
    }
    return c32;
}

inline bool cpu_has_sse42() noexcept {
    static const bool has = __builtin_cpu_supports("sse4.2") != 0;
    return has;
}
#endif

inline std::uint32_t update(std::uint32_t crc, const unsigned char* p, std::size_t n) noexcept {
#if CRDT_CRC32C_HAVE_SSE42
    if (cpu_has_sse42()) {
        return update_sse42(crc, p, n);
    }
#endif
    return update_portable(crc, p, n);
}

} // namespace detail::crc32c

/// Returns: the CRC-32C of `data`, continuing from `crc`, the CRC of the
///   bytes before it (0 for none): `crc32c(b, crc32c(a)) == crc32c(a + b)`.
/// Complexity: linear in `data.size()`.
inline std::uint32_t crc32c(std::span<const std::byte> data, std::uint32_t crc = 0) noexcept {
    return ~detail::crc32c::update(~crc, reinterpret_cast<const unsigned char*>(data.data()),
                                   data.size());
}

/// Returns: the CRC-32C of the bytes of `text`, continuing from `crc`.
inline std::uint32_t crc32c(std::string_view text, std::uint32_t crc = 0) noexcept {
    return crc32c(std::as_bytes(std::span<const char>(text.data(), text.size())), crc);
}

/// Returns: the CRC-32C computed by the portable table code only (for tests
///   that check the hardware path against it).
inline std::uint32_t crc32c_portable(std::span<const std::byte> data,
                                     std::uint32_t crc = 0) noexcept {
    return ~detail::crc32c::update_portable(
        ~crc, reinterpret_cast<const unsigned char*>(data.data()), data.size());
}

CRDT_END_NAMESPACE
