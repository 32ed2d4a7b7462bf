// crdt/detail/transport/tcp.hpp -- the engine of crdt::basic_tcp_transport:
// the wire format, connections, listeners and dialers over one
// boost::asio::io_context that only the owner's poll()/wait() runs.
//
// Wire format (both directions, every byte inside frames of
// crdt/codec/framing.hpp, seed 0):
//   frame type 1, first frame on a connection, at most 8 KiB:
//       "crdt-tcp" (8 bytes) | u8 version (1) | varint n | n bytes of UTF-8
//       name; later bytes are ignored (room for fields within version 1).
//   frame type 2: one message; the payload is the message.
//   frame types 3..255 after the handshake: ignored (reserved).
//
// Objects and invariants:
//   tcp_core        owns the io_context (declared first, so destroyed last:
//                   every socket and timer dies before it), the live
//                   connections by serial number, the joined ones by peer
//                   id, the listeners, the dialers, and the queues of events
//                   and errors that poll() hands out. Handlers capture the
//                   core by pointer; they only run inside poll()/wait() of
//                   the owner, so the core outlives every handler run.
//   tcp_connection  one socket. `peer == 0` until a valid handshake arrived;
//                   then `peer` is a fresh id, the connection is in
//                   `peers`, and a joined event was queued. `closed` is set
//                   once by close(), which queues exactly one left event if
//                   the connection had joined. The read buffer holds the
//                   unparsed bytes [rbegin, rend); `need` is the size of the
//                   frame being assembled, checked against the limit before
//                   the buffer grows to hold it. `pending` collects frames
//                   queued by send(); `inflight` is the one buffer an
//                   async_write is writing (both count against the outbox
//                   limit).
//   tcp_dialer      one connect() target: its resolved endpoints, the
//                   current backoff delay, and two timers (connect timeout,
//                   backoff). It redials whenever its connection fails or
//                   closes, until the core is destroyed.
//   tcp_listener    one acceptor; accept errors other than cancellation are
//                   reported and retried after the initial backoff.
//
// Handlers keep their connection, dialer or listener alive with a shared_ptr
// (Asio's documented pattern); when the core is destroyed it closes every
// socket and the io_context destroys the handlers that are still queued
// without running them.
//
// Complexity: send() O(message) plus amortized buffer growth; reading is
// linear in the bytes received (each byte is copied once into the read
// buffer and once into its event). Thread safety: none; the owner is used
// from one thread at a time. Exception safety: see crdt/transport/tcp_transport.hpp.
#pragma once

#include <crdt/codec/framing.hpp>
#include <crdt/codec/reader.hpp>
#include <crdt/codec/writer.hpp>
#include <crdt/core/config.hpp>
#include <crdt/core/error.hpp>
#include <crdt/transport/concepts.hpp>

// g++ 12 at -O2 and above reports a -Wnull-dereference inside Asio's
// inlined handler code (a false positive: the pointer is checked on every
// path it flags). Middle-end warnings honour the pragma state at the header
// line they point into, so silencing them around the includes is enough.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wnull-dereference"
#endif
#include <boost/asio/buffer.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/socket_base.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

CRDT_BEGIN_NAMESPACE
namespace detail::transport {

using tcp_protocol = boost::asio::ip::tcp;
using tcp_socket = boost::asio::ip::tcp::socket;
using tcp_endpoint = boost::asio::ip::tcp::endpoint;
using tcp_error_code = boost::system::error_code;

inline constexpr std::string_view tcp_magic = "crdt-tcp";
inline constexpr std::uint8_t tcp_version = 1;
inline constexpr std::uint8_t tcp_handshake_type = 1;
inline constexpr std::uint8_t tcp_message_type = 2;
/// Longest stable name a handshake may carry, in bytes.
inline constexpr std::size_t tcp_max_name_bytes = 4096;
/// Largest handshake frame payload accepted before a connection has joined.
inline constexpr std::size_t tcp_handshake_max_bytes = 8192;
/// Bytes of free buffer space each read asks the socket to fill.
inline constexpr std::size_t tcp_read_chunk = 64 * 1024;
/// Buffers above this size are released once empty.
inline constexpr std::size_t tcp_keep_buffer = 1024 * 1024;

/// Returns: the handshake payload announcing `name` (see the file comment).
inline std::vector<std::byte> tcp_handshake_payload(std::string_view name) {
    byte_writer w;
    w.raw(std::as_bytes(std::span<const char>(tcp_magic.data(), tcp_magic.size())));
    w.byte(tcp_version);
    w.string(name);
    return w.take();
}

/// Returns: the name a handshake payload announces.
/// Throws: crdt::error: bad_magic, unsupported_version, truncated,
///   length_out_of_range, invalid_utf8, invalid_value (empty name), too_large
///   (a name above tcp_max_name_bytes); offsets are into the payload.
inline std::string tcp_decode_handshake(std::span<const std::byte> payload) {
    byte_reader r(payload, "tcp handshake");
    if (payload.size() < tcp_magic.size() ||
        std::memcmp(payload.data(), tcp_magic.data(), tcp_magic.size()) != 0) {
        r.fail(errc::bad_magic, "magic (expected \"crdt-tcp\")");
    }
    r.raw(tcp_magic.size());
    const std::size_t at = r.offset();
    const std::uint8_t version = r.byte();
    if (version != tcp_version) {
        r.fail_at(errc::unsupported_version,
                  "version " + std::to_string(version) + " (this build speaks version 1)", at);
    }
    const std::size_t name_at = r.offset();
    const std::string_view name = r.string();
    if (name.empty()) {
        r.fail_at(errc::invalid_value, "name (empty)", name_at);
    }
    if (name.size() > tcp_max_name_bytes) {
        r.fail_at(errc::too_large,
                  "name of " + std::to_string(name.size()) + " bytes (at most " +
                      std::to_string(tcp_max_name_bytes) + ")",
                  name_at);
    }
    return std::string(name);
}

/// The policy, resolved to values.
struct tcp_params {
    std::size_t max_frame_bytes = 0;
    std::size_t outbox_limit_bytes = 0;
    std::chrono::milliseconds reconnect_initial{0};
    std::chrono::milliseconds reconnect_max{0};
    std::chrono::milliseconds connect_timeout{0};
    std::chrono::milliseconds handshake_timeout{0};
};

/// Counters kept by the core (copied into crdt::tcp_transport_stats).
struct tcp_counters {
    std::uint64_t frames_in = 0;
    std::uint64_t frames_out = 0;
    std::uint64_t bytes_in = 0;
    std::uint64_t bytes_out = 0;
    std::uint64_t messages_in = 0;
    std::uint64_t messages_out = 0;
    std::uint64_t connections_opened = 0;
    std::uint64_t connections_closed_for_errors = 0;
};

struct tcp_dialer;

struct tcp_connection {
    tcp_connection(tcp_socket s, boost::asio::io_context& io) noexcept
        : socket(std::move(s)), handshake_timer(io) {}

    tcp_socket socket;
    boost::asio::steady_timer handshake_timer;
    std::shared_ptr<tcp_dialer> dialer; // null for accepted connections
    std::uint64_t serial = 0;
    std::uint64_t peer = 0; // 0 until the handshake arrived
    std::string remote;     // "address:port", for messages
    std::string name;
    bool closed = false;
    std::chrono::steady_clock::time_point joined_at{};
    // Read side: unparsed bytes are rbuf[rbegin, rend); `consumed` is the
    // stream offset of rbuf[rbegin].
    std::vector<std::byte> rbuf;
    std::size_t rbegin = 0;
    std::size_t rend = 0;
    std::size_t need = 0;
    std::uint64_t consumed = 0;
    // Write side.
    std::vector<std::byte> pending;
    std::vector<std::byte> inflight;
    std::uint64_t pending_frames = 0;
    std::uint64_t inflight_frames = 0;
    bool writing = false;
};

struct tcp_dialer {
    explicit tcp_dialer(boost::asio::io_context& io)
        : socket(io), connect_timer(io), backoff_timer(io) {}

    std::vector<tcp_endpoint> endpoints;
    std::size_t next = 0;
    tcp_socket socket;
    boost::asio::steady_timer connect_timer;
    boost::asio::steady_timer backoff_timer;
    std::chrono::milliseconds delay{0};
    std::uint64_t attempt = 0;
    bool connecting = false;
};

struct tcp_listener {
    explicit tcp_listener(boost::asio::io_context& io) : acceptor(io), retry(io) {}

    tcp_protocol::acceptor acceptor;
    boost::asio::steady_timer retry;
};

inline std::string tcp_endpoint_text(const tcp_endpoint& ep) {
    const auto addr = ep.address();
    std::string out = addr.is_v6() ? "[" + addr.to_string() + "]" : addr.to_string();
    return out + ":" + std::to_string(ep.port());
}

class tcp_core {
public:
    tcp_core(std::string self, tcp_params params)
        : work_(boost::asio::make_work_guard(io_)), self_(std::move(self)), params_(params),
          rng_(static_cast<std::uint64_t>(
                   std::chrono::steady_clock::now().time_since_epoch().count()) ^
               reinterpret_cast<std::uintptr_t>(this)) {
        if (self_.empty()) {
            throw error(errc::invalid_value, "tcp transport: the stable name is empty");
        }
        if (self_.size() > tcp_max_name_bytes) {
            throw error(errc::too_large, "tcp transport: the stable name has " +
                                             std::to_string(self_.size()) + " bytes (at most " +
                                             std::to_string(tcp_max_name_bytes) + ")");
        }
        // Throws invalid_utf8 for a name that is not UTF-8.
        handshake_frame_ = make_frame(tcp_handshake_type, tcp_handshake_payload(self_));
        CRDT_ASSERT(params_.max_frame_bytes <= frame_max_payload);
        CRDT_ASSERT(params_.reconnect_initial.count() > 0);
        CRDT_ASSERT(params_.reconnect_max >= params_.reconnect_initial);
        sink_ = [this](const error& e) {
            std::fprintf(stderr, "crdt: tcp transport \"%s\": %s\n", self_.c_str(), e.what());
        };
    }

    tcp_core(const tcp_core&) = delete;
    tcp_core& operator=(const tcp_core&) = delete;

    ~tcp_core() {
        tcp_error_code ignored;
        for (auto& l : listeners_) {
            l->acceptor.close(ignored);
            l->retry.cancel();
        }
        for (auto& d : dialers_) {
            d->socket.close(ignored);
            d->connect_timer.cancel();
            d->backoff_timer.cancel();
        }
        for (auto& [serial, c] : conns_) {
            c->closed = true;
            c->socket.close(ignored);
            c->handshake_timer.cancel();
        }
        work_.reset();
    }

    const std::string& self() const noexcept { return self_; }
    const tcp_counters& counters() const noexcept { return counters_; }

    void set_sink(std::function<void(const error&)> sink) { sink_ = std::move(sink); }

    std::uint16_t listen(std::string_view address, std::uint16_t port) {
        tcp_error_code ec;
        const auto addr = boost::asio::ip::make_address(std::string(address), ec);
        if (ec) {
            throw error(errc::invalid_value, "tcp transport \"" + self_ + "\": listen: \"" +
                                                 std::string(address) + "\" is not an IP address");
        }
        const tcp_endpoint ep(addr, port);
        auto l = std::make_shared<tcp_listener>(io_);
        const auto check = [&](const char* step) {
            if (ec) {
                throw error(errc::io_error, "tcp transport \"" + self_ + "\": listen on " +
                                                tcp_endpoint_text(ep) + ": " + step + ": " +
                                                ec.message());
            }
        };
        l->acceptor.open(ep.protocol(), ec);
        check("open");
        l->acceptor.set_option(boost::asio::socket_base::reuse_address(true), ec);
        check("SO_REUSEADDR");
        l->acceptor.bind(ep, ec);
        check("bind");
        l->acceptor.listen(boost::asio::socket_base::max_listen_connections, ec);
        check("listen");
        const auto bound = l->acceptor.local_endpoint(ec);
        check("local address");
        listeners_.push_back(l);
        start_accept(l);
        return bound.port();
    }

    void connect(std::string host, std::uint16_t port) {
        auto d = std::make_shared<tcp_dialer>(io_);
        tcp_error_code ec;
        const auto addr = boost::asio::ip::make_address(host, ec);
        if (!ec) {
            d->endpoints.emplace_back(addr, port);
        } else {
            tcp_protocol::resolver resolver(io_);
            const auto results = resolver.resolve(host, std::to_string(port), ec);
            if (ec) {
                throw error(errc::io_error, "tcp transport \"" + self_ +
                                                "\": connect: resolving \"" + host +
                                                "\": " + ec.message());
            }
            for (const auto& entry : results) {
                d->endpoints.push_back(entry.endpoint());
            }
            if (d->endpoints.empty()) {
                throw error(errc::io_error, "tcp transport \"" + self_ +
                                                "\": connect: no address for \"" + host + "\"");
            }
        }
        d->delay = params_.reconnect_initial;
        dialers_.push_back(d);
        dial(d);
    }

    send_status send(peer_id peer, std::span<const std::byte> bytes) {
        const auto it = peers_.find(peer.value);
        if (it == peers_.end() || it->second->closed) {
            return send_status::closed;
        }
        if (bytes.size() > params_.max_frame_bytes) {
            throw error(errc::too_large, "tcp transport \"" + self_ + "\": send to \"" +
                                             it->second->name + "\": message of " +
                                             std::to_string(bytes.size()) +
                                             " bytes exceeds max_frame_bytes (" +
                                             std::to_string(params_.max_frame_bytes) + ")");
        }
        tcp_connection& c = *it->second;
        const std::size_t queued = c.pending.size() + c.inflight.size();
        const std::size_t frame = frame_header_size + bytes.size();
        if (queued > 0 && queued + frame > params_.outbox_limit_bytes) {
            return send_status::would_block;
        }
        if (c.pending.capacity() - c.pending.size() < frame) {
            // Grow geometrically here, so append_frame cannot throw halfway.
            c.pending.reserve(std::max(c.pending.size() + frame, 2 * c.pending.capacity()));
        }
        append_frame(c.pending, tcp_message_type, bytes);
        ++c.pending_frames;
        ++counters_.messages_out;
        start_write(it->second);
        return send_status::accepted;
    }

    /// Effects: runs the handlers that are ready, then hands queued errors to the sink.
    void run_ready() {
        io_.poll();
        flush_errors();
    }

    /// Effects: runs handlers until an event or error is queued or `d` has passed.
    void wait(std::chrono::milliseconds d) {
        const auto deadline = std::chrono::steady_clock::now() + d;
        while (events_.empty() && errors_.empty()) {
            if (io_.run_one_until(deadline) == 0) {
                break;
            }
        }
    }

    std::optional<transport_event> take_event() {
        if (events_.empty()) {
            return std::nullopt;
        }
        std::optional<transport_event> ev(std::move(events_.front()));
        events_.pop_front();
        return ev;
    }

    std::map<peer_id, std::string> peers() const {
        std::map<peer_id, std::string> out;
        for (const auto& [id, c] : peers_) {
            out.emplace(peer_id{id}, c->name);
        }
        return out;
    }

    std::size_t unsent_bytes() const noexcept {
        std::size_t n = 0;
        for (const auto& [serial, c] : conns_) {
            n += c->pending.size() + c->inflight.size();
        }
        return n;
    }

private:
    using conn_ptr = std::shared_ptr<tcp_connection>;

    void flush_errors() {
        while (!errors_.empty()) {
            const error e = std::move(errors_.front());
            errors_.pop_front();
            if (sink_) {
                sink_(e);
            }
        }
    }

    void report(const error& e) { errors_.push_back(e); }

    std::string context(const tcp_connection& c) const {
        std::string s = "tcp transport \"" + self_ + "\", connection " +
                        (c.dialer ? "to " : "from ") + c.remote;
        if (c.peer != 0) {
            s += " (\"" + c.name + "\")";
        }
        return s;
    }

    // Returns `d` scaled by a factor in [0.5, 1] (equal jitter).
    std::chrono::milliseconds jitter(std::chrono::milliseconds d) noexcept {
        rng_ += 0x9e3779b97f4a7c15ull; // splitmix64
        std::uint64_t z = rng_;
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        z ^= z >> 31;
        const auto span = static_cast<std::uint64_t>(d.count()) / 2;
        const std::uint64_t extra = span == 0 ? 0 : z % (span + 1);
        return std::chrono::milliseconds(
            static_cast<std::int64_t>(static_cast<std::uint64_t>(d.count()) - span + extra));
    }

    // --- listening -------------------------------------------------------

    void start_accept(const std::shared_ptr<tcp_listener>& l) {
        l->acceptor.async_accept([this, l](const tcp_error_code& ec, tcp_socket s) {
            if (ec == boost::asio::error::operation_aborted || !l->acceptor.is_open()) {
                return;
            }
            if (ec) {
                report(error(errc::io_error,
                             "tcp transport \"" + self_ + "\": accept: " + ec.message()));
                l->retry.expires_after(params_.reconnect_initial);
                l->retry.async_wait([this, l](const tcp_error_code& wec) {
                    if (!wec) {
                        start_accept(l);
                    }
                });
                return;
            }
            start_connection(std::move(s), nullptr);
            start_accept(l);
        });
    }

    // --- dialing ---------------------------------------------------------

    void dial(const std::shared_ptr<tcp_dialer>& d) {
        const tcp_endpoint ep = d->endpoints[d->next % d->endpoints.size()];
        ++d->next;
        const std::uint64_t attempt = ++d->attempt;
        d->connecting = true;
        d->connect_timer.expires_after(params_.connect_timeout);
        d->connect_timer.async_wait([d, attempt](const tcp_error_code& ec) {
            if (!ec && d->connecting && d->attempt == attempt) {
                tcp_error_code ignored;
                d->socket.close(ignored); // the connect handler sees operation_aborted
            }
        });
        d->socket.async_connect(ep, [this, d](const tcp_error_code& ec) { on_dialed(d, ec); });
    }

    void on_dialed(const std::shared_ptr<tcp_dialer>& d, const tcp_error_code& ec) {
        d->connecting = false;
        d->connect_timer.cancel();
        tcp_error_code ignored;
        if (ec || !d->socket.is_open()) {
            d->socket.close(ignored);
            schedule_redial(d);
            return;
        }
        // A dial to a free local port can connect the socket to itself
        // (TCP simultaneous open); that is not a peer.
        tcp_error_code e1;
        tcp_error_code e2;
        const auto local = d->socket.local_endpoint(e1);
        const auto remote = d->socket.remote_endpoint(e2);
        if (e1 || e2 || local == remote) {
            d->socket.close(ignored);
            schedule_redial(d);
            return;
        }
        start_connection(std::move(d->socket), d);
        d->socket = tcp_socket(io_);
    }

    void schedule_redial(const std::shared_ptr<tcp_dialer>& d) {
        const auto wait = jitter(d->delay);
        d->delay = std::min(d->delay * 2, params_.reconnect_max);
        d->backoff_timer.expires_after(wait);
        d->backoff_timer.async_wait([this, d](const tcp_error_code& ec) {
            if (!ec) {
                dial(d);
            }
        });
    }

    // --- connections -----------------------------------------------------

    void start_connection(tcp_socket s, std::shared_ptr<tcp_dialer> d) {
        tcp_error_code ec;
        s.set_option(tcp_protocol::no_delay(true), ec);
        s.set_option(boost::asio::socket_base::keep_alive(true), ec);
        const auto remote = s.remote_endpoint(ec);
        auto c = std::make_shared<tcp_connection>(std::move(s), io_);
        c->dialer = std::move(d);
        c->remote = ec ? std::string("(unknown)") : tcp_endpoint_text(remote);
        c->serial = next_serial_++;
        c->rbuf.resize(tcp_read_chunk);
        conns_.emplace(c->serial, c);
        ++counters_.connections_opened;
        c->pending = handshake_frame_;
        c->pending_frames = 1;
        start_write(c);
        c->handshake_timer.expires_after(params_.handshake_timeout);
        c->handshake_timer.async_wait([this, c](const tcp_error_code& tec) {
            if (!tec && !c->closed && c->peer == 0) {
                close(c, error(errc::io_error,
                               context(*c) + ": no handshake within " +
                                   std::to_string(params_.handshake_timeout.count()) + " ms"));
            }
        });
        start_read(c);
    }

    void close(const conn_ptr& c, std::optional<error> why) {
        if (c->closed) {
            return;
        }
        c->closed = true;
        tcp_error_code ignored;
        c->socket.close(ignored);
        c->handshake_timer.cancel();
        if (c->peer != 0) {
            peers_.erase(c->peer);
            transport_event ev;
            ev.what = transport_event::kind::left;
            ev.peer = peer_id{c->peer};
            events_.push_back(std::move(ev));
        }
        if (why) {
            ++counters_.connections_closed_for_errors;
            report(*why);
        }
        if (c->dialer) {
            tcp_dialer& d = *c->dialer;
            if (c->peer != 0 &&
                std::chrono::steady_clock::now() - c->joined_at >= params_.reconnect_max) {
                d.delay = params_.reconnect_initial; // it was a healthy connection
            }
            schedule_redial(c->dialer);
        }
        c->pending = {}; // (the read buffer may still be named by the aborted read)
        conns_.erase(c->serial);
    }

    void start_write(const conn_ptr& c) {
        if (c->writing || c->closed || c->pending.empty()) {
            return;
        }
        std::swap(c->inflight, c->pending);
        c->pending.clear();
        c->inflight_frames = std::exchange(c->pending_frames, 0);
        c->writing = true;
        boost::asio::async_write(c->socket, boost::asio::buffer(c->inflight),
                                 [this, c](const tcp_error_code& ec, std::size_t n) {
                                     c->writing = false;
                                     if (c->closed) {
                                         return;
                                     }
                                     if (ec) {
                                         close(c, std::nullopt); // reset, broken pipe: a left
                                         return;
                                     }
                                     counters_.bytes_out += n;
                                     counters_.frames_out += c->inflight_frames;
                                     c->inflight.clear();
                                     if (c->inflight.capacity() > tcp_keep_buffer) {
                                         c->inflight = {};
                                     }
                                     start_write(c);
                                 });
    }

    void start_read(const conn_ptr& c) {
        if (c->rbegin == c->rend) {
            c->rbegin = c->rend = 0;
            if (c->rbuf.size() > tcp_keep_buffer && c->need <= tcp_read_chunk) {
                c->rbuf = std::vector<std::byte>(tcp_read_chunk);
            }
        }
        const std::size_t held = c->rend - c->rbegin;
        // An incomplete large frame gets exactly the room it lacks; otherwise
        // read up to a chunk (c->need > held always holds here).
        const std::size_t want = c->need > tcp_read_chunk ? c->need : held + tcp_read_chunk;
        if (c->rbuf.size() - c->rbegin < want) {
            if (c->rbegin > 0) {
                std::memmove(c->rbuf.data(), c->rbuf.data() + c->rbegin, held);
                c->rbegin = 0;
                c->rend = held;
            }
            if (c->rbuf.size() < want) {
                c->rbuf.resize(want);
            }
        }
        c->socket.async_read_some(
            boost::asio::buffer(c->rbuf.data() + c->rend, c->rbuf.size() - c->rend),
            [this, c](const tcp_error_code& ec, std::size_t n) { on_read(c, ec, n); });
    }

    void on_read(const conn_ptr& c, const tcp_error_code& ec, std::size_t n) {
        if (c->closed) {
            return;
        }
        if (ec) {
            if (ec == boost::asio::error::eof && c->rend > c->rbegin) {
                close(c, error(errc::truncated,
                               context(*c) + ": connection closed inside a frame (" +
                                   std::to_string(c->rend - c->rbegin) + " bytes of it received)",
                               static_cast<std::size_t>(c->consumed)));
            } else {
                close(c, std::nullopt); // end of stream, reset, refused: a left
            }
            return;
        }
        c->rend += n;
        counters_.bytes_in += n;
        if (parse(c)) {
            start_read(c);
        }
    }

    // Returns: false if the connection was closed.
    bool parse(const conn_ptr& c) {
        for (;;) {
            const std::size_t avail = c->rend - c->rbegin;
            c->need = frame_header_size;
            if (avail < frame_header_size) {
                return true;
            }
            const std::byte* h = c->rbuf.data() + c->rbegin;
            const std::size_t length = framing::get_u32(h);
            const auto type = static_cast<std::uint8_t>(h[8]);
            const auto at = static_cast<std::size_t>(c->consumed);
            const bool joined = c->peer != 0;
            const std::size_t limit = joined ? params_.max_frame_bytes : tcp_handshake_max_bytes;
            if (!joined && (type != tcp_handshake_type || length > limit)) {
                close(c, error(errc::bad_magic,
                               context(*c) + ": the connection does not start with a crdt-tcp "
                                             "handshake frame",
                               at));
                return false;
            }
            if (type == 0) {
                close(c, error(errc::invalid_value, context(*c) + ": frame of type 0", at));
                return false;
            }
            if (length > limit) {
                close(c, error(errc::too_large,
                               context(*c) + ": frame of " + std::to_string(length) +
                                   " bytes exceeds max_frame_bytes (" + std::to_string(limit) + ")",
                               at));
                return false;
            }
            const std::size_t total = frame_header_size + length;
            if (avail < total) {
                c->need = total;
                return true;
            }
            frame_view f;
            if (parse_frame(std::span<const std::byte>(h, total), f, 0, limit) !=
                frame_status::ok) {
                close(c, error(joined ? errc::checksum_mismatch : errc::bad_magic,
                               context(*c) + (joined ? ": frame checksum mismatch"
                                                     : ": the handshake frame's checksum does "
                                                       "not match (not a crdt-tcp peer?)"),
                               at));
                return false;
            }
            ++counters_.frames_in;
            c->rbegin += total;
            c->consumed += total;
            if (!joined) {
                try {
                    c->name = tcp_decode_handshake(f.payload);
                } catch (const error& e) {
                    close(c, error(e.cause(), context(*c) + ": " + e.what(), at));
                    return false;
                }
                c->peer = next_peer_++;
                c->joined_at = std::chrono::steady_clock::now();
                c->handshake_timer.cancel();
                peers_.emplace(c->peer, c);
                transport_event ev;
                ev.what = transport_event::kind::joined;
                ev.peer = peer_id{c->peer};
                ev.name = c->name;
                events_.push_back(std::move(ev));
            } else if (f.type == tcp_message_type) {
                ++counters_.messages_in;
                transport_event ev;
                ev.what = transport_event::kind::message;
                ev.peer = peer_id{c->peer};
                ev.bytes.assign(f.payload.begin(), f.payload.end());
                events_.push_back(std::move(ev));
            }
        }
    }

    // io_ first: destroyed after every socket and timer below.
    boost::asio::io_context io_;
    boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
    std::string self_;
    tcp_params params_;
    std::uint64_t rng_;
    std::vector<std::byte> handshake_frame_;
    std::function<void(const error&)> sink_;
    std::deque<transport_event> events_;
    std::deque<error> errors_;
    tcp_counters counters_;
    std::uint64_t next_peer_ = 1;
    std::uint64_t next_serial_ = 1;
    std::map<std::uint64_t, conn_ptr> conns_;
    std::map<std::uint64_t, conn_ptr> peers_;
    std::vector<std::shared_ptr<tcp_listener>> listeners_;
    std::vector<std::shared_ptr<tcp_dialer>> dialers_;
};

} // namespace detail::transport
CRDT_END_NAMESPACE
