// Tests of branches of crdt::sequence and crdt::text (issue 5): fork() and
// fork_at() share one op store, edit independently and merge back; checked
// against the FugueMax reference model (tests/support/fugue_model.hpp), whose
// fork_at/merge are the definition, and against the shared conformance cases
// replayed through fork_at + local edits + merge.
#include <crdt/sequence.hpp>
#include <crdt/text.hpp>

#include "../support/fugue_model.hpp"
#include "../support/seed.hpp"
#include "../support/traces.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <random>
#include <span>
#include <string>
#include <vector>

namespace {

using seq_t = crdt::sequence<char32_t>;
using crdt_test::fugue::model;
namespace traces = crdt_test::traces;

std::string text_of(const seq_t& s) {
    const std::vector<char32_t> v = s.content();
    return traces::to_utf8(std::u32string(v.begin(), v.end()));
}

void insert(seq_t& s, std::size_t pos, std::u32string_view text) {
    s.insert(pos, std::span<const char32_t>(text.data(), text.size()));
}

/// The model's version as a version vector (model seqs start at 0, ours at 1).
seq_t::version_type to_vv(const model& m, const std::vector<std::string>& agents) {
    seq_t::version_type v;
    for (const std::string& a : agents) {
        if (const std::uint64_t n = m.next_seq(a); n > 0) {
            v.set(crdt::agent_id(a), n);
        }
    }
    return v;
}

/// One branch under test: the sequence, the model it must match, its agent.
struct branch {
    seq_t seq;
    model m;
    std::string agent;
};

} // namespace

TEST_CASE("sequence branches: fork edits independently and merges back") {
    seq_t main(crdt::agent_id("m"));
    insert(main, 0, U"hello world");
    seq_t b = main.fork(crdt::agent_id("b"));
    CHECK(b.shares_history(main));
    CHECK(text_of(b) == "hello world");
    CHECK(b.version() == main.version());
    CHECK(b.self() == crdt::agent_id("b"));

    insert(b, 5, U",");
    b.erase(0, 1);
    insert(b, 0, U"H");
    insert(main, 11, U"!");
    main.erase(6, 5);
    insert(main, 6, U"there");
    CHECK(text_of(b) == "Hello, world");
    CHECK(text_of(main) == "hello there!");
    main.verify();
    b.verify();

    // Both directions give the same document, equal to what two replicas
    // exchanging deltas (no shared store) give.
    seq_t b2 = b.fork(crdt::agent_id("b2"));
    main.merge(b);
    b2.merge(main);
    CHECK(text_of(main) == text_of(b2));
    CHECK(main.version() == b2.version());
    seq_t separate(crdt::agent_id("x"));
    separate.merge(main.delta_since({}));
    CHECK(!separate.shares_history(main));
    CHECK(text_of(separate) == text_of(main));
    CHECK(text_of(main) == "Hello, there!");
    main.verify();
    b2.verify();
    separate.verify();

    // Merging again (or the other way, or itself) changes nothing.
    const auto v = main.version();
    main.merge(b);
    main.merge(main);
    CHECK(main.version() == v);

    // A copy shares nothing with the original.
    seq_t copy = main;
    CHECK(!copy.shares_history(main));
    insert(copy, 0, U">");
    CHECK(text_of(main) == "Hello, there!");
    CHECK(text_of(copy) == ">Hello, there!");
    copy.verify();
}

TEST_CASE("sequence branches: two branches never edit as one replica") {
    seq_t main(crdt::agent_id("a"));
    insert(main, 0, U"abc");
    // A fork may keep a replica id whose ops it holds, but then only one of
    // the two branches can go on editing as it.
    seq_t same = main.fork(crdt::agent_id("a"));
    insert(same, 3, U"d");
    CHECK_THROWS_AS(insert(main, 0, U"x"), crdt::error);
    CHECK_THROWS_AS(main.erase(0, 1), crdt::error);
    CHECK(text_of(main) == "abc"); // nothing changed
    CHECK_THROWS_AS(main.fork(crdt::agent_id("a")), crdt::error);
    main.merge(same); // holding every op of "a" again, main may edit as "a"
    insert(main, 0, U"x");
    CHECK(text_of(main) == "xabcd");
    CHECK_THROWS_AS(insert(same, 0, U"y"), crdt::error);
    main.verify();
    same.verify();
    // fork_at a version without some of "a"'s ops cannot edit as "a".
    const auto v = main.version();
    seq_t::version_type old;
    old.set(crdt::agent_id("a"), 2);
    CHECK_THROWS_AS(main.fork_at(old, crdt::agent_id("a")), crdt::error);
    CHECK(main.version() == v);
}

TEST_CASE("sequence branches: fork_at gives the document at that version") {
    seq_t s(crdt::agent_id("a"));
    std::vector<seq_t::version_type> versions{s.version()};
    std::vector<std::string> contents{text_of(s)};
    insert(s, 0, U"the quick fox");
    versions.push_back(s.version());
    contents.push_back(text_of(s));
    insert(s, 10, U"brown ");
    versions.push_back(s.version());
    contents.push_back(text_of(s));
    s.erase(4, 6);
    versions.push_back(s.version());
    contents.push_back(text_of(s));
    for (std::size_t i = 0; i < versions.size(); ++i) {
        CAPTURE(i);
        seq_t past = s.fork_at(versions[i], crdt::agent_id("p" + std::to_string(i)));
        CHECK(text_of(past) == contents[i]);
        CHECK(past.version() == versions[i]);
        CHECK(past.shares_history(s));
        past.verify();
        // Positions resolve against the branch's own content.
        insert(past, past.size(), U"#");
        CHECK(text_of(past) == contents[i] + "#");
        past.verify();
        // The branch's delta from nothing rebuilds it elsewhere.
        seq_t fresh(crdt::agent_id("z"));
        fresh.merge(past.delta_since({}));
        CHECK(text_of(fresh) == text_of(past));
        fresh.verify();
    }
    // A version that is not causally closed: b's op depends on a's.
    seq_t other = s.fork(crdt::agent_id("b"));
    insert(other, 0, U"!");
    seq_t::version_type open;
    open.set(crdt::agent_id("b"), 1);
    CHECK_THROWS_AS(other.fork_at(open, crdt::agent_id("c")), crdt::error);
    // Ops of the version this branch does not hold are ignored.
    seq_t::version_type ahead = s.version();
    ahead.set(crdt::agent_id("b"), 1);
    CHECK(text_of(s.fork_at(ahead, crdt::agent_id("d"))) == text_of(s));
}

TEST_CASE("sequence branches: an id is an insert on one branch and a delete on another") {
    seq_t main(crdt::agent_id("a"));
    insert(main, 0, U"ab");
    seq_t b = main.fork(crdt::agent_id("b"));
    const auto a1 = seq_t::dot_type{crdt::agent_id("a"), 1};
    // A malformed peer gives (z, 1) as an insert to main and as an erase to b.
    main.apply(seq_t::insert_op{{crdt::agent_id("z"), 1}, a1, std::nullopt, {U'x'}});
    CHECK(text_of(main) == "abx");
    const auto v = b.version();
    CHECK_THROWS_AS(b.apply(seq_t::erase_op{{crdt::agent_id("z"), 1}, a1, 1}), crdt::error);
    seq_t::delta_type d;
    d.ops.emplace_back(seq_t::erase_op{{crdt::agent_id("z"), 1}, a1, 1});
    CHECK_THROWS_AS(b.merge(d), crdt::error);
    CHECK(b.version() == v);
    CHECK(text_of(b) == "ab");
    b.verify();
    // The same op arriving at b reuses main's ids and elements.
    b.apply(seq_t::insert_op{{crdt::agent_id("z"), 1}, a1, std::nullopt, {U'x'}});
    CHECK(text_of(b) == "abx");
    b.verify();
}

TEST_CASE("sequence branches: random forks, past forks, edits and merges match the model") {
    const std::uint64_t seed = crdt_test::seed(61);
    CAPTURE(seed);
    std::mt19937_64 rng(seed);
    for (int round = 0; round < 8; ++round) {
        CAPTURE(round);
        std::vector<std::string> agents{"m"};
        std::vector<branch> bs;
        bs.push_back({seq_t(crdt::agent_id("m")), model{}, "m"});
        // Versions seen on branch 0's line, with the model's state then.
        std::vector<std::pair<seq_t::version_type, model>> history;
        for (int step = 0; step < 80; ++step) {
            CAPTURE(step);
            const std::size_t r = static_cast<std::size_t>(rng() % bs.size());
            branch& b = bs[r];
            const auto dice = rng() % 10;
            if (dice < 5) {
                const std::size_t len = b.m.content().size();
                if (len == 0 || rng() % 3 != 0) {
                    const std::size_t pos = static_cast<std::size_t>(rng() % (len + 1));
                    std::u32string ins;
                    for (std::size_t i = 0, k = 1 + rng() % 4; i < k; ++i) {
                        ins.push_back(char32_t(U'a' + rng() % 26));
                    }
                    b.m.insert(b.agent, pos, ins);
                    insert(b.seq, pos, ins);
                } else {
                    const std::size_t pos = static_cast<std::size_t>(rng() % len);
                    const std::size_t k =
                        1 + static_cast<std::size_t>(rng() % std::min<std::size_t>(4, len - pos));
                    b.m.erase(b.agent, pos, k);
                    b.seq.erase(pos, k);
                }
            } else if (dice < 7 && bs.size() < 6) {
                const std::string name = "b" + std::to_string(agents.size());
                agents.push_back(name);
                if (rng() % 2 == 0 || history.empty()) {
                    bs.push_back({b.seq.fork(crdt::agent_id(name)), b.m.fork(), name});
                } else {
                    const auto& [vv, m] = history[rng() % history.size()];
                    seq_t past = bs[0].seq.fork_at(vv, crdt::agent_id(name));
                    REQUIRE(past.version() == vv);
                    bs.push_back({std::move(past), m, name});
                }
            } else {
                const std::size_t from = static_cast<std::size_t>(rng() % bs.size());
                b.seq.merge(bs[from].seq);
                b.m.merge(bs[from].m);
            }
            branch& now = bs[r];
            REQUIRE(text_of(now.seq) == traces::to_utf8(now.m.content()));
            REQUIRE(now.seq.version() == to_vv(now.m, agents));
            now.seq.verify();
            const branch& last = bs.back();
            REQUIRE(text_of(last.seq) == traces::to_utf8(last.m.content()));
            last.seq.verify();
            if (r == 0) {
                history.emplace_back(bs[0].seq.version(), bs[0].m);
            }
            // content_at on a branch agrees with the model at past versions.
            if (!history.empty() && rng() % 4 == 0) {
                const auto& [vv, m] = history[rng() % history.size()];
                const auto got = bs[0].seq.content_at(vv);
                REQUIRE(traces::to_utf8(std::u32string(got.begin(), got.end())) ==
                        traces::to_utf8(bs[0].m.content_at(m.current_version())));
            }
        }
        // Everything merged into every branch converges, equal to the model.
        model all;
        for (const branch& b : bs) {
            all.merge(b.m);
        }
        for (std::size_t i = 0; i < bs.size(); ++i) {
            for (const branch& b : bs) {
                bs[i].seq.merge(b.seq);
            }
        }
        for (const branch& b : bs) {
            CHECK(text_of(b.seq) == traces::to_utf8(all.content()));
            CHECK(b.seq.version() == to_vv(all, agents));
            b.seq.verify();
        }
        // A replica outside the document rebuilt from one branch's history.
        seq_t fresh(crdt::agent_id("zz"));
        fresh.merge(bs.back().seq.delta_since({}));
        CHECK(text_of(fresh) == traces::to_utf8(all.content()));
        fresh.verify();
    }
}

TEST_CASE("text branches: fork, edit in UTF-8, merge") {
    crdt::text t(crdt::agent_id("a"));
    t.insert(0, "na\xC3\xAFve caf\xC3\xA9");
    const auto v0 = t.version();
    crdt::text b = t.fork(crdt::agent_id("b"));
    b.insert(0, "\xF0\x9F\x98\x80 ");
    t.erase(0, 6);
    t.merge(b);
    CHECK(t.str() == "\xF0\x9F\x98\x80 caf\xC3\xA9");
    crdt::text past = t.fork_at(v0, crdt::agent_id("c"));
    CHECK(past.str() == "na\xC3\xAFve caf\xC3\xA9");
    CHECK(past.as_sequence().shares_history(t.as_sequence()));
    t.verify();
    past.verify();
}

#if CRDT_SEQUENCE_HAVE_SHARED_DATA

namespace {

/// The replica a conformance transaction edits as: its agent, then its first
/// seq, fixed width, so replicas order byte-wise exactly as the case's ids
/// (agent, seq) do. The cases reuse an agent on concurrent transactions, so
/// one replica per agent would not have a version vector for its versions;
/// one per transaction does (its ops are a chain).
crdt::agent_id replica_of(const traces::conformance_txn& t) {
    std::string seq = std::to_string(t.seq_start);
    return crdt::agent_id(t.agent + '\x01' + std::string(12 - seq.size(), '0') + seq);
}

/// Cases [begin, end) through the public API only: each transaction is
/// applied as local edits on fork_at(its parents' version), then merged into
/// the main document; the result must be endContent.
void check_conformance_by_branches(std::size_t begin, std::size_t end) {
    static const auto cases =
        traces::load_conformance(traces::shared_dir() + "/conformance/fuguemax-300.json.gz");
    REQUIRE(cases.size() == 300);
    for (std::size_t i = begin; i < end; ++i) {
        CAPTURE(i);
        const traces::conformance_case& c = cases[i];
        seq_t main(crdt::agent_id("reader"));
        std::vector<seq_t::version_type> start; // per txn: its parents' version
        std::vector<std::size_t> txn_of;        // per LV: its txn
        for (std::size_t t = 0; t < c.txns.size(); ++t) {
            const auto& txn = c.txns[t];
            CAPTURE(t);
            seq_t::version_type v;
            for (const std::size_t p : txn.parents) {
                const std::size_t pt = txn_of.at(p);
                seq_t::version_type closure = start[pt];
                closure.set(replica_of(c.txns[pt]), p - c.txns[pt].span_start + 1);
                v.merge(closure);
            }
            start.push_back(v);
            txn_of.resize(txn.span_end, t);
            seq_t b = main.fork_at(v, replica_of(txn));
            REQUIRE(b.version() == v);
            for (const traces::patch& p : txn.ops) {
                if (p.del > 0) {
                    b.erase(p.pos, p.del);
                }
                if (!p.ins.empty()) {
                    insert(b, p.pos, p.ins);
                }
            }
            b.verify();
            main.merge(b);
        }
        REQUIRE(text_of(main) == traces::to_utf8(c.end_content));
        main.verify();
    }
}

} // namespace

TEST_CASE("sequence branches: fuguemax-300 through fork_at, local edits and merge (0-149)") {
    check_conformance_by_branches(0, 150);
}
TEST_CASE("sequence branches: fuguemax-300 through fork_at, local edits and merge (150-299)") {
    check_conformance_by_branches(150, 300);
}

#endif

TEST_CASE("sequence branches: merge up to a version brings a branch to exactly it") {
    seq_t main(crdt::agent_id("m"));
    insert(main, 0, U"abc");
    seq_t b = main.fork(crdt::agent_id("b"));
    insert(main, 3, U"def");
    const auto v = main.version();
    main.erase(0, 2);
    insert(main, 0, U"X");
    b.merge(main, v); // main's ops up to v, none after
    CHECK(b.version() == v);
    CHECK(text_of(b) == "abcdef");
    b.verify();
    // delta_between is what such a merge applies; deltas of other replicas
    // work the same way (no shared store).
    seq_t fresh(crdt::agent_id("z"));
    fresh.merge(main.delta_between({}, v));
    CHECK(fresh.version() == v);
    CHECK(text_of(fresh) == "abcdef");
    // Up to a version the branch is past already: nothing to do.
    b.merge(main, {});
    CHECK(b.version() == v);
    b.merge(main);
    CHECK(text_of(b) == text_of(main));
}

TEST_CASE("sequence branches: an op whose ids another branch stored apart is applied in pieces") {
    seq_t main(crdt::agent_id("m"));
    insert(main, 0, U"ab");
    seq_t b = main.fork(crdt::agent_id("b"));
    insert(b, 1, U"xyz"); // (b, 1..3)
    insert(main, 2, U"123");
    insert(b, 4, U"uvw"); // (b, 4..6): right after "xyz", but stored after main's ops
    // A replica with its own store holds b's six elements as one op.
    seq_t r(crdt::agent_id("r"));
    r.merge(b.delta_since({}));
    const auto d = r.delta_since(main.version());
    REQUIRE(d.ops.size() == 1);
    CHECK(std::get<seq_t::insert_op>(d.ops[0]).content.size() == 6);
    // main's store has (b, 1..6) in two places (b's edits were stored by the
    // branch, between main's own): the op is integrated piece by piece.
    CHECK(main.shares_history(b));
    main.merge(d);
    main.verify();
    CHECK(text_of(main) == "axyzuvwb123");
    r.merge(main);
    CHECK(text_of(r) == text_of(main));
    // The pieces are stored once: merging b itself now changes nothing.
    const auto v = main.version();
    main.merge(b);
    CHECK(main.version() == v);
    main.verify();
}
