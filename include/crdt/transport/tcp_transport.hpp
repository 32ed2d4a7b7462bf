// crdt/transport/tcp_transport.hpp -- the TCP reference transport: framed,
// checksummed messages between processes, with reconnects and no thread.
//
//   crdt::tcp_transport server("replica-a");
//   const std::uint16_t port = server.listen("127.0.0.1", 0); // ephemeral
//   crdt::tcp_transport client("replica-b");
//   client.connect("127.0.0.1", port);  // redials until destroyed
//   for (;;) {
//       client.wait(std::chrono::milliseconds(100));
//       client.poll([&](crdt::transport_event&& ev) { ... });
//   }
//
// A basic_tcp_transport models crdt::transport and waitable_transport
// (crdt/transport/concepts.hpp). It owns a boost::asio::io_context and never
// starts a thread: I/O happens inside poll() (which runs only the handlers
// that are ready, never blocking) and wait() (which blocks until an event
// is queued or the time is up). send() copies the message into the
// connection's outbox and starts writing at once when the socket is idle.
//
// Wire format: every byte is inside frames of crdt/codec/framing.hpp. The
// first frame each side sends is the handshake (type 1): "crdt-tcp", a
// version byte (1) and the sender's stable name (varint length + UTF-8).
// A connection becomes a peer -- a joined event with the name and a fresh
// peer_id, never reused by this object -- only when the other side's
// handshake has arrived and is valid. Messages are frames of type 2; other
// types after the handshake are ignored (reserved). After a joined event, a
// closed connection yields exactly one left event.
//
// Errors: a connection that breaks the protocol is closed and a crdt::error
// goes to the error sink (see on_error()):
//   bad_magic            the first frame is not a crdt-tcp handshake
//                        (garbage, another protocol, wrong magic);
//   unsupported_version  a handshake of another version;
//   too_large            a frame header announcing more than max_frame_bytes
//                        (detected before the payload is read or allocated);
//   checksum_mismatch    a frame whose CRC-32C does not match;
//   truncated            the peer closed the stream inside a frame;
//   invalid_value        a frame of type 0 or a handshake with an empty name;
//   io_error             no handshake within handshake_timeout, accept failed.
// Nothing from a frame that failed, nor anything after it on that
// connection, is delivered; other connections are unaffected; poll() never
// throws for them. Errors of the operating system on an established or
// dialing connection (refused, reset, timed out) are not reported: they are
// a left event (when the peer had joined) and, for connections this object
// dialed, a redial.
//
// Reconnects: connect() keeps one connection to its target. When a dial
// fails or the connection closes it waits reconnect_initial, then doubling
// up to reconnect_max, each wait scaled by a random factor in [0.5, 1];
// the delay returns to reconnect_initial after a connection that had
// joined and lasted at least reconnect_max.
//
// Complexity: send() is linear in the message; receiving is linear in the
// bytes received. Memory: per connection, the outbox (at most
// outbox_limit_bytes, or one message when it is larger) and a read buffer
// of 64 KiB that grows to the largest frame being received.
// Thread safety: one object is used from one thread at a time (any thread,
// not concurrently); distinct objects are independent and may run on
// different threads. Exception safety: send(), listen() and connect() are
// strong; poll() propagates what the callback or the error sink throws (the
// event or error being handed over is consumed, the rest stay queued).
#pragma once

#include <crdt/core/config.hpp>
#include <crdt/core/error.hpp>
#include <crdt/detail/transport/tcp.hpp>
#include <crdt/transport/concepts.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>

CRDT_BEGIN_NAMESPACE

/// The policy of basic_tcp_transport. Derive and override a member:
///
///   struct small_frames : crdt::tcp_transport_defaults {
///       static constexpr std::size_t max_frame_bytes = 1 << 20;
///   };
///   crdt::basic_tcp_transport<small_frames> t("replica-a");
///
/// Members may also be non-static data members of a policy object passed to
/// the constructor.
struct tcp_transport_defaults {
    /// Largest message send() accepts and the largest frame read from a peer
    /// (at most crdt::frame_max_payload, 1 GiB).
    static constexpr std::size_t max_frame_bytes = std::size_t{64} << 20;
    /// Bytes a connection may hold queued but not yet written; send()
    /// answers would_block when a message would exceed it (an empty outbox
    /// accepts any message up to max_frame_bytes).
    static constexpr std::size_t outbox_limit_bytes = std::size_t{64} << 20;
    /// First delay before a redial; it doubles after every failure.
    static constexpr std::chrono::milliseconds reconnect_initial{50};
    /// Upper bound of the redial delay.
    static constexpr std::chrono::milliseconds reconnect_max{2000};
    /// How long one dial may take before it counts as failed.
    static constexpr std::chrono::milliseconds connect_timeout{5000};
    /// How long a new connection may take to deliver its handshake.
    static constexpr std::chrono::milliseconds handshake_timeout{10000};
};

/// What a basic_tcp_transport has done so far (stats()).
struct tcp_transport_stats {
    std::uint64_t frames_in = 0;         ///< valid frames received (handshakes included)
    std::uint64_t frames_out = 0;        ///< frames written to sockets (handshakes included)
    std::uint64_t bytes_in = 0;          ///< bytes read from sockets
    std::uint64_t bytes_out = 0;         ///< bytes written to sockets
    std::uint64_t messages_in = 0;       ///< message events queued
    std::uint64_t messages_out = 0;      ///< messages accepted by send()
    std::uint64_t connections = 0;       ///< connections accepted or dialed successfully
    std::uint64_t closed_for_errors = 0; ///< connections closed for a protocol error
};

/// A transport over TCP (see the file comment).
template <class Policy = tcp_transport_defaults>
class basic_tcp_transport {
public:
    /// Effects: creates an endpoint named `self_name` that neither listens
    ///   nor dials yet. The default error sink writes one line per error to
    ///   stderr.
    /// Throws: crdt::error: invalid_value (empty name), too_large (above
    ///   4096 bytes), invalid_utf8; std::bad_alloc.
    explicit basic_tcp_transport(std::string self_name, Policy policy = {})
        : impl_(std::make_unique<detail::transport::tcp_core>(std::move(self_name),
                                                              detail::transport::tcp_params{
                                                                  policy.max_frame_bytes,
                                                                  policy.outbox_limit_bytes,
                                                                  policy.reconnect_initial,
                                                                  policy.reconnect_max,
                                                                  policy.connect_timeout,
                                                                  policy.handshake_timeout,
                                                              })) {}

    /// Effects: moves the endpoint (its connections, events and peer ids);
    ///   the moved-from object may only be destroyed or assigned to.
    basic_tcp_transport(basic_tcp_transport&&) noexcept = default;
    basic_tcp_transport& operator=(basic_tcp_transport&&) noexcept = default;

    /// Effects: closes every connection and listener (peers see left events)
    ///   and stops redialing. Unwritten messages are lost.
    ~basic_tcp_transport() = default;

    /// Returns: the stable name given at construction.
    const std::string& self() const noexcept { return impl_->self(); }

    /// Effects: listens on `address` (an IPv4 or IPv6 literal) and `port`
    ///   (0 picks a free one) and accepts connections from then on.
    /// Returns: the bound port.
    /// Throws: crdt::error: invalid_value if `address` is not an IP
    ///   address, io_error if the socket cannot be bound (port in use).
    std::uint16_t listen(std::string_view address = "127.0.0.1", std::uint16_t port = 0) {
        return impl_->listen(address, port);
    }

    /// Effects: dials `host`:`port` now and redials with backoff whenever the
    ///   dial fails or the connection closes, until this object is destroyed.
    ///   A host name is resolved once, here, synchronously (pass an IP
    ///   literal to never block); the dials cycle through its addresses.
    /// Throws: crdt::error(io_error) if `host` does not resolve.
    void connect(std::string host, std::uint16_t port) { impl_->connect(std::move(host), port); }

    /// Effects: queues a copy of `bytes` as one message to `peer` and starts
    ///   writing if the connection is idle.
    /// Returns: accepted; would_block if the outbox holds other messages and
    ///   this one would take it above outbox_limit_bytes; closed if `peer`
    ///   is unknown or has left.
    /// Throws: crdt::error(too_large) if `peer` is connected and `bytes` is
    ///   longer than max_frame_bytes (a caller bug: the peer would reject it).
    /// Complexity: linear in `bytes.size()`.
    send_status send(peer_id peer, std::span<const std::byte> bytes) {
        return impl_->send(peer, bytes);
    }

    /// Effects: performs the I/O that is ready without blocking, hands the
    ///   errors found so far to the error sink, then hands every queued
    ///   event to `on_event(crdt::transport_event&&)` in arrival order.
    /// Returns: the number of events handed over.
    /// Throws: what `on_event` or the error sink throws; never for bad input.
    template <class F>
    std::size_t poll(F&& on_event) {
        impl_->run_ready();
        std::size_t n = 0;
        while (auto ev = impl_->take_event()) {
            ++n;
            on_event(std::move(*ev));
        }
        return n;
    }

    /// Effects: performs I/O until an event or error is queued for poll() or
    ///   `timeout` has passed; returns at once if one is queued already.
    void wait(std::chrono::milliseconds timeout) { impl_->wait(timeout); }

    /// Effects: from now on, every connection-level error is handed to
    ///   `sink` (inside poll(), before that poll's events). An empty
    ///   function discards them; they are still counted in stats().
    void on_error(std::function<void(const error&)> sink) { impl_->set_sink(std::move(sink)); }

    /// Returns: the peers connected now, by peer id, with their names.
    /// Complexity: O(n log n) in the number of peers.
    std::map<peer_id, std::string> peers() const { return impl_->peers(); }

    /// Returns: bytes queued by send() (plus handshakes) not yet written to
    ///   the operating system, over all connections. A process that wants
    ///   its last messages sent polls until this is 0 before it exits.
    std::size_t unsent_bytes() const noexcept { return impl_->unsent_bytes(); }

    /// Returns: the counters (see tcp_transport_stats).
    tcp_transport_stats stats() const noexcept {
        const auto& c = impl_->counters();
        tcp_transport_stats s;
        s.frames_in = c.frames_in;
        s.frames_out = c.frames_out;
        s.bytes_in = c.bytes_in;
        s.bytes_out = c.bytes_out;
        s.messages_in = c.messages_in;
        s.messages_out = c.messages_out;
        s.connections = c.connections_opened;
        s.closed_for_errors = c.connections_closed_for_errors;
        return s;
    }

private:
    std::unique_ptr<detail::transport::tcp_core> impl_;
};

/// The TCP transport with the default policy.
using tcp_transport = basic_tcp_transport<>;

CRDT_END_NAMESPACE
