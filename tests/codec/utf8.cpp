// Tests for crdt/codec/utf8.hpp: validation with exact offsets, against
// known samples and a straightforward reference decoder, and code point
// counting.
#include <crdt/codec/utf8.hpp>

#include <support/seed.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <iterator>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace {

std::string bytes(std::initializer_list<unsigned> list) {
    std::string out;
    for (unsigned b : list) {
        out.push_back(static_cast<char>(b));
    }
    return out;
}

// UTF-8 encoding of one scalar value, written from the definition.
std::string encode_code_point(std::uint32_t cp) {
    std::string out;
    auto push = [&](std::uint32_t b) { out.push_back(static_cast<char>(b)); };
    if (cp < 0x80) {
        push(cp);
    } else if (cp < 0x800) {
        push(0xc0 | (cp >> 6));
        push(0x80 | (cp & 0x3f));
    } else if (cp < 0x10000) {
        push(0xe0 | (cp >> 12));
        push(0x80 | ((cp >> 6) & 0x3f));
        push(0x80 | (cp & 0x3f));
    } else {
        push(0xf0 | (cp >> 18));
        push(0x80 | ((cp >> 12) & 0x3f));
        push(0x80 | ((cp >> 6) & 0x3f));
        push(0x80 | (cp & 0x3f));
    }
    return out;
}

// A reference validator with a different structure from the library's:
// decode the code point from the bit pattern, then reject overlong forms,
// surrogates and values above U+10FFFF by value.
std::optional<std::size_t> reference_find_invalid(std::string_view s) {
    std::size_t i = 0;
    while (i < s.size()) {
        const auto c = static_cast<std::uint8_t>(s[i]);
        std::size_t len = 0;
        std::uint32_t cp = 0;
        if (c < 0x80) {
            ++i;
            continue;
        }
        if ((c & 0xe0) == 0xc0) {
            len = 2;
            cp = c & 0x1fu;
        } else if ((c & 0xf0) == 0xe0) {
            len = 3;
            cp = c & 0x0fu;
        } else if ((c & 0xf8) == 0xf0) {
            len = 4;
            cp = c & 0x07u;
        } else {
            return i;
        }
        if (s.size() - i < len) {
            return i;
        }
        for (std::size_t k = 1; k < len; ++k) {
            const auto ck = static_cast<std::uint8_t>(s[i + k]);
            if ((ck & 0xc0) != 0x80) {
                return i;
            }
            cp = (cp << 6) | (ck & 0x3fu);
        }
        static constexpr std::uint32_t min_for_length[] = {0, 0, 0x80, 0x800, 0x10000};
        if (cp < min_for_length[len] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
            return i;
        }
        i += len;
    }
    return std::nullopt;
}

// find_invalid on a heap copy of exactly `text.size()` bytes, with no
// terminating NUL after it, so a read past the end is caught by ASan.
std::optional<std::size_t> find_invalid_exact(std::string_view text) {
    const auto copy = std::make_unique<char[]>(text.size());
    std::copy(text.begin(), text.end(), copy.get());
    return crdt::utf8::find_invalid(std::string_view(copy.get(), text.size()));
}

std::uint32_t random_scalar(std::mt19937_64& rng) {
    switch (rng() % 4) {
    case 0: return static_cast<std::uint32_t>(rng() % 0x80);
    case 1: return static_cast<std::uint32_t>(0x80 + rng() % (0x800 - 0x80));
    case 2: {
        auto cp = static_cast<std::uint32_t>(0x800 + rng() % (0x10000 - 0x800));
        return cp >= 0xd800 && cp <= 0xdfff ? cp + 0x800 : cp;
    }
    default: return static_cast<std::uint32_t>(0x10000 + rng() % (0x110000 - 0x10000));
    }
}

} // namespace

static_assert(crdt::utf8::is_valid("h\xc3\xa9llo"));
static_assert(!crdt::utf8::is_valid("\xc0\x80"));
static_assert(crdt::utf8::count_code_points("h\xc3\xa9llo") == 5);

TEST_CASE("utf8: valid samples") {
    const std::vector<std::string> valid = {
        "",
        "hello, world",
        std::string("nul\0inside", 10),
        bytes({0x7f}),                   // U+007F, largest 1-byte
        bytes({0xc2, 0x80}),             // U+0080, smallest 2-byte
        "\xc3\xa9t\xc3\xa9",             // "été"
        bytes({0xdf, 0xbf}),             // U+07FF
        bytes({0xe0, 0xa0, 0x80}),       // U+0800, smallest 3-byte
        "\xe2\x82\xac",                  // U+20AC euro sign
        bytes({0xed, 0x9f, 0xbf}),       // U+D7FF, just below the surrogates
        bytes({0xee, 0x80, 0x80}),       // U+E000, just above them
        bytes({0xef, 0xbf, 0xbf}),       // U+FFFF
        bytes({0xf0, 0x90, 0x80, 0x80}), // U+10000, smallest 4-byte
        "\xf0\x9d\x84\x9e",              // U+1D11E musical G clef
        bytes({0xf4, 0x8f, 0xbf, 0xbf}), // U+10FFFF, the largest
        "a\xe2\x82\xac"
        "b\xf0\x9f\x98\x80"
        "c", // mixed
    };
    for (const auto& s : valid) {
        CAPTURE(s);
        REQUIRE_FALSE(find_invalid_exact(s).has_value());
        REQUIRE(crdt::utf8::is_valid(s));
    }
}

TEST_CASE("utf8: invalid samples report the offset of the bad sequence") {
    struct invalid_case {
        const char* name;
        std::string text;
        std::size_t offset;
    };
    const std::vector<invalid_case> cases = {
        {"overlong NUL C0 80", bytes({0xc0, 0x80}), 0},
        {"overlong C1 BF", bytes({0xc1, 0xbf}), 0},
        {"overlong after ASCII", "ab" + bytes({0xc0, 0x80}), 2},
        {"overlong 3-byte E0 80 80", bytes({0xe0, 0x80, 0x80}), 0},
        {"overlong 3-byte E0 9F BF", "x" + bytes({0xe0, 0x9f, 0xbf}), 1},
        {"overlong 4-byte F0 80 80 80", bytes({0xf0, 0x80, 0x80, 0x80}), 0},
        {"overlong 4-byte F0 8F BF BF", bytes({0xf0, 0x8f, 0xbf, 0xbf}), 0},
        {"surrogate ED A0 80", bytes({0xed, 0xa0, 0x80}), 0},
        {"surrogate ED BF BF", "\xc3\xa9" + bytes({0xed, 0xbf, 0xbf}), 2},
        {"above U+10FFFF F4 90 80 80", bytes({0xf4, 0x90, 0x80, 0x80}), 0},
        {"F5 lead", bytes({0xf5, 0x80, 0x80, 0x80}), 0},
        {"F7 lead", "abc" + bytes({0xf7, 0xbf, 0xbf, 0xbf}), 3},
        {"F8 lead", bytes({0xf8, 0x88, 0x80, 0x80, 0x80}), 0},
        {"FE", bytes({0xfe}), 0},
        {"FF", "ok" + bytes({0xff}), 2},
        {"lone continuation 80", bytes({0x80}), 0},
        {"lone continuation after ASCII", "abc" + bytes({0xbf}), 3},
        {"extra continuation after a 2-byte char", "\xc3\xa9" + bytes({0xa9}), 2},
        {"truncated 2-byte at end", "ab" + bytes({0xc3}), 2},
        {"truncated 3-byte at end", "ab" + bytes({0xe2, 0x82}), 2},
        {"truncated 4-byte at end", "\xe2\x82\xac" + bytes({0xf0, 0x9f, 0x98}), 3},
        {"truncated 4-byte, one byte", bytes({0xf0}), 0},
        {"bad continuation in 2-byte", bytes({0xc3, 0x28}), 0},
        {"bad continuation in 3-byte", bytes({0xe2, 0x28, 0xa1}), 0},
        {"bad third byte in 3-byte", bytes({0xe2, 0x82, 0x28}), 0},
        {"bad fourth byte in 4-byte", "z" + bytes({0xf0, 0x9f, 0x98, 0xc0}), 1},
        {"surrogate pair encoded as two 3-byte sequences",
         bytes({0xed, 0xa0, 0xbd, 0xed, 0xb8, 0x80}), 0},
    };
    for (const auto& c : cases) {
        CAPTURE(c.name);
        const auto bad = find_invalid_exact(c.text);
        REQUIRE(bad.has_value());
        REQUIRE(*bad == c.offset);
        REQUIRE_FALSE(crdt::utf8::is_valid(c.text));
        REQUIRE(reference_find_invalid(c.text) == bad);
    }
}

TEST_CASE("utf8: every scalar boundary validates; every surrogate does not") {
    for (std::uint32_t cp :
         {0x0u, 0x7fu, 0x80u, 0x7ffu, 0x800u, 0xfffu, 0x1000u, 0xd7ffu, 0xe000u, 0xfffdu, 0xffffu,
          0x10000u, 0x3ffffu, 0x40000u, 0xfffffu, 0x100000u, 0x10ffffu}) {
        CAPTURE(cp);
        REQUIRE(crdt::utf8::is_valid(encode_code_point(cp)));
        REQUIRE(crdt::utf8::count_code_points(encode_code_point(cp)) == 1);
    }
    for (std::uint32_t cp = 0xd800; cp <= 0xdfff; ++cp) {
        CAPTURE(cp);
        REQUIRE(crdt::utf8::find_invalid("a" + encode_code_point(cp)) ==
                std::optional<std::size_t>(1));
    }
    // Overlong forms of every 1-byte value.
    for (unsigned v = 0; v < 0x80; ++v) {
        CAPTURE(v);
        REQUIRE(crdt::utf8::find_invalid(bytes({0xc0 | (v >> 6), 0x80 | (v & 0x3f)})) ==
                std::optional<std::size_t>(0));
    }
}

TEST_CASE("utf8: find_invalid agrees with a reference decoder on random input") {
    const auto seed = crdt_test::seed(2);
    CAPTURE(seed);
    std::mt19937_64 rng(seed);
    static constexpr unsigned interesting[] = {0x00, 0x7f, 0x80, 0xbf, 0xc0, 0xc1, 0xc2,
                                               0xdf, 0xe0, 0xed, 0xef, 0xf0, 0xf4, 0xf5,
                                               0xff, 0x9f, 0xa0, 0x8f, 0x90};
    std::size_t invalid_seen = 0;
    for (int iteration = 0; iteration < 4000; ++iteration) {
        std::string s;
        const std::size_t pieces = rng() % 8;
        for (std::size_t p = 0; p < pieces; ++p) {
            switch (rng() % 5) {
            case 0: s += static_cast<char>(rng() % 0x80); break;
            case 1:
            case 2: s += encode_code_point(random_scalar(rng)); break;
            case 3: s += static_cast<char>(interesting[rng() % std::size(interesting)]); break;
            default: s += static_cast<char>(rng()); break;
            }
        }
        CAPTURE(iteration, s);
        const auto expected = reference_find_invalid(s);
        REQUIRE(find_invalid_exact(s) == expected);
        invalid_seen += expected.has_value() ? 1u : 0u;
    }
    // The generator must exercise both outcomes.
    REQUIRE(invalid_seen > 100);
    REQUIRE(invalid_seen < 3900);
}

TEST_CASE("utf8: count_code_points") {
    REQUIRE(crdt::utf8::count_code_points("") == 0);
    REQUIRE(crdt::utf8::count_code_points("abc") == 3);
    REQUIRE(crdt::utf8::count_code_points("h\xc3\xa9llo") == 5);
    REQUIRE(crdt::utf8::count_code_points("\xe2\x82\xac\xf0\x9d\x84\x9e") == 2);
    REQUIRE(crdt::utf8::count_code_points(bytes({0xf4, 0x8f, 0xbf, 0xbf})) == 1);
    REQUIRE(crdt::utf8::count_code_points(std::string("a\0b", 3)) == 3);

    const auto seed = crdt_test::seed(3);
    CAPTURE(seed);
    std::mt19937_64 rng(seed);
    for (int iteration = 0; iteration < 500; ++iteration) {
        std::string s;
        const std::size_t n = rng() % 40;
        for (std::size_t i = 0; i < n; ++i) {
            s += encode_code_point(random_scalar(rng));
        }
        CAPTURE(iteration, s);
        REQUIRE(crdt::utf8::is_valid(s));
        REQUIRE(crdt::utf8::count_code_points(s) == n);
    }
}

TEST_CASE("utf8: append encodes every scalar boundary as the definition does") {
    const std::uint32_t samples[] = {0,       0x41,    0x7f,    0x80,     0x7ff,
                                     0x800,   0xd7ff,  0xe000,  0xfffd,   0xffff,
                                     0x10000, 0x1f600, 0xfffff, 0x100000, 0x10ffff};
    std::string all;
    std::string expected;
    for (const auto cp : samples) {
        CAPTURE(cp);
        std::string one;
        crdt::utf8::append(one, static_cast<char32_t>(cp));
        CHECK(one == encode_code_point(cp));
        CHECK(one.size() == (cp < 0x80 ? 1u : cp < 0x800 ? 2u : cp < 0x10000 ? 3u : 4u));
        CHECK(crdt::utf8::is_valid(one));
        CHECK(crdt::utf8::count_code_points(one) == 1);
        crdt::utf8::append(all, static_cast<char32_t>(cp));
        expected += encode_code_point(cp);
    }
    CHECK(all == expected); // appends, never overwrites
    CHECK(crdt::utf8::count_code_points(all) == std::size(samples));
}
