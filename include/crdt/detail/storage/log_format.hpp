// crdt/detail/storage/log_format.hpp -- the on-disk format of log_storage.
//
// Directory:
//   LOCK                     flock'ed by the one process that has the store open
//   MANIFEST                 the ordered list of live segments; replaced atomically
//   <id, 16 hex digits>.log  segments; a file not listed in MANIFEST is garbage
//                            (left by an interrupted rotation or compaction)
//
// MANIFEST: "CRDTMFST" | u32 LE format version (1) | one frame (type 1) whose
//   payload is varint next_segment_id | varint count | count x varint id.
//
// Segment: a 32-byte header, then frames (crdt/codec/framing.hpp) whose CRC
//   seed is fold(salt):
//     offset 0  "CRDTLOG\0"
//     offset 8  u32 LE format version: 1, or 2 for a *marked* segment
//               (sync marks; see "Marked segments" below). This build
//               writes 2 and reads both.
//     offset 12 u32 LE masked CRC-32C of bytes 16..31
//     offset 16 u64 LE segment id
//     offset 24 u64 LE salt (random per segment)
//   Record types and payloads (varints are LEB128):
//     1 put           varint version | varint key length | encoded key | value
//     2 remove        encoded key
//     3 append        varint sequence | value
//     4 batch_put     as put, applied only when its commit arrives
//     5 batch_remove  as remove, likewise
//     6 batch_commit  varint number of batch records before it
//     7 sync_mark     u64 LE the segment's salt | u64 LE the mark's own offset
//                     (format 2 only): everything before it was on stable
//                     storage when it was written
//   Encoded keys are crdt::encode_key().
//
// Marked segments (version 2). After every sync the writer appends a
// sync_mark (not synced itself; its write-back is started at once): a
// record before a mark was on stable storage. Recovery of the last segment
// treats a bad frame as the torn tail exactly when no valid mark follows it
// (the damage lies in data that was never synced: a crash's torn write, a
// power-loss hole, reserved zeros); a bad frame with a mark after it is
// corruption. A mark holds its own offset, so a copy of a segment's bytes
// stored as a value never passes for one. Below durability full, where the
// file system keeps reserved blocks reserved, appends go through a mapped
// window (append_window.hpp): the file then has reserved zeros after its
// data, and a power loss may keep some pages of unsynced records and not
// others (holes); each frame is stored payload first, header last, so a
// killed writer leaves whole frames and at most one torn frame. Version 1
// segments have no marks: there a bad frame is a torn tail when it runs to
// or past the end of the file or only zeros follow it.
#pragma once

#include <crdt/codec/crc32c.hpp>
#include <crdt/codec/framing.hpp>
#include <crdt/core/config.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

CRDT_BEGIN_NAMESPACE
namespace detail::storage::log_format {

inline constexpr std::uint32_t version = 1;        // MANIFEST, plain segments
inline constexpr std::uint32_t marked_version = 2; // marked segments
inline constexpr std::size_t header_size = 32;
inline constexpr std::array<char, 8> segment_magic = {'C', 'R', 'D', 'T', 'L', 'O', 'G', '\0'};
inline constexpr std::array<char, 8> manifest_magic = {'C', 'R', 'D', 'T', 'M', 'F', 'S', 'T'};

enum record_type : std::uint8_t {
    put = 1,
    remove = 2,
    append = 3,
    batch_put = 4,
    batch_remove = 5,
    batch_commit = 6,
    sync_mark = 7,
};

inline void put_u64(std::byte* p, std::uint64_t v) noexcept {
    for (int i = 0; i < 8; ++i) {
        p[i] = static_cast<std::byte>((v >> (8 * i)) & 0xffu);
    }
}
inline std::uint64_t get_u64(const std::byte* p) noexcept {
    std::uint64_t v = 0;
    for (int i = 0; i < 8; ++i) {
        v |= static_cast<std::uint64_t>(p[i]) << (8 * i);
    }
    return v;
}

inline std::uint32_t seed_of(std::uint64_t salt) noexcept {
    return static_cast<std::uint32_t>(salt ^ (salt >> 32));
}

/// Returns: the sync_mark frame of the segment with salt `salt`, to be
///   written at offset `at`.
inline std::vector<std::byte> make_sync_mark(std::uint64_t salt, std::uint64_t at) {
    std::byte payload[16];
    put_u64(payload, salt);
    put_u64(payload + 8, at);
    std::vector<std::byte> out;
    append_frame(out, sync_mark, payload, seed_of(salt));
    return out;
}

/// Returns: whether `payload` is that of a valid sync_mark at offset `at` of
///   the segment with salt `salt`.
inline bool is_sync_mark(std::span<const std::byte> payload, std::uint64_t salt,
                         std::uint64_t at) noexcept {
    return payload.size() == 16 && get_u64(payload.data()) == salt &&
           get_u64(payload.data() + 8) == at;
}

inline std::array<std::byte, header_size> make_header(std::uint64_t id, std::uint64_t salt,
                                                      std::uint32_t format = version) {
    std::array<std::byte, header_size> h{};
    for (std::size_t i = 0; i < 8; ++i) {
        h[i] = static_cast<std::byte>(segment_magic[i]);
    }
    detail::framing::put_u32(h.data() + 8, format);
    put_u64(h.data() + 16, id);
    put_u64(h.data() + 24, salt);
    detail::framing::put_u32(h.data() + 12,
                             mask_crc(::crdt::crc32c(std::span<const std::byte>(h).subspan(16))));
    return h;
}

inline std::string segment_name(std::uint64_t id) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%016llx.log", static_cast<unsigned long long>(id));
    return buf;
}

/// Returns: the id in a segment file name, or nullopt if it is not one.
inline std::optional<std::uint64_t> parse_segment_name(std::string_view name) {
    if (name.size() != 20 || !name.ends_with(".log")) {
        return std::nullopt;
    }
    std::uint64_t id = 0;
    for (std::size_t i = 0; i < 16; ++i) {
        const char c = name[i];
        std::uint64_t d = 0;
        if (c >= '0' && c <= '9') {
            d = static_cast<std::uint64_t>(c - '0');
        } else if (c >= 'a' && c <= 'f') {
            d = static_cast<std::uint64_t>(c - 'a' + 10);
        } else {
            return std::nullopt;
        }
        id = id * 16 + d;
    }
    return id;
}

} // namespace detail::storage::log_format
CRDT_END_NAMESPACE
