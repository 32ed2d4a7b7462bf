// Tests of crdt/btree/tree.hpp: randomized edits against a std::vector model
// with verify() after every step, bulk build, snapshot isolation, transient
// mode, append/split/slice, for a tiny fan-out and the default policy.
#include <crdt/btree/tree.hpp>

#include "support.hpp"
#include "support/seed.hpp"

#include <catch2/catch.hpp>

#include <cstdint>
#include <random>
#include <set>
#include <stdexcept>
#include <type_traits>
#include <vector>

using namespace crdt_test::btree;
namespace bt = crdt::btree;

namespace {

template <class Policy, class Traits = piece_traits>
using piece_tree = bt::tree<Traits, Policy>;

std::vector<piece> contents(const auto& t) {
    std::vector<piece> out;
    for (const piece& p : t) {
        out.push_back(p);
    }
    return out;
}

piece_summary fold(const std::vector<piece>& v, std::size_t from, std::size_t to) {
    piece_summary s = piece_traits::zero();
    for (std::size_t i = from; i < to; ++i) {
        piece_traits::combine(s, piece_traits::summarize(v[i]));
    }
    return s;
}

template <class Tree>
void check_equal(const Tree& t, const std::vector<piece>& model) {
    REQUIRE_NOTHROW(t.verify());
    REQUIRE(contents(t) == model);
    REQUIRE(t.summary() == fold(model, 0, model.size()));
    if constexpr (bt::has_cold_summary<typename Tree::traits_type>) {
        piece_cold c = cold_piece_traits::zero_cold();
        for (const piece& p : model) {
            cold_piece_traits::combine_cold(c, cold_piece_traits::summarize_cold(p));
        }
        REQUIRE(t.cold_summary() == c);
    }
}

template <class Tree>
auto at_index(const Tree& t, std::size_t i) {
    return t.template find<count_dim>(std::uint64_t{i}, bt::bias::right);
}

std::vector<piece> random_pieces(std::mt19937_64& rng, std::size_t n) {
    std::vector<piece> v;
    for (std::size_t i = 0; i < n; ++i) {
        v.push_back(random_piece(rng));
    }
    return v;
}

} // namespace

namespace {

template <class Policy, class Traits = piece_traits>
void random_edits(std::uint64_t seed, int rounds, int steps) {
    using tree_t = piece_tree<Policy, Traits>;
    CAPTURE(seed);
    std::mt19937_64 rng(seed);
    for (int round = 0; round < rounds; ++round) {
        tree_t t;
        std::vector<piece> model;
        std::vector<std::pair<tree_t, std::vector<piece>>> snapshots;
        for (int step = 0; step < steps; ++step) {
            const auto n = model.size();
            const auto op = rng() % 12;
            CAPTURE(round, step, op, n);
            if (op <= 2 || n == 0) { // insert one item at a random index (incl. end)
                const std::size_t i = rng() % (n + 1);
                const piece p = random_piece(rng);
                t.insert(at_index(t, i), p);
                model.insert(model.begin() + static_cast<std::ptrdiff_t>(i), p);
            } else if (op == 3) { // erase one
                const std::size_t i = rng() % n;
                t.erase(at_index(t, i));
                model.erase(model.begin() + static_cast<std::ptrdiff_t>(i));
            } else if (op == 4) { // replace one (or two), or update it in place
                const std::size_t i = rng() % n;
                const piece p = random_piece(rng);
                const auto how = rng() % 4;
                if (how == 0) {
                    t.replace(at_index(t, i), p);
                    model[i] = p;
                } else if (how == 1) { // and the next one, or refused at the last
                    const piece q = random_piece(rng);
                    if (i + 1 < n) {
                        t.replace_pair(at_index(t, i), p, q);
                        model[i] = p;
                        model[i + 1] = q;
                    } else {
                        REQUIRE_THROWS_AS(t.replace_pair(at_index(t, i), p, q), std::out_of_range);
                    }
                } else if (how == 2) { // and insert one after it
                    const piece q = random_piece(rng);
                    t.replace_insert_after(at_index(t, i), p, q);
                    model[i] = p;
                    model.insert(model.begin() + static_cast<std::ptrdiff_t>(i + 1), q);
                } else {
                    // Grows or shrinks the length and moves the key either
                    // way: some updates patch, some must refold.
                    t.update(at_index(t, i), [&](piece& q) {
                        q.len = p.len;
                        q.key = p.key;
                    });
                    model[i].len = p.len;
                    model[i].key = p.key;
                }
            } else if (op == 5) { // erase a range
                std::size_t a = rng() % (n + 1);
                std::size_t b = rng() % (n + 1);
                if (a > b) {
                    std::swap(a, b);
                }
                const auto ca = at_index(t, a);
                const auto cb = at_index(t, b);
                t.erase(ca, cb);
                model.erase(model.begin() + static_cast<std::ptrdiff_t>(a),
                            model.begin() + static_cast<std::ptrdiff_t>(b));
            } else if (op == 6) { // split and check both halves, then re-append
                const std::size_t i = rng() % (n + 1);
                auto [l, r] = t.split(at_index(t, i));
                check_equal(l, std::vector<piece>(model.begin(),
                                                  model.begin() + static_cast<std::ptrdiff_t>(i)));
                check_equal(r, std::vector<piece>(model.begin() + static_cast<std::ptrdiff_t>(i),
                                                  model.end()));
                l.append(std::move(r));
                t = std::move(l);
            } else if (op == 7) { // slice
                std::size_t a = rng() % (n + 1);
                std::size_t b = rng() % (n + 1);
                if (a > b) {
                    std::swap(a, b);
                }
                const tree_t s = t.slice(at_index(t, a), at_index(t, b));
                check_equal(s, std::vector<piece>(model.begin() + static_cast<std::ptrdiff_t>(a),
                                                  model.begin() + static_cast<std::ptrdiff_t>(b)));
            } else if (op == 8) { // append a bulk-built tree of random size
                const auto extra = random_pieces(rng, rng() % 40);
                tree_t other = tree_t::from_range(extra);
                check_equal(other, extra);
                if (rng() % 2 == 0) {
                    t.append(other);
                    model.insert(model.end(), extra.begin(), extra.end());
                } else {
                    other.append(t);
                    t = other;
                    model.insert(model.begin(), extra.begin(), extra.end());
                }
            } else if (op == 9) { // insert a whole tree in the middle
                const auto extra = random_pieces(rng, rng() % 30);
                const std::size_t i = rng() % (n + 1);
                t.insert(at_index(t, i), tree_t::from_range(extra));
                model.insert(model.begin() + static_cast<std::ptrdiff_t>(i), extra.begin(),
                             extra.end());
            } else if (op == 10) { // take a snapshot
                snapshots.emplace_back(t, model);
            } else { // push_front / push_back
                const piece p = random_piece(rng);
                if (rng() % 2 == 0) {
                    t.push_back(p);
                    model.push_back(p);
                } else {
                    t.push_front(p);
                    model.insert(model.begin(), p);
                }
            }
            check_equal(t, model);
        }
        for (const auto& [snap, snap_model] : snapshots) {
            check_equal(snap, snap_model);
        }
    }
}

} // namespace

TEMPLATE_LIST_TEST_CASE("tree: random edits match a vector model", "[btree][tree]", policies) {
    random_edits<TestType>(crdt_test::seed(1), 6, 250);
}

TEMPLATE_LIST_TEST_CASE("tree: random edits keep cold summaries exact", "[btree][tree]", policies) {
    random_edits<TestType, cold_piece_traits>(crdt_test::seed(6), 3, 250);
}

TEMPLATE_LIST_TEST_CASE("tree: random edits with patched summaries", "[btree][tree]", policies) {
    STATIC_REQUIRE(bt::has_patch<patch_piece_traits>);
    STATIC_REQUIRE_FALSE(bt::has_cold_patch<patch_piece_traits>);
    STATIC_REQUIRE(bt::has_cold_patch<patch_cold_piece_traits>);
    random_edits<TestType, patch_piece_traits>(crdt_test::seed(7), 3, 250);
    random_edits<TestType, patch_cold_piece_traits>(crdt_test::seed(8), 3, 250);
}

TEMPLATE_LIST_TEST_CASE("tree: long random edits (soak)", "[.][soak][btree][tree]", policies) {
    random_edits<TestType>(crdt_test::seed(101), 40, 2000);
}

TEMPLATE_LIST_TEST_CASE("tree: bulk build equals repeated insert", "[btree][tree]", policies) {
    using tree_t = piece_tree<TestType>;
    const auto seed = crdt_test::seed(2);
    CAPTURE(seed);
    std::mt19937_64 rng(seed);
    for (const std::size_t n : {0u, 1u, 2u, 3u, 5u, 17u, 64u, 65u, 200u, 1000u, 3001u}) {
        CAPTURE(n);
        const auto items = random_pieces(rng, n);
        const tree_t built = tree_t::build(items.begin(), items.end());
        check_equal(built, items);
        tree_t pushed;
        for (const piece& p : items) {
            pushed.push_back(p);
        }
        check_equal(pushed, items);
        // Random-position inserts that end in the same order.
        tree_t inserted;
        std::vector<std::size_t> order; // indices of items in insertion order
        std::vector<piece> model;
        std::vector<std::size_t> placed; // which original indices are placed, sorted
        for (std::size_t k = 0; k < n; ++k) {
            order.push_back(k);
        }
        std::shuffle(order.begin(), order.end(), rng);
        for (std::size_t k : order) {
            const auto pos = static_cast<std::size_t>(
                std::lower_bound(placed.begin(), placed.end(), k) - placed.begin());
            inserted.insert(at_index(inserted, pos), items[k]);
            placed.insert(placed.begin() + static_cast<std::ptrdiff_t>(pos), k);
        }
        check_equal(inserted, items);
        REQUIRE(built.summary() == inserted.summary());
    }
}

TEMPLATE_LIST_TEST_CASE("tree: copies are snapshots", "[btree][tree]", policies) {
    using tree_t = piece_tree<TestType>;
    const auto seed = crdt_test::seed(3);
    CAPTURE(seed);
    std::mt19937_64 rng(seed);
    const auto items = random_pieces(rng, 500);
    tree_t original = tree_t::from_range(items);
    const tree_t copy = original; // O(1)
    REQUIRE(copy.same_version(original));
    for (int k = 0; k < 50; ++k) {
        original.erase(at_index(original, rng() % 400));
        original.insert(at_index(original, rng() % 400), random_piece(rng));
        check_equal(copy, items);
    }
    REQUIRE_FALSE(copy.same_version(original));
    REQUIRE_NOTHROW(original.verify());
}

TEMPLATE_LIST_TEST_CASE("tree: transient edits in place and leaves snapshots alone",
                        "[btree][tree]", policies) {
    using tree_t = piece_tree<TestType>;
    const auto seed = crdt_test::seed(4);
    CAPTURE(seed);
    std::mt19937_64 rng(seed);
    const auto items = random_pieces(rng, 300);
    tree_t t = tree_t::from_range(items);
    const tree_t before = t;
    auto tr = std::move(t).make_transient();
    std::vector<piece> model = items;
    for (int k = 0; k < 100; ++k) {
        const std::size_t i = rng() % (model.size() + 1);
        const piece p = random_piece(rng);
        tr.insert(tr.template find<count_dim>(std::uint64_t{i}, bt::bias::right), p);
        model.insert(model.begin() + static_cast<std::ptrdiff_t>(i), p);
        const std::size_t j = rng() % model.size();
        tr.erase(tr.template find<count_dim>(std::uint64_t{j}, bt::bias::right));
        model.erase(model.begin() + static_cast<std::ptrdiff_t>(j));
        tr.push_back(p);
        model.push_back(p);
    }
    tree_t after = std::move(tr).persistent();
    check_equal(after, model);
    check_equal(before, items);

    // A tree that is not shared keeps its nodes across edits: no path copy.
    tree_t solo = tree_t::from_range(items);
    const auto stats_before = solo.statistics();
    solo.replace(at_index(solo, 10), piece{1, 1, 1});
    const auto stats_after = solo.statistics();
    REQUIRE(stats_before.leaves == stats_after.leaves);
    REQUIRE(stats_before.internal_nodes == stats_after.internal_nodes);
}

TEMPLATE_LIST_TEST_CASE("tree: empty tree, statistics and height", "[btree][tree]", policies) {
    using tree_t = piece_tree<TestType>;
    tree_t t;
    REQUIRE_NOTHROW(t.verify());
    std::vector<piece> v(100, piece{1, 0, 7});
    t = tree_t::from_range(v);
    REQUIRE_NOTHROW(t.verify());
    REQUIRE(t.summary().count == 100);
    REQUIRE(t.height() >= 1);
    const auto st = t.statistics();
    REQUIRE(st.items == 100);
    REQUIRE(st.leaves >= 100 / tree_t::leaf_capacity);
}

TEMPLATE_LIST_TEST_CASE("tree: full nodes spill into siblings before they split", "[btree][tree]",
                        policies) {
    using tree_t = piece_tree<TestType>;
    constexpr std::size_t n = 6000;
    const std::size_t packed = (n + tree_t::leaf_capacity - 1) / tree_t::leaf_capacity;
    // Appends (push_back, and inserts before the last item) keep every leaf
    // but the last two full; a 50/50 split would leave them half full.
    tree_t appended;
    tree_t before_last;
    std::vector<piece> model;
    for (std::size_t k = 0; k < n; ++k) {
        const piece p{1, 0, k};
        appended.push_back(p);
        model.push_back(p);
        before_last.insert(at_index(before_last, k == 0 ? 0 : k - 1), p);
    }
    check_equal(appended, model);
    REQUIRE(appended.statistics().leaves <= packed + 2);
    REQUIRE(before_last.statistics().leaves <= packed + 2);
    REQUIRE_NOTHROW(before_last.verify());

    // Random inserts fill nodes to ~85% (~70% with plain splits).
    const auto seed = crdt_test::seed(9);
    CAPTURE(seed);
    std::mt19937_64 rng(seed);
    tree_t t;
    for (std::size_t k = 0; k < n; ++k) {
        t.insert(at_index(t, rng() % (k + 1)), random_piece(rng));
    }
    REQUIRE_NOTHROW(t.verify());
    const auto st = t.statistics();
    const double leaf_fill =
        static_cast<double>(st.items) / static_cast<double>(st.leaves * tree_t::leaf_capacity);
    const double internal_fill = static_cast<double>(st.leaves + st.internal_nodes - 1) /
                                 static_cast<double>(st.internal_nodes * tree_t::internal_capacity);
    CAPTURE(leaf_fill, internal_fill);
    REQUIRE(leaf_fill >= 0.8);
    REQUIRE(internal_fill >= 0.8);

    // A sibling shared with a snapshot is never written: the snapshot keeps
    // its items while the edited tree spills and splits around it.
    const tree_t snap = t;
    const std::vector<piece> snap_items = contents(snap);
    for (std::size_t k = 0; k < 200; ++k) {
        t.insert(at_index(t, rng() % (n + k + 1)), random_piece(rng));
    }
    REQUIRE_NOTHROW(t.verify());
    check_equal(snap, snap_items);
}

TEMPLATE_LIST_TEST_CASE("tree: a tree appended to itself doubles", "[btree][tree]", policies) {
    using tree_t = piece_tree<TestType>;
    const auto seed = crdt_test::seed(10);
    CAPTURE(seed);
    std::mt19937_64 rng(seed);
    for (const std::size_t n : {0u, 1u, 5u, 100u}) {
        auto items = random_pieces(rng, n);
        tree_t t = tree_t::from_range(items);
        t.append(t); // `other` is *this: read before root_ is moved
        auto twice = items;
        twice.insert(twice.end(), items.begin(), items.end());
        check_equal(t, twice);
        t.append(std::move(t)); // NOLINT: self-move-append is a plain self-append
        auto four = twice;
        four.insert(four.end(), twice.begin(), twice.end());
        check_equal(t, four);
        tree_t u = tree_t::from_range(items);
        u.insert(at_index(u, n / 2), u); // the same through insert(cursor, tree)
        std::vector<piece> mid(items.begin(), items.begin() + static_cast<std::ptrdiff_t>(n / 2));
        mid.insert(mid.end(), items.begin(), items.end());
        mid.insert(mid.end(), items.begin() + static_cast<std::ptrdiff_t>(n / 2), items.end());
        check_equal(u, mid);
    }
}

namespace {

template <class Policy, class Traits>
void throwing_updates(std::uint64_t seed) {
    using tree_t = piece_tree<Policy, Traits>;
    CAPTURE(seed);
    std::mt19937_64 rng(seed);
    auto model = random_pieces(rng, 300);
    tree_t t = tree_t::from_range(model);
    for (int k = 0; k < 100; ++k) {
        const std::size_t i = rng() % model.size();
        const piece p = random_piece(rng);
        // The function changes the item, then throws: the tree keeps the
        // change and refolds its summaries (patched or not).
        REQUIRE_THROWS_AS(t.update(at_index(t, i),
                                   [&](piece& q) {
                                       q.len = p.len;
                                       q.key = p.key;
                                       throw std::runtime_error("update failed");
                                   }),
                          std::runtime_error);
        model[i].len = p.len;
        model[i].key = p.key;
        check_equal(t, model);
    }
}

} // namespace

TEMPLATE_LIST_TEST_CASE("tree: an update that throws leaves valid summaries", "[btree][tree]",
                        policies) {
    throwing_updates<TestType, piece_traits>(crdt_test::seed(11));
    throwing_updates<TestType, cold_piece_traits>(crdt_test::seed(12));
    throwing_updates<TestType, patch_piece_traits>(crdt_test::seed(13));
    throwing_updates<TestType, patch_cold_piece_traits>(crdt_test::seed(14));
}

TEST_CASE("tree: node capacities follow the byte budget", "[btree][tree]") {
    using def = piece_tree<default_policy>;
    using tiny = piece_tree<tiny_policy>;
    STATIC_REQUIRE(tiny::leaf_capacity == 4);
    STATIC_REQUIRE(tiny::internal_capacity == 4);
    STATIC_REQUIRE(def::leaf_capacity * sizeof(piece) <= bt::btree_defaults::node_bytes);
    STATIC_REQUIRE(def::internal_capacity * (sizeof(piece_summary) + sizeof(void*)) <=
                   bt::btree_defaults::node_bytes);
    STATIC_REQUIRE(def::internal_capacity >= 4);
}

namespace {

/// With Cold, the classifier reads key bounds from the cold summary (the
/// node header) instead of the hot one.
template <class Policy, bool Cold>
void random_walks(std::uint64_t seed) {
    using traits = std::conditional_t<Cold, cold_piece_traits, piece_traits>;
    using tree_t = piece_tree<Policy, traits>;
    using partial = std::conditional_t<Cold, len_below_cold, len_below>;
    using walk_dims = bt::dims<count_dim, partial>;
    CAPTURE(seed, Cold);
    std::mt19937_64 rng(seed);
    for (int round = 0; round < 40; ++round) {
        const std::size_t n = rng() % 400;
        auto v = random_pieces(rng, n);
        for (std::size_t i = 0; i < n; ++i) { // clustered keys
            v[i].key = (i / (1 + rng() % 50)) * 10 + rng() % 10;
        }
        const tree_t t = tree_t::from_range(v);
        std::uint64_t lo = rng() % 1000;
        std::uint64_t hi = rng() % 1000;
        if (lo > hi) {
            std::swap(lo, hi);
        }
        const std::uint64_t bound = rng() % 1000;
        const unsigned force_descend = static_cast<unsigned>(rng() % 4); // out of 4
        CAPTURE(round, n, lo, hi, bound, force_descend);
        auto visible = [&](const piece& p) { return lo <= p.key && p.key <= hi; };
        std::mt19937_64 coin(rng());
        auto decide = [&](std::uint64_t count, std::uint64_t min_key, std::uint64_t max_key) {
            if (count == 0 || max_key < lo || min_key > hi) {
                return bt::visit::skip;
            }
            if (lo <= min_key && max_key <= hi) {
                // Descending is always allowed; items then go to on_item.
                return coin() % 4 < force_descend ? bt::visit::descend : bt::visit::take_whole;
            }
            return bt::visit::descend;
        };
        auto classify = [&](const piece_summary& s, const auto&... cold) {
            if constexpr (sizeof...(cold) == 1) {
                const piece_cold& c = (cold, ...);
                REQUIRE(c.min_key == s.min_key); // both folds agree
                return decide(s.count, c.min_key, c.max_key);
            } else {
                return decide(s.count, s.min_key, s.max_key);
            }
        };
        std::vector<piece> emitted;
        std::size_t expected_next = 0; // no emitted item may come before this index
        auto check_start = [&](const walk_dims& pos) {
            const std::size_t i = pos.template get<0>().value;
            REQUIRE(i >= expected_next);
            std::uint64_t below = 0;
            for (std::size_t k = 0; k < i; ++k) {
                below += v[k].key < bound ? v[k].len : 0;
            }
            REQUIRE(pos.template get<1>().value == below);
            return i;
        };
        const walk_dims end = t.walk(
            classify,
            [&](const walk_dims& start, const piece_summary& run) {
                const std::size_t i = check_start(start);
                REQUIRE(i + run.count <= n);
                for (std::size_t k = i; k < i + run.count; ++k) {
                    REQUIRE(visible(v[k]));
                    emitted.push_back(v[k]);
                }
                expected_next = i + run.count;
            },
            [&](const walk_dims& start, const piece& p) {
                const std::size_t i = check_start(start);
                REQUIRE(v[i] == p);
                if (visible(p)) {
                    emitted.push_back(p);
                }
                expected_next = i + 1;
            },
            walk_dims{count_dim{}, partial{bound, 0}});
        std::vector<piece> expected;
        std::copy_if(v.begin(), v.end(), std::back_inserter(expected), visible);
        REQUIRE(emitted == expected);
        REQUIRE(end.template get<0>().value == n);
    }
}

} // namespace

TEMPLATE_LIST_TEST_CASE("tree: three-way walk with random classifiers", "[btree][tree]", policies) {
    random_walks<TestType, false>(crdt_test::seed(5));
}

TEMPLATE_LIST_TEST_CASE("tree: three-way walk classifying by cold summaries", "[btree][tree]",
                        policies) {
    random_walks<TestType, true>(crdt_test::seed(7));
}

TEMPLATE_LIST_TEST_CASE("tree: walk stops when a callback returns false", "[btree][tree]",
                        policies) {
    using tree_t = piece_tree<TestType>;
    std::vector<piece> v(200, piece{1, 0, 0});
    const tree_t t = tree_t::from_range(v);
    std::size_t seen = 0;
    t.walk([](const piece_summary&) { return bt::visit::descend; },
           [](const bt::no_dimension&, const piece_summary&) { return true; },
           [&](const bt::no_dimension&, const piece&) { return ++seen < 10; });
    REQUIRE(seen == 10);
    std::size_t wholes = 0;
    const count_dim end =
        t.walk([](const piece_summary&) { return bt::visit::take_whole; },
               [&](const count_dim& start, const piece_summary& s) {
                   REQUIRE(start.value == 0);
                   REQUIRE(s.count == 200);
                   ++wholes;
               },
               [](const count_dim&, const piece&) { FAIL("no item expected"); }, count_dim{});
    REQUIRE(wholes == 1); // adjacent taken subtrees coalesce into one run
    REQUIRE(end.value == 200);
}

TEMPLATE_LIST_TEST_CASE("tree: item paths name items while the stamp holds", "[btree][tree]",
                        policies) {
    using tree_t = piece_tree<TestType>;
    const auto seed = crdt_test::seed(59);
    CAPTURE(seed);
    std::mt19937_64 rng(seed);
    std::vector<piece> model = random_pieces(rng, 300);
    tree_t t = tree_t::from_range(model);
    std::set<std::uint64_t> stamps{t.stamp()};
    for (int step = 0; step < 300; ++step) {
        CAPTURE(step);
        const std::size_t i = rng() % model.size();
        const auto p = t.path_of(at_index(t, i));
        REQUIRE(t.item_at(p) != nullptr);
        REQUIRE(*t.item_at(p) == model[i]);
        const tree_t copy = t; // shares the stamp until either is edited
        REQUIRE(copy.stamp() == t.stamp());
        const piece q = random_piece(rng);
        const piece old = model[i];
        t.update(p, [&](piece& x) { x = q; });
        model[i] = q;
        REQUIRE(t.stamp() != copy.stamp());
        REQUIRE(stamps.insert(t.stamp()).second); // never seen before
        REQUIRE(*t.item_at(p) == q);              // the shape did not change
        REQUIRE(*copy.item_at(p) == old);         // the copy is a snapshot
        check_equal(t, model);
        // Other edits take new stamps too.
        if (rng() % 3 == 0) {
            const std::size_t j = rng() % (model.size() + 1);
            const piece r = random_piece(rng);
            t.insert(at_index(t, j), r);
            model.insert(model.begin() + static_cast<std::ptrdiff_t>(j), r);
            REQUIRE(stamps.insert(t.stamp()).second);
        }
        if (rng() % 3 == 0 && model.size() > 1) {
            const std::size_t j = rng() % model.size();
            t.erase(at_index(t, j));
            model.erase(model.begin() + static_cast<std::ptrdiff_t>(j));
            REQUIRE(stamps.insert(t.stamp()).second);
        }
    }
    // A path that runs past a node, or has the wrong depth, names nothing.
    auto bad = t.path_of(at_index(t, 0));
    bad.index[bad.depth - 1] = static_cast<std::uint16_t>(tree_t::leaf_capacity);
    REQUIRE(t.item_at(bad) == nullptr);
    REQUIRE_THROWS_AS(t.update(bad, [](piece&) {}), std::out_of_range);
    auto shallow = t.path_of(at_index(t, 0));
    shallow.depth = shallow.depth > 1 ? shallow.depth - 1 : 2;
    REQUIRE(t.item_at(shallow) == nullptr);
    REQUIRE(tree_t().item_at(t.path_of(at_index(t, 0))) == nullptr);
    check_equal(t, model);
}

TEMPLATE_LIST_TEST_CASE("tree: a moved-from tree is the empty tree", "[btree][tree]", policies) {
    using tree_t = piece_tree<TestType>;
    std::mt19937_64 rng(crdt_test::seed(67));
    const std::vector<piece> model = random_pieces(rng, 100);
    tree_t a = tree_t::from_range(model);
    const std::uint64_t stamp = a.stamp();
    tree_t b(std::move(a));
    check_equal(b, model);
    REQUIRE(b.stamp() == stamp); // the contents moved with their stamp
    check_equal(a, {});          // NOLINT(bugprone-use-after-move): specified empty
    REQUIRE(a.stamp() != stamp);
    tree_t c;
    c = std::move(b);
    check_equal(c, model);
    check_equal(b, {});            // NOLINT(bugprone-use-after-move)
    b = tree_t::from_range(model); // and usable again
    check_equal(b, model);
}
