// Tests for crdt/testing/codec_laws.hpp: check_round_trip and
// check_decoder_robustness accept lawful codecs and catch deliberately
// broken ones, naming what is wrong.
#include <crdt/codec/codec.hpp>
#include <crdt/core/causal_context.hpp>
#include <crdt/core/version_vector.hpp>
#include <crdt/testing/codec_laws.hpp>

#include <support/seed.hpp>

#include <catch2/catch.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <new>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

using crdt::testing::law_violation;

template <class F>
std::string violation_of(F&& f) {
    try {
        f();
    } catch (const law_violation& v) {
        return v.what();
    }
    return "";
}

// Loses information: only `a` is encoded.
struct lossy {
    std::uint32_t a = 0;
    std::uint32_t b = 0;
    friend bool operator==(const lossy&, const lossy&) = default;
};

// Not self-delimiting: the text is written without a length and read to the end.
struct greedy_text {
    std::string text;
    friend bool operator==(const greedy_text&, const greedy_text&) = default;
};

// Not self-delimiting the other way: writes a padding byte it never reads.
struct padded_value {
    std::uint8_t value = 0;
    friend bool operator==(const padded_value&, const padded_value&) = default;
};

// Writes nothing at all.
struct empty_encoding {
    friend bool operator==(const empty_encoding&, const empty_encoding&) = default;
};

// Not canonical: `hint` is encoded but does not take part in equality and is
// not restored by decode.
struct hinted {
    std::uint8_t value = 0;
    std::uint8_t hint = 0;
    friend bool operator==(const hinted& x, const hinted& y) { return x.value == y.value; }
};

// Decoding throws std::out_of_range for an index it trusted.
struct color {
    std::string name;
    friend bool operator==(const color&, const color&) = default;
};
inline const std::array<std::string, 3> color_names = {"red", "green", "blue"};

// Allocates from an untrusted length: a huge count is passed to the
// allocator (simulated: above 1 MiB the allocation "fails" with bad_alloc,
// as a real one would, without actually asking the system for it).
struct blob {
    std::vector<std::uint8_t> data;
    friend bool operator==(const blob&, const blob&) = default;
};

// Same, but the untrusted size goes through vector::reserve beyond max_size
// and raises std::length_error.
struct wide_blob {
    std::vector<std::uint64_t> data;
    friend bool operator==(const wide_blob&, const wide_blob&) = default;
};

// Decoded values do not survive a round trip: decode keeps the high bit of
// the byte, encode drops it.
struct seven_bits {
    std::uint8_t value = 0;
    friend bool operator==(const seven_bits&, const seven_bits&) = default;
};

// Decoded values cannot even be re-decoded: decode takes a varint, encode
// writes a raw byte, so 200 (C8 01) re-encodes to C8, a truncated varint.
struct raw_vs_varint {
    std::uint8_t value = 0;
    friend bool operator==(const raw_vs_varint&, const raw_vs_varint&) = default;
};

// A lawful user codec.
struct pixel {
    std::uint8_t r = 0, g = 0, b = 0;
    std::optional<std::string> label;
    friend bool operator==(const pixel&, const pixel&) = default;
};

} // namespace

template <>
struct crdt::codec<lossy> {
    static void encode(byte_writer& w, const lossy& v) { w.varint(v.a); }
    static lossy decode(byte_reader& r) { return {r.varint_as<std::uint32_t>(), 0}; }
};

template <>
struct crdt::codec<greedy_text> {
    static void encode(byte_writer& w, const greedy_text& v) {
        w.raw(std::as_bytes(std::span<const char>(v.text.data(), v.text.size())));
    }
    static greedy_text decode(byte_reader& r) {
        const auto bytes = r.raw(r.remaining());
        return {std::string(reinterpret_cast<const char*>(bytes.data()), bytes.size())};
    }
};

template <>
struct crdt::codec<padded_value> {
    static void encode(byte_writer& w, const padded_value& v) {
        w.byte(v.value);
        w.byte(0);
    }
    static padded_value decode(byte_reader& r) { return {r.byte()}; }
};

template <>
struct crdt::codec<empty_encoding> {
    static void encode(byte_writer&, const empty_encoding&) {}
    static empty_encoding decode(byte_reader&) { return {}; }
};

template <>
struct crdt::codec<hinted> {
    static void encode(byte_writer& w, const hinted& v) {
        w.byte(v.value);
        w.byte(v.hint);
    }
    static hinted decode(byte_reader& r) {
        hinted v;
        v.value = r.byte();
        (void)r.byte();
        return v;
    }
};

template <>
struct crdt::codec<color> {
    static void encode(byte_writer& w, const color& c) {
        for (std::uint8_t i = 0; i < color_names.size(); ++i) {
            if (color_names[i] == c.name) {
                w.byte(i);
                return;
            }
        }
        w.byte(0);
    }
    static color decode(byte_reader& r) { return {color_names.at(r.byte())}; }
};

template <>
struct crdt::codec<blob> {
    static void encode(byte_writer& w, const blob& b) {
        w.varint(b.data.size());
        for (auto x : b.data) {
            w.byte(x);
        }
    }
    static blob decode(byte_reader& r) {
        const std::uint64_t n = r.varint(); // BUG: not checked against remaining()
        if (n > (1u << 20)) {
            throw std::bad_alloc(); // what a real allocator would do for a huge n
        }
        blob b;
        b.data.reserve(n);
        for (std::uint64_t i = 0; i < n; ++i) {
            b.data.push_back(r.byte());
        }
        return b;
    }
};

template <>
struct crdt::codec<wide_blob> {
    static void encode(byte_writer& w, const wide_blob& b) {
        w.varint(b.data.size());
        for (auto x : b.data) {
            w.varint(x);
        }
    }
    static wide_blob decode(byte_reader& r) {
        const std::uint64_t n = r.varint(); // BUG: not checked against remaining()
        wide_blob b;
        if (n > b.data.max_size()) {
            // vector::reserve beyond max_size() throws std::length_error;
            // below it, a real allocation of n * 8 bytes would be attempted.
            b.data.reserve(b.data.max_size() + 1);
        }
        if (n > (1u << 20)) {
            throw std::length_error("wide_blob: simulated oversized reservation");
        }
        b.data.reserve(n);
        for (std::uint64_t i = 0; i < n; ++i) {
            b.data.push_back(r.varint());
        }
        return b;
    }
};

template <>
struct crdt::codec<seven_bits> {
    static void encode(byte_writer& w, const seven_bits& v) {
        w.byte(static_cast<std::uint8_t>(v.value & 0x7f));
    }
    static seven_bits decode(byte_reader& r) { return {r.byte()}; }
};

template <>
struct crdt::codec<raw_vs_varint> {
    static void encode(byte_writer& w, const raw_vs_varint& v) { w.byte(v.value); }
    static raw_vs_varint decode(byte_reader& r) { return {r.varint_as<std::uint8_t>()}; }
};

template <>
struct crdt::codec<pixel> {
    static void encode(byte_writer& w, const pixel& p) {
        w.byte(p.r);
        w.byte(p.g);
        w.byte(p.b);
        codec<std::optional<std::string>>::encode(w, p.label);
    }
    static pixel decode(byte_reader& r) {
        pixel p;
        p.r = r.byte();
        p.g = r.byte();
        p.b = r.byte();
        p.label = codec<std::optional<std::string>>::decode(r);
        return p;
    }
};

TEST_CASE("codec_laws: check_round_trip accepts lawful codecs") {
    REQUIRE_NOTHROW(crdt::testing::check_round_trip(std::uint64_t{300}));
    REQUIRE_NOTHROW(crdt::testing::check_round_trip(std::string("h\xc3\xa9")));
    REQUIRE_NOTHROW(crdt::testing::check_round_trip(pixel{1, 2, 3, "sky"}));
    REQUIRE_NOTHROW(
        crdt::testing::check_round_trip(std::vector<pixel>{{}, {9, 8, 7, std::nullopt}}));
    REQUIRE_NOTHROW(crdt::testing::check_round_trip(std::numeric_limits<double>::quiet_NaN()));
    crdt::version_vector v{{crdt::replica_id(1), 3}, {crdt::replica_id(7), 1}};
    REQUIRE_NOTHROW(crdt::testing::check_round_trip(v));
    crdt::causal_context c(v);
    c.insert({crdt::replica_id(1), 9});
    REQUIRE_NOTHROW(crdt::testing::check_round_trip(c));
}

TEST_CASE("codec_laws: check_round_trip detects a codec that loses information") {
    REQUIRE_NOTHROW(crdt::testing::check_round_trip(lossy{5, 0}));
    REQUIRE_THAT(violation_of([] {
                     crdt::testing::check_round_trip(lossy{5, 6});
                 }),
                 Catch::Contains("round trip changed the value"));
}

TEST_CASE("codec_laws: check_round_trip detects codecs that are not self-delimiting") {
    // Reads past its own encoding when more bytes follow.
    REQUIRE_THAT(violation_of([] { crdt::testing::check_round_trip(greedy_text{"abc"}); }),
                 Catch::Contains("not self-delimiting"));
    // Reads less than it wrote.
    REQUIRE_THAT(violation_of([] { crdt::testing::check_round_trip(padded_value{4}); }),
                 Catch::Contains("not self-delimiting") &&
                     Catch::Contains("decode read 1 bytes of a 2-byte encoding"));
}

TEST_CASE("codec_laws: check_round_trip detects a codec that writes nothing") {
    REQUIRE_THAT(violation_of([] { crdt::testing::check_round_trip(empty_encoding{}); }),
                 Catch::Contains("empty encoding"));
}

TEST_CASE("codec_laws: check_round_trip detects a non-canonical encoding") {
    REQUIRE_NOTHROW(crdt::testing::check_round_trip(hinted{3, 0}));
    REQUIRE_THAT(violation_of([] {
                     crdt::testing::check_round_trip(hinted{3, 1});
                 }),
                 Catch::Contains("not canonical"));
}

TEST_CASE("codec_laws: check_decoder_robustness passes for good decoders") {
    const auto seed = crdt_test::seed(50);
    CAPTURE(seed);
    using crdt::testing::check_decoder_robustness;
    REQUIRE_NOTHROW(check_decoder_robustness<pixel>(
        {crdt::encode(pixel{1, 2, 3, "label"}), crdt::encode(pixel{})}, seed));
    REQUIRE_NOTHROW(check_decoder_robustness<std::vector<std::string>>(
        {crdt::encode(std::vector<std::string>{"a", "\xc3\xa9"})}, seed + 1));
    // Floating point decodes produce NaNs; they are compared through their bytes.
    REQUIRE_NOTHROW(check_decoder_robustness<std::vector<float>>(
        {crdt::encode(std::vector<float>{1.0f, -2.0f})}, seed + 2));
    crdt::version_vector v{{crdt::replica_id(1), 3}, {crdt::replica_id(2), 300}};
    REQUIRE_NOTHROW(check_decoder_robustness<crdt::version_vector>({crdt::encode(v)}, seed + 3));
    crdt::causal_context c(v);
    c.insert({crdt::replica_id(2), 302});
    c.insert({crdt::replica_id(5), 4});
    REQUIRE_NOTHROW(check_decoder_robustness<crdt::causal_context>({crdt::encode(c)}, seed + 4));
    // check_decode_untrusted reports whether the input decoded.
    REQUIRE(crdt::testing::check_decode_untrusted<std::uint8_t>(crdt::encode(std::uint8_t{7})));
    REQUIRE_FALSE(crdt::testing::check_decode_untrusted<std::uint8_t>({}));
}

TEST_CASE("codec_laws: check_decoder_robustness detects a decoder throwing std::out_of_range") {
    const auto seed = crdt_test::seed(51);
    CAPTURE(seed);
    const std::string message = violation_of([&] {
        crdt::testing::check_decoder_robustness<color>({crdt::encode(color{"green"})}, seed);
    });
    REQUIRE_THAT(message, Catch::Contains("decoder threw something other than crdt::error") &&
                              Catch::Contains("seed " + std::to_string(seed)));
    // The same holds for a single input.
    const std::vector<std::byte> bad = {std::byte{200}};
    REQUIRE_THROWS_AS(crdt::testing::check_decode_untrusted<color>(bad), law_violation);
}

TEST_CASE("codec_laws: check_decoder_robustness detects allocation from an untrusted length") {
    const auto seed = crdt_test::seed(52);
    CAPTURE(seed);
    REQUIRE_NOTHROW(crdt::testing::check_round_trip(blob{{1, 2, 3}}));
    REQUIRE_THAT(
        violation_of([&] {
            crdt::testing::check_decoder_robustness<blob>({crdt::encode(blob{{1, 2, 3}})}, seed);
        }),
        Catch::Contains("decoder threw something other than crdt::error") &&
            Catch::Contains("bad_alloc"));
    REQUIRE_NOTHROW(crdt::testing::check_round_trip(wide_blob{{1, 1000}}));
    REQUIRE_THAT(violation_of([&] {
                     crdt::testing::check_decoder_robustness<wide_blob>(
                         {crdt::encode(wide_blob{{1, 1000}})}, seed);
                 }),
                 Catch::Contains("decoder threw something other than crdt::error"));
}

TEST_CASE("codec_laws: check_decoder_robustness detects decoded values that do not round-trip") {
    const auto seed = crdt_test::seed(53);
    CAPTURE(seed);
    REQUIRE_NOTHROW(crdt::testing::check_round_trip(seven_bits{5}));
    REQUIRE_THAT(violation_of([&] {
                     crdt::testing::check_decoder_robustness<seven_bits>(
                         {crdt::encode(seven_bits{5})}, seed);
                 }),
                 Catch::Contains("does not round-trip"));
    // The re-encoding fails to decode (a crdt::error): that is the codec's
    // fault, not the input's, so it is a violation too.
    REQUIRE_NOTHROW(crdt::testing::check_round_trip(raw_vs_varint{5}));
    const std::vector<std::byte> two_hundred = {std::byte{0xc8}, std::byte{0x01}};
    REQUIRE_THAT(violation_of([&] {
                     (void)crdt::testing::check_decode_untrusted<raw_vs_varint>(two_hundred);
                 }),
                 Catch::Contains("does not round-trip") && Catch::Contains("truncated"));
    REQUIRE_THAT(violation_of([&] {
                     // The second sample is the varint encoding of 200, which
                     // mutations keep above 127 often enough.
                     crdt::testing::check_decoder_robustness<raw_vs_varint>(
                         {crdt::encode(raw_vs_varint{100}), two_hundred}, seed);
                 }),
                 Catch::Contains("does not round-trip"));
}
