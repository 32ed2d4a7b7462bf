// examples/branches.cpp -- versions and branches of one text document, as in
// the CRDB scenario (a context's file edited on a main branch and on a
// feature branch, viewed at any version, merged when the user chooses).
//
// Prints each step; exits non-zero if a result differs from what the
// comments say.
#include <crdt/text.hpp>
#ifdef CRDT_WITH_ZLIB // the crdt::zlib target
#include <crdt/codec/compressed.hpp>
#endif

#include <cstdio>
#include <string>

namespace {

/// Returns: `s` with its newlines shown as \n, to print it on one line.
std::string one_line(const std::string& s) {
    std::string out;
    for (const char c : s) {
        out += c == '\n' ? std::string("\\n") : std::string(1, c);
    }
    return out;
}

bool expect(const std::string& what, const std::string& got, const std::string& want) {
    std::printf("%-26s %s\n", what.c_str(), one_line(got).c_str());
    if (got != want) {
        std::printf("  expected: %s\n", one_line(want).c_str());
        return false;
    }
    return true;
}

} // namespace

int main() {
    bool ok = true;
    crdt::text main_branch(crdt::agent_id("main"));
    main_branch.insert(0, "fn main() {}\n");
    const auto v1 = main_branch.version(); // a version names a set of ops

    // A branch costs O(1): it shares the document's op store.
    crdt::text debugger = main_branch.fork(crdt::agent_id("debugger"));
    debugger.insert(11, " debug(); ");
    main_branch.insert(0, "// zed\n");
    ok &= expect("main:", main_branch.str(), "// zed\nfn main() {}\n");
    ok &= expect("debugger:", debugger.str(), "fn main() { debug(); }\n");

    // Any version can be viewed without replaying history...
    ok &= expect("main at v1:", main_branch.str_at(v1), "fn main() {}\n");
    // ...or branched from, and edited there.
    crdt::text hotfix = main_branch.fork_at(v1, crdt::agent_id("hotfix"));
    hotfix.insert(0, "#[no_std]\n");
    ok &= expect("hotfix (from v1):", hotfix.str(), "#[no_std]\nfn main() {}\n");

    // Merging unions the ops: every branch's edits, none interleaved. The
    // two lines inserted concurrently at the start are ordered by replica
    // name ("hotfix" < "main"), the same on every replica.
    main_branch.merge(debugger);
    main_branch.merge(hotfix);
    ok &= expect("main after merges:", main_branch.str(),
                 "#[no_std]\n// zed\nfn main() { debug(); }\n");
    debugger.merge(main_branch); // the other way round converges too
    ok &= expect("debugger after merge:", debugger.str(), main_branch.str());

#ifdef CRDT_WITH_ZLIB
    // The whole history (every branch's ops), compressed for a file, brings
    // the document back, versions and all.
    const auto file = crdt::encode_compressed(main_branch.delta_since({}));
    crdt::text restored(crdt::agent_id("restored"));
    restored.merge(crdt::decode_compressed<crdt::text::delta_type>(file));
    std::printf("history file:              %zu bytes\n", file.size());
    ok &= expect("restored from the file:", restored.str(), main_branch.str());
    ok &= expect("restored at v1:", restored.str_at(v1), "fn main() {}\n");
#endif
    return ok ? 0 : 1;
}
