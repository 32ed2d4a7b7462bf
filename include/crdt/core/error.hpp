// crdt/core/error.hpp -- the library's error type for bad input from outside.
//
// Anything that reads bytes, files or messages it did not produce itself
// reports failure by throwing crdt::error, a std::system_error whose code is
// a crdt::errc in crdt::error_category(). The message names the cause and
// where it happened (field, byte offset, file). crdt::errc is open: new
// causes may be added in later versions, so do not switch over it
// exhaustively without a default.
//
// Programming errors (broken preconditions) are not reported this way; they
// trip CRDT_ASSERT (crdt/core/config.hpp).
//
// Thread safety: error_category() returns a function-local static; all
// members are const and safe to use from any thread.
#pragma once

#include <crdt/core/config.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <system_error>

CRDT_BEGIN_NAMESPACE

/// The causes of a crdt::error. Values are stable across versions (they may
/// be stored in logs); zero is never used, so an `errc{}` means "no error".
enum class errc : int {
    truncated = 1,           ///< input ended before a complete value was read
    overlong_varint = 2,     ///< a LEB128 varint longer than its type allows
    length_out_of_range = 3, ///< a length prefix points past the end of the input
    invalid_utf8 = 4,        ///< text that is not valid UTF-8
    bad_magic = 5,           ///< a file or message does not start with the expected magic
    unsupported_version = 6, ///< a format version this build cannot read
    checksum_mismatch = 7,   ///< stored checksum differs from the computed one
    causality_gap = 8,       ///< an operation whose causal predecessors are missing
    clock_skew = 9,          ///< a remote timestamp too far ahead of the local clock
    invalid_value = 10,      ///< a field holds a value outside its domain
    trailing_bytes = 11,     ///< bytes left over after a complete value
    io_error = 12,           ///< the operating system reported a failure
    conflict = 13,           ///< a compare-and-swap lost against another writer
    not_found = 14,          ///< a required object (snapshot, key, file) does not exist
    counter_overflow = 15,   ///< a counter or clock would exceed its maximum
    replayed = 16,           ///< a message that was already received and applied
    too_large = 17,          ///< a message or frame above the configured maximum size
};

namespace detail {

class error_category_impl final : public std::error_category {
public:
    const char* name() const noexcept override { return "crdt"; }

    std::string message(int value) const override {
        switch (static_cast<errc>(value)) {
        case errc::truncated: return "input truncated";
        case errc::overlong_varint: return "overlong varint";
        case errc::length_out_of_range: return "length out of range";
        case errc::invalid_utf8: return "invalid UTF-8";
        case errc::bad_magic: return "bad magic number";
        case errc::unsupported_version: return "unsupported format version";
        case errc::checksum_mismatch: return "checksum mismatch";
        case errc::causality_gap: return "causality gap";
        case errc::clock_skew: return "clock skew too large";
        case errc::invalid_value: return "invalid value";
        case errc::trailing_bytes: return "trailing bytes after value";
        case errc::io_error: return "I/O error";
        case errc::conflict: return "conflicting concurrent update";
        case errc::not_found: return "not found";
        case errc::counter_overflow: return "counter overflow";
        case errc::replayed: return "message replayed";
        case errc::too_large: return "message too large";
        }
        return "unknown crdt error";
    }
};

} // namespace detail

/// Returns: the category of every crdt::errc.
/// Throws: nothing.
inline const std::error_category& error_category() noexcept {
    static const detail::error_category_impl category;
    return category;
}

/// Returns: `std::error_code(static_cast<int>(e), error_category())`.
inline std::error_code make_error_code(errc e) noexcept {
    return {static_cast<int>(e), error_category()};
}

/// The exception thrown for bad input from outside the process.
///
/// `code()` is a crdt::errc; `what()` is "<context>: <cause>", where the
/// context names the field, byte offset or file. `offset()` is the byte
/// offset into the input being decoded, when there is one.
class error : public std::system_error {
public:
    /// Effects: constructs an error with cause `e` and a context message.
    error(errc e, const std::string& context) : std::system_error(make_error_code(e), context) {}

    /// Effects: constructs an error with cause `e` at byte `offset` of the
    /// input; the offset is appended to the message as " (at byte N)".
    error(errc e, const std::string& context, std::size_t offset)
        : std::system_error(make_error_code(e),
                            context + " (at byte " + std::to_string(offset) + ")"),
          offset_(offset) {}

    /// Returns: the cause as a crdt::errc.
    errc cause() const noexcept { return static_cast<errc>(code().value()); }

    /// Returns: the byte offset into the decoded input, if the error has one.
    std::optional<std::size_t> offset() const noexcept { return offset_; }

private:
    std::optional<std::size_t> offset_;
};

CRDT_END_NAMESPACE

template <>
struct std::is_error_code_enum<crdt::errc> : std::true_type {};
