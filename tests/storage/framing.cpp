// Tests of crdt/codec/framing.hpp (kept in tests/storage/ because tests/codec/
// belongs to another suite owner).
#include <crdt/codec/framing.hpp>

#include <catch2/catch.hpp>
#include <rapidcheck.h>
#include <rapidcheck/catch.h>

#include <algorithm>
#include <cstdint>
#include <vector>

namespace {
std::vector<std::byte> to_bytes(const std::vector<std::uint8_t>& v) {
    std::vector<std::byte> out;
    for (auto c : v) {
        out.push_back(static_cast<std::byte>(c));
    }
    return out;
}
} // namespace

TEST_CASE("frames round-trip and detect every single-byte corruption") {
    rc::prop("parse(append(x)) == x",
             [](const std::vector<std::uint8_t>& raw, std::uint8_t t, std::uint32_t seed) {
                 const auto type = static_cast<std::uint8_t>(t == 0 ? 1 : t);
                 const auto payload = to_bytes(raw);
                 auto frame = crdt::make_frame(type, payload, seed);
                 RC_ASSERT(frame.size() == crdt::frame_header_size + payload.size());
                 crdt::frame_view f;
                 RC_ASSERT(crdt::parse_frame(frame, f, seed) == crdt::frame_status::ok);
                 RC_ASSERT(f.type == type);
                 RC_ASSERT(std::vector<std::byte>(f.payload.begin(), f.payload.end()) == payload);
                 // Every prefix is incomplete.
                 for (std::size_t n = 0; n < frame.size(); ++n) {
                     RC_ASSERT(crdt::parse_frame(std::span(frame).first(n), f, seed) !=
                               crdt::frame_status::ok);
                 }
                 // A wrong seed fails.
                 RC_ASSERT(crdt::parse_frame(frame, f, seed ^ 1u) != crdt::frame_status::ok);
                 // Flipping any bit fails.
                 const auto i = *rc::gen::inRange<std::size_t>(0, frame.size());
                 const auto bit = *rc::gen::inRange(0, 8);
                 frame[i] ^= static_cast<std::byte>(1 << bit);
                 RC_ASSERT(crdt::parse_frame(frame, f, seed) != crdt::frame_status::ok);
             });
}

TEST_CASE("mask_crc and unmask_crc are inverses") {
    for (std::uint32_t c : {0u, 1u, 0xffffffffu, 0xe3069283u, 0x12345678u}) {
        CHECK(crdt::unmask_crc(crdt::mask_crc(c)) == c);
    }
}

TEST_CASE("zero-filled bytes never parse as a frame") {
    std::vector<std::byte> zeros(64);
    crdt::frame_view f;
    CHECK(crdt::parse_frame(zeros, f) == crdt::frame_status::corrupt);
}

TEST_CASE("frame_reader reads a sequence and names the offset of a bad frame") {
    std::vector<std::byte> buf;
    crdt::append_frame(buf, 1, std::as_bytes(std::span("abc", 3)));
    crdt::append_frame(buf, 2, {});
    crdt::append_frame(buf, 3, std::as_bytes(std::span("xyz", 3)));
    {
        crdt::frame_reader r(buf, "test.log");
        CHECK(r.next()->type == 1);
        CHECK(r.next()->payload.empty());
        CHECK(r.next()->type == 3);
        CHECK_FALSE(r.next().has_value());
    }
    auto bad = buf;
    bad[crdt::frame_header_size + 3 + 4] ^= std::byte{1}; // second frame's CRC
    crdt::frame_reader r(bad, "test.log");
    r.next();
    try {
        r.next();
        FAIL("no throw");
    } catch (const crdt::error& e) {
        CHECK(e.cause() == crdt::errc::checksum_mismatch);
        CHECK(e.offset() == crdt::frame_header_size + 3);
        CHECK(std::string(e.what()).find("test.log") != std::string::npos);
    }
    auto cut = buf;
    cut.resize(cut.size() - 1);
    crdt::frame_reader rc2(cut, "cut");
    rc2.next();
    rc2.next();
    CHECK_THROWS_AS(rc2.next(), crdt::error);
    std::vector<std::byte> huge(crdt::frame_header_size);
    huge[3] = std::byte{0x7f};
    huge[8] = std::byte{1};
    crdt::frame_reader rh(huge, "huge");
    try {
        rh.next();
        FAIL("no throw");
    } catch (const crdt::error& e) {
        CHECK(e.cause() == crdt::errc::length_out_of_range);
    }
}

TEST_CASE("seal_frame over a payload in place gives the bytes append_frame writes") {
    for (const std::size_t n : {std::size_t{0}, std::size_t{1}, std::size_t{300}}) {
        CAPTURE(n);
        std::vector<std::byte> payload(n);
        for (std::size_t i = 0; i < n; ++i) {
            payload[i] = static_cast<std::byte>(i * 7 + 1);
        }
        std::vector<std::byte> expected;
        crdt::append_frame(expected, 5, payload, 0xabcdu);
        std::vector<std::byte> built(crdt::frame_header_size);
        built.insert(built.end(), payload.begin(), payload.end());
        crdt::seal_frame(built.data(), 5, n, 0xabcdu);
        CHECK(built == expected);
        crdt::frame_view f;
        REQUIRE(crdt::parse_frame(built, f, 0xabcdu) == crdt::frame_status::ok);
        CHECK(f.type == 5);
        CHECK(std::equal(f.payload.begin(), f.payload.end(), payload.begin(), payload.end()));
        if (n != 0) {
            built.back() ^= std::byte{1}; // a payload byte changed
            CHECK(crdt::parse_frame(built, f, 0xabcdu) == crdt::frame_status::corrupt);
        }
    }
}
