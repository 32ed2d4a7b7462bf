#include <crdt/core/version_vector.hpp>
#include <crdt/testing/arbitrary.hpp>
#include <crdt/testing/codec_laws.hpp>
#include <crdt/testing/laws.hpp>
#include <catch2/catch.hpp>
#include <rapidcheck/catch.h>

TEST_CASE("testing smoke") {
    rc::prop("vv semilattice", [](crdt::version_vector a, crdt::version_vector b, crdt::version_vector c) {
        crdt::testing::check_semilattice(a, b, c);
        crdt::testing::check_round_trip(a);
    });
}
