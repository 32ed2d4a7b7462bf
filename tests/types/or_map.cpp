// Tests of crdt/or_map.hpp: nested values share the map's context; erase is
// reset-remove; the table DB's or_map<row_key, lww_map<field, value>>.
#include "support.hpp"

#include <crdt/g_counter.hpp>
#include <crdt/lww_map.hpp>
#include <crdt/lww_register.hpp>
#include <crdt/mv_register.hpp>
#include <crdt/or_map.hpp>
#include <crdt/or_set.hpp>
#include <crdt/pn_counter.hpp>
#include <crdt/value.hpp>

#include <catch2/catch.hpp>

#include <cstdint>
#include <random>
#include <stdexcept>
#include <string>
#include <tuple>
#include <vector>

namespace {

struct hashed_map_policy : crdt::or_map_defaults {
    using containers = crdt::hashed_containers;
};

using set_map = crdt::or_map<int, crdt::or_set<int>>;
using set_map_hashed = crdt::or_map<int, crdt::or_set<int>, hashed_map_policy>;
using counter_map = crdt::or_map<int, crdt::pn_counter>;
using register_map = crdt::or_map<int, crdt::mv_register<int>>;
using lww_register_map = crdt::or_map<int, crdt::lww_register<int>>;
using nested_map = crdt::or_map<int, crdt::or_map<int, crdt::or_set<int>>>;
using row = crdt::lww_map<std::string, crdt::value>;
using table = crdt::or_map<std::string, row>;

template <class M>
M random_op(M& m, std::mt19937_64& rng) {
    using V = typename M::mapped_type;
    const int k = static_cast<int>(rng() % 6);
    const int x = static_cast<int>(rng() % 6);
    if (rng() % 4 == 0) {
        return m.erase(k);
    }
    return m.update(k, [&](V& v) {
        if constexpr (std::is_same_v<V, crdt::or_set<int>>) {
            return rng() % 3 == 0 ? v.remove(x) : v.add(x);
        } else if constexpr (std::is_same_v<V, crdt::pn_counter>) {
            return rng() % 2 == 0 ? v.increment(static_cast<std::uint64_t>(x))
                                  : v.decrement(static_cast<std::uint64_t>(x));
        } else if constexpr (std::is_same_v<V, crdt::mv_register<int>> ||
                             std::is_same_v<V, crdt::lww_register<int>>) {
            return v.assign(x);
        } else {
            return v.update(x, [&](crdt::or_set<int>& s) { return s.add(k); });
        }
    });
}

using maps =
    std::tuple<set_map, set_map_hashed, counter_map, register_map, lww_register_map, nested_map>;

// One random edit of a table of `rows` rows: erases a row once in
// `erase_one_in`, else sets or erases one of 4 fields.
table random_row_edit(table& t, std::mt19937_64& rng, std::uint64_t rows,
                      std::uint64_t erase_one_in) {
    const std::string key = "row" + std::to_string(rng() % rows);
    if (rng() % erase_one_in == 0) {
        return t.erase(key);
    }
    const std::string field = "f" + std::to_string(rng() % 4);
    const auto v = static_cast<std::int64_t>(rng() % 10);
    return t.update(key, [&](row& x) {
        return rng() % 4 == 0 ? x.erase(field) : x.set(field, crdt::value(v));
    });
}

} // namespace

TEMPLATE_LIST_TEST_CASE("or_map: random replicas converge and obey the laws", "[types][or_map]",
                        maps) {
    for (std::uint64_t round = 0; round < 3; ++round) {
        const std::uint64_t seed = crdt_test::seed(1000 + round);
        CAPTURE(seed);
        auto r = types_test::simulate<TestType>(
            seed, 2 + round, 50, [](crdt::replica_id id) { return TestType(id); },
            [](TestType& m, std::mt19937_64& rng) { return random_op(m, rng); });
        types_test::check_run(r, seed);
    }
}

TEST_CASE("or_map: erase resets what the eraser saw; a concurrent update survives",
          "[types][or_map]") {
    set_map a(crdt::replica_id(1));
    set_map b(crdt::replica_id(2));
    b.merge(a.update(1, [](auto& s) { return s.add(10); }));
    const auto er = b.erase(1);
    const auto up = a.update(1, [](auto& s) { return s.add(11); });
    a.merge(er);
    b.merge(up);
    REQUIRE(a == b);
    REQUIRE(a.contains(1));
    const auto v = a.get(1);
    REQUIRE_FALSE(v->contains(10)); // observed by the eraser: gone
    REQUIRE(v->contains(11));       // concurrent: kept
    // An erase that saw everything removes the key and leaves no tombstone.
    b.merge(a.erase(1));
    REQUIRE_FALSE(b.contains(1));
    REQUIRE(b.empty());
}

TEST_CASE("or_map: nested maps reset recursively", "[types][or_map]") {
    nested_map a(crdt::replica_id(1));
    nested_map b(crdt::replica_id(2));
    b.merge(a.update(1, [](auto& inner) {
        return inner.update(2, [](crdt::or_set<int>& s) { return s.add(3); });
    }));
    const auto er = b.erase(1);
    const auto up = a.update(1, [](auto& inner) {
        return inner.update(4, [](crdt::or_set<int>& s) { return s.add(5); });
    });
    a.merge(er);
    b.merge(up);
    REQUIRE(a == b);
    const auto inner = a.get(1);
    REQUIRE(inner.has_value());
    REQUIRE_FALSE(inner->contains(2));
    REQUIRE(inner->get(4)->contains(5));
}

TEST_CASE("or_map: counters inside a map are reset by erase", "[types][or_map]") {
    counter_map a(crdt::replica_id(1));
    a.update(1, [](crdt::pn_counter& c) { return c.increment(5); });
    a.erase(1);
    REQUIRE_FALSE(a.contains(1));
    a.update(1, [](crdt::pn_counter& c) { return c.increment(2); });
    REQUIRE(a.get(1)->value() == 2);
}

TEST_CASE("or_map: table rows as or_map<row_key, lww_map<field, value>>", "[types][or_map]") {
    table a(crdt::replica_id(1));
    table b(crdt::replica_id(2));
    b.merge(a.update("user_123", [](row& r) {
        auto d = r.set("name", "Alice");
        d.merge(r.set("age", 30));
        return d;
    }));
    REQUIRE(b.get("user_123")->get("age")->if_int() != nullptr);
    // Concurrently: b deletes the row; a sets a field b never saw, and
    // overwrites one b saw.
    const auto del = b.erase("user_123");
    const auto up = a.update("user_123", [](row& r) {
        auto d = r.set("visits", 1);
        d.merge(r.set("age", 31));
        return d;
    });
    a.merge(del);
    b.merge(up);
    REQUIRE(a == b);
    const auto r = a.get("user_123");
    REQUIRE(r.has_value());
    REQUIRE_FALSE(r->contains("name"));           // seen by the deleter
    REQUIRE(*r->get("visits") == crdt::value(1)); // not seen: survives
    REQUIRE(r->size() + r->tombstones() >= 2);
    // Purging after everyone has seen everything.
    for (auto* m : {&a, &b}) {
        m->purge_tombstones(a.version());
    }
    REQUIRE(a == b);
    REQUIRE(*a.get("user_123")->get("visits") == crdt::value(1));
    REQUIRE_NOTHROW(crdt::testing::check_round_trip(a));
    REQUIRE_NOTHROW(crdt::testing::check_decoder_robustness<table>(
        {crdt::encode(a), crdt::encode(del), crdt::encode(up)}, crdt_test::seed(12), 1500));
}

TEST_CASE("or_map: table rows converge under random edits", "[types][or_map]") {
    for (std::uint64_t round = 0; round < 3; ++round) {
        const std::uint64_t seed = crdt_test::seed(1100 + round);
        CAPTURE(seed);
        auto r = types_test::simulate<table>(
            seed, 2 + round, 60, [](crdt::replica_id id) { return table(id); },
            [](table& t, std::mt19937_64& rng) { return random_row_edit(t, rng, 5, 5); });
        types_test::check_run(r, seed, types_test::delta_joins::applied);
    }
}

TEST_CASE("or_map: decoding truncated input raises crdt::error", "[types][or_map]") {
    set_map a(crdt::replica_id(1));
    a.update(1, [](auto& s) { return s.add(2); });
    a.update(3, [](auto& s) { return s.add(4); });
    const auto bytes = crdt::encode(a);
    for (std::size_t n = 0; n < bytes.size(); ++n) {
        REQUIRE_THROWS_AS(crdt::decode<set_map>(std::span<const std::byte>(bytes.data(), n)),
                          crdt::error);
    }
}

TEST_CASE("or_map: a small delta merged into a large map touches only its keys",
          "[types][or_map]") {
    for (std::uint64_t round = 0; round < 2; ++round) {
        const std::uint64_t seed = crdt_test::seed(1200 + round);
        CAPTURE(seed);
        SECTION("or_map<int, or_set<int>>, flat and hashed") {
            const auto op = [](auto& m, std::mt19937_64& rng) {
                const int k = static_cast<int>(rng() % 500);
                const int x = static_cast<int>(rng() % 4);
                if (rng() % 6 == 0) {
                    return m.erase(k);
                }
                return m.update(k, [&](crdt::or_set<int>& s) {
                    return rng() % 3 == 0 ? s.remove(x) : s.add(x);
                });
            };
            types_test::check_sparse_merges<set_map>(
                seed, [](crdt::replica_id id) { return set_map(id); }, op, 400, 200);
            types_test::check_sparse_merges<set_map_hashed>(
                seed, [](crdt::replica_id id) { return set_map_hashed(id); }, op, 400, 200);
        }
        SECTION("table rows: or_map<std::string, lww_map<std::string, value>>") {
            types_test::check_sparse_merges<table>(
                seed, [](crdt::replica_id id) { return table(id); },
                [](table& t, std::mt19937_64& rng) { return random_row_edit(t, rng, 400, 8); }, 400,
                200);
        }
        SECTION("a mutation that throws still indexes the dots it made") {
            // fn makes a dot, then throws: the value goes back to the map
            // with the new dot, which a later remote erase must still find.
            set_map a(crdt::replica_id(1));
            set_map b(crdt::replica_id(2));
            for (int k = 0; k < 200; ++k) {
                b.merge(a.update(k, [](crdt::or_set<int>& s) { return s.add(1); }));
            }
            a.merge(b.update(0, [](crdt::or_set<int>& s) { return s.add(2); })); // builds a's index
            REQUIRE(crdt::detail::dot_store::access::state(a).index.enabled());
            REQUIRE_THROWS_AS(a.update(7,
                                       [](crdt::or_set<int>& s) -> crdt::or_set<int> {
                                           s.add(9);
                                           throw std::runtime_error("fn failed");
                                       }),
                              std::runtime_error);
            a.verify();
            REQUIRE(a.get(7)->contains(9));
        }
    }
}

TEST_CASE("or_map: an update whose fn merges into the value keeps the index complete",
          "[types][or_map]") {
    set_map a(crdt::replica_id(1));
    set_map b(crdt::replica_id(2));
    for (int k = 0; k < 200; ++k) {
        b.merge(a.update(k, [](crdt::or_set<int>& s) { return s.add(1); }));
    }
    a.merge(b.update(0, [](crdt::or_set<int>& s) { return s.add(2); })); // builds a's index
    REQUIRE(crdt::detail::dot_store::access::state(a).index.enabled());
    crdt::or_set<int> peer(crdt::replica_id(3));
    const auto pd = peer.add(42);
    b.merge(a.update(500, [&](crdt::or_set<int>& s) {
        s.merge(pd); // a peer's dot enters a's store through the lent value
        return pd;
    }));
    a.verify();
    const auto rm = b.erase(500);
    const auto expected = types_test::full_join(a, rm);
    a.merge(rm);
    REQUIRE(crdt::detail::dot_store::access::state(a) == expected);
    REQUIRE_FALSE(a.contains(500));
    REQUIRE(a == b);
}

TEST_CASE("or_map: a table delta holder with a base indexes every write it stores",
          "[types][or_map]") {
    // A write b outside the delta's base, beaten by a write a inside it, is
    // in neither the delta's store nor its base; a holder of the delta does
    // not skip b when b's own delta arrives, and must index it.
    table s(crdt::replica_id(1));
    table t(crdt::replica_id(2));
    for (int i = 0; i < 5; ++i) {
        t.update("t" + std::to_string(i), [](row& r) { return r.set("f", 1); }); // t's clock ahead
    }
    t.merge(s);
    const table b = s.update("row", [](row& r) { return r.set("f", 111); });
    const table a = t.update("row", [](row& r) { return r.set("f", 222); });
    s.merge(a);
    for (int i = 0; i < 100; ++i) {
        s.update("k" + std::to_string(i), [](row& r) { return r.set("f", 5); });
    }
    const table d = s.delta_since(t.version()); // leaves out a (inside the base)
    table holder;
    holder.merge(d);
    holder.merge(b); // the sparse path: builds the index
    REQUIRE(crdt::detail::dot_store::access::state(holder).index.enabled());
    holder.verify();
    t.merge(holder); // t reached the base, and holds a, which beats b
    REQUIRE(*t.get("row")->get("f") == crdt::value(222));
    for (int i = 0; i < 100; ++i) {
        REQUIRE(t.contains("k" + std::to_string(i)));
    }
    REQUIRE(t.version().includes(s.version()));
    t.verify();
}
