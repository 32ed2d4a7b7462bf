// Tests of crdt/or_set.hpp: add-wins and remove-wins, flat and hashed.
#include "support.hpp"

#include <crdt/or_set.hpp>

#include <catch2/catch.hpp>

#include <cstdint>
#include <random>
#include <set>
#include <string>
#include <tuple>
#include <vector>

namespace {

// A key with hash and == but no operator<: enough for hashed containers.
struct point {
    int x = 0;
    int y = 0;
    friend bool operator==(const point&, const point&) = default;
};

} // namespace

template <>
struct std::hash<point> {
    std::size_t operator()(const point& p) const noexcept {
        return std::hash<int>()(p.x) * 31u + std::hash<int>()(p.y);
    }
};

namespace {

struct hashed_policy : crdt::or_set_defaults {
    using containers = crdt::hashed_containers;
};
struct remove_wins_policy : crdt::or_set_defaults {
    using bias = crdt::remove_wins;
};
struct remove_wins_hashed_policy : crdt::or_set_defaults {
    using bias = crdt::remove_wins;
    using containers = crdt::hashed_containers;
};

using add_wins_sets = std::tuple<crdt::or_set<int>, crdt::or_set<int, hashed_policy>>;
using all_sets =
    std::tuple<crdt::or_set<int>, crdt::or_set<int, hashed_policy>,
               crdt::or_set<int, remove_wins_policy>, crdt::or_set<int, remove_wins_hashed_policy>>;

template <class S>
S random_op(S& s, std::mt19937_64& rng) {
    const int x = static_cast<int>(rng() % 12);
    switch (rng() % 4) {
    case 0: return s.remove(x);
    case 1:
        if (rng() % 8 == 0) {
            return s.reset();
        }
        return s.add(x);
    default: return s.add(x);
    }
}

} // namespace

TEMPLATE_LIST_TEST_CASE("or_set: random replicas converge and obey the laws", "[types][or_set]",
                        all_sets) {
    for (std::uint64_t round = 0; round < 4; ++round) {
        const std::uint64_t seed = crdt_test::seed(100 + round);
        CAPTURE(seed);
        auto r = types_test::simulate<TestType>(
            seed, 2 + round % 4, 60, [](crdt::replica_id id) { return TestType(id); },
            [](TestType& s, std::mt19937_64& rng) { return random_op(s, rng); });
        types_test::check_run(r, seed);
    }
}

TEMPLATE_LIST_TEST_CASE("or_set: a single replica behaves like std::set", "[types][or_set]",
                        all_sets) {
    const std::uint64_t seed = crdt_test::seed(7);
    CAPTURE(seed);
    std::mt19937_64 rng(seed);
    TestType s(crdt::replica_id(1));
    TestType replay; // built from the deltas alone
    std::set<int> model;
    for (int i = 0; i < 300; ++i) {
        const int x = static_cast<int>(rng() % 20);
        if (rng() % 3 == 0) {
            replay.merge(s.remove(x));
            model.erase(x);
        } else {
            replay.merge(s.add(x));
            model.insert(x);
        }
        REQUIRE(s.contains(x) == (model.count(x) == 1));
    }
    REQUIRE(s.size() == model.size());
    std::set<int> seen;
    for (int x : s.elements()) {
        seen.insert(x);
    }
    REQUIRE(seen == model);
    for (int x : model) {
        REQUIRE(replay.contains(x));
    }
    REQUIRE(replay.size() == model.size());
}

TEMPLATE_LIST_TEST_CASE("or_set: concurrent add and remove -- add wins", "[types][or_set]",
                        add_wins_sets) {
    TestType a(crdt::replica_id(1));
    TestType b(crdt::replica_id(2));
    b.merge(a.add(7));
    const auto rm = b.remove(7); // b removes the add it saw
    const auto add = a.add(7);   // concurrently a adds again
    a.merge(rm);
    b.merge(add);
    REQUIRE(a == b);
    REQUIRE(a.contains(7));
    // A removal leaves no tombstone: after removing everything the store is empty.
    const auto rm2 = a.remove(7);
    b.merge(rm2);
    REQUIRE(a.empty());
    REQUIRE(a == b);
    REQUIRE(crdt::encode(a).size() < 40);
}

TEST_CASE("or_set: concurrent add and remove -- remove wins under that policy", "[types][or_set]") {
    using S = crdt::or_set<int, remove_wins_policy>;
    S a(crdt::replica_id(1));
    S b(crdt::replica_id(2));
    b.merge(a.add(7));
    const auto rm = b.remove(7);
    const auto add = a.add(7);
    a.merge(rm);
    b.merge(add);
    REQUIRE(a == b);
    REQUIRE_FALSE(a.contains(7));
    // A later add (which saw the remove) brings it back.
    b.merge(a.add(7));
    REQUIRE(b.contains(7));
    // A remove of an element never seen still beats a concurrent add.
    S c(crdt::replica_id(3));
    const auto rm3 = c.remove(9);
    const auto add3 = a.add(9);
    c.merge(add3);
    a.merge(rm3);
    REQUIRE_FALSE(a.contains(9));
    REQUIRE(a.size() == 1);
}

TEST_CASE("or_set: merging a state with itself changes nothing", "[types][or_set]") {
    crdt::or_set<std::string> a(crdt::replica_id(1));
    a.add("x");
    a.add("y");
    a.remove("x");
    const auto before = a;
    a.merge(a);
    REQUIRE(a == before);
    REQUIRE(a.contains("y"));
}

TEST_CASE("or_set: deltas apply in any order, even without their predecessors", "[types][or_set]") {
    crdt::or_set<int> a(crdt::replica_id(1));
    const auto d1 = a.add(1);
    const auto d2 = a.remove(1);
    const auto d3 = a.add(2);
    crdt::or_set<int> b;
    b.merge(d3);
    b.merge(d2);
    REQUIRE_FALSE(b.contains(1));
    b.merge(d1); // arrives last: its dot was already removed
    REQUIRE_FALSE(b.contains(1));
    REQUIRE(b.contains(2));
    REQUIRE(b == a);
}

TEST_CASE("or_set: decoding garbage or truncated input raises crdt::error", "[types][or_set]") {
    crdt::or_set<std::string> a(crdt::replica_id(1));
    a.add("x");
    a.add("y");
    a.remove("x");
    const auto bytes = crdt::encode(a);
    for (std::size_t n = 0; n < bytes.size(); ++n) {
        REQUIRE_THROWS_AS(
            crdt::decode<crdt::or_set<std::string>>(std::span<const std::byte>(bytes.data(), n)),
            crdt::error);
    }
    // A store dot outside the context is rejected.
    auto bad = bytes;
    bad[1] = std::byte{0}; // the context now names replica 0, not the store's replica 1
    REQUIRE_THROWS_AS(crdt::decode<crdt::or_set<std::string>>(bad), crdt::error);
}

TEMPLATE_LIST_TEST_CASE("or_set: a small delta merged into a large set touches only its elements",
                        "[types][or_set]", all_sets) {
    for (std::uint64_t round = 0; round < 2; ++round) {
        const std::uint64_t seed = crdt_test::seed(300 + round);
        CAPTURE(seed);
        types_test::check_sparse_merges<TestType>(
            seed, [](crdt::replica_id id) { return TestType(id); },
            [](TestType& s, std::mt19937_64& rng) {
                const int x = static_cast<int>(rng() % 700);
                if (rng() % 40 == 0) {
                    // A removal of many elements at once (a large context).
                    TestType d;
                    for (int y = x; y < x + 100; ++y) {
                        d.merge(s.remove(y));
                    }
                    return d;
                }
                return rng() % 3 == 0 ? s.remove(x) : s.add(x);
            },
            500, 250);
    }
}

TEST_CASE("or_set: a delta_since(v) delta needs a replica that has reached v", "[types][or_set]") {
    crdt::or_set<int> a(crdt::replica_id(1));
    crdt::or_set<int> behind(crdt::replica_id(2));
    behind.merge(a.add(1));
    a.add(2);
    crdt::or_set<int> peer(crdt::replica_id(3));
    peer.merge(a);
    a.add(3);
    // A delta for peer's version keeps elements 1 and 2 without their dots'
    // payloads; `behind` never saw element 2.
    const auto d = a.delta_since(peer.version());
    REQUIRE_FALSE(d.contains(2));
    const auto before = behind;
    try {
        behind.merge(d);
        FAIL("merge accepted a delta for a version the replica has not reached");
    } catch (const crdt::error& e) {
        REQUIRE(e.cause() == crdt::errc::causality_gap);
        REQUIRE(std::string(e.what()).find("delta_since") != std::string::npos);
    }
    REQUIRE(behind == before);
    behind.verify();
    // The replica that reached it applies it.
    peer.merge(d);
    REQUIRE(peer == a);
    // A delta holder (no replica id) joins it and still describes element 2
    // as alive; joined with what `behind` lacks, it brings `behind` up to date.
    crdt::or_set<int> composed;
    composed.merge(d);
    composed.merge(a.delta_since(behind.version()));
    behind.merge(composed);
    REQUIRE(behind == a);
    REQUIRE(behind.contains(2));
}

TEST_CASE("or_set: the merge index stays complete (review cases)", "[types][or_set]") {
    using crdt::detail::dot_store::access;
    SECTION("a delta holder's kept dot that becomes stored is indexed") {
        crdt::or_set<int> s(crdt::replica_id(1));
        crdt::or_set<int> add4;
        for (int i = 0; i < 200; ++i) {
            auto d = s.add(i);
            if (i == 4) {
                add4 = d;
            }
        }
        crdt::or_set<int> half(crdt::replica_id(1));
        for (int i = 0; i < 100; ++i) {
            half.add(i);
        }
        crdt::or_set<int> d = s.delta_since(half.version()); // keeps the dots of 0..99
        crdt::or_set<int> b(crdt::replica_id(2));
        d.merge(b.add(1000)); // builds d's index
        REQUIRE(access::state(d).index.enabled());
        d.merge(add4); // stores element 4 under a dot d kept
        REQUIRE(d.contains(4));
        d.verify();
        const auto rm = s.remove(4);
        const auto expected = types_test::full_join(d, rm);
        d.merge(rm);
        REQUIRE(access::state(d) == expected);
        REQUIRE_FALSE(d.contains(4));
        d.verify();
    }
    SECTION("merging a large state into an indexed replica rebuilds instead of inserting") {
        crdt::or_set<int> a(crdt::replica_id(1));
        crdt::or_set<int> b(crdt::replica_id(2));
        for (int i = 0; i < 200; ++i) {
            b.merge(a.add(i));
        }
        a.merge(b.add(5000)); // builds a's index
        REQUIRE(access::state(a).index.enabled());
        crdt::or_set<int> c(crdt::replica_id(3));
        for (int i = 0; i < 3000; ++i) {
            c.add(10000 + (i * 7919) % 3000); // counters in a different order from keys
        }
        a.merge(c);
        a.verify();
        REQUIRE(access::state(a).index.entries() < 2 * 3201 + 1024);
    }
    SECTION("local mutations alone keep the index bounded") {
        crdt::or_set<int> a(crdt::replica_id(1));
        crdt::or_set<int> b(crdt::replica_id(2));
        for (int i = 0; i < 100; ++i) {
            b.merge(a.add(i));
        }
        a.merge(b.add(1000)); // builds a's index
        for (int i = 0; i < 20000; ++i) {
            a.add(7); // replaces 7's dot each time
        }
        a.verify();
        REQUIRE(access::state(a).index.entries() < 2 * 102 + 1024 + 1);
    }
}

TEST_CASE("or_set: hashed sets of unordered keys merge small deltas", "[types][or_set]") {
    crdt::or_set<point, hashed_policy> a(crdt::replica_id(1));
    crdt::or_set<point, hashed_policy> b(crdt::replica_id(2));
    for (int i = 0; i < 200; ++i) {
        b.merge(a.add(point{i, -i}));
    }
    a.merge(b.remove(point{3, -3})); // the sparse path, without operator<
    REQUIRE_FALSE(a.contains(point{3, -3}));
    REQUIRE(crdt::detail::dot_store::access::state(a).index.enabled());
    a.merge(b.add(point{3, -3}));
    REQUIRE(a.contains(point{3, -3}));
    REQUIRE(a.size() == b.size());
    a.verify();
}
