// crdt/codec/reader.hpp -- byte_reader, the bounded decoder every codec reads with.
//
// A byte_reader reads from a `std::span<const std::byte>` it does not own and
// never reads past its end. Every failure throws crdt::error with a
// crdt::errc, the name of what was being decoded and the byte offset at which
// the bad value starts:
//   truncated            the input ends inside a value;
//   overlong_varint      a varint of more than 10 bytes, above 2^64-1, above
//                        the range of the requested type, or not minimal;
//   length_out_of_range  a length or count prefix larger than what remains;
//   invalid_utf8         text that is not valid UTF-8;
//   invalid_value        a field outside its domain (e.g. a bool byte of 2);
//   trailing_bytes       `expect_end()` found unread bytes.
//
// Thread safety: a reader is a plain value over borrowed bytes; the bytes
// must outlive it and must not change while it reads.
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
#include <limits>
#include <span>
#include <string>
#include <string_view>

CRDT_BEGIN_NAMESPACE

/// Reads encoded values from borrowed bytes, checking every bound.
class byte_reader {
public:
    /// Effects: reads from `input`; `what` names the input in error messages
    ///   (e.g. "version_vector" or a file name). `what` must outlive the reader.
    explicit byte_reader(std::span<const std::byte> input, std::string_view what = "input") noexcept
        : first_(input.data()), pos_(input.data()), last_(input.data() + input.size()),
          what_(what) {}

    /// Returns: bytes consumed so far.
    std::size_t offset() const noexcept { return static_cast<std::size_t>(pos_ - first_); }

    /// Returns: bytes not yet consumed.
    std::size_t remaining() const noexcept { return static_cast<std::size_t>(last_ - pos_); }

    /// Returns: whether every byte has been consumed.
    bool empty() const noexcept { return pos_ == last_; }

    /// Returns: the name given at construction.
    std::string_view what() const noexcept { return what_; }

    /// Returns: the next unsigned LEB128 varint.
    /// Throws: crdt::error (truncated, overlong_varint).
    std::uint64_t varint() { return read_varint("varint"); }

    /// Returns: the next varint, checked to fit in `T`.
    /// Throws: crdt::error (truncated, overlong_varint if it does not fit),
    ///   naming `field`.
    template <std::unsigned_integral T>
    T varint_as(std::string_view field = "varint") {
        const std::size_t start = offset();
        const std::uint64_t v = read_varint(field);
        if (v > std::numeric_limits<T>::max()) {
            throw error(errc::overlong_varint,
                        context(field) + ": value " + std::to_string(v) + " out of range", start);
        }
        return static_cast<T>(v);
    }

    /// Returns: the next zigzag varint as a signed value.
    std::int64_t zigzag() { return varint::zigzag_decode(varint()); }

    /// Returns: the next zigzag varint, checked to fit in `T`.
    /// Throws: crdt::error (truncated, overlong_varint if it does not fit),
    ///   naming `field`.
    template <std::signed_integral T>
    T zigzag_as(std::string_view field = "varint") {
        const std::size_t start = offset();
        const std::int64_t v = varint::zigzag_decode(read_varint(field));
        if (v < std::numeric_limits<T>::min() || v > std::numeric_limits<T>::max()) {
            throw error(errc::overlong_varint,
                        context(field) + ": value " + std::to_string(v) + " out of range", start);
        }
        return static_cast<T>(v);
    }

    /// Returns: the next `sizeof(T)` bytes as a little-endian value.
    /// Throws: crdt::error(truncated); for `bool`, crdt::error(invalid_value)
    ///   if the byte is neither 0 nor 1.
    template <detail::fixed_width T>
    T fixed() {
        using U = std::make_unsigned_t<
            std::conditional_t<std::floating_point<T>,
                               std::conditional_t<sizeof(T) == 8, std::uint64_t, std::uint32_t>,
                               std::conditional_t<std::same_as<T, bool>, std::uint8_t, T>>>;
        static_assert(sizeof(U) == sizeof(T), "crdt::byte_reader::fixed: unsupported type");
        need(sizeof(U), "fixed-width value");
        U bits = 0;
        for (std::size_t i = 0; i < sizeof(U); ++i) {
            bits = static_cast<U>(bits |
                                  (static_cast<U>(static_cast<std::uint8_t>(pos_[i])) << (8 * i)));
        }
        if constexpr (std::same_as<T, bool>) {
            // Any other byte is not a bool's value representation.
            if (bits > 1) {
                fail(errc::invalid_value, "fixed-width bool (must be 0 or 1)");
            }
        }
        pos_ += sizeof(U);
        return std::bit_cast<T>(bits);
    }

    /// Returns: the next byte.
    std::uint8_t byte() {
        need(1, "byte");
        return static_cast<std::uint8_t>(*pos_++);
    }

    /// Returns: the next `n` bytes, borrowed from the input.
    /// Throws: crdt::error(truncated) if fewer than `n` remain.
    std::span<const std::byte> raw(std::size_t n) {
        need(n, "raw bytes");
        std::span<const std::byte> out(pos_, n);
        pos_ += n;
        return out;
    }

    /// Returns: a varint length `n`, then the `n` bytes after it, borrowed.
    /// Throws: crdt::error (truncated, overlong_varint, length_out_of_range).
    std::span<const std::byte> bytes() {
        const std::size_t n = length("byte string length");
        std::span<const std::byte> out(pos_, n);
        pos_ += n;
        return out;
    }

    /// Returns: a length-prefixed UTF-8 string, borrowed from the input.
    /// Throws: crdt::error (truncated, overlong_varint, length_out_of_range,
    ///   invalid_utf8).
    std::string_view string() {
        const std::size_t n = length("string length");
        std::string_view text(reinterpret_cast<const char*>(pos_), n);
        if (auto bad = utf8::find_invalid(text)) {
            throw error(errc::invalid_utf8, context("string") + ": invalid UTF-8", offset() + *bad);
        }
        pos_ += n;
        return text;
    }

    /// Returns: a varint count or length, checked to be at most `remaining()`
    ///   after it. Use it for element counts before allocating: every codec
    ///   writes at least one byte per element, so a larger count is corrupt.
    /// Throws: crdt::error (truncated, overlong_varint, length_out_of_range).
    std::size_t length(std::string_view field = "length") {
        const std::size_t start = offset();
        const std::uint64_t n = read_varint(field);
        if (n > remaining()) {
            throw error(errc::length_out_of_range,
                        context(field) + ": " + std::to_string(n) + " but only " +
                            std::to_string(remaining()) + " bytes remain",
                        start);
        }
        return static_cast<std::size_t>(n);
    }

    /// Effects: checks that every byte has been consumed.
    /// Throws: crdt::error(trailing_bytes) otherwise.
    void expect_end() const {
        if (!empty()) {
            throw error(errc::trailing_bytes,
                        context("end") + ": " + std::to_string(remaining()) + " unread bytes",
                        offset());
        }
    }

    /// Effects: throws crdt::error(`cause`) naming `field` at the current offset.
    [[noreturn]] void fail(errc cause, std::string_view field) const {
        throw error(cause, context(field), offset());
    }

    /// Effects: throws crdt::error(`cause`) naming `field` at byte `at`.
    [[noreturn]] void fail_at(errc cause, std::string_view field, std::size_t at) const {
        throw error(cause, context(field), at);
    }

private:
    // Reads a varint; on failure the error names `field` and the offset
    // where the varint starts.
    std::uint64_t read_varint(std::string_view field) {
        const std::byte* start = pos_;
        std::uint64_t value = 0;
        switch (varint::decode(pos_, last_, value)) {
        case varint::decode_status::ok: return value;
        case varint::decode_status::truncated: pos_ = start; fail(errc::truncated, field);
        case varint::decode_status::overlong: pos_ = start; fail(errc::overlong_varint, field);
        }
        fail(errc::invalid_value, field); // not reached
    }

    void need(std::size_t n, std::string_view field) const {
        if (remaining() < n) {
            fail(errc::truncated, field);
        }
    }

    std::string context(std::string_view field) const {
        std::string s = "decoding ";
        s += what_;
        s += ": ";
        s += field;
        return s;
    }

    const std::byte* first_;
    const std::byte* pos_;
    const std::byte* last_;
    std::string_view what_;
};

CRDT_END_NAMESPACE
