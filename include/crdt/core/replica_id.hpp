// crdt/core/replica_id.hpp -- identifiers of replicas.
//
// Three models of `replica_identifier` (crdt/core/concepts.hpp), picked by a
// family's policy (`using replica_id = ...` in its *_defaults struct):
//   replica_id     64 bits; small, fast; `random()` draws one. The default.
//   replica_id128  128 random bits, for fleets large enough that 64-bit
//                  random ids might collide (birthday bound ~2^32 replicas).
//   agent_id       a UTF-8 agent name ("alice", "laptop-2"), ordered byte-wise,
//                  as Yjs/diamond-types conformance data names agents.
// All three are totally ordered, hashable and encodable; ties between
// concurrent operations are broken by this order, identically everywhere.
//
// Thread safety: values. `random()` uses std::random_device per call.
#pragma once

#include <crdt/codec/codec.hpp>
#include <crdt/codec/utf8.hpp>
#include <crdt/core/config.hpp>
#include <crdt/core/error.hpp>
#include <crdt/detail/hash.hpp>

#include <compare>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <random>
#include <string>
#include <string_view>

CRDT_BEGIN_NAMESPACE

namespace detail {
inline std::uint64_t random_u64() {
    std::random_device rd;
    return (static_cast<std::uint64_t>(rd()) << 32) ^ static_cast<std::uint64_t>(rd());
}

constexpr char hex_digit(unsigned v) noexcept {
    return static_cast<char>(v < 10 ? '0' + v : 'a' + (v - 10));
}

constexpr std::optional<unsigned> hex_value(char c) noexcept {
    if (c >= '0' && c <= '9') {
        return static_cast<unsigned>(c - '0');
    }
    if (c >= 'a' && c <= 'f') {
        return static_cast<unsigned>(c - 'a' + 10);
    }
    if (c >= 'A' && c <= 'F') {
        return static_cast<unsigned>(c - 'A' + 10);
    }
    return std::nullopt;
}

inline void append_hex(std::string& out, std::uint64_t v) {
    for (int shift = 60; shift >= 0; shift -= 4) {
        out.push_back(hex_digit(static_cast<unsigned>((v >> shift) & 0xf)));
    }
}

/// Parses exactly 16 hex digits; throws crdt::error naming `what` otherwise.
inline std::uint64_t parse_hex64(std::string_view s, std::string_view what) {
    std::uint64_t v = 0;
    for (std::size_t i = 0; i < s.size(); ++i) {
        auto d = hex_value(s[i]);
        if (!d) {
            throw error(errc::invalid_value, std::string("parsing ") + std::string(what) +
                                                 ": character " + std::to_string(i) +
                                                 " is not a hex digit");
        }
        v = (v << 4) | *d;
    }
    return v;
}
} // namespace detail

/// A 64-bit replica identifier; the default.
class replica_id {
public:
    /// Effects: the id 0 (valid, but `random()` ids are what replicas should use).
    constexpr replica_id() noexcept = default;
    /// Effects: the id with the given numeric value.
    constexpr explicit replica_id(std::uint64_t value) noexcept : value_(value) {}

    /// Returns: a fresh id drawn from std::random_device.
    static replica_id random() { return replica_id(detail::random_u64()); }

    /// Returns: an id from 16 hex digits, as `to_string()` writes.
    /// Throws: crdt::error(errc::invalid_value) on any other text.
    static replica_id parse(std::string_view text) {
        if (text.size() != 16) {
            throw error(errc::invalid_value, "parsing replica_id: expected 16 hex digits, got " +
                                                 std::to_string(text.size()) + " characters");
        }
        return replica_id(detail::parse_hex64(text, "replica_id"));
    }

    /// Returns: the numeric value.
    constexpr std::uint64_t value() const noexcept { return value_; }

    /// Returns: 16 lowercase hex digits.
    std::string to_string() const {
        std::string s;
        s.reserve(16);
        detail::append_hex(s, value_);
        return s;
    }

    friend constexpr auto operator<=>(const replica_id&, const replica_id&) noexcept = default;

private:
    std::uint64_t value_ = 0;
};

/// A 128-bit replica identifier, for ids drawn at random across huge fleets.
class replica_id128 {
public:
    constexpr replica_id128() noexcept = default;
    /// Effects: the id whose high and low 64 bits are given.
    constexpr replica_id128(std::uint64_t high, std::uint64_t low) noexcept : hi_(high), lo_(low) {}

    /// Returns: a fresh id drawn from std::random_device.
    static replica_id128 random() { return {detail::random_u64(), detail::random_u64()}; }

    /// Returns: an id from 32 hex digits, as `to_string()` writes.
    /// Throws: crdt::error(errc::invalid_value) on any other text.
    static replica_id128 parse(std::string_view text) {
        if (text.size() != 32) {
            throw error(errc::invalid_value, "parsing replica_id128: expected 32 hex digits, got " +
                                                 std::to_string(text.size()) + " characters");
        }
        return {detail::parse_hex64(text.substr(0, 16), "replica_id128"),
                detail::parse_hex64(text.substr(16), "replica_id128")};
    }

    constexpr std::uint64_t high() const noexcept { return hi_; }
    constexpr std::uint64_t low() const noexcept { return lo_; }

    /// Returns: 32 lowercase hex digits, high half first.
    std::string to_string() const {
        std::string s;
        s.reserve(32);
        detail::append_hex(s, hi_);
        detail::append_hex(s, lo_);
        return s;
    }

    friend constexpr auto operator<=>(const replica_id128&,
                                      const replica_id128&) noexcept = default;

private:
    std::uint64_t hi_ = 0;
    std::uint64_t lo_ = 0;
};

/// A replica named by a UTF-8 string, ordered byte-wise (so "A" < "a" < "b").
class agent_id {
public:
    /// The longest name accepted, in bytes.
    static constexpr std::size_t max_length = 255;

    /// Effects: the empty name.
    agent_id() = default;

    /// Effects: the agent named `name`.
    /// Throws: crdt::error(errc::invalid_utf8) if `name` is not UTF-8,
    ///   crdt::error(errc::invalid_value) if it is longer than `max_length`.
    explicit agent_id(std::string_view name) : name_(validate(name)) {}

    /// Returns: the name.
    const std::string& name() const noexcept { return name_; }
    /// Returns: the name (for symmetry with the other ids).
    const std::string& to_string() const noexcept { return name_; }

    friend bool operator==(const agent_id&, const agent_id&) = default;
    friend std::strong_ordering operator<=>(const agent_id& a, const agent_id& b) noexcept {
        // std::string compares as unsigned char via char_traits<char>::compare,
        // which is memcmp: byte-wise, independent of the signedness of char.
        const int c = a.name_.compare(b.name_);
        return c < 0 ? std::strong_ordering::less
                     : (c > 0 ? std::strong_ordering::greater : std::strong_ordering::equal);
    }

private:
    static std::string validate(std::string_view name) {
        if (name.size() > max_length) {
            throw error(errc::invalid_value, "agent_id: name of " + std::to_string(name.size()) +
                                                 " bytes exceeds the maximum of 255");
        }
        if (auto bad = utf8::find_invalid(name)) {
            throw error(errc::invalid_utf8,
                        "agent_id: byte " + std::to_string(*bad) + " of the name is not UTF-8");
        }
        return std::string(name);
    }

    std::string name_;
};

// Encodings: replica_id as 8 little-endian bytes, replica_id128 as 16 (high
// half first), agent_id as a length-prefixed UTF-8 string.
template <>
struct codec<replica_id> {
    static void encode(byte_writer& w, replica_id id) { w.fixed(id.value()); }
    static replica_id decode(byte_reader& r) { return replica_id(r.fixed<std::uint64_t>()); }
};

template <>
struct codec<replica_id128> {
    static void encode(byte_writer& w, const replica_id128& id) {
        w.fixed(id.high());
        w.fixed(id.low());
    }
    static replica_id128 decode(byte_reader& r) {
        const auto hi = r.fixed<std::uint64_t>();
        const auto lo = r.fixed<std::uint64_t>();
        return {hi, lo};
    }
};

template <>
struct codec<agent_id> {
    static void encode(byte_writer& w, const agent_id& id) { w.string(id.name()); }
    static agent_id decode(byte_reader& r) {
        const std::size_t at = r.offset();
        const std::string_view name = r.string();
        if (name.size() > agent_id::max_length) {
            r.fail_at(errc::invalid_value, "agent_id (longer than 255 bytes)", at);
        }
        return agent_id(name);
    }
};

CRDT_END_NAMESPACE

template <>
struct std::hash<crdt::replica_id> {
    std::size_t operator()(crdt::replica_id id) const noexcept {
        return static_cast<std::size_t>(crdt::detail::mix64(id.value()));
    }
};

template <>
struct std::hash<crdt::replica_id128> {
    std::size_t operator()(const crdt::replica_id128& id) const noexcept {
        return static_cast<std::size_t>(
            crdt::detail::mix64(id.high() ^ crdt::detail::mix64(id.low())));
    }
};

template <>
struct std::hash<crdt::agent_id> {
    std::size_t operator()(const crdt::agent_id& id) const noexcept {
        return std::hash<std::string>{}(id.name());
    }
};
