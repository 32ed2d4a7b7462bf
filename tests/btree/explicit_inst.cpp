// Explicit instantiation of every public btree template, so members that no
// other test calls still compile (Boost.Container's explicit_inst tests).
#include <crdt/btree/btree_map.hpp>
#include <crdt/btree/cursor.hpp>
#include <crdt/btree/tree.hpp>

#include "support.hpp"

#include <catch2/catch.hpp>

#include <cstdint>
#include <string>

template class crdt::btree::tree<crdt_test::btree::piece_traits, crdt_test::btree::tiny_policy>;
template class crdt::btree::tree<crdt_test::btree::piece_traits>;
template class crdt::btree::tree<crdt_test::btree::piece_traits, crdt_test::btree::local_policy>;
template class crdt::btree::cursor<crdt_test::btree::piece_traits, crdt::btree::btree_defaults,
                                   crdt_test::btree::all_dims>;
template class crdt::btree::cursor<crdt_test::btree::piece_traits, crdt::btree::btree_defaults,
                                   crdt::btree::dims<crdt_test::btree::len_below>>;
template class crdt::btree::transient<crdt_test::btree::piece_traits>;
template class crdt::btree::tree<crdt_test::btree::cold_piece_traits,
                                 crdt_test::btree::tiny_policy>;
template class crdt::btree_map<std::uint64_t, std::string>;
template class crdt::btree_map<std::string, std::uint64_t, std::greater<>>;

namespace {
/// A summary without operator==: the tree works, only verify() is absent.
struct opaque_traits {
    using item_type = int;
    struct summary_type {
        long total = 0;
    };
    static summary_type summarize(int v) { return {v}; }
    static summary_type zero() { return {}; }
    static void combine(summary_type& a, const summary_type& b) { a.total += b.total; }
};
} // namespace
template class crdt::btree::tree<opaque_traits>;

TEST_CASE("explicit instantiation compiles", "[btree]") {
    crdt::btree::tree<opaque_traits> t{1, 2, 3};
    REQUIRE(t.summary().total == 6);
}
