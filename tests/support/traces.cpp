// Loaders for the shared editing traces and conformance cases (traces.hpp).
#include "support/traces.hpp"

#include <crdt/codec/utf8.hpp>
#include <crdt/core/error.hpp>

#include <nlohmann/json.hpp>
#include <zlib.h>

#include <filesystem>
#include <limits>
#include <memory>

namespace crdt_test::traces {
namespace {

using json = nlohmann::json;

/// Names the JSON value being read: the file and the path inside it (a chain
/// of keys and indices). Only built into a string when reporting an error, so
/// reading large files allocates nothing for it.
struct where {
    const std::string* file = nullptr;
    const where* parent = nullptr;
    std::string_view key{};
    std::size_t index = 0;
    bool is_index = false;

    where operator[](std::string_view k) const { return {file, this, k, 0, false}; }
    where operator[](std::size_t i) const { return {file, this, {}, i, true}; }

    std::string path() const {
        if (parent == nullptr) {
            return {};
        }
        std::string out = parent->path();
        if (is_index) {
            return out + "[" + std::to_string(index) + "]";
        }
        return out + (out.empty() ? "" : ".") + std::string(key);
    }
    [[noreturn]] void fail(const std::string& what) const {
        const std::string p = path();
        throw crdt::error(crdt::errc::invalid_value,
                          *file + ": " + (p.empty() ? "top level" : p) + ": " + what);
    }
};

/// Requires: `utf8` is valid UTF-8. Returns: its code points.
std::u32string decode_valid_utf8(std::string_view utf8) {
    std::u32string out;
    out.reserve(crdt::utf8::count_code_points(utf8));
    for (std::size_t i = 0; i < utf8.size();) {
        const auto lead = static_cast<unsigned char>(utf8[i]);
        const std::size_t len = lead < 0x80 ? 1 : lead < 0xe0 ? 2 : lead < 0xf0 ? 3 : 4;
        char32_t c = len == 1   ? lead
                     : len == 2 ? (lead & 0x1fu)
                     : len == 3 ? (lead & 0x0fu)
                                : (lead & 0x07u);
        for (std::size_t k = 1; k < len; ++k) {
            c = (c << 6) | (static_cast<unsigned char>(utf8[i + k]) & 0x3fu);
        }
        out.push_back(c);
        i += len;
    }
    return out;
}

const json& member(const json& object, const where& at, std::string_view key) {
    if (!object.is_object()) {
        at.fail("expected an object");
    }
    const auto it = object.find(key);
    if (it == object.end()) {
        at.fail("missing field \"" + std::string(key) + "\"");
    }
    return *it;
}

const json& array(const json& value, const where& at) {
    if (!value.is_array()) {
        at.fail("expected an array");
    }
    return value;
}

std::uint64_t unsigned_integer(const json& value, const where& at) {
    if (value.is_number_unsigned()) {
        return value.get<std::uint64_t>();
    }
    if (value.is_number_integer()) { // a negative integer
        at.fail("expected a non-negative integer, got " + value.dump());
    }
    at.fail("expected an integer, got " + value.dump());
}

std::size_t size_value(const json& value, const where& at) {
    const std::uint64_t v = unsigned_integer(value, at);
    if (v > std::numeric_limits<std::size_t>::max() / 4) {
        at.fail("value " + std::to_string(v) + " is too large");
    }
    return static_cast<std::size_t>(v);
}

std::u32string text(const json& value, const where& at) {
    if (!value.is_string()) {
        at.fail("expected a string");
    }
    const std::string& bytes = value.get_ref<const std::string&>();
    if (const auto bad = crdt::utf8::find_invalid(bytes)) {
        throw crdt::error(crdt::errc::invalid_utf8, *at.file + ": " + at.path(), *bad);
    }
    return decode_valid_utf8(bytes);
}

patch read_patch(const json& value, const where& at) {
    const json& arr = array(value, at);
    if (arr.size() != 3) {
        at.fail("expected [pos, delCount, insText], got " + std::to_string(arr.size()) +
                " elements");
    }
    patch p{size_value(arr[0], at[0]), size_value(arr[1], at[1]), text(arr[2], at[2])};
    if (p.del == 0 && p.ins.empty()) {
        at.fail("patch neither deletes nor inserts");
    }
    return p;
}

std::vector<patch> read_patches(const json& value, const where& at) {
    std::vector<patch> out;
    const json& arr = array(value, at);
    out.reserve(arr.size());
    for (std::size_t i = 0; i < arr.size(); ++i) {
        out.push_back(read_patch(arr[i], at[i]));
    }
    return out;
}

json parse_file(const std::string& path) {
    const std::string bytes = read_maybe_gzipped(path);
    try {
        return json::parse(bytes);
    } catch (const json::parse_error& e) {
        throw crdt::error(crdt::errc::invalid_value,
                          path + ": malformed JSON: " + std::string(e.what()), e.byte);
    }
}

struct gz_closer {
    void operator()(gzFile_s* f) const noexcept { gzclose(f); }
};

} // namespace

std::string shared_dir() {
    return CRDT_SHARED_DIR;
}

std::string read_maybe_gzipped(const std::string& path) {
    std::error_code ec;
    if (!std::filesystem::is_regular_file(path, ec)) {
        throw crdt::error(crdt::errc::not_found, path + ": no such file");
    }
    // gzopen reads plain files transparently as well.
    const std::unique_ptr<gzFile_s, gz_closer> file(gzopen(path.c_str(), "rb"));
    if (!file) {
        throw crdt::error(crdt::errc::io_error, path + ": cannot open");
    }
    std::string out;
    char buffer[1 << 16];
    for (;;) {
        const int n = gzread(file.get(), buffer, sizeof buffer);
        if (n < 0) {
            int code = 0;
            const char* message = gzerror(file.get(), &code);
            throw crdt::error(crdt::errc::io_error,
                              path + ": cannot decompress: " + (message ? message : "?"),
                              out.size());
        }
        if (n == 0) {
            break;
        }
        out.append(buffer, static_cast<std::size_t>(n));
    }
    // gzread returns 0 both at the end and on a stream cut short; tell them apart.
    int code = 0;
    const char* message = gzerror(file.get(), &code);
    if (code != Z_OK && code != Z_STREAM_END) {
        throw crdt::error(crdt::errc::io_error,
                          path + ": cannot decompress: " + (message ? message : "?"), out.size());
    }
    return out;
}

std::u32string to_utf32(std::string_view utf8, const std::string& context) {
    if (const auto bad = crdt::utf8::find_invalid(utf8)) {
        throw crdt::error(crdt::errc::invalid_utf8, context, *bad);
    }
    return decode_valid_utf8(utf8);
}

std::string to_utf8(std::u32string_view text) {
    std::string out;
    out.reserve(text.size());
    for (const char32_t c : text) {
        if (c < 0x80) {
            out.push_back(static_cast<char>(c));
        } else if (c < 0x800) {
            out.push_back(static_cast<char>(0xc0 | (c >> 6)));
            out.push_back(static_cast<char>(0x80 | (c & 0x3f)));
        } else if (c < 0x10000) {
            out.push_back(static_cast<char>(0xe0 | (c >> 12)));
            out.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3f)));
            out.push_back(static_cast<char>(0x80 | (c & 0x3f)));
        } else {
            out.push_back(static_cast<char>(0xf0 | (c >> 18)));
            out.push_back(static_cast<char>(0x80 | ((c >> 12) & 0x3f)));
            out.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3f)));
            out.push_back(static_cast<char>(0x80 | (c & 0x3f)));
        }
    }
    return out;
}

sequential_trace load_sequential_trace(const std::string& path) {
    const json doc = parse_file(path);
    const where root{&path};
    sequential_trace out;
    out.start_content = text(member(doc, root, "startContent"), root["startContent"]);
    out.end_content = text(member(doc, root, "endContent"), root["endContent"]);
    const where txns_at = root["txns"];
    const json& txns = array(member(doc, root, "txns"), txns_at);
    out.txns.reserve(txns.size());
    for (std::size_t i = 0; i < txns.size(); ++i) {
        const where at = txns_at[i];
        sequential_txn txn{read_patches(member(txns[i], at, "patches"), at["patches"])};
        if (txn.patches.empty()) {
            at.fail("transaction has no patches");
        }
        out.txns.push_back(std::move(txn));
    }
    return out;
}

concurrent_trace load_concurrent_trace(const std::string& path) {
    const json doc = parse_file(path);
    const where root{&path};
    concurrent_trace out;
    out.end_content = text(member(doc, root, "endContent"), root["endContent"]);
    out.num_agents = size_value(member(doc, root, "numAgents"), root["numAgents"]);
    const where txns_at = root["txns"];
    const json& txns = array(member(doc, root, "txns"), txns_at);
    out.txns.reserve(txns.size());
    for (std::size_t i = 0; i < txns.size(); ++i) {
        const where at = txns_at[i];
        concurrent_txn txn;
        const where parents_at = at["parents"];
        const json& parents = array(member(txns[i], at, "parents"), parents_at);
        for (std::size_t k = 0; k < parents.size(); ++k) {
            const std::size_t parent = size_value(parents[k], parents_at[k]);
            if (parent >= i) {
                parents_at[k].fail("parent " + std::to_string(parent) +
                                   " does not precede its transaction");
            }
            txn.parents.push_back(parent);
        }
        if (txn.parents.empty() && i != 0) {
            parents_at.fail("only the first transaction may start from the empty document");
        }
        txn.agent = size_value(member(txns[i], at, "agent"), at["agent"]);
        if (txn.agent >= out.num_agents) {
            at["agent"].fail("agent " + std::to_string(txn.agent) + " is not below numAgents " +
                             std::to_string(out.num_agents));
        }
        txn.patches = read_patches(member(txns[i], at, "patches"), at["patches"]);
        if (txn.patches.empty()) {
            at.fail("transaction has no patches");
        }
        out.txns.push_back(std::move(txn));
    }
    return out;
}

std::vector<conformance_case> load_conformance(const std::string& path) {
    const json doc = parse_file(path);
    const where root{&path};
    const json& cases = array(doc, root);
    std::vector<conformance_case> out;
    out.reserve(cases.size());
    for (std::size_t c = 0; c < cases.size(); ++c) {
        const where case_at = root[c];
        conformance_case cc;
        cc.end_content = text(member(cases[c], case_at, "endContent"), case_at["endContent"]);
        const where txns_at = case_at["txns"];
        const json& txns = array(member(cases[c], case_at, "txns"), txns_at);
        std::size_t next_lv = 0;
        for (std::size_t i = 0; i < txns.size(); ++i) {
            const where at = txns_at[i];
            const json& value = txns[i];
            conformance_txn txn;
            const where span_at = at["span"];
            const json& span = array(member(value, at, "span"), span_at);
            if (span.size() != 2) {
                span_at.fail("expected [start, end]");
            }
            txn.span_start = size_value(span[0], span_at[0]);
            txn.span_end = size_value(span[1], span_at[1]);
            if (txn.span_start != next_lv || txn.span_end <= txn.span_start) {
                span_at.fail("span [" + std::to_string(txn.span_start) + ", " +
                             std::to_string(txn.span_end) + ") does not continue at LV " +
                             std::to_string(next_lv) + " with a non-empty range");
            }
            next_lv = txn.span_end;
            const where parents_at = at["parents"];
            const json& parents = array(member(value, at, "parents"), parents_at);
            for (std::size_t k = 0; k < parents.size(); ++k) {
                const std::size_t parent = size_value(parents[k], parents_at[k]);
                if (parent >= txn.span_start) {
                    parents_at[k].fail("parent LV " + std::to_string(parent) +
                                       " does not precede the span");
                }
                txn.parents.push_back(parent);
            }
            const json& agent = member(value, at, "agent");
            if (!agent.is_string() || agent.get_ref<const std::string&>().empty()) {
                at["agent"].fail("expected a non-empty string");
            }
            txn.agent = agent.get<std::string>();
            txn.seq_start = unsigned_integer(member(value, at, "seqStart"), at["seqStart"]);
            txn.ops = read_patches(member(value, at, "ops"), at["ops"]);
            std::size_t consumed = 0;
            for (const patch& p : txn.ops) {
                consumed += p.del + p.ins.size();
            }
            if (consumed != txn.span_end - txn.span_start) {
                at.fail("ops consume " + std::to_string(consumed) + " LVs but the span holds " +
                        std::to_string(txn.span_end - txn.span_start));
            }
            cc.txns.push_back(std::move(txn));
        }
        out.push_back(std::move(cc));
    }
    return out;
}

void apply_patch(std::u32string& text, const patch& p) {
    if (p.pos > text.size() || p.del > text.size() - p.pos) {
        throw crdt::error(crdt::errc::invalid_value,
                          "patch at " + std::to_string(p.pos) + " deleting " +
                              std::to_string(p.del) + " reaches past the end of a document of " +
                              std::to_string(text.size()) + " code points");
    }
    text.replace(p.pos, p.del, p.ins);
}

} // namespace crdt_test::traces
