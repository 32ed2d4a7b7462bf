// Tests of crdt/pn_counter.hpp.
#include "support.hpp"

#include <crdt/pn_counter.hpp>

#include <catch2/catch.hpp>

#include <cstdint>
#include <random>

TEST_CASE("pn_counter: random replicas converge to increments minus decrements",
          "[types][pn_counter]") {
    for (std::uint64_t round = 0; round < 4; ++round) {
        const std::uint64_t seed = crdt_test::seed(300 + round);
        CAPTURE(seed);
        std::int64_t total = 0;
        auto r = types_test::simulate<crdt::pn_counter>(
            seed, 2 + round, 80, [](crdt::replica_id id) { return crdt::pn_counter(id); },
            [&total](crdt::pn_counter& c, std::mt19937_64& rng) {
                const auto n = static_cast<std::int64_t>(rng() % 7);
                if (rng() % 2 == 0) {
                    total += n;
                    return c.increment(static_cast<std::uint64_t>(n));
                }
                total -= n;
                return c.decrement(static_cast<std::uint64_t>(n));
            });
        types_test::check_run(r, seed);
        REQUIRE(r.replicas[0].value() == total);
    }
}

TEST_CASE("pn_counter: goes below zero and back", "[types][pn_counter]") {
    crdt::pn_counter a(crdt::replica_id(1));
    crdt::pn_counter b(crdt::replica_id(2));
    a.merge(b.decrement(10));
    b.merge(a.increment(3));
    REQUIRE(a.value() == -7);
    REQUIRE(a == b);
    const auto bytes = crdt::encode(a);
    for (std::size_t n = 0; n < bytes.size(); ++n) {
        REQUIRE_THROWS_AS(
            crdt::decode<crdt::pn_counter>(std::span<const std::byte>(bytes.data(), n)),
            crdt::error);
    }
}
