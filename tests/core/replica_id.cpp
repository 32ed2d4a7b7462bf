// Tests of crdt/core/replica_id.hpp: replica_id, replica_id128, agent_id.
#include <crdt/codec/utf8.hpp>
#include <crdt/core/concepts.hpp>
#include <crdt/core/replica_id.hpp>
#include <crdt/testing/codec_laws.hpp>

#include "helpers.hpp"
#include <support/seed.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <unordered_set>
#include <utility>
#include <vector>

// --- concept checks ----------------------------------------------------------

// (A named namespace: in an anonymous one, clang warns that the unused
// defaulted operators are never emitted.)
namespace concept_probe {

// Each of these misses exactly one requirement of replica_identifier.
struct int_like_unordered { // equality, hash, codec; no order
    int v = 0;
    friend bool operator==(const int_like_unordered&, const int_like_unordered&) = default;
};
struct int_like_unhashed { // order, codec; no hash
    int v = 0;
    friend auto operator<=>(const int_like_unhashed&, const int_like_unhashed&) = default;
};
struct int_like_no_codec { // order, hash; no codec
    int v = 0;
    friend auto operator<=>(const int_like_no_codec&, const int_like_no_codec&) = default;
};
struct int_like_complete { // everything: the positive control for the three above
    int v = 0;
    friend auto operator<=>(const int_like_complete&, const int_like_complete&) = default;
};

} // namespace concept_probe

using concept_probe::int_like_complete;
using concept_probe::int_like_no_codec;
using concept_probe::int_like_unhashed;
using concept_probe::int_like_unordered;

template <>
struct std::hash<int_like_unordered> {
    std::size_t operator()(const int_like_unordered& x) const noexcept {
        return std::hash<int>{}(x.v);
    }
};
template <>
struct std::hash<int_like_no_codec> {
    std::size_t operator()(const int_like_no_codec& x) const noexcept {
        return std::hash<int>{}(x.v);
    }
};
template <>
struct std::hash<int_like_complete> {
    std::size_t operator()(const int_like_complete& x) const noexcept {
        return std::hash<int>{}(x.v);
    }
};

template <>
struct crdt::codec<int_like_unordered> {
    static void encode(byte_writer& w, const int_like_unordered& x) { w.zigzag(x.v); }
    static int_like_unordered decode(byte_reader& r) { return {r.zigzag_as<int>()}; }
};
template <>
struct crdt::codec<int_like_unhashed> {
    static void encode(byte_writer& w, const int_like_unhashed& x) { w.zigzag(x.v); }
    static int_like_unhashed decode(byte_reader& r) { return {r.zigzag_as<int>()}; }
};
template <>
struct crdt::codec<int_like_complete> {
    static void encode(byte_writer& w, const int_like_complete& x) { w.zigzag(x.v); }
    static int_like_complete decode(byte_reader& r) { return {r.zigzag_as<int>()}; }
};

static_assert(crdt::replica_identifier<crdt::replica_id>);
static_assert(crdt::replica_identifier<crdt::replica_id128>);
static_assert(crdt::replica_identifier<crdt::agent_id>);
static_assert(crdt::replica_identifier<int_like_complete>);
static_assert(!crdt::replica_identifier<int_like_unordered>);
static_assert(!crdt::replica_identifier<int_like_unhashed>);
static_assert(!crdt::replica_identifier<int_like_no_codec>);
static_assert(!crdt::replica_identifier<int*>);          // ordered and hashable, but no codec
static_assert(!crdt::replica_identifier<std::set<int>>); // no hash, no codec

// The orders are strong: equal ids are interchangeable.
static_assert(
    std::is_same_v<decltype(crdt::replica_id() <=> crdt::replica_id()), std::strong_ordering>);
static_assert(std::is_same_v<decltype(crdt::replica_id128() <=> crdt::replica_id128()),
                             std::strong_ordering>);
static_assert(
    std::is_same_v<decltype(crdt::agent_id() <=> crdt::agent_id()), std::strong_ordering>);

// --- helpers -----------------------------------------------------------------

namespace {

// Byte-wise reference order for agent names (unsigned bytes, shorter prefix first).
bool bytes_less(const std::string& a, const std::string& b) {
    return std::lexicographical_compare(a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) {
        return static_cast<unsigned char>(x) < static_cast<unsigned char>(y);
    });
}

// A random valid UTF-8 name of up to `max_cps` code points mixing all widths.
std::string random_name(std::mt19937_64& rng, std::size_t max_cps) {
    static constexpr std::uint32_t samples[] = {
        'a',   'A',    'z',    'Z',    '0',    '-',    0x7f,    0x80,    0xe9,    0x7ff,
        0x800, 0x20ac, 0xd7ff, 0xe000, 0xfffd, 0xffff, 0x10000, 0x1f600, 0x10ffff};
    std::string s;
    const std::size_t n = core_test::uniform(rng, 0, max_cps);
    for (std::size_t i = 0; i < n; ++i) {
        crdt::utf8::append(s, samples[core_test::uniform(rng, 0, std::size(samples) - 1)]);
    }
    return s;
}

template <class R>
std::vector<std::vector<std::byte>> encodings_of(const std::vector<R>& ids) {
    std::vector<std::vector<std::byte>> out;
    for (const auto& id : ids) {
        out.push_back(crdt::encode(id));
    }
    return out;
}

} // namespace

// --- replica_id --------------------------------------------------------------

TEST_CASE("replica_id: order and equality follow the numeric value") {
    const std::uint64_t seed = crdt_test::seed(1);
    CAPTURE(seed);
    std::mt19937_64 rng(seed);
    CHECK(crdt::replica_id(1) < crdt::replica_id(2));
    CHECK(crdt::replica_id() == crdt::replica_id(0));
    CHECK(crdt::replica_id(std::numeric_limits<std::uint64_t>::max()) > crdt::replica_id(0));
    for (int i = 0; i < 500; ++i) {
        // Mix full-range values with small ones so equal pairs occur.
        const std::uint64_t a = i % 2 == 0 ? rng() : rng() % 4;
        const std::uint64_t b = i % 2 == 0 ? rng() : rng() % 4;
        CAPTURE(a, b);
        const crdt::replica_id x(a);
        const crdt::replica_id y(b);
        CHECK(x.value() == a);
        CHECK((x < y) == (a < b));
        CHECK((x == y) == (a == b));
        CHECK((x <=> y) == (a <=> b));
    }
}

TEST_CASE("replica_id: equal ids hash equally, distinct ids spread") {
    const std::hash<crdt::replica_id> h;
    std::unordered_set<std::size_t> hashes;
    for (std::uint64_t v = 0; v < 1000; ++v) {
        const crdt::replica_id a(v);
        const crdt::replica_id b = crdt::replica_id::parse(a.to_string());
        CHECK(h(a) == h(b));
        hashes.insert(h(a));
    }
    // Sequential ids must not collide (the hash is a bijection on 64 bits).
    CHECK(hashes.size() == 1000u);
    std::unordered_set<crdt::replica_id> set;
    set.insert(crdt::replica_id(5));
    set.insert(crdt::replica_id(5));
    set.insert(crdt::replica_id(6));
    CHECK(set.size() == 2u);
}

TEST_CASE("replica_id: to_string and parse round trip") {
    CHECK(crdt::replica_id(0x0123456789abcdefull).to_string() == "0123456789abcdef");
    CHECK(crdt::replica_id(0).to_string() == "0000000000000000");
    CHECK(crdt::replica_id::parse("0123456789ABCDEF") == crdt::replica_id(0x0123456789abcdefull));
    CHECK(crdt::replica_id::parse("ffffffffffffffff").value() ==
          std::numeric_limits<std::uint64_t>::max());
    const std::uint64_t seed = crdt_test::seed(2);
    CAPTURE(seed);
    std::mt19937_64 rng(seed);
    for (int i = 0; i < 200; ++i) {
        const crdt::replica_id id(rng());
        const std::string text = id.to_string();
        CAPTURE(text);
        CHECK(text.size() == 16u);
        CHECK(crdt::replica_id::parse(text) == id);
    }
}

TEST_CASE("replica_id: parse rejects malformed text") {
    const char* const bad[] = {"",
                               "0123456789abcde",   // 15 digits
                               "0123456789abcdef0", // 17 digits
                               "0123456789abcdeg",  // not hex
                               " 123456789abcdef",  // space
                               "-123456789abcdef",  // sign
                               "0x23456789abcdef",  // prefix
                               "0123456789abcd\xc3\xa9"};
    for (const char* text : bad) {
        CAPTURE(text);
        const crdt::error e = core_test::caught_error([&] { (void)crdt::replica_id::parse(text); });
        CHECK(e.cause() == crdt::errc::invalid_value);
        CHECK(std::string(e.what()).find("replica_id") != std::string::npos);
    }
}

TEST_CASE("replica_id: random() draws distinct ids") {
    std::set<crdt::replica_id> ids;
    for (int i = 0; i < 200; ++i) {
        ids.insert(crdt::replica_id::random());
    }
    CHECK(ids.size() == 200u);
}

TEST_CASE("replica_id: codec round trip and layout") {
    const std::uint64_t seed = crdt_test::seed(3);
    CAPTURE(seed);
    std::mt19937_64 rng(seed);
    std::vector<crdt::replica_id> ids = {
        crdt::replica_id(0), crdt::replica_id(1),
        crdt::replica_id(std::numeric_limits<std::uint64_t>::max())};
    for (int i = 0; i < 50; ++i) {
        ids.emplace_back(rng());
    }
    for (const auto& id : ids) {
        CAPTURE(id.to_string());
        REQUIRE_NOTHROW(crdt::testing::check_round_trip(id));
    }
    // 8 little-endian bytes.
    const auto bytes = crdt::encode(crdt::replica_id(0x0807060504030201ull));
    REQUIRE(bytes.size() == 8u);
    for (std::size_t i = 0; i < 8; ++i) {
        CHECK(bytes[i] == static_cast<std::byte>(i + 1));
    }
    // 7 bytes are truncated.
    const std::vector<std::byte> short_input(7, std::byte{0x11});
    const crdt::error e =
        core_test::caught_error([&] { (void)crdt::decode<crdt::replica_id>(short_input); });
    CHECK(e.cause() == crdt::errc::truncated);
    REQUIRE_NOTHROW(
        crdt::testing::check_decoder_robustness<crdt::replica_id>(encodings_of(ids), seed));
}

// --- replica_id128 -----------------------------------------------------------

TEST_CASE("replica_id128: order is high half, then low half") {
    using id128 = crdt::replica_id128;
    CHECK(id128(0, std::numeric_limits<std::uint64_t>::max()) < id128(1, 0));
    CHECK(id128(1, 0) < id128(1, 1));
    CHECK(id128(2, 3) == id128(2, 3));
    CHECK(id128(2, 3) != id128(3, 2));
    const std::uint64_t seed = crdt_test::seed(4);
    CAPTURE(seed);
    std::mt19937_64 rng(seed);
    for (int i = 0; i < 500; ++i) {
        const std::pair<std::uint64_t, std::uint64_t> a{rng() % 3, i % 2 == 0 ? rng() : rng() % 3};
        const std::pair<std::uint64_t, std::uint64_t> b{rng() % 3, i % 2 == 0 ? rng() : rng() % 3};
        CAPTURE(a.first, a.second, b.first, b.second);
        const id128 x(a.first, a.second);
        const id128 y(b.first, b.second);
        CHECK(x.high() == a.first);
        CHECK(x.low() == a.second);
        CHECK((x <=> y) == (a <=> b));
        CHECK((x == y) == (a == b));
    }
}

TEST_CASE("replica_id128: hashing is consistent with equality") {
    const std::hash<crdt::replica_id128> h;
    std::unordered_set<std::size_t> hashes;
    for (std::uint64_t hi = 0; hi < 20; ++hi) {
        for (std::uint64_t lo = 0; lo < 20; ++lo) {
            const crdt::replica_id128 a(hi, lo);
            const crdt::replica_id128 b = crdt::replica_id128::parse(a.to_string());
            CHECK(h(a) == h(b));
            hashes.insert(h(a));
        }
    }
    // (hi, lo) and (lo, hi) must not collide systematically.
    CHECK(hashes.size() == 400u);
}

TEST_CASE("replica_id128: to_string and parse round trip") {
    const crdt::replica_id128 id(0x0123456789abcdefull, 0xfedcba9876543210ull);
    CHECK(id.to_string() == "0123456789abcdeffedcba9876543210");
    CHECK(crdt::replica_id128::parse("0123456789ABCDEFFEDCBA9876543210") == id);
    for (int i = 0; i < 100; ++i) {
        const auto r = crdt::replica_id128::random();
        CHECK(crdt::replica_id128::parse(r.to_string()) == r);
    }
    const char* const bad[] = {"",
                               "0123456789abcdef",
                               "0123456789abcdeffedcba987654321",
                               "0123456789abcdeffedcba98765432100",
                               "0123456789abcdeffedcba987654321x",
                               "x123456789abcdeffedcba9876543210"};
    for (const char* text : bad) {
        CAPTURE(text);
        const crdt::error e =
            core_test::caught_error([&] { (void)crdt::replica_id128::parse(text); });
        CHECK(e.cause() == crdt::errc::invalid_value);
    }
}

TEST_CASE("replica_id128: random() draws distinct ids") {
    std::set<crdt::replica_id128> ids;
    std::set<std::uint64_t> highs;
    std::set<std::uint64_t> lows;
    for (int i = 0; i < 200; ++i) {
        const auto id = crdt::replica_id128::random();
        ids.insert(id);
        highs.insert(id.high());
        lows.insert(id.low());
    }
    CHECK(ids.size() == 200u);
    // Both halves are random, not just one.
    CHECK(highs.size() == 200u);
    CHECK(lows.size() == 200u);
}

TEST_CASE("replica_id128: codec round trip, layout and robustness") {
    const std::uint64_t seed = crdt_test::seed(5);
    CAPTURE(seed);
    std::vector<crdt::replica_id128> ids = {
        {0, 0}, {0, 1}, {1, 0}, {~0ull, ~0ull}, crdt::replica_id128::random()};
    for (const auto& id : ids) {
        CAPTURE(id.to_string());
        REQUIRE_NOTHROW(crdt::testing::check_round_trip(id));
    }
    const auto bytes = crdt::encode(crdt::replica_id128(1, 2));
    REQUIRE(bytes.size() == 16u);
    CHECK(bytes[0] == std::byte{1}); // high half first, little-endian
    CHECK(bytes[8] == std::byte{2});
    const std::vector<std::byte> short_input(15, std::byte{0});
    CHECK(core_test::caught_error([&] {
              (void)crdt::decode<crdt::replica_id128>(short_input);
          }).cause() == crdt::errc::truncated);
    REQUIRE_NOTHROW(
        crdt::testing::check_decoder_robustness<crdt::replica_id128>(encodings_of(ids), seed));
}

// --- agent_id ----------------------------------------------------------------

TEST_CASE("agent_id: byte-wise order") {
    using crdt::agent_id;
    CHECK(agent_id("A") < agent_id("a"));
    CHECK(agent_id("Z") < agent_id("a"));
    CHECK(agent_id("a") < agent_id("b"));
    CHECK(agent_id("") < agent_id("a"));
    CHECK(agent_id("a") < agent_id("aa"));
    CHECK(agent_id("alice") < agent_id("bob"));
    // Multi-byte UTF-8 sorts after every ASCII name: lead bytes are >= 0xc2,
    // compared unsigned (a signed-char comparison would put them first).
    CHECK(agent_id("z") < agent_id("\xc3\xa9"));
    CHECK(agent_id("\x7f") < agent_id("\xc2\x80"));
    CHECK(agent_id("zzz") < agent_id("\xc3\xa9"));
    CHECK(agent_id("\xc3\xa9") < agent_id("\xe2\x82\xac"));         // U+00E9 < U+20AC
    CHECK(agent_id("\xef\xbf\xbf") < agent_id("\xf0\x9f\x98\x80")); // U+FFFF < U+1F600
    CHECK(agent_id("bob") == agent_id(std::string("bob")));
    CHECK(agent_id("bob") != agent_id("Bob"));
    CHECK(agent_id().name().empty());
    CHECK(agent_id("laptop-2").to_string() == "laptop-2");
    CHECK(agent_id("laptop-2").name() == "laptop-2");

    const std::uint64_t seed = crdt_test::seed(6);
    CAPTURE(seed);
    std::mt19937_64 rng(seed);
    std::vector<agent_id> ids;
    for (int i = 0; i < 400; ++i) {
        const std::string a = random_name(rng, 3);
        const std::string b = i % 3 == 0 ? a : random_name(rng, 3);
        CAPTURE(a, b);
        const agent_id x(a);
        const agent_id y(b);
        CHECK((x < y) == bytes_less(a, b));
        CHECK((y < x) == bytes_less(b, a));
        CHECK((x == y) == (a == b));
        CHECK(((x <=> y) == 0) == (a == b));
        ids.push_back(x);
    }
    // Sorting by the id order is sorting by bytes.
    std::sort(ids.begin(), ids.end());
    for (std::size_t i = 1; i < ids.size(); ++i) {
        CHECK_FALSE(bytes_less(ids[i].name(), ids[i - 1].name()));
    }
}

TEST_CASE("agent_id: equal names hash equally") {
    const std::hash<crdt::agent_id> h;
    const std::uint64_t seed = crdt_test::seed(7);
    CAPTURE(seed);
    std::mt19937_64 rng(seed);
    std::unordered_set<crdt::agent_id> set;
    std::set<std::string> names;
    for (int i = 0; i < 200; ++i) {
        const std::string name = random_name(rng, 4);
        const crdt::agent_id a(name);
        const crdt::agent_id b = a;                     // copy
        const crdt::agent_id c{std::string_view(name)}; // separately built
        CHECK(h(a) == h(b));
        CHECK(h(a) == h(c));
        set.insert(a);
        names.insert(name);
    }
    CHECK(set.size() == names.size());
    CHECK(h(crdt::agent_id("alice")) != h(crdt::agent_id("Alice")));
}

TEST_CASE("agent_id: rejects invalid UTF-8") {
    const std::string bad[] = {
        std::string("\xff"),             // never valid
        std::string("ab\xc3"),           // truncated sequence
        std::string("\xc0\x80"),         // overlong NUL
        std::string("\xe0\x80\xaf"),     // overlong '/'
        std::string("\xed\xa0\x80"),     // surrogate U+D800
        std::string("\xf4\x90\x80\x80"), // above U+10FFFF
        std::string("ok\x80"),           // stray continuation byte
    };
    for (const auto& name : bad) {
        CAPTURE(name);
        const crdt::error e = core_test::caught_error([&] { (void)crdt::agent_id(name); });
        CHECK(e.cause() == crdt::errc::invalid_utf8);
    }
    // Valid edge cases are accepted.
    CHECK(crdt::agent_id(std::string("\0", 1)).name().size() == 1u);
    CHECK(crdt::agent_id("\xf4\x8f\xbf\xbf").name().size() == 4u); // U+10FFFF
}

TEST_CASE("agent_id: names longer than 255 bytes are rejected") {
    CHECK(crdt::agent_id::max_length == 255u);
    CHECK(crdt::agent_id(std::string(255, 'x')).name().size() == 255u);
    const crdt::error e =
        core_test::caught_error([&] { (void)crdt::agent_id(std::string(256, 'x')); });
    CHECK(e.cause() == crdt::errc::invalid_value);
    CHECK(std::string(e.what()).find("256") != std::string::npos);

    // The limit is in bytes, not code points: 85 euro signs are 255 bytes, 86 are 258.
    std::string euros;
    for (int i = 0; i < 85; ++i) {
        euros += "\xe2\x82\xac";
    }
    CHECK(crdt::agent_id(euros).name().size() == 255u);
    euros += "\xe2\x82\xac";
    CHECK(core_test::caught_error([&] { (void)crdt::agent_id(euros); }).cause() ==
          crdt::errc::invalid_value);
}

TEST_CASE("agent_id: codec round trip, decode errors and robustness") {
    const std::uint64_t seed = crdt_test::seed(8);
    CAPTURE(seed);
    std::mt19937_64 rng(seed);
    std::vector<crdt::agent_id> ids = {crdt::agent_id(), crdt::agent_id("alice"),
                                       crdt::agent_id(std::string(255, 'q')),
                                       crdt::agent_id("\xc3\xa9t\xc3\xa9")};
    for (int i = 0; i < 30; ++i) {
        ids.emplace_back(random_name(rng, 6));
    }
    for (const auto& id : ids) {
        CAPTURE(id.name());
        REQUIRE_NOTHROW(crdt::testing::check_round_trip(id));
        // A varint length prefix, then the bytes.
        CHECK(crdt::encode(id).size() ==
              crdt::encode(std::uint64_t{id.name().size()}).size() + id.name().size());
    }

    // A 256-byte name is rejected on decode, at the start of the string.
    const auto too_long =
        core_test::bytes_of([](crdt::byte_writer& w) { w.string(std::string(256, 'x')); });
    const crdt::error e1 =
        core_test::caught_error([&] { (void)crdt::decode<crdt::agent_id>(too_long); });
    CHECK(e1.cause() == crdt::errc::invalid_value);
    CHECK(e1.offset() == std::optional<std::size_t>(0));

    // Invalid UTF-8 is rejected on decode, naming the bad byte.
    const auto bad_utf8 = core_test::bytes_of([](crdt::byte_writer& w) {
        w.varint(3);
        w.byte('a');
        w.byte('b');
        w.byte(0xff);
    });
    const crdt::error e2 =
        core_test::caught_error([&] { (void)crdt::decode<crdt::agent_id>(bad_utf8); });
    CHECK(e2.cause() == crdt::errc::invalid_utf8);
    CHECK(e2.offset() == std::optional<std::size_t>(3));

    // A length past the end.
    const auto past_end = core_test::bytes_of([](crdt::byte_writer& w) {
        w.varint(10);
        w.byte('a');
    });
    CHECK(core_test::caught_error([&] { (void)crdt::decode<crdt::agent_id>(past_end); }).cause() ==
          crdt::errc::length_out_of_range);

    REQUIRE_NOTHROW(
        crdt::testing::check_decoder_robustness<crdt::agent_id>(encodings_of(ids), seed));
}
