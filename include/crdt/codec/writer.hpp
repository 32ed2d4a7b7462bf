// crdt/codec/writer.hpp -- byte_writer, the encoder every codec writes with.
//
// A byte_writer appends to a growable buffer it owns. It fails only by
// running out of memory (std::bad_alloc) or, in `string()`, on text that is
// not UTF-8 (crdt::error, buffer unchanged). Integers wider than one byte
// are written either as LEB128 varints (crdt/codec/varint.hpp) or as
// fixed-width little-endian, whatever the host byte order.
//
// Thread safety: a writer is a plain value; do not share one between threads
// without synchronization.
#pragma once

#include <crdt/codec/utf8.hpp>
#include <crdt/codec/varint.hpp>
#include <crdt/core/config.hpp>
#include <crdt/core/error.hpp>
#include <crdt/detail/traits.hpp>

#include <bit>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <vector>

CRDT_BEGIN_NAMESPACE

/// Appends encoded values to a buffer it owns.
class byte_writer {
public:
    byte_writer() = default;

    /// Effects: starts with an empty buffer with room for `capacity` bytes.
    explicit byte_writer(std::size_t capacity) { buf_.reserve(capacity); }

    /// Effects: appends `value` as an unsigned LEB128 varint (1 to 10 bytes).
    void varint(std::uint64_t value) {
        if (value < 0x80) {
            buf_.push_back(static_cast<std::byte>(value));
            return;
        }
        std::byte tmp[varint::max_length];
        const std::byte* first = tmp;
        const std::byte* last = varint::encode(value, tmp);
        buf_.insert(buf_.end(), first, last);
    }

    /// Effects: appends `value` zigzag-mapped, then as a varint.
    void zigzag(std::int64_t value) { varint(varint::zigzag_encode(value)); }

    /// Effects: appends `value` as `sizeof(T)` little-endian bytes.
    template <detail::fixed_width T>
    void fixed(T value) {
        using U = std::make_unsigned_t<
            std::conditional_t<std::floating_point<T>,
                               std::conditional_t<sizeof(T) == 8, std::uint64_t, std::uint32_t>,
                               std::conditional_t<std::same_as<T, bool>, std::uint8_t, T>>>;
        static_assert(sizeof(U) == sizeof(T), "crdt::byte_writer::fixed: unsupported type");
        auto bits = std::bit_cast<U>(value);
        std::byte tmp[sizeof(U)];
        for (std::size_t i = 0; i < sizeof(U); ++i) {
            tmp[i] = static_cast<std::byte>(bits & 0xffu);
            if constexpr (sizeof(U) > 1) {
                bits = static_cast<U>(bits >> 8);
            }
        }
        const std::byte* first = tmp;
        buf_.insert(buf_.end(), first, first + sizeof(U));
    }

    /// Effects: appends one byte.
    void byte(std::uint8_t value) { buf_.push_back(static_cast<std::byte>(value)); }

    /// Effects: appends `data` as is, with no length prefix.
    void raw(std::span<const std::byte> data) { buf_.insert(buf_.end(), data.begin(), data.end()); }

    /// Effects: appends `data.size()` as a varint, then the bytes.
    void bytes(std::span<const std::byte> data) {
        varint(data.size());
        raw(data);
    }

    /// Effects: appends `text.size()` (in bytes) as a varint, then its UTF-8 bytes.
    /// Throws: crdt::error(errc::invalid_utf8) if `text` is not valid UTF-8;
    ///   the buffer is then unchanged.
    void string(std::string_view text) {
        if (auto bad = utf8::find_invalid(text)) {
            throw error(errc::invalid_utf8, "encoding string: byte " + std::to_string(*bad) +
                                                " of the string is not valid UTF-8");
        }
        varint(text.size());
        raw(std::as_bytes(std::span<const char>(text.data(), text.size())));
    }

    /// Returns: the bytes written so far. Invalidated by the next write.
    std::span<const std::byte> view() const noexcept { return buf_; }

    /// Returns: the number of bytes written so far.
    std::size_t size() const noexcept { return buf_.size(); }

    /// Effects: reserves room for `n` more bytes.
    void reserve(std::size_t n) { buf_.reserve(buf_.size() + n); }

    /// Effects: discards everything written; keeps the capacity.
    void clear() noexcept { buf_.clear(); }

    /// Returns: the buffer, moved out; the writer is left empty.
    std::vector<std::byte> take() noexcept { return std::move(buf_); }

private:
    std::vector<std::byte> buf_;
};

CRDT_END_NAMESPACE
