// Tests of crdt::text: UTF-8 input and output, and positions in code points,
// UTF-8 bytes, UTF-16 units and line/column against a brute-force model.
#include <crdt/text.hpp>

#include "../support/seed.hpp"
#include "../support/traces.hpp"

#include <catch2/catch.hpp>

#include <cstdint>
#include <random>
#include <string>

namespace {

std::size_t units(char32_t c, int which) {
    if (which == 8) {
        return c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4;
    }
    return c < 0x10000 ? 1 : 2;
}

} // namespace

TEST_CASE("text: UTF-8 in and out, bad UTF-8 rejected") {
    crdt::text t(crdt::agent_id("a"));
    t.insert(0, "h\xC3\xA9llo \xF0\x9F\x98\x80\n");
    CHECK(t.str() == "h\xC3\xA9llo \xF0\x9F\x98\x80\n");
    CHECK(t.size() == 8);
    CHECK(t.size_utf8() == 12);
    CHECK(t.size_utf16() == 9);
    CHECK(t.line_count() == 2);
    try {
        t.insert(1, "ok\xC3(");
        FAIL("no exception");
    } catch (const crdt::error& e) {
        CHECK(e.cause() == crdt::errc::invalid_utf8);
    }
    CHECK(t.str() == "h\xC3\xA9llo \xF0\x9F\x98\x80\n"); // unchanged
    CHECK_THROWS_AS(t.chars_from_utf8(2), crdt::error);  // inside U+00E9
    CHECK_THROWS_AS(t.chars_from_utf16(7), crdt::error); // inside the emoji
    CHECK_THROWS_AS(t.utf8_from_chars(9), crdt::error);  // past the end
    CHECK_THROWS_AS(t.chars_from_line_column({2, 0}), crdt::error);
    t.verify();
}

TEST_CASE("text: positions in every unit agree with brute force") {
    const std::uint64_t seed = crdt_test::seed(61);
    CAPTURE(seed);
    std::mt19937_64 rng(seed);
    const char32_t alphabet[] = {U'a', U'b', U'\n', U'\u00e9', U'\u2192', U'\U0001F600', U'z'};
    crdt::text t(crdt::agent_id("a"));
    std::u32string model;
    for (int step = 0; step < 300; ++step) {
        if (model.empty() || rng() % 3 != 0) {
            std::u32string ins;
            for (std::size_t k = 1 + rng() % 4; k > 0; --k) {
                ins.push_back(alphabet[rng() % 7]);
            }
            const std::size_t pos = static_cast<std::size_t>(rng() % (model.size() + 1));
            t.insert(pos, crdt_test::traces::to_utf8(ins));
            model.insert(pos, ins);
        } else {
            const std::size_t pos = static_cast<std::size_t>(rng() % model.size());
            const std::size_t n =
                1 + static_cast<std::size_t>(rng() % std::min<std::size_t>(4, model.size() - pos));
            t.erase(pos, n);
            model.erase(pos, n);
        }
        REQUIRE(t.str() == crdt_test::traces::to_utf8(model));
        t.verify();
        // every position, in every unit
        std::size_t b8 = 0, b16 = 0, line = 0, col = 0;
        for (std::size_t cp = 0; cp <= model.size(); ++cp) {
            REQUIRE(t.utf8_from_chars(cp) == b8);
            REQUIRE(t.chars_from_utf8(b8) == cp);
            REQUIRE(t.utf16_from_chars(cp) == b16);
            REQUIRE(t.chars_from_utf16(b16) == cp);
            const auto lc = t.line_column_from_chars(cp);
            REQUIRE(lc.line == line);
            REQUIRE(lc.column == col);
            REQUIRE(t.chars_from_line_column(lc) == cp);
            if (cp < model.size()) {
                b8 += units(model[cp], 8);
                b16 += units(model[cp], 16);
                if (model[cp] == U'\n') {
                    ++line;
                    col = 0;
                } else {
                    ++col;
                }
            }
        }
        REQUIRE(t.size_utf8() == b8);
        REQUIRE(t.size_utf16() == b16);
        REQUIRE(t.line_count() == line + 1);
    }
}
