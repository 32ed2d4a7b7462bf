// The FugueMax reference model (tests/support/fugue_model.hpp) and the trace
// loaders (tests/support/traces.hpp): unit tests of the model, then the model
// replaying the shared conformance cases and editing traces.
//
// Full replays of the two long sequential traces are tagged [.][full-trace]
// (about a minute in a Debug build); the suite replays a prefix of each.
// Run them by hand: crdt_test_sequence "[full-trace]".
#include "support/fugue_model.hpp"
#include "support/seed.hpp"
#include "support/traces.hpp"

#include <crdt/core/error.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <optional>
#include <random>
#include <string>
#include <vector>

namespace {

using crdt_test::fugue::model;
using crdt_test::fugue::op_id;
using crdt_test::fugue::version;
namespace traces = crdt_test::traces;

std::string utf8(const std::u32string& s) {
    return traces::to_utf8(s);
}

/// Two runs merged without interleaving: the result is `base` with `a + b`
/// or `b + a` spliced in at `at`.
bool is_one_run_after_the_other(const std::u32string& merged, const std::u32string& base,
                                std::size_t at, const std::u32string& a, const std::u32string& b) {
    const std::u32string prefix = base.substr(0, at);
    const std::u32string suffix = base.substr(at);
    return merged == prefix + a + b + suffix || merged == prefix + b + a + suffix;
}

} // namespace

// ---- unit tests of the model ------------------------------------------------

TEST_CASE("fugue model: local edits at the current version") {
    model m;
    m.insert("a", 0, U"hello");
    m.insert("a", 5, U" world");
    m.insert("a", 0, U">");
    CHECK(utf8(m.content()) == ">hello world");
    m.erase("a", 1, 5);
    CHECK(utf8(m.content()) == "> world");
    m.insert("a", 2, U"w\u00e9\U0001F600"); // positions count code points
    CHECK(m.content() == U"> w\u00e9\U0001F600world");
    CHECK(m.items().size() == 15);
    CHECK(m.log().size() == 20);
    CHECK(m.next_seq("a") == 20);
    CHECK(m.current_version().size() == 20);
    CHECK_THROWS_AS(m.insert("a", 99, U"x"), crdt::error);
    CHECK_THROWS_AS(m.erase("a", m.content().size(), 1), crdt::error);
    CHECK(m.content() == U"> w\u00e9\U0001F600world"); // failed edits change nothing
}

TEST_CASE("fugue model: origins are the neighbours at the op's version") {
    model m;
    m.insert("a", 0, U"ab");
    m.erase("a", 1, 1); // delete 'b': "a" plus a tombstone
    const auto& o = std::get<crdt_test::fugue::insert_op>(m.local_insert({"a", 3}, 1, U'c'));
    // Origin-left is the visible neighbour; origin-right the next item that
    // exists at the version, tombstones included (as in Eg-walker).
    REQUIRE(o.origin_left.has_value());
    CHECK(*o.origin_left == op_id{"a", 0});
    REQUIRE(o.origin_right.has_value());
    CHECK(*o.origin_right == op_id{"a", 1});
    CHECK(utf8(m.content()) == "ac");
}

TEST_CASE("fugue model: concurrent runs at one place do not interleave") {
    model base;
    base.insert("base", 0, U"[]");
    const std::u32string a = U"hello";
    const std::u32string b = U"WORLD";

    SECTION("forward typing") {
        model x = base.fork();
        model y = base.fork();
        x.insert("x", 1, a);
        y.insert("y", 1, b);
        x.merge(y);
        y.merge(x);
        CHECK(utf8(x.content()) == "[helloWORLD]"); // "x" < "y"
        CHECK(x.content() == y.content());
    }
    SECTION("backward typing (each character before the previous one)") {
        model x = base.fork();
        model y = base.fork();
        for (std::size_t k = a.size(); k-- > 0;) {
            x.insert("x", 1, a.substr(k, 1));
            y.insert("y", 1, b.substr(k, 1));
        }
        CHECK(utf8(x.content()) == "[hello]");
        y.merge(x);
        x.merge(y);
        CHECK(utf8(x.content()) == "[helloWORLD]");
        CHECK(x.content() == y.content());
    }
    SECTION("random runs, forward or backward, several agents") {
        const auto seed = crdt_test::seed(11);
        CAPTURE(seed);
        std::mt19937_64 rng(seed);
        for (int round = 0; round < 200; ++round) {
            const std::size_t at = rng() % 3;
            model start;
            start.insert("s", 0, U"()");
            model x = start.fork();
            model y = start.fork();
            std::u32string run_x;
            std::u32string run_y;
            const std::size_t nx = 1 + rng() % 6;
            const std::size_t ny = 1 + rng() % 6;
            for (std::size_t k = 0; k < nx; ++k) {
                run_x.push_back(static_cast<char32_t>(U'a' + k));
            }
            for (std::size_t k = 0; k < ny; ++k) {
                run_y.push_back(static_cast<char32_t>(U'A' + k));
            }
            // Each run is typed forward, backward or from the middle out,
            // always ending up as the run's text at `at`.
            auto type = [&](model& m, const std::string& agent, const std::u32string& run) {
                const auto mode = rng() % 3;
                if (mode == 0) {
                    m.insert(agent, at, run);
                } else if (mode == 1) {
                    for (std::size_t k = run.size(); k-- > 0;) {
                        m.insert(agent, at, run.substr(k, 1));
                    }
                } else {
                    const std::size_t mid = run.size() / 2;
                    m.insert(agent, at, run.substr(mid, 1));
                    for (std::size_t k = mid; k-- > 0;) {
                        m.insert(agent, at, run.substr(k, 1));
                    }
                    m.insert(agent, at + mid + 1, run.substr(mid + 1));
                }
            };
            const std::string ax = rng() % 2 ? "x" : "y";
            const std::string ay = ax == "x" ? "y" : "x";
            type(x, ax, run_x);
            type(y, ay, run_y);
            REQUIRE(x.content() ==
                    start.content().substr(0, at) + run_x + start.content().substr(at));
            model xy = x.fork();
            xy.merge(y);
            model yx = y.fork();
            yx.merge(x);
            CAPTURE(round, at, utf8(xy.content()));
            REQUIRE(xy.content() == yx.content());
            REQUIRE(is_one_run_after_the_other(xy.content(), start.content(), at, run_x, run_y));
        }
    }
}

TEST_CASE("fugue model: ties go to the smaller agent name, byte-wise") {
    auto merged = [](const std::string& first, const std::string& second) {
        model base;
        base.insert("base", 0, U"<>");
        model p = base.fork();
        model q = base.fork();
        p.insert(first, 1, U"1");
        q.insert(second, 1, U"2");
        model pq = p.fork();
        pq.merge(q);
        model qp = q.fork();
        qp.merge(p);
        REQUIRE(pq.content() == qp.content());
        return utf8(pq.content());
    };
    CHECK(merged("a", "b") == "<12>");
    CHECK(merged("b", "a") == "<21>");
    CHECK(merged("Z", "a") == "<12>");  // 'Z' (0x5a) < 'a' (0x61)
    CHECK(merged("ab", "b") == "<12>"); // lexicographic, not by length
    CHECK(merged("b", "ab") == "<21>");
    CHECK(merged("a", "aa") == "<12>");       // a prefix sorts first
    CHECK(merged("z", "\xc3\xa9") == "<12>"); // byte 0xc3 > 'z': bytes compare unsigned
    CHECK(merged("\xc3\xa9", "\xc3\xa8") == "<21>");

    SECTION("an agent concurrent with itself: the smaller seq first") {
        model m;
        m.insert("a", 0, U"<>");
        const version v = m.current_version();
        m.local_insert({"a", 10}, 1, U'Y', &v);
        m.local_insert({"a", 5}, 1, U'X', &v);
        CHECK(utf8(m.content()) == "<XY>");
    }
}

TEST_CASE("fugue model: deletes of concurrently inserted or deleted text") {
    model base;
    base.insert("base", 0, U"abcd");

    SECTION("a delete spanning a concurrent insert leaves the insert") {
        model x = base.fork();
        model y = base.fork();
        x.erase("x", 1, 2);      // "ad"
        y.insert("y", 2, U"XY"); // "abXYcd"
        x.merge(y);
        y.merge(x);
        CHECK(utf8(x.content()) == "aXYd");
        CHECK(x.content() == y.content());
    }
    SECTION("the same character deleted concurrently twice") {
        model x = base.fork();
        model y = base.fork();
        x.erase("x", 1, 1);
        y.erase("y", 1, 2);
        x.merge(y);
        CHECK(utf8(x.content()) == "ad");
        const version vx = x.current_version();
        CHECK(x.items().size() == 4);
        CHECK(x.items()[1].deleted);
    }
    SECTION("deleting text inserted concurrently with another delete") {
        model x = base.fork();
        model y = base.fork();
        y.insert("y", 2, U"XY");
        model z = y.fork(); // z has seen y's insert
        z.erase("z", 1, 4); // deletes b X Y c
        x.erase("x", 0, 1); // concurrently deletes a
        x.merge(z);
        CHECK(utf8(x.content()) == "d");
        y.merge(x);
        CHECK(y.content() == x.content());
    }
    SECTION("a delete at a past version targets the item visible there") {
        model m = base.fork();
        const version v = m.current_version();
        m.insert("m", 0, U"__"); // "__abcd", concurrent with the delete below
        m.local_erase({"x", 0}, 0, &v);
        CHECK(utf8(m.content()) == "__bcd");
    }
}

TEST_CASE("fugue model: content at past and concurrent versions") {
    const auto seed = crdt_test::seed(12);
    CAPTURE(seed);
    std::mt19937_64 rng(seed);
    // Three replicas edit at random, fork and merge; every (version, content)
    // pair seen on the way must be reproduced by content_at on the final
    // merge, and by fork_at.
    std::vector<model> replicas(3);
    const std::vector<std::string> agents = {"r0", "r1", "r2"};
    std::vector<std::pair<version, std::u32string>> seen;
    for (int step = 0; step < 150; ++step) {
        const std::size_t r = rng() % replicas.size();
        model& m = replicas[r];
        const std::size_t len = m.content().size();
        const auto action = rng() % 10;
        if (action < 5 || len == 0) {
            std::u32string text;
            for (std::size_t k = 0, n = 1 + rng() % 3; k < n; ++k) {
                text.push_back(static_cast<char32_t>(U'a' + rng() % 26));
            }
            m.insert(agents[r], rng() % (len + 1), text);
        } else if (action < 8) {
            const std::size_t pos = rng() % len;
            m.erase(agents[r], pos, 1 + rng() % std::min<std::size_t>(3, len - pos));
        } else {
            m.merge(replicas[rng() % replicas.size()]);
        }
        seen.emplace_back(m.current_version(), m.content());
    }
    model all;
    for (const model& m : replicas) {
        all.merge(m);
    }
    for (const auto& [v, text] : seen) {
        REQUIRE(utf8(all.content_at(v)) == utf8(text));
        REQUIRE(utf8(all.fork_at(v).content()) == utf8(text));
    }
    // Replicas that merge everything converge, whatever the order.
    model reverse;
    for (std::size_t k = replicas.size(); k-- > 0;) {
        reverse.merge(replicas[k]);
    }
    CHECK(reverse.content() == all.content());
    CHECK(reverse.current_version() == all.current_version());
    CHECK(all.content_at(version{}).empty());

    // Ids the model does not hold are ignored, even when the sizes match.
    model ab;
    ab.insert("a", 0, U"ab");
    version v;
    v.insert({"a", 0});
    v.insert({"unknown", 0});
    CHECK(utf8(ab.content_at(v)) == "a");
}

TEST_CASE("fugue model: local edits at a past version act like edits on a branch") {
    const auto seed = crdt_test::seed(13);
    CAPTURE(seed);
    std::mt19937_64 rng(seed);
    model m;
    m.insert("a", 0, U"0123456789");
    std::vector<version> versions = {m.current_version()};
    for (int step = 0; step < 60; ++step) {
        const version at = versions[rng() % versions.size()];
        const std::string agent = "agent" + std::to_string(step % 4);
        model branch = m.fork_at(at);
        const std::u32string before = m.content_at(at);
        REQUIRE(branch.content() == before);
        version after = at;
        const op_id id{agent, m.next_seq(agent)};
        if (before.empty() || rng() % 2) {
            const std::size_t pos = rng() % (before.size() + 1);
            m.local_insert(id, pos, U'x', &at);
            branch.local_insert(id, pos, U'x');
        } else {
            const std::size_t pos = rng() % before.size();
            m.local_erase(id, pos, &at);
            branch.local_erase(id, pos);
        }
        after.insert(id);
        REQUIRE(m.content_at(after) == branch.content());
        model merged = branch.fork();
        merged.merge(m);
        REQUIRE(merged.content() == m.content());
        versions.push_back(after);
    }
}

TEST_CASE("fugue model: remote ops are idempotent and need their causes") {
    model a;
    a.insert("a", 0, U"xy");
    a.erase("a", 0, 1);
    model b;
    for (const auto& o : a.log()) {
        CHECK(b.apply(o));
    }
    for (const auto& o : a.log()) {
        CHECK_FALSE(b.apply(o));
    }
    CHECK(b.content() == a.content());
    CHECK(b.log().size() == 3);

    model c;
    CHECK_THROWS_AS(c.apply(a.log()[1]), crdt::error); // origin-left (a,0) missing
    CHECK_THROWS_AS(c.apply(a.log()[2]), crdt::error); // delete target missing
    CHECK(c.log().empty());
    c.apply(a.log()[0]);
    const crdt_test::fugue::delete_op bad{{"b", 0}, {"a", 2}};
    CHECK_THROWS_AS(c.apply(bad), crdt::error);                      // target not held
    CHECK_THROWS_AS(a.local_insert({"a", 1}, 0, U'q'), crdt::error); // id already used
}

// ---- loaders ----------------------------------------------------------------

namespace {

std::string write_temp(const std::string& name, const std::string& bytes) {
    const std::string path = std::string(CRDT_TEST_BINARY_DIR) + "/sequence_" + name;
    std::ofstream out(path, std::ios::binary);
    out << bytes;
    return path;
}

template <class F>
void check_load_error(F&& load, const std::string& path, crdt::errc cause,
                      const std::string& needle) {
    try {
        load(path);
        FAIL("no error for " << path);
    } catch (const crdt::error& e) {
        CAPTURE(e.what());
        CHECK(e.cause() == cause);
        CHECK(std::string(e.what()).find(path) != std::string::npos);
        CHECK(std::string(e.what()).find(needle) != std::string::npos);
    }
}

} // namespace

TEST_CASE("traces: loaders reject bad files naming the file and the field") {
    const auto seq = [](const std::string& p) { traces::load_sequential_trace(p); };
    const auto con = [](const std::string& p) { traces::load_concurrent_trace(p); };
    const auto conf = [](const std::string& p) { traces::load_conformance(p); };

    check_load_error(seq, std::string(CRDT_TEST_BINARY_DIR) + "/sequence_missing.json.gz",
                     crdt::errc::not_found, "no such file");
    // A gzip header followed by garbage.
    check_load_error(seq, write_temp("corrupt.json.gz", std::string("\x1f\x8b\x08\x00garbage", 12)),
                     crdt::errc::io_error, "decompress");
    check_load_error(seq, write_temp("bad.json", "{\"startContent\": "), crdt::errc::invalid_value,
                     "malformed JSON");
    check_load_error(seq, write_temp("nofield.json", R"({"startContent": "", "txns": []})"),
                     crdt::errc::invalid_value, "endContent");
    check_load_error(seq,
                     write_temp("badpatch.json",
                                R"({"startContent": "", "endContent": "",
                                    "txns": [{"patches": [[0, 0, "a"]]}, {"patches": [[0, -1, ""]]}]})"),
                     crdt::errc::invalid_value, "txns[1].patches[0][1]");
    check_load_error(seq,
                     write_temp("badutf8.json",
                                "{\"startContent\": \"\xff\", \"endContent\": \"\", "
                                "\"txns\": []}"),
                     crdt::errc::invalid_value, "malformed JSON"); // the JSON parser rejects it
    check_load_error(con,
                     write_temp("badparent.json",
                                R"({"endContent": "", "numAgents": 1, "txns": [
                                    {"parents": [], "agent": 0, "patches": [[0, 0, "a"]]},
                                    {"parents": [1], "agent": 0, "patches": [[0, 0, "b"]]}]})"),
                     crdt::errc::invalid_value, "txns[1].parents[0]");
    check_load_error(con,
                     write_temp("badagent.json",
                                R"({"endContent": "", "numAgents": 1, "txns": [
                                    {"parents": [], "agent": 1, "patches": [[0, 0, "a"]]}]})"),
                     crdt::errc::invalid_value, "txns[0].agent");
    check_load_error(conf,
                     write_temp("badspan.json",
                                R"([{"endContent": "ab", "txns": [{"span": [0, 3], "parents": [],
                                     "agent": "a", "seqStart": 0, "ops": [[0, 0, "ab"]]}]}])"),
                     crdt::errc::invalid_value, "[0].txns[0]");
    check_load_error(conf, write_temp("notarray.json", R"({"endContent": ""})"),
                     crdt::errc::invalid_value, "expected an array");

    // A well-formed file, plain (not gzipped), with a non-ASCII character.
    const auto ok =
        traces::load_conformance(write_temp("ok.json", R"([{"endContent": "\u00e9b", "txns": [
            {"span": [0, 2], "parents": [], "agent": "a", "seqStart": 0, "ops": [[0, 0, "\u00e9b"]]},
            {"span": [2, 3], "parents": [1], "agent": "b", "seqStart": 0, "ops": [[1, 1, ""]]}]}])"));
    REQUIRE(ok.size() == 1);
    CHECK(ok[0].end_content == U"\u00e9b");
    REQUIRE(ok[0].txns.size() == 2);
    CHECK(ok[0].txns[1].parents == std::vector<std::size_t>{1});
    CHECK(ok[0].txns[1].ops[0].pos == 1);
    CHECK(ok[0].txns[1].ops[0].del == 1);

    try {
        (void)traces::to_utf32("ab\xff", "context");
        FAIL("invalid UTF-8 accepted");
    } catch (const crdt::error& e) {
        CHECK(e.cause() == crdt::errc::invalid_utf8);
        CHECK(e.offset() == std::optional<std::size_t>(2));
        CHECK(std::string(e.what()).find("context") != std::string::npos);
    }
    const std::string mixed = "a\xc3\xa9\xe2\x86\x92\xf0\x9f\x98\x80";
    CHECK(traces::to_utf32(mixed, "") == U"a\u00e9\u2192\U0001F600");
    CHECK(traces::to_utf8(traces::to_utf32(mixed, "")) == mixed);

    std::u32string text = U"abc";
    CHECK_THROWS_AS(traces::apply_patch(text, {2, 2, U""}), crdt::error);
    CHECK(text == U"abc");
    traces::apply_patch(text, {1, 1, U"XY"});
    CHECK(text == U"aXYc");
}

// ---- the shared data ---------------------------------------------------------

#if CRDT_SEQUENCE_HAVE_SHARED_DATA

namespace {

std::string trace_path(const std::string& name) {
    return traces::shared_dir() + "/traces/" + name + ".json.gz";
}

std::string conformance_path() {
    return traces::shared_dir() + "/conformance/fuguemax-300.json.gz";
}

/// The ids of a conformance case's LVs and the version each transaction
/// starts from (the union of its parents and everything before them).
struct case_versions {
    std::vector<op_id> ids;          ///< LV -> op id
    std::vector<std::size_t> txn_of; ///< LV -> index of its transaction
    std::vector<version> start;      ///< txn index -> version of its parents

    explicit case_versions(const traces::conformance_case& c) {
        for (std::size_t t = 0; t < c.txns.size(); ++t) {
            const auto& txn = c.txns[t];
            version v;
            for (const std::size_t parent : txn.parents) {
                v.merge(closure(c, parent));
            }
            start.push_back(v);
            for (std::size_t lv = txn.span_start; lv < txn.span_end; ++lv) {
                ids.push_back({txn.agent, txn.seq_start + (lv - txn.span_start)});
                txn_of.push_back(t);
            }
        }
    }

    /// Returns: the version made of `lv` and everything it depends on.
    version closure(const traces::conformance_case& c, std::size_t lv) const {
        const std::size_t t = txn_of.at(lv);
        version v = start[t];
        for (std::size_t k = c.txns[t].span_start; k <= lv; ++k) {
            v.insert(ids[k]);
        }
        return v;
    }
};

/// Replays case `c` into one model: each op is a local edit at its own
/// version (the parents' version plus the earlier ops of its transaction),
/// and every edit must change content_at exactly as the plain splice does.
std::u32string replay_at_versions(const traces::conformance_case& c) {
    const case_versions cv(c);
    model m;
    for (std::size_t t = 0; t < c.txns.size(); ++t) {
        const auto& txn = c.txns[t];
        version v = cv.start[t];
        std::u32string expected = m.content_at(v);
        std::size_t lv = txn.span_start;
        for (const traces::patch& p : txn.ops) {
            traces::apply_patch(expected, p);
            for (std::size_t k = 0; k < p.del; ++k, ++lv) {
                m.local_erase(cv.ids[lv], p.pos, &v);
                v.insert(cv.ids[lv]);
            }
            for (std::size_t k = 0; k < p.ins.size(); ++k, ++lv) {
                m.local_insert(cv.ids[lv], p.pos + k, p.ins[k], &v);
                v.insert(cv.ids[lv]);
            }
            REQUIRE(utf8(m.content_at(v)) == utf8(expected));
        }
    }
    return m.content();
}

/// Replays case `c` on branches: each transaction forks the merged model at
/// its parents' version, edits the branch at its current version, and is
/// merged back. Also merges the final branches in reverse order.
std::pair<std::u32string, std::u32string> replay_on_branches(const traces::conformance_case& c) {
    const case_versions cv(c);
    model main;
    std::vector<model> branches;
    for (std::size_t t = 0; t < c.txns.size(); ++t) {
        const auto& txn = c.txns[t];
        model branch = main.fork_at(cv.start[t]);
        REQUIRE(branch.current_version() == cv.start[t]);
        std::size_t lv = txn.span_start;
        for (const traces::patch& p : txn.ops) {
            for (std::size_t k = 0; k < p.del; ++k, ++lv) {
                branch.local_erase(cv.ids[lv], p.pos);
            }
            for (std::size_t k = 0; k < p.ins.size(); ++k, ++lv) {
                branch.local_insert(cv.ids[lv], p.pos + k, p.ins[k]);
            }
        }
        main.merge(branch);
        branches.push_back(std::move(branch));
    }
    model reverse;
    for (std::size_t k = branches.size(); k-- > 0;) {
        reverse.merge(branches[k]);
    }
    return {main.content(), reverse.content()};
}

void check_on_branches(const std::vector<traces::conformance_case>& cases, std::size_t begin,
                       std::size_t end) {
    for (std::size_t i = begin; i < end; ++i) {
        CAPTURE(i);
        const auto [forward, reverse] = replay_on_branches(cases[i]);
        CHECK(utf8(forward) == utf8(cases[i].end_content));
        CHECK(utf8(reverse) == utf8(cases[i].end_content));
    }
}

struct trace_totals {
    std::size_t patches = 0;
    std::size_t inserted = 0;
    std::size_t deleted = 0;
};

template <class Txns>
trace_totals totals(const Txns& txns) {
    trace_totals out;
    for (const auto& txn : txns) {
        for (const traces::patch& p : txn.patches) {
            ++out.patches;
            out.inserted += p.ins.size();
            out.deleted += p.del;
        }
    }
    return out;
}

/// Replays the first `limit` transactions of a sequential trace into the
/// model and into a plain string; they must agree, also at past versions.
void replay_sequential(const traces::sequential_trace& trace, std::size_t limit) {
    model m;
    std::u32string plain = trace.start_content;
    m.insert("agent", 0, plain);
    std::vector<std::pair<version, std::u32string>> checkpoints;
    const std::size_t n = std::min(limit, trace.txns.size());
    for (std::size_t t = 0; t < n; ++t) {
        for (const traces::patch& p : trace.txns[t].patches) {
            traces::apply_patch(plain, p);
            m.erase("agent", p.pos, p.del);
            m.insert("agent", p.pos, p.ins);
        }
        if (t % (n / 8 + 1) == 0) {
            checkpoints.emplace_back(m.current_version(), plain);
        }
    }
    REQUIRE(utf8(m.content()) == utf8(plain));
    for (const auto& [v, text] : checkpoints) {
        REQUIRE(utf8(m.content_at(v)) == utf8(text));
    }
    if (n == trace.txns.size()) {
        REQUIRE(utf8(m.content()) == utf8(trace.end_content));
    }
}

/// Merges a concurrent trace along its parents: each transaction's patches are
/// local edits at the version of its parents; agent k is named "agent<k>".
std::u32string replay_concurrent(const traces::concurrent_trace& trace) {
    model m;
    std::vector<version> end_version;
    end_version.reserve(trace.txns.size());
    for (const traces::concurrent_txn& txn : trace.txns) {
        version v;
        for (const std::size_t parent : txn.parents) {
            v.merge(end_version[parent]);
        }
        const std::string agent = "agent" + std::to_string(txn.agent);
        for (const traces::patch& p : txn.patches) {
            for (std::size_t k = 0; k < p.del; ++k) {
                const op_id id{agent, m.next_seq(agent)};
                m.local_erase(id, p.pos, &v);
                v.insert(id);
            }
            for (std::size_t k = 0; k < p.ins.size(); ++k) {
                const op_id id{agent, m.next_seq(agent)};
                m.local_insert(id, p.pos + k, p.ins[k], &v);
                v.insert(id);
            }
        }
        end_version.push_back(std::move(v));
    }
    return m.content();
}

} // namespace

TEST_CASE("conformance: fuguemax-300 replayed at the parents' versions") {
    const auto cases = traces::load_conformance(conformance_path());
    REQUIRE(cases.size() == 300);
    std::size_t failed = 0;
    for (std::size_t i = 0; i < cases.size(); ++i) {
        CAPTURE(i);
        const std::u32string got = replay_at_versions(cases[i]);
        CHECK(utf8(got) == utf8(cases[i].end_content));
        if (got != cases[i].end_content) {
            ++failed;
        }
    }
    CHECK(failed == 0);
}

// Split in two halves to keep each test case short in Debug builds.
TEST_CASE("conformance: fuguemax-300 replayed on branches and merged (cases 0-149)") {
    const auto cases = traces::load_conformance(conformance_path());
    REQUIRE(cases.size() == 300);
    check_on_branches(cases, 0, 150);
}

TEST_CASE("conformance: fuguemax-300 replayed on branches and merged (cases 150-299)") {
    const auto cases = traces::load_conformance(conformance_path());
    REQUIRE(cases.size() == 300);
    check_on_branches(cases, 150, 300);
}

// Each trace file is loaded once per test case: the counts checked are those
// FORMAT.md documents for it. The suite replays the first 4,000 transactions
// of each sequential trace; the full replays, which take about a minute in a
// Debug build, are tagged [full-trace] and run by hand.

TEST_CASE("traces: automerge-paper loads, and a prefix replays like a plain string") {
    const auto t = traces::load_sequential_trace(trace_path("automerge-paper"));
    CHECK(t.start_content.empty());
    CHECK(t.txns.size() == 259778);
    const trace_totals n = totals(t.txns);
    CHECK(n.patches == 259778);
    CHECK(n.inserted == 182315);
    CHECK(n.deleted == 77463);
    CHECK(t.end_content.size() == 104852);
    replay_sequential(t, 4000);
}

TEST_CASE("traces: seph-blog1 loads, and a prefix replays like a plain string") {
    const auto t = traces::load_sequential_trace(trace_path("seph-blog1"));
    CHECK(t.start_content.empty());
    CHECK(t.txns.size() == 137154);
    const trace_totals n = totals(t.txns);
    CHECK(n.patches == 137993);
    CHECK(n.inserted == 212489);
    CHECK(n.deleted == 155720);
    CHECK(t.end_content.size() == 56769);
    replay_sequential(t, 4000);
}

TEST_CASE("traces: automerge-paper replayed in full", "[.][full-trace]") {
    replay_sequential(traces::load_sequential_trace(trace_path("automerge-paper")), SIZE_MAX);
}

TEST_CASE("traces: seph-blog1 replayed in full", "[.][full-trace]") {
    replay_sequential(traces::load_sequential_trace(trace_path("seph-blog1")), SIZE_MAX);
}

TEST_CASE("traces: friendsforever loads, and merged along its parents gives endContent") {
    const auto t = traces::load_concurrent_trace(trace_path("friendsforever"));
    CHECK(t.num_agents == 2);
    CHECK(t.txns.size() == 26078);
    const trace_totals n = totals(t.txns);
    CHECK(n.patches == 26078);
    CHECK(n.inserted == 23720);
    CHECK(n.deleted == 2358);
    CHECK(t.end_content.size() == 21362);
    CHECK(std::count_if(t.txns.begin(), t.txns.end(),
                        [](const auto& txn) { return txn.parents.size() == 2; }) == 2258);
    CHECK(utf8(replay_concurrent(t)) == utf8(t.end_content));
}

#endif // CRDT_SEQUENCE_HAVE_SHARED_DATA
