// Tests of crdt/mv_register.hpp.
#include "support.hpp"

#include <crdt/mv_register.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace {
template <class R>
std::vector<int> sorted_values(const R& r) {
    std::vector<int> v;
    for (int x : r.values()) {
        v.push_back(x);
    }
    std::sort(v.begin(), v.end());
    return v;
}
} // namespace

TEST_CASE("mv_register: random replicas converge and obey the laws", "[types][mv_register]") {
    using reg = crdt::mv_register<int>;
    for (std::uint64_t round = 0; round < 4; ++round) {
        const std::uint64_t seed = crdt_test::seed(400 + round);
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
        // At most one value per replica survives.
        REQUIRE(sorted_values(r.replicas[0]).size() <= 2 + round);
    }
}

TEST_CASE("mv_register: concurrent writes are kept; resolve collapses them",
          "[types][mv_register]") {
    crdt::mv_register<int> a(crdt::replica_id(1));
    crdt::mv_register<int> b(crdt::replica_id(2));
    const auto da = a.assign(1);
    const auto db = b.assign(2);
    a.merge(db);
    b.merge(da);
    REQUIRE(a == b);
    REQUIRE(sorted_values(a) == std::vector<int>{1, 2});
    const auto dr = a.resolve([](auto values) {
        int m = 0;
        for (int v : values) {
            m = std::max(m, v);
        }
        return m;
    });
    b.merge(dr);
    REQUIRE(sorted_values(b) == std::vector<int>{2});
    // A write that saw both replaces both.
    const auto dw = b.assign(5);
    a.merge(dw);
    REQUIRE(sorted_values(a) == std::vector<int>{5});
}

TEST_CASE("mv_register: an out-of-order stale write is hidden", "[types][mv_register]") {
    crdt::mv_register<std::string> a(crdt::replica_id(1));
    const auto d1 = a.assign("old");
    const auto d2 = a.assign("mid");
    const auto d3 = a.assign("new");
    crdt::mv_register<std::string> b(crdt::replica_id(2));
    b.merge(d1);
    b.merge(d3); // d2 missing: d1's dot is not covered by d3's context
    std::vector<std::string> seen(b.values().begin(), b.values().end());
    REQUIRE(seen == std::vector<std::string>{"new"});
    b.merge(d2);
    b.merge(a.delta_since(b.version()));
    REQUIRE(b == a);
}
