// Tests for crdt/codec/reader.hpp: every method on good input, and every
// failure mode with its crdt::errc, byte offset and message.
#include <crdt/codec/reader.hpp>
#include <crdt/codec/writer.hpp>
#include <crdt/core/error.hpp>

#include <support/seed.hpp>

#include <catch2/catch.hpp>

#include <bit>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <limits>
#include <optional>
#include <random>
#include <span>
#include <string>
#include <vector>

namespace {

std::vector<std::byte> bytes_of(std::initializer_list<unsigned> list) {
    std::vector<std::byte> out;
    for (unsigned b : list) {
        out.push_back(static_cast<std::byte>(b));
    }
    return out;
}

// Runs `f`, which must throw crdt::error; checks its cause, offset and that
// the message names the input and the field.
template <class F>
void require_error(F&& f, crdt::errc cause, std::size_t offset, const std::string& what,
                   const std::string& field) {
    try {
        f();
    } catch (const crdt::error& e) {
        CAPTURE(e.what());
        REQUIRE(e.cause() == cause);
        REQUIRE(e.code() == cause);
        REQUIRE(e.code().category() == crdt::error_category());
        REQUIRE(e.offset() == std::optional<std::size_t>(offset));
        const std::string message = e.what();
        REQUIRE_THAT(message, Catch::Contains("decoding " + what));
        REQUIRE_THAT(message, Catch::Contains(field));
        REQUIRE_THAT(message, Catch::Contains("(at byte " + std::to_string(offset) + ")"));
        REQUIRE_THAT(message, Catch::Contains(crdt::make_error_code(cause).message()));
        return;
    }
    FAIL("no crdt::error was thrown");
}

} // namespace

TEST_CASE("reader: state accessors") {
    const auto input = bytes_of({0x01, 0x02, 0x03});
    crdt::byte_reader r(input, "three bytes");
    REQUIRE(r.what() == "three bytes");
    REQUIRE(r.offset() == 0);
    REQUIRE(r.remaining() == 3);
    REQUIRE_FALSE(r.empty());
    REQUIRE(r.byte() == 1);
    REQUIRE(r.offset() == 1);
    REQUIRE(r.remaining() == 2);
    (void)r.raw(2);
    REQUIRE(r.empty());
    REQUIRE(r.remaining() == 0);
    REQUIRE_NOTHROW(r.expect_end());

    crdt::byte_reader unnamed(input);
    REQUIRE(unnamed.what() == "input");

    crdt::byte_reader none(std::span<const std::byte>{});
    REQUIRE(none.empty());
    REQUIRE(none.raw(0).empty());
    REQUIRE_NOTHROW(none.expect_end());
}

TEST_CASE("reader: every method on good input") {
    crdt::byte_writer w;
    w.varint(300);
    w.varint(200);
    w.zigzag(-3);
    w.zigzag(-100);
    w.fixed(std::uint16_t{0xbeef});
    w.fixed(std::int32_t{-5});
    w.fixed(std::uint64_t{0x0102030405060708});
    w.fixed(-1.5f);
    w.fixed(6.25);
    w.fixed(true);
    w.byte(0xab);
    w.raw(bytes_of({0x10, 0x20}));
    w.bytes(bytes_of({0x30, 0x40, 0x50}));
    w.string("h\xc3\xa9");
    w.varint(2);
    w.byte(7);
    w.byte(8);
    const auto buf = w.take();

    crdt::byte_reader r(buf, "sample");
    REQUIRE(r.varint() == 300);
    REQUIRE(r.varint_as<std::uint8_t>() == 200);
    REQUIRE(r.zigzag() == -3);
    REQUIRE(r.zigzag_as<std::int8_t>() == -100);
    REQUIRE(r.fixed<std::uint16_t>() == 0xbeef);
    REQUIRE(r.fixed<std::int32_t>() == -5);
    REQUIRE(r.fixed<std::uint64_t>() == 0x0102030405060708u);
    REQUIRE(r.fixed<float>() == -1.5f);
    REQUIRE(r.fixed<double>() == 6.25);
    REQUIRE(r.fixed<bool>() == true);
    REQUIRE(r.byte() == 0xab);
    const auto raw = r.raw(2);
    REQUIRE(std::vector<std::byte>(raw.begin(), raw.end()) == bytes_of({0x10, 0x20}));
    // raw() and bytes() borrow from the input.
    REQUIRE(raw.data() >= buf.data());
    REQUIRE(raw.data() + raw.size() <= buf.data() + buf.size());
    const auto b = r.bytes();
    REQUIRE(std::vector<std::byte>(b.begin(), b.end()) == bytes_of({0x30, 0x40, 0x50}));
    REQUIRE(r.string() == "h\xc3\xa9");
    REQUIRE(r.length() == 2);
    REQUIRE(r.remaining() == 2);
    REQUIRE(r.byte() == 7);
    REQUIRE(r.byte() == 8);
    REQUIRE(r.offset() == buf.size());
    REQUIRE_NOTHROW(r.expect_end());
}

TEST_CASE("reader: fixed<T> reads little-endian bytes") {
    const auto input = bytes_of({0x02, 0x01, 0x04, 0x03, 0x02, 0x01, 0x08, 0x07, 0x06, 0x05,
                                 0x04, 0x03, 0x02, 0x01, 0xfe, 0xff, 0x00, 0x00, 0x80, 0x3f,
                                 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x80});
    crdt::byte_reader r(input);
    REQUIRE(r.fixed<std::uint16_t>() == 0x0102);
    REQUIRE(r.fixed<std::uint32_t>() == 0x01020304u);
    REQUIRE(r.fixed<std::uint64_t>() == 0x0102030405060708u);
    REQUIRE(r.fixed<std::int16_t>() == -2);
    REQUIRE(r.fixed<float>() == 1.0f);
    const double negative_zero = r.fixed<double>();
    REQUIRE(std::bit_cast<std::uint64_t>(negative_zero) == 0x8000000000000000u);
    REQUIRE(r.empty());
}

TEST_CASE("reader: truncated fixed-width values") {
    const auto input = bytes_of({0x09, 0x01, 0x02, 0x03});
    require_error(
        [&] {
            crdt::byte_reader r(input, "fixed input");
            (void)r.byte();
            (void)r.fixed<std::uint32_t>();
        },
        crdt::errc::truncated, 1, "fixed input", "fixed-width");
    require_error(
        [&] {
            crdt::byte_reader r(input, "fixed input");
            (void)r.fixed<double>();
        },
        crdt::errc::truncated, 0, "fixed input", "fixed-width");
    require_error(
        [&] {
            crdt::byte_reader r(std::span<const std::byte>(input).first(0), "empty");
            (void)r.byte();
        },
        crdt::errc::truncated, 0, "empty", "byte");
    require_error(
        [&] {
            crdt::byte_reader r(input, "raw input");
            (void)r.byte();
            (void)r.raw(4);
        },
        crdt::errc::truncated, 1, "raw input", "raw bytes");
}

TEST_CASE("reader: truncated and overlong varints") {
    require_error(
        [] {
            const auto input = bytes_of({0x05, 0x80, 0x80});
            crdt::byte_reader r(input, "varints");
            REQUIRE(r.varint() == 5);
            (void)r.varint();
        },
        crdt::errc::truncated, 1, "varints", "varint");
    require_error(
        [] {
            const auto input = bytes_of({0x05, 0x80, 0x00});
            crdt::byte_reader r(input, "varints");
            REQUIRE(r.varint() == 5);
            (void)r.varint();
        },
        crdt::errc::overlong_varint, 1, "varints", "varint");
    require_error(
        [] {
            const auto input = bytes_of(
                {0x01, 0x02, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01});
            crdt::byte_reader r(input, "varints");
            (void)r.varint();
            (void)r.varint();
            (void)r.varint();
        },
        crdt::errc::overlong_varint, 2, "varints", "varint");
    require_error(
        [] {
            const auto input =
                bytes_of({0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02});
            crdt::byte_reader r(input, "varints");
            (void)r.zigzag();
        },
        crdt::errc::overlong_varint, 0, "varints", "varint");
}

TEST_CASE("reader: varint_as and zigzag_as range checks") {
    require_error(
        [] {
            const auto input = bytes_of({0x7f, 0x80, 0x02}); // 127, then 256
            crdt::byte_reader r(input, "narrow");
            REQUIRE(r.varint_as<std::uint8_t>("first") == 127);
            (void)r.varint_as<std::uint8_t>("counter");
        },
        crdt::errc::overlong_varint, 1, "narrow", "counter: value 256 out of range");
    require_error(
        [] {
            crdt::byte_writer w;
            w.byte(0);
            w.varint(std::uint64_t{1} << 32);
            const auto input = w.take();
            crdt::byte_reader r(input, "narrow");
            (void)r.byte();
            (void)r.varint_as<std::uint32_t>("wide");
        },
        crdt::errc::overlong_varint, 1, "narrow", "wide: value 4294967296 out of range");
    for (const std::int64_t v : {std::int64_t{128}, std::int64_t{-129}, std::int64_t{1000}}) {
        CAPTURE(v);
        require_error(
            [v] {
                crdt::byte_writer w;
                w.zigzag(5);
                w.zigzag(v);
                const auto input = w.take();
                crdt::byte_reader r(input, "signed");
                REQUIRE(r.zigzag_as<std::int8_t>("small") == 5);
                (void)r.zigzag_as<std::int8_t>("delta");
            },
            crdt::errc::overlong_varint, 1, "signed",
            "delta: value " + std::to_string(v) + " out of range");
    }
    // Truncated and overlong varints name the field too.
    require_error(
        [] {
            const auto input = bytes_of({0x01, 0x80});
            crdt::byte_reader r(input, "named");
            (void)r.byte();
            (void)r.varint_as<std::uint32_t>("my counter");
        },
        crdt::errc::truncated, 1, "named", "my counter");
    require_error(
        [] {
            const auto input = bytes_of({0xff, 0x80, 0x00});
            crdt::byte_reader r(input, "named");
            (void)r.zigzag_as<std::int64_t>("my delta");
        },
        crdt::errc::overlong_varint, 0, "named", "my delta");
    // The limits themselves are accepted.
    crdt::byte_writer w;
    w.varint(255);
    w.zigzag(-128);
    w.zigzag(127);
    w.varint(std::numeric_limits<std::uint32_t>::max());
    w.zigzag(std::numeric_limits<std::int32_t>::min());
    const auto input = w.take();
    crdt::byte_reader r(input);
    REQUIRE(r.varint_as<std::uint8_t>() == 255);
    REQUIRE(r.zigzag_as<std::int8_t>() == -128);
    REQUIRE(r.zigzag_as<std::int8_t>() == 127);
    REQUIRE(r.varint_as<std::uint32_t>() == std::numeric_limits<std::uint32_t>::max());
    REQUIRE(r.zigzag_as<std::int32_t>() == std::numeric_limits<std::int32_t>::min());
    REQUIRE(r.empty());
}

TEST_CASE("reader: lengths past the end") {
    // A byte, then a length of 5 with only 2 bytes after it.
    const auto input = bytes_of({0x00, 0x05, 'a', 'b'});
    require_error(
        [&] {
            crdt::byte_reader r(input, "short bytes");
            (void)r.byte();
            (void)r.bytes();
        },
        crdt::errc::length_out_of_range, 1, "short bytes",
        "byte string length: 5 but only 2 bytes remain");
    require_error(
        [&] {
            crdt::byte_reader r(input, "short string");
            (void)r.byte();
            (void)r.string();
        },
        crdt::errc::length_out_of_range, 1, "short string", "string length");
    require_error(
        [&] {
            crdt::byte_reader r(input, "short count");
            (void)r.byte();
            (void)r.length("element count");
        },
        crdt::errc::length_out_of_range, 1, "short count", "element count");
    // A huge length (2^64-1) is rejected the same way, before anything else.
    require_error(
        [] {
            const auto huge =
                bytes_of({0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01});
            crdt::byte_reader r(huge, "huge");
            (void)r.bytes();
        },
        crdt::errc::length_out_of_range, 0, "huge", "byte string length");
    // A truncated length prefix is reported as truncated.
    require_error(
        [] {
            const auto cut = bytes_of({0x80});
            crdt::byte_reader r(cut, "cut");
            (void)r.string();
        },
        crdt::errc::truncated, 0, "cut", "string length");
    // Exactly the remaining bytes is fine.
    const auto exact = bytes_of({0x02, 'a', 'b'});
    crdt::byte_reader e(exact);
    REQUIRE(e.string() == "ab");
    REQUIRE(e.empty());
}

TEST_CASE("reader: invalid UTF-8 points at the bad byte") {
    // Offsets: 0 byte, 1 length (6), 2.. text "abc" + C0 80 + "d".
    const auto input = bytes_of({0x00, 0x06, 'a', 'b', 'c', 0xc0, 0x80, 'd'});
    require_error(
        [&] {
            crdt::byte_reader r(input, "text");
            (void)r.byte();
            (void)r.string();
        },
        crdt::errc::invalid_utf8, 5, "text", "string: invalid UTF-8");
    const auto surrogate = bytes_of({0x03, 0xed, 0xa0, 0x80});
    require_error(
        [&] {
            crdt::byte_reader r(surrogate, "surrogate");
            (void)r.string();
        },
        crdt::errc::invalid_utf8, 1, "surrogate", "string");
    // A multi-byte character cut by the length prefix is invalid too.
    const auto cut = bytes_of({0x02, 'x', 0xc3, 0xa9});
    require_error(
        [&] {
            crdt::byte_reader r(cut, "cut char");
            (void)r.string();
        },
        crdt::errc::invalid_utf8, 2, "cut char", "string");
    // bytes() does not care about UTF-8.
    crdt::byte_reader r(surrogate);
    REQUIRE(r.bytes().size() == 3);
}

TEST_CASE("reader: expect_end reports trailing bytes") {
    const auto input = bytes_of({0x01, 0x02, 0x03});
    require_error(
        [&] {
            crdt::byte_reader r(input, "message");
            (void)r.byte();
            r.expect_end();
        },
        crdt::errc::trailing_bytes, 1, "message", "end: 2 unread bytes");
    require_error(
        [&] {
            crdt::byte_reader r(input, "message");
            r.expect_end();
        },
        crdt::errc::trailing_bytes, 0, "message", "end: 3 unread bytes");
}

TEST_CASE("reader: a fixed-width bool must be 0 or 1") {
    const auto input = bytes_of({0x01, 0x00, 0x02});
    require_error(
        [&] {
            crdt::byte_reader r(input, "flags");
            REQUIRE(r.fixed<bool>() == true);
            REQUIRE(r.fixed<bool>() == false);
            (void)r.fixed<bool>();
        },
        crdt::errc::invalid_value, 2, "flags", "bool");
}

TEST_CASE("reader: fail and fail_at") {
    const auto input = bytes_of({0x01, 0x02, 0x03});
    require_error(
        [&] {
            crdt::byte_reader r(input, "custom");
            (void)r.raw(2);
            r.fail(crdt::errc::invalid_value, "my field");
        },
        crdt::errc::invalid_value, 2, "custom", "my field");
    require_error(
        [&] {
            crdt::byte_reader r(input, "custom");
            (void)r.raw(3);
            r.fail_at(crdt::errc::bad_magic, "header", 0);
        },
        crdt::errc::bad_magic, 0, "custom", "header");
}

TEST_CASE("reader: random bytes only ever produce values or crdt::error") {
    const auto seed = crdt_test::seed(20);
    CAPTURE(seed);
    std::mt19937_64 rng(seed);
    for (int iteration = 0; iteration < 2000; ++iteration) {
        // A heap buffer of exactly the input's size: ASan catches overreads.
        std::vector<std::byte> input(static_cast<std::size_t>(rng() % 24));
        for (auto& b : input) {
            b = static_cast<std::byte>(rng() % 3 == 0 ? 0xff : rng());
        }
        CAPTURE(iteration);
        crdt::byte_reader r(input, "random");
        try {
            while (!r.empty()) {
                const std::size_t before = r.offset();
                switch (rng() % 8) {
                case 0: (void)r.varint(); break;
                case 1: (void)r.zigzag_as<std::int16_t>(); break;
                case 2: (void)r.fixed<std::uint32_t>(); break;
                case 3: (void)r.bytes(); break;
                case 4: (void)r.string(); break;
                case 5: (void)r.length(); break;
                case 6: (void)r.fixed<double>(); break;
                default: (void)r.byte(); break;
                }
                REQUIRE(r.offset() > before);
                REQUIRE(r.offset() <= input.size());
            }
        } catch (const crdt::error& e) {
            REQUIRE(e.offset().has_value());
            REQUIRE(*e.offset() <= input.size());
        }
    }
}
