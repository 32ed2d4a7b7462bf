// crdt/codec/codec.hpp -- the codec<T> customization point.
//
// Every value crdt persists or sends is encoded through `crdt::codec<T>`:
//
//   template <> struct crdt::codec<my_point> {
//       static void encode(crdt::byte_writer& w, const my_point& p) {
//           w.zigzag(p.x);
//           w.zigzag(p.y);
//       }
//       static my_point decode(crdt::byte_reader& r) {
//           my_point p;
//           p.x = r.zigzag_as<std::int32_t>("my_point.x");
//           p.y = r.zigzag_as<std::int32_t>("my_point.y");
//           return p;
//       }
//   };
//
// (examples/codec_user_type.cpp is the complete program; docs/codec.md the guide.)
//
// Laws of a codec (checked by crdt::testing::check_round_trip and
// check_decoder_robustness, crdt/testing/codec_laws.hpp):
//   1. round trip: decode(encode(v)) == v;
//   2. self-delimiting: decode reads exactly the bytes encode wrote, so
//      values can be concatenated;
//   3. never empty: encode writes at least one byte (counts of elements are
//      bounded by the bytes left, byte_reader::length);
//   4. robust: decode of arbitrary bytes returns a value or throws
//      crdt::error; never crashes, never allocates more than a small multiple
//      of the input size, never throws anything else (std::bad_alloc only on
//      genuine exhaustion; the law checkers treat it as a violation).
//
// Specializations provided here: bool, char (one byte), the other integer
// types except wchar_t (unsigned as varint, signed as zigzag varint,
// range-checked on decode), float and double
// (fixed little-endian), std::byte, std::string (UTF-8, validated),
// std::vector<std::byte> (length-prefixed bytes), std::vector<T>,
// std::array<T, N>, std::optional<T>, std::pair, std::tuple (the containers
// only for encodable element types, so `encodable<std::vector<X>>` is false
// when X has no codec). The core types (replica ids, dots, clocks, version
// vectors, causal contexts) specialize it in their own headers.
#pragma once

#include <crdt/codec/reader.hpp>
#include <crdt/codec/writer.hpp>
#include <crdt/core/config.hpp>
#include <crdt/core/error.hpp>
#include <crdt/fwd.hpp>

#include <algorithm>
#include <array>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

CRDT_BEGIN_NAMESPACE

/// The customization point: specialize `codec<T>` with static members
///   `void encode(byte_writer&, const T&)` and `T decode(byte_reader&)`.
/// The primary template is deliberately not a codec (see `encodable`).
template <class T, class Enable>
struct codec {
    using crdt_codec_not_specialized = void;
};

namespace detail {
template <class T>
concept codec_unspecialized = requires {
    typename codec<T>::crdt_codec_not_specialized;
};
} // namespace detail

/// A type crdt can encode: `codec<T>` is specialized with encode and decode.
template <class T>
concept encodable =
    !detail::codec_unspecialized<T> && requires(byte_writer & w, byte_reader& r, const T& value) {
    codec<T>::encode(w, value);
    { codec<T>::decode(r) } -> std::same_as<T>;
};

namespace detail {
template <class T>
consteval void check_encodable() {
    static_assert(encodable<T>,
                  "crdt::codec<T> is not specialized for this type: specialize crdt::codec<T> "
                  "with static encode(byte_writer&, const T&) and decode(byte_reader&); "
                  "see docs/codec.md");
}
} // namespace detail

/// Effects: appends the encoding of `value` to `w`.
/// Throws: whatever codec<T>::encode throws; `w` may then hold part of the
///   encoding (basic guarantee): discard it, or remember `w.size()` first.
template <class T>
void encode_into(byte_writer& w, const T& value) {
    detail::check_encodable<T>();
    codec<T>::encode(w, value);
}

/// Returns: the encoding of `value` as a new byte vector.
/// Throws: whatever codec<T>::encode throws (std::bad_alloc; crdt::error for
///   text that is not UTF-8).
template <class T>
[[nodiscard]] std::vector<std::byte> encode(const T& value) {
    detail::check_encodable<T>();
    byte_writer w;
    codec<T>::encode(w, value);
    return w.take();
}

/// Returns: the value decoded from the whole of `bytes`; `what` names the
///   input in error messages.
/// Throws: crdt::error if `bytes` is not exactly one valid encoding of a T
///   (errc::trailing_bytes if bytes are left over).
template <class T>
[[nodiscard]] T decode(std::span<const std::byte> bytes, std::string_view what = "value") {
    detail::check_encodable<T>();
    byte_reader r(bytes, what);
    T value = codec<T>::decode(r);
    r.expect_end();
    return value;
}

// --- scalars ---------------------------------------------------------------

template <>
struct codec<bool> {
    static void encode(byte_writer& w, bool v) { w.byte(v ? 1 : 0); }
    static bool decode(byte_reader& r) {
        const std::size_t at = r.offset();
        const std::uint8_t b = r.byte();
        if (b > 1) {
            r.fail_at(errc::invalid_value, "bool (must be 0 or 1)", at);
        }
        return b == 1;
    }
};

template <>
struct codec<std::byte> {
    static void encode(byte_writer& w, std::byte v) { w.byte(static_cast<std::uint8_t>(v)); }
    static std::byte decode(byte_reader& r) { return static_cast<std::byte>(r.byte()); }
};

namespace detail {
// Integers whose wire form is a varint. `char` and `wchar_t` are excluded:
// their signedness and width differ between platforms, so a generic mapping
// would decode to different values elsewhere. `char` has its own codec (one
// byte); `wchar_t` has none (convert to char32_t).
template <class T>
inline constexpr bool varint_integer_v = std::is_integral_v<T> && !std::is_same_v<T, bool> &&
                                         !std::is_same_v<T, char> && !std::is_same_v<T, wchar_t>;
} // namespace detail

/// `char`: one byte, the same on every platform.
template <>
struct codec<char> {
    static void encode(byte_writer& w, char v) { w.byte(static_cast<std::uint8_t>(v)); }
    static char decode(byte_reader& r) { return static_cast<char>(r.byte()); }
};

template <class T>
struct codec<T, std::enable_if_t<detail::varint_integer_v<T> && std::is_unsigned_v<T>>> {
    static void encode(byte_writer& w, T v) { w.varint(v); }
    static T decode(byte_reader& r) { return r.varint_as<T>("unsigned integer"); }
};

template <class T>
struct codec<T, std::enable_if_t<detail::varint_integer_v<T> && std::is_signed_v<T>>> {
    static void encode(byte_writer& w, T v) { w.zigzag(v); }
    static T decode(byte_reader& r) { return r.zigzag_as<T>("signed integer"); }
};

template <class T>
struct codec<T,
             std::enable_if_t<std::is_floating_point_v<T> && (sizeof(T) == 4 || sizeof(T) == 8)>> {
    static void encode(byte_writer& w, T v) { w.fixed(v); }
    static T decode(byte_reader& r) { return r.fixed<T>(); }
};

// --- strings and bytes -------------------------------------------------------

template <>
struct codec<std::string> {
    static void encode(byte_writer& w, const std::string& v) { w.string(v); }
    static std::string decode(byte_reader& r) { return std::string(r.string()); }
};

template <>
struct codec<std::vector<std::byte>> {
    static void encode(byte_writer& w, const std::vector<std::byte>& v) { w.bytes(v); }
    static std::vector<std::byte> decode(byte_reader& r) {
        auto s = r.bytes();
        return {s.begin(), s.end()};
    }
};

// --- containers --------------------------------------------------------------

// Container codecs are constrained on encodable elements, so misuse fails
// in check_encodable's one-line message, not deep inside a member.

template <encodable T, class Alloc>
struct codec<std::vector<T, Alloc>, std::enable_if_t<!std::is_same_v<T, std::byte>>> {
    static void encode(byte_writer& w, const std::vector<T, Alloc>& v) {
        w.varint(v.size());
        for (const auto& x : v) {
            codec<T>::encode(w, x);
        }
    }
    static std::vector<T, Alloc> decode(byte_reader& r) {
        const std::size_t n = r.length("vector element count");
        std::vector<T, Alloc> v;
        // `n` is bounded by the bytes left, not by sizeof(T): reserve at most
        // ~64 KiB up front and let the vector grow past that as elements decode.
        v.reserve(std::min(n, std::size_t{1} + std::size_t{65536} / sizeof(T)));
        for (std::size_t i = 0; i < n; ++i) {
            v.push_back(codec<T>::decode(r));
        }
        return v;
    }
};

// (Empty arrays and tuples have no codec: an encoding is never empty.)
template <encodable T, std::size_t N>
struct codec<std::array<T, N>, std::enable_if_t<(N > 0)>> {
    static void encode(byte_writer& w, const std::array<T, N>& v) {
        for (const auto& x : v) {
            codec<T>::encode(w, x);
        }
    }
    static std::array<T, N> decode(byte_reader& r) {
        return [&]<std::size_t... I>(std::index_sequence<I...>) {
            // Braced initialization evaluates left to right.
            return std::array<T, N>{((void)I, codec<T>::decode(r))...};
        }
        (std::make_index_sequence<N>{});
    }
};

template <encodable T>
struct codec<std::optional<T>> {
    static void encode(byte_writer& w, const std::optional<T>& v) {
        w.byte(v ? 1 : 0);
        if (v) {
            codec<T>::encode(w, *v);
        }
    }
    static std::optional<T> decode(byte_reader& r) {
        if (codec<bool>::decode(r)) {
            return codec<T>::decode(r);
        }
        return std::nullopt;
    }
};

template <encodable A, encodable B>
struct codec<std::pair<A, B>> {
    static void encode(byte_writer& w, const std::pair<A, B>& v) {
        codec<A>::encode(w, v.first);
        codec<B>::encode(w, v.second);
    }
    static std::pair<A, B> decode(byte_reader& r) {
        A a = codec<A>::decode(r);
        B b = codec<B>::decode(r);
        return {std::move(a), std::move(b)};
    }
};

template <encodable... Ts>
struct codec<std::tuple<Ts...>, std::enable_if_t<(sizeof...(Ts) > 0)>> {
    static void encode(byte_writer& w, const std::tuple<Ts...>& v) {
        std::apply([&](const auto&... xs) { (codec<Ts>::encode(w, xs), ...); }, v);
    }
    static std::tuple<Ts...> decode(byte_reader& r) {
        // Braced initialization evaluates left to right.
        return std::tuple<Ts...>{codec<Ts>::decode(r)...};
    }
};

CRDT_END_NAMESPACE
