// crdt/transport/concepts.hpp -- the transport concept: opaque messages
// between peers, with backpressure and join/leave events, and no thread.
//
// A transport moves byte strings between the peers of one replica. It knows
// nothing of replicated types or of the sync protocol (crdt/sync/), which
// runs on top of it and assumes that messages may be lost, duplicated,
// reordered and delayed. Required operations, for `T& t`, `peer_id p`,
// `std::span<const std::byte> b` and a callable `f(transport_event&&)`:
//
//   t.send(p, b) -> send_status   queue `b` for peer `p`:
//                                 accepted    queued (it may still be lost);
//                                 would_block the bounded outbox towards `p`
//                                             is full: nothing was queued,
//                                             try again after poll();
//                                 closed      `p` is not connected (any
//                                             more): nothing was queued.
//   t.poll(f) -> std::size_t      without blocking, hand every pending event
//                                 to `f` in arrival order; returns how many.
//   t.self() -> const std::string&  this endpoint's stable name.
//
// Peers: a `peer_id` names one connection and is never reused by a transport
// object; when a peer disconnects and comes back it gets a new peer_id. The
// joined event carries the peer's stable name (for the replicas of this
// library, the text of their replica id), which survives restarts; this is
// how the sync protocol tells "the same replica, restarted" from a new one.
//
// Laws (checked by the transport tests of this library):
//   T1 a peer_id is announced by exactly one joined event before any message
//      from it, and by at most one left event after which it sends nothing;
//   T2 send() never blocks and never throws for a closed or unknown peer (it
//      answers closed); bytes are copied before send() returns;
//   T3 a delivered message is exactly the bytes one send() was given (no
//      torn, merged or truncated messages: transports that carry bytes over
//      a stream or a file frame and checksum them and drop what fails);
//   T4 poll() never blocks; an event is delivered once per poll() that
//      takes it (a transport with fault injection may deliver a message
//      twice, as two events).
//
// Optional capability, detected with `if constexpr`:
//   waitable_transport   t.wait(std::chrono::milliseconds d): block until an
//                        event may be pending or `d` has passed (what a
//                        program without other work calls between polls).
//
// Thread safety: not part of the concept; each transport states its own.
#pragma once

#include <crdt/core/config.hpp>

#include <chrono>
#include <compare>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

CRDT_BEGIN_NAMESPACE

/// The transport's handle for one connection to one peer.
struct peer_id {
    std::uint64_t value = 0;
    friend auto operator<=>(const peer_id&, const peer_id&) = default;
};

/// What send() did with a message.
enum class send_status : unsigned char {
    accepted,    ///< queued for delivery (which may still fail)
    would_block, ///< the outbox towards the peer is full; nothing was queued
    closed,      ///< the peer is not connected; nothing was queued
};

/// One thing that happened on a transport.
struct transport_event {
    enum class kind : unsigned char {
        joined,  ///< `peer` connected; `name` is its stable name
        left,    ///< `peer` disconnected; its peer_id is dead
        message, ///< `peer` sent `bytes`
    };
    kind what = kind::message;
    crdt::peer_id peer;
    std::string name;             ///< joined: the peer's stable name
    std::vector<std::byte> bytes; ///< message: the payload
};

/// A transport (laws in the file comment).
template <class T>
concept transport = requires(T& t, const T& ct, peer_id p, std::span<const std::byte> b,
                             std::function<void(transport_event&&)> f) {
    { t.send(p, b) } -> std::same_as<send_status>;
    { t.poll(f) } -> std::same_as<std::size_t>;
    { ct.self() } -> std::convertible_to<const std::string&>;
};

/// A transport a program can block on between polls.
template <class T>
concept waitable_transport = transport<T> && requires(T& t, std::chrono::milliseconds d) {
    t.wait(d);
};

/// Effects: stops compilation with one message per missing operation when
///   `T` is not a transport. Returns: true.
template <class T>
constexpr bool check_transport() {
    static_assert(
        requires(T & t, peer_id p, std::span<const std::byte> b) {
            { t.send(p, b) } -> std::same_as<send_status>;
        },
        "crdt transport is missing `crdt::send_status send(crdt::peer_id, "
        "std::span<const std::byte>)` (see docs/sync.md#transports)");
    static_assert(
        requires(T & t, std::function<void(transport_event &&)> f) {
            { t.poll(f) } -> std::same_as<std::size_t>;
        },
        "crdt transport is missing `std::size_t poll(F&& on_event)`, calling "
        "on_event(crdt::transport_event&&) for each pending event (see docs/sync.md#transports)");
    static_assert(
        requires(const T& t) {
            { t.self() } -> std::convertible_to<const std::string&>;
        },
        "crdt transport is missing `const std::string& self() const`, its stable name "
        "(see docs/sync.md#transports)");
    return true;
}

CRDT_END_NAMESPACE
