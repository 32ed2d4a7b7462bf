// Tests of crdt/value.hpp: the documented total order, hashing, encoding.
#include "support.hpp"

#include <crdt/value.hpp>

#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <unordered_set>
#include <vector>

namespace {

using crdt::value;

value random_value(std::mt19937_64& rng, int depth = 0) {
    static const double doubles[] = {0.0,
                                     -0.0,
                                     1.0,
                                     -1.5,
                                     1e300,
                                     std::numeric_limits<double>::infinity(),
                                     -std::numeric_limits<double>::infinity(),
                                     std::numeric_limits<double>::quiet_NaN(),
                                     9007199254740992.0};
    static const std::int64_t ints[] = {0,
                                        1,
                                        -1,
                                        2,
                                        9007199254740993,
                                        std::numeric_limits<std::int64_t>::min(),
                                        std::numeric_limits<std::int64_t>::max()};
    switch (rng() % (depth < 2 ? 8 : 6)) {
    case 0: return value();
    case 1: return value(rng() % 2 == 0);
    case 2: return value(ints[rng() % 7]);
    case 3: return value(doubles[rng() % 9]);
    case 4: return value(std::string(rng() % 3, static_cast<char>('a' + rng() % 3)));
    case 5: return value(value::bytes_type(rng() % 3, static_cast<std::byte>(rng() % 256)));
    case 6: {
        value::array_type a;
        for (std::size_t i = rng() % 3; i > 0; --i) {
            a.push_back(random_value(rng, depth + 1));
        }
        return value(std::move(a));
    }
    default: {
        std::vector<value::member> m;
        for (std::size_t i = rng() % 3; i > 0; --i) {
            m.emplace_back(std::string(1, static_cast<char>('a' + rng() % 3)),
                           random_value(rng, depth + 1));
        }
        return value::object(std::move(m));
    }
    }
}

} // namespace

TEST_CASE("value: the cross-kind order", "[types][value]") {
    const std::vector<value> ascending{
        value(),
        value(false),
        value(true),
        value(-std::numeric_limits<double>::infinity()),
        value(std::numeric_limits<std::int64_t>::min()),
        value(-1.5),
        value(-1),
        value(0),
        value(-0.0),
        value(0.0),
        value(0.5),
        value(1),
        value(1.0),
        value(9007199254740992.0),             // 2^53
        value(std::int64_t{9007199254740993}), // 2^53 + 1: above, exactly
        value(std::numeric_limits<std::int64_t>::max()),
        value(1e300),
        value(std::numeric_limits<double>::infinity()),
        value(std::numeric_limits<double>::quiet_NaN()),
        value(""),
        value("a"),
        value("b"),
        value("\xc3\xa9"), // UTF-8 bytes order after ASCII
        value(value::bytes_type{}),
        value(value::bytes_type{std::byte{0xff}}),
        value::array({}),
        value::array({1}),
        value::array({1, 2}),
        value::array({2}),
        value::object({}),
        value::object({{"a", 1}}),
        value::object({{"a", 2}}),
        value::object({{"b", 0}}),
    };
    for (std::size_t i = 0; i < ascending.size(); ++i) {
        for (std::size_t j = 0; j < ascending.size(); ++j) {
            CAPTURE(i, j);
            REQUIRE((ascending[i] < ascending[j]) == (i < j));
            REQUIRE((ascending[i] == ascending[j]) == (i == j));
        }
    }
    REQUIRE(value(std::numeric_limits<double>::quiet_NaN()) ==
            value(-std::numeric_limits<double>::quiet_NaN()));
    REQUIRE(value(std::numeric_limits<double>::quiet_NaN()).hash() ==
            value(-std::numeric_limits<double>::quiet_NaN()).hash());
}

TEST_CASE("value: random values are totally ordered, hashed and encoded consistently",
          "[types][value]") {
    const std::uint64_t seed = crdt_test::seed(13);
    CAPTURE(seed);
    std::mt19937_64 rng(seed);
    std::vector<value> vs;
    for (int i = 0; i < 150; ++i) {
        vs.push_back(random_value(rng));
    }
    std::vector<std::vector<std::byte>> samples;
    for (const auto& a : vs) {
        REQUIRE_NOTHROW(crdt::testing::check_round_trip(a));
        samples.push_back(crdt::encode(a));
        REQUIRE(a == a);
        for (const auto& b : vs) {
            const auto ab = a <=> b;
            REQUIRE((b <=> a) == (0 <=> ab));
            if (a == b) {
                REQUIRE(a.hash() == b.hash());
                REQUIRE(crdt::encode(a) == crdt::encode(b));
            }
        }
    }
    // Transitivity on sorted order.
    std::sort(vs.begin(), vs.end());
    for (std::size_t i = 0; i + 1 < vs.size(); ++i) {
        REQUIRE(vs[i] <= vs[i + 1]);
        for (std::size_t j = i + 1; j < vs.size(); j += 7) {
            REQUIRE(vs[i] <= vs[j]);
        }
    }
    std::unordered_set<value> set(vs.begin(), vs.end());
    REQUIRE(set.size() <= vs.size());
    REQUIRE_NOTHROW(crdt::testing::check_decoder_robustness<value>(samples, seed, 3000));
}

TEST_CASE("value: decoding rejects bad input with crdt::error", "[types][value]") {
    auto reject = [](std::vector<std::uint8_t> b) {
        std::vector<std::byte> bytes;
        for (auto x : b) {
            bytes.push_back(static_cast<std::byte>(x));
        }
        REQUIRE_THROWS_AS(crdt::decode<value>(bytes), crdt::error);
    };
    reject({});
    reject({9});                               // unknown kind
    reject({4, 1, 0, 0, 0, 0, 0, 0xf8, 0x7f}); // non-canonical NaN
    reject({8, 2, 1, 'b', 0, 1, 'a', 0});      // object keys out of order
    reject({8, 2, 1, 'a', 0, 1, 'a', 0});      // repeated key
    reject({5, 1, 0xff});                      // not UTF-8
    std::vector<std::uint8_t> deep(200, 7);    // arrays nested 200 deep
    for (std::size_t i = 1; i < deep.size(); i += 2) {
        deep[i] = 1;
    }
    reject(deep);
    REQUIRE(crdt::decode<value>(crdt::encode(value::object({{"b", 1}, {"a", 2}}))).find("a") !=
            nullptr);
}
