// conformance_check PATH -- runs a file of sequence conformance cases
// (../shared/conformance/README.md, `.json` or `.json.gz`) through the public
// API of crdt::sequence<char32_t> and prints one line per failed case, then
// "N passed, M failed" as its last line.
//
// Each transaction is made the way its author made it: on a branch at the
// transaction's parents' version, by local erases and inserts at the
// positions the file gives, and the ops the edits return are merged into the
// documents that hold every transaction so far. A branch is a fresh sequence
// that merges the ops of the parents' version: those of each earlier
// transaction, cut to the part inside that version (tool_support.hpp).
//
// In these cases an agent often edits concurrently with itself (two
// transactions of one agent, neither an ancestor of the other), and a
// crdt::sequence replica's counters have no gaps, so no replica can hold a
// version with the later transaction of an agent but not the earlier one.
// The branches therefore name each transaction's ops by a replica of its
// own: the agent's name, the byte 0x01 and the transaction's index in eight
// digits ("a\x01" "00000007"). These names sort like (agent, index), and an
// agent's sequence numbers grow with the index, so ties between concurrent
// inserts break as they would by (agent name, sequence number). Two
// documents receive every transaction: one under these per-transaction
// names, and one under the real ids (agent, seqStart + k + 1: the file's
// sequence numbers start at 0, crdt's counters at 1). Both must equal
// endContent.
//
// Exit status: 0 if every case passes, 1 if any fails, 2 for bad arguments
// or a file that cannot be read or parsed.
#include "support/traces.hpp"
#include "tool_support.hpp"

#include <crdt/core/error.hpp>
#include <crdt/core/replica_id.hpp>
#include <crdt/sequence.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <variant>
#include <vector>

namespace {

namespace traces = crdt_test::traces;
using crdt_tools::delta_t;
using crdt_tools::seq_t;
using crdt_tools::version_t;

constexpr const char* usage = "usage: conformance_check PATH";

/// Returns: the replica name of transaction `t` on the branches.
std::string branch_name(const std::string& agent, std::size_t t) {
    char digits[24];
    std::snprintf(digits, sizeof digits, "%08zu", t);
    return agent + '\x01' + digits;
}

/// One case, replayed. Returns: an empty string if it gives endContent,
///   else what went wrong. Throws: crdt::error for a case the tool cannot
///   replay (a position past the end of the branch, an agent name the
///   branch names cannot order).
std::string check_case(const traces::conformance_case& c) {
    const auto& txns = c.txns;
    for (const auto& txn : txns) {
        if (std::any_of(txn.agent.begin(), txn.agent.end(),
                        [](char ch) { return static_cast<unsigned char>(ch) <= 1; })) {
            throw crdt::error(crdt::errc::invalid_value,
                              "agent name with a byte 0x00 or 0x01 (the branch names need them "
                              "to sort after the name)");
        }
    }
    // Which transaction holds LV `lv` (spans are contiguous from 0).
    const auto txn_of = [&](std::size_t lv) {
        const auto it = std::upper_bound(
            txns.begin(), txns.end(), lv,
            [](std::size_t x, const traces::conformance_txn& t) { return x < t.span_start; });
        return static_cast<std::size_t>(it - txns.begin()) - 1;
    };
    // start[t][u]: how many ops of transaction u (u < t) the parents'
    // version of transaction t holds (a prefix: ops of one transaction
    // depend on the earlier ones).
    std::vector<std::vector<std::size_t>> start;
    start.reserve(txns.size());
    std::unordered_map<std::string, std::size_t> txn_by_name;
    seq_t by_txn(crdt::agent_id("reader"));
    std::vector<delta_t> made_by; // the ops each transaction made (branch names)
    seq_t by_agent(crdt::agent_id("reader"));
    // Branch ids -> real ids (agent, seqStart + counter).
    const auto real_dot = [&](const seq_t::dot_type& d) {
        const traces::conformance_txn& txn = txns[txn_by_name.at(d.replica.name())];
        return seq_t::dot_type{crdt::agent_id(txn.agent), txn.seq_start + d.counter};
    };
    const auto real_op = [&](const seq_t::op& o) -> seq_t::op {
        if (const auto* ins = std::get_if<seq_t::insert_op>(&o)) {
            seq_t::insert_op out = *ins;
            out.id = real_dot(ins->id);
            if (ins->origin_left) {
                out.origin_left = real_dot(*ins->origin_left);
            }
            if (ins->origin_right) {
                out.origin_right = real_dot(*ins->origin_right);
            }
            return out;
        }
        const auto& del = std::get<seq_t::erase_op>(o);
        return seq_t::erase_op{real_dot(del.id), real_dot(del.target), del.count};
    };

    for (std::size_t t = 0; t < txns.size(); ++t) {
        const traces::conformance_txn& txn = txns[t];
        std::vector<std::size_t> have(t, 0);
        for (const std::size_t lv : txn.parents) {
            const std::size_t u = txn_of(lv);
            for (std::size_t k = 0; k < u; ++k) {
                have[k] = std::max(have[k], start[u][k]);
            }
            have[u] = std::max(have[u], lv - txns[u].span_start + 1);
        }
        version_t parents;
        for (std::size_t u = 0; u < t; ++u) {
            if (have[u] > 0) {
                parents.set(crdt::agent_id(branch_name(txns[u].agent, u)), have[u]);
            }
        }
        start.push_back(std::move(have));

        const std::string name = branch_name(txn.agent, t);
        txn_by_name.emplace(name, t);
        seq_t branch{crdt::agent_id(name)};
        delta_t base; // the ops of the parents' version, in causal order
        for (std::size_t u = 0; u < t; ++u) {
            if (start.back()[u] > 0) {
                base.merge(crdt_tools::ops_within(made_by[u], parents));
            }
        }
        branch.merge(base);
        if (branch.buffered() != 0 || branch.version() != parents) {
            return "txns[" + std::to_string(t) + "]: the branch did not reach the parents' version";
        }
        delta_t made;
        for (std::size_t j = 0; j < txn.ops.size(); ++j) {
            const traces::patch& p = txn.ops[j];
            if (p.pos > branch.size() || p.del > branch.size() - p.pos) {
                throw crdt::error(crdt::errc::invalid_value,
                                  "txns[" + std::to_string(t) + "].ops[" + std::to_string(j) +
                                      "] reaches past the end of its branch (" +
                                      std::to_string(branch.size()) + " code points)");
            }
            if (p.del > 0) {
                for (seq_t::op& o : branch.erase(p.pos, p.del)) {
                    made.push_back(std::move(o));
                }
            }
            if (!p.ins.empty()) {
                made.push_back(
                    *branch.insert(p.pos, std::span<const char32_t>(p.ins.data(), p.ins.size())));
            }
        }
        by_txn.merge(made);
        made_by.push_back(made);
        delta_t real;
        for (const seq_t::op& o : made.ops) {
            real.push_back(real_op(o));
        }
        by_agent.merge(real);
    }

    const std::u32string got = crdt_tools::content_of(by_agent);
    const std::u32string got_by_txn = crdt_tools::content_of(by_txn);
    const auto describe = [&](const char* which, const std::u32string& g) {
        const std::size_t at = crdt_tools::first_difference(c.end_content, g);
        return std::string(which) + "differs at code point " + std::to_string(at) + ": expected " +
               crdt_tools::json_string(crdt_tools::excerpt(c.end_content, at, 80)) + ", got " +
               crdt_tools::json_string(crdt_tools::excerpt(g, at, 80));
    };
    if (by_agent.buffered() != 0 || by_txn.buffered() != 0) {
        return std::to_string(by_agent.buffered() + by_txn.buffered()) +
               " ops still wait for predecessors (the file's sequence numbers have gaps)";
    }
    if (got != c.end_content) {
        return describe("", got);
    }
    if (got_by_txn != c.end_content) {
        return describe("with per-transaction replica names, ", got_by_txn);
    }
    return {};
}

int run(const std::string& path) {
    const std::vector<traces::conformance_case> cases = traces::load_conformance(path);
    std::size_t passed = 0;
    std::size_t failed = 0;
    for (std::size_t i = 0; i < cases.size(); ++i) {
        std::string why;
        try {
            why = check_case(cases[i]);
        } catch (const crdt::error& e) {
            why = std::string("cannot replay: ") + e.what();
        }
        if (why.empty()) {
            ++passed;
        } else {
            ++failed;
            std::printf("case %zu: FAILED: %s\n", i, why.c_str());
        }
    }
    std::printf("%zu passed, %zu failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}

} // namespace

int main(int argc, char** argv) {
    if (argc != 2 || std::string_view(argv[1]).starts_with("-")) {
        std::fprintf(stderr, "conformance_check: %s\n%s\n",
                     argc < 2 ? "no file given" : "expected exactly one file", usage);
        return 2;
    }
    const std::string path = argv[1];
    try {
        return run(path);
    } catch (const crdt::error& e) {
        std::fprintf(stderr, "conformance_check: %s\n", e.what()); // names the file
    } catch (const std::exception& e) {
        std::fprintf(stderr, "conformance_check: %s: %s\n", path.c_str(), e.what());
    }
    return 2;
}
