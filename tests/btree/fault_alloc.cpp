// Allocation failures in B-tree edits: an insert (and replace_insert_after)
// whose node split or new root runs out of memory must leave a tree that
// verifies, with its root and its cached total. The global operator new is
// replaced to fail on the k-th allocation, which is why this is an
// executable of its own.
#include <crdt/btree/tree.hpp>

#include "support.hpp"
#include "support/seed.hpp"

#include "support/failing_new.hpp"

#include <catch2/catch.hpp>

#include <cstddef>
#include <cstdint>
#include <random>
#include <vector>

using crdt_test::failing_new::countdown;

using namespace crdt_test::btree;
namespace bt = crdt::btree;

TEST_CASE("tree: an insert that runs out of memory leaves a valid tree") {
    using tree_t = bt::tree<piece_traits, tiny_policy>;
    const auto seed = crdt_test::seed(61);
    CAPTURE(seed);
    std::mt19937_64 rng(seed);
    int failures = 0;
    for (int round = 0; round < 40; ++round) {
        std::vector<piece> items;
        for (int i = 0; i < 64; ++i) { // packed full: an insert splits up to the root
            items.push_back(random_piece(rng));
        }
        const bool pair = round % 2 == 1;
        for (long k = 1; k < 20; ++k) {
            CAPTURE(round, k, pair);
            tree_t t = tree_t::from_range(items);
            const std::size_t i = static_cast<std::size_t>(rng() % items.size());
            auto c = t.find<count_dim>(std::uint64_t{i}, bt::bias::right);
            const piece p = random_piece(rng);
            countdown = k;
            bool threw = false;
            try {
                if (pair) {
                    t.replace_insert_after(std::move(c), p, p);
                } else {
                    t.insert(std::move(c), p);
                }
            } catch (const std::bad_alloc&) {
                threw = true;
            }
            countdown = 0;
            REQUIRE_NOTHROW(t.verify()); // the root, the nodes and the cached total agree
            REQUIRE(!t.empty());
            if (!threw) {
                REQUIRE(t.summary().count == items.size() + 1);
                break;
            }
            ++failures;
        }
    }
    CHECK(failures > 40);
}
