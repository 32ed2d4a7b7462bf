// Tests of crdt/transport/tcp_transport.hpp: two transports in one process,
// backpressure, reconnects, bad input from raw sockets, and real processes.
//
// Deadlines (20 s) only guard against hangs; every loop ends as soon as its
// condition holds, which takes milliseconds on loopback.
#include <crdt/codec/framing.hpp>
#include <crdt/codec/writer.hpp>
#include <crdt/transport/tcp_transport.hpp>

#include <catch2/catch.hpp>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <poll.h>
#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

// Every member of the facade compiles (explicit instantiation).
template class crdt::basic_tcp_transport<crdt::tcp_transport_defaults>;

namespace {

using namespace std::chrono_literals;
using crdt::peer_id;
using crdt::send_status;
using crdt::transport_event;
using kind = crdt::transport_event::kind;
using bytes_t = std::vector<std::byte>;

constexpr auto guard_time = 20s;

static_assert(crdt::transport<crdt::tcp_transport>);
static_assert(crdt::waitable_transport<crdt::tcp_transport>);
static_assert(crdt::check_transport<crdt::tcp_transport>());

// Redial fast so reconnect tests do not wait for the default backoff.
struct fast_policy : crdt::tcp_transport_defaults {
    static constexpr std::chrono::milliseconds reconnect_initial{5};
    static constexpr std::chrono::milliseconds reconnect_max{50};
};

struct small_frames : fast_policy {
    static constexpr std::size_t max_frame_bytes = 1024;
};

struct tiny_outbox : fast_policy {
    static constexpr std::size_t outbox_limit_bytes = 64 * 1024;
};

struct quick_handshake : fast_policy {
    static constexpr std::chrono::milliseconds handshake_timeout{20};
};

bytes_t to_bytes(std::string_view s) {
    const auto b = std::as_bytes(std::span<const char>(s.data(), s.size()));
    return bytes_t(b.begin(), b.end());
}

std::string to_text(const bytes_t& b) {
    return std::string(reinterpret_cast<const char*>(b.data()), b.size());
}

bytes_t pattern(std::size_t n, unsigned salt) {
    bytes_t out(n);
    for (std::size_t i = 0; i < n; ++i) {
        out[i] = static_cast<std::byte>((i * 131 + (i >> 9) + salt) & 0xffu);
    }
    return out;
}

// A transport plus everything it delivered.
template <class Policy = fast_policy>
struct node {
    explicit node(std::string name, Policy policy = {}) : t(std::move(name), policy) {
        t.on_error([this](const crdt::error& e) {
            errors.push_back(e.cause());
            error_texts.emplace_back(e.what());
        });
    }
    node(const node&) = delete;
    node& operator=(const node&) = delete;

    void pump(std::chrono::milliseconds d = 1ms) {
        t.wait(d);
        t.poll([this](transport_event&& ev) { events.push_back(std::move(ev)); });
    }

    // The most recent peer that joined with `name`.
    std::optional<peer_id> joined(std::string_view name) const {
        std::optional<peer_id> out;
        for (const auto& ev : events) {
            if (ev.what == kind::joined && ev.name == name) {
                out = ev.peer;
            }
        }
        return out;
    }

    std::size_t count(kind k, peer_id p) const {
        return static_cast<std::size_t>(
            std::count_if(events.begin(), events.end(),
                          [&](const transport_event& ev) { return ev.what == k && ev.peer == p; }));
    }

    std::vector<bytes_t> messages_from(peer_id p) const {
        std::vector<bytes_t> out;
        for (const auto& ev : events) {
            if (ev.what == kind::message && ev.peer == p) {
                out.push_back(ev.bytes);
            }
        }
        return out;
    }

    std::size_t message_count() const {
        return static_cast<std::size_t>(
            std::count_if(events.begin(), events.end(),
                          [](const transport_event& ev) { return ev.what == kind::message; }));
    }

    crdt::basic_tcp_transport<Policy> t;
    std::vector<transport_event> events;
    std::vector<crdt::errc> errors;
    std::vector<std::string> error_texts;
};

// Pumps every node until `done()` holds; false after the guard time.
template <class Done, class... Nodes>
bool run_until(Done done, Nodes&... nodes) {
    const auto deadline = std::chrono::steady_clock::now() + guard_time;
    while (!done()) {
        if (std::chrono::steady_clock::now() > deadline) {
            return false;
        }
        (nodes.pump(), ...);
    }
    return true;
}

// Checks law T1 on one node's log: one joined per peer before anything
// else from it, at most one left, nothing after the left.
template <class Node>
void check_event_order(const Node& n) {
    std::map<peer_id, int> state; // 1 joined, 2 left
    for (const auto& ev : n.events) {
        auto& s = state[ev.peer];
        switch (ev.what) {
        case kind::joined:
            CHECK(s == 0);
            s = 1;
            break;
        case kind::message: CHECK(s == 1); break;
        case kind::left:
            CHECK(s == 1);
            s = 2;
            break;
        }
    }
}

// Connects two nodes; returns each one's peer id for the other.
template <class A, class B>
std::pair<peer_id, peer_id> link(A& a, B& b) {
    const std::uint16_t port = a.t.listen("127.0.0.1", 0);
    REQUIRE(port != 0);
    b.t.connect("127.0.0.1", port);
    REQUIRE(run_until([&] { return a.joined(b.t.self()) && b.joined(a.t.self()); }, a, b));
    return {*a.joined(b.t.self()), *b.joined(a.t.self())};
}

} // namespace

TEST_CASE("two transports exchange messages exactly and in order", "[tcp]") {
    node<> a("alpha");
    node<> b("beta");
    const auto ids = link(a, b);
    const peer_id b_at_a = ids.first;
    const peer_id a_at_b = ids.second;
    CHECK(a.t.peers() == std::map<peer_id, std::string>{{b_at_a, "beta"}});
    CHECK(b.t.peers() == std::map<peer_id, std::string>{{a_at_b, "alpha"}});

    constexpr int small = 1000;
    std::vector<bytes_t> to_a;
    std::vector<bytes_t> to_b;
    for (int i = 0; i < small; ++i) {
        to_a.push_back(to_bytes("b->a #" + std::to_string(i)));
        to_b.push_back(to_bytes("a->b #" + std::to_string(i)));
    }
    to_a.emplace_back(); // an empty message is a message too
    to_b.emplace_back();
    to_a.push_back(pattern(5u << 20, 1)); // several MB
    to_b.push_back(pattern((3u << 20) + 17, 2));
    to_a.push_back(to_bytes("after the big one"));
    to_b.push_back(to_bytes("after the big one"));
    for (std::size_t i = 0; i < to_a.size(); ++i) {
        REQUIRE(b.t.send(a_at_b, to_a[i]) == send_status::accepted);
        REQUIRE(a.t.send(b_at_a, to_b[i]) == send_status::accepted);
    }
    REQUIRE(run_until(
        [&] {
            return a.messages_from(b_at_a).size() == to_a.size() &&
                   b.messages_from(a_at_b).size() == to_b.size();
        },
        a, b));
    CHECK(a.messages_from(b_at_a) == to_a);
    CHECK(b.messages_from(a_at_b) == to_b);
    check_event_order(a);
    check_event_order(b);

    const auto sa = a.t.stats();
    CHECK(sa.messages_in == to_a.size());
    CHECK(sa.messages_out == to_b.size());
    CHECK(sa.closed_for_errors == 0);
    CHECK(sa.bytes_in >= 5u << 20);
    CHECK(a.errors.empty());
    CHECK(b.errors.empty());

    // Unknown peers answer closed (T2), whatever the size.
    CHECK(a.t.send(peer_id{999}, to_bytes("x")) == send_status::closed);
    CHECK(a.t.send(peer_id{0}, to_bytes("x")) == send_status::closed);
}

TEST_CASE("a message above max_frame_bytes is a caller error", "[tcp]") {
    node<small_frames> a("alpha");
    node<small_frames> b("beta");
    const auto ids = link(a, b);
    const peer_id b_at_a = ids.first;
    const peer_id a_at_b = ids.second;
    try {
        (void)b.t.send(a_at_b, pattern(1025, 0));
        FAIL("send() accepted a message above max_frame_bytes");
    } catch (const crdt::error& e) {
        CHECK(e.cause() == crdt::errc::too_large);
        CHECK(std::string(e.what()).find("1025") != std::string::npos);
    }
    // T2: an unknown peer answers closed, whatever the size.
    CHECK(b.t.send(peer_id{a_at_b.value + 1000}, pattern(2000, 0)) == send_status::closed);
    REQUIRE(b.t.send(a_at_b, pattern(1024, 3)) == send_status::accepted);
    REQUIRE(run_until([&] { return a.message_count() == 1; }, a, b));
    CHECK(a.messages_from(b_at_a) == std::vector<bytes_t>{pattern(1024, 3)});
}

TEST_CASE("a policy object with data members configures one transport", "[tcp]") {
    struct runtime_policy {
        std::size_t max_frame_bytes = 64;
        std::size_t outbox_limit_bytes = 1024;
        std::chrono::milliseconds reconnect_initial{5};
        std::chrono::milliseconds reconnect_max{50};
        std::chrono::milliseconds connect_timeout{1000};
        std::chrono::milliseconds handshake_timeout{1000};
    };
    runtime_policy p;
    p.max_frame_bytes = 100;
    node<runtime_policy> a("alpha", p);
    node<runtime_policy> b("beta", p);
    const auto ids = link(a, b);
    CHECK_THROWS_AS(b.t.send(ids.second, pattern(101, 0)), crdt::error);
    REQUIRE(b.t.send(ids.second, pattern(100, 0)) == send_status::accepted);
    REQUIRE(run_until([&] { return a.message_count() == 1; }, a, b));
    CHECK(a.messages_from(ids.first) == std::vector<bytes_t>{pattern(100, 0)});
}

TEST_CASE("backpressure: a full outbox answers would_block until the peer drains", "[tcp]") {
    node<tiny_outbox> a("receiver");
    node<tiny_outbox> b("sender");
    const auto ids = link(a, b);
    const peer_id b_at_a = ids.first;
    const peer_id a_at_b = ids.second;

    // The receiver does not poll: the kernel buffers fill, then the outbox.
    const auto message = [](std::uint32_t seq) {
        bytes_t m = pattern(16 * 1024, seq);
        for (int i = 0; i < 4; ++i) {
            m[static_cast<std::size_t>(i)] = static_cast<std::byte>((seq >> (8 * i)) & 0xffu);
        }
        return m;
    };
    std::uint32_t accepted = 0;
    bool blocked = false;
    const auto deadline = std::chrono::steady_clock::now() + guard_time;
    while (!blocked && std::chrono::steady_clock::now() < deadline) {
        const auto st = b.t.send(a_at_b, message(accepted));
        REQUIRE(st != send_status::closed);
        if (st == send_status::would_block) {
            blocked = true;
        } else {
            ++accepted;
            b.t.poll([&](transport_event&& ev) { b.events.push_back(std::move(ev)); });
        }
    }
    REQUIRE(blocked);
    CHECK(accepted > 0);
    CHECK(b.t.unsent_bytes() > 0);
    CHECK(b.t.unsent_bytes() <= tiny_outbox::outbox_limit_bytes);

    // The receiver drains; everything accepted arrives, in order.
    REQUIRE(run_until([&] { return a.message_count() == accepted; }, a, b));
    const auto got = a.messages_from(b_at_a);
    for (std::uint32_t i = 0; i < accepted; ++i) {
        REQUIRE(got[i] == message(i));
    }
    // Sending works again.
    send_status st = send_status::would_block;
    REQUIRE(run_until(
        [&] {
            st = b.t.send(a_at_b, message(accepted));
            return st != send_status::would_block;
        },
        a, b));
    REQUIRE(st == send_status::accepted);
    REQUIRE(run_until([&] { return a.message_count() == accepted + 1; }, a, b));
    CHECK(a.messages_from(b_at_a).back() == message(accepted));
    CHECK(a.errors.empty());
    CHECK(b.errors.empty());
}

TEST_CASE("a dialer redials after its listener goes away and comes back", "[tcp]") {
    auto a = std::make_unique<node<>>("alpha");
    node<> b("beta");
    const std::uint16_t port = a->t.listen("127.0.0.1", 0);
    b.t.connect("127.0.0.1", port);
    REQUIRE(run_until([&] { return a->joined("beta") && b.joined("alpha"); }, *a, b));
    const peer_id first = *b.joined("alpha");

    a.reset(); // the listener and its connection close
    REQUIRE(run_until([&] { return b.count(kind::left, first) == 1; }, b));
    CHECK(b.t.send(first, to_bytes("gone")) == send_status::closed);
    CHECK(b.t.peers().empty());

    auto c = std::make_unique<node<>>("gamma");
    REQUIRE(c->t.listen("127.0.0.1", port) == port);
    REQUIRE(run_until([&] { return b.joined("gamma") && c->joined("beta"); }, *c, b));
    const peer_id second = *b.joined("gamma");
    CHECK(second != first);
    CHECK(b.count(kind::left, first) == 1);

    REQUIRE(b.t.send(second, to_bytes("hello gamma")) == send_status::accepted);
    REQUIRE(c->t.send(*c->joined("beta"), to_bytes("hello beta")) == send_status::accepted);
    REQUIRE(run_until(
        [&] { return c->message_count() == 1 && b.messages_from(second).size() == 1; }, *c, b));
    CHECK(to_text(c->messages_from(*c->joined("beta"))[0]) == "hello gamma");
    CHECK(to_text(b.messages_from(second)[0]) == "hello beta");
    check_event_order(b);
    CHECK(b.errors.empty());
}

namespace {

// A handshake frame built by hand from the documented format.
bytes_t raw_handshake(std::string_view magic, std::uint8_t version, std::string_view name) {
    crdt::byte_writer w;
    w.raw(std::as_bytes(std::span<const char>(magic.data(), magic.size())));
    w.byte(version);
    w.string(name);
    return crdt::make_frame(1, w.view());
}

bytes_t message_frame(std::string_view text) {
    return crdt::make_frame(2, to_bytes(text));
}

bytes_t concat(std::initializer_list<bytes_t> parts) {
    bytes_t out;
    for (const auto& p : parts) {
        out.insert(out.end(), p.begin(), p.end());
    }
    return out;
}

struct one_mib : fast_policy {
    static constexpr std::size_t max_frame_bytes = 1 << 20;
};

} // namespace

TEST_CASE("bad input from a raw socket closes only that connection", "[tcp]") {
    node<one_mib> srv("server");
    node<one_mib> good("good");
    const auto ids = link(srv, good);
    const peer_id good_at_srv = ids.first;
    const peer_id srv_at_good = ids.second;
    const std::uint16_t port = srv.t.listen("127.0.0.1", 0); // a second listener

    bytes_t input;
    crdt::errc expected{};
    bool joins = false;                 // the raw peer's handshake is valid
    bool half_close = false;            // shut the raw socket's sending side after writing
    std::vector<std::string> delivered; // messages expected from the raw peer

    SECTION("garbage instead of a handshake") {
        input = to_bytes("GET / HTTP/1.1\r\nHost: example\r\n\r\n");
        expected = crdt::errc::bad_magic;
    }
    SECTION("a zero-filled header") {
        input = bytes_t(64);
        expected = crdt::errc::bad_magic;
    }
    SECTION("a message frame instead of a handshake") {
        input = message_frame("hello");
        expected = crdt::errc::bad_magic;
    }
    SECTION("a handshake with the wrong magic") {
        input = raw_handshake("crdt-xyz", 1, "raw");
        expected = crdt::errc::bad_magic;
    }
    SECTION("a handshake of another version") {
        input = raw_handshake("crdt-tcp", 2, "raw");
        expected = crdt::errc::unsupported_version;
    }
    SECTION("a handshake with an empty name") {
        input = raw_handshake("crdt-tcp", 1, "");
        expected = crdt::errc::invalid_value;
    }
    SECTION("a valid handshake, then a frame with a wrong checksum") {
        bytes_t bad = message_frame("tampered");
        bad.back() ^= std::byte{0x01};
        input = concat({raw_handshake("crdt-tcp", 1, "raw"), bad});
        expected = crdt::errc::checksum_mismatch;
        joins = true;
    }
    SECTION("messages before a corrupt frame arrive, nothing after it") {
        bytes_t bad = message_frame("tampered");
        bad[4] ^= std::byte{0x80}; // the stored CRC
        input = concat({raw_handshake("crdt-tcp", 1, "raw"), message_frame("one"),
                        message_frame("two"), bad, message_frame("three")});
        expected = crdt::errc::checksum_mismatch;
        joins = true;
        delivered = {"one", "two"};
    }
    SECTION("a frame header announcing more than max_frame_bytes") {
        // Only the header: the transport must refuse it before reading (or
        // allocating) the payload, which never comes.
        bytes_t header = crdt::make_frame(2, bytes_t(16));
        const std::uint32_t length = (1u << 20) + 1;
        for (int i = 0; i < 4; ++i) {
            header[static_cast<std::size_t>(i)] =
                static_cast<std::byte>((length >> (8 * i)) & 0xffu);
        }
        header.resize(crdt::frame_header_size);
        input = concat({raw_handshake("crdt-tcp", 1, "raw"), header});
        expected = crdt::errc::too_large;
        joins = true;
    }
    SECTION("a frame of type 0") {
        bytes_t frame = message_frame("zero");
        frame[8] = std::byte{0};
        input = concat({raw_handshake("crdt-tcp", 1, "raw"), frame});
        expected = crdt::errc::invalid_value;
        joins = true;
    }
    SECTION("a truncated frame, then the connection closes") {
        bytes_t frame = message_frame(std::string(100, 'x'));
        frame.resize(30);
        input = concat({raw_handshake("crdt-tcp", 1, "raw"), message_frame("whole"), frame});
        expected = crdt::errc::truncated;
        joins = true;
        half_close = true;
        delivered = {"whole"};
    }
    CAPTURE(static_cast<int>(expected));

    boost::asio::io_context io;
    boost::asio::ip::tcp::socket raw(io);
    raw.connect({boost::asio::ip::make_address("127.0.0.1"), port});
    boost::asio::write(raw, boost::asio::buffer(input));
    if (half_close) {
        raw.shutdown(boost::asio::ip::tcp::socket::shutdown_send);
    }

    REQUIRE(run_until([&] { return !srv.errors.empty(); }, srv, good));
    CHECK(srv.errors == std::vector<crdt::errc>{expected});
    INFO(srv.error_texts.front());
    CHECK(srv.error_texts.front().find("server") != std::string::npos);
    CHECK(srv.t.stats().closed_for_errors == 1);

    // The raw peer joined only with a valid handshake, delivered only the
    // messages before the bad frame, and left once.
    const auto raw_peer = srv.joined("raw");
    CHECK(raw_peer.has_value() == joins);
    if (raw_peer) {
        CHECK(srv.count(kind::left, *raw_peer) == 1);
        std::vector<std::string> got;
        for (const auto& m : srv.messages_from(*raw_peer)) {
            got.push_back(to_text(m));
        }
        CHECK(got == delivered);
    } else {
        CHECK(srv.message_count() == 0);
    }
    CHECK(srv.t.peers() == std::map<peer_id, std::string>{{good_at_srv, "good"}});
    check_event_order(srv);

    // The server spoke the documented handshake on the raw socket, then
    // closed it.
    bytes_t from_srv;
    boost::system::error_code ec;
    while (!ec) {
        std::byte chunk[4096];
        const std::size_t n = raw.read_some(boost::asio::buffer(chunk), ec);
        from_srv.insert(from_srv.end(), chunk, chunk + n);
    }
    // End of stream, or a reset if the server closed with input unread.
    CHECK((ec == boost::asio::error::eof || ec == boost::asio::error::connection_reset));
    crdt::frame_view f;
    REQUIRE(crdt::parse_frame(from_srv, f) == crdt::frame_status::ok);
    CHECK(f.type == 1);
    const bytes_t expected_handshake = raw_handshake("crdt-tcp", 1, "server");
    CHECK(from_srv == expected_handshake);

    // The well-behaved peer is still served, both ways.
    REQUIRE(good.t.send(srv_at_good, to_bytes("ping")) == send_status::accepted);
    REQUIRE(srv.t.send(good_at_srv, to_bytes("pong")) == send_status::accepted);
    REQUIRE(run_until(
        [&] {
            return srv.messages_from(good_at_srv).size() == 1 &&
                   good.messages_from(srv_at_good).size() == 1;
        },
        srv, good));
    CHECK(to_text(srv.messages_from(good_at_srv)[0]) == "ping");
    CHECK(to_text(good.messages_from(srv_at_good)[0]) == "pong");
    CHECK(good.errors.empty());
}

TEST_CASE("a silent connection is closed after handshake_timeout", "[tcp]") {
    node<quick_handshake> srv("server");
    const std::uint16_t port = srv.t.listen("127.0.0.1", 0);
    boost::asio::io_context io;
    boost::asio::ip::tcp::socket raw(io);
    raw.connect({boost::asio::ip::make_address("127.0.0.1"), port});
    REQUIRE(run_until([&] { return !srv.errors.empty(); }, srv));
    CHECK(srv.errors == std::vector<crdt::errc>{crdt::errc::io_error});
    CHECK(srv.events.empty());
}

TEST_CASE("listen and connect report bad arguments as crdt::error", "[tcp]") {
    crdt::tcp_transport t("alpha");
    const auto cause_of = [](auto&& fn) {
        try {
            fn();
        } catch (const crdt::error& e) {
            return e.cause();
        }
        return crdt::errc{};
    };
    CHECK(cause_of([&] { (void)t.listen("not an address", 0); }) == crdt::errc::invalid_value);
    const std::uint16_t port = t.listen("127.0.0.1", 0);
    CHECK(cause_of([&] { (void)t.listen("127.0.0.1", port); }) == crdt::errc::io_error);
    CHECK(cause_of([] { crdt::tcp_transport empty(""); }) == crdt::errc::invalid_value);
    CHECK(cause_of([] { crdt::tcp_transport bad("\xff"); }) == crdt::errc::invalid_utf8);
}

// ---------------------------------------------------------------------------
// Real processes. Children are forked before the parent creates any Asio
// object; they report through pipes and exit with a status the parent
// checks. Exit statuses of a child: 0 ok, 10+ a check failed, 20 timeout,
// 30 an exception.
// ---------------------------------------------------------------------------

namespace {

constexpr int process_messages = 200;

bool write_all(int fd, const void* data, std::size_t n) {
    const auto* p = static_cast<const char*>(data);
    while (n > 0) {
        const ssize_t w = ::write(fd, p, n);
        if (w < 0 && errno == EINTR) {
            continue;
        }
        if (w <= 0) {
            return false;
        }
        p += w;
        n -= static_cast<std::size_t>(w);
    }
    return true;
}

bool read_all(int fd, void* data, std::size_t n) {
    auto* p = static_cast<char*>(data);
    while (n > 0) {
        const ssize_t r = ::read(fd, p, n);
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r <= 0) {
            return false;
        }
        p += r;
        n -= static_cast<std::size_t>(r);
    }
    return true;
}

// Returns: whether `fd` has a byte to read (without blocking).
bool readable(int fd) {
    pollfd p{fd, POLLIN, 0};
    return ::poll(&p, 1, 0) == 1;
}

struct child_process {
    pid_t pid = -1;
    int down = -1; // parent writes
    int up = -1;   // parent reads
};

// Forks a child running `body(in, out)`; its result is the exit status.
child_process spawn(const std::function<int(int, int)>& body) {
    int down[2];
    int up[2];
    REQUIRE(::pipe(down) == 0);
    REQUIRE(::pipe(up) == 0);
    const pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        ::close(down[1]);
        ::close(up[0]);
        int status = 30;
        try {
            status = body(down[0], up[1]);
        } catch (...) {
            status = 30;
        }
        ::_exit(status);
    }
    ::close(down[0]);
    ::close(up[1]);
    return {pid, down[1], up[0]};
}

// Kills and reaps children a failed test left behind.
struct reaper {
    std::vector<child_process>& children;
    ~reaper() {
        for (auto& c : children) {
            if (c.pid > 0) {
                ::kill(c.pid, SIGKILL);
                ::waitpid(c.pid, nullptr, 0);
            }
            ::close(c.down);
            ::close(c.up);
        }
    }
};

// Returns: the exit status of `c` (-1 if it did not exit normally).
int reap(child_process& c) {
    int status = 0;
    const pid_t r = ::waitpid(c.pid, &status, 0);
    c.pid = -1;
    if (r < 0 || !WIFEXITED(status)) {
        return -1;
    }
    return WEXITSTATUS(status);
}

std::string numbered(const std::string& from, const std::string& to, int k) {
    return from + "->" + to + " #" + std::to_string(k);
}

// A child's side of a conversation with a set of named peers: on joined it
// sends them process_messages messages, and checks theirs arrive in order.
// Once everything arrived it writes 'k' to `out` and exits when the parent
// writes 'x' to `in`.
int converse(crdt::tcp_transport& t, const std::vector<std::string>& peers, int in, int out) {
    int errors = 0;
    t.on_error([&](const crdt::error&) { ++errors; });
    std::map<std::string, int> received;
    std::map<std::uint64_t, std::string> names;
    int status = 0;
    bool reported = false;
    const auto deadline = std::chrono::steady_clock::now() + guard_time;
    while (std::chrono::steady_clock::now() < deadline) {
        t.wait(5ms);
        t.poll([&](transport_event&& ev) {
            switch (ev.what) {
            case kind::joined: {
                if (std::find(peers.begin(), peers.end(), ev.name) == peers.end() ||
                    received.count(ev.name) != 0) {
                    status = 11; // a stranger, or a second connection
                    return;
                }
                names[ev.peer.value] = ev.name;
                received[ev.name] = 0;
                for (int k = 0; k < process_messages; ++k) {
                    if (t.send(ev.peer, to_bytes(numbered(t.self(), ev.name, k))) !=
                        send_status::accepted) {
                        status = 12;
                    }
                }
                break;
            }
            case kind::message: {
                const std::string& from = names[ev.peer.value];
                int& n = received[from];
                if (to_text(ev.bytes) != numbered(from, t.self(), n)) {
                    status = 13;
                }
                ++n;
                break;
            }
            case kind::left:
                if (!reported) {
                    status = 14; // a peer left before the conversation ended
                }
                break;
            }
        });
        if (status != 0) {
            return status;
        }
        if (errors != 0) {
            return 15;
        }
        const bool complete = received.size() == peers.size() &&
                              std::all_of(received.begin(), received.end(), [](const auto& kv) {
                                  return kv.second == process_messages;
                              });
        if (complete && !reported) {
            const char k = 'k';
            if (!write_all(out, &k, 1)) {
                return 16;
            }
            reported = true;
        }
        if (reported && readable(in)) {
            char x = 0;
            return read_all(in, &x, 1) && x == 'x' ? 0 : 17;
        }
    }
    return 20;
}

} // namespace

TEST_CASE("two child processes talk to a listener in the parent", "[tcp][process]") {
    constexpr int n = 2;
    std::vector<child_process> children;
    reaper cleanup{children};
    for (int i = 0; i < n; ++i) {
        children.push_back(spawn([i](int in, int out) {
            std::uint16_t port = 0;
            if (!read_all(in, &port, sizeof port)) {
                return 10;
            }
            crdt::tcp_transport t("child-" + std::to_string(i));
            t.connect("127.0.0.1", port);
            return converse(t, {"parent"}, in, out);
        }));
    }

    node<> parent("parent");
    const std::uint16_t port = parent.t.listen("127.0.0.1", 0);
    for (auto& c : children) {
        REQUIRE(write_all(c.down, &port, sizeof port));
    }
    std::map<std::string, peer_id> child_ids;
    std::vector<bool> reported(n, false);
    REQUIRE(run_until(
        [&] {
            for (int i = 0; i < n; ++i) {
                const std::string name = "child-" + std::to_string(i);
                if (!child_ids.count(name) && parent.joined(name)) {
                    child_ids[name] = *parent.joined(name);
                    for (int k = 0; k < process_messages; ++k) {
                        REQUIRE(
                            parent.t.send(child_ids[name], to_bytes(numbered("parent", name, k))) ==
                            send_status::accepted);
                    }
                }
                if (!reported[static_cast<std::size_t>(i)] &&
                    readable(children[static_cast<std::size_t>(i)].up)) {
                    char k = 0;
                    REQUIRE(read_all(children[static_cast<std::size_t>(i)].up, &k, 1));
                    reported[static_cast<std::size_t>(i)] = true;
                }
            }
            return std::all_of(reported.begin(), reported.end(), [](bool r) { return r; }) &&
                   parent.message_count() == n * process_messages;
        },
        parent));
    for (const auto& [name, id] : child_ids) {
        const auto got = parent.messages_from(id);
        REQUIRE(got.size() == process_messages);
        for (int k = 0; k < process_messages; ++k) {
            REQUIRE(to_text(got[static_cast<std::size_t>(k)]) == numbered(name, "parent", k));
        }
    }
    for (auto& c : children) {
        const char x = 'x';
        REQUIRE(write_all(c.down, &x, 1));
    }
    for (auto& c : children) {
        CHECK(reap(c) == 0);
    }
    // Every child's exit is a left event here.
    REQUIRE(run_until(
        [&] {
            return std::all_of(child_ids.begin(), child_ids.end(), [&](const auto& kv) {
                return parent.count(kind::left, kv.second) == 1;
            });
        },
        parent));
    check_event_order(parent);
    CHECK(parent.errors.empty());
}

TEST_CASE("three child processes in a ring", "[tcp][process]") {
    constexpr int n = 3;
    std::vector<child_process> children;
    reaper cleanup{children};
    for (int i = 0; i < n; ++i) {
        children.push_back(spawn([i](int in, int out) {
            crdt::tcp_transport t("ring-" + std::to_string(i));
            const std::uint16_t mine = t.listen("127.0.0.1", 0);
            if (!write_all(out, &mine, sizeof mine)) {
                return 10;
            }
            std::uint16_t ports[n] = {};
            if (!read_all(in, ports, sizeof ports)) {
                return 10;
            }
            t.connect("127.0.0.1", ports[(i + 1) % n]);
            return converse(
                t,
                {"ring-" + std::to_string((i + 1) % n), "ring-" + std::to_string((i + n - 1) % n)},
                in, out);
        }));
    }
    std::uint16_t ports[n] = {};
    for (int i = 0; i < n; ++i) {
        REQUIRE(read_all(children[static_cast<std::size_t>(i)].up, &ports[i], sizeof ports[i]));
    }
    for (auto& c : children) {
        REQUIRE(write_all(c.down, ports, sizeof ports));
    }
    for (auto& c : children) {
        char k = 0;
        REQUIRE(read_all(c.up, &k, 1)); // the child's conversation is complete
        CHECK(k == 'k');
    }
    for (auto& c : children) {
        const char x = 'x';
        REQUIRE(write_all(c.down, &x, 1));
    }
    for (auto& c : children) {
        CHECK(reap(c) == 0);
    }
}

TEST_CASE("connect resolves a host name, and no thread is started", "[tcp]") {
    const auto threads = [] {
        const std::filesystem::path tasks("/proc/self/task");
        return std::distance(std::filesystem::directory_iterator(tasks),
                             std::filesystem::directory_iterator());
    };
    const auto before = threads();
    node<> a("alpha");
    node<> b("beta");
    const std::uint16_t port = a.t.listen("127.0.0.1", 0);
    b.t.connect("localhost", port); // /etc/hosts; may list ::1 first, which is refused
    REQUIRE(run_until([&] { return a.joined("beta") && b.joined("alpha"); }, a, b));
    CHECK(threads() == before);
    CHECK(a.errors.empty());
    CHECK(b.errors.empty());
}
