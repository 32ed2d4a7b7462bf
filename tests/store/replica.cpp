// Tests of crdt/store/replica.hpp: reopening from storage, save-before-
// announce, storage failures, compaction that removes only what it folded,
// chunks with a base, corrupt chunks, refresh from a shared store, bad
// messages, and use from several threads.
#include <crdt/lww_map.hpp>
#include <crdt/or_set.hpp>
#include <crdt/storage/memory_storage.hpp>
#include <crdt/store/replica.hpp>
#include <crdt/text.hpp>
#include <crdt/transport/loopback.hpp>

#include <catch2/catch.hpp>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

namespace {

using map = crdt::lww_map<std::string, std::string>;
using set = crdt::or_set<int>;

// Ticks only when a test calls tick(); no automatic compaction.
struct manual : crdt::replica_defaults {
    static constexpr std::chrono::milliseconds tick_interval{std::chrono::hours(24)};
    static constexpr bool auto_compact = false;
};
struct compacting : manual {
    static constexpr bool auto_compact = true;
    static constexpr std::uint64_t compact_min_bytes = 512;
};

template <class T, class P = manual>
using replica_of = crdt::store::replica<T, crdt::memory_storage, crdt::loopback_transport, P>;

// Polls, ticks and advances until nothing moves for a while.
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

std::size_t count_keys(crdt::memory_storage& s, std::string_view document, std::string_view kind) {
    return s.load_range(crdt::storage_key{document, kind}).size();
}

// A storage adapter whose saves fail while `failing` is set.
struct flaky_storage : crdt::memory_storage {
    bool failing = false;
    void save(const crdt::storage_key& k, std::span<const std::byte> b) {
        if (failing) {
            throw crdt::error(crdt::errc::io_error, "flaky_storage: disk full");
        }
        crdt::memory_storage::save(k, b);
    }
};

} // namespace

TEST_CASE("replica: reopening from storage gives back the value and continues its dots") {
    crdt::loopback_hub hub;
    crdt::memory_storage storage;
    map before;
    {
        crdt::loopback_transport t(hub, "a");
        replica_of<map> a(storage, t, "doc", crdt::replica_id{1});
        a.change([](map& m) { return m.set("x", "1"); });
        a.change([](map& m) {
            auto d = m.set("y", "2");
            d.merge(m.erase("x"));
            return d;
        });
        before = a.state();
        CHECK(a.stats().chunks_saved == 2);
    }
    storage.simulate_crash();
    crdt::loopback_transport t(hub, "a");
    replica_of<map> a(storage, t, "doc", crdt::replica_id{1});
    CHECK(a.state() == before);
    CHECK(a.stats().chunks_loaded == 2);
    a.change([](map& m) { return m.set("z", "3"); });
    CHECK(a.version().get(crdt::replica_id{1}) == 4); // no dot reused after the restart
    CHECK(a.read([](const map& m) { return m.size(); }) == 2);
    CHECK(count_keys(storage, "other", "delta") == 0);
}

TEST_CASE("replica: two replicas converge and acknowledge each other") {
    crdt::loopback_hub hub;
    crdt::memory_storage sa, sb;
    crdt::loopback_transport ta(hub, "a"), tb(hub, "b");
    replica_of<map> a(sa, ta, "doc", crdt::replica_id{1});
    replica_of<map> b(sb, tb, "doc", crdt::replica_id{2});
    std::vector<crdt::change_origin> seen;
    b.on_change([&](const map&, crdt::change_origin o) { seen.push_back(o); });
    a.change([](map& m) { return m.set("x", "from a"); });
    b.change([](map& m) { return m.set("y", "from b"); });
    settle(hub, a, b);
    CHECK(a.state() == b.state());
    CHECK(a.state().size() == 2);
    CHECK(a.settled());
    CHECK(b.settled());
    CHECK(std::count(seen.begin(), seen.end(), crdt::change_origin::local) == 1);
    CHECK(std::count(seen.begin(), seen.end(), crdt::change_origin::remote) >= 1);
    // b saved what it received: a restart of b alone keeps a's write.
    const auto expected = b.state();
    CHECK(count_keys(sb, "doc", "delta") >= 2);
}

TEST_CASE("replica: a change whose save fails is not announced until it is saved") {
    crdt::loopback_hub hub;
    flaky_storage sa;
    crdt::memory_storage sb;
    crdt::loopback_transport ta(hub, "a"), tb(hub, "b");
    crdt::store::replica<map, flaky_storage, crdt::loopback_transport, manual> a(
        sa, ta, "doc", crdt::replica_id{1});
    replica_of<map> b(sb, tb, "doc", crdt::replica_id{2});
    settle(hub, a, b);
    sa.failing = true;
    CHECK_THROWS_AS(a.change([](map& m) { return m.set("x", "1"); }), crdt::error);
    CHECK(a.state().contains("x")); // in memory, not durable
    for (int i = 0; i < 10; ++i) {
        CHECK_THROWS_AS(a.poll(), crdt::error); // the save is retried first, and fails
        CHECK_THROWS_AS(a.tick(), crdt::error);
        b.poll();
        b.tick();
        hub.advance();
    }
    CHECK_FALSE(b.state().contains("x")); // nothing unsaved reached the peer
    sa.failing = false;
    settle(hub, a, b);
    CHECK(b.state().contains("x"));
    std::string keys;
    for (const auto& kv : sa.load_range(crdt::storage_key{"doc"})) {
        keys += kv.key.to_string() + " " + std::to_string(kv.value.size()) + "\n";
    }
    CAPTURE(keys);
    CHECK(count_keys(sa, "doc", "delta") == 1);
}

TEST_CASE("replica: compaction writes a snapshot and removes only the chunks it merged") {
    crdt::loopback_hub hub;
    crdt::memory_storage storage;
    auto other_handle = storage.share();
    crdt::loopback_transport t(hub, "a");
    replica_of<map> a(storage, t, "doc", crdt::replica_id{1});
    for (int i = 0; i < 20; ++i) {
        a.change([&](map& m) { return m.set("k" + std::to_string(i), std::string(40, 'v')); });
    }
    // Another process saves a chunk a has not merged yet (a's watch sees it,
    // but only poll() would merge it).
    map foreign(crdt::replica_id{9});
    const auto fd = foreign.set("foreign", "yes");
    {
        crdt::loopback_hub other_hub;
        crdt::loopback_transport t9(other_hub, "z");
        replica_of<map> z(other_handle, t9, "doc", crdt::replica_id{9});
        z.change([&](map& m) { return m.set("foreign", "yes"); });
    }
    CHECK(count_keys(storage, "doc", "delta") == 21);
    a.compact();
    CHECK(count_keys(storage, "doc", "snapshot") == 1);
    CHECK(count_keys(storage, "doc", "delta") == 1); // the foreign chunk survived
    CHECK(a.stats().chunks_removed == 20);
    CHECK_FALSE(a.state().contains("foreign"));
    a.poll(); // merges the chunk the storage reported
    CHECK(a.state().contains("foreign"));
    a.compact();
    CHECK(count_keys(storage, "doc", "delta") == 0);
    CHECK(count_keys(storage, "doc", "snapshot") == 1);
    crdt::loopback_transport t2(hub, "b");
    replica_of<map> reopened(storage, t2, "doc", crdt::replica_id{1});
    CHECK(reopened.state() == a.state());
}

TEST_CASE("replica: text compacts to its own snapshot and reopens from it") {
    static_assert(crdt::store::native_snapshot<crdt::text>);
    static_assert(!crdt::store::native_snapshot<map>);
    crdt::loopback_hub hub;
    crdt::memory_storage storage;
    auto other_handle = storage.share();
    crdt::loopback_transport t(hub, "a");
    replica_of<crdt::text> a(storage, t, "note", crdt::agent_id("a"));
    for (int i = 0; i < 30; ++i) {
        a.change([&](crdt::text& x) { return x.insert(x.size() / 2, "w" + std::to_string(i)); });
        if (i % 4 == 3) {
            a.change([&](crdt::text& x) -> crdt::text::delta_type { return x.erase(1, 2); });
        }
    }
    a.compact();
    const auto snaps = storage.load_range(crdt::storage_key{"note", "snapshot"});
    REQUIRE(snaps.size() == 1);
    CHECK(std::to_integer<int>(snaps[0].value[5]) == 3); // chunk kind: native snapshot
    CHECK(count_keys(storage, "note", "delta") == 0);
    // Reopened: the whole document (content, version, history) is back and
    // editable as the same replica.
    crdt::loopback_transport t2(hub, "b");
    replica_of<crdt::text> reopened(storage, t2, "note", crdt::agent_id("a"));
    CHECK(reopened.state().str() == a.state().str());
    CHECK(reopened.state().version() == a.state().version());
    reopened.state().verify();
    // A process that already holds edits merges another's snapshot on refresh.
    crdt::memory_storage shared;
    auto shared2 = shared.share();
    crdt::loopback_hub hx, hy;
    crdt::loopback_transport tx(hx, "x"), ty(hy, "y");
    replica_of<crdt::text> x(shared, tx, "note", crdt::agent_id("x"));
    x.change([](crdt::text& s) { return s.insert(0, "hello"); });
    replica_of<crdt::text> y(shared2, ty, "note", crdt::agent_id("y"));
    CHECK(y.state().str() == "hello");
    y.change([](crdt::text& s) { return s.insert(0, "y:"); });
    x.change([](crdt::text& s) { return s.insert(s.size(), " world"); });
    x.compact(); // x has not seen y's edit: its snapshot lacks it
    std::vector<crdt::change_origin> seen;
    y.on_change([&](const crdt::text::delta_type&, crdt::change_origin o) { seen.push_back(o); });
    y.refresh();
    CHECK(y.state().str() == "y:hello world");
    CHECK(seen == std::vector<crdt::change_origin>{crdt::change_origin::storage});
    y.state().verify();
    // A damaged native snapshot fails the open naming its key.
    auto bad = snaps[0].value;
    bad[20] ^= std::byte{1};
    crdt::memory_storage broken;
    broken.save(snaps[0].key, bad);
    crdt::loopback_transport t4(hub, "e");
    try {
        replica_of<crdt::text> e(broken, t4, "note", crdt::agent_id("a"));
        FAIL("opened a damaged snapshot");
    } catch (const crdt::error& e) {
        CHECK(std::string(e.what()).find("snapshot") != std::string::npos);
    }
}

TEST_CASE("replica: automatic compaction keeps the stored bytes bounded") {
    crdt::loopback_hub hub;
    crdt::memory_storage storage;
    crdt::loopback_transport t(hub, "a");
    replica_of<map, compacting> a(storage, t, "doc", crdt::replica_id{1});
    for (int i = 0; i < 200; ++i) {
        a.change([&](map& m) { return m.set("k" + std::to_string(i % 10), std::to_string(i)); });
    }
    CHECK(a.stats().compactions > 0);
    CHECK(count_keys(storage, "doc", "snapshot") == 1);
    CHECK(count_keys(storage, "doc", "delta") < 200);
    crdt::loopback_transport t2(hub, "b");
    replica_of<map> reopened(storage, t2, "doc", crdt::replica_id{1});
    CHECK(reopened.state() == a.state());
}

TEST_CASE("replica: deltas received with a base reload correctly whatever the order") {
    // b learns a's removals through delta_since (or_set deltas carry a keep
    // set, so they need their base); its chunks must reload to the same set.
    crdt::loopback_hub hub;
    crdt::memory_storage sa, sb;
    {
        crdt::loopback_transport ta(hub, "a");
        replica_of<set> a(sa, ta, "doc", crdt::replica_id{1});
        for (int i = 0; i < 30; ++i) {
            a.change([&](set& s) { return s.add(i); });
        }
        {
            crdt::loopback_transport tb(hub, "b");
            replica_of<set> b(sb, tb, "doc", crdt::replica_id{2});
            settle(hub, a, b);
            CHECK(b.state().size() == 30);
        }
        for (int i = 0; i < 30; i += 3) {
            a.change([&](set& s) { return s.remove(i); });
        }
        a.change([&](set& s) { return s.add(100); });
        crdt::loopback_transport tb(hub, "b");
        replica_of<set> b(sb, tb, "doc", crdt::replica_id{2});
        settle(hub, a, b);
        CHECK(b.state() == a.state());
        CHECK(b.stats().sync.resyncs + a.stats().sync.resyncs > 0);
    }
    crdt::loopback_transport ta(hub, "a");
    replica_of<set> a(sa, ta, "doc", crdt::replica_id{1});
    crdt::loopback_transport tb(hub, "b");
    replica_of<set> b(sb, tb, "doc", crdt::replica_id{2});
    CHECK(b.state() == a.state());
    CHECK(b.state().size() == 21);
    CHECK(b.stats().chunks_waiting == 0);
}

TEST_CASE("replica: a corrupt chunk fails the open with its key, and is skipped later") {
    crdt::loopback_hub hub;
    crdt::memory_storage storage;
    const crdt::storage_key bad{"doc", "delta", "0123"};
    storage.save(bad, crdt::to_storage_bytes("crck garbage garbage"));
    {
        crdt::loopback_transport t(hub, "a");
        try {
            replica_of<map> a(storage, t, "doc", crdt::replica_id{1});
            FAIL("opened a corrupt store");
        } catch (const crdt::error& e) {
            CHECK_THAT(e.what(), Catch::Contains("0123"));
        }
    }
    storage.remove(bad);
    crdt::loopback_transport t(hub, "a");
    replica_of<map> a(storage, t, "doc", crdt::replica_id{1});
    std::vector<crdt::errc> errors;
    a.on_error([&](const crdt::error& e) { errors.push_back(e.cause()); });
    storage.save(bad, crdt::to_storage_bytes("crck garbage garbage"));
    a.poll();
    a.poll();
    REQUIRE(errors.size() == 1);
    a.change([](map& m) { return m.set("still", "works"); });
    CHECK(a.state().size() == 1);
}

TEST_CASE("replica: malformed and replayed messages are rejected without a change") {
    crdt::loopback_hub hub;
    crdt::memory_storage sa;
    crdt::loopback_transport ta(hub, "a");
    crdt::loopback_transport raw(hub, "raw");
    replica_of<map> a(sa, ta, "doc", crdt::replica_id{1});
    std::vector<crdt::errc> errors;
    a.on_error([&](const crdt::error& e) { errors.push_back(e.cause()); });
    a.change([](map& m) { return m.set("x", "1"); });
    a.poll();
    crdt::peer_id to_a{};
    std::vector<std::vector<std::byte>> from_a;
    raw.poll([&](crdt::transport_event&& e) {
        if (e.what == crdt::transport_event::kind::joined) {
            to_a = e.peer;
        }
    });
    const auto before = a.state();
    // A valid delta from a stranger, then its replay.
    map stranger(crdt::replica_id{5});
    crdt::sync_message m{
        "doc",
        crdt::sync_delta{77, 1, crdt::encode(crdt::version_vector{}), false, {}, 0, 1, 0, {}}};
    auto& d = std::get<crdt::sync_delta>(m.body);
    d.payload = crdt::encode(stranger.set("y", "2"));
    d.total = d.payload.size();
    const auto good = crdt::encode_sync_message(m);
    auto truncated = good;
    truncated.resize(truncated.size() / 2);
    auto wrong_version = good;
    wrong_version[2] = std::byte{9};
    for (const auto& bytes : {truncated, wrong_version, crdt::to_storage_bytes("not a message")}) {
        CHECK(raw.send(to_a, bytes) == crdt::send_status::accepted);
    }
    a.poll();
    CHECK(a.state() == before);
    REQUIRE(errors.size() == 3);
    CHECK((errors[0] == crdt::errc::truncated || errors[0] == crdt::errc::length_out_of_range));
    CHECK(errors[1] == crdt::errc::unsupported_version);
    CHECK(errors[2] == crdt::errc::bad_magic);
    CHECK(raw.send(to_a, good) == crdt::send_status::accepted);
    a.poll();
    CHECK(a.state().contains("y"));
    const auto after = a.state();
    CHECK(raw.send(to_a, good) == crdt::send_status::accepted);
    a.poll();
    CHECK(a.state() == after);
    CHECK(errors.back() == crdt::errc::replayed);
    CHECK(a.stats().sync.replayed == 1);
}

TEST_CASE("replica: chunks another process saves in a shared store are merged on poll") {
    crdt::loopback_hub hub1, hub2;
    crdt::memory_storage storage;
    auto other = storage.share();
    crdt::loopback_transport t1(hub1, "p1"), t2(hub2, "p2");
    replica_of<map> a(storage, t1, "doc", crdt::replica_id{1});
    replica_of<map> b(other, t2, "doc", crdt::replica_id{2});
    std::vector<crdt::change_origin> seen;
    b.on_change([&](const map&, crdt::change_origin o) { seen.push_back(o); });
    a.change([](map& m) { return m.set("shared", "store"); });
    b.poll();
    CHECK(b.state().contains("shared"));
    CHECK(seen == std::vector<crdt::change_origin>{crdt::change_origin::storage});
    b.change([](map& m) { return m.set("back", "too"); });
    a.refresh();
    CHECK(a.state() == b.state());
}

TEST_CASE("replica: readers, writers and a poller on different threads") {
    crdt::loopback_hub hub;
    crdt::memory_storage sa, sb;
    crdt::loopback_transport ta(hub, "a"), tb(hub, "b");
    replica_of<map> a(sa, ta, "doc", crdt::replica_id{1});
    replica_of<map> b(sb, tb, "doc", crdt::replica_id{2});
    constexpr int per_writer = 150;
    std::atomic<int> writers_done{0};
    std::atomic<bool> reader_ok{true};
    auto writer = [&](auto& r, const std::string& prefix) {
        for (int i = 0; i < per_writer; ++i) {
            r.change([&](map& m) { return m.set(prefix + std::to_string(i), "v"); });
        }
        ++writers_done;
    };
    std::thread w1([&] { writer(a, "a1-"); });
    std::thread w2([&] { writer(a, "a2-"); });
    std::thread w3([&] { writer(b, "b-"); });
    std::thread reader([&] {
        std::size_t last = 0;
        while (writers_done.load() < 3) {
            const std::size_t n = a.read([](const map& m) { return m.size(); });
            if (n < last) {
                reader_ok = false; // a's own keys are never erased
            }
            last = std::max(last, n);
        }
    });
    std::thread poller([&] {
        while (writers_done.load() < 3) {
            a.poll();
            b.poll();
            hub.advance();
        }
    });
    w1.join();
    w2.join();
    w3.join();
    reader.join();
    poller.join();
    settle(hub, a, b);
    CHECK(reader_ok);
    CHECK(a.state().size() == 3 * per_writer);
    CHECK(a.state() == b.state());
    crdt::loopback_transport tc(hub, "c");
    replica_of<map> reopened(sa, tc, "doc", crdt::replica_id{1});
    CHECK(reopened.state().size() >= 2 * per_writer);
}

TEST_CASE("replica: a change every peer merged settles everyone without retransmission") {
    // Every peer learns when a replica's version grows (not only the sender
    // of the delta), so a and c need not resend b's change to each other.
    crdt::loopback_hub hub;
    crdt::memory_storage sa, sb, sc;
    crdt::loopback_transport ta(hub, "a"), tb(hub, "b"), tc(hub, "c");
    replica_of<map> a(sa, ta, "doc", crdt::replica_id{1});
    replica_of<map> b(sb, tb, "doc", crdt::replica_id{2});
    replica_of<map> c(sc, tc, "doc", crdt::replica_id{3});
    auto deliver = [&] {
        for (int i = 0; i < 20; ++i) {
            a.poll();
            b.poll();
            c.poll();
            hub.advance();
        }
    };
    deliver();
    REQUIRE((a.settled() && b.settled() && c.settled()));
    b.change([](map& m) { return m.set("x", "1"); });
    deliver();
    REQUIRE(a.state() == b.state());
    REQUIRE(c.state() == b.state());
    CHECK(b.settled());
    CHECK(a.settled());
    CHECK(c.settled());
    const auto resyncs = a.stats().sync.resyncs + c.stats().sync.resyncs;
    for (int i = 0; i < 10; ++i) {
        a.tick();
        b.tick();
        c.tick();
        deliver();
    }
    CHECK(a.stats().sync.resyncs + c.stats().sync.resyncs == resyncs);
}
