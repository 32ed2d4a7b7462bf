// Tests of crdt/btree/cursor.hpp: seeks by every dimension with both biases
// (total and partial dimensions), several dimensions in one pass, next/prev,
// slice/suffix/summary of a range, cursor lifetime.
#include <crdt/btree/cursor.hpp>

#include "support.hpp"
#include "support/seed.hpp"

#include <catch2/catch.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <random>
#include <vector>

using namespace crdt_test::btree;
namespace bt = crdt::btree;

namespace {

std::vector<piece> random_pieces(std::mt19937_64& rng, std::size_t n) {
    std::vector<piece> v;
    for (std::size_t i = 0; i < n; ++i) {
        v.push_back(random_piece(rng));
    }
    return v;
}

/// The model of a seek: index of the first item not skipped (n at the end),
/// where measure(i) is item i's size in the dimension.
std::size_t model_seek(const std::vector<piece>& v, std::uint64_t target, bt::bias b,
                       const std::function<std::uint64_t(const piece&)>& measure) {
    std::uint64_t end = 0;
    for (std::size_t i = 0; i < v.size(); ++i) {
        end += measure(v[i]);
        if (target > end || (target == end && b == bt::bias::right)) {
            continue;
        }
        return i;
    }
    return v.size();
}

std::uint64_t prefix(const std::vector<piece>& v, std::size_t to,
                     const std::function<std::uint64_t(const piece&)>& measure) {
    std::uint64_t s = 0;
    for (std::size_t i = 0; i < to; ++i) {
        s += measure(v[i]);
    }
    return s;
}

const std::function<std::uint64_t(const piece&)> by_count = [](const piece&) { return 1u; };
const std::function<std::uint64_t(const piece&)> by_len = [](const piece& p) { return p.len; };
const std::function<std::uint64_t(const piece&)> by_lines = [](const piece& p) { return p.lines; };

template <class Cursor>
void check_position(const Cursor& c, const std::vector<piece>& v, std::size_t i) {
    REQUIRE(c.at_end() == (i == v.size()));
    if (i < v.size()) {
        REQUIRE(c.item() == v[i]);
    }
    const all_dims& pos = c.start();
    REQUIRE(pos.template get<0>().value == i);
    REQUIRE(pos.template get<1>().value == prefix(v, i, by_len));
    REQUIRE(pos.template get<2>().value == prefix(v, i, by_lines));
}

} // namespace

TEMPLATE_LIST_TEST_CASE("cursor: seek by each dimension with both biases", "[btree][cursor]",
                        policies) {
    using tree_t = bt::tree<piece_traits, TestType>;
    const auto seed = crdt_test::seed(11);
    CAPTURE(seed);
    std::mt19937_64 rng(seed);
    for (const std::size_t n : {0u, 1u, 7u, 60u, 400u}) {
        const auto v = random_pieces(rng, n);
        const tree_t t = tree_t::from_range(v);
        const std::uint64_t total_len = prefix(v, n, by_len);
        const std::uint64_t total_lines = prefix(v, n, by_lines);
        for (int k = 0; k < 200; ++k) {
            const bt::bias b = rng() % 2 == 0 ? bt::bias::left : bt::bias::right;
            CAPTURE(n, k, b == bt::bias::left);
            // Items: a target for the first component seeks on the tuple.
            {
                const std::uint64_t target = rng() % (n + 2);
                auto c = t.cursor(all_dims{});
                c.seek(target, b);
                check_position(c, v, model_seek(v, target, b, by_count));
            }
            // Length: through a dims whose first component is the length.
            {
                const std::uint64_t target = rng() % (total_len + 2);
                auto c = t.template find<bt::dims<len_dim, count_dim>>(target, b);
                const std::size_t i = model_seek(v, target, b, by_len);
                REQUIRE(c.start().template get<1>().value == i);
                REQUIRE(c.start().template get<0>().value == prefix(v, i, by_len));
                // The one-shot lookup agrees.
                const auto [hit, pos] = t.template lookup<len_dim>(target, b);
                REQUIRE((hit == nullptr) == (i == n));
                if (hit != nullptr) {
                    REQUIRE(*hit == v[i]);
                }
                REQUIRE(pos.value == prefix(v, i, by_len));
            }
            // Lines.
            {
                const std::uint64_t target = rng() % (total_lines + 2);
                auto c = t.template find<lines_dim>(target, b);
                const std::size_t i = model_seek(v, target, b, by_lines);
                REQUIRE(c.at_end() == (i == n));
                REQUIRE(c.at_begin() == (i == 0 || n == 0));
                REQUIRE(c.start().value == prefix(v, i, by_lines));
                if (i < n) {
                    REQUIRE(c.item() == v[i]);
                    REQUIRE(c.end().value == prefix(v, i + 1, by_lines));
                }
            }
        }
    }
}

namespace {

/// Partial is len_below (hot bounds) or len_below_cold (cold bounds).
template <class Policy, class Traits, class Partial>
void partial_seeks(std::uint64_t seed) {
    using tree_t = bt::tree<Traits, Policy>;
    CAPTURE(seed);
    std::mt19937_64 rng(seed);
    auto v = random_pieces(rng, 300);
    // Keys increasing in clusters, so many subtrees are all-below/all-above.
    for (std::size_t i = 0; i < v.size(); ++i) {
        v[i].key = (i / 37) * 100 + rng() % 100;
    }
    const tree_t t = tree_t::from_range(v);
    for (int k = 0; k < 300; ++k) {
        const std::uint64_t bound = rng() % 1000;
        const auto measure = [bound](const piece& p) -> std::uint64_t {
            return p.key < bound ? p.len : 0;
        };
        const std::uint64_t total = prefix(v, v.size(), measure);
        const std::uint64_t target = rng() % (total + 2);
        const bt::bias b = rng() % 2 == 0 ? bt::bias::left : bt::bias::right;
        CAPTURE(k, bound, target, b == bt::bias::left);
        auto c = t.template find<bt::dims<Partial, count_dim>>(
            target, b, bt::dims<Partial, count_dim>{Partial{bound, 0}, count_dim{}});
        const std::size_t i = model_seek(v, target, b, measure);
        REQUIRE(c.start().template get<1>().value == i);
        REQUIRE(c.start().template get<0>().value == prefix(v, i, measure));
        const auto [hit, pos] = t.template lookup<Partial>(target, b, Partial{bound, 0});
        REQUIRE((hit == nullptr) == (i == v.size()));
        REQUIRE(pos.value == prefix(v, i, measure));
        // prev/next keep the partial position exact.
        if (i > 0) {
            c.prev();
            REQUIRE(c.start().template get<1>().value == i - 1);
            REQUIRE(c.start().template get<0>().value == prefix(v, i - 1, measure));
            c.next();
            REQUIRE(c.start().template get<0>().value == prefix(v, i, measure));
        }
    }
}

} // namespace

TEMPLATE_LIST_TEST_CASE("cursor: seek by a partial dimension", "[btree][cursor]", policies) {
    partial_seeks<TestType, piece_traits, len_below>(crdt_test::seed(12));
}

TEMPLATE_LIST_TEST_CASE("cursor: seek by a partial dimension of the cold summary",
                        "[btree][cursor]", policies) {
    partial_seeks<TestType, cold_piece_traits, len_below_cold>(crdt_test::seed(15));
}

TEMPLATE_LIST_TEST_CASE("cursor: next and prev walk every item with exact positions",
                        "[btree][cursor]", policies) {
    using tree_t = bt::tree<piece_traits, TestType>;
    const auto seed = crdt_test::seed(13);
    CAPTURE(seed);
    std::mt19937_64 rng(seed);
    for (const std::size_t n : {0u, 1u, 5u, 33u, 500u}) {
        CAPTURE(n);
        const auto v = random_pieces(rng, n);
        const tree_t t = tree_t::from_range(v);
        auto c = t.cursor(all_dims{});
        for (std::size_t i = 0; i < n; ++i) {
            check_position(c, v, i);
            c.next();
        }
        check_position(c, v, n);
        for (std::size_t i = n; i-- > 0;) {
            c.prev();
            check_position(c, v, i);
        }
        // Random walks mixing seek_forward, next and prev.
        std::size_t i = 0;
        c.reset();
        for (int k = 0; k < 100 && n > 0; ++k) {
            const auto op = rng() % 3;
            if (op == 0 && i < n) {
                c.next();
                ++i;
            } else if (op == 1 && i > 0) {
                c.prev();
                --i;
            } else {
                const std::uint64_t target = i + rng() % 10;
                const bt::bias b = rng() % 2 == 0 ? bt::bias::left : bt::bias::right;
                c.seek_forward(target, b);
                i = std::max(i, model_seek(v, target, b, by_count));
            }
            check_position(c, v, i);
        }
    }
}

TEMPLATE_LIST_TEST_CASE("cursor: slice, suffix and summary of a range", "[btree][cursor]",
                        policies) {
    using tree_t = bt::tree<piece_traits, TestType>;
    const auto seed = crdt_test::seed(14);
    CAPTURE(seed);
    std::mt19937_64 rng(seed);
    const auto v = random_pieces(rng, 400);
    const tree_t t = tree_t::from_range(v);
    const std::uint64_t total_len = prefix(v, v.size(), by_len);
    for (int k = 0; k < 100; ++k) {
        std::uint64_t a = rng() % (total_len + 1);
        std::uint64_t b = rng() % (total_len + 1);
        if (a > b) {
            std::swap(a, b);
        }
        const bt::bias ba = rng() % 2 == 0 ? bt::bias::left : bt::bias::right;
        const bt::bias bb = rng() % 2 == 0 ? bt::bias::left : bt::bias::right;
        CAPTURE(k, a, b);
        const std::size_t ia = model_seek(v, a, ba, by_len);
        const std::size_t ib = std::max(ia, model_seek(v, b, bb, by_len));
        // slice(to): the items between, sharing subtrees; the cursor moves.
        auto c = t.template find<len_dim>(a, ba);
        const tree_t mid = c.slice(b, bb);
        REQUIRE_NOTHROW(mid.verify());
        std::vector<piece> got(mid.begin(), mid.end());
        REQUIRE(got == std::vector<piece>(v.begin() + static_cast<std::ptrdiff_t>(ia),
                                          v.begin() + static_cast<std::ptrdiff_t>(ib)));
        REQUIRE(c.start().value == prefix(v, ib, by_len));
        // suffix(): the rest.
        const tree_t rest = c.suffix();
        REQUIRE_NOTHROW(rest.verify());
        REQUIRE(std::vector<piece>(rest.begin(), rest.end()) ==
                std::vector<piece>(v.begin() + static_cast<std::ptrdiff_t>(ib), v.end()));
        REQUIRE(c.at_end());
        // summary<Out>(to): another dimension folded over the range.
        auto c2 = t.template find<len_dim>(a, ba);
        const auto lines = c2.template summary<lines_dim>(b, bb);
        REQUIRE(lines.value == prefix(v, ib, by_lines) - prefix(v, ia, by_lines));
        const auto whole =
            t.template find<len_dim>(a, ba).template summary<bt::summary_dimension<piece_traits>>(
                b, bb);
        REQUIRE(whole.value == mid.summary());
    }
}

TEMPLATE_LIST_TEST_CASE("cursor: a cursor keeps its version alive", "[btree][cursor]", policies) {
    using tree_t = bt::tree<piece_traits, TestType>;
    std::vector<piece> v;
    for (std::uint32_t i = 0; i < 300; ++i) {
        v.push_back(piece{i % 5, i % 2, i});
    }
    typename tree_t::template cursor_type<count_dim> c;
    {
        auto t = std::make_unique<tree_t>(tree_t::from_range(v));
        c = t->template find<count_dim>(std::uint64_t{150}, bt::bias::right);
        // Edits through the handle do not reach the cursor's version.
        t->erase(t->template find<count_dim>(std::uint64_t{150}, bt::bias::right));
        t->insert(t->template find<count_dim>(std::uint64_t{0}, bt::bias::right), piece{});
        t.reset(); // the handle is gone
    }
    REQUIRE(c.item() == v[150]);
    for (std::size_t i = 150; i < v.size(); ++i) {
        REQUIRE(c.item() == v[i]);
        c.next();
    }
    REQUIRE(c.at_end());
    const tree_t snap = c.snapshot();
    REQUIRE_NOTHROW(snap.verify());
    REQUIRE(std::vector<piece>(snap.begin(), snap.end()) == v);
}

TEST_CASE("cursor: an lvalue cursor survives an edit of its tree", "[btree][cursor]") {
    using tree_t = bt::tree<piece_traits, tiny_policy>;
    std::vector<piece> v(50, piece{1, 0, 0});
    for (std::size_t i = 0; i < v.size(); ++i) {
        v[i].key = i;
    }
    tree_t t = tree_t::from_range(v);
    const auto c = t.find<count_dim>(std::uint64_t{20}, bt::bias::right);
    t.erase(c); // copies the path: c still walks the old version
    REQUIRE(c.item().key == 20);
    REQUIRE(t.summary().count == 49);
    REQUIRE_NOTHROW(t.verify());
}

TEST_CASE("cursor: release drops the cursor's share, so edits stay in place", "[btree][cursor]") {
    using tree_t = bt::tree<piece_traits, tiny_policy>;
    std::vector<piece> v(50, piece{1, 0, 0});
    for (std::size_t i = 0; i < v.size(); ++i) {
        v[i].key = i;
    }
    tree_t t = tree_t::from_range(v);
    // Where item 10 lives: an edit of it in place keeps the address; a
    // path copy (the cursor keeps the old version alive) moves it.
    const auto address_of_10 = [&t] {
        return &t.find<count_dim>(std::uint64_t{10}, bt::bias::right).item();
    };
    const piece* before = address_of_10();
    {
        auto c = t.find<count_dim>(std::uint64_t{30}, bt::bias::right);
        t.replace(t.find<count_dim>(std::uint64_t{10}, bt::bias::right), piece{2, 0, 10});
        REQUIRE(c.item().key == 30); // still the old version
    }
    const piece* copied = address_of_10();
    REQUIRE(copied != before);
    {
        auto c = t.find<count_dim>(std::uint64_t{30}, bt::bias::right);
        c.release();
        REQUIRE(c.at_end());
        t.replace(t.find<count_dim>(std::uint64_t{10}, bt::bias::right), piece{3, 0, 10});
    }
    REQUIRE(address_of_10() == copied);
    REQUIRE(address_of_10()->len == 3);
    REQUIRE_NOTHROW(t.verify());
}
