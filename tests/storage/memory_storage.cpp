#include <crdt/storage/memory_storage.hpp>
#include <crdt/testing/storage_conformance.hpp>

#include <catch2/catch.hpp>

#include "helpers.hpp"

#include <memory>

using namespace storage_test;
using crdt::storage_key;

TEST_CASE("memory_storage passes the conformance suite") {
    crdt::memory_storage store;
    auto open = [&] { return std::make_unique<crdt::memory_storage>(store.share()); };
    REQUIRE_NOTHROW(crdt::testing::check_storage_laws(open));
    REQUIRE_NOTHROW(crdt::testing::check_storage_threads(open));
    REQUIRE_NOTHROW(crdt::testing::check_cas_race_threads(open));
}

TEST_CASE("memory_storage models every capability") {
    STATIC_REQUIRE(crdt::storage<crdt::memory_storage>);
    STATIC_REQUIRE(crdt::batch_storage<crdt::memory_storage>);
    STATIC_REQUIRE(crdt::append_log_storage<crdt::memory_storage>);
    STATIC_REQUIRE(crdt::cas_storage<crdt::memory_storage>);
    STATIC_REQUIRE(crdt::watchable_storage<crdt::memory_storage>);
    STATIC_REQUIRE(crdt::key_listing_storage<crdt::memory_storage>);
}

TEST_CASE("memory_storage simulate_crash drops exactly the unflushed writes") {
    SECTION("full: every acknowledged write survives") {
        crdt::memory_storage s;
        s.save(storage_key{"a"}, bytes("1"));
        s.append(bytes("x"));
        s.simulate_crash();
        CHECK(s.load(storage_key{"a"}) == bytes("1"));
        CHECK(s.read_since(0).size() == 1);
    }
    for (auto level : {crdt::durability::normal, crdt::durability::none}) {
        crdt::memory_storage s({level});
        s.save(storage_key{"a"}, bytes("1"));
        s.flush();
        s.save(storage_key{"a"}, bytes("2"));
        s.save(storage_key{"b"}, bytes("3"));
        s.append(bytes("x"));
        auto other = s.share();
        CHECK(other.load(storage_key{"b"}) == bytes("3"));
        s.simulate_crash();
        CHECK(other.load(storage_key{"a"}) == bytes("1"));
        CHECK_FALSE(other.load(storage_key{"b"}));
        CHECK(other.read_since(0).empty());
        CHECK(s.durability() == level);
    }
}

TEST_CASE("memory_storage watch reports appends and remove_range") {
    crdt::memory_storage s;
    std::vector<crdt::storage_change> seen;
    auto h = s.watch([&](const crdt::storage_change& c) { seen.push_back(c); });
    s.save(storage_key{"d", "1"}, bytes("x"));
    s.save(storage_key{"d", "2"}, bytes("y"));
    s.remove_range(storage_key{"d"});
    const auto seq = s.append(bytes("z"));
    REQUIRE(seen.size() == 5);
    CHECK(seen[2].what == crdt::storage_change::kind::removed);
    CHECK(seen[3].key == storage_key{"d", "2"});
    CHECK(seen[4].what == crdt::storage_change::kind::appended);
    CHECK(seen[4].sequence == seq);
    h.reset();
    CHECK_FALSE(h.active());
    s.save(storage_key{"e"}, bytes("x"));
    CHECK(seen.size() == 5);
}
