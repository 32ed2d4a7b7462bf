// Tests of crdt::sequence versions (phase 2 of issue 5): version(),
// content_at(v) by the three-way walk with visibility summaries, its cursor
// form visit_at, and diff(v1, v2), against the reference model's brute-force
// visibility at past and concurrent versions.
#include <crdt/sequence.hpp>
#include <crdt/sequence/core.hpp>

#include "../support/fugue_model.hpp"
#include "../support/seed.hpp"
#include "../support/traces.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <random>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace {

using seq_t = crdt::sequence<char32_t>;
using crdt_test::fugue::model;

seq_t::dot_type dot(const crdt_test::fugue::op_id& id) {
    return {crdt::agent_id(id.agent), id.seq + 1};
}

seq_t::op convert(const crdt_test::fugue::op& o) {
    if (const auto* ins = std::get_if<crdt_test::fugue::insert_op>(&o)) {
        seq_t::insert_op out;
        out.id = dot(ins->id);
        if (ins->origin_left) {
            out.origin_left = dot(*ins->origin_left);
        }
        if (ins->origin_right) {
            out.origin_right = dot(*ins->origin_right);
        }
        out.content = {ins->content};
        return out;
    }
    const auto& del = std::get<crdt_test::fugue::delete_op>(o);
    return seq_t::erase_op{dot(del.id), dot(del.target), 1};
}

std::u32string str(const std::vector<char32_t>& v) {
    return std::u32string(v.begin(), v.end());
}

/// The model's version for a version vector (counters 1..c are seqs 0..c-1).
crdt_test::fugue::version model_version(const seq_t::version_type& v) {
    crdt_test::fugue::version out;
    for (const auto& e : v) {
        for (std::uint64_t s = 0; s < e.counter; ++s) {
            out.insert({e.replica.name(), s});
        }
    }
    return out;
}

} // namespace

TEST_CASE("sequence versions: content_at and diff against brute-force visibility") {
    const std::uint64_t seed = crdt_test::seed(71);
    CAPTURE(seed);
    std::mt19937_64 rng(seed);
    for (int round = 0; round < 4; ++round) {
        const std::size_t n = 2 + static_cast<std::size_t>(rng() % 3);
        std::vector<model> models(n);
        std::vector<seq_t> seqs;
        std::vector<std::string> names;
        for (std::size_t r = 0; r < n; ++r) {
            names.push_back(std::string(1, static_cast<char>('a' + rng() % 26)) +
                            std::to_string(r));
            seqs.emplace_back(crdt::agent_id(names.back()));
        }
        std::vector<seq_t::version_type> versions;
        for (int step = 0; step < 80; ++step) {
            const std::size_t r = static_cast<std::size_t>(rng() % n);
            const std::size_t len = seqs[r].size();
            if (len == 0 || rng() % 3 != 0) {
                const std::size_t pos = static_cast<std::size_t>(rng() % (len + 1));
                std::u32string ins;
                for (std::size_t k = 1 + rng() % 3; k > 0; --k) {
                    ins.push_back(char32_t(U'a' + rng() % 26));
                }
                models[r].insert(names[r], pos, ins);
                seqs[r].insert(pos, std::span<const char32_t>(ins.data(), ins.size()));
            } else {
                const std::size_t pos = static_cast<std::size_t>(rng() % len);
                const std::size_t k =
                    1 + static_cast<std::size_t>(rng() % std::min<std::size_t>(4, len - pos));
                models[r].erase(names[r], pos, k);
                seqs[r].erase(pos, k);
            }
            seqs[r].verify();
            REQUIRE(str(seqs[r].content_at(seqs[r].version())) == str(seqs[r].content()));
            versions.push_back(seqs[r].version());
            if (rng() % 3 == 0) {
                const std::size_t to = static_cast<std::size_t>(rng() % n);
                for (const auto& o : models[r].log()) {
                    seqs[to].apply(convert(o));
                }
                models[to].merge(models[r]);
                REQUIRE(str(seqs[to].content()) == models[to].content());
                seqs[to].verify();
            }
        }
        model all;
        for (const model& m : models) {
            all.merge(m);
        }
        seq_t reader(crdt::agent_id("reader"));
        std::vector<crdt_test::fugue::op> log = all.log();
        std::shuffle(log.begin(), log.end(), rng);
        for (const auto& o : log) {
            reader.apply(convert(o));
        }
        REQUIRE(str(reader.content()) == all.content());
        reader.verify();
        // Past versions, and unions of two (concurrent) versions.
        for (int q = 0; q < 40; ++q) {
            seq_t::version_type v1 = versions[rng() % versions.size()];
            seq_t::version_type v2 = versions[rng() % versions.size()];
            if (q % 2 == 1) {
                v1.merge(versions[rng() % versions.size()]);
            }
            const std::u32string c1 = str(reader.content_at(v1));
            const std::u32string c2 = str(reader.content_at(v2));
            REQUIRE(c1 == all.content_at(model_version(v1)));
            REQUIRE(c2 == all.content_at(model_version(v2)));
            // diff(v1, v2) turns c1 into c2.
            std::u32string before;
            std::u32string after;
            for (const auto& e : reader.diff(v1, v2)) {
                const std::u32string vals(e.values.begin(), e.values.end());
                REQUIRE(!vals.empty());
                if (e.kind != seq_t::edit_kind::insert) {
                    before += vals;
                }
                if (e.kind != seq_t::edit_kind::erase) {
                    after += vals;
                }
            }
            REQUIRE(before == c1);
            REQUIRE(after == c2);
        }
        CHECK(reader.content_at(seq_t::version_type{}).empty());
    }
}

TEST_CASE("sequence versions: the cursor form stops early") {
    seq_t s(crdt::agent_id("a"));
    const std::u32string text = U"abcdef";
    s.insert(0, std::span<const char32_t>(text.data(), text.size()));
    const auto v = s.version();
    s.insert(3, U'X'); // splits the run: three runs now
    std::size_t spans = 0;
    std::u32string seen;
    s.visit_at(v, [&](std::span<const char32_t> part) {
        ++spans;
        seen.append(part.begin(), part.end());
        return false; // a viewport that is full after one span
    });
    CHECK(spans == 1);
    CHECK(!seen.empty());
    CHECK(text.compare(0, seen.size(), seen) == 0);
    CHECK(str(s.content_at(v)) == text);
    const auto d = s.diff(v, s.version());
    REQUIRE(d.size() == 3);
    CHECK(d[1].kind == seq_t::edit_kind::insert);
    CHECK(str(d[1].values) == U"X");
}

namespace {

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

} // namespace

TEST_CASE("sequence versions: the visibility classifier is sound on random run ranges") {
    // For random ranges of consecutive runs (what a subtree holds), the fold
    // of their summaries may be skipped only if no element is visible at V,
    // and taken whole only if every element is visible at V exactly when it
    // is visible now.
    using engine_t = std::remove_cvref_t<decltype(std::declval<seq_t>().engine())>;
    using traits = crdt::detail::seq::run_traits;
    const std::uint64_t seed = crdt_test::seed(72);
    CAPTURE(seed);
    std::mt19937_64 rng(seed);
    seq_t a(crdt::agent_id("a"));
    seq_t b(crdt::agent_id("b"));
    std::vector<seq_t::version_type> versions;
    std::vector<seq_t::op> ops_a;
    for (int step = 0; step < 200; ++step) {
        seq_t& s = rng() % 2 == 0 ? a : b;
        if (s.size() == 0 || rng() % 3 != 0) {
            const std::u32string ins(1 + rng() % 3, char32_t(U'a' + rng() % 26));
            auto o = s.insert(static_cast<std::size_t>(rng() % (s.size() + 1)),
                              std::span<const char32_t>(ins.data(), ins.size()));
            if (&s == &a) {
                ops_a.push_back(*o);
            } else {
                a.apply(*o);
            }
        } else {
            const std::size_t pos = static_cast<std::size_t>(rng() % s.size());
            for (auto& o : s.erase(pos, 1)) {
                if (&s == &a) {
                    ops_a.push_back(o);
                } else {
                    a.apply(o);
                }
            }
        }
        if (rng() % 5 == 0) {
            for (const auto& o : ops_a) {
                b.apply(o);
            }
        }
        versions.push_back(a.version());
        versions.push_back(b.version());
    }
    std::vector<crdt::detail::seq::run> runs;
    a.engine().tree().for_each([&](const crdt::detail::seq::run& r) { runs.push_back(r); });
    std::size_t decided = 0;
    for (int q = 0; q < 300; ++q) {
        const auto set = lvs_of(a, versions[rng() % versions.size()]);
        std::size_t i = static_cast<std::size_t>(rng() % runs.size());
        std::size_t j = std::min(runs.size(), i + 1 + static_cast<std::size_t>(rng() % 8));
        auto hot = traits::zero();
        auto cold = traits::zero_cold();
        for (std::size_t k = i; k < j; ++k) {
            traits::combine(hot, traits::summarize(runs[k]));
            traits::combine_cold(cold, traits::summarize_cold(runs[k]));
        }
        const auto v = engine_t::classify(hot, cold, set);
        if (v == crdt::btree::visit::descend) {
            continue;
        }
        ++decided;
        for (std::size_t k = i; k < j; ++k) {
            for (crdt::detail::seq::lv_t x = runs[k].lv; x < runs[k].lv + runs[k].len; ++x) {
                const bool at_v = a.engine().visible_at(x, set);
                if (v == crdt::btree::visit::skip) {
                    REQUIRE_FALSE(at_v);
                } else {
                    REQUIRE(at_v == (runs[k].deleted == 0));
                }
            }
        }
    }
    CHECK(decided > 0);
}

#if CRDT_SEQUENCE_HAVE_SHARED_DATA
TEST_CASE("sequence versions: automerge-paper prefix at 1%, 10%, 50% and 100% of its history") {
    namespace traces = crdt_test::traces;
    const auto trace =
        traces::load_sequential_trace(traces::shared_dir() + "/traces/automerge-paper.json.gz");
    const std::size_t n = 6000;
    seq_t s(crdt::agent_id("agent"));
    std::u32string plain;
    std::vector<std::pair<seq_t::version_type, std::u32string>> checkpoints;
    for (std::size_t t = 0; t < n; ++t) {
        for (const auto& p : trace.txns[t].patches) {
            traces::apply_patch(plain, p);
            if (p.del > 0) {
                s.erase(p.pos, p.del);
            }
            if (!p.ins.empty()) {
                s.insert(p.pos, std::span<const char32_t>(p.ins.data(), p.ins.size()));
            }
        }
        if (t + 1 == n / 100 || t + 1 == n / 10 || t + 1 == n / 2 || t + 1 == n) {
            checkpoints.emplace_back(s.version(), plain);
        }
    }
    REQUIRE(checkpoints.size() == 4);
    for (std::size_t i = 0; i < checkpoints.size(); ++i) {
        CAPTURE(i);
        REQUIRE(str(s.content_at(checkpoints[i].first)) == checkpoints[i].second);
        if (i > 0) {
            std::u32string before;
            std::u32string after;
            for (const auto& e : s.diff(checkpoints[i - 1].first, checkpoints[i].first)) {
                if (e.kind != seq_t::edit_kind::insert) {
                    before.append(e.values.begin(), e.values.end());
                }
                if (e.kind != seq_t::edit_kind::erase) {
                    after.append(e.values.begin(), e.values.end());
                }
            }
            REQUIRE(before == checkpoints[i - 1].second);
            REQUIRE(after == checkpoints[i].second);
        }
    }
    s.verify();
}
#endif

TEST_CASE("sequence anchors: stick to their element through concurrent edits") {
    const std::uint64_t seed = crdt_test::seed(73);
    CAPTURE(seed);
    std::mt19937_64 rng(seed);
    seq_t a(crdt::agent_id("a"));
    seq_t b(crdt::agent_id("b"));
    const std::u32string init = U"0123456789";
    b.apply(*a.insert(0, std::span<const char32_t>(init.data(), init.size())));
    std::vector<seq_t::anchor> anchors;
    for (std::size_t p = 0; p <= init.size(); ++p) {
        anchors.push_back(a.anchor_at(p, crdt::anchor_bias::left));
        anchors.push_back(a.anchor_at(p, crdt::anchor_bias::right));
    }
    for (int step = 0; step < 150; ++step) {
        seq_t& s = rng() % 2 == 0 ? a : b;
        seq_t& other = &s == &a ? b : a;
        if (s.size() == 0 || rng() % 3 != 0) {
            const std::u32string ins(1 + rng() % 3, char32_t(U'a' + rng() % 26));
            other.apply(*s.insert(static_cast<std::size_t>(rng() % (s.size() + 1)),
                                  std::span<const char32_t>(ins.data(), ins.size())));
        } else {
            for (auto& o : s.erase(static_cast<std::size_t>(rng() % s.size()), 1)) {
                other.apply(o);
            }
        }
        std::size_t prev = 0;
        for (const auto& an : anchors) {
            const std::size_t p = a.position(an);
            REQUIRE(p <= a.size());
            REQUIRE(p == b.position(an)); // replicas agree
            REQUIRE(p >= prev);           // anchors keep their order
            prev = p;
            if (an.id && a.contains(*an.id)) {
                // A visible element is found at (right) or just before (left).
                const std::size_t at = an.bias == crdt::anchor_bias::left ? p - 1 : p;
                if (p > 0 || an.bias == crdt::anchor_bias::right) {
                    if (at < a.size() && a.id_at(at) == *an.id) {
                        continue;
                    }
                }
                // Otherwise the element is deleted: no visible element has its id.
                for (std::size_t k = 0; k < a.size(); ++k) {
                    REQUIRE_FALSE(a.id_at(k) == *an.id);
                }
            }
        }
    }
}
