// Tests of crdt/transport/mux.hpp: two documents synced over one transport
// per replica, routing by document id, late channels, unroutable messages.
#include <crdt/lww_map.hpp>
#include <crdt/or_set.hpp>
#include <crdt/storage/memory_storage.hpp>
#include <crdt/store/replica.hpp>
#include <crdt/sync/message.hpp>
#include <crdt/transport/loopback.hpp>
#include <crdt/transport/mux.hpp>

#include <catch2/catch.hpp>

#include <string>
#include <vector>

namespace {

using mux = crdt::transport_mux<crdt::loopback_transport>;
using map = crdt::lww_map<std::string, std::string>;
using set = crdt::or_set<int>;

static_assert(crdt::transport<mux::channel>);

struct manual : crdt::replica_defaults {
    static constexpr std::chrono::milliseconds tick_interval{std::chrono::hours(24)};
};
template <class T>
using replica_on = crdt::store::replica<T, crdt::memory_storage, mux::channel, manual>;

std::vector<std::byte> bytes_of(const std::string& s) {
    std::vector<std::byte> out;
    for (char c : s) {
        out.push_back(static_cast<std::byte>(c));
    }
    return out;
}

} // namespace

TEST_CASE("mux: two documents sync independently over one transport per replica") {
    crdt::loopback_hub hub(5, crdt::loopback_faults{.drop = 0.1, .duplicate = 0.1});
    crdt::loopback_transport net_a(hub, "a"), net_b(hub, "b");
    mux mux_a(net_a), mux_b(net_b);
    crdt::memory_storage storage_a, storage_b;
    replica_on<map> settings_a(storage_a, mux_a.open("settings"), "settings", crdt::replica_id{1});
    replica_on<set> notes_a(storage_a, mux_a.open("notes"), "notes", crdt::replica_id{1});
    replica_on<map> settings_b(storage_b, mux_b.open("settings"), "settings", crdt::replica_id{2});
    replica_on<set> notes_b(storage_b, mux_b.open("notes"), "notes", crdt::replica_id{2});
    std::vector<crdt::errc> errors;
    for (auto* r : {&settings_a, &settings_b}) {
        r->on_error([&](const crdt::error& e) {
            if (e.cause() != crdt::errc::replayed) {
                errors.push_back(e.cause());
            }
        });
    }
    settings_a.change([](map& m) { return m.set("theme", "dark"); });
    notes_b.change([](set& s) { return s.add(7); });
    notes_a.change([](set& s) { return s.add(1); });
    for (int round = 0; round < 60; ++round) {
        settings_a.poll();
        notes_a.poll();
        settings_b.poll();
        notes_b.poll();
        if (round % 4 == 0) {
            settings_a.tick();
            notes_a.tick();
            settings_b.tick();
            notes_b.tick();
        }
        hub.advance();
    }
    CHECK(settings_a.state() == settings_b.state());
    CHECK(notes_a.state() == notes_b.state());
    CHECK(notes_b.state().size() == 2);
    CHECK(settings_b.state().contains("theme"));
    CHECK((settings_a.settled() && notes_a.settled() && settings_b.settled() && notes_b.settled()));
    CHECK(errors.empty()); // no replica saw another document's message
    CHECK(mux_a.unrouted() == 0);
}

TEST_CASE("mux: a late channel sees the peers already connected; strays are reported") {
    crdt::loopback_hub hub;
    crdt::loopback_transport net_a(hub, "a"), net_b(hub, "b");
    mux mux_a(net_a);
    auto& first = mux_a.open("first");
    std::vector<crdt::transport_event> seen;
    first.poll([&](crdt::transport_event&& e) { seen.push_back(std::move(e)); });
    REQUIRE(seen.size() == 1);
    CHECK(seen[0].what == crdt::transport_event::kind::joined);
    CHECK(seen[0].name == "b");
    CHECK(&mux_a.open("first") == &first);

    auto& late = mux_a.open("late");
    std::vector<crdt::transport_event> late_seen;
    late.poll([&](crdt::transport_event&& e) { late_seen.push_back(std::move(e)); });
    REQUIRE(late_seen.size() == 1);
    CHECK(late_seen[0].what == crdt::transport_event::kind::joined);
    CHECK(late_seen[0].peer == seen[0].peer);
    CHECK(late.self() == "a");
    CHECK(late.document() == "late");

    std::vector<crdt::errc> strays;
    mux_a.on_unrouted([&](crdt::peer_id, const crdt::error& e) { strays.push_back(e.cause()); });
    crdt::peer_id to_a{};
    net_b.poll([&](crdt::transport_event&& e) { to_a = e.peer; });
    const auto other = crdt::encode_sync_message(
        crdt::sync_message{"elsewhere", crdt::sync_ack{1, crdt::encode(crdt::version_vector{})}});
    const auto mine = crdt::encode_sync_message(
        crdt::sync_message{"late", crdt::sync_ack{1, crdt::encode(crdt::version_vector{})}});
    CHECK(net_b.send(to_a, other) == crdt::send_status::accepted);
    CHECK(net_b.send(to_a, bytes_of("garbage")) == crdt::send_status::accepted);
    CHECK(net_b.send(to_a, bytes_of("cs")) == crdt::send_status::accepted);
    CHECK(net_b.send(to_a, mine) == crdt::send_status::accepted);
    late_seen.clear();
    seen.clear();
    late.poll([&](crdt::transport_event&& e) { late_seen.push_back(std::move(e)); });
    first.poll([&](crdt::transport_event&& e) { seen.push_back(std::move(e)); });
    REQUIRE(late_seen.size() == 1);
    CHECK(late_seen[0].bytes == mine);
    CHECK(seen.empty());
    CHECK(strays == std::vector<crdt::errc>{crdt::errc::not_found, crdt::errc::bad_magic,
                                            crdt::errc::truncated});
    CHECK(mux_a.unrouted() == 3);
    CHECK(late.send(seen.empty() ? late_seen[0].peer : crdt::peer_id{}, bytes_of("x")) ==
          crdt::send_status::accepted);
}
