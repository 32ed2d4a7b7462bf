// Tests of crdt::sequence (phase 1 of issue 5): FugueMax ordering against the
// shared conformance cases and the reference model, run-length storage,
// remote ops in any order with buffering, the shared editing traces.
#include <crdt/sequence.hpp>

#include "../support/fugue_model.hpp"
#include "../support/seed.hpp"
#include "../support/traces.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace {

using seq_t = crdt::sequence<char32_t>;
using crdt_test::fugue::model;
namespace traces = crdt_test::traces;

seq_t::dot_type dot(const crdt_test::fugue::op_id& id) {
    return {crdt::agent_id(id.agent), id.seq + 1}; // model seqs start at 0, ours at 1
}

/// Converts a reference-model op to a sequence op.
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

std::u32string text_of(const seq_t& s) {
    const std::vector<char32_t> v = s.content();
    return std::u32string(v.begin(), v.end());
}

std::string utf8(const std::u32string& s) {
    return traces::to_utf8(s);
}

/// Replays a conformance case in the reference model on branches (each txn
/// at its parents' version); returns the model with every op.
model model_of_case(const traces::conformance_case& c) {
    std::vector<crdt_test::fugue::op_id> ids;
    std::vector<std::size_t> txn_of;
    std::vector<crdt_test::fugue::version> start;
    const auto closure = [&](std::size_t lv) {
        const std::size_t t = txn_of.at(lv);
        crdt_test::fugue::version v = start[t];
        for (std::size_t k = c.txns[t].span_start; k <= lv; ++k) {
            v.insert(ids[k]);
        }
        return v;
    };
    model main;
    for (std::size_t t = 0; t < c.txns.size(); ++t) {
        const auto& txn = c.txns[t];
        crdt_test::fugue::version v;
        for (const std::size_t p : txn.parents) {
            v.merge(closure(p));
        }
        start.push_back(v);
        for (std::size_t lv = txn.span_start; lv < txn.span_end; ++lv) {
            ids.push_back({txn.agent, txn.seq_start + (lv - txn.span_start)});
            txn_of.push_back(t);
        }
        model branch = main.fork_at(v);
        std::size_t lv = txn.span_start;
        for (const traces::patch& p : txn.ops) {
            for (std::size_t k = 0; k < p.del; ++k, ++lv) {
                branch.local_erase(ids[lv], p.pos);
            }
            for (std::size_t k = 0; k < p.ins.size(); ++k, ++lv) {
                branch.local_insert(ids[lv], p.pos + k, p.ins[k]);
            }
        }
        main.merge(branch);
    }
    return main;
}

} // namespace

TEST_CASE("sequence: local edits, run-length storage") {
    seq_t s(crdt::agent_id("a"));
    const std::u32string hello = U"hello";
    s.insert(0, std::span<const char32_t>(hello.data(), hello.size()));
    for (char32_t c : std::u32string(U" world")) {
        s.insert(s.size(), c);
    }
    CHECK(text_of(s) == U"hello world");
    CHECK(s.engine().tree().statistics().items == 1); // typing extends one run
    s.insert(5, U',');
    CHECK(text_of(s) == U"hello, world");
    CHECK(s.engine().tree().statistics().items == 3); // split + new run
    const auto ops = s.erase(3, 4);
    CHECK(ops.size() == 3); // "lo", ",", " w": three target runs
    CHECK(text_of(s) == U"helworld");
    CHECK_THROWS_AS(s.erase(7, 2), crdt::error);
    CHECK_THROWS_AS(s.insert(9, U'x'), crdt::error);
    s.verify();
}

TEST_CASE("sequence: concurrent runs at one place never interleave") {
    seq_t a(crdt::agent_id("a"));
    seq_t b(crdt::agent_id("b"));
    std::vector<seq_t::op> from_a;
    std::vector<seq_t::op> from_b;
    for (std::size_t i = 0; i < 3; ++i) {
        from_a.push_back(a.insert(i, char32_t(U'1' + i)));
        from_b.push_back(b.insert(i, char32_t(U'x' + i)));
    }
    for (const auto& o : from_b) {
        a.apply(o);
    }
    for (auto it = from_a.rbegin(); it != from_a.rend(); ++it) {
        b.apply(*it); // reverse order: buffered until predecessors arrive
    }
    CHECK(b.buffered() == 0);
    CHECK(text_of(a) == U"123xyz"); // "a" < "b": a's run first
    CHECK(text_of(b) == text_of(a));
    CHECK_FALSE(a.apply(from_b[1])); // idempotent
    a.verify();
    b.verify();
}

TEST_CASE("sequence: bad remote ops raise crdt::error and change nothing") {
    seq_t a(crdt::agent_id("a"));
    const auto ins = a.insert(0, U'x');
    const auto del = a.erase(0, 1);
    seq_t b(crdt::agent_id("b"));
    b.apply(ins);
    b.apply(del.front());
    const auto cause = [&](const seq_t::op& o) {
        try {
            b.apply(o);
        } catch (const crdt::error& e) {
            return e.cause();
        }
        return crdt::errc{};
    };
    const auto d = [](const char* r, std::uint64_t c) {
        return seq_t::dot_type{crdt::agent_id(r), c};
    };
    CHECK(cause(seq_t::insert_op{d("c", 1), std::nullopt, std::nullopt, {}}) ==
          crdt::errc::invalid_value); // empty
    CHECK(cause(seq_t::insert_op{d("c", 1), d("a", 2), std::nullopt, {U'q'}}) ==
          crdt::errc::invalid_value); // origin is a delete
    CHECK(cause(seq_t::erase_op{d("c", 1), d("a", 2), 1}) == crdt::errc::invalid_value);
    CHECK(cause(seq_t::erase_op{d("c", 1), d("a", 1), ~std::uint64_t{0}}) ==
          crdt::errc::invalid_value); // counter range overflows
    CHECK(cause(seq_t::insert_op{d("c", 0), std::nullopt, std::nullopt, {U'q'}}) ==
          crdt::errc::invalid_value); // counters start at 1
    CHECK(b.size() == 0);
    CHECK_FALSE(b.contains(d("c", 1)));
    // A buffered op found invalid when its predecessor arrives is dropped.
    CHECK(b.apply(seq_t::insert_op{d("c", 2), d("a", 2), std::nullopt, {U'q'}}));
    CHECK(b.buffered() == 1);
    CHECK(cause(seq_t::insert_op{d("c", 1), std::nullopt, std::nullopt, {U'p'}}) ==
          crdt::errc::invalid_value);
    CHECK(b.buffered() == 0);
    CHECK(b.contains(d("c", 1))); // the valid op stays applied
    b.verify();
}

TEST_CASE("sequence: random edits and delivery orders converge with the model") {
    const std::uint64_t seed = crdt_test::seed(51);
    CAPTURE(seed);
    std::mt19937_64 rng(seed);
    for (int round = 0; round < 6; ++round) {
        const std::size_t n = 2 + static_cast<std::size_t>(rng() % 4);
        std::vector<model> models(n);
        std::vector<seq_t> seqs;
        std::vector<std::string> names;
        for (std::size_t r = 0; r < n; ++r) {
            names.push_back(std::string(1, static_cast<char>('a' + (rng() % 26))) +
                            std::to_string(r));
            seqs.emplace_back(crdt::agent_id(names.back()));
        }
        for (int step = 0; step < 60; ++step) {
            const std::size_t r = static_cast<std::size_t>(rng() % n);
            model& m = models[r];
            const std::size_t len = m.content().size();
            if (len == 0 || rng() % 3 != 0) {
                const std::size_t pos = static_cast<std::size_t>(rng() % (len + 1));
                const std::size_t k = 1 + static_cast<std::size_t>(rng() % 3);
                std::u32string ins;
                for (std::size_t i = 0; i < k; ++i) {
                    ins.push_back(char32_t(U'a' + rng() % 26));
                }
                m.insert(names[r], pos, ins);
                seqs[r].insert(pos, std::span<const char32_t>(ins.data(), ins.size()));
            } else {
                const std::size_t pos = static_cast<std::size_t>(rng() % len);
                const std::size_t k =
                    1 + static_cast<std::size_t>(rng() % std::min<std::size_t>(3, len - pos));
                m.erase(names[r], pos, k);
                seqs[r].erase(pos, k);
            }
            REQUIRE(utf8(text_of(seqs[r])) == utf8(m.content()));
            seqs[r].verify();
            if (rng() % 4 == 0) { // sync a random pair through the model's ops
                const std::size_t to = static_cast<std::size_t>(rng() % n);
                std::vector<crdt_test::fugue::op> log = models[r].log();
                std::shuffle(log.begin(), log.end(), rng);
                for (const auto& o : log) {
                    seqs[to].apply(convert(o));
                }
                models[to].merge(models[r]);
                REQUIRE(seqs[to].buffered() == 0);
                REQUIRE(utf8(text_of(seqs[to])) == utf8(models[to].content()));
                seqs[to].verify();
            }
        }
        model all;
        for (const model& m : models) {
            all.merge(m);
        }
        for (std::size_t r = 0; r < n; ++r) {
            std::vector<crdt_test::fugue::op> log = all.log();
            std::shuffle(log.begin(), log.end(), rng);
            for (const auto& o : log) {
                seqs[r].apply(convert(o));
                seqs[r].apply(convert(o)); // duplicates are ignored
            }
            CHECK(seqs[r].buffered() == 0);
            CHECK(utf8(text_of(seqs[r])) == utf8(all.content()));
            seqs[r].verify();
        }
    }
}

#if CRDT_SEQUENCE_HAVE_SHARED_DATA

namespace {

const std::vector<traces::conformance_case>& conformance_cases() {
    static const auto cases =
        traces::load_conformance(traces::shared_dir() + "/conformance/fuguemax-300.json.gz");
    return cases;
}

/// Cases [begin, end): the reference model makes each case's ops (local
/// edits on branches at the parents' versions); the sequence integrates them
/// by id, in log order and in a random order (buffering), and must give
/// exactly endContent.
void check_conformance(std::size_t begin, std::size_t end) {
    const auto& cases = conformance_cases();
    REQUIRE(cases.size() == 300);
    const std::uint64_t seed = crdt_test::seed(52 + begin);
    CAPTURE(seed);
    std::mt19937_64 rng(seed);
    for (std::size_t i = begin; i < end; ++i) {
        CAPTURE(i);
        const model m = model_of_case(cases[i]);
        seq_t in_order(crdt::agent_id("reader"));
        for (const auto& o : m.log()) {
            in_order.apply(convert(o));
        }
        seq_t shuffled(crdt::agent_id("reader"));
        std::vector<crdt_test::fugue::op> log = m.log();
        std::shuffle(log.begin(), log.end(), rng);
        for (const auto& o : log) {
            shuffled.apply(convert(o));
        }
        REQUIRE(utf8(text_of(in_order)) == utf8(cases[i].end_content));
        REQUIRE(utf8(text_of(shuffled)) == utf8(cases[i].end_content));
        REQUIRE(shuffled.buffered() == 0);
        in_order.verify();
        shuffled.verify();
    }
}

/// Replays the first `limit` transactions of a sequential trace locally and
/// into a plain string; they must agree (and give endContent when complete).
void replay_sequential(const char* name, std::size_t limit) {
    const auto trace =
        traces::load_sequential_trace(traces::shared_dir() + "/traces/" + name + ".json.gz");
    seq_t s(crdt::agent_id("agent"));
    std::u32string plain;
    const std::size_t n = std::min(limit, trace.txns.size());
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
    }
    REQUIRE(utf8(text_of(s)) == utf8(plain));
    if (n == trace.txns.size()) {
        REQUIRE(utf8(text_of(s)) == utf8(trace.end_content));
    }
    s.verify();
}

} // namespace

TEST_CASE("sequence: fuguemax-300 conformance, cases 0-29") {
    check_conformance(0, 30);
}
TEST_CASE("sequence: fuguemax-300 conformance, cases 30-59") {
    check_conformance(30, 60);
}
TEST_CASE("sequence: fuguemax-300 conformance, cases 60-89") {
    check_conformance(60, 90);
}
TEST_CASE("sequence: fuguemax-300 conformance, cases 90-119") {
    check_conformance(90, 120);
}
TEST_CASE("sequence: fuguemax-300 conformance, cases 120-149") {
    check_conformance(120, 150);
}
TEST_CASE("sequence: fuguemax-300 conformance, cases 150-179") {
    check_conformance(150, 180);
}
TEST_CASE("sequence: fuguemax-300 conformance, cases 180-209") {
    check_conformance(180, 210);
}
TEST_CASE("sequence: fuguemax-300 conformance, cases 210-239") {
    check_conformance(210, 240);
}
TEST_CASE("sequence: fuguemax-300 conformance, cases 240-269") {
    check_conformance(240, 270);
}
TEST_CASE("sequence: fuguemax-300 conformance, cases 270-299") {
    check_conformance(270, 300);
}

TEST_CASE("sequence: automerge-paper prefix replays like a plain string") {
    replay_sequential("automerge-paper", 6000);
}

TEST_CASE("sequence: seph-blog1 prefix replays like a plain string") {
    replay_sequential("seph-blog1", 4000);
}

TEST_CASE("sequence: automerge-paper replayed gives endContent", "[.][traces]") {
    replay_sequential("automerge-paper", std::size_t(-1));
}

TEST_CASE("sequence: seph-blog1 replayed gives endContent", "[.][traces]") {
    replay_sequential("seph-blog1", std::size_t(-1));
}

TEST_CASE("sequence: friendsforever merged along its parents", "[.][traces]") {
    // The reference model makes the ops (local edits at each txn's parents'
    // version); the sequence integrates them by id.
    const auto trace =
        traces::load_concurrent_trace(traces::shared_dir() + "/traces/friendsforever.json.gz");
    model m;
    std::vector<crdt_test::fugue::version> end_version;
    for (const auto& txn : trace.txns) {
        crdt_test::fugue::version v;
        for (const std::size_t parent : txn.parents) {
            v.merge(end_version[parent]);
        }
        const std::string agent = "agent" + std::to_string(txn.agent);
        for (const auto& p : txn.patches) {
            for (std::size_t k = 0; k < p.del; ++k) {
                const crdt_test::fugue::op_id id{agent, m.next_seq(agent)};
                m.local_erase(id, p.pos, &v);
                v.insert(id);
            }
            for (std::size_t k = 0; k < p.ins.size(); ++k) {
                const crdt_test::fugue::op_id id{agent, m.next_seq(agent)};
                m.local_insert(id, p.pos + k, p.ins[k], &v);
                v.insert(id);
            }
        }
        end_version.push_back(std::move(v));
    }
    seq_t s(crdt::agent_id("reader"));
    for (const auto& o : m.log()) {
        s.apply(convert(o));
    }
    CHECK(utf8(text_of(s)) == utf8(trace.end_content));
    s.verify();
}

#endif

TEST_CASE("sequence: a long history delivered backwards waits, then applies in one pass") {
    // Every op but the first waits for its predecessor; each buffered op is
    // filed under the op it misses, so the arrival of the first one applies
    // the rest in one pass (a list retried on every arrival would make this
    // quadratic: 8,000 ops, 32 million retries).
    seq_t writer(crdt::agent_id("w"));
    std::vector<seq_t::op> ops;
    std::mt19937_64 rng(crdt_test::seed(53));
    for (int i = 0; i < 8000; ++i) {
        const std::size_t len = writer.size();
        if (len > 10 && rng() % 4 == 0) {
            for (auto& o : writer.erase(static_cast<std::size_t>(rng() % len), 1)) {
                ops.push_back(std::move(o));
            }
        } else {
            ops.push_back(writer.insert(static_cast<std::size_t>(rng() % (len + 1)),
                                        char32_t(U'a' + rng() % 26)));
        }
    }
    seq_t reader(crdt::agent_id("r"));
    for (std::size_t i = ops.size(); i-- > 1;) {
        REQUIRE(reader.apply(ops[i]));
    }
    CHECK(reader.size() == 0);
    CHECK(reader.buffered() == ops.size() - 1);
    reader.apply(ops[0]);
    CHECK(reader.buffered() == 0);
    CHECK(text_of(reader) == text_of(writer));
    CHECK(reader.version() == writer.version());
    reader.verify();
    // The same through merge: one delta holding the ops backwards.
    seq_t::delta_type d;
    d.ops.assign(ops.rbegin(), ops.rend());
    seq_t merged(crdt::agent_id("m"));
    merged.merge(d);
    CHECK(merged.buffered() == 0);
    CHECK(text_of(merged) == text_of(writer));
    merged.verify();
}

TEST_CASE("sequence: remote typing extends one run, as local typing does") {
    seq_t a(crdt::agent_id("a"));
    seq_t b(crdt::agent_id("b"));
    for (char32_t i = 0; i < 100; ++i) {
        b.apply(a.insert(a.size(), char32_t(U'a' + i % 26)));
    }
    CHECK(a.engine().summary().runs == 1);
    CHECK(b.engine().summary().runs == 1);
    CHECK(text_of(b) == text_of(a));
    // A concurrent insert at the same place is a run of its own; typing on
    // after it extends that run.
    seq_t c(crdt::agent_id("c"));
    c.merge(a.delta_since({}));
    const auto x = c.insert(50, U'X');
    const auto y = c.insert(51, U'Y');
    b.apply(x);
    b.apply(y);
    CHECK(b.engine().summary().runs == 3);
    b.verify();
    CHECK(text_of(b) == text_of(c));
}

TEST_CASE("sequence: typing on (the remembered run) places text and origins right") {
    // Mostly typing on at the caret, with backspaces, jumps, remote ops,
    // and forks that type and are merged back in between: every local edit
    // is checked against a string, every insert's op against the one a copy
    // (which starts without the remembered run) makes, and every op made is
    // replayed on a mirror, which must end equal.
    const std::uint64_t seed = crdt_test::seed(53);
    CAPTURE(seed);
    std::mt19937_64 rng(seed);
    const auto letter = [&] { return char32_t(U'a' + rng() % 26); };
    for (int round = 0; round < 12; ++round) {
        seq_t a(crdt::agent_id("a"));
        seq_t b(crdt::agent_id("b"));
        seq_t mirror(crdt::agent_id("m"));
        std::vector<seq_t::op> from_b; // b's ops not yet delivered to a
        std::size_t caret = 0;
        int forks = 0;
        for (int step = 0; step < 300; ++step) {
            CAPTURE(round, step, caret);
            const std::size_t len = a.size();
            caret = std::min(caret, len);
            const auto what = rng() % 20;
            std::u32string expect(text_of(a));
            if (what < 13 || len == 0) { // type on at the caret (sometimes two)
                std::u32string ins(1 + rng() % 4 / 3, U'x');
                for (char32_t& c : ins) {
                    c = letter();
                }
                // A copy starts without the remembered run: it takes the
                // slow path, and must make the same op.
                seq_t slow = a;
                const auto o = a.insert(caret, std::span<const char32_t>(ins.data(), ins.size()));
                REQUIRE(o == slow.insert(caret, std::span<const char32_t>(ins.data(), ins.size())));
                mirror.apply(*o);
                expect.insert(caret, ins);
                caret += ins.size();
            } else if (what < 15 && caret > 0) { // backspace
                for (const auto& o : a.erase(caret - 1, 1)) {
                    mirror.apply(o);
                }
                expect.erase(caret - 1, 1);
                --caret;
            } else if (what < 17) { // jump
                caret = static_cast<std::size_t>(rng() % (len + 1));
                continue;
            } else if (what < 19) { // b types somewhere; a gets it now or later
                const std::size_t p = static_cast<std::size_t>(rng() % (b.size() + 1));
                const char32_t c = letter();
                from_b.push_back(b.insert(p, c));
                mirror.apply(from_b.back());
                if (rng() % 2 == 0) {
                    for (const auto& o : from_b) {
                        a.apply(o);
                    }
                    from_b.clear();
                }
                a.verify();
                continue;
            } else { // a fork types on at the caret, then is merged back
                seq_t f = a.fork(crdt::agent_id("f" + std::to_string(forks++)));
                for (int k = 0; k < 3; ++k) {
                    mirror.apply(f.insert(caret + static_cast<std::size_t>(k), letter()));
                }
                REQUIRE(text_of(a) == expect); // the fork's edits left a alone
                a.merge(f);
                a.verify();
                continue;
            }
            REQUIRE(utf8(text_of(a)) == utf8(expect));
            a.verify();
        }
        for (const auto& o : from_b) {
            a.apply(o);
        }
        b.merge(a);
        REQUIRE(utf8(text_of(a)) == utf8(text_of(mirror)));
        REQUIRE(utf8(text_of(b)) == utf8(text_of(mirror)));
        mirror.verify();
    }
}
