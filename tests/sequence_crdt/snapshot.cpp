// Tests of sequence snapshots (issue 5, "a snapshot that loads without
// replaying every op"): snapshot() / load_snapshot() round-trip every state
// the random histories reach (content, version, every past version, deltas,
// and what later ops do), branches with scattered local versions, the real
// traces; damaged, forged and out-of-order snapshots raise crdt::error, and
// a column count its bytes cannot hold is refused at the count's offset.
#include <crdt/codec/crc32c.hpp>
#include <crdt/codec/reader.hpp>
#include <crdt/codec/writer.hpp>
#include <crdt/core/error.hpp>
#include <crdt/sequence.hpp>
#include <crdt/sequence/snapshot.hpp>
#include <crdt/text.hpp>

#include "../support/seed.hpp"
#include "../support/traces.hpp"

#include <catch2/catch.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <random>
#include <span>
#include <string>
#include <vector>

namespace {

using seq_t = crdt::sequence<char32_t>;
namespace traces = crdt_test::traces;

std::u32string text_of(const seq_t& s) {
    const std::vector<char32_t> v = s.content();
    return std::u32string(v.begin(), v.end());
}

void insert(seq_t& s, std::size_t pos, std::u32string_view text) {
    s.insert(pos, std::span<const char32_t>(text.data(), text.size()));
}

/// Random local edits on `s`.
void edit(seq_t& s, std::mt19937_64& rng, int steps) {
    for (int i = 0; i < steps; ++i) {
        const std::size_t len = s.size();
        if (len == 0 || rng() % 3 != 0) {
            std::u32string ins;
            for (std::size_t k = 0, n = 1 + rng() % 5; k < n; ++k) {
                ins.push_back(char32_t(U'a' + rng() % 26));
            }
            insert(s, static_cast<std::size_t>(rng() % (len + 1)), ins);
        } else {
            const std::size_t pos = static_cast<std::size_t>(rng() % len);
            s.erase(pos, 1 + static_cast<std::size_t>(rng() % std::min<std::size_t>(4, len - pos)));
        }
    }
}

/// Checks that `loaded` behaves exactly as `original`: content, version,
/// content at each of `versions`, the history it sends, and the effect of
/// the same further remote ops and local edits.
void check_same(const seq_t& original, seq_t loaded,
                const std::vector<seq_t::version_type>& versions, std::mt19937_64& rng) {
    loaded.verify();
    REQUIRE(text_of(loaded) == text_of(original));
    REQUIRE(loaded.version() == original.version());
    for (const auto& v : versions) {
        REQUIRE(loaded.content_at(v) == original.content_at(v));
    }
    seq_t a(crdt::agent_id("check-a"));
    a.merge(original.delta_since({}));
    seq_t b(crdt::agent_id("check-b"));
    b.merge(loaded.delta_since({}));
    REQUIRE(text_of(a) == text_of(b));
    // Concurrent ops from a peer integrate the same way in both.
    // (Fresh replica names: `original` may share its op store with others.)
    static int calls = 0;
    ++calls;
    seq_t peer = original.fork_at(versions[rng() % versions.size()],
                                  crdt::agent_id("peer" + std::to_string(calls)));
    edit(peer, rng, 6);
    seq_t o = original.fork(crdt::agent_id("o" + std::to_string(calls)));
    o.merge(peer.delta_since({}));
    loaded.merge(peer.delta_since({}));
    REQUIRE(text_of(loaded) == text_of(o));
    loaded.verify();
}

} // namespace

TEST_CASE("sequence snapshot: random concurrent histories round-trip") {
    const std::uint64_t seed = crdt_test::seed(71);
    CAPTURE(seed);
    std::mt19937_64 rng(seed);
    for (int round = 0; round < 12; ++round) {
        CAPTURE(round);
        std::vector<seq_t> reps;
        for (int r = 0; r < 3; ++r) {
            reps.emplace_back(crdt::agent_id(std::string(1, static_cast<char>('p' + r))));
        }
        std::vector<seq_t::version_type> versions{{}};
        for (int step = 0; step < 10; ++step) {
            seq_t& s = reps[rng() % reps.size()];
            edit(s, rng, 1 + static_cast<int>(rng() % 4));
            if (rng() % 2 == 0) { // concurrent deletes and inserts meet here
                const seq_t& from = reps[rng() % reps.size()];
                s.merge(from.delta_since(s.version()));
            }
            versions.push_back(s.version());
        }
        seq_t all(crdt::agent_id("all"));
        for (const seq_t& s : reps) {
            all.merge(s);
        }
        const auto bytes = all.snapshot();
        check_same(all, seq_t::load_snapshot(bytes, crdt::agent_id("all")), versions, rng);
        // The loaded document edits on as its replica.
        seq_t again = seq_t::load_snapshot(bytes, crdt::agent_id("all"));
        insert(again, 0, U"<");
        again.verify();
        CHECK(text_of(again) == U"<" + text_of(all));
    }
}

TEST_CASE("sequence snapshot: branches with scattered local versions") {
    const std::uint64_t seed = crdt_test::seed(72);
    CAPTURE(seed);
    std::mt19937_64 rng(seed);
    seq_t main(crdt::agent_id("m"));
    edit(main, rng, 20);
    const auto v1 = main.version();
    seq_t b = main.fork(crdt::agent_id("b"));
    edit(main, rng, 10); // main's LVs now sit between b's
    edit(b, rng, 10);
    edit(main, rng, 10);
    b.merge(main.delta_since(v1));
    edit(b, rng, 5);
    const std::vector<seq_t::version_type> versions{{}, v1, main.version(), b.version()};
    check_same(b, seq_t::load_snapshot(b.snapshot(), crdt::agent_id("b")), versions, rng);
    // Columns are written over ranks, so a branch whose LVs are scattered
    // among other branches' writes the same bytes as a replica that holds
    // the same ops in a store of its own.
    seq_t own(crdt::agent_id("own"));
    own.merge(b.delta_since({}));
    CHECK(!own.shares_history(b));
    CHECK(own.snapshot() == b.snapshot());
    seq_t past = b.fork_at(v1, crdt::agent_id("q"));
    check_same(past, seq_t::load_snapshot(past.snapshot(), crdt::agent_id("q")), {{}, v1}, rng);
    seq_t empty(crdt::agent_id("e"));
    const seq_t loaded = seq_t::load_snapshot(empty.snapshot(), crdt::agent_id("e"));
    CHECK(loaded.size() == 0);
    loaded.verify();
}

TEST_CASE("text snapshot: UTF-8 text round-trips") {
    crdt::text t(crdt::agent_id("a"));
    t.insert(0, "caf\xC3\xA9 \xF0\x9F\x98\x80 na\xC3\xAFve");
    t.erase(2, 3);
    t.insert(1, "\xE4\xB8\xAD");
    const crdt::text u = crdt::text::load_snapshot(t.snapshot(), crdt::agent_id("a"));
    CHECK(u.str() == t.str());
    CHECK(u.size_utf16() == t.size_utf16());
    CHECK(u.line_count() == t.line_count());
    u.verify();
}

TEST_CASE("sequence snapshot: damaged and forged bytes raise crdt::error") {
    seq_t s(crdt::agent_id("a"));
    insert(s, 0, U"hello world");
    s.erase(3, 4);
    seq_t other(crdt::agent_id("b"));
    other.merge(s.delta_since({}));
    insert(other, 2, U"XY");
    s.merge(other);
    const auto good = s.snapshot();
    const auto cause = [](std::span<const std::byte> bytes) {
        try {
            (void)seq_t::load_snapshot(bytes, crdt::agent_id("r"), "snap");
        } catch (const crdt::error& e) {
            CHECK(std::string(e.what()).find("snap") != std::string::npos);
            return e.cause();
        }
        return crdt::errc{};
    };
    CHECK(cause(good) == crdt::errc{});
    for (std::size_t n = 0; n < good.size(); ++n) { // every truncation
        CAPTURE(n);
        CHECK(cause(std::span(good).first(n)) != crdt::errc{});
    }
    for (std::size_t i = 0; i < good.size(); ++i) { // every bit flip of a byte
        auto bad = good;
        bad[i] ^= std::byte{0x10};
        CHECK(cause(bad) == crdt::errc::checksum_mismatch);
    }
    // Well-formed (correct CRC) but wrong: re-sealed after editing.
    const auto seal = [](std::vector<std::byte> body) {
        crdt::byte_writer w;
        w.raw(body);
        w.fixed<std::uint32_t>(crdt::crc32c(w.view()));
        return w.take();
    };
    auto body = std::vector<std::byte>(good.begin(), good.end() - 4);
    auto magic = body;
    magic[0] = std::byte{'X'};
    CHECK(cause(seal(magic)) == crdt::errc::bad_magic);
    auto future = body;
    future[4] = std::byte{3};
    CHECK(cause(seal(future)) == crdt::errc::unsupported_version);
    auto trailing = body;
    trailing.push_back(std::byte{0});
    CHECK(cause(seal(trailing)) == crdt::errc::trailing_bytes);
    // Well-formed framing around wrong columns: every byte changed and
    // every truncation, re-sealed with a correct CRC, either raises
    // crdt::error or loads a document whose invariants hold. Counting the
    // causes shows the column checks are reached.
    std::size_t rejected = 0;
    std::size_t loaded = 0;
    const auto probe = [&](std::vector<std::byte> bytes) {
        try {
            const seq_t got = seq_t::load_snapshot(seal(std::move(bytes)), crdt::agent_id("r"));
            got.verify();
            seq_t copy(crdt::agent_id("c"));
            copy.merge(got.delta_since({}));
            copy.verify();
            ++loaded;
        } catch (const crdt::error&) {
            ++rejected;
        }
    };
    for (std::size_t i = 4; i < body.size(); ++i) {
        for (const unsigned x : {0x01u, 0x02u, 0x40u, 0x80u, 0xFFu}) {
            auto bad = body;
            bad[i] ^= static_cast<std::byte>(x);
            probe(bad);
        }
        probe(std::vector<std::byte>(body.begin(), body.begin() + static_cast<std::ptrdiff_t>(i)));
    }
    CHECK(rejected > body.size());
    CAPTURE(loaded);
}

TEST_CASE("sequence snapshot: a forged order placing one element many times is refused") {
    // A CRC-valid snapshot: n inserts of one agent, n deletes all of element
    // 0 (n - 1 of them concurrent extras), then n runs each placing element
    // 0. It must be refused ("an element appears twice") with the offset of
    // the document order, and in linear time: the loader once walked every
    // extra delete of element 0 for every run (n * n steps; with n = 40,000
    // seconds instead of milliseconds).
    constexpr std::uint64_t n = 40000;
    crdt::byte_writer w;
    w.raw(std::as_bytes(std::span<const char>("CSQS", 4)));
    w.varint(2);     // format
    w.varint(2 * n); // ops
    w.varint(1);     // agents
    crdt::codec<crdt::agent_id>::encode(w, crdt::agent_id("a"));
    w.varint(1); // id spans: agent 0, seq 0, all ops
    w.varint(0);
    w.varint(2 * n);
    w.byte(1); // kinds: n inserts, then n deletes
    w.varint(2);
    w.varint(n);
    w.varint(n);
    w.varint(n); // content
    for (std::uint64_t i = 0; i < n; ++i) {
        w.byte(static_cast<std::uint8_t>('a'));
    }
    w.varint(n); // delete spans, each one element, each targeting element 0
    for (std::uint64_t i = 0; i < n; ++i) {
        w.zigzag(i == 0 ? 0 : -1);
        w.varint(2);
    }
    const std::size_t order_at = w.size();
    w.varint(n); // document order: n runs (start 0, length 1, no origins)
    for (std::uint64_t i = 0; i < n; ++i) {
        w.zigzag(i == 0 ? 0 : -1);
        w.varint(1);
        w.varint(0);
        w.varint(0);
    }
    w.fixed<std::uint32_t>(crdt::crc32c(w.view()));
    const auto bytes = w.take();
    try {
        (void)seq_t::load_snapshot(bytes, crdt::agent_id("r"), "forged");
        FAIL("a forged document order loaded");
    } catch (const crdt::error& e) {
        CHECK(e.cause() == crdt::errc::invalid_value);
        CHECK(std::string(e.what()).find("appears twice") != std::string::npos);
        CHECK(e.offset() == order_at);
    }
}

namespace {

/// A count of a snapshot's columns: its name (as the decoder's errors give
/// it), the byte offset of its varint, its value, and the fewest bytes one
/// of its items takes (as snapshot_codec::decode checks it).
struct column_count {
    const char* field;
    std::size_t at;
    std::uint64_t value;
    std::size_t min_item_bytes;
};

/// Returns: the id span, delete span and run counts of the snapshot body
///   `body` (a sequence<char32_t> snapshot without its CRC), found by
///   reading its columns as snapshot_codec::decode does.
std::vector<column_count> column_counts(std::span<const std::byte> body) {
    crdt::byte_reader r(body, "snapshot body");
    (void)r.raw(4);   // magic
    (void)r.varint(); // format
    (void)r.varint(); // ops
    const std::uint64_t agents = r.varint();
    for (std::uint64_t i = 0; i < agents; ++i) {
        (void)crdt::codec<crdt::agent_id>::decode(r);
    }
    std::vector<column_count> out;
    const auto count = [&](const char* field, std::size_t min_item_bytes) {
        const std::size_t at = r.offset();
        out.push_back({field, at, r.varint(), min_item_bytes});
        return out.back().value;
    };
    for (std::uint64_t i = 0, n = count("id span count", 2); i < n; ++i) {
        (void)r.varint(); // agent index
        (void)r.varint(); // length
    }
    (void)r.byte(); // first kind
    for (std::uint64_t i = 0, n = r.varint(); i < n; ++i) {
        (void)r.varint();
    }
    (void)r.raw(static_cast<std::size_t>(r.varint())); // content: UTF-8 byte length, text
    for (std::uint64_t i = 0, n = count("delete span count", 2); i < n; ++i) {
        (void)r.zigzag(); // target gap
        (void)r.varint(); // 2 * length + descending
    }
    for (std::uint64_t i = 0, n = count("run count", 4); i < n; ++i) {
        (void)r.zigzag(); // start gap
        (void)r.varint(); // length
        (void)r.varint(); // origin-left code
        (void)r.varint(); // origin-right code
    }
    REQUIRE(r.empty());
    return out;
}

/// Returns: `body` with the varint at byte `at` replaced by `value`; `tail`
///   gets the number of bytes after that varint (what a decoder has left
///   once it has read the count).
std::vector<std::byte> with_varint(std::span<const std::byte> body, std::size_t at,
                                   std::uint64_t value, std::size_t& tail) {
    crdt::byte_reader old(body.subspan(at), "count");
    (void)old.varint();
    const std::size_t end = at + old.offset();
    tail = body.size() - end;
    crdt::byte_writer w;
    w.raw(body.first(at));
    w.varint(value);
    w.raw(body.subspan(end));
    return w.take();
}

std::vector<std::byte> seal(std::span<const std::byte> body) {
    crdt::byte_writer w;
    w.raw(body);
    w.fixed<std::uint32_t>(crdt::crc32c(w.view()));
    return w.take();
}

/// The error loading `bytes` raises (errc{} and no offset if it loads).
struct load_error {
    crdt::errc cause{};
    std::optional<std::size_t> offset;
    std::string message;
};

load_error load_error_of(std::span<const std::byte> bytes) {
    try {
        const seq_t s = seq_t::load_snapshot(bytes, crdt::agent_id("r"), "forged");
        s.verify();
    } catch (const crdt::error& e) {
        return {e.cause(), e.offset(), e.what()};
    }
    return {};
}

} // namespace

TEST_CASE("sequence snapshot: a column count the bytes left cannot hold is refused at its offset") {
    // A real snapshot: two agents (two id spans), deletes (delete spans),
    // concurrent inserts (several runs). Each of its three counts (id
    // spans, delete spans, runs) is forged to one more item than the bytes
    // after it hold at the smallest item size (2, 2 and 4 bytes), yet no
    // more than those bytes: byte_reader::length alone accepts it, and the
    // decoder would reserve for it. It must be refused by that count's
    // check, with length_out_of_range at the count's own offset.
    seq_t s(crdt::agent_id("a"));
    insert(s, 0, U"the quick brown fox");
    s.erase(4, 6);
    seq_t other(crdt::agent_id("b"));
    other.merge(s.delta_since({}));
    insert(other, 3, U"XYZ");
    insert(s, 0, U">>");
    s.erase(10, 2);
    s.merge(other);
    const auto good = s.snapshot();
    const std::span<const std::byte> body(good.data(), good.size() - 4);
    const std::vector<column_count> counts = column_counts(body);
    REQUIRE(counts.size() == 3);
    CHECK(counts[0].value >= 2); // the structure the forgeries keep
    CHECK(counts[1].value >= 1);
    CHECK(counts[2].value >= 2);

    // The honest snapshot loads; re-encoding a count at its own value (the
    // path the forgeries take) gives the same bytes.
    const load_error honest = load_error_of(good);
    CAPTURE(honest.message);
    REQUIRE(honest.cause == crdt::errc{});
    CHECK(text_of(seq_t::load_snapshot(good, crdt::agent_id("r"))) == text_of(s));
    for (const column_count& c : counts) {
        std::size_t tail = 0;
        CHECK(seal(with_varint(body, c.at, c.value, tail)) == good);
    }

    for (const column_count& c : counts) {
        CAPTURE(c.field, c.at, c.value);
        std::size_t tail = 0;
        (void)with_varint(body, c.at, c.value, tail);
        const std::uint64_t most = tail / c.min_item_bytes; // the most items the tail can hold
        const std::uint64_t forged = most + 1;
        CAPTURE(tail, forged);
        REQUIRE(forged > c.value);
        REQUIRE(forged <= tail); // within byte_reader::length's bound
        const load_error e = load_error_of(seal(with_varint(body, c.at, forged, tail)));
        CAPTURE(e.message, e.offset.value_or(SIZE_MAX));
        CHECK(e.cause == crdt::errc::length_out_of_range);
        CHECK(e.offset == c.at);
        CHECK(e.message.find(c.field) != std::string::npos);
        // The most the tail can hold passes this check (the snapshot may
        // still be refused later, elsewhere, or load if it is the honest
        // count).
        const load_error at_most = load_error_of(seal(with_varint(body, c.at, most, tail)));
        CAPTURE(at_most.message);
        CHECK_FALSE((at_most.cause == crdt::errc::length_out_of_range && at_most.offset == c.at));
    }
}

#if CRDT_SEQUENCE_HAVE_SHARED_DATA
TEST_CASE("sequence snapshot: runs of different agents that continue each other stay apart") {
    // b types 'y' right after a's 'x': one insertion follows the other, so a
    // snapshot may store them as one run record; loaded, they must still be
    // two runs (a run is one agent's consecutive ids), or an erase of both
    // would make one op naming a's ids for b's element.
    seq_t a(crdt::agent_id("a"));
    seq_t b(crdt::agent_id("b"));
    b.apply(a.insert(0, U'x'));
    a.apply(b.insert(1, U'y'));
    b.apply(a.insert(2, U'z')); // and a's again after b's
    seq_t loaded = seq_t::load_snapshot(a.snapshot(), crdt::agent_id("a"));
    loaded.verify();
    REQUIRE(text_of(loaded) == U"xyz");
    for (const auto& o : loaded.erase(0, 3)) {
        b.apply(o);
    }
    REQUIRE(text_of(loaded).empty());
    REQUIRE(text_of(b).empty());
    b.verify();
    // A snapshot of the loaded document loads the same again.
    seq_t again = seq_t::load_snapshot(loaded.snapshot(), crdt::agent_id("c"));
    again.verify();
    REQUIRE(text_of(again).empty());
}

TEST_CASE("sequence snapshot: automerge-paper prefix round-trips") {
    const auto trace =
        traces::load_sequential_trace(traces::shared_dir() + "/traces/automerge-paper.json.gz");
    seq_t s(crdt::agent_id("agent"));
    std::vector<seq_t::version_type> versions{{}};
    for (std::size_t t = 0; t < 8000 && t < trace.txns.size(); ++t) {
        for (const auto& p : trace.txns[t].patches) {
            if (p.del > 0) {
                s.erase(p.pos, p.del);
            }
            if (!p.ins.empty()) {
                insert(s, p.pos, p.ins);
            }
        }
        if (t % 1000 == 0) {
            versions.push_back(s.version());
        }
    }
    std::mt19937_64 rng(crdt_test::seed(73));
    check_same(s, seq_t::load_snapshot(s.snapshot(), crdt::agent_id("agent")), versions, rng);
}
#endif
