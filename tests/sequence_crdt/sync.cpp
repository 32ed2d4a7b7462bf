// Tests of the sync side of crdt::sequence and crdt::text: deltas
// (delta_since, merge), their codec, and replicas carrying text.
#include <crdt/sequence.hpp>
#include <crdt/sequence/delta.hpp>
#include <crdt/storage/memory_storage.hpp>
#include <crdt/store/replica.hpp>
#include <crdt/sync/concepts.hpp>
#include <crdt/testing/codec_laws.hpp>
#include <crdt/text.hpp>
#include <crdt/transport/loopback.hpp>

#include "../support/seed.hpp"
#include "../support/traces.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <random>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

static_assert(crdt::syncable<crdt::text>);
static_assert(crdt::syncable<crdt::sequence<int>>);
static_assert(crdt::syncable<crdt::sequence<char32_t>>);
static_assert(crdt::mutator_deltas_commute<crdt::text>);
static_assert(crdt::mutator_deltas_commute<crdt::sequence<int>>);
static_assert(std::is_same_v<crdt::delta_t<crdt::text>, crdt::sequence<char32_t>::delta_type>);
namespace {
struct no_codec {
    int x = 0;
};
} // namespace
// A sequence of elements with no codec still works, but has no delta codec.
static_assert(!crdt::encodable<crdt::sequence<no_codec>::delta_type>);
static_assert(!crdt::syncable<crdt::sequence<no_codec>>);

namespace {

using seq_t = crdt::sequence<char32_t>;
using delta_t = seq_t::delta_type;
namespace traces = crdt_test::traces;

struct id_policy {
    using replica_type = crdt::replica_id;
    static constexpr std::uint64_t first_counter = 1;
};
using str_seq = crdt::sequence<std::string, id_policy>;

template <class D>
D round_trip(const D& d) {
    crdt::testing::check_round_trip(d);
    return crdt::decode<D>(crdt::encode(d), "test delta");
}

/// A randomized history of `n` replicas of sequence<char32_t>: local
/// inserts and erases, and partial deliveries in shuffled order with
/// duplicates. Every op made is in `log`; copies of replicas taken along
/// the way are in `snapshots`.
struct history {
    std::vector<seq_t> replicas;
    std::vector<seq_t::op> log;
    std::vector<seq_t> snapshots;

    history(std::size_t n, std::size_t steps, std::mt19937_64& rng) {
        for (std::size_t i = 0; i < n; ++i) {
            replicas.emplace_back(crdt::agent_id(std::string(1, static_cast<char>('a' + i))));
        }
        const auto pick = [&](std::size_t k) { return static_cast<std::size_t>(rng() % k); };
        for (std::size_t s = 0; s < steps; ++s) {
            seq_t& r = replicas[pick(n)];
            const std::size_t what = pick(10);
            if (what < 5) {
                std::u32string ins;
                const std::size_t len = 1 + pick(4);
                for (std::size_t k = 0; k < len; ++k) {
                    // ASCII, 2-, 3- and 4-byte UTF-8
                    static constexpr char32_t alphabet[] = {U'a',      U'b',      U'\n',
                                                            U'\u00e9', U'\u4e2d', U'\U0001F600'};
                    ins.push_back(alphabet[pick(6)]);
                }
                if (auto o = r.insert(pick(r.size() + 1),
                                      std::span<const char32_t>(ins.data(), ins.size()))) {
                    log.push_back(*o);
                }
            } else if (what < 7 && r.size() > 0) {
                const std::size_t pos = pick(r.size());
                for (auto& o : r.erase(pos, 1 + pick(std::min<std::size_t>(4, r.size() - pos)))) {
                    log.push_back(o);
                }
            } else if (what < 9) {
                // deliver a random subset of the log, shuffled, some twice
                std::vector<seq_t::op> some;
                for (const auto& o : log) {
                    if (pick(3) == 0) {
                        some.push_back(o);
                        if (pick(4) == 0) {
                            some.push_back(o);
                        }
                    }
                }
                std::shuffle(some.begin(), some.end(), rng);
                for (const auto& o : some) {
                    r.apply(o);
                }
            } else {
                snapshots.push_back(r);
            }
        }
    }

    /// Effects: delivers the whole log to every replica.
    void sync_all() {
        for (auto& r : replicas) {
            for (const auto& o : log) {
                r.apply(o);
            }
        }
    }
};

std::u32string text_of(const seq_t& s) {
    const auto v = s.content();
    return {v.begin(), v.end()};
}

} // namespace

TEST_CASE("sequence sync: local edits return what converts to a delta") {
    seq_t s(crdt::agent_id("a"));
    const std::u32string hello = U"hello";
    delta_t d = s.insert(0, std::span<const char32_t>(hello.data(), hello.size()));
    CHECK(d.size() == 1);
    d.merge(s.erase(1, 2));
    CHECK(d.size() == 2);
    delta_t one = s.insert(0, U'x');
    CHECK(one.size() == 1);
    delta_t none = s.insert(0, std::span<const char32_t>());
    CHECK(none.empty());

    seq_t t(crdt::agent_id("b"));
    t.merge(d);
    t.merge(one);
    CHECK(text_of(t) == text_of(s));
    CHECK(t.version() == s.version());
    CHECK(text_of(s) == U"xhlo");

    // Elements without == or a codec: deltas still work in memory.
    crdt::sequence<no_codec> p(crdt::agent_id("p")), p2(crdt::agent_id("q"));
    crdt::sequence<no_codec>::delta_type pd = p.insert(0, no_codec{7});
    pd.merge(p.insert(1, no_codec{8}));
    p2.merge(pd);
    p2.merge(p.delta_since({}));
    REQUIRE(p2.size() == 2);
    CHECK(p2.content()[1].x == 8);

    crdt::text a(crdt::agent_id("a"));
    crdt::text::delta_type td = a.insert(0, "h\xC3\xA9llo");
    td.merge(a.erase(0, 1));
    crdt::text b(crdt::agent_id("b"));
    b.merge(round_trip(td));
    CHECK(b.str() == "\xC3\xA9llo");
    CHECK(b.version() == a.version());
}

TEST_CASE("sequence sync: deltas round-trip through the codec") {
    const auto seed = crdt_test::seed(1);
    CAPTURE(seed);
    std::mt19937_64 rng(seed);
    for (int round = 0; round < 4; ++round) {
        history h(3, 120, rng);
        h.sync_all();
        const seq_t& q = h.replicas[0];
        round_trip(q.delta_since({}));
        for (const auto& snap : h.snapshots) {
            round_trip(q.delta_since(snap.version()));
        }
        delta_t all(h.log);
        const delta_t back = round_trip(all);
        CHECK(back == all);
    }
    // Hand-made ops: every origin form, counters far apart, big counts.
    using dot = seq_t::dot_type;
    const crdt::agent_id a("a"), b("b"), c("a much longer agent name than fits inline");
    delta_t d;
    d.push_back(seq_t::insert_op{dot{a, 1}, std::nullopt, std::nullopt, {U'x'}});
    d.push_back(seq_t::insert_op{dot{a, 2}, dot{a, 1}, std::nullopt, {U'y', U'\U0001F600'}});
    d.push_back(seq_t::insert_op{dot{b, 7}, dot{a, 1}, dot{a, 2}, {U'\u00e9'}});
    d.push_back(seq_t::insert_op{dot{b, 9}, dot{c, 1u << 30}, dot{b, 3}, {U'1', U'2', U'3'}});
    d.push_back(seq_t::insert_op{dot{c, 5}, std::nullopt, dot{a, 1}, {U'z'}});
    d.push_back(seq_t::insert_op{dot{c, 6}, dot{c, 5}, dot{b, 8}, {U'z'}});
    d.push_back(seq_t::erase_op{dot{a, 4}, dot{a, 1}, 1});
    d.push_back(seq_t::erase_op{dot{a, 5}, dot{b, 7}, 3});
    d.push_back(seq_t::erase_op{dot{b, 1}, dot{c, 3}, 1});
    d.push_back(seq_t::erase_op{dot{c, UINT64_MAX - 10}, dot{a, UINT64_MAX - 5}, 5});
    CHECK(round_trip(d) == d);
    CHECK(round_trip(delta_t{}) == delta_t{});

    // Other element types go through codec<T>.
    str_seq s(crdt::replica_id{5});
    str_seq::delta_type sd = s.insert(0, std::string("first"));
    const std::vector<std::string> more = {"x", "", "third"};
    sd.merge(s.insert(1, std::span<const std::string>(more)));
    sd.merge(s.erase(0, 2));
    CHECK(round_trip(sd) == sd);
    CHECK(round_trip(s.delta_since({})) == s.delta_since({}));
    crdt::sequence<int> ints(crdt::agent_id("i"));
    crdt::sequence<int>::delta_type id = ints.insert(0, -5);
    id.merge(ints.insert(1, 1 << 20));
    CHECK(round_trip(id) == id);
}

TEST_CASE("sequence sync: encoding rejects ops apply would reject") {
    using dot = seq_t::dot_type;
    const crdt::agent_id a("a");
    CHECK_THROWS_AS(crdt::encode(delta_t(seq_t::insert_op{dot{a, 1}, {}, {}, {}})), crdt::error);
    CHECK_THROWS_AS(crdt::encode(delta_t(seq_t::insert_op{dot{a, 0}, {}, {}, {U'x'}})),
                    crdt::error);
    CHECK_THROWS_AS(crdt::encode(delta_t(seq_t::erase_op{dot{a, 1}, dot{a, 1}, 0})), crdt::error);
    CHECK_THROWS_AS(crdt::encode(delta_t(seq_t::erase_op{dot{a, UINT64_MAX}, dot{a, 1}, 2})),
                    crdt::error);
    // A code point that is not a Unicode scalar value (a surrogate).
    CHECK_THROWS_AS(crdt::encode(delta_t(seq_t::insert_op{dot{a, 1}, {}, {}, {0xD800}})),
                    crdt::error);
}

TEST_CASE("sequence sync: delta_since(v) brings a replica at v up to date") {
    const auto seed = crdt_test::seed(2);
    CAPTURE(seed);
    std::mt19937_64 rng(seed);
    for (int round = 0; round < 4; ++round) {
        history h(4, 150, rng);
        h.sync_all();
        const seq_t& q = h.replicas[static_cast<std::size_t>(rng() % 4)];
        for (const auto& r : h.replicas) {
            REQUIRE(text_of(r) == text_of(q));
        }
        for (const auto& snap : h.snapshots) {
            seq_t p = snap;
            p.merge(round_trip(q.delta_since(p.version())));
            CHECK(text_of(p) == text_of(q));
            CHECK(p.version() == q.version());
            p.verify();
            // A replica ahead of v gets the same result (duplicates ignored).
            seq_t ahead = h.replicas[static_cast<std::size_t>(rng() % 4)];
            ahead.merge(q.delta_since(snap.version()));
            CHECK(text_of(ahead) == text_of(q));
            // Nothing is missing between a replica and itself.
            CHECK(q.delta_since(q.version()).empty());
        }
        // Between snapshots: the later one's delta since the earlier one's version.
        for (std::size_t i = 0; i + 1 < h.snapshots.size(); ++i) {
            const seq_t& from = h.snapshots[i];
            const seq_t& to = h.snapshots[i + 1];
            if (!to.version().includes(from.version())) {
                continue;
            }
            seq_t p = from;
            p.merge(to.delta_since(from.version()));
            CHECK(p.version() == to.version());
            CHECK(text_of(p) == text_of(to));
        }
    }
}

TEST_CASE("sequence sync: delta_since({}) into a fresh replica reproduces every version") {
    const auto seed = crdt_test::seed(3);
    CAPTURE(seed);
    std::mt19937_64 rng(seed);
    for (int round = 0; round < 3; ++round) {
        history h(3, 150, rng);
        h.sync_all();
        const seq_t& q = h.replicas[0];
        seq_t fresh(crdt::agent_id("z"));
        fresh.merge(round_trip(q.delta_since({})));
        fresh.verify();
        CHECK(fresh.buffered() == 0);
        CHECK(fresh.version() == q.version());
        CHECK(text_of(fresh) == text_of(q));
        std::vector<seq_t::version_type> versions = {{}};
        for (const auto& s : h.snapshots) {
            versions.push_back(s.version());
        }
        for (const auto& v : versions) {
            CHECK(fresh.content_at(v) == q.content_at(v));
        }
        for (std::size_t i = 0; i + 1 < versions.size(); ++i) {
            CHECK(fresh.diff(versions[i], versions[i + 1]) == q.diff(versions[i], versions[i + 1]));
        }
        // The rebuilt history is the same history: its own delta rebuilds it too.
        seq_t again(crdt::agent_id("y"));
        again.merge(fresh.delta_since({}));
        CHECK(again.version() == q.version());
        CHECK(text_of(again) == text_of(q));
        // Run-length: never more ops than were made.
        CHECK(q.delta_since({}).size() <= h.log.size());
    }
}

TEST_CASE("sequence sync: merge is idempotent and order-independent") {
    const auto seed = crdt_test::seed(4);
    CAPTURE(seed);
    std::mt19937_64 rng(seed);
    for (int round = 0; round < 4; ++round) {
        history h(3, 120, rng);
        h.sync_all();
        const seq_t& q = h.replicas[0];
        // Single-op deltas: the original ops and the rebuilt ones, with
        // duplicates, shuffled, merged in random batches.
        std::vector<seq_t::op> ops = h.log;
        const delta_t whole = q.delta_since({});
        ops.insert(ops.end(), whole.ops.begin(), whole.ops.end());
        for (std::size_t i = 0, n = ops.size(); i < n; i += 3) {
            ops.push_back(ops[i]);
        }
        for (int order = 0; order < 3; ++order) {
            std::shuffle(ops.begin(), ops.end(), rng);
            seq_t r(crdt::agent_id("r"));
            for (std::size_t i = 0; i < ops.size();) {
                const std::size_t n = 1 + static_cast<std::size_t>(rng() % 8);
                delta_t batch;
                for (std::size_t k = 0; k < n && i < ops.size(); ++k, ++i) {
                    batch.push_back(ops[i]);
                }
                r.merge(batch);
            }
            CHECK(r.buffered() == 0);
            CHECK(text_of(r) == text_of(q));
            CHECK(r.version() == q.version());
            r.verify();
            // Merging again changes nothing.
            r.merge(whole);
            r.merge(delta_t(h.log));
            CHECK(text_of(r) == text_of(q));
            CHECK(r.version() == q.version());
        }
        // A delta whose predecessors are missing is buffered and not
        // claimed by the version (nor sent on by delta_since) until they come.
        seq_t late(crdt::agent_id("l"));
        const delta_t tail = q.delta_since(h.snapshots.empty() ? seq_t::version_type{}
                                                               : h.snapshots.back().version());
        late.merge(tail);
        const auto v_late = late.version();
        CHECK(q.version().includes(v_late));
        const delta_t carried = late.delta_since({});
        seq_t relay(crdt::agent_id("m"));
        relay.merge(carried);
        CHECK(relay.version() == v_late);
        CHECK(relay.buffered() == 0);
        relay.merge(whole);
        CHECK(text_of(relay) == text_of(q));
        late.merge(whole);
        CHECK(late.buffered() == 0);
        CHECK(text_of(late) == text_of(q));
    }
}

TEST_CASE("sequence sync: invalid deltas raise crdt::error and change nothing") {
    using dot = seq_t::dot_type;
    const crdt::agent_id a("a"), b("b");
    seq_t s(a);
    const std::u32string abc = U"abc";
    s.insert(0, std::span<const char32_t>(abc.data(), abc.size()));
    s.erase(0, 1); // (a, 4) deletes (a, 1)
    const auto before = s.delta_since({});
    const auto check_unchanged = [&] {
        CHECK(s.delta_since({}) == before);
        CHECK(text_of(s) == U"bc");
        CHECK(s.buffered() == 0);
    };
    // An origin that is a delete known here.
    delta_t bad1;
    bad1.push_back(seq_t::insert_op{dot{b, 1}, std::nullopt, std::nullopt, {U'x'}});
    bad1.push_back(seq_t::insert_op{dot{b, 2}, dot{a, 4}, std::nullopt, {U'y'}});
    CHECK_THROWS_AS(s.merge(bad1), crdt::error);
    check_unchanged();
    // An erase target that is a delete in the same delta.
    delta_t bad2;
    bad2.push_back(seq_t::erase_op{dot{b, 1}, dot{a, 2}, 1});
    bad2.push_back(seq_t::erase_op{dot{b, 2}, dot{b, 1}, 1});
    CHECK_THROWS_AS(s.merge(bad2), crdt::error);
    check_unchanged();
    // An id that is both an insert and a delete.
    delta_t bad3;
    bad3.push_back(seq_t::insert_op{dot{b, 1}, std::nullopt, std::nullopt, {U'x', U'y'}});
    bad3.push_back(seq_t::erase_op{dot{b, 2}, dot{a, 2}, 1});
    CHECK_THROWS_AS(s.merge(bad3), crdt::error);
    check_unchanged();
    // Empty and overflowing ops.
    CHECK_THROWS_AS(s.merge(delta_t(seq_t::insert_op{dot{b, 1}, {}, {}, {}})), crdt::error);
    CHECK_THROWS_AS(s.merge(delta_t(seq_t::erase_op{dot{b, UINT64_MAX}, dot{a, 2}, 2})),
                    crdt::error);
    check_unchanged();
    // A buffered op whose ids overlap applied ones (found by
    // fuzz/sequence_delta) must not spoil the deltas sent on.
    s.merge(delta_t(seq_t::insert_op{dot{b, 1}, dot{a, 3}, std::nullopt, {U'x', U'y'}}));
    s.merge(delta_t(seq_t::erase_op{dot{b, 2}, dot{crdt::agent_id("c"), 1}, 2}));
    CHECK(s.buffered() == 1);
    seq_t copy(crdt::agent_id("d"));
    copy.merge(round_trip(s.delta_since({})));
    CHECK(text_of(copy) == U"bcxy");
    CHECK(copy.version() == s.version());
    // A valid delta still merges.
    delta_t good;
    good.push_back(seq_t::insert_op{dot{b, 3}, dot{b, 2}, std::nullopt, {U'!'}});
    s.merge(good);
    CHECK(text_of(s) == U"bcxy!");
}

TEST_CASE("sequence sync: garbage, truncated and bit-flipped delta bytes throw crdt::error") {
    const auto seed = crdt_test::seed(5);
    CAPTURE(seed);
    std::mt19937_64 rng(seed);
    history h(3, 60, rng);
    h.sync_all();
    std::vector<std::vector<std::byte>> samples;
    samples.push_back(crdt::encode(h.replicas[0].delta_since({})));
    for (const auto& s : h.snapshots) {
        samples.push_back(crdt::encode(h.replicas[1].delta_since(s.version())));
    }
    samples.push_back(crdt::encode(delta_t(h.log)));
    crdt::testing::check_decoder_robustness<delta_t>(samples, seed, 3000);

    str_seq s(crdt::replica_id{3});
    str_seq::delta_type sd = s.insert(0, std::string("first"));
    sd.merge(s.insert(0, std::string("second")));
    sd.merge(s.erase(0, 1));
    crdt::testing::check_decoder_robustness<str_seq::delta_type>({crdt::encode(sd)}, seed, 1000);

    // Every truncation of a valid encoding fails, naming an offset inside it.
    const auto& full = samples.front();
    for (std::size_t n = 0; n < full.size(); ++n) {
        try {
            (void)crdt::decode<delta_t>(std::span<const std::byte>(full.data(), n));
            FAIL("a truncated delta decoded");
        } catch (const crdt::error& e) {
            REQUIRE(e.offset());
            CHECK(*e.offset() <= n);
        }
    }
    // Invalid UTF-8 in the inserted text is reported as such.
    crdt::byte_writer w;
    w.varint(1);
    crdt::codec<crdt::agent_id>::encode(w, crdt::agent_id("a"));
    w.varint(1);
    w.byte(0x80); // insert of one element (by the table's first agent)
    w.byte(0xC0); // byte 5: an overlong lead byte
    w.byte(0x80);
    try {
        (void)crdt::decode<delta_t>(w.view());
        FAIL("bad UTF-8 decoded");
    } catch (const crdt::error& e) {
        CHECK(e.cause() == crdt::errc::invalid_utf8);
        CHECK(e.offset() == std::optional<std::size_t>(5));
    }
}

TEST_CASE("sequence sync: text with multi-byte UTF-8 syncs through encoded deltas") {
    crdt::text a(crdt::agent_id("alice")), b(crdt::agent_id("bob"));
    std::vector<crdt::text::delta_type> from_a, from_b;
    from_a.push_back(a.insert(0, "gr\xC3\xBC\xC3\x9F dich \xF0\x9F\x98\x80"));
    from_b.push_back(b.insert(0, "\xE4\xB8\xAD\xE6\x96\x87"));
    from_a.push_back(a.erase(2, 2));
    from_b.push_back(b.insert(1, "\xF0\x9F\x8C\x8D\n"));
    from_a.push_back(a.insert(a.size(), "!"));
    const auto va = a.version();
    const auto vb = b.version();
    for (const auto& d : from_a) {
        b.merge(crdt::decode<crdt::text::delta_type>(crdt::encode(d)));
    }
    // b applies a's deltas, a applies b's in reverse order (buffered).
    for (auto it = from_b.rbegin(); it != from_b.rend(); ++it) {
        a.merge(crdt::decode<crdt::text::delta_type>(crdt::encode(*it)));
    }
    CHECK(a.str() == b.str());
    CHECK(a.version() == b.version());
    CHECK(a.str_at(va) == "gr dich \xF0\x9F\x98\x80!");
    CHECK(b.str_at(vb) == "\xE4\xB8\xAD\xF0\x9F\x8C\x8D\n\xE6\x96\x87");
    // The whole history, through bytes, into a fresh text.
    crdt::text c(crdt::agent_id("carol"));
    c.merge(crdt::decode<crdt::text::delta_type>(crdt::encode(a.delta_since({}))));
    CHECK(c.str() == a.str());
    CHECK(c.size_utf16() == a.size_utf16());
    // One 4-byte code point costs its 4 UTF-8 bytes plus the op's framing.
    crdt::text e(crdt::agent_id("e"));
    const auto bytes = crdt::encode(crdt::text::delta_type(e.insert(0, "\xF0\x9F\x98\x80")));
    CHECK(bytes.size() == 1 + 2 + 1 + 1 + 4); // table, op count, header, the 4 bytes
}

namespace {

struct manual : crdt::replica_defaults {
    static constexpr std::chrono::milliseconds tick_interval{std::chrono::hours(24)};
    static constexpr bool auto_compact = false;
};
using text_replica =
    crdt::store::replica<crdt::text, crdt::memory_storage, crdt::loopback_transport, manual>;

template <class... R>
void settle(crdt::loopback_hub& hub, R&... rs) {
    for (int round = 0; round < 50; ++round) {
        std::size_t events = 0;
        for (int i = 0; i < 3; ++i) {
            ((events += rs.poll()), ...);
            hub.advance();
        }
        (rs.tick(), ...);
        if (events == 0 && (rs.settled() && ...) && hub.pending() == 0) {
            return;
        }
    }
}

std::string str(const text_replica& r) {
    return r.read([](const crdt::text& t) { return t.str(); });
}

} // namespace

TEST_CASE("sequence sync: text replicas edit concurrently, converge and reopen") {
    crdt::loopback_hub hub;
    crdt::memory_storage sa, sb;
    std::string expected;
    {
        crdt::loopback_transport ta(hub, "a"), tb(hub, "b");
        text_replica a(sa, ta, "doc", crdt::agent_id("alice"));
        text_replica b(sb, tb, "doc", crdt::agent_id("bob"));
        a.change([](crdt::text& t) { return t.insert(0, "hello world"); });
        settle(hub, a, b);
        CHECK(str(b) == "hello world");
        // Concurrent edits on both sides, some with several mutators.
        a.change([](crdt::text& t) {
            crdt::text::delta_type d = t.erase(0, 1);
            d.merge(t.insert(0, "J"));
            return d;
        });
        b.change([](crdt::text& t) { return t.insert(t.size(), " \xC3\xA9t\xC3\xA9"); });
        b.change([](crdt::text& t) { return t.erase(5, 6); });
        a.change([](crdt::text& t) { return t.insert(5, ","); });
        settle(hub, a, b);
        CHECK(str(a) == str(b));
        CHECK(str(a) == "Jello, \xC3\xA9t\xC3\xA9");
        CHECK(a.version() == b.version());
        CHECK(a.settled());
        CHECK(b.settled());
        expected = str(a);
        b.compact(); // a snapshot (delta_since({})) replaces b's chunks
    }
    sa.simulate_crash();
    sb.simulate_crash();
    crdt::loopback_transport ta(hub, "a"), tb(hub, "b");
    text_replica a(sa, ta, "doc", crdt::agent_id("alice"));
    text_replica b(sb, tb, "doc", crdt::agent_id("bob"));
    CHECK(str(a) == expected);
    CHECK(str(b) == expected);
    CHECK(b.stats().snapshot_bytes > 0);
    // Counters continue after the restart: new edits still sync.
    a.change([](crdt::text& t) { return t.insert(0, ">"); });
    settle(hub, a, b);
    CHECK(str(b) == ">" + expected);
    CHECK(a.version() == b.version());
}

#if CRDT_SEQUENCE_HAVE_SHARED_DATA
TEST_CASE("sequence sync: automerge-paper prefix through a text replica to another") {
    const auto trace =
        traces::load_sequential_trace(traces::shared_dir() + "/traces/automerge-paper.json.gz");
    crdt::loopback_hub hub;
    crdt::memory_storage sa, sb;
    crdt::loopback_transport ta(hub, "a"), tb(hub, "b");
    text_replica a(sa, ta, "doc", crdt::agent_id("author"));
    text_replica b(sb, tb, "doc", crdt::agent_id("reader"));
    settle(hub, a, b);
    std::u32string plain;
    const std::size_t n = std::min<std::size_t>(2000, trace.txns.size());
    for (std::size_t t = 0; t < n; ++t) {
        for (const auto& p : trace.txns[t].patches) {
            traces::apply_patch(plain, p);
            a.change([&](crdt::text& x) {
                crdt::text::delta_type d;
                if (p.del > 0) {
                    d.merge(x.erase(p.pos, p.del));
                }
                if (!p.ins.empty()) {
                    d.merge(x.insert(p.pos, traces::to_utf8(p.ins)));
                }
                return d;
            });
        }
        if (t % 500 == 0) {
            b.poll();
            hub.advance();
        }
    }
    settle(hub, a, b);
    CHECK(str(a) == traces::to_utf8(plain));
    CHECK(str(b) == traces::to_utf8(plain));
    CHECK(a.version() == b.version());
    // The whole history rebuilt from the engine is much smaller than the
    // per-keystroke deltas.
    const auto snapshot = crdt::encode(a.state().delta_since({}));
    CHECK(snapshot.size() < 4 * n);
}
#endif

#if CRDT_SEQUENCE_HAVE_SHARED_DATA
TEST_CASE("sequence sync: whole trace histories as one delta", "[.][traces]") {
    for (const char* name : {"automerge-paper", "seph-blog1"}) {
        const std::string path = traces::shared_dir() + "/traces/" + name + ".json.gz";
        const auto trace = traces::load_sequential_trace(path);
        seq_t s(crdt::agent_id("author"));
        std::size_t patches = 0;
        for (const auto& txn : trace.txns) {
            for (const auto& p : txn.patches) {
                ++patches;
                if (p.del > 0) {
                    s.erase(p.pos, p.del);
                }
                if (!p.ins.empty()) {
                    s.insert(p.pos, std::span<const char32_t>(p.ins.data(), p.ins.size()));
                }
            }
        }
        const delta_t d = s.delta_since({});
        const auto bytes = crdt::encode(d);
        const std::string json = traces::read_maybe_gzipped(path);
        std::size_t inserts = 0;
        for (const auto& o : d.ops) {
            inserts += std::holds_alternative<seq_t::insert_op>(o) ? 1u : 0u;
        }
        WARN(name << ": " << patches << " patches, delta of " << d.size() << " ops (" << inserts
                  << " inserts), " << bytes.size()
                  << " bytes = " << static_cast<double>(bytes.size()) / static_cast<double>(patches)
                  << " bytes/patch, "
                  << static_cast<double>(bytes.size()) / static_cast<double>(d.size())
                  << " bytes/op; trace JSON " << json.size() << " bytes; memory "
                  << s.memory_bytes() << " bytes");
        seq_t fresh(crdt::agent_id("reader"));
        fresh.merge(crdt::decode<delta_t>(bytes));
        CHECK(fresh.content() == s.content());
        CHECK(fresh.version() == s.version());
        CHECK(text_of(fresh) == trace.end_content);
        CHECK(fresh.delta_since({}) == d);
    }
}
#endif

TEST_CASE("sequence_delta: built from ops, optional ops and vectors; merge appends") {
    using seq = crdt::sequence<int>;
    using delta = crdt::sequence_delta<int, crdt::sequence_defaults>;
    static_assert(std::is_same_v<seq::delta_type, delta>);
    seq s(crdt::agent_id("a"));
    const delta one = s.insert(0, 7);
    CHECK(one.size() == 1);
    const int values[] = {1, 2};
    const delta some = s.insert(1, std::span<const int>(values));
    CHECK(some.size() == 1);
    const delta none = s.insert(0, std::span<const int>());
    CHECK(none.empty());
    const delta erased = s.erase(0, 3);
    CHECK(erased.size() >= 1);
    delta all = one;
    all.merge(some);
    all.merge(none);
    all.merge(erased);
    CHECK(all.size() == one.size() + some.size() + erased.size());
    CHECK(all.ops.front() == one.ops.front());
    CHECK(all.ops.back() == erased.ops.back());
    // Applying the merged delta to a fresh replica repeats the history.
    seq other(crdt::agent_id("b"));
    other.merge(all);
    CHECK(other.content() == s.content());
    CHECK(other.version() == s.version());
    // Merging the same delta again changes nothing.
    other.merge(all);
    CHECK(other.version() == s.version());
    // And it round-trips through its codec.
    CHECK(crdt::decode<delta>(crdt::encode(all)) == all);
}
