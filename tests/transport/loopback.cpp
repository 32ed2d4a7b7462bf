// Tests of crdt/transport/loopback.hpp: the transport laws (T1-T4 of
// crdt/transport/concepts.hpp) with and without faults, partitions,
// backpressure, crashes and restarts, and reproducibility from the seed.
#include <crdt/transport/loopback.hpp>

#include <catch2/catch.hpp>

#include <support/seed.hpp>

#include <map>
#include <string>
#include <vector>

namespace {

static_assert(crdt::transport<crdt::loopback_transport>);
static_assert(crdt::check_transport<crdt::loopback_transport>());
static_assert(!crdt::waitable_transport<crdt::loopback_transport>);

std::vector<std::byte> bytes_of(const std::string& s) {
    std::vector<std::byte> out;
    for (char c : s) {
        out.push_back(static_cast<std::byte>(c));
    }
    return out;
}

std::string text_of(const std::vector<std::byte>& b) {
    std::string out;
    for (auto c : b) {
        out.push_back(static_cast<char>(c));
    }
    return out;
}

// Everything one endpoint saw, in order.
struct recorder {
    std::vector<crdt::transport_event> events;
    template <class T>
    std::size_t drain(T& t) {
        return t.poll([&](crdt::transport_event&& e) { events.push_back(std::move(e)); });
    }
    std::vector<std::string> messages() const {
        std::vector<std::string> out;
        for (const auto& e : events) {
            if (e.what == crdt::transport_event::kind::message) {
                out.push_back(text_of(e.bytes));
            }
        }
        return out;
    }
    std::size_t count(crdt::transport_event::kind k) const {
        std::size_t n = 0;
        for (const auto& e : events) {
            n += e.what == k ? 1 : 0;
        }
        return n;
    }
    // The peer id of the last joined event for `name`.
    crdt::peer_id joined(const std::string& name) const {
        crdt::peer_id id{};
        bool found = false;
        for (const auto& e : events) {
            if (e.what == crdt::transport_event::kind::joined && e.name == name) {
                id = e.peer;
                found = true;
            }
        }
        REQUIRE(found);
        return id;
    }
};

// T1: per peer id, exactly one joined first, messages only between joined
// and left, at most one left, and ids never reused.
void check_event_laws(const std::vector<crdt::transport_event>& events) {
    std::map<crdt::peer_id, int> phase; // 1 joined, 2 left
    for (const auto& e : events) {
        using k = crdt::transport_event::kind;
        switch (e.what) {
        case k::joined:
            REQUIRE(!phase.contains(e.peer));
            phase[e.peer] = 1;
            break;
        case k::message: REQUIRE(phase[e.peer] == 1); break;
        case k::left:
            REQUIRE(phase[e.peer] == 1);
            phase[e.peer] = 2;
            break;
        }
    }
}

} // namespace

TEST_CASE("loopback: endpoints join each other and exchange messages in order") {
    crdt::loopback_hub hub(1);
    crdt::loopback_transport a(hub, "a");
    crdt::loopback_transport b(hub, "b");
    CHECK(a.self() == "a");
    recorder ra, rb;
    ra.drain(a);
    rb.drain(b);
    const auto b_at_a = ra.joined("b");
    const auto a_at_b = rb.joined("a");
    for (int i = 0; i < 20; ++i) {
        CHECK(a.send(b_at_a, bytes_of("m" + std::to_string(i))) == crdt::send_status::accepted);
    }
    CHECK(b.send(a_at_b, bytes_of("back")) == crdt::send_status::accepted);
    CHECK(rb.drain(b) == 20);
    ra.drain(a);
    std::vector<std::string> expected;
    for (int i = 0; i < 20; ++i) {
        expected.push_back("m" + std::to_string(i));
    }
    CHECK(rb.messages() == expected);
    CHECK(ra.messages() == std::vector<std::string>{"back"});
    CHECK(a.send(crdt::peer_id{999}, bytes_of("x")) == crdt::send_status::closed);
    CHECK(hub.stats().sent == 21);
    CHECK(hub.stats().delivered == 21);
    check_event_laws(ra.events);
    check_event_laws(rb.events);
}

TEST_CASE("loopback: a second endpoint with the same name is refused") {
    crdt::loopback_hub hub;
    crdt::loopback_transport a(hub, "a");
    try {
        crdt::loopback_transport again(hub, "a");
        FAIL("no error");
    } catch (const crdt::error& e) {
        CHECK(e.cause() == crdt::errc::conflict);
        CHECK_THAT(e.what(), Catch::Contains("'a'"));
    }
}

TEST_CASE("loopback: a crash is a left event, a restart a joined one with a fresh id") {
    crdt::loopback_hub hub;
    crdt::loopback_transport a(hub, "a");
    recorder ra;
    crdt::peer_id first{};
    {
        crdt::loopback_transport b(hub, "b");
        recorder rb;
        rb.drain(b);
        CHECK(b.send(rb.joined("a"), bytes_of("in flight")) == crdt::send_status::accepted);
        ra.drain(a);
        first = ra.joined("b");
        CHECK(ra.messages() == std::vector<std::string>{"in flight"});
        CHECK(b.send(rb.joined("a"), bytes_of("lost with b")) == crdt::send_status::accepted);
    }
    ra.drain(a);
    CHECK(ra.count(crdt::transport_event::kind::left) == 1);
    CHECK(ra.messages().size() == 1); // the message in flight died with its link
    CHECK(a.send(first, bytes_of("x")) == crdt::send_status::closed);
    crdt::loopback_transport b2(hub, "b");
    ra.drain(a);
    const auto second = ra.joined("b");
    CHECK(second != first);
    CHECK(a.peers().size() == 1);
    check_event_laws(ra.events);
}

TEST_CASE("loopback: delays hold messages until the clock passes them") {
    crdt::loopback_hub hub(7, crdt::loopback_faults{.min_delay = 3, .max_delay = 3});
    crdt::loopback_transport a(hub, "a");
    crdt::loopback_transport b(hub, "b");
    recorder ra, rb;
    ra.drain(a);
    CHECK(a.send(ra.joined("b"), bytes_of("late")) == crdt::send_status::accepted);
    rb.drain(b);
    hub.advance(2);
    rb.drain(b);
    CHECK(rb.messages().empty());
    CHECK(hub.pending() == 1);
    hub.advance(1);
    rb.drain(b);
    CHECK(rb.messages() == std::vector<std::string>{"late"});
}

TEST_CASE("loopback: drop and duplicate faults at probability 0 and 1") {
    crdt::loopback_hub hub(3);
    crdt::loopback_transport a(hub, "a");
    crdt::loopback_transport b(hub, "b");
    recorder ra, rb;
    ra.drain(a);
    const auto to_b = ra.joined("b");
    hub.set_faults(crdt::loopback_faults{.drop = 1.0});
    CHECK(a.send(to_b, bytes_of("gone")) == crdt::send_status::accepted);
    hub.set_faults(crdt::loopback_faults{.duplicate = 1.0});
    CHECK(a.send(to_b, bytes_of("twice")) == crdt::send_status::accepted);
    rb.drain(b);
    CHECK(rb.messages() == std::vector<std::string>{"twice", "twice"});
    CHECK(hub.stats().dropped == 1);
    CHECK(hub.stats().duplicated == 1);
}

TEST_CASE("loopback: the same seed gives the same deliveries; faults keep the laws") {
    const auto seed = crdt_test::seed(11);
    CAPTURE(seed);
    auto run = [&](std::uint64_t s) {
        crdt::loopback_hub hub(
            s, crdt::loopback_faults{
                   .drop = 0.2, .duplicate = 0.2, .reorder = 0.3, .min_delay = 0, .max_delay = 3});
        crdt::loopback_transport a(hub, "a");
        crdt::loopback_transport b(hub, "b");
        recorder ra, rb;
        ra.drain(a);
        const auto to_b = ra.joined("b");
        for (int i = 0; i < 200; ++i) {
            REQUIRE(a.send(to_b, bytes_of(std::to_string(i))) == crdt::send_status::accepted);
            if (i % 10 == 0) {
                hub.advance();
                rb.drain(b);
            }
        }
        hub.advance(100);
        rb.drain(b);
        check_event_laws(rb.events);
        return rb.messages();
    };
    const auto first = run(seed);
    CHECK(first == run(seed));
    // Faults happened: some lost, some twice, some out of order (with 200
    // messages the chance that none of these happens is below 1e-18).
    std::map<std::string, int> copies;
    for (const auto& m : first) {
        ++copies[m];
    }
    CHECK(copies.size() < 200);
    CHECK(std::any_of(copies.begin(), copies.end(), [](const auto& e) { return e.second > 1; }));
    CHECK_FALSE(std::is_sorted(first.begin(), first.end(), [](const auto& x, const auto& y) {
        return std::stoi(x) < std::stoi(y);
    }));
}

TEST_CASE("loopback: a partition without disconnect loses messages until heal") {
    crdt::loopback_hub hub;
    crdt::loopback_transport a(hub, "a");
    crdt::loopback_transport b(hub, "b");
    crdt::loopback_transport c(hub, "c");
    recorder ra, rb, rc;
    ra.drain(a);
    hub.partition({"a"}, {"b"});
    CHECK(a.send(ra.joined("b"), bytes_of("cut")) == crdt::send_status::accepted);
    CHECK(a.send(ra.joined("c"), bytes_of("fine")) == crdt::send_status::accepted);
    rb.drain(b);
    rc.drain(c);
    CHECK(rb.messages().empty());
    CHECK(rc.messages() == std::vector<std::string>{"fine"});
    hub.heal();
    CHECK(a.send(ra.joined("b"), bytes_of("healed")) == crdt::send_status::accepted);
    rb.drain(b);
    CHECK(rb.messages() == std::vector<std::string>{"healed"});
    CHECK(rb.count(crdt::transport_event::kind::left) == 0);
}

TEST_CASE("loopback: a partition with disconnect gives left, then joined on heal") {
    crdt::loopback_hub hub;
    crdt::loopback_transport a(hub, "a");
    crdt::loopback_transport b(hub, "b");
    recorder ra, rb;
    ra.drain(a);
    rb.drain(b);
    const auto before = ra.joined("b");
    CHECK(b.send(rb.joined("a"), bytes_of("in flight")) == crdt::send_status::accepted);
    hub.partition({"a"}, {"b"}, true);
    CHECK(a.send(before, bytes_of("x")) == crdt::send_status::closed);
    hub.heal();
    ra.drain(a);
    rb.drain(b);
    CHECK(ra.messages().empty());
    CHECK(ra.count(crdt::transport_event::kind::left) == 1);
    const auto after = ra.joined("b");
    CHECK(after != before);
    CHECK(a.send(after, bytes_of("again")) == crdt::send_status::accepted);
    rb.drain(b);
    CHECK(rb.messages() == std::vector<std::string>{"again"});
    check_event_laws(ra.events);
    check_event_laws(rb.events);
}

namespace {
struct tiny_outbox : crdt::loopback_transport_defaults {
    static constexpr std::size_t outbox_limit = 3;
};
} // namespace

TEST_CASE("loopback: a full link answers would_block until the receiver polls") {
    crdt::loopback_hub hub;
    crdt::basic_loopback_transport<tiny_outbox> a(hub, "a");
    crdt::basic_loopback_transport<tiny_outbox> b(hub, "b");
    recorder ra, rb;
    ra.drain(a);
    const auto to_b = ra.joined("b");
    for (int i = 0; i < 3; ++i) {
        CHECK(a.send(to_b, bytes_of("m")) == crdt::send_status::accepted);
    }
    CHECK(a.send(to_b, bytes_of("m")) == crdt::send_status::would_block);
    CHECK(hub.stats().sent == 3);
    rb.drain(b);
    CHECK(rb.messages().size() == 3);
    CHECK(a.send(to_b, bytes_of("m")) == crdt::send_status::accepted);
}
