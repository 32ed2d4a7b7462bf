// Tests of crdt/g_counter.hpp.
#include "support.hpp"

#include <crdt/core/replica_id.hpp>
#include <crdt/g_counter.hpp>

#include <catch2/catch.hpp>

#include <cstdint>
#include <limits>
#include <random>

namespace {
struct agent_policy : crdt::counter_defaults {
    using replica_id = crdt::agent_id;
};
} // namespace

TEST_CASE("g_counter: random replicas converge to the sum of increments", "[types][g_counter]") {
    for (std::uint64_t round = 0; round < 4; ++round) {
        const std::uint64_t seed = crdt_test::seed(200 + round);
        CAPTURE(seed);
        std::uint64_t total = 0;
        auto r = types_test::simulate<crdt::g_counter>(
            seed, 2 + round, 80, [](crdt::replica_id id) { return crdt::g_counter(id); },
            [&total](crdt::g_counter& c, std::mt19937_64& rng) {
                const std::uint64_t n = rng() % 5;
                total += n;
                return c.increment(n);
            });
        types_test::check_run(r, seed);
        REQUIRE(r.replicas[0].value() == total);
    }
}

TEST_CASE("g_counter: a stale dot never counts twice", "[types][g_counter]") {
    crdt::g_counter a(crdt::replica_id(1));
    const auto d1 = a.increment(2);
    const auto d2 = a.increment(3);
    const auto d3 = a.increment(4);
    crdt::g_counter b(crdt::replica_id(2));
    b.merge(d1);
    b.merge(d3); // d2 lost; d1's dot is stale but must not add up
    REQUIRE(b.value() == 9);
    b.merge(d2);
    REQUIRE(b.value() == 9);
    b.merge(a.delta_since(b.version()));
    REQUIRE(b == a);
}

TEST_CASE("g_counter: overflow is an error and changes nothing", "[types][g_counter]") {
    crdt::g_counter a(crdt::replica_id(1));
    a.increment(std::numeric_limits<std::uint64_t>::max() - 1);
    const auto before = a;
    REQUIRE_THROWS_AS(a.increment(2), crdt::error);
    REQUIRE(a == before);
}

TEST_CASE("g_counter: other replica id types", "[types][g_counter]") {
    crdt::basic_g_counter<agent_policy> a(crdt::agent_id("alice"));
    crdt::basic_g_counter<agent_policy> b(crdt::agent_id("bob"));
    a.merge(b.increment(5));
    b.merge(a.increment(1));
    REQUIRE(a == b);
    REQUIRE(a.value() == 6);
    REQUIRE_NOTHROW(crdt::testing::check_round_trip(a));
    REQUIRE_NOTHROW(crdt::testing::check_decoder_robustness<crdt::basic_g_counter<agent_policy>>(
        {crdt::encode(a)}, crdt_test::seed(3), 500));
}
