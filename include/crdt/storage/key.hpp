// crdt/storage/key.hpp -- storage_key, the segmented key of every storage adapter.
//
// A storage_key is a short list of byte-string segments, for example
// {workspace, document, "delta", hash}. Segments are arbitrary bytes (NUL,
// '/', "..", empty and non-UTF-8 segments are all fine); adapters must treat
// them as opaque and preserve segment boundaries.
//
// Order: keys compare segment by segment, each segment byte-wise as unsigned
// bytes, and a key that is a proper prefix of another sorts first. A
// *prefix* is itself a storage_key: {doc} matches {doc} and {doc, "x", ...}
// but not {"docx"}. Because of this order, the keys matching a prefix form
// one contiguous range.
//
// encode_key() maps a key to bytes such that memcmp order of the encodings
// equals the key order and "prefix of segments" equals "byte prefix": each
// segment is written with 0x00 escaped as 0x00 0xFF and is terminated by
// 0x00 0x01. SQLite stores these bytes as BLOB keys and the log adapter
// writes them into records; decode_key() checks them (crdt::error on
// malformed input).
//
// Complexity: comparison and encoding are linear in the key's size.
// Thread safety: a plain value type.
// Exception safety: strong; allocation failure throws std::bad_alloc.
#pragma once

#include <crdt/core/config.hpp>
#include <crdt/core/error.hpp>

#include <algorithm>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

CRDT_BEGIN_NAMESPACE

/// The byte strings adapters store.
using storage_bytes = std::vector<std::byte>;

/// Returns: a view of the bytes of `s` (no copy).
inline std::span<const std::byte> as_bytes_view(std::string_view s) noexcept {
    return std::as_bytes(std::span<const char>(s.data(), s.size()));
}

/// Returns: a copy of the bytes of `s`.
inline storage_bytes to_storage_bytes(std::string_view s) {
    const auto v = as_bytes_view(s);
    return storage_bytes(v.begin(), v.end());
}

/// A key made of byte-string segments, ordered byte-wise segment by segment.
class storage_key {
public:
    using segment = std::string;
    using const_iterator = std::vector<segment>::const_iterator;

    /// Effects: the empty key (as a prefix it matches every key).
    storage_key() = default;

    /// Effects: a key with the given segments.
    storage_key(std::initializer_list<std::string_view> segments) {
        segments_.reserve(segments.size());
        for (auto s : segments) {
            segments_.emplace_back(s);
        }
    }

    /// Effects: a key with the given segments.
    explicit storage_key(std::vector<segment> segments) noexcept : segments_(std::move(segments)) {}

    /// Returns: the number of segments.
    std::size_t size() const noexcept { return segments_.size(); }
    /// Returns: whether the key has no segment.
    bool empty() const noexcept { return segments_.empty(); }
    /// Requires: `i < size()`. Returns: segment `i`.
    const segment& operator[](std::size_t i) const noexcept {
        CRDT_ASSERT(i < segments_.size());
        return segments_[i];
    }
    const_iterator begin() const noexcept { return segments_.begin(); }
    const_iterator end() const noexcept { return segments_.end(); }
    /// Returns: the segments.
    const std::vector<segment>& segments() const noexcept { return segments_; }

    /// Effects: appends a segment. Returns: `*this`.
    storage_key& push_back(std::string_view s) {
        segments_.emplace_back(s);
        return *this;
    }

    /// Returns: a copy with `s` appended.
    storage_key operator/(std::string_view s) const {
        storage_key k = *this;
        k.push_back(s);
        return k;
    }

    /// Returns: whether `prefix` is a segment-wise prefix of `*this`
    ///   (every key starts with the empty key and with itself).
    bool starts_with(const storage_key& prefix) const noexcept {
        return prefix.size() <= size() &&
               std::equal(prefix.segments_.begin(), prefix.segments_.end(), segments_.begin());
    }

    /// Returns: segment-wise, byte-wise (unsigned) lexicographic order.
    friend std::strong_ordering operator<=>(const storage_key& a, const storage_key& b) noexcept {
        const std::size_t n = std::min(a.size(), b.size());
        for (std::size_t i = 0; i < n; ++i) {
            const int c = a.segments_[i].compare(b.segments_[i]); // char_traits<char> is unsigned
            if (c != 0) {
                return c < 0 ? std::strong_ordering::less : std::strong_ordering::greater;
            }
        }
        return a.size() <=> b.size();
    }
    friend bool operator==(const storage_key& a, const storage_key& b) noexcept {
        return a.segments_ == b.segments_;
    }

    /// Returns: a readable rendering for messages, e.g. `["doc", "delta", "\x00"]`.
    std::string to_string() const {
        std::string out = "[";
        static constexpr char hex[] = "0123456789abcdef";
        for (std::size_t i = 0; i < segments_.size(); ++i) {
            out += i == 0 ? "\"" : ", \"";
            for (const char ch : segments_[i]) {
                const auto c = static_cast<unsigned char>(ch);
                if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
                    out += ch;
                } else {
                    out += "\\x";
                    out += hex[c >> 4];
                    out += hex[c & 15];
                }
            }
            out += '"';
        }
        out += ']';
        return out;
    }

private:
    std::vector<segment> segments_;
};

/// One stored entry, as returned by load_range().
struct key_value {
    storage_key key;
    storage_bytes value;
    friend bool operator==(const key_value&, const key_value&) = default;
};

/// Effects: appends the order-preserving encoding of `key` to `out`.
/// Complexity: linear in the key's size.
inline void encode_key_to(const storage_key& key, std::string& out) {
    for (const auto& seg : key) {
        for (const char c : seg) {
            out += c;
            if (c == '\0') {
                out += '\xff';
            }
        }
        out += '\0';
        out += '\x01';
    }
}

/// Returns: the order-preserving encoding of `key`: `encode_key(a) <
///   encode_key(b)` (memcmp) iff `a < b`, and `encode_key(p)` is a byte
///   prefix of `encode_key(k)` iff `k.starts_with(p)`.
inline std::string encode_key(const storage_key& key) {
    std::string out;
    std::size_t n = 0;
    for (const auto& seg : key) {
        n += seg.size() + 2;
    }
    out.reserve(n);
    encode_key_to(key, out);
    return out;
}

/// Returns: the smallest byte string greater than every string that starts
///   with `encoded_prefix`, or nullopt when there is none (the empty prefix).
///   With it, the keys under a prefix are the half-open range
///   [encoded_prefix, prefix_successor(encoded_prefix)).
inline std::optional<std::string> prefix_successor(std::string encoded_prefix) {
    while (!encoded_prefix.empty()) {
        auto& last = encoded_prefix.back();
        if (static_cast<unsigned char>(last) != 0xff) {
            last = static_cast<char>(static_cast<unsigned char>(last) + 1);
            return encoded_prefix;
        }
        encoded_prefix.pop_back();
    }
    return std::nullopt;
}

/// Returns: the key whose encoding is `encoded`.
/// Throws: crdt::error (invalid_value) naming `what` and the byte offset when
///   `encoded` is not a valid encoding (a 0x00 followed by neither 0xFF nor
///   0x01, or a last segment without its terminator).
inline storage_key decode_key(std::string_view encoded, std::string_view what = "storage key") {
    std::vector<std::string> segs;
    std::string cur;
    std::size_t i = 0;
    while (i < encoded.size()) {
        const char c = encoded[i];
        if (c != '\0') {
            cur += c;
            ++i;
            continue;
        }
        if (i + 1 >= encoded.size()) {
            throw error(errc::truncated, std::string(what) + ": segment terminator cut short", i);
        }
        const auto next = static_cast<unsigned char>(encoded[i + 1]);
        if (next == 0xff) {
            cur += '\0';
        } else if (next == 0x01) {
            segs.push_back(std::move(cur));
            cur.clear();
        } else {
            throw error(errc::invalid_value, std::string(what) + ": bad escape after 0x00", i + 1);
        }
        i += 2;
    }
    if (!cur.empty()) {
        throw error(errc::truncated, std::string(what) + ": last segment has no terminator",
                    encoded.size());
    }
    return storage_key(std::move(segs));
}

CRDT_END_NAMESPACE
