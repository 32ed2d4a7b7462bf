// Tests of crdt/btree/summary.hpp and crdt/testing/summary_laws.hpp: the
// ready-made dimensions, dims<...> (all-or-nothing partial adds), seek-target
// comparison, and the law checkers on lawful and broken summaries.
#include <crdt/btree/summary.hpp>
#include <crdt/testing/summary_laws.hpp>

#include "support.hpp"
#include "support/seed.hpp"

#include <catch2/catch.hpp>

#include <cstdint>
#include <random>
#include <vector>

using namespace crdt_test::btree;
namespace bt = crdt::btree;

namespace {

std::vector<piece> sample(std::uint64_t seed, std::size_t n) {
    std::mt19937_64 rng(seed);
    std::vector<piece> v;
    for (std::size_t i = 0; i < n; ++i) {
        v.push_back(random_piece(rng));
    }
    return v;
}

/// A broken "summary": combine keeps the difference, which is not associative.
struct broken_traits {
    using item_type = piece;
    using summary_type = std::int64_t;
    static std::int64_t summarize(const piece& p) { return static_cast<std::int64_t>(p.len) + 1; }
    static std::int64_t zero() { return 0; }
    static void combine(std::int64_t& acc, const std::int64_t& r) { acc = r - acc; }
};
static_assert(bt::summary_traits<broken_traits>);
static_assert(bt::summary_traits<piece_traits>);
static_assert(!bt::summary_traits<piece>);
static_assert(bt::dimension<len_dim, piece_summary>);
static_assert(!bt::partial_dimension<len_dim, piece_summary>);
static_assert(bt::partial_dimension<len_below, piece_summary>);
static_assert(bt::partial_dimension<bt::dims<len_below, count_dim>, piece_summary>);
static_assert(bt::seek_target_for<std::uint64_t, all_dims>);
static_assert(bt::seek_target_for<std::uint64_t, len_dim>);
static_assert(!bt::seek_target_for<piece, len_dim>);

} // namespace

TEST_CASE("summary: sum_of, dims and compare_target", "[btree][summary]") {
    all_dims d;
    d.add(piece_traits::summarize(piece{3, 1, 9}));
    d.add(piece_traits::summarize(piece{4, 0, 2}));
    REQUIRE(d.get<0>().value == 2);
    REQUIRE(d.get<1>().value == 7);
    REQUIRE(d.get<lines_dim>().value == 1);
    // A target for the first component compares on the tuple.
    REQUIRE(bt::compare_target(std::uint64_t{2}, d) == std::weak_ordering::equivalent);
    REQUIRE(bt::compare_target(std::uint64_t{3}, d) == std::weak_ordering::greater);
    REQUIRE(bt::compare_target(std::uint64_t{1}, d) == std::weak_ordering::less);
    // A target with compare() is used as is.
    struct lines_at_least {
        std::uint64_t n;
        std::weak_ordering compare(const all_dims& pos) const { return n <=> pos.get<2>().value; }
    };
    REQUIRE(bt::compare_target(lines_at_least{1}, d) == std::weak_ordering::equivalent);
}

TEST_CASE("summary: dims::try_add is all-or-nothing", "[btree][summary]") {
    bt::dims<len_below, count_dim> d{len_below{10, 0}, count_dim{}};
    piece_summary mixed = piece_traits::summarize(piece{5, 0, 3});
    piece_traits::combine(mixed, piece_traits::summarize(piece{7, 0, 20}));
    REQUIRE_FALSE(d.try_add(mixed)); // unknown: keys on both sides of 10
    REQUIRE(d.get<0>().value == 0);
    REQUIRE(d.get<1>().value == 0); // count untouched as well
    REQUIRE(d.try_add(piece_traits::summarize(piece{5, 0, 3})));
    REQUIRE(d.try_add(piece_traits::summarize(piece{7, 0, 20})));
    REQUIRE(d.get<0>().value == 5);
    REQUIRE(d.get<1>().value == 2);
    count_dim c;
    REQUIRE(bt::try_add(c, mixed)); // a total dimension always succeeds
    REQUIRE(c.value == 2);
}

TEST_CASE("summary: law checkers accept lawful summaries", "[btree][summary]") {
    const auto seed = crdt_test::seed(21);
    CAPTURE(seed);
    for (const std::size_t n : {0u, 1u, 2u, 50u, 300u}) {
        const auto v = sample(seed + n, n);
        REQUIRE_NOTHROW(crdt::testing::check_summary_laws<piece_traits>(v, seed));
        REQUIRE_NOTHROW(crdt::testing::check_dimension_laws<piece_traits>(v, all_dims{}, seed));
        REQUIRE_NOTHROW(
            crdt::testing::check_dimension_laws<piece_traits>(v, len_below{500, 0}, seed));
        const auto classify = [](const piece_summary& s) {
            if (s.count == 0 || s.min_key > 600) {
                return bt::visit::skip;
            }
            return s.max_key < 300 ? bt::visit::take_whole : bt::visit::descend;
        };
        REQUIRE_NOTHROW(crdt::testing::check_classifier_monotone<piece_traits>(v, classify, seed));
        REQUIRE_NOTHROW(crdt::testing::check_patch_laws<patch_piece_traits>(v, seed));
        REQUIRE_NOTHROW(crdt::testing::check_patch_laws<patch_cold_piece_traits>(v, seed));
    }
}

TEST_CASE("summary: law checkers reject broken summaries", "[btree][summary]") {
    const auto v = sample(crdt_test::seed(22), 64);
    REQUIRE_THROWS_AS(crdt::testing::check_summary_laws<broken_traits>(v, 1),
                      crdt::testing::law_violation);
    // A dimension that adds the count twice over ranges but once per item.
    struct lying_dim {
        std::uint64_t value = 0;
        void add(const piece_summary& s) { value += s.count > 1 ? 2 * s.count : s.count; }
        bool operator==(const lying_dim&) const = default;
    };
    REQUIRE_THROWS_AS(crdt::testing::check_dimension_laws<piece_traits>(v, lying_dim{}, 1),
                      crdt::testing::law_violation);
    // A classifier that skips ranges by their first key only.
    const auto not_monotone = [](const piece_summary& s) {
        return s.max_key > 10 && s.count > 1 ? bt::visit::skip : bt::visit::take_whole;
    };
    REQUIRE_THROWS_AS(crdt::testing::check_classifier_monotone<piece_traits>(v, not_monotone, 1),
                      crdt::testing::law_violation);
    // A patch that also patches the key bounds when the new item's are
    // narrower (the old item may have held the fold's minimum).
    struct eager_patch_traits : piece_traits {
        static bool patch(piece_summary& acc, const piece_summary& o, const piece_summary& n) {
            acc.count += n.count - o.count;
            acc.len += n.len - o.len;
            acc.lines += n.lines - o.lines;
            acc.min_key = std::min(acc.min_key, n.min_key);
            acc.max_key = std::max(acc.max_key, n.max_key);
            return true;
        }
    };
    REQUIRE_THROWS_AS(crdt::testing::check_patch_laws<eager_patch_traits>(v, 1),
                      crdt::testing::law_violation);
    // A patch that refuses but has already changed the fold.
    struct dirty_refusal_traits : piece_traits {
        static bool patch(piece_summary& acc, const piece_summary&, const piece_summary&) {
            ++acc.count;
            return false;
        }
    };
    REQUIRE_THROWS_AS(crdt::testing::check_patch_laws<dirty_refusal_traits>(v, 1),
                      crdt::testing::law_violation);
}
