// Tests for crdt/codec/codec.hpp: round trips of every provided codec<T>,
// the exact wire format, rejection of bad input (with errc and offset),
// allocation bounded by the input, the encodable concept, and a user type.
#include <crdt/codec/codec.hpp>
#include <crdt/codec/varint.hpp>
#include <crdt/core/error.hpp>
#include <crdt/testing/codec_laws.hpp>

#include <support/seed.hpp>

#include <catch2/catch.hpp>
#include <rapidcheck.h>
#include <rapidcheck/catch.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

namespace {

std::vector<std::byte> bytes_of(std::initializer_list<unsigned> list) {
    std::vector<std::byte> out;
    for (unsigned b : list) {
        out.push_back(static_cast<std::byte>(b));
    }
    return out;
}

template <class T>
void require_decode_error(const std::vector<std::byte>& input, crdt::errc cause,
                          std::size_t offset) {
    try {
        (void)crdt::decode<T>(input, "test input");
    } catch (const crdt::error& e) {
        CAPTURE(e.what());
        REQUIRE(e.cause() == cause);
        REQUIRE(e.offset() == std::optional<std::size_t>(offset));
        REQUIRE_THAT(e.what(), Catch::Contains("decoding test input"));
        return;
    }
    FAIL("decode accepted bad input");
}

// A user type with its own codec, as the documentation shows.
struct point {
    std::int32_t x = 0;
    std::int32_t y = 0;
    friend bool operator==(const point&, const point&) = default;
};

struct no_codec {
    int value = 0;
};

// Records the largest single allocation, to show that decoding a huge
// element count does not allocate for it.
inline std::size_t largest_allocation = 0;

template <class T>
struct recording_allocator {
    using value_type = T;
    recording_allocator() = default;
    template <class U>
    recording_allocator(const recording_allocator<U>&) noexcept {}
    T* allocate(std::size_t n) {
        largest_allocation = std::max(largest_allocation, n * sizeof(T));
        return std::allocator<T>{}.allocate(n);
    }
    void deallocate(T* p, std::size_t n) noexcept { std::allocator<T>{}.deallocate(p, n); }
    template <class U>
    friend bool operator==(const recording_allocator&, const recording_allocator<U>&) noexcept {
        return true;
    }
};

template <class T>
std::uint64_t float_bits(T value) {
    if constexpr (sizeof(T) == 4) {
        return std::bit_cast<std::uint32_t>(value);
    } else {
        return std::bit_cast<std::uint64_t>(value);
    }
}

} // namespace

template <>
struct crdt::codec<point> {
    static void encode(crdt::byte_writer& w, const point& p) {
        w.zigzag(p.x);
        w.zigzag(p.y);
    }
    static point decode(crdt::byte_reader& r) {
        point p;
        p.x = r.zigzag_as<std::int32_t>("point.x");
        p.y = r.zigzag_as<std::int32_t>("point.y");
        return p;
    }
};

// --- the encodable concept ---------------------------------------------------

static_assert(crdt::encodable<bool>);
static_assert(crdt::encodable<char>);
// wchar_t differs in width and signedness between platforms: no codec.
static_assert(!crdt::encodable<wchar_t>);

TEST_CASE("codec: char is one byte with the same meaning on every platform") {
    CHECK(crdt::encode('A') == bytes_of({0x41}));
    CHECK(crdt::encode(static_cast<char>(-1)) == bytes_of({0xff}));
    CHECK(crdt::decode<char>(bytes_of({0xe9})) == static_cast<char>(0xe9));
}
static_assert(crdt::encodable<std::uint8_t>);
static_assert(crdt::encodable<std::int64_t>);
static_assert(crdt::encodable<float>);
static_assert(crdt::encodable<double>);
static_assert(crdt::encodable<std::byte>);
static_assert(crdt::encodable<std::string>);
static_assert(crdt::encodable<std::vector<std::byte>>);
static_assert(crdt::encodable<std::vector<int>>);
static_assert(crdt::encodable<std::array<std::uint16_t, 3>>);
static_assert(crdt::encodable<std::optional<std::string>>);
static_assert(crdt::encodable<std::pair<int, std::string>>);
static_assert(crdt::encodable<std::tuple<int, double, std::vector<std::byte>>>);
static_assert(crdt::encodable<std::vector<std::optional<std::pair<std::string, std::int8_t>>>>);
static_assert(crdt::encodable<point>);
static_assert(crdt::encodable<std::vector<point>>);
static_assert(!crdt::encodable<no_codec>);
static_assert(!crdt::encodable<long double>);
static_assert(!crdt::encodable<const char*>);
static_assert(!crdt::encodable<std::vector<no_codec>>);
static_assert(!crdt::encodable<std::optional<no_codec>>);
static_assert(!crdt::encodable<std::array<no_codec, 2>>);
static_assert(!crdt::encodable<std::pair<int, no_codec>>);
static_assert(!crdt::encodable<std::tuple<int, no_codec, bool>>);

// --- round trips -------------------------------------------------------------

TEST_CASE("codec: bool and std::byte round-trip") {
    crdt::testing::check_round_trip(true);
    crdt::testing::check_round_trip(false);
    REQUIRE(crdt::encode(true) == bytes_of({0x01}));
    REQUIRE(crdt::encode(false) == bytes_of({0x00}));
    for (unsigned b : {0x00u, 0x01u, 0x7fu, 0x80u, 0xffu}) {
        CAPTURE(b);
        crdt::testing::check_round_trip(static_cast<std::byte>(b));
        REQUIRE(crdt::encode(static_cast<std::byte>(b)) == bytes_of({b}));
    }
}

TEMPLATE_TEST_CASE("codec: integers round-trip at their limits", "", std::uint8_t, std::uint16_t,
                   std::uint32_t, std::uint64_t, std::int8_t, std::int16_t, std::int32_t,
                   std::int64_t, signed char, unsigned char, char8_t, char16_t, char32_t, long,
                   unsigned long, long long, unsigned long long) {
    using T = TestType;
    using limits = std::numeric_limits<T>;
    std::vector<T> values = {limits::min(), static_cast<T>(limits::min() + 1), T{0},
                             T{1},          static_cast<T>(limits::max() - 1), limits::max()};
    if constexpr (std::is_signed_v<T>) {
        values.push_back(T{-1});
    }
    for (const T v : values) {
        CAPTURE(+v);
        crdt::testing::check_round_trip(v);
        // Unsigned values are plain varints, signed values zigzag varints.
        const auto bytes = crdt::encode(v);
        if constexpr (std::is_signed_v<T>) {
            REQUIRE(bytes.size() == crdt::varint::encoded_length(crdt::varint::zigzag_encode(v)));
        } else {
            REQUIRE(bytes.size() == crdt::varint::encoded_length(v));
        }
    }
    // One past the type's range is rejected as overlong_varint (narrowing).
    if constexpr (sizeof(T) < 8) {
        crdt::byte_writer w;
        if constexpr (std::is_signed_v<T>) {
            w.zigzag(static_cast<std::int64_t>(limits::max()) + 1);
        } else {
            w.varint(static_cast<std::uint64_t>(limits::max()) + 1);
        }
        require_decode_error<T>(w.take(), crdt::errc::overlong_varint, 0);
    }
    if constexpr (std::is_signed_v<T> && sizeof(T) < 8) {
        crdt::byte_writer w;
        w.zigzag(static_cast<std::int64_t>(limits::min()) - 1);
        require_decode_error<T>(w.take(), crdt::errc::overlong_varint, 0);
    }
}

TEST_CASE("codec: random integers round-trip") {
    rc::prop("uint64", [](std::uint64_t v) { crdt::testing::check_round_trip(v); });
    rc::prop("int64", [](std::int64_t v) { crdt::testing::check_round_trip(v); });
    rc::prop("int16", [](std::int16_t v) { crdt::testing::check_round_trip(v); });
    rc::prop("uint8", [](std::uint8_t v) { crdt::testing::check_round_trip(v); });
}

TEMPLATE_TEST_CASE("codec: floating point round-trips bit for bit", "", float, double) {
    using T = TestType;
    using limits = std::numeric_limits<T>;
    for (const T v : {T{0}, -T{0}, T{1}, T{-1.5}, limits::min(), limits::denorm_min(),
                      -limits::denorm_min(), limits::max(), limits::lowest(), limits::epsilon(),
                      limits::infinity(), -limits::infinity()}) {
        CAPTURE(v);
        crdt::testing::check_round_trip(v);
        const T back = crdt::decode<T>(crdt::encode(v));
        REQUIRE(float_bits(back) == float_bits(v));
        REQUIRE(crdt::encode(v).size() == sizeof(T));
    }
    // -0.0 keeps its sign.
    REQUIRE(std::signbit(crdt::decode<T>(crdt::encode(-T{0}))));
    // NaNs: quiet, signaling, negative, with payloads.
    std::vector<T> nans;
    if constexpr (sizeof(T) == 4) {
        for (std::uint32_t bits :
             {0x7fc00000u, 0x7f800001u, 0xffc00000u, 0x7fc12345u, 0xffffffffu}) {
            nans.push_back(std::bit_cast<float>(bits));
        }
    } else {
        for (std::uint64_t bits : {0x7ff8000000000000u, 0x7ff0000000000001u, 0xfff8000000000000u,
                                   0x7ff8000000000123u, 0xffffffffffffffffu}) {
            nans.push_back(std::bit_cast<double>(bits));
        }
    }
    for (const T nan : nans) {
        CAPTURE(float_bits(nan));
        REQUIRE(std::isnan(nan));
        const auto bytes = crdt::encode(nan);
        const T back = crdt::decode<T>(bytes);
        REQUIRE(float_bits(back) == float_bits(nan));
        // check_round_trip compares values that are not equal to themselves
        // through their encodings.
        crdt::testing::check_round_trip(nan);
    }
    rc::prop("random bit patterns", [] {
        const auto bits = *rc::gen::arbitrary<std::uint64_t>();
        T v;
        if constexpr (sizeof(T) == 4) {
            v = std::bit_cast<float>(static_cast<std::uint32_t>(bits));
        } else {
            v = std::bit_cast<double>(bits);
        }
        RC_ASSERT(float_bits(crdt::decode<T>(crdt::encode(v))) == float_bits(v));
    });
}

TEST_CASE("codec: strings and byte vectors round-trip") {
    for (const std::string& s :
         {std::string(), std::string("hello"), std::string("h\xc3\xa9llo"),
          std::string("\xf4\x8f\xbf\xbf"), std::string("a\0b", 3), std::string(300, 'x')}) {
        CAPTURE(s);
        crdt::testing::check_round_trip(s);
        REQUIRE(crdt::encode(s).size() == crdt::varint::encoded_length(s.size()) + s.size());
    }
    for (const auto& b : {std::vector<std::byte>{}, bytes_of({0x00}), bytes_of({0xff, 0x80, 0x00}),
                          std::vector<std::byte>(200, std::byte{0xaa})}) {
        CAPTURE(b.size());
        crdt::testing::check_round_trip(b);
    }
    rc::prop("random byte vectors", [](const std::vector<std::uint8_t>& raw) {
        std::vector<std::byte> b(raw.size());
        std::transform(raw.begin(), raw.end(), b.begin(),
                       [](std::uint8_t x) { return static_cast<std::byte>(x); });
        crdt::testing::check_round_trip(b);
    });
}

TEST_CASE("codec: containers round-trip") {
    crdt::testing::check_round_trip(std::vector<int>{});
    crdt::testing::check_round_trip(std::vector<int>{1, -2, 300, std::numeric_limits<int>::min()});
    crdt::testing::check_round_trip(std::vector<std::string>{"", "a", "\xc3\xa9"});
    crdt::testing::check_round_trip(std::vector<bool>{true, false, true});
    crdt::testing::check_round_trip(std::vector<std::vector<std::uint8_t>>{{}, {1}, {2, 255}});
    crdt::testing::check_round_trip(std::vector<double>{0.5, -0.0, 1e300});
    crdt::testing::check_round_trip(std::array<std::uint16_t, 3>{1, 300, 65535});
    crdt::testing::check_round_trip(std::array<std::string, 2>{"x", ""});
    crdt::testing::check_round_trip(std::optional<int>{});
    crdt::testing::check_round_trip(std::optional<int>{-7});
    crdt::testing::check_round_trip(std::optional<std::string>{"opt"});
    crdt::testing::check_round_trip(std::optional<std::optional<int>>{});
    crdt::testing::check_round_trip(std::optional<std::optional<int>>{std::optional<int>{}});
    crdt::testing::check_round_trip(std::optional<std::optional<int>>{5});
    crdt::testing::check_round_trip(std::pair<std::uint8_t, std::string>{200, "pair"});
    crdt::testing::check_round_trip(
        std::tuple<int, std::string, std::optional<double>>{-5, "h\xc3\xa9", 2.5});
    crdt::testing::check_round_trip(
        std::tuple<bool, std::byte, std::vector<std::byte>>{true, std::byte{7}, bytes_of({1, 2})});
}

TEST_CASE("codec: nested combinations round-trip") {
    using nested = std::vector<std::optional<std::pair<std::string, std::vector<std::int64_t>>>>;
    const nested value = {std::nullopt, std::pair<std::string, std::vector<std::int64_t>>{"a", {}},
                          std::pair<std::string, std::vector<std::int64_t>>{
                              "\xe2\x82\xac", {std::numeric_limits<std::int64_t>::min(), 0, 1}}};
    crdt::testing::check_round_trip(value);
    using record = std::tuple<std::array<std::uint16_t, 3>, std::optional<std::string>,
                              std::vector<std::byte>, std::vector<std::pair<std::string, double>>>;
    crdt::testing::check_round_trip(record{{1, 2, 3}, "name", bytes_of({0xff}), {{"k", 1.25}}});
    crdt::testing::check_round_trip(record{{}, std::nullopt, {}, {}});
    rc::prop("random nested values",
             [](const std::vector<std::tuple<std::uint32_t, bool, std::int16_t>>& raw,
                const std::tuple<bool, std::int64_t, std::vector<std::uint8_t>>& t) {
                 std::vector<std::pair<std::uint32_t, std::optional<std::int16_t>>> v;
                 for (const auto& [a, present, b] : raw) {
                     v.emplace_back(a, present ? std::optional<std::int16_t>(b) : std::nullopt);
                 }
                 crdt::testing::check_round_trip(v);
                 crdt::testing::check_round_trip(t);
                 crdt::testing::check_round_trip(std::make_pair(v, t));
             });
}

TEST_CASE("codec: exact wire format") {
    REQUIRE(crdt::encode(std::uint8_t{200}) == bytes_of({0xc8, 0x01}));
    REQUIRE(crdt::encode(std::int32_t{-1}) == bytes_of({0x01}));
    REQUIRE(crdt::encode(std::int32_t{1}) == bytes_of({0x02}));
    REQUIRE(crdt::encode(std::uint64_t{300}) == bytes_of({0xac, 0x02}));
    REQUIRE(crdt::encode(1.0f) == bytes_of({0x00, 0x00, 0x80, 0x3f}));
    REQUIRE(crdt::encode(std::string("hi")) == bytes_of({0x02, 'h', 'i'}));
    REQUIRE(crdt::encode(bytes_of({0xaa})) == bytes_of({0x01, 0xaa}));
    REQUIRE(crdt::encode(std::vector<std::uint16_t>{1, 300}) == bytes_of({0x02, 0x01, 0xac, 0x02}));
    // Arrays have no count: the size is part of the type.
    REQUIRE(crdt::encode(std::array<std::uint8_t, 3>{1, 2, 3}) == bytes_of({0x01, 0x02, 0x03}));
    REQUIRE(crdt::encode(std::optional<int>{}) == bytes_of({0x00}));
    REQUIRE(crdt::encode(std::optional<int>{-1}) == bytes_of({0x01, 0x01}));
    REQUIRE(crdt::encode(std::optional<std::optional<int>>{std::optional<int>{}}) ==
            bytes_of({0x01, 0x00}));
    REQUIRE(crdt::encode(std::pair<std::uint8_t, bool>{5, true}) == bytes_of({0x05, 0x01}));
    // Tuples and arrays decode their elements in order.
    REQUIRE(crdt::encode(std::tuple<std::uint8_t, std::uint8_t, std::uint8_t>{1, 2, 3}) ==
            bytes_of({0x01, 0x02, 0x03}));
    REQUIRE(crdt::decode<std::tuple<std::uint8_t, std::uint8_t, std::uint8_t>>(
                bytes_of({0x04, 0x05, 0x06})) ==
            std::tuple<std::uint8_t, std::uint8_t, std::uint8_t>{4, 5, 6});
    REQUIRE(crdt::decode<std::array<std::uint8_t, 3>>(bytes_of({0x04, 0x05, 0x06})) ==
            std::array<std::uint8_t, 3>{4, 5, 6});
    REQUIRE(crdt::decode<std::pair<std::string, std::uint8_t>>(bytes_of({0x01, 'z', 0x09})) ==
            std::pair<std::string, std::uint8_t>{"z", 9});
}

// --- rejection of bad input ----------------------------------------------------

TEST_CASE("codec: bool and optional flags must be 0 or 1") {
    require_decode_error<bool>(bytes_of({0x02}), crdt::errc::invalid_value, 0);
    require_decode_error<bool>(bytes_of({0xff}), crdt::errc::invalid_value, 0);
    require_decode_error<bool>({}, crdt::errc::truncated, 0);
    require_decode_error<std::optional<int>>(bytes_of({0x02, 0x00}), crdt::errc::invalid_value, 0);
    require_decode_error<std::vector<bool>>(bytes_of({0x03, 0x01, 0x00, 0x05}),
                                            crdt::errc::invalid_value, 3);
    REQUIRE_THROWS_WITH(crdt::decode<bool>(bytes_of({0x02})), Catch::Contains("bool"));
}

TEST_CASE("codec: narrowing overflow is overlong_varint") {
    require_decode_error<std::uint8_t>(bytes_of({0x80, 0x02}), crdt::errc::overlong_varint, 0);
    crdt::byte_writer w;
    w.zigzag(32768);
    require_decode_error<std::int16_t>(w.take(), crdt::errc::overlong_varint, 0);
    w.zigzag(-32769);
    require_decode_error<std::int16_t>(w.take(), crdt::errc::overlong_varint, 0);
    // Inside a container the offset is the element's.
    require_decode_error<std::vector<std::uint8_t>>(bytes_of({0x02, 0x05, 0x80, 0x02}),
                                                    crdt::errc::overlong_varint, 2);
    require_decode_error<std::pair<std::uint8_t, std::int16_t>>(bytes_of({0x01, 0x80, 0x80, 0x04}),
                                                                crdt::errc::overlong_varint, 1);
}

TEST_CASE("codec: truncated values") {
    require_decode_error<std::uint32_t>({}, crdt::errc::truncated, 0);
    require_decode_error<std::uint32_t>(bytes_of({0x80}), crdt::errc::truncated, 0);
    require_decode_error<double>(bytes_of({0x00, 0x00, 0x00}), crdt::errc::truncated, 0);
    require_decode_error<std::vector<std::uint64_t>>(bytes_of({0x03, 0x01, 0x02, 0x80}),
                                                     crdt::errc::truncated, 3);
    require_decode_error<std::array<std::uint16_t, 3>>(bytes_of({0x01, 0x02}),
                                                       crdt::errc::truncated, 2);
    require_decode_error<std::optional<std::string>>(bytes_of({0x01}), crdt::errc::truncated, 1);
    require_decode_error<std::tuple<int, std::string>>(bytes_of({0x02}), crdt::errc::truncated, 1);
}

TEST_CASE("codec: a vector count larger than the input is rejected before allocating") {
    using vec = std::vector<std::uint32_t, recording_allocator<std::uint32_t>>;
    static_assert(crdt::encodable<vec>);
    // Count 2^40 followed by three bytes.
    crdt::byte_writer w;
    w.varint(std::uint64_t{1} << 40);
    w.raw(bytes_of({0x01, 0x02, 0x03}));
    largest_allocation = 0;
    require_decode_error<vec>(w.take(), crdt::errc::length_out_of_range, 0);
    REQUIRE(largest_allocation == 0);
    // Count 2^64-1.
    largest_allocation = 0;
    require_decode_error<vec>(
        bytes_of({0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}),
        crdt::errc::length_out_of_range, 0);
    REQUIRE(largest_allocation == 0);
    // One more than the bytes left.
    require_decode_error<vec>(bytes_of({0x04, 0x01, 0x02, 0x03}), crdt::errc::length_out_of_range,
                              0);
    // Exactly as many elements as bytes: accepted, and the reservation is
    // bounded by the input.
    largest_allocation = 0;
    const auto decoded = crdt::decode<vec>(bytes_of({0x03, 0x01, 0x02, 0x03}));
    REQUIRE(decoded == vec{1, 2, 3});
    REQUIRE(largest_allocation <= 3 * sizeof(std::uint32_t));

    require_decode_error<std::vector<std::string>>(bytes_of({0xe8, 0x07, 0x00, 0x00}),
                                                   crdt::errc::length_out_of_range, 0);
    require_decode_error<std::string>(bytes_of({0x05, 'a'}), crdt::errc::length_out_of_range, 0);
    require_decode_error<std::vector<std::byte>>(bytes_of({0x02, 0x01}),
                                                 crdt::errc::length_out_of_range, 0);
}

TEST_CASE("codec: strings must be UTF-8 both ways") {
    require_decode_error<std::string>(bytes_of({0x03, 'a', 0xc0, 0x80}), crdt::errc::invalid_utf8,
                                      2);
    require_decode_error<std::vector<std::string>>(bytes_of({0x02, 0x01, 'a', 0x01, 0xff}),
                                                   crdt::errc::invalid_utf8, 4);
    try {
        (void)crdt::encode(std::string("bad \xed\xa0\x80"));
        FAIL("encode accepted invalid UTF-8");
    } catch (const crdt::error& e) {
        REQUIRE(e.cause() == crdt::errc::invalid_utf8);
    }
}

TEST_CASE("codec: crdt::decode rejects trailing bytes") {
    require_decode_error<std::uint8_t>(bytes_of({0x01, 0x02}), crdt::errc::trailing_bytes, 1);
    require_decode_error<std::string>(bytes_of({0x01, 'a', 0x00}), crdt::errc::trailing_bytes, 2);
    require_decode_error<std::optional<int>>(bytes_of({0x00, 0x00}), crdt::errc::trailing_bytes, 1);
    try {
        (void)crdt::decode<bool>(bytes_of({0x01, 0x01, 0x01}), "my blob");
        FAIL("trailing bytes accepted");
    } catch (const crdt::error& e) {
        REQUIRE(e.cause() == crdt::errc::trailing_bytes);
        REQUIRE_THAT(e.what(), Catch::Contains("my blob") && Catch::Contains("2 unread bytes"));
    }
    // encode_into appends: two values in a row decode one after the other.
    crdt::byte_writer w;
    crdt::encode_into(w, std::string("one"));
    crdt::encode_into(w, std::uint16_t{2});
    const auto buf = w.take();
    crdt::byte_reader r(buf);
    REQUIRE(crdt::codec<std::string>::decode(r) == "one");
    REQUIRE(crdt::codec<std::uint16_t>::decode(r) == 2);
    REQUIRE(r.empty());
}

// --- a user type -------------------------------------------------------------

TEST_CASE("codec: a user struct with its own codec") {
    const point p{-3, 1'000'000};
    crdt::testing::check_round_trip(p);
    REQUIRE(crdt::encode(p) == bytes_of({0x05, 0x80, 0x89, 0x7a}));
    REQUIRE(crdt::decode<point>(crdt::encode(p)) == p);
    const std::vector<point> points = {
        {0, 0},
        {1, -1},
        {std::numeric_limits<std::int32_t>::min(), std::numeric_limits<std::int32_t>::max()}};
    crdt::testing::check_round_trip(points);
    crdt::testing::check_round_trip(std::optional<point>{p});
    crdt::testing::check_round_trip(std::pair<point, std::string>{p, "label"});
    // Errors name the user's field.
    crdt::byte_writer w;
    w.zigzag(1);
    w.zigzag(std::int64_t{1} << 40);
    try {
        (void)crdt::decode<point>(w.take(), "point blob");
        FAIL("out-of-range y accepted");
    } catch (const crdt::error& e) {
        REQUIRE(e.cause() == crdt::errc::overlong_varint);
        REQUIRE(e.offset() == std::optional<std::size_t>(1));
        REQUIRE_THAT(e.what(), Catch::Contains("point blob") && Catch::Contains("point.y"));
    }
    require_decode_error<point>(bytes_of({0x02}), crdt::errc::truncated, 1);
}

// --- robustness ----------------------------------------------------------------

TEST_CASE("codec: decoders are robust against random and mutated input") {
    const auto seed = crdt_test::seed(30);
    CAPTURE(seed);
    using crdt::testing::check_decoder_robustness;
    check_decoder_robustness<std::uint64_t>({crdt::encode(std::uint64_t{300})}, seed, 500);
    check_decoder_robustness<std::int16_t>({crdt::encode(std::int16_t{-300})}, seed + 1, 500);
    check_decoder_robustness<bool>({crdt::encode(true)}, seed + 2, 300);
    check_decoder_robustness<double>({crdt::encode(1.5)}, seed + 3, 1000);
    check_decoder_robustness<float>({crdt::encode(-0.0f)}, seed + 4, 1000);
    check_decoder_robustness<std::string>({crdt::encode(std::string("h\xc3\xa9llo"))}, seed + 5,
                                          1000);
    check_decoder_robustness<std::vector<std::byte>>({crdt::encode(bytes_of({1, 2, 3}))}, seed + 6,
                                                     500);
    check_decoder_robustness<std::vector<std::uint32_t>>(
        {crdt::encode(std::vector<std::uint32_t>{1, 70000, 3}),
         crdt::encode(std::vector<std::uint32_t>{})},
        seed + 7, 1000);
    check_decoder_robustness<std::optional<std::pair<std::int8_t, std::string>>>(
        {crdt::encode(std::optional<std::pair<std::int8_t, std::string>>{{-1, "x"}})}, seed + 8,
        1000);
    check_decoder_robustness<
        std::tuple<bool, std::array<std::uint8_t, 2>, std::vector<std::string>>>(
        {crdt::encode(std::tuple<bool, std::array<std::uint8_t, 2>, std::vector<std::string>>{
            false, {1, 2}, {"a", "bc"}})},
        seed + 9, 1000);
    check_decoder_robustness<std::vector<point>>(
        {crdt::encode(std::vector<point>{{1, 2}, {-3, 4}})}, seed + 10, 1000);
    // Without samples: random byte strings only.
    check_decoder_robustness<std::vector<std::optional<std::string>>>({}, seed + 11, 500);
    SUCCEED("no decoder threw anything but crdt::error");
}
