// Replays the shared editing traces through crdt::sequence<char32_t>:
// automerge-paper and seph-blog1 as local edits, with a gap buffer of code
// points (a std::vector<char32_t> whose gap moves to each edit; the
// non-CRDT floor) replaying the same patches as the baseline in the same
// run; friendsforever as a merge (every op of both agents integrated by id,
// ops made once by the reference model in tests/support/fugue_model.hpp).
// Both replays check their result against endContent. Counters: memory held
// by the final document in bytes per inserted character, and the number of
// runs. Also content_at() at 1%, 10%, 50% and 100% of automerge-paper's
// history, next to content().
//
// The traces are read from CRDT_SHARED_DIR through `gzip -dc` (no zlib link)
// and parsed with the system nlohmann/json.hpp (header-only).
#include <crdt/sequence.hpp>

#include "trace_input.hpp"

#include "../../tests/support/fugue_model.hpp"

#include <benchmark/benchmark.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdio>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

using crdt_bench::patch;
struct trace {
    std::vector<patch> patches;
    std::u32string end;
    std::size_t inserted = 0;
};

const trace& sequential(const std::string& name) {
    static std::map<std::string, trace> cache;
    auto it = cache.find(name);
    if (it == cache.end()) {
        const nlohmann::json j = crdt_bench::load_trace_json(name);
        trace t;
        t.end = crdt_bench::decode_utf8(j.at("endContent").get<std::string>());
        for (const auto& txn : j.at("txns")) {
            for (const auto& p : txn.at("patches")) {
                t.patches.push_back({p.at(0).get<std::size_t>(), p.at(1).get<std::size_t>(),
                                     crdt_bench::decode_utf8(p.at(2).get<std::string>())});
                t.inserted += t.patches.back().ins.size();
            }
        }
        it = cache.emplace(name, std::move(t)).first;
    }
    return it->second;
}

using seq_t = crdt::sequence<char32_t>;

void replay_crdt(benchmark::State& state, const std::string& name) {
    const trace& t = sequential(name);
    std::size_t bytes = 0;
    std::size_t runs = 0;
    for (auto _ : state) {
        seq_t s(crdt::agent_id("agent"));
        for (const patch& p : t.patches) {
            if (p.del > 0) {
                s.erase(p.pos, p.del);
            }
            if (!p.ins.empty()) {
                s.insert(p.pos, std::span<const char32_t>(p.ins.data(), p.ins.size()));
            }
        }
        state.PauseTiming();
        const auto c = s.content();
        const bool ok = std::u32string(c.begin(), c.end()) == t.end;
        bytes = s.memory_bytes();
        runs = s.engine().tree().statistics().items;
        state.ResumeTiming();
        if (!ok) { // (SkipWithError must not be followed by ResumeTiming)
            state.SkipWithError("content differs from endContent");
            break;
        }
    }
    state.counters["patches"] = static_cast<double>(t.patches.size());
    state.counters["bytes_per_inserted_char"] =
        static_cast<double>(bytes) / static_cast<double>(t.inserted);
    state.counters["memory_bytes"] = static_cast<double>(bytes);
    state.counters["runs"] = static_cast<double>(runs);
}

/// A gap buffer of code points: the text is buf_[0, gap_begin_) followed
/// by buf_[gap_end_, size); an edit first moves the gap to its position
/// (O(distance moved)), then deletes by widening the gap and inserts by
/// filling it (growing the buffer by doubling when it is full).
class gap_buffer {
public:
    std::size_t size() const noexcept { return buf_.size() - (gap_end_ - gap_begin_); }

    /// Requires: pos + del <= size().
    void splice(std::size_t pos, std::size_t del, const std::u32string& ins) {
        move_gap(pos);
        gap_end_ += del;
        if (gap_end_ - gap_begin_ < ins.size()) {
            grow(ins.size());
        }
        std::copy(ins.begin(), ins.end(), buf_.begin() + static_cast<std::ptrdiff_t>(gap_begin_));
        gap_begin_ += ins.size();
    }

    std::u32string content() const {
        std::u32string out(buf_.begin(), buf_.begin() + static_cast<std::ptrdiff_t>(gap_begin_));
        out.append(buf_.begin() + static_cast<std::ptrdiff_t>(gap_end_), buf_.end());
        return out;
    }

private:
    using diff_t = std::ptrdiff_t;

    void move_gap(std::size_t pos) {
        const auto b = buf_.begin();
        if (pos < gap_begin_) { // text [pos, gap_begin_) moves to the gap's end
            const std::size_t n = gap_begin_ - pos;
            std::copy_backward(b + static_cast<diff_t>(pos), b + static_cast<diff_t>(gap_begin_),
                               b + static_cast<diff_t>(gap_end_));
            gap_begin_ -= n;
            gap_end_ -= n;
        } else if (pos > gap_begin_) { // text after the gap moves to its start
            const std::size_t n = pos - gap_begin_;
            std::copy(b + static_cast<diff_t>(gap_end_), b + static_cast<diff_t>(gap_end_ + n),
                      b + static_cast<diff_t>(gap_begin_));
            gap_begin_ += n;
            gap_end_ += n;
        }
    }

    /// Effects: makes the gap at least `need` long (the text keeps its place
    ///   before the gap; the text after it moves to the new end).
    void grow(std::size_t need) {
        const std::size_t tail = buf_.size() - gap_end_;
        const std::size_t cap = std::max<std::size_t>({64, 2 * buf_.size(), size() + need + 64});
        std::vector<char32_t> bigger(cap);
        std::copy(buf_.begin(), buf_.begin() + static_cast<diff_t>(gap_begin_), bigger.begin());
        std::copy(buf_.end() - static_cast<diff_t>(tail), buf_.end(),
                  bigger.end() - static_cast<diff_t>(tail));
        buf_ = std::move(bigger);
        gap_end_ = buf_.size() - tail;
    }

    std::vector<char32_t> buf_;
    std::size_t gap_begin_ = 0;
    std::size_t gap_end_ = 0;
};

void replay_gap_buffer(benchmark::State& state, const std::string& name) {
    const trace& t = sequential(name);
    for (auto _ : state) {
        gap_buffer g;
        for (const patch& p : t.patches) {
            g.splice(p.pos, p.del, p.ins);
        }
        benchmark::DoNotOptimize(&g);
        state.PauseTiming();
        const bool ok = g.content() == t.end;
        state.ResumeTiming();
        if (!ok) {
            state.SkipWithError("content differs from endContent");
            break;
        }
    }
    state.counters["patches"] = static_cast<double>(t.patches.size());
}

struct merge_input {
    std::vector<seq_t::op> ops;
    std::u32string end;
    std::size_t inserted = 0;
};

const merge_input& friendsforever() {
    static const merge_input in = [] {
        const nlohmann::json j = crdt_bench::load_trace_json("friendsforever");
        crdt_test::fugue::model m;
        std::vector<crdt_test::fugue::version> ends;
        merge_input out;
        out.end = crdt_bench::decode_utf8(j.at("endContent").get<std::string>());
        for (const auto& txn : j.at("txns")) {
            crdt_test::fugue::version v;
            for (const auto& parent : txn.at("parents")) {
                v.merge(ends.at(parent.get<std::size_t>()));
            }
            const std::string agent = "agent" + std::to_string(txn.at("agent").get<int>());
            for (const auto& p : txn.at("patches")) {
                const auto pos = p.at(0).get<std::size_t>();
                for (std::size_t k = p.at(1).get<std::size_t>(); k > 0; --k) {
                    const crdt_test::fugue::op_id id{agent, m.next_seq(agent)};
                    m.local_erase(id, pos, &v);
                    v.insert(id);
                }
                const std::u32string ins = crdt_bench::decode_utf8(p.at(2).get<std::string>());
                for (std::size_t k = 0; k < ins.size(); ++k) {
                    const crdt_test::fugue::op_id id{agent, m.next_seq(agent)};
                    m.local_insert(id, pos + k, ins[k], &v);
                    v.insert(id);
                }
                out.inserted += ins.size();
            }
            ends.push_back(std::move(v));
        }
        for (const auto& o : m.log()) {
            const auto dot = [](const crdt_test::fugue::op_id& id) {
                return seq_t::dot_type{crdt::agent_id(id.agent), id.seq + 1};
            };
            if (const auto* ins = std::get_if<crdt_test::fugue::insert_op>(&o)) {
                seq_t::insert_op x;
                x.id = dot(ins->id);
                if (ins->origin_left) {
                    x.origin_left = dot(*ins->origin_left);
                }
                if (ins->origin_right) {
                    x.origin_right = dot(*ins->origin_right);
                }
                x.content = {ins->content};
                out.ops.emplace_back(std::move(x));
            } else {
                const auto& d = std::get<crdt_test::fugue::delete_op>(o);
                out.ops.emplace_back(seq_t::erase_op{dot(d.id), dot(d.target), 1});
            }
        }
        return out;
    }();
    return in;
}

void BM_merge_friendsforever(benchmark::State& state) {
    const merge_input& in = friendsforever();
    std::size_t bytes = 0;
    for (auto _ : state) {
        seq_t s(crdt::agent_id("reader"));
        for (const auto& o : in.ops) {
            s.apply(o);
        }
        state.PauseTiming();
        const auto c = s.content();
        const bool ok = std::u32string(c.begin(), c.end()) == in.end;
        bytes = s.memory_bytes();
        state.ResumeTiming();
        if (!ok) {
            state.SkipWithError("content differs from endContent");
            break;
        }
    }
    state.counters["ops"] = static_cast<double>(in.ops.size());
    state.counters["bytes_per_inserted_char"] =
        static_cast<double>(bytes) / static_cast<double>(in.inserted);
}

/// content_at(v) on the final automerge-paper document for v at `percent`%
/// of its history (the three-way walk), next to content() at 100%.
void content_at_version(benchmark::State& state) {
    const trace& t = sequential("automerge-paper");
    static std::unique_ptr<seq_t> doc;
    static std::vector<seq_t::version_type> versions;
    if (!doc) {
        doc = std::make_unique<seq_t>(crdt::agent_id("agent"));
        for (std::size_t i = 0; i < t.patches.size(); ++i) {
            const patch& p = t.patches[i];
            if (p.del > 0) {
                doc->erase(p.pos, p.del);
            }
            if (!p.ins.empty()) {
                doc->insert(p.pos, std::span<const char32_t>(p.ins.data(), p.ins.size()));
            }
            for (const std::size_t pct : {1u, 10u, 50u}) {
                if (i + 1 == t.patches.size() * pct / 100) {
                    versions.push_back(doc->version());
                }
            }
        }
        versions.push_back(doc->version());
    }
    const auto& v = versions.at(static_cast<std::size_t>(state.range(0)));
    std::size_t n = 0;
    for (auto _ : state) {
        const auto c = doc->content_at(v);
        n = c.size();
        benchmark::DoNotOptimize(c.data());
    }
    state.counters["chars"] = static_cast<double>(n);
}

void content_now(benchmark::State& state) {
    const trace& t = sequential("automerge-paper");
    seq_t doc(crdt::agent_id("agent"));
    for (const patch& p : t.patches) {
        if (p.del > 0) {
            doc.erase(p.pos, p.del);
        }
        if (!p.ins.empty()) {
            doc.insert(p.pos, std::span<const char32_t>(p.ins.data(), p.ins.size()));
        }
    }
    for (auto _ : state) {
        const auto c = doc.content();
        benchmark::DoNotOptimize(c.data());
    }
}

} // namespace

BENCHMARK(content_at_version)
    ->ArgName("version_1_10_50_100pct")
    ->DenseRange(0, 3)
    ->Unit(benchmark::kMicrosecond);
BENCHMARK(content_now)->Unit(benchmark::kMicrosecond);

BENCHMARK_CAPTURE(replay_gap_buffer, automerge_paper, std::string("automerge-paper"))
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(replay_crdt, automerge_paper, std::string("automerge-paper"))
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(replay_gap_buffer, seph_blog1, std::string("seph-blog1"))
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(replay_crdt, seph_blog1, std::string("seph-blog1"))
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_merge_friendsforever)->Unit(benchmark::kMillisecond);

BENCHMARK_MAIN();
