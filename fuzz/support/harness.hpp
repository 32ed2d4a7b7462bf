// fuzz/support/harness.hpp -- the kit every fuzz/<name>.cpp harness is written with.
//
// A harness defines the libFuzzer entry point and, optionally, its seeds:
//
//   extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
//       return crdt_fuzz::run(data, size, [](crdt_fuzz::input in) {
//           crdt_fuzz::check_one_of<crdt_fuzz::type_list<A, B, C>>(in);
//       });
//   }
//   std::vector<crdt_fuzz::bytes> crdt_fuzz::seeds() { ... valid inputs ... }
//
// The same file builds two ways (fuzz/CMakeLists.txt): with clang and
// CRDT_BUILD_FUZZERS=ON as the libFuzzer binary fuzz_<name>; otherwise as
// replay_<name>, a plain program (fuzz/support/replay_main.cpp) that runs
// the entry point on files or on deterministic generated inputs, and is a
// CTest test. Do not define LLVMFuzzerInitialize or main in a harness.
//
// Oracles (a failure calls crdt_fuzz::fail, which prints the reason and
// traps, so libFuzzer records the input as a crash):
//   * decoding either returns a value or throws crdt::error; anything else
//     escaping the harness body is a failure (run() catches it);
//   * a crdt::error from a decoder has a decoding cause (not, say,
//     clock_skew) and a byte offset within the input;
//   * a decoded value re-encodes to exactly the input bytes (crdt's
//     encodings are canonical), and the re-encoding decodes to an equal
//     value (crdt::testing::check_decode_untrusted; for values holding
//     floating point, equal bytes instead, so NaN is handled).
// Harnesses add semantic oracles of their own (invariants, laws, a model).
//
// Thread safety: single-threaded, as libFuzzer runs harnesses.
#pragma once

#include <crdt/codec/codec.hpp>
#include <crdt/core/error.hpp>
#include <crdt/testing/codec_laws.hpp>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <typeinfo>
#include <utility>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace crdt_fuzz {

/// One fuzz input, borrowed.
using input = std::span<const std::byte>;
/// An owned byte string (a seed, an encoding).
using bytes = std::vector<std::byte>;

/// Returns: valid inputs for this harness, written as the seed corpus by
///   `fuzz_<name> -crdt_write_seeds=DIR` and `replay_<name> --write-seeds=DIR`,
///   and mutated by replay_<name>. A harness defines it; the default (a weak
///   definition in fuzz/support/seeds_default.cpp) returns no seeds.
std::vector<bytes> seeds();

/// Effects: prints "crdt fuzz: <why>" and the input's hex on stderr, then
///   traps (libFuzzer and replay_<name> report the crash with the input).
[[noreturn]] inline void fail(std::string_view why) {
    std::fprintf(stderr, "crdt fuzz: harness check failed: %.*s\n", static_cast<int>(why.size()),
                 why.data());
    std::fflush(stderr);
    __builtin_trap();
}

/// Returns: `b` as lowercase hex, at most `limit` bytes of it.
inline std::string hex(input b, std::size_t limit = 256) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string out;
    for (std::size_t i = 0; i < b.size() && i < limit; ++i) {
        const auto v = std::to_integer<unsigned>(b[i]);
        out += digits[v >> 4];
        out += digits[v & 0xf];
    }
    if (b.size() > limit) {
        out += "...";
    }
    return out;
}

/// Effects: runs `body` on the input; returns 0 as libFuzzer expects.
///   Any exception escaping `body` (a crdt::error from re-encoding, a
///   crdt::testing::law_violation, std::bad_alloc, ...) is a failure.
template <class Body>
int run(const std::uint8_t* data, std::size_t size, Body&& body) {
    const input in(reinterpret_cast<const std::byte*>(data), size);
    try {
        body(in);
    } catch (const std::exception& e) {
        fail(std::string("exception escaped the harness: ") + typeid(e).name() + ": " + e.what());
    } catch (...) {
        fail("a non-std exception escaped the harness");
    }
    return 0;
}

// --- checking crdt::error ---------------------------------------------------

/// Effects: merges the decoded value `v` into the replica `replica`. A
///   replica refuses a delta_since(w) delta for a w it has not reached with
///   crdt::error(errc::causality_gap) and must then be unchanged; any other
///   exception, or a changed replica, is a failure.
template <class T>
void merge_into_replica(T& replica, const T& v) {
    const T before = replica;
    try {
        replica.merge(v);
    } catch (const crdt::error& e) {
        if (e.cause() != crdt::errc::causality_gap || !(replica == before)) {
            fail("merge into a replica threw other than a clean causality_gap");
        }
    }
}

/// Returns: whether `cause` is something a decoder may report.
inline bool is_decoding_cause(crdt::errc cause) noexcept {
    switch (cause) {
    case crdt::errc::truncated:
    case crdt::errc::overlong_varint:
    case crdt::errc::length_out_of_range:
    case crdt::errc::invalid_utf8:
    case crdt::errc::bad_magic:
    case crdt::errc::unsupported_version:
    case crdt::errc::checksum_mismatch:
    case crdt::errc::invalid_value:
    case crdt::errc::trailing_bytes: return true;
    default: return false;
    }
}

/// Effects: checks that `e`, thrown while decoding `in`, has a decoding
///   cause and a message, and (if `require_offset`) a byte offset in
///   [0, in.size()].
inline void check_decode_error(const crdt::error& e, input in, bool require_offset = true) {
    if (e.code().category() != crdt::error_category()) {
        fail(std::string("crdt::error with a foreign category: ") + e.what());
    }
    if (!is_decoding_cause(e.cause())) {
        fail(std::string("decoder threw a non-decoding cause: ") + e.what());
    }
    if (std::string_view(e.what()).empty()) {
        fail("decoder threw crdt::error with an empty message");
    }
    if (require_offset) {
        if (!e.offset()) {
            fail(std::string("decoder error has no byte offset: ") + e.what());
        }
        if (*e.offset() > in.size()) {
            fail(std::string("decoder error offset past the input (") + std::to_string(in.size()) +
                 " bytes): " + e.what());
        }
    }
}

// --- checking codecs -----------------------------------------------------------

/// Whether T holds floating point anywhere (then `==` is not a reliable
/// round-trip check: NaN != NaN).
template <class T>
struct holds_float : std::is_floating_point<T> {};
template <class T, class A>
struct holds_float<std::vector<T, A>> : holds_float<T> {};
template <class T>
struct holds_float<std::optional<T>> : holds_float<T> {};
template <class T, std::size_t N>
struct holds_float<std::array<T, N>> : holds_float<T> {};
template <class A, class B>
struct holds_float<std::pair<A, B>>
    : std::bool_constant<holds_float<A>::value || holds_float<B>::value> {};
template <class... Ts>
struct holds_float<std::tuple<Ts...>> : std::bool_constant<(holds_float<Ts>::value || ...)> {};

/// Effects: decodes `in` as one T (crdt::decode: the whole input) and checks
///   the oracles above.
/// Returns: the value, or std::nullopt if decoding threw crdt::error.
template <crdt::encodable T>
std::optional<T> decode_checked(input in, bool require_offset = true) {
    if constexpr (std::equality_comparable<T> && !holds_float<T>::value) {
        // Value round trip; throws crdt::testing::law_violation on failure.
        crdt::testing::check_decode_untrusted<T>(in);
    }
    std::optional<T> value;
    try {
        value.emplace(crdt::decode<T>(in, "fuzz input"));
    } catch (const crdt::error& e) {
        check_decode_error(e, in, require_offset);
        return std::nullopt;
    }
    const bytes again = crdt::encode(*value);
    if (!std::ranges::equal(again, in)) {
        fail("not canonical: encode(decode(x)) != x; re-encoded as " + hex(again));
    }
    if (crdt::encode(crdt::decode<T>(again, "re-encoded value")) != again) {
        fail("re-encoded bytes do not decode to the same value");
    }
    return value;
}

// --- dispatching on a type selector ----------------------------------------------

/// A list of types a harness fuzzes; the input's first byte picks one.
template <class... Ts>
struct type_list {
    static constexpr std::size_t size = sizeof...(Ts);
};

namespace detail {
template <class T, class... Ts>
constexpr std::size_t index_of() {
    constexpr std::array<bool, sizeof...(Ts)> same = {std::is_same_v<T, Ts>...};
    for (std::size_t i = 0; i < same.size(); ++i) {
        if (same[i]) {
            return i;
        }
    }
    return sizeof...(Ts);
}
template <class T, class List>
struct index_in;
template <class T, class... Ts>
struct index_in<T, type_list<Ts...>> {
    static constexpr std::size_t value = index_of<T, Ts...>();
    static_assert(value < sizeof...(Ts), "crdt_fuzz: type is not in the harness's type_list");
};
} // namespace detail

/// Requires: index < List::size.
/// Effects: calls `f.template operator()<T>()` for the index-th type T of List.
template <class List, class F>
void visit_type(std::size_t index, F&& f) {
    [&]<class... Ts>(type_list<Ts...>) {
        std::size_t i = 0;
        ((i++ == index ? f.template operator()<Ts>() : void()), ...);
    }(List{});
}

/// Effects: decode_checked<T>(rest of `in`) for the type T of List that
///   `in[0] % List::size` picks; nothing for an empty input.
template <class List>
void check_one_of(input in) {
    if (in.empty()) {
        return;
    }
    const input rest = in.subspan(1);
    visit_type<List>(std::to_integer<std::size_t>(in[0]) % List::size,
                     [&]<class T>() { (void)decode_checked<T>(rest); });
}

/// Returns: the position of T in List (a compile-time error if absent).
template <class T, class List>
inline constexpr std::size_t index_in = detail::index_in<T, List>::value;

/// Returns: the selector byte `selector`, then the encoding of `value`.
template <class T>
bytes seed(std::size_t selector, const T& value) {
    bytes out{static_cast<std::byte>(selector)};
    const bytes enc = crdt::encode(value);
    out.insert(out.end(), enc.begin(), enc.end());
    return out;
}

/// Returns: a seed selecting T in List, followed by the encoding of `value`.
template <class List, class T>
bytes seed_for(const T& value) {
    return seed(index_in<T, List>, value);
}

} // namespace crdt_fuzz
