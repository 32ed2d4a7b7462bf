// benchmarks/tools/tool_support.hpp -- helpers shared by the trace_replay
// and conformance_check tools: the document type they replay into,
// restricting a delta to a version, timing, and JSON/text output.
//
// Everything here goes through crdt::sequence's public API only.
//
// Complexity: linear in the ops or text handled. Thread safety: no shared
// state. Exception safety: strong (values in, values out).
#pragma once

#include <crdt/codec/utf8.hpp>
#include <crdt/sequence.hpp>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace crdt_tools {

/// The document both tools replay into: code points, agents named by
/// strings (ties between concurrent inserts go to the smaller name).
using seq_t = crdt::sequence<char32_t>;
using delta_t = seq_t::delta_type;
using version_t = seq_t::version_type;

/// Returns: the ops of `d` (or their parts) that lie inside version `v`:
///   an op whose counters [c, c + n) straddle v's counter for its replica is
///   cut to its prefix [c, v]. A prefix of an insertion keeps its origins
///   (each element goes right after the previous one, all before the
///   right origin), and a prefix of an erase its first targets, so the
///   result is a valid delta. Complexity: O(ops log replicas).
inline delta_t ops_within(const delta_t& d, const version_t& v) {
    delta_t out;
    for (const auto& o : d.ops) {
        if (const auto* ins = std::get_if<seq_t::insert_op>(&o)) {
            const std::uint64_t limit = v.get(ins->id.replica);
            if (ins->id.counter > limit) {
                continue;
            }
            const std::uint64_t keep = limit - ins->id.counter + 1;
            if (keep >= ins->content.size()) {
                out.ops.push_back(o);
            } else {
                seq_t::insert_op cut = *ins;
                cut.content.resize(static_cast<std::size_t>(keep));
                out.ops.emplace_back(std::move(cut));
            }
        } else {
            const auto& del = std::get<seq_t::erase_op>(o);
            const std::uint64_t limit = v.get(del.id.replica);
            if (del.id.counter > limit) {
                continue;
            }
            seq_t::erase_op cut = del;
            cut.count = std::min(del.count, limit - del.id.counter + 1);
            out.ops.emplace_back(cut);
        }
    }
    return out;
}

/// Returns: the document's content as a string of code points.
inline std::u32string content_of(const seq_t& s) {
    const std::vector<char32_t> v = s.content();
    return std::u32string(v.begin(), v.end());
}

/// Returns: the milliseconds `f()` took (steady clock).
template <class F>
double time_ms(F&& f) {
    const auto start = std::chrono::steady_clock::now();
    f();
    const auto stop = std::chrono::steady_clock::now();
    return std::chrono::duration<double, std::milli>(stop - start).count();
}

/// Returns: the median of `xs` (the mean of the middle two for an even
///   count); 0 for none.
inline double median(std::vector<double> xs) {
    if (xs.empty()) {
        return 0;
    }
    std::sort(xs.begin(), xs.end());
    const std::size_t mid = xs.size() / 2;
    return xs.size() % 2 == 1 ? xs[mid] : (xs[mid - 1] + xs[mid]) / 2;
}

/// Returns: the bytes `s` as a JSON string literal: quotes, backslashes and
///   control characters escaped, other bytes copied (UTF-8 stays UTF-8).
inline std::string json_string(std::string_view s) {
    std::string out = "\"";
    for (const char c : s) {
        const auto b = static_cast<unsigned char>(c);
        if (c == '"' || c == '\\') {
            out.push_back('\\');
            out.push_back(c);
        } else if (c == '\n') {
            out += "\\n";
        } else if (c == '\t') {
            out += "\\t";
        } else if (c == '\r') {
            out += "\\r";
        } else if (b < 0x20) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(b));
            out += buf;
        } else {
            out.push_back(c);
        }
    }
    out.push_back('"');
    return out;
}

/// Returns: the code points `s` as a JSON string literal (see above).
inline std::string json_string(std::u32string_view s) {
    std::string utf8;
    for (const char32_t c : s) {
        crdt::utf8::append(utf8, c);
    }
    return json_string(std::string_view(utf8));
}

/// Returns: the index of the first code point where `a` and `b` differ
///   (the shorter length if one is a prefix of the other).
inline std::size_t first_difference(std::u32string_view a, std::u32string_view b) {
    const std::size_t n = std::min(a.size(), b.size());
    return static_cast<std::size_t>(
        std::mismatch(a.begin(), a.begin() + static_cast<std::ptrdiff_t>(n), b.begin()).first -
        a.begin());
}

/// Returns: at most `width` code points of `s` around position `at` (from
///   up to width / 4 before it), with "..." where text is left out.
inline std::u32string excerpt(std::u32string_view s, std::size_t at, std::size_t width) {
    const std::size_t from = at > width / 4 ? at - width / 4 : 0;
    std::u32string out = from > 0 ? U"..." : U"";
    out += s.substr(std::min(from, s.size()), width);
    if (from + width < s.size()) {
        out += U"...";
    }
    return out;
}

} // namespace crdt_tools
