// Tests of crdt/core/lamport_clock.hpp.
#include <crdt/core/lamport_clock.hpp>
#include <crdt/testing/codec_laws.hpp>

#include "helpers.hpp"
#include <support/seed.hpp>

#include <catch2/catch.hpp>

#include <cstddef>
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

namespace {
constexpr std::uint64_t max64 = std::numeric_limits<std::uint64_t>::max();
} // namespace

TEST_CASE("lamport_clock: tick advances by one") {
    crdt::lamport_clock c;
    CHECK(c.now() == 0u);
    CHECK(c.tick() == 1u);
    CHECK(c.tick() == 2u);
    CHECK(c.now() == 2u);
    crdt::lamport_clock restored(41);
    CHECK(restored.now() == 41u);
    CHECK(restored.tick() == 42u);
    CHECK(crdt::lamport_clock(3) < crdt::lamport_clock(4));
    CHECK(crdt::lamport_clock(4) == crdt::lamport_clock(4));
}

TEST_CASE("lamport_clock: observe takes the maximum without ticking") {
    crdt::lamport_clock c(10);
    c.observe(4);
    CHECK(c.now() == 10u);
    c.observe(10);
    CHECK(c.now() == 10u);
    c.observe(25);
    CHECK(c.now() == 25u);
    CHECK(c.tick() == 26u);
    c.observe(max64);
    CHECK(c.now() == max64);
}

TEST_CASE("lamport_clock: receive is max(now, remote) + 1") {
    crdt::lamport_clock c(10);
    CHECK(c.receive(3) == 11u); // remote behind
    CHECK(c.now() == 11u);
    CHECK(c.receive(11) == 12u);   // remote equal
    CHECK(c.receive(100) == 101u); // remote ahead
    CHECK(c.now() == 101u);
    CHECK(crdt::lamport_clock().receive(0) == 1u);
}

TEST_CASE("lamport_clock: overflow throws and leaves the clock unchanged") {
    crdt::lamport_clock at_max(max64);
    crdt::error e = core_test::caught_error([&] { (void)at_max.tick(); });
    CHECK(e.cause() == crdt::errc::counter_overflow);
    CHECK(at_max.now() == max64);

    crdt::lamport_clock low(5);
    e = core_test::caught_error([&] { (void)low.receive(max64); });
    CHECK(e.cause() == crdt::errc::counter_overflow);
    CHECK(low.now() == 5u);
    CHECK(low.tick() == 6u); // still usable

    e = core_test::caught_error([&] { (void)at_max.receive(3); });
    CHECK(e.cause() == crdt::errc::counter_overflow);
    CHECK(at_max.now() == max64);

    crdt::lamport_clock almost(max64 - 2);
    CHECK(almost.receive(max64 - 1) == max64);
    CHECK(core_test::caught_error([&] { (void)almost.tick(); }).cause() ==
          crdt::errc::counter_overflow);
    CHECK(almost.now() == max64);
}

TEST_CASE("lamport_clock: messages between replicas respect causality") {
    const std::uint64_t seed = crdt_test::seed(41);
    CAPTURE(seed);
    std::mt19937_64 rng(seed);
    constexpr std::size_t n = 4;
    std::vector<crdt::lamport_clock> clocks(n);
    std::vector<std::uint64_t> last(n, 0);
    struct message {
        std::size_t to;
        std::uint64_t time;
    };
    std::vector<message> in_flight;
    for (int step = 0; step < 2000; ++step) {
        CAPTURE(step);
        const std::size_t who = core_test::uniform(rng, 0, n - 1);
        std::uint64_t t = 0;
        if (!in_flight.empty() && core_test::uniform(rng, 0, 2) == 0) {
            const std::size_t k = core_test::uniform(rng, 0, in_flight.size() - 1);
            const message m = in_flight[k];
            in_flight.erase(in_flight.begin() + static_cast<std::ptrdiff_t>(k));
            t = clocks[m.to].receive(m.time);
            REQUIRE(t > m.time); // the receive happens after the send
            REQUIRE(t > last[m.to]);
            last[m.to] = t;
            continue;
        }
        t = clocks[who].tick();
        REQUIRE(t == last[who] + 1);
        last[who] = t;
        if (core_test::uniform(rng, 0, 1) == 0) {
            in_flight.push_back({core_test::uniform(rng, 0, n - 1), t});
        }
    }
}

TEST_CASE("lamport_clock: codec round trip and robustness") {
    const std::uint64_t seed = crdt_test::seed(42);
    CAPTURE(seed);
    std::vector<std::vector<std::byte>> samples;
    for (const std::uint64_t t : {std::uint64_t{0}, std::uint64_t{1}, std::uint64_t{127},
                                  std::uint64_t{128}, std::uint64_t{1} << 40, max64}) {
        CAPTURE(t);
        const crdt::lamport_clock c(t);
        REQUIRE_NOTHROW(crdt::testing::check_round_trip(c));
        CHECK(crdt::encode(c) == crdt::encode(t)); // a varint
        samples.push_back(crdt::encode(c));
    }
    REQUIRE_NOTHROW(crdt::testing::check_decoder_robustness<crdt::lamport_clock>(samples, seed));
    const std::vector<std::byte> cut{std::byte{0x80}};
    CHECK(core_test::caught_error([&] { (void)crdt::decode<crdt::lamport_clock>(cut); }).cause() ==
          crdt::errc::truncated);
}
