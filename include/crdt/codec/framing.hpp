// crdt/codec/framing.hpp -- length + CRC32C + type framed records.
//
// A frame is a 9-byte header followed by the payload:
//
//   offset 0  u32 little-endian  payload length
//   offset 4  u32 little-endian  masked CRC-32C over (seed, bytes 0..3, byte 8,
//                                payload): mask(crc32c(length ++ type ++ payload,
//                                seed))
//   offset 8  u8                 record type, 1..255 (0 is never valid, so a
//                                zero-filled region never parses as a frame)
//   offset 9  payload
//
// The CRC is masked as LevelDB does (rotate right by 15, add 0xa282ead8) so
// that a CRC over bytes that themselves contain CRCs stays strong. The
// optional `seed` mixes a per-file salt into every checksum: frames copied
// from another file (or left over in a reused one) do not validate.
//
// Users: the log storage adapter (crdt/storage/log_storage.hpp) and message
// framing on byte streams. parse_frame() never throws and tells a complete
// frame from an incomplete one (read more bytes) and a corrupt one;
// frame_reader throws crdt::error with the offset.
//
// Complexity: linear in the payload. Thread safety: pure functions and a
// reader over borrowed bytes. Exception safety: append_frame is strong
// (std::bad_alloc); parse_frame is noexcept.
#pragma once

#include <crdt/codec/crc32c.hpp>
#include <crdt/core/config.hpp>
#include <crdt/core/error.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

CRDT_BEGIN_NAMESPACE

/// Size of a frame header in bytes.
inline constexpr std::size_t frame_header_size = 9;

/// Largest payload a frame may carry (1 GiB); longer lengths are corrupt.
inline constexpr std::size_t frame_max_payload = std::size_t{1} << 30;

/// Returns: `crc` masked for storage (LevelDB's mask).
constexpr std::uint32_t mask_crc(std::uint32_t crc) noexcept {
    return ((crc >> 15) | (crc << 17)) + 0xa282ead8u;
}

/// Returns: the CRC a masked value came from.
constexpr std::uint32_t unmask_crc(std::uint32_t masked) noexcept {
    const std::uint32_t rot = masked - 0xa282ead8u;
    return (rot >> 17) | (rot << 15);
}

namespace detail::framing {

inline void put_u32(std::byte* p, std::uint32_t v) noexcept {
    for (int i = 0; i < 4; ++i) {
        p[i] = static_cast<std::byte>((v >> (8 * i)) & 0xffu);
    }
}

inline std::uint32_t get_u32(const std::byte* p) noexcept {
    std::uint32_t v = 0;
    for (int i = 0; i < 4; ++i) {
        v |= static_cast<std::uint32_t>(p[i]) << (8 * i);
    }
    return v;
}

inline std::uint32_t frame_crc(const std::byte* length_le, std::uint8_t type,
                               std::span<const std::byte> payload, std::uint32_t seed) noexcept {
    std::uint32_t crc = ::crdt::crc32c(std::span<const std::byte>(length_le, 4), seed);
    const std::byte t = static_cast<std::byte>(type);
    crc = ::crdt::crc32c(std::span<const std::byte>(&t, 1), crc);
    return mask_crc(::crdt::crc32c(payload, crc));
}

} // namespace detail::framing

/// Requires: `type != 0`, `payload_size <= frame_max_payload`, and `frame`
///   points to frame_header_size bytes followed by the payload.
/// Effects: writes the frame header (length, CRC, type) in front of a
///   payload already in place, so a caller can build a frame without copying
///   its payload twice.
/// Complexity: linear in the payload.
inline void seal_frame(std::byte* frame, std::uint8_t type, std::size_t payload_size,
                       std::uint32_t seed = 0) noexcept {
    CRDT_ASSERT(type != 0);
    CRDT_ASSERT(payload_size <= frame_max_payload);
    detail::framing::put_u32(frame, static_cast<std::uint32_t>(payload_size));
    frame[8] = static_cast<std::byte>(type);
    detail::framing::put_u32(
        frame + 4, detail::framing::frame_crc(
                       frame, type,
                       std::span<const std::byte>(frame + frame_header_size, payload_size), seed));
}

/// Requires: `type != 0`, `payload.size() <= frame_max_payload`.
/// Effects: appends one frame carrying `payload` to `out`.
/// Complexity: linear in the payload.
inline void append_frame(std::vector<std::byte>& out, std::uint8_t type,
                         std::span<const std::byte> payload, std::uint32_t seed = 0) {
    CRDT_ASSERT(type != 0);
    CRDT_ASSERT(payload.size() <= frame_max_payload);
    const std::size_t start = out.size();
    const std::size_t need = start + frame_header_size + payload.size();
    if (out.capacity() < need) { // the only step that may throw
        out.reserve(std::max(need, 2 * out.capacity()));
    }
    out.resize(start + frame_header_size);
    out.insert(out.end(), payload.begin(), payload.end());
    seal_frame(out.data() + start, type, payload.size(), seed);
}

/// Returns: the frame carrying `payload`, as a new vector.
inline std::vector<std::byte> make_frame(std::uint8_t type, std::span<const std::byte> payload,
                                         std::uint32_t seed = 0) {
    std::vector<std::byte> out;
    out.reserve(frame_header_size + payload.size());
    append_frame(out, type, payload, seed);
    return out;
}

/// A frame parsed in place: `payload` points into the parsed input.
struct frame_view {
    std::uint8_t type = 0;
    std::span<const std::byte> payload;
    /// Header plus payload: the offset of the next frame.
    std::size_t size() const noexcept { return frame_header_size + payload.size(); }
};

/// What parse_frame() found at the start of its input.
enum class frame_status {
    ok,         ///< a complete, valid frame
    incomplete, ///< the input ends inside the frame (header or payload)
    corrupt,    ///< type 0, a length above the limit, or a checksum mismatch
};

/// Effects: parses the frame at the start of `input` into `out` (only when
///   the result is ok). `max_payload` bounds the accepted length.
/// Returns: ok, incomplete or corrupt (see frame_status).
/// Throws: nothing. Complexity: linear in the frame.
inline frame_status parse_frame(std::span<const std::byte> input, frame_view& out,
                                std::uint32_t seed = 0,
                                std::size_t max_payload = frame_max_payload) noexcept {
    if (input.size() < frame_header_size) {
        return frame_status::incomplete;
    }
    const std::byte* h = input.data();
    const std::size_t length = detail::framing::get_u32(h);
    const auto type = static_cast<std::uint8_t>(h[8]);
    if (type == 0 || length > max_payload) {
        return frame_status::corrupt;
    }
    if (input.size() - frame_header_size < length) {
        return frame_status::incomplete;
    }
    const auto payload = input.subspan(frame_header_size, length);
    if (detail::framing::frame_crc(h, type, payload, seed) != detail::framing::get_u32(h + 4)) {
        return frame_status::corrupt;
    }
    out.type = type;
    out.payload = payload;
    return frame_status::ok;
}

/// Reads consecutive frames from borrowed bytes, throwing on bad ones.
class frame_reader {
public:
    /// Effects: reads from `input`; `what` (e.g. a file name) names it in
    ///   errors and must outlive the reader.
    explicit frame_reader(std::span<const std::byte> input, std::string_view what = "frames",
                          std::uint32_t seed = 0) noexcept
        : input_(input), what_(what), seed_(seed) {}

    /// Returns: the next frame, or nullopt at the end of the input.
    /// Throws: crdt::error with the frame's offset: truncated when the input
    ///   ends inside a frame, checksum_mismatch for a bad checksum,
    ///   invalid_value for type 0, length_out_of_range for an oversized length.
    std::optional<frame_view> next() {
        if (pos_ == input_.size()) {
            return std::nullopt;
        }
        frame_view f;
        const auto rest = input_.subspan(pos_);
        switch (parse_frame(rest, f, seed_)) {
        case frame_status::ok: pos_ += f.size(); return f;
        case frame_status::incomplete:
            throw error(errc::truncated, std::string(what_) + ": frame cut short", pos_);
        case frame_status::corrupt: break;
        }
        if (static_cast<std::uint8_t>(rest[8]) == 0) {
            throw error(errc::invalid_value, std::string(what_) + ": frame of type 0", pos_);
        }
        if (detail::framing::get_u32(rest.data()) > frame_max_payload) {
            throw error(errc::length_out_of_range, std::string(what_) + ": frame length too large",
                        pos_);
        }
        throw error(errc::checksum_mismatch, std::string(what_) + ": frame checksum mismatch",
                    pos_);
    }

    /// Returns: the offset of the next frame.
    std::size_t offset() const noexcept { return pos_; }

private:
    std::span<const std::byte> input_;
    std::string_view what_;
    std::uint32_t seed_;
    std::size_t pos_ = 0;
};

CRDT_END_NAMESPACE
