// Tests of the sequence op store's compact tables (include/crdt/sequence/
// core.hpp): the run-length first-delete table against a flat array, and
// through crdt::sequence, visibility at past and concurrent versions against
// brute force over every delete (concurrent and repeated deletes of one
// element, backspacing, forward deletes), after snapshot and delta round
// trips too; the code point arena as it widens from one byte per element
// to two and four, and the plain arena of other element types.
#include <crdt/sequence.hpp>
#include <crdt/sequence/core.hpp>

#include "../support/seed.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <random>
#include <span>
#include <string>
#include <utility>
#include <vector>

namespace {

using crdt::detail::seq::first_delete_table;
using crdt::detail::seq::lv_t;
using crdt::detail::seq::no_lv;
using seq_t = crdt::sequence<char32_t>;

/// The table and the flat array it replaces, written together.
struct table_and_model {
    first_delete_table table;
    std::vector<lv_t> model;
    std::vector<std::pair<lv_t, lv_t>> taken_table;
    std::vector<std::pair<lv_t, lv_t>> taken_model;

    explicit table_and_model(std::size_t n) : model(n, no_lv) {}

    void set(lv_t t, lv_t k, lv_t d) {
        for (lv_t i = 0; i < k; ++i) {
            if (model[t + i] == no_lv) {
                model[t + i] = d + i;
            } else {
                taken_model.emplace_back(t + i, d + i);
            }
        }
        table.set(t, k, d, [&](lv_t x, lv_t dx) { taken_table.emplace_back(x, dx); });
    }

    void check(std::mt19937_64& rng) const {
        table.verify();
        REQUIRE(taken_table == taken_model);
        const auto past = static_cast<lv_t>(model.size() + 2 * first_delete_table::block_size);
        for (lv_t x = 0; x < past; ++x) {
            const lv_t want = x < model.size() ? model[x] : no_lv;
            REQUIRE(table.get(x) == want);
        }
        // Readers: walks upwards with small strides, then random jumps.
        for (int walk = 0; walk < 4; ++walk) {
            first_delete_table::reader r(table);
            for (auto x = static_cast<lv_t>(rng() % past); x < past;
                 x += 1 + static_cast<lv_t>(rng() % 3)) {
                REQUIRE(r.get(x) == (x < model.size() ? model[x] : no_lv));
            }
        }
        first_delete_table::reader r(table);
        for (int q = 0; q < 500; ++q) {
            const auto x = static_cast<lv_t>(rng() % past);
            REQUIRE(r.get(x) == (x < model.size() ? model[x] : no_lv));
        }
        // Built in one pass from the flat array (snapshot loading).
        first_delete_table rebuilt;
        rebuilt.set(5, 3, 1, [](lv_t, lv_t) {}); // replaced whole
        rebuilt.assign(model);
        rebuilt.verify();
        for (lv_t x = 0; x < past; ++x) {
            REQUIRE(rebuilt.get(x) == (x < model.size() ? model[x] : no_lv));
        }
    }
};

crdt::detail::seq::lv_set lvs_of(const seq_t& s, const seq_t::version_type& v) {
    crdt::detail::seq::lv_set set;
    for (const auto& e : v) {
        if (const auto a = s.engine().find_agent(e.replica)) {
            s.engine().lv_ranges(
                *a, 0, e.counter + 1,
                [&](crdt::detail::seq::lv_t lo, crdt::detail::seq::lv_t hi) { set.add(lo, hi); });
        }
    }
    set.normalize();
    return set;
}

void insert(seq_t& s, std::size_t pos, std::u32string_view text) {
    s.insert(pos, std::span<const char32_t>(text.data(), text.size()));
}

/// Random deletes in the patterns editors make (backspacing, forward
/// deletes, selections cut) and a few inserts.
void edit(seq_t& s, std::mt19937_64& rng, int steps) {
    for (int i = 0; i < steps; ++i) {
        const std::size_t len = s.size();
        const auto kind = rng() % 6;
        if (len == 0 || kind == 0) {
            std::u32string ins;
            for (std::size_t k = 0, n = 1 + rng() % 8; k < n; ++k) {
                ins.push_back(char32_t(U'a' + rng() % 26));
            }
            insert(s, static_cast<std::size_t>(rng() % (len + 1)), ins);
        } else if (kind == 1) { // backspacing
            std::size_t pos = 1 + static_cast<std::size_t>(rng() % len);
            for (std::size_t n = 1 + rng() % 12; n > 0 && pos > 0; --n, --pos) {
                s.erase(pos - 1, 1);
            }
        } else if (kind == 2) { // forward deletes
            const std::size_t pos = static_cast<std::size_t>(rng() % len);
            for (std::size_t n = 1 + rng() % 12; n > 0 && pos < s.size(); --n) {
                s.erase(pos, 1);
            }
        } else {
            const std::size_t pos = static_cast<std::size_t>(rng() % len);
            s.erase(pos, 1 + static_cast<std::size_t>(rng() % std::min<std::size_t>(9, len - pos)));
        }
    }
}

/// Checks visibility at every version of `versions` (and now) for every
/// element of `s` against brute force over every delete the op store holds
/// this branch applied (read back as ops, not through the first-delete
/// table).
void check_visibility(const seq_t& s, const std::vector<seq_t::version_type>& versions) {
    s.verify();
    const auto& e = s.engine();
    const auto n = static_cast<lv_t>(e.op_count());
    std::vector<std::vector<lv_t>> deletes(n);
    for (const auto& [lo, hi] : e.applied().intervals()) {
        e.for_each_op(
            lo, hi, [](lv_t, lv_t, lv_t, lv_t) {},
            [&](lv_t lv, lv_t k, lv_t target) {
                for (lv_t i = 0; i < k; ++i) {
                    deletes[target + i].push_back(lv + i);
                }
            });
    }
    std::vector<seq_t::version_type> all = versions;
    all.push_back(s.version());
    for (const auto& v : all) {
        const auto set = lvs_of(s, v);
        for (lv_t x = 0; x < n; ++x) {
            if (!e.is_insert(x) || !e.applied().contains(x)) {
                continue;
            }
            bool want = set.contains(x);
            for (const lv_t d : deletes[x]) {
                want = want && !set.contains(d);
            }
            REQUIRE(e.visible_at(x, set) == want);
        }
    }
}

} // namespace

TEST_CASE("sequence store: the first-delete table against a flat array") {
    const std::uint64_t seed = crdt_test::seed(91);
    CAPTURE(seed);
    std::mt19937_64 rng(seed);
    constexpr lv_t block = first_delete_table::block_size;
    bool saw_dense = false;
    for (int round = 0; round < 6; ++round) {
        CAPTURE(round);
        const lv_t n = 3 * block + 77;
        table_and_model tm(n);
        lv_t d = n; // delete LVs come after the inserts
        // Round 0 scatters single deletes with gaps in their LVs (one span
        // each: the dense fallback); the others mix every pattern.
        const bool scatter = round == 0;
        for (int step = 0; step < 300; ++step) {
            const auto kind = scatter ? 2 : rng() % 5;
            const auto x = static_cast<lv_t>(rng() % n);
            if (kind == 0) { // backspacing: descending targets, one call each
                for (lv_t i = 0, len = 1 + static_cast<lv_t>(rng() % 60); i < len && i <= x; ++i) {
                    tm.set(x - i, 1, d++);
                }
            } else if (kind == 1) { // one op deleting a range
                const lv_t k = std::min<lv_t>(n - x, 1 + static_cast<lv_t>(rng() % 80));
                tm.set(x, k, d);
                d += k;
            } else if (kind == 2) { // scattered, with gaps in the delete LVs
                for (int i = 0; i < (scatter ? 8 : 1); ++i) {
                    tm.set(static_cast<lv_t>(rng() % n), 1, d);
                    d += 1 + static_cast<lv_t>(rng() % 3);
                }
            } else if (kind == 3) { // forward deletes: ascending, one call each
                for (lv_t i = 0, len = 1 + static_cast<lv_t>(rng() % 40); i < len && x + i < n;
                     ++i) {
                    tm.set(x + i, 1, d++);
                }
            } else { // a concurrent delete of a stretch deleted already
                const lv_t k = std::min<lv_t>(n - x, 1 + static_cast<lv_t>(rng() % 30));
                tm.set(x, k, d);
                tm.set(x, k, d + k);
                d += 2 * k;
            }
            if (step % 50 == 49) {
                tm.check(rng);
            }
        }
        tm.check(rng);
        for (std::size_t b = 0; b < tm.table.block_count(); ++b) {
            saw_dense = saw_dense || tm.table.dense_block(b);
        }
    }
    CHECK(saw_dense);
}

TEST_CASE("sequence store: a backspaced or forward-deleted stretch is one span") {
    constexpr lv_t block = first_delete_table::block_size;
    first_delete_table t;
    // Backspacing elements [100, 400) from the end, then forward-deleting
    // [500, 800) one element at a time, then one op deleting [900, 1000).
    lv_t d = 5000;
    for (lv_t x = 400; x > 100; --x) {
        t.set(x - 1, 1, d++, [](lv_t, lv_t) { FAIL("nothing is deleted twice"); });
    }
    for (lv_t x = 500; x < 800; ++x) {
        t.set(x, 1, d++, [](lv_t, lv_t) { FAIL("nothing is deleted twice"); });
    }
    t.set(900, 100, d, [](lv_t, lv_t) { FAIL("nothing is deleted twice"); });
    t.verify();
    REQUIRE(t.spans_of_block(0).size() == 3);
    CHECK(t.get(399) == 5000);
    CHECK(t.get(100) == 5299);
    CHECK(t.get(500) == 5300);
    CHECK(t.get(999) == d + 99);
    CHECK(t.get(99) == no_lv);
    CHECK(t.get(400) == no_lv);
    // A range across a block boundary is cut there.
    t.set(block - 10, 20, 9000, [](lv_t, lv_t) { FAIL("nothing is deleted twice"); });
    t.verify();
    CHECK(t.spans_of_block(1).size() == 1);
    CHECK(t.get(block + 9) == 9019);
    // Filling the gap between two spans whose deletes continue joins all three.
    first_delete_table u;
    u.set(10, 5, 100, [](lv_t, lv_t) {});
    u.set(20, 5, 110, [](lv_t, lv_t) {});
    u.set(15, 5, 105, [](lv_t, lv_t) {});
    u.verify();
    CHECK(u.spans_of_block(0).size() == 1);
    CHECK(u.memory_bytes() < 100 * sizeof(lv_t));
}

TEST_CASE("sequence store: visibility with concurrent and repeated deletes, after round trips") {
    const std::uint64_t seed = crdt_test::seed(92);
    CAPTURE(seed);
    std::mt19937_64 rng(seed);
    for (int round = 0; round < 6; ++round) {
        CAPTURE(round);
        seq_t base(crdt::agent_id("base"));
        for (int i = 0; i < 12; ++i) {
            std::u32string text(10 + rng() % 30, U'x');
            for (char32_t& c : text) {
                c = char32_t(U'a' + rng() % 26);
            }
            insert(base, static_cast<std::size_t>(rng() % (base.size() + 1)), text);
        }
        std::vector<seq_t> reps;
        for (int r = 0; r < 3; ++r) {
            reps.push_back(base.fork(crdt::agent_id(std::string(1, static_cast<char>('p' + r)))));
        }
        std::vector<seq_t::version_type> versions{{}, base.version()};
        for (int step = 0; step < 12; ++step) {
            seq_t& s = reps[rng() % reps.size()];
            // Concurrent branches delete overlapping stretches: an element
            // gets several deletes, arriving in any order.
            edit(s, rng, 1 + static_cast<int>(rng() % 4));
            if (rng() % 3 == 0) {
                const seq_t& from = reps[rng() % reps.size()];
                if (&from != &s) {
                    s.merge(from.delta_since(s.version()));
                }
            }
            versions.push_back(s.version());
        }
        // Merge in a random order into a branch and into a separate replica.
        seq_t all = base.fork(crdt::agent_id("all"));
        seq_t own(crdt::agent_id("own"));
        std::vector<std::size_t> order{0, 1, 2};
        std::shuffle(order.begin(), order.end(), rng);
        for (const std::size_t i : order) {
            all.merge(reps[i]);
            own.merge(reps[i].delta_since(own.version()));
        }
        check_visibility(all, versions);
        check_visibility(own, versions);
        const seq_t copy = all; // a deep copy of the op store
        check_visibility(copy, versions);
        const seq_t loaded = seq_t::load_snapshot(all.snapshot(), crdt::agent_id("all"));
        check_visibility(loaded, versions);
        seq_t fresh(crdt::agent_id("fresh"));
        fresh.merge(all.delta_since({}));
        check_visibility(fresh, versions);
        for (const auto& v : versions) {
            const auto want = all.content_at(v);
            REQUIRE(own.content_at(v) == want);
            REQUIRE(loaded.content_at(v) == want);
            REQUIRE(fresh.content_at(v) == want);
        }
        const seq_t past = all.fork_at(versions[versions.size() / 2], crdt::agent_id("past"));
        check_visibility(past, {{}, versions[versions.size() / 2]});
    }
}

TEST_CASE("sequence store: the code point arena widens as wider code points arrive") {
    const std::uint64_t seed = crdt_test::seed(94);
    CAPTURE(seed);
    std::mt19937_64 rng(seed);
    // Code points of each width class: ASCII, Latin-1, the rest of the BMP,
    // the astral planes.
    const auto random_cp = [&](int width_class) -> char32_t {
        switch (width_class) {
        case 0: return char32_t(U' ' + rng() % 95);
        case 1: return char32_t(0xA0 + rng() % 0x60);
        case 2: return char32_t(0x3000 + rng() % 0x1000);
        default: return char32_t(0x1F600 + rng() % 0x40);
        }
    };
    for (int round = 0; round < 4; ++round) {
        CAPTURE(round);
        seq_t s(crdt::agent_id("w"));
        std::u32string model;
        std::vector<seq_t::version_type> versions{{}};
        std::vector<std::u32string> texts{U""};
        for (int stage = 0; stage < 4; ++stage) {
            // Mostly narrow code points, and from stage 1 on some of the
            // stage's class: the arena widens at most once per class.
            for (int step = 0; step < 40; ++step) {
                if (!model.empty() && rng() % 3 == 0) {
                    const std::size_t pos = static_cast<std::size_t>(rng() % model.size());
                    const std::size_t n = std::min<std::size_t>(model.size() - pos, 1 + rng() % 5);
                    s.erase(pos, n);
                    model.erase(pos, n);
                } else {
                    std::u32string ins;
                    const std::size_t n = 1 + rng() % (rng() % 10 == 0 ? 700 : 6);
                    for (std::size_t k = 0; k < n; ++k) {
                        ins.push_back(random_cp(rng() % 8 == 0 ? (stage + round) % 4 : 0));
                    }
                    const std::size_t pos = static_cast<std::size_t>(rng() % (model.size() + 1));
                    insert(s, pos, ins);
                    model.insert(pos, ins);
                }
                versions.push_back(s.version());
                texts.push_back(model);
            }
            s.verify();
            const auto c = s.content();
            REQUIRE(std::u32string(c.begin(), c.end()) == model);
        }
        // Every past version (spans come in pieces while narrow), deltas,
        // snapshots, copies.
        const seq_t loaded = seq_t::load_snapshot(s.snapshot(), crdt::agent_id("w"));
        seq_t fresh(crdt::agent_id("f"));
        fresh.merge(s.delta_since({}));
        const seq_t copy = s;
        for (std::size_t i = 0; i < versions.size(); i += 3) {
            for (const seq_t* x : std::vector<const seq_t*>{&s, &loaded, &fresh, &copy}) {
                std::u32string at;
                x->visit_at(versions[i], [&](std::span<const char32_t> part) {
                    at.append(part.begin(), part.end());
                });
                REQUIRE(at == texts[i]);
            }
        }
        const std::size_t mid = versions.size() / 2;
        const auto d = s.diff(versions[mid], s.version());
        std::u32string rebuilt; // the new text from the retains and inserts
        for (const auto& e : d) {
            if (e.kind != seq_t::edit_kind::erase) {
                rebuilt.append(e.values.begin(), e.values.end());
            }
        }
        REQUIRE(rebuilt == model);
        fresh.verify();
        loaded.verify();
    }
}

TEST_CASE("sequence store: elements of a generic type, with deletes between them") {
    // Generic element types keep one std::vector (element_arena<T>).
    crdt::sequence<int> s(crdt::agent_id("g"));
    std::vector<int> model;
    std::mt19937_64 rng(crdt_test::seed(95));
    for (int step = 0; step < 300; ++step) {
        if (!model.empty() && rng() % 3 == 0) {
            const std::size_t pos = static_cast<std::size_t>(rng() % model.size());
            s.erase(pos, 1);
            model.erase(model.begin() + static_cast<std::ptrdiff_t>(pos));
        } else {
            const std::vector<int> ins{step, -step};
            const std::size_t pos = static_cast<std::size_t>(rng() % (model.size() + 1));
            s.insert(pos, std::span<const int>(ins.data(), ins.size()));
            model.insert(model.begin() + static_cast<std::ptrdiff_t>(pos), ins.begin(), ins.end());
        }
    }
    s.verify();
    REQUIRE(s.content() == model);
    crdt::sequence<int> fresh(crdt::agent_id("h"));
    fresh.merge(s.delta_since({}));
    REQUIRE(fresh.content() == model);
    const auto loaded = crdt::sequence<int>::load_snapshot(s.snapshot(), crdt::agent_id("g"));
    loaded.verify();
    REQUIRE(loaded.content() == model);
}
