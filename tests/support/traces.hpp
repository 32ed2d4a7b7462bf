// tests/support/traces.hpp -- loaders for the shared editing traces and the
// sequence conformance cases (../shared/traces/FORMAT.md,
// ../shared/conformance/README.md).
//
// Every loader reads a `.json.gz` (or plain `.json`) file with zlib, parses it
// with nlohmann::json and converts it to plain structs. Text is converted to
// UTF-32 (one char32_t per code point), because every position and count in
// these files counts unicode code points.
//
// Errors: a missing file raises crdt::error(errc::not_found); an unreadable or
// corrupt gzip stream raises crdt::error(errc::io_error); malformed JSON, a
// field of the wrong type or out of range, or inconsistent indices raise
// crdt::error(errc::invalid_value); invalid UTF-8 raises
// crdt::error(errc::invalid_utf8). Every message starts with the file path
// and names the offending field (e.g. "txns[12].patches[0][1]").
//
// Complexity: linear in the size of the file. Thread safety: the functions
// share no state. Exception safety: strong (nothing is modified on failure).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace crdt_test::traces {

/// One edit `[pos, delCount, insText]`: at code point `pos`, delete `del`
/// code points, then insert `ins` at `pos` (JavaScript's splice).
struct patch {
    std::size_t pos = 0;
    std::size_t del = 0;
    std::u32string ins;
};

/// A transaction of a sequential trace: its patches, applied in order.
struct sequential_txn {
    std::vector<patch> patches;
};

/// A sequential trace: `start_content` plus every patch of every transaction,
/// in order, gives `end_content`.
struct sequential_trace {
    std::u32string start_content;
    std::u32string end_content;
    std::vector<sequential_txn> txns;
};

/// A transaction of a concurrent trace. `parents` are indices of earlier
/// transactions (strictly smaller than this one's index); the patches apply
/// to the merge of the parents' results. `agent` is in [0, num_agents).
struct concurrent_txn {
    std::vector<std::size_t> parents;
    std::size_t agent = 0;
    std::vector<patch> patches;
};

/// A concurrent trace: merging every transaction gives `end_content`.
struct concurrent_trace {
    std::size_t num_agents = 0;
    std::u32string end_content;
    std::vector<concurrent_txn> txns;
};

/// A transaction of a conformance case. It consumes the local versions (LVs)
/// [span_start, span_end), one per deleted and one per inserted code point, in
/// op order (each op's deletes before its inserts). `parents` are LVs (all
/// smaller than span_start). The id of the k-th LV of the span is
/// (agent, seq_start + k).
struct conformance_txn {
    std::size_t span_start = 0;
    std::size_t span_end = 0;
    std::vector<std::size_t> parents;
    std::string agent;
    std::uint64_t seq_start = 0;
    std::vector<patch> ops;
};

/// One conformance case: merging every transaction must give `end_content`.
struct conformance_case {
    std::u32string end_content;
    std::vector<conformance_txn> txns;
};

/// Returns: the shared data directory the tests were configured with
///   (the compile definition CRDT_SHARED_DIR).
std::string shared_dir();

/// Returns: the bytes of the file at `path`, gunzipped if it is gzip
///   compressed (plain files are returned as they are).
/// Throws: crdt::error (not_found, io_error) naming `path`.
std::string read_maybe_gzipped(const std::string& path);

/// Returns: `utf8` decoded to code points.
/// Throws: crdt::error(errc::invalid_utf8) with `context` and the byte offset.
std::u32string to_utf32(std::string_view utf8, const std::string& context);

/// Returns: `text` encoded as UTF-8.
/// Requires: every element of `text` is a Unicode scalar value.
std::string to_utf8(std::u32string_view text);

/// Returns: the sequential trace stored at `path`.
/// Throws: crdt::error as described at the top of this file.
sequential_trace load_sequential_trace(const std::string& path);

/// Returns: the concurrent trace stored at `path`.
/// Throws: crdt::error as described at the top of this file.
concurrent_trace load_concurrent_trace(const std::string& path);

/// Returns: the conformance cases stored at `path`.
/// Throws: crdt::error as described at the top of this file; also when a
///   transaction's span length differs from the code points its ops delete
///   and insert, spans are not contiguous from 0, or a parent LV is not
///   smaller than its transaction's span start.
std::vector<conformance_case> load_conformance(const std::string& path);

/// Effects: applies `p` to `text` (the plain splice; no CRDT).
/// Throws: crdt::error(errc::invalid_value) if `p` reaches past the end;
///   `text` is then unchanged.
void apply_patch(std::u32string& text, const patch& p);

} // namespace crdt_test::traces
