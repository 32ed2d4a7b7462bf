// crdt/detail/store/chunk.hpp -- the stored form of snapshots and deltas,
// and the content hash that names them.
//
// A chunk is one storage value:
//
//   byte 0-3  magic "crck"
//   byte 4    format version (1)
//   byte 5    kind: 1 snapshot (a whole state as its delta_since({})),
//             2 delta, 3 native snapshot (the type's own snapshot(), loaded
//             with T::load_snapshot: a sequence loads without replaying)
//   byte 6    flags: bit 0 = has base
//   [bytes]   base: the version a delta needs before it may be merged (a
//             delta_since delta received from a peer); absent for
//             snapshots and mutator deltas
//   bytes     payload: the codec encoding of the replicated type
//   u32 LE    CRC-32C of every byte before it
//
// Chunks are named by content: delta chunks by a 128-bit hash of their
// bytes, snapshots by a hash of their version's encoding, so re-saving
// the same chunk is a no-op and two processes never clash on a name. The
// hash is not cryptographic: it protects against accidents, not against an
// adversary who can write to the store.
//
// Complexity: linear in the chunk. Thread safety: pure functions.
// Exception safety: strong.
#pragma once

#include <crdt/codec/crc32c.hpp>
#include <crdt/codec/reader.hpp>
#include <crdt/codec/writer.hpp>
#include <crdt/core/config.hpp>
#include <crdt/core/error.hpp>
#include <crdt/detail/hash.hpp>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <vector>

CRDT_BEGIN_NAMESPACE
namespace detail::store {

enum class chunk_kind : std::uint8_t { snapshot = 1, delta = 2, native_snapshot = 3 };

struct chunk {
    chunk_kind kind = chunk_kind::delta;
    bool has_base = false;
    std::vector<std::byte> base;
    std::vector<std::byte> payload;
};

inline std::vector<std::byte> encode_chunk(chunk_kind kind, const std::vector<std::byte>* base,
                                           std::span<const std::byte> payload) {
    CRDT_ASSERT(kind == chunk_kind::delta || base == nullptr); // snapshots have no base
    byte_writer w;
    w.reserve(payload.size() + 32);
    w.raw(std::as_bytes(std::span("crck", 4)));
    w.byte(1);
    w.byte(static_cast<std::uint8_t>(kind));
    w.byte(base != nullptr ? 1 : 0);
    if (base != nullptr) {
        w.bytes(*base);
    }
    w.bytes(payload);
    w.fixed(crdt::crc32c(w.view()));
    return w.take();
}

// Throws: crdt::error naming `what` (the key) and the offset.
inline chunk decode_chunk(std::span<const std::byte> bytes, const std::string& what) {
    byte_reader r(bytes, what);
    if (bytes.size() < 11) {
        r.fail(errc::truncated, "chunk header");
    }
    if (std::memcmp(bytes.data(), "crck", 4) != 0) {
        r.fail(errc::bad_magic, "chunk magic (expected \"crck\")");
    }
    byte_reader tail(bytes.subspan(bytes.size() - 4), what);
    const auto stored = tail.fixed<std::uint32_t>();
    if (stored != crdt::crc32c(bytes.first(bytes.size() - 4))) {
        r.fail_at(errc::checksum_mismatch, "chunk checksum", bytes.size() - 4);
    }
    byte_reader body(bytes.first(bytes.size() - 4), what);
    (void)body.raw(4);
    const std::uint8_t version = body.byte();
    if (version != 1) {
        body.fail_at(errc::unsupported_version,
                     "chunk format version " + std::to_string(version) + " (this build reads 1)",
                     4);
    }
    chunk c;
    const std::uint8_t kind = body.byte();
    if (kind < 1 || kind > 3) {
        body.fail_at(errc::invalid_value, "chunk kind " + std::to_string(kind), 5);
    }
    c.kind = static_cast<chunk_kind>(kind);
    const std::uint8_t flags = body.byte();
    if (flags > 1 || (flags == 1 && c.kind != chunk_kind::delta)) {
        body.fail_at(errc::invalid_value, "chunk flags " + std::to_string(flags), 6);
    }
    c.has_base = flags == 1;
    if (c.has_base) {
        const auto b = body.bytes();
        c.base.assign(b.begin(), b.end());
    }
    const auto p = body.bytes();
    c.payload.assign(p.begin(), p.end());
    body.expect_end();
    return c;
}

// A 128-bit hash of `bytes` as 32 hex digits (two independently seeded
// lanes of a multiply-xorshift over 8-byte words).
inline std::string content_name(std::span<const std::byte> bytes) {
    std::uint64_t a = 0x243f6a8885a308d3ULL ^ bytes.size();
    std::uint64_t b = 0x13198a2e03707344ULL + bytes.size();
    std::size_t i = 0;
    for (; i + 8 <= bytes.size(); i += 8) {
        std::uint64_t word = 0;
        std::memcpy(&word, bytes.data() + i, 8);
        a = mix64(a ^ word) * 0x9e3779b97f4a7c15ULL;
        b = mix64(b + word * 0xc2b2ae3d27d4eb4fULL);
    }
    std::uint64_t last = 0;
    for (std::size_t s = 0; i < bytes.size(); ++i, s += 8) {
        last |= std::uint64_t{static_cast<unsigned char>(bytes[i])} << s;
    }
    a = mix64(a ^ last ^ 0xa4093822299f31d0ULL);
    b = mix64(b ^ mix64(last + 0x082efa98ec4e6c89ULL));
    static constexpr char digits[] = "0123456789abcdef";
    std::string out(32, '0');
    for (int k = 0; k < 16; ++k) {
        out[static_cast<std::size_t>(k)] = digits[(a >> (60 - 4 * k)) & 15];
        out[static_cast<std::size_t>(16 + k)] = digits[(b >> (60 - 4 * k)) & 15];
    }
    return out;
}

} // namespace detail::store
CRDT_END_NAMESPACE
