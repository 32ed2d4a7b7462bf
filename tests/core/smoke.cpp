#include <crdt/core/causal_context.hpp>
#include <crdt/core/hybrid_logical_clock.hpp>
#include <crdt/core/lamport_clock.hpp>
#include <crdt/core/version_vector.hpp>
#include <catch2/catch.hpp>

TEST_CASE("core smoke") {
    crdt::version_vector a{{crdt::replica_id(1), 3}};
    crdt::version_vector b{{crdt::replica_id(2), 1}};
    a.merge(b);
    REQUIRE(a.get(crdt::replica_id(2)) == 1);
    crdt::causal_context c;
    c.insert({crdt::replica_id(1), 2});
    c.insert({crdt::replica_id(1), 1});
    REQUIRE(c.is_compact());
    REQUIRE(crdt::decode<crdt::causal_context>(crdt::encode(c)) == c);
}
