// Tests for crdt/codec/writer.hpp: the exact bytes every byte_writer method
// appends, UTF-8 rejection without side effects, and buffer management.
#include <crdt/codec/reader.hpp>
#include <crdt/codec/writer.hpp>
#include <crdt/core/error.hpp>

#include <support/seed.hpp>

#include <catch2/catch.hpp>
#include <rapidcheck.h>
#include <rapidcheck/catch.h>

#include <bit>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <limits>
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

std::vector<std::byte> written(const crdt::byte_writer& w) {
    return {w.view().begin(), w.view().end()};
}

template <class T>
std::vector<std::byte> fixed_bytes(T value) {
    crdt::byte_writer w;
    w.fixed(value);
    return w.take();
}

} // namespace

TEST_CASE("writer: varint and zigzag bytes") {
    crdt::byte_writer w;
    w.varint(0);
    w.varint(127);
    w.varint(128);
    w.varint(300);
    w.varint(std::numeric_limits<std::uint64_t>::max());
    REQUIRE(written(w) == bytes_of({0x00, 0x7f, 0x80, 0x01, 0xac, 0x02, 0xff, 0xff, 0xff, 0xff,
                                    0xff, 0xff, 0xff, 0xff, 0xff, 0x01}));
    w.clear();
    w.zigzag(0);
    w.zigzag(-1);
    w.zigzag(1);
    w.zigzag(-2);
    w.zigzag(-64);
    w.zigzag(64);
    w.zigzag(std::numeric_limits<std::int64_t>::min());
    REQUIRE(written(w) == bytes_of({0x00, 0x01, 0x02, 0x03, 0x7f, 0x80, 0x01, 0xff, 0xff, 0xff,
                                    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}));
}

TEST_CASE("writer: fixed<T> is little-endian whatever the host") {
    REQUIRE(fixed_bytes(std::uint8_t{0xab}) == bytes_of({0xab}));
    REQUIRE(fixed_bytes(std::int8_t{-2}) == bytes_of({0xfe}));
    REQUIRE(fixed_bytes(std::uint16_t{0x0102}) == bytes_of({0x02, 0x01}));
    REQUIRE(fixed_bytes(std::int16_t{-2}) == bytes_of({0xfe, 0xff}));
    REQUIRE(fixed_bytes(std::uint32_t{0x01020304}) == bytes_of({0x04, 0x03, 0x02, 0x01}));
    REQUIRE(fixed_bytes(std::int32_t{-1}) == bytes_of({0xff, 0xff, 0xff, 0xff}));
    REQUIRE(fixed_bytes(std::int32_t{std::numeric_limits<std::int32_t>::min()}) ==
            bytes_of({0x00, 0x00, 0x00, 0x80}));
    REQUIRE(fixed_bytes(std::uint64_t{0x0102030405060708}) ==
            bytes_of({0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01}));
    REQUIRE(fixed_bytes(std::int64_t{-0x0102030405060709}) ==
            bytes_of({0xf7, 0xf8, 0xf9, 0xfa, 0xfb, 0xfc, 0xfd, 0xfe}));
    REQUIRE(fixed_bytes(std::numeric_limits<std::int64_t>::min()) ==
            bytes_of({0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x80}));
    REQUIRE(fixed_bytes(true) == bytes_of({0x01}));
    REQUIRE(fixed_bytes(false) == bytes_of({0x00}));
    REQUIRE(fixed_bytes(1.0f) == bytes_of({0x00, 0x00, 0x80, 0x3f}));
    REQUIRE(fixed_bytes(-2.5f) == bytes_of({0x00, 0x00, 0x20, 0xc0}));
    REQUIRE(fixed_bytes(1.0) == bytes_of({0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xf0, 0x3f}));
    REQUIRE(fixed_bytes(-0.0) == bytes_of({0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x80}));
    REQUIRE(fixed_bytes(0.1) == bytes_of({0x9a, 0x99, 0x99, 0x99, 0x99, 0x99, 0xb9, 0x3f}));
}

TEST_CASE("writer: byte, raw and length-prefixed bytes") {
    crdt::byte_writer w;
    w.byte(0x00);
    w.byte(0xff);
    const auto payload = bytes_of({0xde, 0xad, 0xbe, 0xef});
    w.raw(payload);
    w.bytes(payload);
    w.bytes({});
    REQUIRE(written(w) ==
            bytes_of({0x00, 0xff, 0xde, 0xad, 0xbe, 0xef, 0x04, 0xde, 0xad, 0xbe, 0xef, 0x00}));
    // A 200-byte payload gets a two-byte length.
    w.clear();
    const std::vector<std::byte> big(200, std::byte{0x5a});
    w.bytes(big);
    REQUIRE(w.size() == 202);
    REQUIRE(written(w)[0] == std::byte{0xc8});
    REQUIRE(written(w)[1] == std::byte{0x01});
}

TEST_CASE("writer: string writes a length prefix and the UTF-8 bytes") {
    crdt::byte_writer w;
    w.string("hi");
    w.string("");
    w.string("\xc3\xa9");
    REQUIRE(written(w) == bytes_of({0x02, 'h', 'i', 0x00, 0x02, 0xc3, 0xa9}));
}

TEST_CASE("writer: string rejects invalid UTF-8 and leaves the buffer unchanged") {
    crdt::byte_writer w;
    w.varint(300);
    const auto before = written(w);
    for (const std::string& bad : {std::string("\xc0\x80"), std::string("abc\xed\xa0\x80"),
                                   std::string("ok\xff"), std::string("\xe2\x82")}) {
        CAPTURE(bad);
        try {
            w.string(bad);
            FAIL("string() accepted invalid UTF-8");
        } catch (const crdt::error& e) {
            REQUIRE(e.cause() == crdt::errc::invalid_utf8);
            REQUIRE(e.code() == crdt::errc::invalid_utf8);
            REQUIRE_THAT(e.what(), Catch::Contains("not valid UTF-8"));
        }
        REQUIRE(written(w) == before);
    }
    // The message names the offending byte.
    REQUIRE_THROWS_WITH(w.string("abc\xed\xa0\x80"), Catch::Contains("byte 3"));
}

TEST_CASE("writer: size, view, clear, reserve and take") {
    crdt::byte_writer w(64);
    REQUIRE(w.size() == 0);
    REQUIRE(w.view().empty());
    w.varint(1);
    w.fixed(std::uint32_t{7});
    REQUIRE(w.size() == 5);
    REQUIRE(w.view().size() == 5);
    w.reserve(1000);
    REQUIRE(w.size() == 5);
    const auto taken = w.take();
    REQUIRE(taken == bytes_of({0x01, 0x07, 0x00, 0x00, 0x00}));
    // take() leaves the writer empty and usable.
    REQUIRE(w.size() == 0);
    REQUIRE(w.view().empty());
    w.byte(9);
    REQUIRE(written(w) == bytes_of({0x09}));
    w.clear();
    REQUIRE(w.size() == 0);
    REQUIRE(w.take().empty());
}

TEST_CASE("writer: everything written reads back") {
    rc::prop("mixed writes round-trip through byte_reader",
             [](std::uint64_t u, std::int64_t s, std::uint32_t f, double d, std::string raw) {
                 // Keep only the ASCII part of the generated string: valid UTF-8.
                 std::string text;
                 for (char c : raw) {
                     if (static_cast<unsigned char>(c) < 0x80) {
                         text.push_back(c);
                     }
                 }
                 crdt::byte_writer w;
                 w.varint(u);
                 w.zigzag(s);
                 w.fixed(f);
                 w.fixed(d);
                 w.string(text);
                 w.bytes(std::as_bytes(std::span<const char>(raw.data(), raw.size())));
                 const auto buf = w.take();
                 crdt::byte_reader r(buf);
                 RC_ASSERT(r.varint() == u);
                 RC_ASSERT(r.zigzag() == s);
                 RC_ASSERT(r.fixed<std::uint32_t>() == f);
                 RC_ASSERT(std::bit_cast<std::uint64_t>(r.fixed<double>()) ==
                           std::bit_cast<std::uint64_t>(d));
                 RC_ASSERT(r.string() == text);
                 const auto b = r.bytes();
                 RC_ASSERT(std::string(reinterpret_cast<const char*>(b.data()), b.size()) == raw);
                 RC_ASSERT(r.empty());
             });
}
