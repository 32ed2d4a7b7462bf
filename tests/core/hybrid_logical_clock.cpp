// Tests of crdt/core/hybrid_logical_clock.hpp, on a wall clock set by hand.
#include <crdt/core/hybrid_logical_clock.hpp>
#include <crdt/testing/arbitrary.hpp>
#include <crdt/testing/codec_laws.hpp>

#include "helpers.hpp"
#include <support/seed.hpp>

#include <catch2/catch.hpp>
#include <rapidcheck.h>
#include <rapidcheck/catch.h>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <optional>
#include <random>
#include <string>
#include <vector>

namespace {

using core_test::manual_wall_clock;
using hlc = crdt::basic_hybrid_logical_clock<manual_wall_clock>;
using ts = crdt::hlc_timestamp;
using namespace std::chrono_literals;

constexpr std::uint32_t max32 = std::numeric_limits<std::uint32_t>::max();

static_assert(crdt::wall_clock<manual_wall_clock>);
static_assert(crdt::wall_clock<crdt::system_wall_clock>);
static_assert(!crdt::wall_clock<int>);

} // namespace

TEST_CASE("hlc_timestamp: lexicographic order, hash and codec") {
    CHECK(ts{1, max32} < ts{2, 0});
    CHECK(ts{2, 0} < ts{2, 1});
    CHECK(ts{2, 1} == ts{2, 1});
    const std::hash<ts> h;
    CHECK(h(ts{5, 6}) == h(ts{5, 6}));
    rc::prop("order and round trip", [](const ts& a, const ts& b) {
        RC_ASSERT((a < b) == (a.physical_ms < b.physical_ms ||
                              (a.physical_ms == b.physical_ms && a.logical < b.logical)));
        RC_ASSERT((a == b) == (a.physical_ms == b.physical_ms && a.logical == b.logical));
        crdt::testing::check_round_trip(a);
        RC_ASSERT(std::hash<ts>{}(a) == std::hash<ts>{}(ts{a.physical_ms, a.logical}));
    });

    const std::uint64_t seed = crdt_test::seed(51);
    CAPTURE(seed);
    std::vector<std::vector<std::byte>> samples;
    for (const ts t : {ts{}, ts{1700000000000, 0}, ts{1700000000000, 5}, ts{~0ull, max32}}) {
        REQUIRE_NOTHROW(crdt::testing::check_round_trip(t));
        samples.push_back(crdt::encode(t));
    }
    REQUIRE_NOTHROW(crdt::testing::check_decoder_robustness<ts>(samples, seed));
}

TEST_CASE("hlc_timestamp: decode rejects a logical counter above 2^32-1") {
    auto encoded = [](std::uint64_t physical, std::uint64_t logical) {
        return core_test::bytes_of([&](crdt::byte_writer& w) {
            w.varint(physical);
            w.varint(logical);
        });
    };
    CHECK(crdt::decode<ts>(encoded(7, max32)) == ts{7, max32});
    const crdt::error e = core_test::caught_error(
        [&] { (void)crdt::decode<ts>(encoded(300, std::uint64_t{max32} + 1)); });
    CHECK(e.cause() == crdt::errc::overlong_varint);
    CHECK(e.offset() == std::optional<std::size_t>(2)); // after the 2-byte physical part
    CHECK(std::string(e.what()).find("hlc_timestamp.logical") != std::string::npos);
    const auto truncated = encoded(300, 1);
    CHECK(core_test::caught_error([&] {
              (void)crdt::decode<ts>(
                  std::vector<std::byte>(truncated.begin(), truncated.end() - 1));
          }).cause() == crdt::errc::truncated);
}

TEST_CASE("hlc: now() is monotonic when the wall clock stalls or goes backwards") {
    manual_wall_clock wall;
    hlc clock(wall);
    wall.set(1000);
    CHECK(clock.now() == ts{1000, 0});
    CHECK(clock.now() == ts{1000, 1}); // stands still
    CHECK(clock.now() == ts{1000, 2});
    wall.set(500); // goes backwards: physical part holds, logical advances
    CHECK(clock.now() == ts{1000, 3});
    CHECK(clock.last() == ts{1000, 3});
    wall.set(1001); // moves on: logical resets
    CHECK(clock.now() == ts{1001, 0});
    wall.set(0);
    CHECK(clock.now() == ts{1001, 1});
}

TEST_CASE("hlc: randomized wall clock, timestamps strictly increase") {
    const std::uint64_t seed = crdt_test::seed(52);
    CAPTURE(seed);
    std::mt19937_64 rng(seed);
    manual_wall_clock wall;
    wall.set(1'000'000);
    hlc clock(wall);
    ts previous = clock.last();
    std::uint64_t highest_wall = 0;
    for (int step = 0; step < 3000; ++step) {
        CAPTURE(step);
        switch (core_test::uniform(rng, 0, 3)) {
        case 0: wall.set(wall() + core_test::uniform(rng, 1, 50)); break;
        case 1: wall.set(wall() - core_test::uniform(rng, 1, 50)); break; // backwards
        default: break;                                                   // stands still
        }
        highest_wall = std::max(highest_wall, wall());
        const ts t = clock.now();
        REQUIRE(previous < t);
        REQUIRE(clock.last() == t);
        // The physical part is the highest wall time seen; the logical part
        // restarts whenever the wall clock moves past it.
        REQUIRE(t.physical_ms == highest_wall);
        if (t.physical_ms > previous.physical_ms) {
            REQUIRE(t.logical == 0u);
        } else {
            REQUIRE(t.logical == previous.logical + 1);
        }
        previous = t;
    }
}

TEST_CASE("hlc: update() is later than the remote and than everything before") {
    manual_wall_clock wall;
    wall.set(10'000);
    hlc clock(wall);
    const ts first = clock.now();
    REQUIRE(first == ts{10'000, 0});

    // Remote behind us: a local tick.
    CHECK(clock.update(ts{9'000, 70}) == ts{10'000, 1});
    // Remote at our physical time with a larger logical part.
    CHECK(clock.update(ts{10'000, 40}) == ts{10'000, 41});
    // Remote at our physical time with a smaller logical part.
    CHECK(clock.update(ts{10'000, 3}) == ts{10'000, 42});
    // Remote ahead (within the skew bound): adopt its physical time.
    CHECK(clock.update(ts{10'500, 7}) == ts{10'500, 8});
    CHECK(clock.last() == ts{10'500, 8});
    // Wall clock ahead of both: logical restarts.
    wall.set(20'000);
    CHECK(clock.update(ts{10'600, 9}) == ts{20'000, 0});
    // Wall clock behind a remote equal to last.
    wall.set(1);
    CHECK(clock.update(ts{20'000, 5}) == ts{20'000, 6});
    CHECK(clock.now() == ts{20'000, 7});
}

TEST_CASE("hlc: a remote too far ahead is rejected and the clock is unchanged") {
    manual_wall_clock wall;
    wall.set(1'000'000);
    hlc clock(wall);
    CHECK(clock.max_skew() == std::chrono::milliseconds(5min));
    CHECK(clock.max_skew() == hlc::default_max_skew);
    const ts before = clock.now();

    const std::uint64_t limit = 1'000'000 + 300'000;
    const crdt::error e = core_test::caught_error([&] { (void)clock.update(ts{limit + 1, 0}); });
    CHECK(e.cause() == crdt::errc::clock_skew);
    CHECK(std::string(e.what()).find("300001 ms ahead") != std::string::npos);
    CHECK(clock.last() == before);
    CHECK(clock.now() == ts{before.physical_ms, before.logical + 1}); // as if nothing happened

    // Exactly at the bound is accepted.
    CHECK(clock.update(ts{limit, 4}) == ts{limit, 5});
    // Skew is measured against the wall clock, not against last().
    CHECK(core_test::caught_error([&] {
              (void)clock.update(ts{limit + 2, 0});
          }).cause() == crdt::errc::clock_skew);
    CHECK(clock.last() == ts{limit, 5});
}

TEST_CASE("hlc: the maximum skew is configurable") {
    manual_wall_clock wall;
    wall.set(50'000);
    hlc tight(wall, 10ms);
    CHECK(tight.max_skew() == 10ms);
    CHECK(tight.update(ts{50'010, 0}) == ts{50'010, 1});
    const ts kept = tight.last();
    CHECK(core_test::caught_error([&] {
              (void)tight.update(ts{50'011, 0});
          }).cause() == crdt::errc::clock_skew);
    CHECK(tight.last() == kept);

    hlc loose(wall, 24h);
    CHECK(loose.update(ts{50'000 + 86'400'000, 0}).physical_ms == 50'000 + 86'400'000);

    hlc zero(wall, 0ms); // no remote may be ahead at all
    CHECK(zero.update(ts{50'000, 3}) == ts{50'000, 4});
    CHECK(core_test::caught_error([&] {
              (void)zero.update(ts{50'001, 0});
          }).cause() == crdt::errc::clock_skew);

    hlc negative(wall, -5ms); // treated as zero
    CHECK(negative.max_skew() == 0ms);
    CHECK(core_test::caught_error([&] {
              (void)negative.update(ts{50'001, 0});
          }).cause() == crdt::errc::clock_skew);
}

TEST_CASE("hlc: an exhausted logical counter carries into the next millisecond") {
    manual_wall_clock wall;
    wall.set(1000);
    hlc clock(ts{1000, max32}, wall);
    CHECK(clock.now() == ts{1001, 0}); // ahead of the wall clock by 1 ms
    CHECK(clock.now() == ts{1001, 1});

    hlc stalled(ts{1000, max32}, wall);
    CHECK(stalled.update(ts{900, 0}) == ts{1001, 0});

    // A peer cannot block local writes with a huge logical part.
    hlc other(ts{1000, 5}, wall);
    CHECK(other.update(ts{1000, max32}) == ts{1001, 0});
    CHECK(other.now() == ts{1001, 1});
    wall.set(1001);
    CHECK(other.update(ts{1001, max32}) == ts{1002, 0});
    CHECK(other.now() > ts{1002, 0});
}

TEST_CASE("hlc: a clock at the very end of time throws and is left unchanged") {
    manual_wall_clock wall;
    wall.set(1000);
    constexpr std::uint64_t max64 = std::numeric_limits<std::uint64_t>::max();
    hlc clock(ts{max64, max32}, wall);
    crdt::error e = core_test::caught_error([&] { (void)clock.now(); });
    CHECK(e.cause() == crdt::errc::counter_overflow);
    CHECK(clock.last() == ts{max64, max32});
    e = core_test::caught_error([&] { (void)clock.update(ts{900, 0}); });
    CHECK(e.cause() == crdt::errc::counter_overflow);
    CHECK(clock.last() == ts{max64, max32});
}

TEST_CASE("hlc: a restored clock continues after its last timestamp") {
    manual_wall_clock wall;
    wall.set(100); // the wall clock is behind what was stored
    hlc clock(ts{5000, 7}, wall);
    CHECK(clock.last() == ts{5000, 7});
    CHECK(clock.now() == ts{5000, 8});
    CHECK(clock.update(ts{4000, 100}) == ts{5000, 9});
    wall.set(6000);
    CHECK(clock.now() == ts{6000, 0});

    hlc tight(ts{5000, 7}, wall, 1ms);
    CHECK(tight.max_skew() == 1ms);
    CHECK(tight.now() == ts{6000, 0});
}

TEST_CASE("hlc: the system clock issues increasing timestamps") {
    crdt::hybrid_logical_clock clock;
    ts previous = clock.now();
    CHECK(previous.physical_ms > 0u);
    for (int i = 0; i < 1000; ++i) {
        const ts t = clock.now();
        REQUIRE(previous < t);
        previous = t;
    }
    const ts remote{previous.physical_ms, previous.logical + 10};
    CHECK(remote < clock.update(remote));
}

TEST_CASE("hlc: replicas exchanging timestamps issue increasing, causal timestamps") {
    const std::uint64_t seed = crdt_test::seed(53);
    CAPTURE(seed);
    std::mt19937_64 rng(seed);
    constexpr std::size_t n = 4;
    std::vector<manual_wall_clock> walls(n);
    std::vector<hlc> clocks;
    for (std::size_t i = 0; i < n; ++i) {
        // Each replica's wall clock is offset from the others by up to 2 s;
        // the skew bound (10 s) is never exceeded, so no update is rejected.
        walls[i].set(1'000'000 + core_test::uniform(rng, 0, 2000));
        clocks.emplace_back(walls[i], 10s);
    }
    std::vector<ts> last_issued(n);
    std::vector<ts> max_received(n);
    struct message {
        std::size_t to;
        ts stamp;
    };
    std::vector<message> in_flight;
    for (int step = 0; step < 3000; ++step) {
        CAPTURE(step);
        const std::size_t who = core_test::uniform(rng, 0, n - 1);
        // Wall clocks drift: forwards, backwards, or not at all.
        switch (core_test::uniform(rng, 0, 4)) {
        case 0: walls[who].set(walls[who]() + core_test::uniform(rng, 1, 20)); break;
        case 1: walls[who].set(walls[who]() - core_test::uniform(rng, 1, 5)); break;
        default: break;
        }
        ts issued;
        if (!in_flight.empty() && core_test::uniform(rng, 0, 2) == 0) {
            const std::size_t k = core_test::uniform(rng, 0, in_flight.size() - 1);
            const message m = in_flight[k];
            in_flight.erase(in_flight.begin() + static_cast<std::ptrdiff_t>(k));
            issued = clocks[m.to].update(m.stamp);
            REQUIRE(m.stamp < issued);
            max_received[m.to] = std::max(max_received[m.to], m.stamp);
            REQUIRE(last_issued[m.to] < issued);
            REQUIRE(max_received[m.to] < issued);
            last_issued[m.to] = issued;
            continue;
        }
        issued = clocks[who].now();
        REQUIRE(last_issued[who] < issued);
        REQUIRE(max_received[who] < issued);
        last_issued[who] = issued;
        if (core_test::uniform(rng, 0, 1) == 0) { // send it
            in_flight.push_back({core_test::uniform(rng, 0, n - 1), issued});
        }
    }
}
