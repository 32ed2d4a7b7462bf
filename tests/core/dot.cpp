// Tests of crdt/core/dot.hpp: basic_dot and basic_dot_range.
#include <crdt/core/dot.hpp>
#include <crdt/core/replica_id.hpp>
#include <crdt/testing/codec_laws.hpp>

#include "helpers.hpp"
#include <support/seed.hpp>

#include <catch2/catch.hpp>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <optional>
#include <random>
#include <tuple>
#include <unordered_set>
#include <vector>

namespace {

constexpr std::uint64_t max64 = std::numeric_limits<std::uint64_t>::max();

using id_types = std::tuple<crdt::replica_id, crdt::replica_id128, crdt::agent_id>;

// The size of one encoded replica id of type R (the pool ids used here).
template <class R>
std::size_t id_size(const R& id) {
    return crdt::encode(id).size();
}

} // namespace

TEMPLATE_LIST_TEST_CASE("dot: order is replica, then counter", "[dot]", id_types) {
    using dot = crdt::basic_dot<TestType>;
    const auto ids = core_test::id_pool<TestType>(6);
    const std::uint64_t seed = crdt_test::seed(11);
    CAPTURE(seed);
    std::mt19937_64 rng(seed);
    for (int i = 0; i < 500; ++i) {
        const auto& ra = ids[core_test::uniform(rng, 0, ids.size() - 1)];
        const auto& rb = ids[core_test::uniform(rng, 0, ids.size() - 1)];
        const std::uint64_t ca = core_test::uniform(rng, 0, 4);
        const std::uint64_t cb = core_test::uniform(rng, 0, 4);
        CAPTURE(ca, cb);
        const dot a{ra, ca};
        const dot b{rb, cb};
        const bool expected_less = ra < rb || (ra == rb && ca < cb);
        CHECK((a < b) == expected_less);
        CHECK((a == b) == (ra == rb && ca == cb));
        CHECK((a <=> b) == (std::tie(ra, ca) <=> std::tie(rb, cb)));
    }
    // A higher counter never outranks a higher replica.
    auto lo = ids[0];
    auto hi = ids[1];
    if (hi < lo) {
        std::swap(lo, hi);
    }
    CHECK(dot{lo, max64} < dot{hi, 1});
    CHECK(dot{lo, 1} < dot{lo, 2});
    CHECK(dot{} == dot{TestType{}, 0});
}

TEMPLATE_LIST_TEST_CASE("dot: equal dots hash equally", "[dot]", id_types) {
    using dot = crdt::basic_dot<TestType>;
    const std::hash<dot> h;
    const auto ids = core_test::id_pool<TestType>(10);
    std::unordered_set<std::size_t> hashes;
    for (const auto& r : ids) {
        for (std::uint64_t c = 1; c <= 50; ++c) {
            const dot a{r, c};
            const dot b = crdt::decode<dot>(crdt::encode(a));
            CHECK(h(a) == h(b));
            hashes.insert(h(a));
        }
    }
    // 500 distinct dots: a decent hash has (next to) no collisions.
    CHECK(hashes.size() >= 495u);
    std::unordered_set<dot> set{dot{ids[0], 1}, dot{ids[0], 1}, dot{ids[0], 2}, dot{ids[1], 1}};
    CHECK(set.size() == 3u);
}

TEMPLATE_LIST_TEST_CASE("dot_range: contains, size and order", "[dot]", id_types) {
    using dot = crdt::basic_dot<TestType>;
    using range = crdt::basic_dot_range<TestType>;
    const auto ids = core_test::id_pool<TestType>(2);
    const range r{ids[0], 3, 7};
    CHECK(r.size() == 5u);
    CHECK(range{ids[0], 4, 4}.size() == 1u);
    CHECK(range{ids[0], 1, max64}.size() == max64);
    CHECK(range{ids[0], max64, max64}.size() == 1u);
    for (std::uint64_t c = 0; c <= 10; ++c) {
        CAPTURE(c);
        CHECK(r.contains(dot{ids[0], c}) == (c >= 3 && c <= 7));
        CHECK_FALSE(r.contains(dot{ids[1], c})); // other replica
    }
    CHECK(range{ids[0], max64, max64}.contains(dot{ids[0], max64}));

    // Order: replica, then first, then last.
    auto lo = ids[0];
    auto hi = ids[1];
    if (hi < lo) {
        std::swap(lo, hi);
    }
    CHECK(range{lo, 9, 9} < range{hi, 1, 1});
    CHECK(range{lo, 1, 9} < range{lo, 2, 2});
    CHECK(range{lo, 1, 2} < range{lo, 1, 3});
    CHECK(range{lo, 1, 2} == range{lo, 1, 2});
    CHECK(range{lo, 1, 2} != range{hi, 1, 2});
}

TEMPLATE_LIST_TEST_CASE("dot: codec round trip and robustness", "[dot]", id_types) {
    using dot = crdt::basic_dot<TestType>;
    using range = crdt::basic_dot_range<TestType>;
    const std::uint64_t seed = crdt_test::seed(12);
    CAPTURE(seed);
    std::mt19937_64 rng(seed);
    const auto ids = core_test::id_pool<TestType>(5);
    std::vector<std::vector<std::byte>> dot_samples;
    std::vector<std::vector<std::byte>> range_samples;
    for (const auto& r : ids) {
        for (const std::uint64_t c : {std::uint64_t{1}, std::uint64_t{127}, std::uint64_t{128},
                                      rng() >> (rng() % 64), max64}) {
            const dot d{r, c};
            CAPTURE(c);
            REQUIRE_NOTHROW(crdt::testing::check_round_trip(d));
            // Layout: the replica id, then the counter as a varint.
            const auto bytes = crdt::encode(d);
            CHECK(bytes.size() == id_size(r) + crdt::encode(c).size());
            dot_samples.push_back(bytes);

            const range whole{r, c, max64};
            const range one{r, c, c};
            REQUIRE_NOTHROW(crdt::testing::check_round_trip(whole));
            REQUIRE_NOTHROW(crdt::testing::check_round_trip(one));
            range_samples.push_back(crdt::encode(whole));
            range_samples.push_back(crdt::encode(one));
        }
    }
    REQUIRE_NOTHROW(crdt::testing::check_decoder_robustness<dot>(dot_samples, seed));
    REQUIRE_NOTHROW(crdt::testing::check_decoder_robustness<range>(range_samples, seed + 1));
}

TEMPLATE_LIST_TEST_CASE("dot_range: decode rejects first == 0 and overflow", "[dot]", id_types) {
    using range = crdt::basic_dot_range<TestType>;
    const TestType r = core_test::pool_id<TestType>(3);
    const std::size_t at = id_size(r); // where `first` starts
    auto encoded = [&](std::uint64_t first, std::uint64_t span) {
        return core_test::bytes_of([&](crdt::byte_writer& w) {
            crdt::encode_into(w, r);
            w.varint(first);
            w.varint(span);
        });
    };

    SECTION("first == 0") {
        const auto bytes = encoded(0, 4);
        const crdt::error e = core_test::caught_error([&] { (void)crdt::decode<range>(bytes); });
        CHECK(e.cause() == crdt::errc::invalid_value);
        CHECK(e.offset() == std::optional<std::size_t>(at));
    }
    SECTION("last past 2^64-1") {
        const std::vector<std::pair<std::uint64_t, std::uint64_t>> cases = {
            {2, max64 - 1}, {max64, 1}, {1, max64}, {max64, max64}};
        for (const auto& c : cases) {
            CAPTURE(c.first, c.second);
            const auto bytes = encoded(c.first, c.second);
            const crdt::error e =
                core_test::caught_error([&] { (void)crdt::decode<range>(bytes); });
            CHECK(e.cause() == crdt::errc::invalid_value);
            CHECK(e.offset() == std::optional<std::size_t>(at));
        }
    }
    SECTION("the largest ranges that fit decode") {
        CHECK(crdt::decode<range>(encoded(1, max64 - 1)) == range{r, 1, max64});
        CHECK(crdt::decode<range>(encoded(max64, 0)) == range{r, max64, max64});
        CHECK(crdt::decode<range>(encoded(5, 2)) == range{r, 5, 7});
    }
    SECTION("truncated") {
        const auto full = encoded(5, 2);
        for (std::size_t n = 0; n < full.size(); ++n) {
            CAPTURE(n);
            const std::vector<std::byte> prefix(full.begin(),
                                                full.begin() + static_cast<std::ptrdiff_t>(n));
            const crdt::error e =
                core_test::caught_error([&] { (void)crdt::decode<range>(prefix); });
            // agent_id's length prefix may claim more than a prefix holds.
            CHECK((e.cause() == crdt::errc::truncated ||
                   e.cause() == crdt::errc::length_out_of_range));
        }
    }
}
