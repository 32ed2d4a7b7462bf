// Tests of the command-line tools trace_replay and conformance_check
// (benchmarks/tools/, docs/tools.md), run as programs: their exit status,
// their last line and their error messages, on the shared data and on
// traces and conformance cases generated here with the FugueMax reference
// model (tests/support/fugue_model.hpp), including wrong and broken files.
#include "../support/fugue_model.hpp"
#include "../support/seed.hpp"
#include "../support/traces.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <sys/wait.h>
#include <zlib.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <tuple>
#include <vector>

namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
namespace traces = crdt_test::traces;
namespace fugue = crdt_test::fugue;

// ---- running a tool -----------------------------------------------------------

struct run_result {
    int status = -1;
    std::string out;
    std::string err;
};

/// Returns: an empty scratch directory for the test `name` (tests run in
///   parallel, each in its own directory).
fs::path scratch(const std::string& name) {
    const fs::path dir = fs::path(CRDT_TEST_BINARY_DIR) / "tools-scratch" / name;
    fs::remove_all(dir);
    fs::create_directories(dir);
    return dir;
}

std::string shell_quote(const std::string& s) {
    std::string out = "'";
    for (const char c : s) {
        out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    }
    return out + "'";
}

std::string read_all(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::string out;
    char buf[4096];
    while (in.read(buf, sizeof buf) || in.gcount() > 0) {
        out.append(buf, static_cast<std::size_t>(in.gcount()));
    }
    return out;
}

/// Runs `tool args...` with stdout and stderr captured in files of `dir`.
run_result run(const char* tool, const std::vector<std::string>& args, const fs::path& dir) {
    std::string cmd = shell_quote(tool);
    for (const std::string& a : args) {
        cmd += ' ';
        cmd += shell_quote(a);
    }
    cmd += " >" + shell_quote((dir / "stdout").string()) + " 2>" +
           shell_quote((dir / "stderr").string());
    const int rc = std::system(cmd.c_str());
    REQUIRE(rc != -1);
    REQUIRE(WIFEXITED(rc));
    run_result r;
    r.status = WEXITSTATUS(rc);
    r.out = read_all(dir / "stdout");
    r.err = read_all(dir / "stderr");
    return r;
}

run_result trace_replay(const std::vector<std::string>& args, const fs::path& dir) {
    return run(CRDT_TRACE_REPLAY, args, dir);
}
run_result conformance_check(const std::vector<std::string>& args, const fs::path& dir) {
    return run(CRDT_CONFORMANCE_CHECK, args, dir);
}

std::string last_line(const std::string& out) {
    std::string s = out;
    while (!s.empty() && s.back() == '\n') {
        s.pop_back();
    }
    const auto nl = s.find_last_of('\n');
    return nl == std::string::npos ? s : s.substr(nl + 1);
}

/// Returns: trace_replay's last line, parsed, after checking that every
///   documented field is there with the right type.
json report_of(const run_result& r) {
    INFO("stdout: " << r.out << "\nstderr: " << r.err);
    json j;
    REQUIRE_NOTHROW(j = json::parse(last_line(r.out)));
    REQUIRE(j.is_object());
    for (const char* key : {"trace", "kind"}) {
        CAPTURE(key);
        REQUIRE(j.contains(key));
        CHECK(j[key].is_string());
    }
    for (const char* key :
         {"txns", "patches", "runs", "encoded_bytes", "ops", "memory_bytes", "final_chars"}) {
        CAPTURE(key);
        REQUIRE(j.contains(key));
        CHECK(j[key].is_number_unsigned());
    }
    for (const char* key : {"replay_ms", "encode_ms", "load_ms"}) {
        CAPTURE(key);
        REQUIRE(j.contains(key));
        CHECK(j[key].is_number());
        CHECK(j[key].get<double>() >= 0);
    }
    for (const char* key : {"content_ok", "load_ok"}) {
        CAPTURE(key);
        REQUIRE(j.contains(key));
        CHECK(j[key].is_boolean());
    }
    return j;
}

// ---- writing files --------------------------------------------------------------

void write_file(const fs::path& p, const std::string& bytes) {
    std::ofstream out(p, std::ios::binary);
    out << bytes;
    REQUIRE(out.good());
}

void write_gzip(const fs::path& p, const std::string& bytes) {
    gzFile f = gzopen(p.string().c_str(), "wb");
    REQUIRE(f != nullptr);
    const int n = gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size()));
    const int closed = gzclose(f);
    REQUIRE(n == static_cast<int>(bytes.size()));
    REQUIRE(closed == Z_OK);
}

std::string utf8(const std::u32string& s) {
    return traces::to_utf8(s);
}

/// Returns: 0 to 3 random code points, some of them outside ASCII (and one
///   outside the BMP).
std::u32string random_text(std::mt19937_64& rng, std::size_t max = 3) {
    static constexpr char32_t alphabet[] = {U'a',  U'b',      U'c',      U'x',
                                            U'\n', U'\u00e9', U'\u2192', U'\U0001F600'};
    std::u32string out;
    const std::size_t n = static_cast<std::size_t>(rng() % (max + 1));
    for (std::size_t i = 0; i < n; ++i) {
        out.push_back(alphabet[rng() % std::size(alphabet)]);
    }
    return out;
}

/// A random patch [pos, del, ins] against a document of `len` code points
/// (never empty).
traces::patch random_patch(std::mt19937_64& rng, std::size_t len) {
    traces::patch p;
    p.pos = static_cast<std::size_t>(rng() % (len + 1));
    p.del = len == p.pos
                ? 0
                : static_cast<std::size_t>(rng() % std::min<std::size_t>(3, len - p.pos + 1));
    p.ins = random_text(rng);
    if (p.del == 0 && p.ins.empty()) {
        p.ins.push_back(U'z');
    }
    return p;
}

json patch_json(const traces::patch& p) {
    return json::array({p.pos, p.del, utf8(p.ins)});
}

struct generated {
    json doc;
    std::u32string end;
};

/// A sequential trace of `n` transactions of 1 to 3 patches each.
generated sequential_trace(std::mt19937_64& rng, std::size_t n) {
    std::u32string text;
    json txns = json::array();
    for (std::size_t i = 0; i < n; ++i) {
        json patches = json::array();
        for (std::size_t k = 1 + static_cast<std::size_t>(rng() % 3); k > 0; --k) {
            const traces::patch p = random_patch(rng, text.size());
            traces::apply_patch(text, p);
            patches.push_back(patch_json(p));
        }
        txns.push_back({{"time", "1970-01-01T00:00:00.000Z"}, {"patches", patches}});
    }
    return {{{"startContent", ""}, {"endContent", utf8(text)}, {"txns", txns}}, text};
}

/// Makes op `id`s for a patch applied at version `v` of the model (deletes
/// first, then inserts, one op per code point) and adds them to `v`.
void apply_in_model(fugue::model& m, fugue::version& v, const std::string& agent,
                    const traces::patch& p, std::vector<fugue::op_id>* ids = nullptr) {
    for (std::size_t k = 0; k < p.del; ++k) {
        const fugue::op_id id{agent, m.next_seq(agent)};
        m.local_erase(id, p.pos, &v);
        v.insert(id);
        if (ids != nullptr) {
            ids->push_back(id);
        }
    }
    for (std::size_t k = 0; k < p.ins.size(); ++k) {
        const fugue::op_id id{agent, m.next_seq(agent)};
        m.local_insert(id, p.pos + k, p.ins[k], &v);
        v.insert(id);
        if (ids != nullptr) {
            ids->push_back(id);
        }
    }
}

/// A concurrent trace of `n` single-patch or two-patch transactions by
/// `agents` agents, each made at the merge of 1 or 2 earlier transactions
/// (always including the agent's own previous one, as FORMAT.md requires);
/// endContent comes from the reference model, which names agent k
/// "agent<k>" as trace_replay does.
generated concurrent_trace(std::mt19937_64& rng, std::size_t n, std::size_t agents) {
    fugue::model m;
    std::vector<fugue::version> end;
    std::vector<std::optional<std::size_t>> last(agents);
    json txns = json::array();
    for (std::size_t i = 0; i < n; ++i) {
        const std::size_t a = static_cast<std::size_t>(rng() % agents);
        std::set<std::size_t> parents;
        if (last[a]) {
            parents.insert(*last[a]);
        }
        if (i > 0 && (!last[a] || rng() % 2 == 0)) {
            parents.insert(static_cast<std::size_t>(rng() % i));
        }
        fugue::version v;
        for (const std::size_t p : parents) {
            v.merge(end[p]);
        }
        const std::string agent = "agent" + std::to_string(a);
        json patches = json::array();
        for (std::size_t k = 1 + static_cast<std::size_t>(rng() % 2); k > 0; --k) {
            const traces::patch p = random_patch(rng, m.content_at(v).size());
            apply_in_model(m, v, agent, p);
            patches.push_back(patch_json(p));
        }
        end.push_back(std::move(v));
        last[a] = i;
        txns.push_back({{"parents", std::vector<std::size_t>(parents.begin(), parents.end())},
                        {"numChildren", 0},
                        {"agent", a},
                        {"time", "1970-01-01T00:00:00.000Z"},
                        {"patches", patches}});
    }
    const std::u32string text = m.content();
    return {
        {{"kind", "concurrent"}, {"endContent", utf8(text)}, {"numAgents", agents}, {"txns", txns}},
        text};
}

/// A conformance case (../shared/conformance/README.md) of `n` transactions
/// by agents "a", "b" and "c", each made at the version of up to two random
/// earlier LVs (so agents often edit concurrently with themselves);
/// endContent comes from the reference model.
generated conformance_case(std::mt19937_64& rng, std::size_t n) {
    fugue::model m;
    std::vector<fugue::op_id> ids;       // per LV
    std::vector<std::size_t> txn_of;     // per LV
    std::vector<std::size_t> span_start; // per transaction
    std::vector<fugue::version> start;   // per transaction: its parents' version
    json txns = json::array();
    for (std::size_t t = 0; t < n; ++t) {
        const std::string agent(1, static_cast<char>('a' + rng() % 3));
        std::vector<std::size_t> parents;
        for (std::size_t k = ids.empty() ? 0 : rng() % 3; k > 0; --k) {
            parents.push_back(static_cast<std::size_t>(rng() % ids.size()));
        }
        fugue::version v;
        for (const std::size_t lv : parents) {
            const std::size_t u = txn_of[lv];
            v.merge(start[u]);
            for (std::size_t k = span_start[u]; k <= lv; ++k) {
                v.insert(ids[k]);
            }
        }
        start.push_back(v);
        span_start.push_back(ids.size());
        const std::uint64_t seq_start = m.next_seq(agent);
        json ops = json::array();
        for (std::size_t k = 1 + static_cast<std::size_t>(rng() % 2); k > 0; --k) {
            const traces::patch p = random_patch(rng, m.content_at(v).size());
            apply_in_model(m, v, agent, p, &ids);
            txn_of.resize(ids.size(), t);
            ops.push_back(patch_json(p));
        }
        txns.push_back({{"span", {span_start.back(), ids.size()}},
                        {"parents", parents},
                        {"agent", agent},
                        {"seqStart", seq_start},
                        {"ops", ops}});
    }
    const std::u32string text = m.content();
    return {{{"endContent", utf8(text)}, {"txns", txns}}, text};
}

} // namespace

// ---- trace_replay -------------------------------------------------------------------

TEST_CASE("tools: trace_replay replays generated sequential traces (.json and .json.gz)") {
    const std::uint64_t seed = crdt_test::seed(401);
    CAPTURE(seed);
    std::mt19937_64 rng(seed);
    const fs::path dir = scratch("sequential");
    const generated g = sequential_trace(rng, 300);
    std::size_t patches = 0;
    for (const json& txn : g.doc["txns"]) {
        patches += txn["patches"].size();
    }
    write_file(dir / "generated.json", g.doc.dump());
    write_gzip(dir / "zipped.json.gz", g.doc.dump());
    for (const char* name : {"generated.json", "zipped.json.gz"}) {
        CAPTURE(name);
        const run_result r = trace_replay({(dir / name).string(), "--runs", "2"}, dir);
        CHECK(r.status == 0);
        const json j = report_of(r);
        CHECK(j["trace"] == std::string(name).substr(0, std::string(name).find('.')));
        CHECK(j["kind"] == "sequential");
        CHECK(j["txns"] == 300);
        CHECK(j["patches"] == patches);
        CHECK(j["runs"] == 2);
        CHECK(j["final_chars"] == g.end.size());
        CHECK(j["content_ok"] == true);
        CHECK(j["load_ok"] == true);
        CHECK(j["encoded_bytes"].get<std::size_t>() > 0);
        CHECK(j["memory_bytes"].get<std::size_t>() > 0);
    }
}

TEST_CASE("tools: trace_replay merges generated concurrent traces along their parents") {
    const std::uint64_t seed = crdt_test::seed(402);
    CAPTURE(seed);
    std::mt19937_64 rng(seed);
    const fs::path dir = scratch("concurrent");
    for (int round = 0; round < 4; ++round) {
        CAPTURE(round);
        const generated g = concurrent_trace(rng, 80, 2 + static_cast<std::size_t>(round % 3));
        write_file(dir / "concurrent.json", g.doc.dump());
        const run_result r = trace_replay({(dir / "concurrent.json").string(), "--runs=1"}, dir);
        INFO(r.err);
        CHECK(r.status == 0);
        const json j = report_of(r);
        CHECK(j["kind"] == "concurrent");
        CHECK(j["txns"] == 80);
        CHECK(j["final_chars"] == g.end.size());
        CHECK(j["content_ok"] == true);
        CHECK(j["load_ok"] == true);
    }
}

TEST_CASE("tools: trace_replay reports a wrong endContent with content_ok false") {
    const std::uint64_t seed = crdt_test::seed(403);
    CAPTURE(seed);
    std::mt19937_64 rng(seed);
    const fs::path dir = scratch("wrong-content");
    generated seq = sequential_trace(rng, 50);
    seq.doc["endContent"] = utf8(seq.end + U"!");
    generated conc = concurrent_trace(rng, 40, 2);
    conc.doc["endContent"] = utf8(U"?" + conc.end);
    write_file(dir / "sequential.json", seq.doc.dump());
    write_file(dir / "concurrent.json", conc.doc.dump());
    for (const char* name : {"sequential.json", "concurrent.json"}) {
        CAPTURE(name);
        const run_result r = trace_replay({(dir / name).string(), "--runs", "1"}, dir);
        CHECK(r.status == 1);
        const json j = report_of(r);
        CHECK(j["content_ok"] == false);
        CHECK(j["load_ok"] == true); // the document itself loads back fine
        CHECK(r.err.find((dir / name).string()) != std::string::npos);
        CHECK(r.err.find("differs from endContent") != std::string::npos);
    }
}

TEST_CASE("tools: trace_replay rejects unreadable traces with exit status 2") {
    const std::uint64_t seed = crdt_test::seed(404);
    CAPTURE(seed);
    std::mt19937_64 rng(seed);
    const fs::path dir = scratch("bad-files");
    const std::string good = sequential_trace(rng, 20).doc.dump();
    struct bad_case {
        const char* file;
        std::string bytes;
        const char* says; // part of the message
    };
    std::vector<bad_case> cases = {
        {"not-json.json", good.substr(0, good.size() / 2), "malformed JSON"},
        {"array.json", "[1, 2, 3]", "expected an object"},
        {"bad-patch.json",
         R"({"startContent": "", "endContent": "x", "txns": [{"patches": [[0, 0, 5]]}]})",
         "txns[0].patches[0][2]"},
        {"past-end.json",
         R"({"startContent": "", "endContent": "", "txns": [{"patches": [[0, 0, "ab"]]},
             {"patches": [[1, 5, ""]]}]})",
         "txns[1].patches[0]"},
        {"self-concurrent.json",
         R"({"kind": "concurrent", "endContent": "", "numAgents": 1, "txns": [
             {"parents": [], "agent": 0, "patches": [[0, 0, "a"]]},
             {"parents": [0], "agent": 0, "patches": [[0, 0, "b"]]},
             {"parents": [0], "agent": 0, "patches": [[0, 0, "c"]]}]})",
         "txns[2]"},
        {"missing.json", "", "no such file"},
    };
    for (const bad_case& c : cases) {
        CAPTURE(c.file);
        const fs::path p = dir / c.file;
        if (std::string(c.file) != "missing.json") {
            write_file(p, c.bytes);
        }
        const run_result r = trace_replay({p.string(), "--runs", "1"}, dir);
        INFO("stderr: " << r.err);
        CHECK(r.status == 2);
        CHECK(r.out.empty());
        CHECK(r.err.find(p.string()) != std::string::npos);
        CHECK(r.err.find(c.says) != std::string::npos);
    }
    // A gzip stream cut short.
    write_gzip(dir / "whole.json.gz", good);
    const std::string zipped = read_all(dir / "whole.json.gz");
    write_file(dir / "cut.json.gz", zipped.substr(0, zipped.size() / 2));
    const run_result r = trace_replay({(dir / "cut.json.gz").string()}, dir);
    CHECK(r.status == 2);
    CHECK(r.err.find((dir / "cut.json.gz").string()) != std::string::npos);
}

TEST_CASE("tools: trace_replay rejects bad arguments with exit status 2") {
    const fs::path dir = scratch("bad-arguments");
    write_file(dir / "t.json", R"({"startContent": "", "endContent": "", "txns": []})");
    const std::string t = (dir / "t.json").string();
    for (const std::vector<std::string>& args :
         std::vector<std::vector<std::string>>{{},
                                               {t, "--runs"},
                                               {t, "--runs", "0"},
                                               {t, "--runs", "five"},
                                               {t, "--runs=1001"},
                                               {t, "--fast"},
                                               {t, t}}) {
        CAPTURE(args);
        const run_result r = trace_replay(args, dir);
        CHECK(r.status == 2);
        CHECK(r.out.empty());
        CHECK(r.err.find("usage: trace_replay") != std::string::npos);
    }
    // The empty trace itself is fine.
    const run_result r = trace_replay({t, "--runs", "1"}, dir);
    CHECK(r.status == 0);
    CHECK(report_of(r)["final_chars"] == 0);
}

// ---- conformance_check ---------------------------------------------------------------

TEST_CASE("tools: conformance_check passes generated cases and names the failing ones") {
    const std::uint64_t seed = crdt_test::seed(405);
    CAPTURE(seed);
    std::mt19937_64 rng(seed);
    const fs::path dir = scratch("conformance");
    json cases = json::array();
    // Two agents type at the start of the empty document concurrently: the
    // run of the agent whose name sorts first comes first
    // (../shared/conformance/README.md).
    for (const auto& [first, second, end] :
         {std::tuple{"a", "b", "abxy"}, std::tuple{"b", "a", "xyab"}}) {
        cases.push_back({{"endContent", end},
                         {"txns",
                          {{{"span", {0, 2}},
                            {"parents", json::array()},
                            {"agent", first},
                            {"seqStart", 0},
                            {"ops", {{0, 0, "ab"}}}},
                           {{"span", {2, 4}},
                            {"parents", json::array()},
                            {"agent", second},
                            {"seqStart", 0},
                            {"ops", {{0, 0, "xy"}}}}}}});
    }
    for (int i = 0; i < 20; ++i) {
        cases.push_back(conformance_case(rng, 4 + static_cast<std::size_t>(rng() % 10)).doc);
    }
    write_gzip(dir / "cases.json.gz", cases.dump());
    run_result r = conformance_check({(dir / "cases.json.gz").string()}, dir);
    INFO("stdout: " << r.out << "\nstderr: " << r.err);
    CHECK(r.status == 0);
    CHECK(last_line(r.out) == "22 passed, 0 failed");

    // Break case 7: it fails, alone, and the line names it with both texts.
    const std::string right = cases[7]["endContent"];
    cases[7]["endContent"] = right + "?";
    write_file(dir / "broken.json", cases.dump());
    r = conformance_check({(dir / "broken.json").string()}, dir);
    CHECK(r.status == 1);
    CHECK(last_line(r.out) == "21 passed, 1 failed");
    CHECK(r.out.find("case 7: FAILED") != std::string::npos);
    CHECK(r.out.find("FAILED") == r.out.rfind("FAILED")); // only case 7
    // The expected text's end, then the closing quote (long texts are cut
    // to an excerpt around the difference, which is at the end here).
    const std::u32string expected = traces::to_utf32(right + "?", "expected");
    const std::u32string tail =
        expected.substr(expected.size() - std::min<std::size_t>(10, expected.size()));
    CHECK(r.out.find("expected ") != std::string::npos);
    CHECK(r.out.find(json(utf8(tail)).dump().substr(1) + ", got ") != std::string::npos);
}

TEST_CASE("tools: conformance_check rejects unreadable files with exit status 2") {
    const fs::path dir = scratch("conformance-bad");
    write_file(dir / "object.json", R"({"endContent": ""})");
    write_file(dir / "bad-span.json",
               R"([{"endContent": "", "txns": [{"span": [0, 3], "parents": [], "agent": "a",
                    "seqStart": 0, "ops": [[0, 0, "ab"]]}]}])");
    for (const char* name : {"object.json", "bad-span.json", "missing.json"}) {
        CAPTURE(name);
        const run_result r = conformance_check({(dir / name).string()}, dir);
        INFO("stderr: " << r.err);
        CHECK(r.status == 2);
        CHECK(r.out.empty());
        CHECK(r.err.find((dir / name).string()) != std::string::npos);
    }
    const run_result r = conformance_check({}, dir);
    CHECK(r.status == 2);
    CHECK(r.err.find("usage: conformance_check") != std::string::npos);
}

// ---- the shared data ----------------------------------------------------------------

#if CRDT_TOOLS_HAVE_SHARED_DATA

namespace {
/// Runs trace_replay once on the shared sequential trace `name`; it must
/// give the trace's endContent.
void replay_shared_sequential(const std::string& name) {
    const fs::path dir = scratch(name);
    const std::string path = traces::shared_dir() + "/traces/" + name + ".json.gz";
    const run_result r = trace_replay({path, "--runs", "1"}, dir);
    CHECK(r.status == 0);
    const json j = report_of(r);
    const traces::sequential_trace t = traces::load_sequential_trace(path);
    std::size_t patches = 0;
    for (const auto& txn : t.txns) {
        patches += txn.patches.size();
    }
    CHECK(j["trace"] == name);
    CHECK(j["kind"] == "sequential");
    CHECK(j["patches"] == patches);
    CHECK(j["final_chars"] == t.end_content.size());
    CHECK(j["content_ok"] == true);
    CHECK(j["load_ok"] == true);
}
} // namespace

TEST_CASE("tools: conformance_check passes fuguemax-300") {
    const fs::path dir = scratch("fuguemax-300");
    const run_result r =
        conformance_check({traces::shared_dir() + "/conformance/fuguemax-300.json.gz"}, dir);
    INFO("stdout: " << r.out << "\nstderr: " << r.err);
    CHECK(r.status == 0);
    CHECK(last_line(r.out) == "300 passed, 0 failed");
}

// The whole sequential traces take 5 to 15 s (automerge-paper) and 2 to 7 s
// (seph-blog1) in a Debug or ASan build on a loaded machine, so they run by
// hand (`crdt_test_tools "[traces]"`); the generated sequential traces above
// cover the same code in every run.
TEST_CASE("tools: trace_replay replays automerge-paper", "[.][traces]") {
    replay_shared_sequential("automerge-paper");
}

TEST_CASE("tools: trace_replay replays seph-blog1", "[.][traces]") {
    replay_shared_sequential("seph-blog1");
}

TEST_CASE("tools: trace_replay merges friendsforever along its parents") {
    const fs::path dir = scratch("friendsforever");
    const std::string path = traces::shared_dir() + "/traces/friendsforever.json.gz";
    const run_result r = trace_replay({path, "--runs", "1"}, dir);
    CHECK(r.status == 0);
    const json j = report_of(r);
    const traces::concurrent_trace t = traces::load_concurrent_trace(path);
    CHECK(j["trace"] == "friendsforever");
    CHECK(j["kind"] == "concurrent");
    CHECK(j["txns"] == t.txns.size());
    CHECK(j["final_chars"] == t.end_content.size());
    CHECK(j["content_ok"] == true);
    CHECK(j["load_ok"] == true);
}

#endif
