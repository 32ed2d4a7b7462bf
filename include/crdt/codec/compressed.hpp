// crdt/codec/compressed.hpp -- DEFLATE (zlib) compression of encodings: the
// compact form of a document's whole history for files, archives and
// catch-up.
//
//   const auto bytes = crdt::encode_compressed(doc.delta_since({}));
//   auto history = crdt::decode_compressed<crdt::text::delta_type>(bytes);
//
// automerge-paper's full history is 270,176 bytes encoded and 98,368 bytes
// compressed at the default level (97,660 at level 9; docs/benchmarks.md):
// the run-length op rows and the inserted text compress together. Automerge deflates its
// columns the same way; diamond-types compresses its text with LZ4.
//
// Format of compress() (and so of encode_compressed):
//
//   compressed := 0xC7 version(1) plain_size(varint) zlib_stream
//
// where zlib_stream is RFC 1950 (a DEFLATE stream with its Adler-32 checksum
// of the plain bytes) and nothing follows it.
//
// Needs zlib: link the CMake target crdt::zlib (CRDT_WITH_ZLIB, on by
// default; Debian package zlib1g-dev). The rest of crdt never includes this
// header.
//
// Complexity: linear in the bytes. Thread safety: pure functions.
// Exception safety: strong (the results are new values). Decompressing
// untrusted bytes throws crdt::error naming the cause and the byte offset:
// truncated (the input ends early), bad_magic, unsupported_version,
// overlong_varint, too_large (the declared plain size is above the caller's
// limit), length_out_of_range (it is above what the input can inflate to, or
// the stream inflates to another size), invalid_value (corrupt DEFLATE data,
// a preset dictionary), checksum_mismatch (the Adler-32 check fails),
// trailing_bytes (bytes after the stream). Memory: the output buffer grows
// as the stream inflates, each step allocated exactly, and is never larger
// than the declared size, nor than max(4x the input, 4 KiB) or twice what
// has inflated so far plus the input's size; while it grows, the old and
// the new buffer are both held for the copy.
#pragma once

#if !__has_include(<zlib.h>)
#error "crdt/codec/compressed.hpp needs zlib (link crdt::zlib; Debian: zlib1g-dev)"
#endif

#include <crdt/codec/codec.hpp>
#include <crdt/codec/reader.hpp>
#include <crdt/codec/writer.hpp>
#include <crdt/core/config.hpp>
#include <crdt/core/error.hpp>

#include <zlib.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <new>
#include <span>
#include <string>
#include <string_view>
#include <vector>

CRDT_BEGIN_NAMESPACE

/// The first byte of a compressed encoding.
inline constexpr std::byte compressed_magic{0xC7};
/// The format version compress() writes and decompress() reads.
inline constexpr std::uint8_t compressed_version = 1;
/// decompress()'s default limit on the plain size: 1 GiB.
inline constexpr std::size_t default_max_plain_bytes = std::size_t{1} << 30;

namespace detail::zlib {

/// zlib's lengths are 32-bit: inputs and outputs go through in chunks.
inline constexpr std::size_t max_chunk = std::size_t{1} << 30;
/// DEFLATE expands at most 1032:1 (a 258-byte match per ~2 bits), plus the
/// zlib header and checksum.
inline constexpr std::uint64_t max_ratio = 1032;

inline uInt chunk(std::size_t n) noexcept {
    return static_cast<uInt>(std::min(n, max_chunk));
}

/// RAII for a z_stream set up for deflate or inflate.
class stream {
public:
    explicit stream(bool deflating) noexcept : deflating_(deflating) {}
    stream(const stream&) = delete;
    stream& operator=(const stream&) = delete;
    ~stream() {
        if (live_) {
            deflating_ ? deflateEnd(&z) : inflateEnd(&z);
        }
    }
    /// Effects: records whether the init call succeeded (so the destructor
    ///   ends the stream); throws std::bad_alloc when zlib ran out of memory.
    void started(int rc, const char* what) {
        if (rc == Z_MEM_ERROR) {
            throw std::bad_alloc();
        }
        if (rc != Z_OK) {
            throw error(errc::invalid_value,
                        std::string(what) + ": zlib failed to start (" + std::to_string(rc) + ")");
        }
        live_ = true;
    }
    z_stream z{};

private:
    bool deflating_;
    bool live_ = false;
};

} // namespace detail::zlib

/// Returns: `plain` compressed (the format in the file comment).
/// Throws: crdt::error(invalid_value) if `level` is not in [0, 9];
///   std::bad_alloc.
/// Complexity: O(n).
[[nodiscard]] inline std::vector<std::byte> compress(std::span<const std::byte> plain,
                                                     int level = Z_DEFAULT_COMPRESSION) {
    if (level != Z_DEFAULT_COMPRESSION && (level < 0 || level > 9)) {
        throw error(errc::invalid_value,
                    "compress: level " + std::to_string(level) + " is not in [0, 9]");
    }
    byte_writer head;
    head.byte(std::to_integer<std::uint8_t>(compressed_magic));
    head.byte(compressed_version);
    head.varint(plain.size());
    std::vector<std::byte> out = head.take();
    const std::size_t header = out.size();

    detail::zlib::stream s(true);
    s.started(deflateInit(&s.z, level), "compress");
    // deflateBound covers the whole output when the input goes in at once;
    // larger inputs grow the buffer as they go.
    out.resize(header + deflateBound(&s.z, static_cast<uLong>(std::min<std::size_t>(
                                               plain.size(), detail::zlib::max_chunk))));
    std::size_t in_pos = 0;
    std::size_t out_pos = header;
    for (;;) {
        if (out_pos == out.size()) {
            out.resize(out.size() + std::max<std::size_t>(out.size() / 2, 4096));
        }
        const std::size_t in_left = plain.size() - in_pos;
        s.z.next_in = reinterpret_cast<Bytef*>(const_cast<std::byte*>(plain.data() + in_pos));
        s.z.avail_in = detail::zlib::chunk(in_left);
        s.z.next_out = reinterpret_cast<Bytef*>(out.data() + out_pos);
        s.z.avail_out = detail::zlib::chunk(out.size() - out_pos);
        const uInt in_given = s.z.avail_in;
        const uInt out_given = s.z.avail_out;
        const bool last = in_given == in_left;
        const int rc = deflate(&s.z, last ? Z_FINISH : Z_NO_FLUSH);
        in_pos += in_given - s.z.avail_in;
        out_pos += out_given - s.z.avail_out;
        if (rc == Z_STREAM_END) {
            break;
        }
        if (rc != Z_OK && rc != Z_BUF_ERROR) {
            throw error(errc::invalid_value,
                        "compress: zlib deflate failed (" + std::to_string(rc) + ")");
        }
    }
    out.resize(out_pos);
    return out;
}

/// Returns: the plain bytes of `bytes` (made by compress()); `what` names
///   the input in error messages.
/// Throws: crdt::error as listed in the file comment: too_large when the
///   declared plain size exceeds `max_plain_bytes`; std::bad_alloc.
/// Complexity: O(n) in the plain size.
[[nodiscard]] inline std::vector<std::byte>
decompress(std::span<const std::byte> bytes, std::size_t max_plain_bytes = default_max_plain_bytes,
           std::string_view what = "compressed") {
    byte_reader r(bytes, what);
    const std::string name(what);
    if (r.empty()) {
        throw error(errc::truncated, name + ": empty input, no compressed header", 0);
    }
    if (r.byte() != std::to_integer<std::uint8_t>(compressed_magic)) {
        throw error(errc::bad_magic, name + ": not a compressed encoding (first byte)", 0);
    }
    const std::uint8_t version = r.byte();
    if (version != compressed_version) {
        throw error(errc::unsupported_version,
                    name + ": compressed format version " + std::to_string(version) +
                        " (this build reads " + std::to_string(compressed_version) + ")",
                    1);
    }
    const std::size_t size_at = r.offset();
    const std::uint64_t declared = r.varint();
    if (declared > max_plain_bytes) {
        throw error(errc::too_large,
                    name + ": plain size " + std::to_string(declared) + " exceeds the limit of " +
                        std::to_string(max_plain_bytes) + " bytes",
                    size_at);
    }
    const std::size_t stream_at = r.offset();
    const std::span<const std::byte> in = bytes.subspan(stream_at);
    if (declared > (std::uint64_t{in.size()} + 1) * detail::zlib::max_ratio) {
        throw error(errc::length_out_of_range,
                    name + ": plain size " + std::to_string(declared) + " is more than " +
                        std::to_string(in.size()) + " compressed bytes can hold",
                    size_at);
    }
    const auto plain_size = static_cast<std::size_t>(declared);

    std::vector<std::byte> out;
    // Grow with the output actually produced (a lying size costs little),
    // each step allocated exactly: reserve before resize, so that the
    // vector's own geometric growth does not double it again.
    const auto grow_to = [&out](std::size_t n) {
        out.reserve(n);
        out.resize(n);
    };
    grow_to(std::min(plain_size, std::max<std::size_t>(in.size() * 4, 4096)));
    detail::zlib::stream s(false);
    s.started(inflateInit(&s.z), "decompress");
    std::size_t in_pos = 0;
    std::size_t out_pos = 0;
    for (;;) {
        if (out_pos == out.size() && out.size() < plain_size) {
            grow_to(std::min(plain_size, out.size() + std::max(out.size(), in.size())));
        }
        s.z.next_in = reinterpret_cast<Bytef*>(const_cast<std::byte*>(in.data() + in_pos));
        s.z.avail_in = detail::zlib::chunk(in.size() - in_pos);
        // One spare byte past the declared size tells "inflates to more".
        std::byte spare{};
        const bool full = out_pos == out.size();
        s.z.next_out = reinterpret_cast<Bytef*>(full ? &spare : out.data() + out_pos);
        s.z.avail_out = full ? 1u : detail::zlib::chunk(out.size() - out_pos);
        const uInt in_given = s.z.avail_in;
        const uInt out_given = s.z.avail_out;
        const int rc = inflate(&s.z, Z_NO_FLUSH);
        in_pos += in_given - s.z.avail_in;
        const std::size_t produced = out_given - s.z.avail_out;
        if (full && produced != 0) {
            throw error(errc::length_out_of_range,
                        name + ": the stream inflates to more than the declared " +
                            std::to_string(plain_size) + " bytes",
                        stream_at + in_pos);
        }
        if (!full) {
            out_pos += produced;
        }
        if (rc == Z_STREAM_END) {
            break;
        }
        if (rc == Z_MEM_ERROR) {
            throw std::bad_alloc();
        }
        if (rc == Z_NEED_DICT) {
            throw error(errc::invalid_value,
                        name + ": the stream needs a preset dictionary (crdt never uses one)",
                        stream_at + in_pos);
        }
        if (rc == Z_DATA_ERROR || rc == Z_STREAM_ERROR) {
            const std::string msg = s.z.msg != nullptr ? s.z.msg : "corrupt data";
            const errc cause =
                msg == "incorrect data check" ? errc::checksum_mismatch : errc::invalid_value;
            throw error(cause, name + ": " + msg, stream_at + in_pos);
        }
        if (in_pos == in.size() && produced == 0) {
            throw error(errc::truncated, name + ": the compressed stream ends early", bytes.size());
        }
    }
    if (out_pos != plain_size) {
        throw error(errc::length_out_of_range,
                    name + ": the stream inflates to " + std::to_string(out_pos) +
                        " bytes, not the declared " + std::to_string(plain_size),
                    size_at);
    }
    if (in_pos != in.size()) {
        throw error(errc::trailing_bytes,
                    name + ": " + std::to_string(in.size() - in_pos) +
                        " bytes after the compressed stream",
                    stream_at + in_pos);
    }
    out.resize(out_pos);
    return out;
}

/// Returns: compress(encode(value), level).
/// Throws: as encode and compress.
template <class T>
[[nodiscard]] std::vector<std::byte> encode_compressed(const T& value,
                                                       int level = Z_DEFAULT_COMPRESSION) {
    return compress(encode(value), level);
}

/// Returns: decode<T>(decompress(bytes, max_plain_bytes)).
/// Throws: crdt::error from decompress (offsets into `bytes`) or from
///   decode (offsets into the plain encoding, the message says so).
template <class T>
[[nodiscard]] T decode_compressed(std::span<const std::byte> bytes,
                                  std::size_t max_plain_bytes = default_max_plain_bytes,
                                  std::string_view what = "compressed") {
    const std::vector<std::byte> plain = decompress(bytes, max_plain_bytes, what);
    return decode<T>(plain, std::string(what) + " (plain encoding)");
}

CRDT_END_NAMESPACE
