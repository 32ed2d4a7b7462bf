// Tests of crdt/lww_register.hpp.
#include "support.hpp"

#include <crdt/lww_register.hpp>

#include <catch2/catch.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <random>
#include <string>

namespace {

struct manual_wall {
    std::shared_ptr<std::uint64_t> ms = std::make_shared<std::uint64_t>(1'000'000);
    std::uint64_t operator()() const noexcept { return *ms; }
};

struct hlc_policy : crdt::lww_register_defaults {
    using clock = crdt::hlc_timestamps<manual_wall>;
};
struct caller_policy : crdt::lww_register_defaults {
    using clock = crdt::caller_timestamps<std::uint64_t>;
};
struct smaller_wins_policy : caller_policy {
    using tie_break = crdt::smaller_replica_wins;
};

} // namespace

TEST_CASE("lww_register: random replicas converge and obey the laws", "[types][lww_register]") {
    using reg = crdt::lww_register<int>;
    for (std::uint64_t round = 0; round < 4; ++round) {
        const std::uint64_t seed = crdt_test::seed(500 + round);
        CAPTURE(seed);
        auto r = types_test::simulate<reg>(
            seed, 2 + round, 60, [](crdt::replica_id id) { return reg(id); },
            [](reg& x, std::mt19937_64& rng) {
                if (rng() % 10 == 0) {
                    return x.reset();
                }
                return x.assign(static_cast<int>(rng() % 100));
            });
        types_test::check_run(r, seed);
    }
}

TEST_CASE("lww_register: caller timestamps, ties broken identically everywhere",
          "[types][lww_register]") {
    using reg = crdt::lww_register<std::string, caller_policy>;
    reg a(crdt::replica_id(1));
    reg b(crdt::replica_id(2));
    const auto da = a.assign("from a", 10);
    const auto db = b.assign("from b", 10);
    a.merge(db);
    b.merge(da);
    REQUIRE(a == b);
    REQUIRE(*a.get() == "from b"); // larger replica id wins the tie
    REQUIRE(std::distance(a.conflicts().begin(), a.conflicts().end()) == 1);
    // A later timestamp wins regardless of replica.
    b.merge(a.assign("later", 11));
    REQUIRE(*b.get() == "later");
    // A stale local write is ignored.
    const auto stale = a.assign("stale", 5);
    REQUIRE(stale.empty());
    REQUIRE(*a.get() == "later");

    using reg2 = crdt::lww_register<std::string, smaller_wins_policy>;
    reg2 c(crdt::replica_id(1));
    reg2 d(crdt::replica_id(2));
    const auto dc = c.assign("from c", 10);
    d.merge(dc);
    c.merge(d.assign("from d", 10));
    // d's write saw c's: it replaces it although d's id would lose a tie.
    REQUIRE(*c.get() == "from c");
}

TEST_CASE("lww_register: HLC skew is rejected through the clock policy", "[types][lww_register]") {
    using reg = crdt::lww_register<int, hlc_policy>;
    manual_wall wa;
    manual_wall wb;
    reg a(crdt::replica_id(1), reg::clock_type(wa, std::chrono::milliseconds(1000)));
    reg b(crdt::replica_id(2), reg::clock_type(wb, std::chrono::milliseconds(1000)));
    *wb.ms += 60'000; // b's wall clock is a minute ahead
    const auto d = b.assign(42);
    const auto before = a;
    try {
        a.merge(d);
        FAIL("merge accepted a timestamp beyond the maximum skew");
    } catch (const crdt::error& e) {
        REQUIRE(e.cause() == crdt::errc::clock_skew);
    }
    REQUIRE(a == before);
    *wa.ms += 59'500; // within the skew now
    a.merge(d);
    REQUIRE(*a.get() == 42);
    // The next local write is later than what a observed.
    const auto d2 = a.assign(7);
    b.merge(d2);
    REQUIRE(*b.get() == 7);
}
