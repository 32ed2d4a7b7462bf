// crdt/sync/message.hpp -- the wire format of the sync protocol.
//
// Every message starts with a 4-byte header and the document id:
//
//   byte 0-1  magic 0x63 0x73 ("cs")
//   byte 2    protocol version (sync_protocol_version; others are rejected
//             with errc::unsupported_version)
//   byte 3    message type: 1 hello, 2 delta, 3 ack
//   string    document id (varint length + UTF-8)
//
// then, by type (varints unless stated; "bytes" = varint length + bytes):
//
//   hello  u8 flags (bit 0: reply requested), varint session, string name,
//          bytes version
//   delta  varint session, varint transfer, bytes version, u8 flags
//          (bit 0: has base), [bytes base], varint part, varint parts,
//          varint total, bytes payload
//   ack    varint session, bytes version
//
// `session` is a random id the sender draws when it starts (a restart is a
// new session); `transfer` numbers the sender's deltas within a session
// from 1. A delta's `version` is the sender's version once the delta is
// part of its state (what the receiver may assume the sender has: it needs
// no delta back for it). A delta of `total` encoded bytes travels as `parts` messages of
// consecutive slices; part numbers run from 0. Versions, bases and payloads
// are the codec encodings of the replicated type's version vector and of the
// type itself; this header does not interpret them.
//
// decode_sync_message() checks everything above (magic, version, type,
// lengths, flags, part numbering, UTF-8, no trailing bytes) and throws
// crdt::error naming the field and byte offset; it never reads past the
// input. It does not decode versions or payloads.
//
// Complexity: linear in the message. Thread safety: pure functions.
// Exception safety: strong.
#pragma once

#include <crdt/codec/reader.hpp>
#include <crdt/codec/writer.hpp>
#include <crdt/core/config.hpp>
#include <crdt/core/error.hpp>

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <variant>
#include <vector>

CRDT_BEGIN_NAMESPACE

/// The protocol version this build speaks.
inline constexpr std::uint8_t sync_protocol_version = 1;

/// "Here is my version" (and, with reply_requested, "tell me yours").
struct sync_hello {
    bool reply_requested = false;
    std::uint64_t session = 0;
    std::string name;
    std::vector<std::byte> version;
    friend bool operator==(const sync_hello&, const sync_hello&) = default;
};

/// One part of one delta.
struct sync_delta {
    std::uint64_t session = 0;
    std::uint64_t transfer = 0;
    std::vector<std::byte> version; ///< the sender's version with this delta
    bool has_base = false;
    std::vector<std::byte> base; ///< meaningful when has_base
    std::uint64_t part = 0;
    std::uint64_t parts = 1;
    std::uint64_t total = 0;
    std::vector<std::byte> payload;
    friend bool operator==(const sync_delta&, const sync_delta&) = default;
};

/// "I now have this version."
struct sync_ack {
    std::uint64_t session = 0;
    std::vector<std::byte> version;
    friend bool operator==(const sync_ack&, const sync_ack&) = default;
};

/// A decoded message: the document it is about and its body.
struct sync_message {
    std::string document;
    std::variant<sync_hello, sync_delta, sync_ack> body;
    friend bool operator==(const sync_message&, const sync_message&) = default;
};

namespace detail::sync {
inline constexpr std::byte magic0{0x63};
inline constexpr std::byte magic1{0x73};
enum class message_type : std::uint8_t { hello = 1, delta = 2, ack = 3 };

inline void put_header(byte_writer& w, message_type t, std::string_view document) {
    w.byte(0x63);
    w.byte(0x73);
    w.byte(sync_protocol_version);
    w.byte(static_cast<std::uint8_t>(t));
    w.string(document);
}
} // namespace detail::sync

/// Returns: the encoding of `m` (see the file comment).
/// Throws: crdt::error (errc::invalid_utf8) if a string is not UTF-8;
///   std::bad_alloc.
inline std::vector<std::byte> encode_sync_message(const sync_message& m) {
    using detail::sync::message_type;
    byte_writer w;
    std::visit(
        [&](const auto& b) {
            using B = std::decay_t<decltype(b)>;
            if constexpr (std::is_same_v<B, sync_hello>) {
                detail::sync::put_header(w, message_type::hello, m.document);
                w.byte(b.reply_requested ? 1 : 0);
                w.varint(b.session);
                w.string(b.name);
                w.bytes(b.version);
            } else if constexpr (std::is_same_v<B, sync_delta>) {
                detail::sync::put_header(w, message_type::delta, m.document);
                w.reserve(b.payload.size() + b.base.size() + 48);
                w.varint(b.session);
                w.varint(b.transfer);
                w.bytes(b.version);
                w.byte(b.has_base ? 1 : 0);
                if (b.has_base) {
                    w.bytes(b.base);
                }
                w.varint(b.part);
                w.varint(b.parts);
                w.varint(b.total);
                w.bytes(b.payload);
            } else {
                detail::sync::put_header(w, message_type::ack, m.document);
                w.varint(b.session);
                w.bytes(b.version);
            }
        },
        m.body);
    return w.take();
}

/// Returns: the message `bytes` holds.
/// Throws: crdt::error: bad_magic, unsupported_version, invalid_value (an
///   unknown type, flags or part numbering), truncated, length_out_of_range,
///   overlong_varint, invalid_utf8, trailing_bytes; the message names the
///   field and the offset.
inline sync_message decode_sync_message(std::span<const std::byte> bytes) {
    using detail::sync::message_type;
    byte_reader r(bytes, "sync message");
    if (bytes.size() < 4) {
        r.fail(errc::truncated, "header (4 bytes)");
    }
    if (bytes[0] != detail::sync::magic0 || bytes[1] != detail::sync::magic1) {
        r.fail(errc::bad_magic, "magic (expected \"cs\")");
    }
    r.raw(2);
    const std::uint8_t version = r.byte();
    if (version != sync_protocol_version) {
        r.fail_at(errc::unsupported_version,
                  "protocol version " + std::to_string(version) + " (this build speaks " +
                      std::to_string(sync_protocol_version) + ")",
                  2);
    }
    const std::uint8_t type = r.byte();
    sync_message m;
    m.document = std::string(r.string());
    auto flag_byte = [&](std::string_view field) {
        const std::size_t at = r.offset();
        const std::uint8_t f = r.byte();
        if (f > 1) {
            r.fail_at(errc::invalid_value, std::string(field) + " (must be 0 or 1)", at);
        }
        return f == 1;
    };
    auto blob = [&] {
        const auto b = r.bytes();
        return std::vector<std::byte>(b.begin(), b.end());
    };
    switch (static_cast<message_type>(type)) {
    case message_type::hello: {
        sync_hello h;
        h.reply_requested = flag_byte("hello flags");
        h.session = r.varint_as<std::uint64_t>("hello session");
        h.name = std::string(r.string());
        h.version = blob();
        m.body = std::move(h);
        break;
    }
    case message_type::delta: {
        sync_delta d;
        d.session = r.varint_as<std::uint64_t>("delta session");
        const std::size_t transfer_at = r.offset();
        d.transfer = r.varint_as<std::uint64_t>("delta transfer");
        if (d.transfer == 0) {
            r.fail_at(errc::invalid_value, "delta transfer (must be >= 1)", transfer_at);
        }
        d.version = blob();
        d.has_base = flag_byte("delta flags");
        if (d.has_base) {
            d.base = blob();
        }
        const std::size_t part_at = r.offset();
        d.part = r.varint_as<std::uint64_t>("delta part");
        d.parts = r.varint_as<std::uint64_t>("delta parts");
        d.total = r.varint_as<std::uint64_t>("delta total");
        if (d.parts == 0 || d.part >= d.parts || d.parts - 1 > d.total) {
            r.fail_at(errc::invalid_value,
                      "delta part numbering (part " + std::to_string(d.part) + " of " +
                          std::to_string(d.parts) + " for " + std::to_string(d.total) + " bytes)",
                      part_at);
        }
        const std::size_t payload_at = r.offset();
        d.payload = blob();
        if (d.payload.size() > d.total) {
            r.fail_at(errc::invalid_value, "delta payload (longer than its total)", payload_at);
        }
        m.body = std::move(d);
        break;
    }
    case message_type::ack: {
        sync_ack a;
        a.session = r.varint_as<std::uint64_t>("ack session");
        a.version = blob();
        m.body = std::move(a);
        break;
    }
    default: r.fail_at(errc::invalid_value, "message type " + std::to_string(type), 3);
    }
    r.expect_end();
    return m;
}

CRDT_END_NAMESPACE
