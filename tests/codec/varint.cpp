// Tests for crdt/codec/varint.hpp: LEB128 encode/decode, encoded_length,
// the canonical-encoding checks, bounds, and zigzag.
#include <crdt/codec/varint.hpp>

#include <support/seed.hpp>

#include <catch2/catch.hpp>
#include <rapidcheck.h>
#include <rapidcheck/catch.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <limits>
#include <random>
#include <vector>

namespace {

using crdt::varint::decode_status;

std::vector<std::byte> bytes_of(std::initializer_list<unsigned> list) {
    std::vector<std::byte> out;
    for (unsigned b : list) {
        out.push_back(static_cast<std::byte>(b));
    }
    return out;
}

// Encodes into a heap buffer of exactly encoded_length(value) bytes, so an
// overrun is caught by ASan.
std::vector<std::byte> encode(std::uint64_t value) {
    std::vector<std::byte> out(crdt::varint::encoded_length(value));
    std::byte* end = crdt::varint::encode(value, out.data());
    REQUIRE(end == out.data() + out.size());
    return out;
}

struct decoded {
    decode_status status;
    std::uint64_t value;
    std::size_t consumed;
};

// Decodes from a heap copy of exactly `input.size()` bytes (ASan catches any
// read at or past the end).
decoded decode(const std::vector<std::byte>& input) {
    auto* heap = new std::byte[input.size()];
    for (std::size_t i = 0; i < input.size(); ++i) {
        heap[i] = input[i];
    }
    const std::byte* first = heap;
    std::uint64_t value = 0xdeadbeef;
    const auto status = crdt::varint::decode(first, heap + input.size(), value);
    const auto consumed = static_cast<std::size_t>(first - heap);
    delete[] heap;
    return {status, value, consumed};
}

std::vector<std::uint64_t> boundary_values() {
    std::vector<std::uint64_t> values = {0,
                                         1,
                                         127,
                                         128,
                                         (1ull << 14) - 1,
                                         1ull << 14,
                                         1ull << 63,
                                         std::numeric_limits<std::uint64_t>::max(),
                                         std::numeric_limits<std::uint64_t>::max() - 1};
    for (unsigned k = 0; k < 64; ++k) {
        const std::uint64_t p = 1ull << k;
        values.push_back(p - 1);
        values.push_back(p);
        values.push_back(p + 1);
    }
    return values;
}

// The minimal LEB128 length, computed independently of encoded_length.
std::size_t reference_length(std::uint64_t v) {
    std::size_t bits = 1;
    while (bits < 64 && (v >> bits) != 0) {
        ++bits;
    }
    return (bits + 6) / 7;
}

} // namespace

static_assert(crdt::varint::max_length == 10);
static_assert(crdt::varint::encoded_length(0) == 1);
static_assert(crdt::varint::encoded_length(127) == 1);
static_assert(crdt::varint::encoded_length(128) == 2);
static_assert(crdt::varint::encoded_length(300) == 2);
static_assert(crdt::varint::encoded_length(~0ull) == 10);
static_assert(crdt::varint::zigzag_encode(-1) == 1);
static_assert(crdt::varint::zigzag_decode(3) == -2);

TEST_CASE("varint: boundary values round-trip with the minimal length") {
    for (const std::uint64_t v : boundary_values()) {
        CAPTURE(v);
        const auto bytes = encode(v);
        REQUIRE(bytes.size() == crdt::varint::encoded_length(v));
        REQUIRE(bytes.size() == reference_length(v));
        // High bit set on every byte but the last.
        for (std::size_t i = 0; i + 1 < bytes.size(); ++i) {
            REQUIRE((static_cast<unsigned>(bytes[i]) & 0x80u) != 0);
        }
        REQUIRE((static_cast<unsigned>(bytes.back()) & 0x80u) == 0);
        const auto d = decode(bytes);
        REQUIRE(d.status == decode_status::ok);
        REQUIRE(d.value == v);
        REQUIRE(d.consumed == bytes.size());
    }
}

TEST_CASE("varint: known byte sequences") {
    struct known {
        std::uint64_t value;
        std::vector<std::byte> bytes;
    };
    const std::vector<known> cases = {
        {0, bytes_of({0x00})},
        {1, bytes_of({0x01})},
        {127, bytes_of({0x7f})},
        {128, bytes_of({0x80, 0x01})},
        {300, bytes_of({0xac, 0x02})},
        {16383, bytes_of({0xff, 0x7f})},
        {16384, bytes_of({0x80, 0x80, 0x01})},
        {624485, bytes_of({0xe5, 0x8e, 0x26})},
        {1ull << 63, bytes_of({0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01})},
        {~0ull, bytes_of({0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01})},
    };
    for (const auto& c : cases) {
        CAPTURE(c.value);
        REQUIRE(encode(c.value) == c.bytes);
        const auto d = decode(c.bytes);
        REQUIRE(d.status == decode_status::ok);
        REQUIRE(d.value == c.value);
        REQUIRE(d.consumed == c.bytes.size());
    }
}

TEST_CASE("varint: decode stops after the varint and leaves later bytes") {
    auto input = bytes_of({0xac, 0x02, 0x05, 0xff});
    const std::byte* first = input.data();
    std::uint64_t value = 0;
    REQUIRE(crdt::varint::decode(first, input.data() + input.size(), value) == decode_status::ok);
    REQUIRE(value == 300);
    REQUIRE(first == input.data() + 2);
    REQUIRE(crdt::varint::decode(first, input.data() + input.size(), value) == decode_status::ok);
    REQUIRE(value == 5);
    REQUIRE(first == input.data() + 3);
    // 0xff alone: the input ends inside the varint.
    REQUIRE(crdt::varint::decode(first, input.data() + input.size(), value) ==
            decode_status::truncated);
}

TEST_CASE("varint: empty and truncated input") {
    REQUIRE(decode({}).status == decode_status::truncated);
    REQUIRE(decode(bytes_of({0x80})).status == decode_status::truncated);
    REQUIRE(decode(bytes_of({0xff, 0xff})).status == decode_status::truncated);
    // Every proper prefix of every multi-byte encoding is truncated; the
    // prefix is copied into a buffer of exactly its size (ASan: no overread).
    for (const std::uint64_t v : boundary_values()) {
        const auto bytes = encode(v);
        for (std::size_t n = 0; n < bytes.size(); ++n) {
            CAPTURE(v, n);
            const std::vector<std::byte> prefix(bytes.begin(),
                                                bytes.begin() + static_cast<std::ptrdiff_t>(n));
            REQUIRE(decode(prefix).status == decode_status::truncated);
        }
    }
}

TEST_CASE("varint: overlong and out-of-range encodings are rejected") {
    SECTION("11-byte run") {
        std::vector<std::byte> run(11, std::byte{0xff});
        run.back() = std::byte{0x01};
        REQUIRE(decode(run).status == decode_status::overlong);
        std::vector<std::byte> zeros(11, std::byte{0x80});
        zeros.back() = std::byte{0x00};
        REQUIRE(decode(zeros).status == decode_status::overlong);
    }
    SECTION("10 bytes all with the continuation bit") {
        REQUIRE(decode(std::vector<std::byte>(10, std::byte{0xff})).status ==
                decode_status::overlong);
        // Even when more bytes follow.
        REQUIRE(decode(std::vector<std::byte>(20, std::byte{0x80})).status ==
                decode_status::overlong);
    }
    SECTION("10th byte above 1 (value above 2^64-1)") {
        for (unsigned last = 2; last < 0x80; ++last) {
            CAPTURE(last);
            auto input = bytes_of({0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff});
            input.push_back(static_cast<std::byte>(last));
            REQUIRE(decode(input).status == decode_status::overlong);
            auto low = bytes_of({0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80});
            low.push_back(static_cast<std::byte>(last));
            REQUIRE(decode(low).status == decode_status::overlong);
        }
    }
    SECTION("non-minimal encodings") {
        REQUIRE(decode(bytes_of({0x80, 0x00})).status == decode_status::overlong);
        REQUIRE(decode(bytes_of({0xff, 0x80, 0x00})).status == decode_status::overlong);
        REQUIRE(decode(bytes_of({0x81, 0x80, 0x80, 0x00})).status == decode_status::overlong);
        REQUIRE(decode(bytes_of({0xac, 0x82, 0x00})).status == decode_status::overlong);
        auto nine = bytes_of({0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00});
        REQUIRE(decode(nine).status == decode_status::overlong);
    }
    SECTION("the largest accepted encodings still decode") {
        REQUIRE(decode(bytes_of({0x00})).value == 0);
        const auto max =
            decode(bytes_of({0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}));
        REQUIRE(max.status == decode_status::ok);
        REQUIRE(max.value == ~0ull);
    }
}

TEST_CASE("varint: random values round-trip") {
    rc::prop("encode/decode", [](std::uint64_t raw) {
        // Spread over every encoded length, not just RapidCheck's size scale.
        const auto shift = *rc::gen::inRange(0, 64);
        const std::uint64_t v = raw >> shift;
        const auto bytes = encode(v);
        RC_ASSERT(bytes.size() == crdt::varint::encoded_length(v));
        RC_ASSERT(bytes.size() == reference_length(v));
        const auto d = decode(bytes);
        RC_ASSERT(d.status == decode_status::ok);
        RC_ASSERT(d.value == v);
        RC_ASSERT(d.consumed == bytes.size());
    });
}

TEST_CASE("varint: decode of random bytes stays inside the input") {
    const auto seed = crdt_test::seed(1);
    CAPTURE(seed);
    std::mt19937_64 rng(seed);
    for (int iteration = 0; iteration < 3000; ++iteration) {
        std::vector<std::byte> input(static_cast<std::size_t>(rng() % 13));
        for (auto& b : input) {
            // Mostly continuation bytes, to reach the long paths.
            b = static_cast<std::byte>(rng() % 4 != 0 ? (rng() | 0x80u) : rng());
        }
        CAPTURE(iteration, input.size());
        const auto d = decode(input);
        REQUIRE(d.consumed <= input.size());
        if (d.status == decode_status::ok) {
            // An accepted encoding is the canonical one of its value.
            const auto again = encode(d.value);
            REQUIRE(again.size() == d.consumed);
            REQUIRE(std::equal(again.begin(), again.end(), input.begin()));
        } else if (d.status == decode_status::truncated) {
            // Every byte read had the continuation bit set.
            REQUIRE(input.size() < crdt::varint::max_length);
            for (const auto b : input) {
                REQUIRE((static_cast<unsigned>(b) & 0x80u) != 0);
            }
        }
    }
}

TEST_CASE("varint: zigzag mapping") {
    using crdt::varint::zigzag_decode;
    using crdt::varint::zigzag_encode;
    constexpr auto min = std::numeric_limits<std::int64_t>::min();
    constexpr auto max = std::numeric_limits<std::int64_t>::max();
    REQUIRE(zigzag_encode(0) == 0);
    REQUIRE(zigzag_encode(-1) == 1);
    REQUIRE(zigzag_encode(1) == 2);
    REQUIRE(zigzag_encode(-2) == 3);
    REQUIRE(zigzag_encode(2) == 4);
    REQUIRE(zigzag_encode(-64) == 127);
    REQUIRE(zigzag_encode(64) == 128);
    REQUIRE(zigzag_encode(max) == std::numeric_limits<std::uint64_t>::max() - 1);
    REQUIRE(zigzag_encode(min) == std::numeric_limits<std::uint64_t>::max());
    for (std::int64_t v : {std::int64_t{0}, std::int64_t{-1}, std::int64_t{1}, std::int64_t{-2},
                           min, max, min + 1, max - 1}) {
        CAPTURE(v);
        REQUIRE(zigzag_decode(zigzag_encode(v)) == v);
    }
    for (std::uint64_t u = 0; u < 1000; ++u) {
        CAPTURE(u);
        REQUIRE(zigzag_encode(zigzag_decode(u)) == u);
        // Small magnitudes stay small: u -> 0, -1, 1, -2, 2, ...
        const auto expected =
            (u % 2 == 0) ? static_cast<std::int64_t>(u / 2) : -static_cast<std::int64_t>(u / 2) - 1;
        REQUIRE(zigzag_decode(u) == expected);
    }
    rc::prop("zigzag round trip", [](std::int64_t v) {
        RC_ASSERT(zigzag_decode(zigzag_encode(v)) == v);
        // The magnitude (one's complement for negatives) lands in the high 63 bits.
        const std::uint64_t z = zigzag_encode(v);
        RC_ASSERT(z / 2 ==
                  (v < 0 ? ~static_cast<std::uint64_t>(v) : static_cast<std::uint64_t>(v)));
    });
}
