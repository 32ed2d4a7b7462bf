// benchmarks/sequence/trace_input.hpp -- the shared editing traces as the
// sequence benchmarks read them: gunzipped through `gzip -dc` (no zlib
// link), parsed with the system nlohmann/json.hpp (header-only), text turned
// into code points, and a patch applied to a sequence as local edits.
//
// Traces are trusted input here (the shared, checked files); a missing file
// or a failed pipe throws std::runtime_error.
#pragma once

#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdio>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

namespace crdt_bench {

/// One patch `[pos, del, ins]` of a trace, positions in code points.
struct patch {
    std::size_t pos = 0;
    std::size_t del = 0;
    std::u32string ins;
};

/// Returns: the code points of the UTF-8 text `s`.
/// Throws: std::runtime_error if a sequence is cut off.
inline std::u32string decode_utf8(const std::string& s) {
    std::u32string out;
    out.reserve(s.size());
    for (std::size_t i = 0; i < s.size();) {
        const auto lead = static_cast<unsigned char>(s[i]);
        const std::size_t len = lead < 0x80 ? 1 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4;
        if (i + len > s.size()) {
            throw std::runtime_error("trace: truncated UTF-8");
        }
        char32_t c = len == 1   ? lead
                     : len == 2 ? (lead & 0x1Fu)
                     : len == 3 ? (lead & 0x0Fu)
                                : (lead & 0x07u);
        for (std::size_t k = 1; k < len; ++k) {
            c = (c << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3Fu);
        }
        out.push_back(c);
        i += len;
    }
    return out;
}

/// Returns: the parsed JSON of CRDT_SHARED_DIR/traces/<name>.json.gz.
inline nlohmann::json load_trace_json(const std::string& name) {
    const std::string cmd =
        "gzip -dc '" + std::string(CRDT_SHARED_DIR) + "/traces/" + name + ".json.gz'";
    std::unique_ptr<FILE, int (*)(FILE*)> pipe(popen(cmd.c_str(), "r"), pclose);
    if (!pipe) {
        throw std::runtime_error("cannot run " + cmd);
    }
    std::string text;
    char buf[1 << 16];
    for (std::size_t n = 0; (n = std::fread(buf, 1, sizeof buf, pipe.get())) > 0;) {
        text.append(buf, n);
    }
    return nlohmann::json::parse(text);
}

/// Returns: the patches of one transaction's JSON array.
inline std::vector<patch> patches_of(const nlohmann::json& patches) {
    std::vector<patch> out;
    for (const auto& p : patches) {
        out.push_back({p.at(0).get<std::size_t>(), p.at(1).get<std::size_t>(),
                       decode_utf8(p.at(2).get<std::string>())});
    }
    return out;
}

/// Returns: every patch of a sequential trace, in order.
inline std::vector<patch> sequential_patches(const nlohmann::json& trace) {
    std::vector<patch> out;
    for (const auto& txn : trace.at("txns")) {
        for (patch& p : patches_of(txn.at("patches"))) {
            out.push_back(std::move(p));
        }
    }
    return out;
}

/// Effects: applies `p` to `s` as a local erase, then a local insert.
template <class Seq>
void apply_patch(Seq& s, const patch& p) {
    if (p.del > 0) {
        s.erase(p.pos, p.del);
    }
    if (!p.ins.empty()) {
        s.insert(p.pos, std::span<const char32_t>(p.ins.data(), p.ins.size()));
    }
}

} // namespace crdt_bench
