// Explicit instantiation of every public template of crdt/core with each
// replica id type: every member function body is compiled, so a member that
// is wrong for some id type (and not yet called by any test) fails the build.
#include <crdt/core/causal_context.hpp>
#include <crdt/core/dot.hpp>
#include <crdt/core/hybrid_logical_clock.hpp>
#include <crdt/core/lamport_clock.hpp>
#include <crdt/core/replica_id.hpp>
#include <crdt/core/version_vector.hpp>

#include "helpers.hpp"

#include <catch2/catch.hpp>

#include <functional>
#include <tuple>

// --- dot, dot_range --------------------------------------------------------------
template struct crdt::basic_dot<crdt::replica_id>;
template struct crdt::basic_dot<crdt::replica_id128>;
template struct crdt::basic_dot<crdt::agent_id>;
template struct crdt::basic_dot_range<crdt::replica_id>;
template struct crdt::basic_dot_range<crdt::replica_id128>;
template struct crdt::basic_dot_range<crdt::agent_id>;
template struct crdt::codec<crdt::basic_dot<crdt::replica_id>>;
template struct crdt::codec<crdt::basic_dot<crdt::replica_id128>>;
template struct crdt::codec<crdt::basic_dot<crdt::agent_id>>;
template struct crdt::codec<crdt::basic_dot_range<crdt::replica_id>>;
template struct crdt::codec<crdt::basic_dot_range<crdt::replica_id128>>;
template struct crdt::codec<crdt::basic_dot_range<crdt::agent_id>>;
template struct std::hash<crdt::basic_dot<crdt::replica_id>>;
template struct std::hash<crdt::basic_dot<crdt::replica_id128>>;
template struct std::hash<crdt::basic_dot<crdt::agent_id>>;

// --- version_vector --------------------------------------------------------------
template class crdt::basic_version_vector<crdt::replica_id>;
template class crdt::basic_version_vector<crdt::replica_id128>;
template class crdt::basic_version_vector<crdt::agent_id>;
template struct crdt::codec<crdt::basic_version_vector<crdt::replica_id>>;
template struct crdt::codec<crdt::basic_version_vector<crdt::replica_id128>>;
template struct crdt::codec<crdt::basic_version_vector<crdt::agent_id>>;
template struct std::hash<crdt::basic_version_vector<crdt::replica_id>>;
template struct std::hash<crdt::basic_version_vector<crdt::replica_id128>>;
template struct std::hash<crdt::basic_version_vector<crdt::agent_id>>;

// --- causal_context --------------------------------------------------------------
template class crdt::basic_causal_context<crdt::replica_id>;
template class crdt::basic_causal_context<crdt::replica_id128>;
template class crdt::basic_causal_context<crdt::agent_id>;
template struct crdt::codec<crdt::basic_causal_context<crdt::replica_id>>;
template struct crdt::codec<crdt::basic_causal_context<crdt::replica_id128>>;
template struct crdt::codec<crdt::basic_causal_context<crdt::agent_id>>;

// --- hybrid_logical_clock (templated on the wall clock) --------------------------
template class crdt::basic_hybrid_logical_clock<crdt::system_wall_clock>;
template class crdt::basic_hybrid_logical_clock<core_test::manual_wall_clock>;

// The instantiated templates work together for every id type: a context
// built from dots, its version, the ranges a peer misses, all encoded.
TEMPLATE_TEST_CASE("explicit_inst: core templates compose for every replica id type",
                   "[explicit_inst]", crdt::replica_id, crdt::replica_id128, crdt::agent_id) {
    using R = TestType;
    const auto ids = core_test::id_pool<R>(2);
    crdt::basic_causal_context<R> context;
    CHECK(context.next_dot(ids[0]) == crdt::basic_dot<R>{ids[0], 1});
    CHECK(context.insert(crdt::basic_dot<R>{ids[1], 3}));
    CHECK_FALSE(context.is_compact());
    const crdt::basic_version_vector<R> peer;
    const auto missing = context.version().missing_from(peer);
    REQUIRE(missing.size() == 1u);
    CHECK(missing[0] == crdt::basic_dot_range<R>{ids[0], 1, 1});
    CHECK(crdt::decode<crdt::basic_causal_context<R>>(crdt::encode(context)) == context);
    CHECK(crdt::decode<crdt::basic_dot_range<R>>(crdt::encode(missing[0])) == missing[0]);
    CHECK(std::hash<crdt::basic_version_vector<R>>{}(context.version()) ==
          std::hash<crdt::basic_version_vector<R>>{}(
              crdt::decode<crdt::basic_version_vector<R>>(crdt::encode(context.version()))));
}
