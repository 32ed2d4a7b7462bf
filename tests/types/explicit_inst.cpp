// Explicit instantiation of every public template of the replicated types,
// so that every member compiles (not only those the other tests call).
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
#include <string>

template class crdt::basic_g_counter<crdt::counter_defaults>;
template class crdt::basic_pn_counter<crdt::counter_defaults>;
template class crdt::mv_register<std::string>;
template class crdt::lww_register<std::string>;
template class crdt::or_set<std::string>;
template class crdt::lww_map<std::uint64_t, std::uint64_t>;
template class crdt::lww_map<std::string, crdt::value>;
template class crdt::or_map<std::string, crdt::lww_map<std::string, crdt::value>>;
template class crdt::or_map<int, crdt::or_set<int>>;
template struct crdt::codec<crdt::or_map<std::string, crdt::lww_map<std::string, crdt::value>>>;

TEST_CASE("explicit instantiations: the types model mergeable and encodable", "[types]") {
    STATIC_REQUIRE(crdt::mergeable<crdt::g_counter>);
    STATIC_REQUIRE(crdt::mergeable<crdt::pn_counter>);
    STATIC_REQUIRE(crdt::mergeable<crdt::mv_register<int>>);
    STATIC_REQUIRE(crdt::mergeable<crdt::lww_register<int>>);
    STATIC_REQUIRE(crdt::mergeable<crdt::or_set<int>>);
    STATIC_REQUIRE(crdt::mergeable<crdt::lww_map<int, int>>);
    STATIC_REQUIRE(crdt::mergeable<crdt::or_map<int, crdt::g_counter>>);
    STATIC_REQUIRE(crdt::encodable<crdt::or_map<int, crdt::or_map<int, crdt::mv_register<int>>>>);
    STATIC_REQUIRE(crdt::encodable<crdt::value>);
}
