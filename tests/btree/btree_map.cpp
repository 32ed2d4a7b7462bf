// Tests of crdt/btree/btree_map.hpp against std::map: random inserts,
// overwrites, erases, lookups, bounds and range views, with verify() after
// every step; snapshots; string keys; rekey in place.
#include <crdt/btree/btree_map.hpp>
#include <crdt/testing/summary_laws.hpp>

#include "support.hpp"
#include "support/seed.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <iterator>
#include <map>
#include <random>
#include <string>
#include <vector>

using namespace crdt_test::btree;

namespace {

template <class Map, class Model>
void check_same(const Map& m, const Model& model) {
    REQUIRE_NOTHROW(m.verify());
    REQUIRE(m.size() == model.size());
    REQUIRE(m.empty() == model.empty());
    REQUIRE(std::equal(
        m.begin(), m.end(), model.begin(), model.end(),
        [](const auto& a, const auto& b) { return a.first == b.first && a.second == b.second; }));
}

} // namespace

TEMPLATE_LIST_TEST_CASE("btree_map: random operations match std::map", "[btree][btree_map]",
                        policies) {
    using map_t = crdt::btree_map<std::uint64_t, std::uint64_t, std::less<std::uint64_t>, TestType>;
    const auto seed = crdt_test::seed(31);
    CAPTURE(seed);
    std::mt19937_64 rng(seed);
    for (int round = 0; round < 4; ++round) {
        map_t m;
        std::map<std::uint64_t, std::uint64_t> model;
        std::vector<std::pair<map_t, std::map<std::uint64_t, std::uint64_t>>> snaps;
        const std::uint64_t key_space = 50 + rng() % 500;
        for (int step = 0; step < 400; ++step) {
            const std::uint64_t k = rng() % key_space;
            const std::uint64_t val = rng();
            const auto op = rng() % 8;
            CAPTURE(round, step, op, k);
            if (op <= 2) {
                REQUIRE(m.insert(k, val) == model.emplace(k, val).second);
            } else if (op == 3) {
                REQUIRE(m.insert_or_assign(k, val) == model.insert_or_assign(k, val).second);
            } else if (op <= 5) {
                REQUIRE(m.erase(k) == model.erase(k));
            } else if (op == 6) {
                const auto* got = m.get(k);
                const auto it = model.find(k);
                REQUIRE((got == nullptr) == (it == model.end()));
                if (got != nullptr) {
                    REQUIRE(*got == it->second);
                }
                REQUIRE(m.contains(k) == model.contains(k));
                const auto f = m.find(k);
                REQUIRE((f == m.end()) == (it == model.end()));
                // Bounds and range views.
                const auto lb = m.lower_bound(k);
                const auto mlb = model.lower_bound(k);
                REQUIRE((lb == m.end()) == (mlb == model.end()));
                if (mlb != model.end()) {
                    REQUIRE(lb->first == mlb->first);
                }
                const auto ub = m.upper_bound(k);
                const auto mub = model.upper_bound(k);
                REQUIRE((ub == m.end()) == (mub == model.end()));
                if (mub != model.end()) {
                    REQUIRE(ub->first == mub->first);
                }
                const std::uint64_t hi = k + rng() % 60;
                std::vector<std::uint64_t> got_keys;
                for (const auto& [key, value] : m.range(k, hi)) {
                    got_keys.push_back(key);
                }
                std::vector<std::uint64_t> want_keys;
                for (auto it2 = model.lower_bound(k); it2 != model.lower_bound(hi); ++it2) {
                    want_keys.push_back(it2->first);
                }
                REQUIRE(got_keys == want_keys);
            } else {
                snaps.emplace_back(m, model);
            }
            check_same(m, model);
        }
        for (const auto& [snap, snap_model] : snaps) {
            check_same(snap, snap_model);
        }
    }
}

TEST_CASE("btree_map: string keys, bulk construction and clear", "[btree][btree_map]") {
    crdt::btree_map<std::string, int> m{{"a", 1}, {"b", 2}, {"c", 3}};
    REQUIRE(m.size() == 3);
    REQUIRE(*m.get("b") == 2);
    REQUIRE(m.get("d") == nullptr);
    crdt::btree_map<std::string, int> unsorted{{"z", 1}, {"m", 2}, {"m", 9}, {"a", 3}};
    REQUIRE(unsorted.size() == 3);
    REQUIRE(*unsorted.get("m") == 2); // first of equal keys wins
    REQUIRE_NOTHROW(unsorted.verify());
    const auto snapshot = unsorted;
    unsorted.clear();
    REQUIRE(unsorted.empty());
    REQUIRE(snapshot.size() == 3);
    REQUIRE(snapshot.begin()->first == "a");
    std::vector<std::pair<std::string, int>> many;
    for (int i = 0; i < 1000; ++i) {
        many.emplace_back(std::to_string(100000 + i), i);
    }
    crdt::btree_map<std::string, int> big;
    big.insert_range(many); // sorted and unique: bulk built
    REQUIRE(big.size() == 1000);
    REQUIRE_NOTHROW(big.verify());
    REQUIRE(*big.get("100500") == 500);
}

TEST_CASE("btree_map: assign_sorted_unique builds from sorted pairs", "[btree][btree_map]") {
    const auto seed = crdt_test::seed(31);
    CAPTURE(seed);
    std::mt19937_64 rng(seed);
    // Descending keys under std::greater, as the sequence's index holds them.
    crdt::btree_map<std::uint32_t, std::uint64_t, std::greater<std::uint32_t>> m;
    m.insert(7, 7); // replaced entirely
    for (const std::size_t n : {0u, 1u, 40u, 5000u}) {
        CAPTURE(n);
        std::map<std::uint32_t, std::uint64_t, std::greater<std::uint32_t>> model;
        while (model.size() < n) {
            model.emplace(static_cast<std::uint32_t>(rng()), rng());
        }
        const std::vector<std::pair<std::uint32_t, std::uint64_t>> pairs(model.begin(),
                                                                         model.end());
        m.assign_sorted_unique(pairs.begin(), pairs.end());
        REQUIRE_NOTHROW(m.verify());
        REQUIRE(m.size() == n);
        REQUIRE(std::equal(m.begin(), m.end(), model.begin(), model.end(),
                           [](const auto& a, const auto& b) {
                               return a.first == b.first && a.second == b.second;
                           }));
        // The result is an ordinary map: edits keep matching the model.
        for (int k = 0; k < 200; ++k) {
            const auto key = static_cast<std::uint32_t>(rng() % 1000);
            m.insert_or_assign(key, static_cast<std::uint64_t>(k));
            model[key] = static_cast<std::uint64_t>(k);
        }
        REQUIRE_NOTHROW(m.verify());
        REQUIRE(std::equal(m.begin(), m.end(), model.begin(), model.end(),
                           [](const auto& a, const auto& b) {
                               return a.first == b.first && a.second == b.second;
                           }));
    }
}

TEMPLATE_LIST_TEST_CASE("btree_map: rekey changes a key in place, never reordering",
                        "[btree][btree_map]", policies) {
    using map_t = crdt::btree_map<std::uint64_t, std::uint64_t, std::less<std::uint64_t>, TestType>;
    const auto seed = crdt_test::seed(37);
    CAPTURE(seed);
    std::mt19937_64 rng(seed);
    std::size_t moved = 0;
    std::size_t refused = 0;
    for (int round = 0; round < 4; ++round) {
        map_t m;
        std::map<std::uint64_t, std::uint64_t> model;
        std::vector<std::pair<map_t, std::map<std::uint64_t, std::uint64_t>>> snaps;
        for (int step = 0; step < 400; ++step) {
            const std::uint64_t k = 10 + rng() % 400;
            const auto op = rng() % 6;
            CAPTURE(round, step, op, k);
            if (op <= 1) {
                const std::uint64_t val = rng();
                REQUIRE(m.insert(k, val) == model.emplace(k, val).second);
            } else if (op == 2) {
                REQUIRE(m.erase(k) == model.erase(k));
            } else if (op == 3) {
                snaps.emplace_back(m, model);
            } else {
                // Mostly an existing key, moved by a few steps either way.
                const std::uint64_t from =
                    model.empty() || rng() % 4 == 0
                        ? k
                        : std::next(model.begin(),
                                    static_cast<std::ptrdiff_t>(rng() % model.size()))
                              ->first;
                const std::uint64_t to = from + 4 - rng() % 9;
                const auto it = model.find(from);
                if (it == model.end()) {
                    REQUIRE_FALSE(m.rekey(from, to));
                } else {
                    const bool after_prev = it == model.begin() || std::prev(it)->first < to;
                    const bool before_next =
                        std::next(it) == model.end() || to < std::next(it)->first;
                    if (after_prev && before_next) {
                        REQUIRE(m.rekey(from, to));
                        const std::uint64_t v = it->second;
                        model.erase(it);
                        model.emplace(to, v);
                        ++moved;
                    } else {
                        REQUIRE_THROWS_AS(m.rekey(from, to), crdt::error);
                        ++refused;
                    }
                }
            }
            check_same(m, model);
        }
        for (const auto& [snap, snap_model] : snaps) {
            check_same(snap, snap_model); // rekey on a shared node copies it
        }
    }
    CHECK(moved > 100);
    CHECK(refused > 10);
}

TEST_CASE("btree_map: rekey under std::greater, across leaf boundaries", "[btree][btree_map]") {
    // Descending keys, as the sequence's index holds them; 5000 entries span
    // many leaves, so neighbours are often in another leaf.
    crdt::btree_map<std::uint32_t, std::uint64_t, std::greater<std::uint32_t>> m;
    std::map<std::uint32_t, std::uint64_t, std::greater<std::uint32_t>> model;
    for (std::uint32_t i = 0; i < 5000; ++i) {
        m.insert(i * 10, i);
        model.emplace(i * 10, i);
    }
    for (std::uint32_t i = 1; i < 4999; ++i) {
        CAPTURE(i);
        const std::uint32_t from = i * 10;
        // Neighbours hold (i - 1) * 10 and (i + 1) * 10: +-9 keeps the order,
        // +-10 collides with a neighbour, +-11 passes it.
        const std::uint32_t to = i % 2 == 0 ? from + 9 : from - 9;
        REQUIRE_THROWS_AS(m.rekey(from, from + 10), crdt::error);
        REQUIRE_THROWS_AS(m.rekey(from, from - 11), crdt::error);
        REQUIRE(m.rekey(from, to));
        model.emplace(to, model.at(from));
        model.erase(from);
        REQUIRE(m.rekey(to, from)); // and back
        model.emplace(from, model.at(to));
        model.erase(to);
    }
    REQUIRE(m.rekey(0, 4)); // the first and the last entry have one neighbour
    REQUIRE(m.rekey(49990, 49999));
    REQUIRE_FALSE(m.rekey(12345, 1));
    model.emplace(4, model.at(0));
    model.erase(0);
    model.emplace(49999, model.at(49990));
    model.erase(49990);
    REQUIRE_NOTHROW(m.verify());
    REQUIRE(std::equal(
        m.begin(), m.end(), model.begin(), model.end(),
        [](const auto& a, const auto& b) { return a.first == b.first && a.second == b.second; }));
}

TEST_CASE("btree_map: the map summary patches lawfully over unique keys", "[btree][btree_map]") {
    // The patch relies on unique keys (a map's): the subtree's last key is
    // the entry's only when the entry is last.
    using traits = crdt::detail::btree::map_traits<std::uint64_t, int>;
    STATIC_REQUIRE(crdt::btree::has_patch<traits>);
    const auto seed = crdt_test::seed(41);
    CAPTURE(seed);
    std::mt19937_64 rng(seed);
    std::vector<std::pair<std::uint64_t, int>> entries;
    std::uint64_t key = 0;
    for (int i = 0; i < 200; ++i) {
        key += 1 + rng() % 5;
        entries.emplace_back(key, i);
    }
    REQUIRE_NOTHROW(crdt::testing::check_patch_laws<traits>(entries, seed));
}

namespace {
/// Orders doubles by std::strong_order: -0.0 and +0.0 are two keys, although
/// == calls them equal.
struct strong_less {
    bool operator()(double a, double b) const noexcept {
        return std::strong_order(a, b) == std::strong_ordering::less;
    }
};
} // namespace

TEMPLATE_LIST_TEST_CASE("btree_map: keys that == confuses but the comparator does not",
                        "[btree][btree_map]", policies) {
    // The summary's last key must not be patched through ==: assigning to
    // -0.0 must leave +0.0 findable wherever the two sit in the tree.
    using map_t = crdt::btree_map<double, int, strong_less, TestType>;
    const auto seed = crdt_test::seed(43);
    CAPTURE(seed);
    std::mt19937_64 rng(seed);
    for (int round = 0; round < 60; ++round) {
        std::vector<double> keys{-0.0, 0.0};
        for (int i = 1; i <= 40; ++i) {
            keys.push_back(static_cast<double>(i));
            keys.push_back(-static_cast<double>(i));
        }
        std::shuffle(keys.begin(), keys.end(), rng);
        map_t m;
        for (std::size_t i = 0; i < keys.size(); ++i) {
            m.insert(keys[i], static_cast<int>(i));
        }
        REQUIRE(m.size() == keys.size());
        m.insert_or_assign(-0.0, -1);
        m.insert_or_assign(0.0, 1);
        REQUIRE_NOTHROW(m.verify());
        REQUIRE(m.get(-0.0) != nullptr);
        REQUIRE(*m.get(-0.0) == -1);
        REQUIRE(m.get(0.0) != nullptr);
        REQUIRE(*m.get(0.0) == 1);
        for (int i = 1; i <= 40; ++i) {
            REQUIRE(m.get(static_cast<double>(i)) != nullptr);
            REQUIRE(m.get(-static_cast<double>(i)) != nullptr);
        }
    }
}

TEST_CASE("btree_map: a moved-from map is empty", "[btree][btree_map]") {
    crdt::btree_map<std::uint64_t, int> m;
    for (std::uint64_t k = 0; k < 100; ++k) {
        m.insert(k, static_cast<int>(k));
    }
    crdt::btree_map<std::uint64_t, int> n(std::move(m));
    REQUIRE(n.size() == 100);
    REQUIRE(m.size() == 0); // NOLINT(bugprone-use-after-move): specified empty
    REQUIRE(m.empty());
    REQUIRE_NOTHROW(m.verify());
    REQUIRE(m.insert(7, 7)); // and usable again
    REQUIRE(m.size() == 1);
}
