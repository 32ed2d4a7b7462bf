// trace_replay PATH [--runs N] -- replays one shared editing trace
// (../shared/traces/FORMAT.md, `.json` or `.json.gz`) through the public API
// of crdt::sequence<char32_t>, one patch at a time, checks the result
// against the trace's endContent and prints measurements as one JSON object
// on its last line (docs/tools.md lists the fields).
//
// Sequential trace: one document, every patch applied as a local erase
// and/or insert. Concurrent trace: a "main" document that holds every op
// made so far, and per agent (named "agent<k>") a branch of it. A
// transaction is made on its agent's branch at exactly the transaction's
// parents' version (the join of the versions its parent transactions ended
// at): the first one on main.fork_at(parents), later ones on the agent's
// branch brought up to the parents by merge(main, parents); its patches are
// applied locally and the branch is merged into main. Main's content is
// checked.
//
// Then, on the final document: encode = delta_since({}) (the full history)
// encoded with the sequence delta codec (crdt/sequence/delta.hpp);
// snapshot = snapshot(); load = load_snapshot() of it (no op replayed);
// replay_load = decode the encoded history and merge it into a fresh
// document. With zlib (the crdt::zlib target), compress = the encoded
// history compressed (crdt/codec/compressed.hpp, default level) and
// decompress = decompressing it back to the encoding (checked equal). Both loaded documents must
// equal the original (content and version). Each step is timed N times (default 5); the medians are
// printed.
//
// Exit status: 0 when the content (and the loaded copy) is right, 1 when it
// is not, 2 for bad arguments or a file that cannot be read or parsed, or
// whose patches do not fit the document (the message names the file and,
// where it applies, the transaction and patch).
#include "tool_support.hpp"
#include "trace_files.hpp"

#include <crdt/codec/codec.hpp>
#include <crdt/core/error.hpp>
#include <crdt/core/replica_id.hpp>
#include <crdt/sequence.hpp>
#ifdef CRDT_WITH_ZLIB
#include <crdt/codec/compressed.hpp>
#endif

#include <charconv>
#include <cstddef>
#include <cstdio>
#include <exception>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

namespace {

namespace traces = crdt_test::traces;
using crdt_tools::delta_t;
using crdt_tools::seq_t;
using crdt_tools::version_t;

constexpr const char* usage = "usage: trace_replay PATH [--runs N]   (N in 1..1000, default 5)";

/// A bad command line (exit status 2, with the usage).
struct usage_error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

struct options {
    std::string path;
    std::size_t runs = 5;
};

std::size_t parse_runs(std::string_view s) {
    std::size_t n = 0;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
    if (ec != std::errc{} || end != s.data() + s.size() || n < 1 || n > 1000) {
        throw usage_error("--runs needs a whole number from 1 to 1000, got \"" + std::string(s) +
                          "\"");
    }
    return n;
}

options parse_options(int argc, char** argv) {
    options o;
    bool have_path = false;
    for (int i = 1; i < argc; ++i) {
        const std::string_view arg = argv[i];
        if (arg == "--runs") {
            if (i + 1 == argc) {
                throw usage_error("--runs needs a value");
            }
            o.runs = parse_runs(argv[++i]);
        } else if (arg.starts_with("--runs=")) {
            o.runs = parse_runs(arg.substr(7));
        } else if (arg.starts_with("-") && arg.size() > 1) {
            throw usage_error("unknown option \"" + std::string(arg) + "\"");
        } else if (have_path) {
            throw usage_error("more than one trace given");
        } else {
            o.path = std::string(arg);
            have_path = true;
        }
    }
    if (!have_path) {
        throw usage_error("no trace given");
    }
    return o;
}

/// Returns: the trace's name: the file name without ".gz" and ".json".
std::string trace_name(std::string_view path) {
    if (const auto slash = path.find_last_of('/'); slash != std::string_view::npos) {
        path.remove_prefix(slash + 1);
    }
    for (const std::string_view ext : {".gz", ".json"}) {
        if (path.size() > ext.size() && path.ends_with(ext)) {
            path.remove_suffix(ext.size());
        }
    }
    return std::string(path);
}

/// Where a patch is in the file, for error messages.
struct patch_at {
    const std::string* path;
    std::size_t txn;
    std::size_t patch;
};

/// Effects: applies `p` to `s` as a local erase and/or insert; appends the
///   ops made to `made` if it is not null.
/// Throws: crdt::error(invalid_value) naming the file, transaction and patch
///   if the patch reaches past the end of the document (nothing changes).
void apply_patch(seq_t& s, const traces::patch& p, delta_t* made, const patch_at& at) {
    if (p.pos > s.size() || p.del > s.size() - p.pos) {
        throw crdt::error(crdt::errc::invalid_value,
                          *at.path + ": txns[" + std::to_string(at.txn) + "].patches[" +
                              std::to_string(at.patch) + "]: [" + std::to_string(p.pos) + ", " +
                              std::to_string(p.del) +
                              ", ...] reaches past the end of the document (" +
                              std::to_string(s.size()) + " code points there)");
    }
    if (p.del > 0) {
        std::vector<seq_t::op> ops = s.erase(p.pos, p.del);
        if (made != nullptr) {
            for (seq_t::op& o : ops) {
                made->push_back(std::move(o));
            }
        }
    }
    if (!p.ins.empty()) {
        std::optional<seq_t::op> o =
            s.insert(p.pos, std::span<const char32_t>(p.ins.data(), p.ins.size()));
        if (made != nullptr && o) {
            made->push_back(std::move(*o));
        }
    }
}

/// Returns: the document after every patch of `t`, applied locally in order.
seq_t replay(const traces::sequential_trace& t, const std::string& path) {
    seq_t s(crdt::agent_id("agent"));
    if (!t.start_content.empty()) {
        s.insert(0, std::span<const char32_t>(t.start_content.data(), t.start_content.size()));
    }
    for (std::size_t i = 0; i < t.txns.size(); ++i) {
        const auto& patches = t.txns[i].patches;
        for (std::size_t j = 0; j < patches.size(); ++j) {
            apply_patch(s, patches[j], nullptr, patch_at{&path, i, j});
        }
    }
    return s;
}

/// Returns: the main document after every transaction of `t` was made by
///   its agent on a branch at its parents' version and merged (see the file
///   comment).
/// Throws: crdt::error(invalid_value) naming the file and transaction if an
///   agent's transaction does not follow all of that agent's earlier ones
///   (FORMAT.md rules that out: an agent never edits concurrently with
///   itself), or a patch does not fit.
seq_t replay(const traces::concurrent_trace& t, const std::string& path) {
    seq_t main(crdt::agent_id("main"));
    std::vector<std::optional<seq_t>> replicas(t.num_agents);
    std::vector<version_t> end_version; // of each transaction
    end_version.reserve(t.txns.size());
    for (std::size_t i = 0; i < t.txns.size(); ++i) {
        const traces::concurrent_txn& txn = t.txns[i];
        version_t parents;
        for (const std::size_t p : txn.parents) {
            parents.merge(end_version[p]);
        }
        std::optional<seq_t>& branch = replicas[txn.agent];
        const version_t have = branch ? branch->version() : version_t{};
        if (!parents.includes(have)) {
            throw crdt::error(crdt::errc::invalid_value,
                              path + ": txns[" + std::to_string(i) + "]: agent " +
                                  std::to_string(txn.agent) +
                                  " edits concurrently with itself (its earlier transactions "
                                  "are not all among this one's ancestors)");
        }
        if (!branch) {
            branch.emplace(
                main.fork_at(parents, crdt::agent_id("agent" + std::to_string(txn.agent))));
        } else if (have != parents) {
            branch->merge(main, parents); // catch up to exactly the parents
        }
        for (std::size_t j = 0; j < txn.patches.size(); ++j) {
            apply_patch(*branch, txn.patches[j], nullptr, patch_at{&path, i, j});
        }
        main.merge(*branch);
        end_version.push_back(branch->version());
    }
    return main;
}

struct report {
    std::string trace;
    std::string kind;
    std::size_t txns = 0;
    std::size_t patches = 0;
    std::size_t runs = 0;
    double replay_ms = 0;
    double encode_ms = 0;
    std::size_t encoded_bytes = 0;
    std::size_t ops = 0;
    bool have_compressed = false;
    double compress_ms = 0;
    std::size_t compressed_bytes = 0;
    double decompress_ms = 0;
    double snapshot_ms = 0;
    std::size_t snapshot_bytes = 0;
    double load_ms = 0;
    double replay_load_ms = 0;
    std::size_t memory_bytes = 0;
    std::size_t loaded_memory_bytes = 0;
    std::size_t final_chars = 0;
    bool content_ok = false;
    bool load_ok = false;
};

void print(const report& r) {
    char compressed[160] = "";
    if (r.have_compressed) {
        std::snprintf(compressed, sizeof compressed,
                      "\"compress_ms\":%.3f,\"compressed_bytes\":%zu,\"decompress_ms\":%.3f,",
                      r.compress_ms, r.compressed_bytes, r.decompress_ms);
    }
    std::printf("{\"trace\":%s,\"kind\":%s,\"txns\":%zu,\"patches\":%zu,\"runs\":%zu,"
                "\"replay_ms\":%.3f,\"encode_ms\":%.3f,\"encoded_bytes\":%zu,\"ops\":%zu,%s"
                "\"snapshot_ms\":%.3f,\"snapshot_bytes\":%zu,\"load_ms\":%.3f,"
                "\"replay_load_ms\":%.3f,\"memory_bytes\":%zu,\"loaded_memory_bytes\":%zu,"
                "\"final_chars\":%zu,"
                "\"content_ok\":%s,\"load_ok\":%s}\n",
                crdt_tools::json_string(r.trace).c_str(), crdt_tools::json_string(r.kind).c_str(),
                r.txns, r.patches, r.runs, r.replay_ms, r.encode_ms, r.encoded_bytes, r.ops,
                compressed, r.snapshot_ms, r.snapshot_bytes, r.load_ms, r.replay_load_ms,
                r.memory_bytes, r.loaded_memory_bytes, r.final_chars,
                r.content_ok ? "true" : "false", r.load_ok ? "true" : "false");
}

/// Effects: runs `f`; a crdt::error from the library (not from the file)
///   is rethrown with the file and the stage named.
template <class F>
void stage(const std::string& path, const char* what, F&& f) {
    try {
        f();
    } catch (const crdt::error& e) {
        const std::string message = e.what();
        if (message.starts_with(path)) {
            throw;
        }
        throw crdt::error(e.cause(), path + ": while " + what + ": " + message);
    }
}

int run(const options& o) {
    const crdt_tools::any_trace trace = crdt_tools::load_trace(o.path);
    report r;
    r.trace = trace_name(o.path);
    r.runs = o.runs;
    std::u32string expected;
    std::visit(
        [&](const auto& t) {
            using trace_t = std::decay_t<decltype(t)>;
            r.kind =
                std::is_same_v<trace_t, traces::concurrent_trace> ? "concurrent" : "sequential";
            r.txns = t.txns.size();
            for (const auto& txn : t.txns) {
                r.patches += txn.patches.size();
            }
            expected = t.end_content;
        },
        trace);

    std::optional<seq_t> doc;
    std::vector<double> times;
    stage(o.path, "replaying", [&] {
        for (std::size_t k = 0; k < o.runs; ++k) {
            doc.reset(); // its destruction is not timed
            times.push_back(crdt_tools::time_ms([&] {
                std::visit([&](const auto& t) { doc.emplace(replay(t, o.path)); }, trace);
            }));
        }
    });
    r.replay_ms = crdt_tools::median(times);
    const std::u32string got = crdt_tools::content_of(*doc);
    r.content_ok = got == expected;
    r.final_chars = got.size();
    r.memory_bytes = doc->memory_bytes();
    if (!r.content_ok) {
        const std::size_t at = crdt_tools::first_difference(got, expected);
        std::fprintf(stderr,
                     "trace_replay: %s: content differs from endContent at code point %zu "
                     "(expected %zu code points, got %zu)\n  expected %s\n  got      %s\n",
                     o.path.c_str(), at, expected.size(), got.size(),
                     crdt_tools::json_string(crdt_tools::excerpt(expected, at, 60)).c_str(),
                     crdt_tools::json_string(crdt_tools::excerpt(got, at, 60)).c_str());
    }

    std::vector<std::byte> bytes;
    times.clear();
    stage(o.path, "encoding", [&] {
        for (std::size_t k = 0; k < o.runs; ++k) {
            times.push_back(
                crdt_tools::time_ms([&] { bytes = crdt::encode(doc->delta_since({})); }));
        }
        r.ops = doc->delta_since({}).size();
    });
    r.encode_ms = crdt_tools::median(times);
    r.encoded_bytes = bytes.size();

    bool unpacked_ok = true;
#ifdef CRDT_WITH_ZLIB
    std::vector<std::byte> packed;
    times.clear();
    stage(o.path, "compressing the history", [&] {
        for (std::size_t k = 0; k < o.runs; ++k) {
            times.push_back(crdt_tools::time_ms([&] { packed = crdt::compress(bytes); }));
        }
    });
    r.compress_ms = crdt_tools::median(times);
    r.compressed_bytes = packed.size();
    std::vector<std::byte> unpacked;
    times.clear();
    stage(o.path, "decompressing the history", [&] {
        for (std::size_t k = 0; k < o.runs; ++k) {
            times.push_back(crdt_tools::time_ms([&] { unpacked = crdt::decompress(packed); }));
        }
    });
    r.decompress_ms = crdt_tools::median(times);
    r.have_compressed = true;
    if (unpacked != bytes) {
        std::fprintf(stderr, "trace_replay: %s: the decompressed history differs\n",
                     o.path.c_str());
        unpacked_ok = false;
    }
#endif

    std::vector<std::byte> snap;
    times.clear();
    stage(o.path, "taking a snapshot", [&] {
        for (std::size_t k = 0; k < o.runs; ++k) {
            times.push_back(crdt_tools::time_ms([&] { snap = doc->snapshot(); }));
        }
    });
    r.snapshot_ms = crdt_tools::median(times);
    r.snapshot_bytes = snap.size();

    std::optional<seq_t> loaded;
    times.clear();
    stage(o.path, "loading the snapshot", [&] {
        for (std::size_t k = 0; k < o.runs; ++k) {
            loaded.reset();
            times.push_back(crdt_tools::time_ms([&] {
                loaded.emplace(seq_t::load_snapshot(snap, crdt::agent_id("loader"), "snapshot"));
            }));
        }
    });
    r.load_ms = crdt_tools::median(times);
    r.loaded_memory_bytes = loaded->memory_bytes();
    r.load_ok = unpacked_ok && loaded->buffered() == 0 && loaded->version() == doc->version() &&
                crdt_tools::content_of(*loaded) == got;

    times.clear();
    stage(o.path, "loading the encoded history", [&] {
        for (std::size_t k = 0; k < o.runs; ++k) {
            loaded.reset();
            times.push_back(crdt_tools::time_ms([&] {
                loaded.emplace(crdt::agent_id("loader"));
                loaded->merge(crdt::decode<delta_t>(bytes, "encoded history"));
            }));
        }
    });
    r.replay_load_ms = crdt_tools::median(times);
    r.load_ok = r.load_ok && loaded->buffered() == 0 && loaded->version() == doc->version() &&
                crdt_tools::content_of(*loaded) == got;
    if (!r.load_ok) {
        std::fprintf(stderr,
                     "trace_replay: %s: a document loaded from the snapshot or the encoded "
                     "history differs from the replayed one\n",
                     o.path.c_str());
    }
    print(r);
    return r.content_ok && r.load_ok ? 0 : 1;
}

} // namespace

int main(int argc, char** argv) {
    std::string path;
    try {
        const options o = parse_options(argc, argv);
        path = o.path;
        return run(o);
    } catch (const usage_error& e) {
        std::fprintf(stderr, "trace_replay: %s\n%s\n", e.what(), usage);
    } catch (const crdt::error& e) {
        std::fprintf(stderr, "trace_replay: %s\n", e.what()); // names the file
    } catch (const std::exception& e) {
        std::fprintf(stderr, "trace_replay: %s: %s\n", path.c_str(), e.what());
    }
    return 2;
}
