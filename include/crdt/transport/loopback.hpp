// crdt/transport/loopback.hpp -- an in-process transport hub with seeded
// fault injection, for tests and simulations.
//
// A loopback_hub connects every loopback_transport created on it to every
// other one (a full mesh). Time is virtual: the hub's clock moves only when
// advance() is called, and a message becomes deliverable `delay` ticks after
// it was sent. Faults, all drawn from one seeded generator so a run is
// reproducible from its seed:
//   drop       a message is lost;
//   duplicate  a message is delivered twice (two events);
//   reorder    a message gets an extra delay, so later ones overtake it;
//   delay      every message waits min_delay..max_delay ticks;
//   partition  two groups of endpoints cannot reach each other until heal():
//              either the links stay up and messages are silently lost (a
//              network that drops everything), or, with `disconnect`, both
//              sides see left events and, on heal, joined events with fresh
//              peer ids (a connection-oriented transport timing out).
// A message in flight on a link that goes down is lost. Destroying an
// endpoint is a crash: its peers see left; a new endpoint with the same name
// is a restart and gets fresh peer ids.
//
// Backpressure: each link holds at most `outbox_limit` undelivered messages;
// send() answers would_block beyond that.
//
// Complexity: send O(log m) and poll O(k log m) for m queued and k
// delivered events; joining is O(n) in the number of endpoints.
// Thread safety: the hub and its endpoints may be used from several threads
// (one mutex per hub); poll() calls its callback without holding it.
// Exception safety: strong (std::bad_alloc only); a callback that throws
// loses the events of that poll() it had not consumed.
#pragma once

#include <crdt/core/config.hpp>
#include <crdt/core/error.hpp>
#include <crdt/transport/concepts.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <span>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

CRDT_BEGIN_NAMESPACE

/// The faults a loopback_hub injects. Probabilities are in [0, 1].
struct loopback_faults {
    double drop = 0.0;           ///< probability that a message is lost
    double duplicate = 0.0;      ///< probability that a message is delivered twice
    double reorder = 0.0;        ///< probability of an extra delay of up to 4 * max_delay + 4
    std::uint64_t min_delay = 0; ///< ticks every message waits at least
    std::uint64_t max_delay = 0; ///< ticks every message waits at most
};

/// What a hub has done so far.
struct loopback_stats {
    std::uint64_t sent = 0;       ///< messages accepted by send()
    std::uint64_t delivered = 0;  ///< message events handed to poll() callbacks
    std::uint64_t dropped = 0;    ///< lost to `drop`, partitions or links going down
    std::uint64_t duplicated = 0; ///< extra copies made by `duplicate`
    std::uint64_t bytes = 0;      ///< payload bytes accepted by send()
};

namespace detail::transport {

// One queued event for one endpoint. `link` is the receiver's peer id of
// the sender (message) or of the subject (joined/left).
struct queued {
    std::uint64_t deliver_at = 0;
    std::uint64_t order = 0;
    transport_event event;
    friend bool operator>(const queued& a, const queued& b) noexcept {
        return std::tie(a.deliver_at, a.order) > std::tie(b.deliver_at, b.order);
    }
};

struct endpoint_state {
    std::string name;
    std::vector<queued> inbox;                // a min-heap on (deliver_at, order)
    std::map<peer_id, std::string> peers;     // live links: our id of the peer -> its name
    std::map<std::string, peer_id> by_name;   // the reverse
    std::map<peer_id, std::size_t> queued_on; // undelivered messages per incoming link
    std::size_t outbox_limit = 0;
};

// splitmix64: a small generator whose output is the same on every platform
// (std distributions are not), so a seed reproduces a run everywhere.
class fault_rng {
public:
    explicit fault_rng(std::uint64_t seed) noexcept : state_(seed) {}
    std::uint64_t next() noexcept {
        std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        return z ^ (z >> 31);
    }
    bool chance(double p) noexcept {
        return p > 0.0 && static_cast<double>(next() >> 11) * 0x1.0p-53 < p;
    }
    std::uint64_t between(std::uint64_t lo, std::uint64_t hi) noexcept {
        return hi <= lo ? lo : lo + next() % (hi - lo + 1);
    }

private:
    std::uint64_t state_;
};

} // namespace detail::transport

template <class Policy>
class basic_loopback_transport;

/// The shared medium of loopback transports (see the file comment).
class loopback_hub {
public:
    /// Effects: a hub whose faults are drawn from `seed`.
    explicit loopback_hub(std::uint64_t seed = 0, loopback_faults faults = {})
        : rng_(seed), faults_(faults) {}

    loopback_hub(const loopback_hub&) = delete;
    loopback_hub& operator=(const loopback_hub&) = delete;

    /// Requires: every endpoint of this hub is destroyed before the hub.
    ~loopback_hub() { CRDT_ASSERT(endpoints_.empty()); }

    /// Effects: faults for messages sent from now on.
    void set_faults(const loopback_faults& f) {
        std::lock_guard lock(mutex_);
        faults_ = f;
    }

    /// Returns: the current faults.
    loopback_faults faults() const {
        std::lock_guard lock(mutex_);
        return faults_;
    }

    /// Effects: moves the virtual clock `ticks` forward; messages whose
    ///   delay has passed become deliverable.
    void advance(std::uint64_t ticks = 1) {
        std::lock_guard lock(mutex_);
        now_ += ticks;
    }

    /// Returns: the virtual clock.
    std::uint64_t now() const {
        std::lock_guard lock(mutex_);
        return now_;
    }

    /// Effects: endpoints named in `a` cannot reach those named in `b` (nor
    ///   the reverse) until heal(). With `disconnect`, the links between
    ///   the groups go down now (left events on both sides, in-flight
    ///   messages lost); otherwise messages between them are dropped.
    void partition(const std::vector<std::string>& a, const std::vector<std::string>& b,
                   bool disconnect = false) {
        std::lock_guard lock(mutex_);
        for (const auto& x : a) {
            for (const auto& y : b) {
                if (x == y) {
                    continue;
                }
                cut_.insert(ordered(x, y));
                if (disconnect) {
                    unlink(x, y);
                }
            }
        }
    }

    /// Effects: ends every partition; links that went down come back up
    ///   (joined events with fresh peer ids).
    void heal() {
        std::lock_guard lock(mutex_);
        cut_.clear();
        for (auto& [name_a, a] : endpoints_) {
            for (auto& [name_b, b] : endpoints_) {
                if (name_a < name_b && !a->by_name.contains(name_b)) {
                    link(*a, *b);
                }
            }
        }
    }

    /// Returns: the counters so far.
    loopback_stats stats() const {
        std::lock_guard lock(mutex_);
        return stats_;
    }

    /// Returns: the number of events queued and not yet polled.
    std::size_t pending() const {
        std::lock_guard lock(mutex_);
        std::size_t n = 0;
        for (const auto& [name, e] : endpoints_) {
            n += e->inbox.size();
        }
        return n;
    }

private:
    template <class Policy>
    friend class basic_loopback_transport;
    using endpoint_state = detail::transport::endpoint_state;
    using queued = detail::transport::queued;

    static std::pair<std::string, std::string> ordered(const std::string& x, const std::string& y) {
        return x < y ? std::pair(x, y) : std::pair(y, x);
    }

    endpoint_state& attach(std::string name, std::size_t outbox_limit) {
        std::lock_guard lock(mutex_);
        if (endpoints_.contains(name)) {
            throw error(errc::conflict,
                        "loopback_hub: an endpoint named '" + name + "' is already attached");
        }
        auto state = std::make_unique<endpoint_state>();
        state->name = name;
        state->outbox_limit = outbox_limit;
        auto& self = *state;
        for (auto& [other_name, other] : endpoints_) {
            if (!cut_.contains(ordered(name, other_name))) {
                link(self, *other);
            }
        }
        endpoints_.emplace(std::move(name), std::move(state));
        return self;
    }

    void detach(const std::string& name) {
        std::lock_guard lock(mutex_);
        for (auto& [other_name, other] : endpoints_) {
            if (other_name != name) {
                unlink(name, other_name);
            }
        }
        endpoints_.erase(name);
    }

    // Both sides get a joined event with a fresh peer id for the other.
    void link(endpoint_state& a, endpoint_state& b) {
        const peer_id a_sees_b{next_peer_++};
        const peer_id b_sees_a{next_peer_++};
        a.peers.emplace(a_sees_b, b.name);
        a.by_name.emplace(b.name, a_sees_b);
        b.peers.emplace(b_sees_a, a.name);
        b.by_name.emplace(a.name, b_sees_a);
        push(a, transport_event{transport_event::kind::joined, a_sees_b, b.name, {}}, now_);
        push(b, transport_event{transport_event::kind::joined, b_sees_a, a.name, {}}, now_);
    }

    void unlink(const std::string& x, const std::string& y) {
        auto ix = endpoints_.find(x);
        auto iy = endpoints_.find(y);
        if (ix == endpoints_.end() || iy == endpoints_.end()) {
            return;
        }
        drop_link(*ix->second, y);
        drop_link(*iy->second, x);
    }

    void drop_link(endpoint_state& e, const std::string& other) {
        auto it = e.by_name.find(other);
        if (it == e.by_name.end()) {
            return;
        }
        const peer_id id = it->second;
        e.by_name.erase(it);
        e.peers.erase(id);
        push(e, transport_event{transport_event::kind::left, id, other, {}}, now_);
    }

    void push(endpoint_state& e, transport_event ev, std::uint64_t at) {
        if (ev.what == transport_event::kind::message) {
            ++e.queued_on[ev.peer];
        }
        e.inbox.push_back(queued{at, next_order_++, std::move(ev)});
        std::push_heap(e.inbox.begin(), e.inbox.end(), std::greater<>{});
    }

    send_status send(endpoint_state& from, peer_id to, std::span<const std::byte> bytes) {
        std::lock_guard lock(mutex_);
        auto it = from.peers.find(to);
        if (it == from.peers.end()) {
            return send_status::closed;
        }
        auto& dest = *endpoints_.at(it->second);
        const peer_id as_seen = dest.by_name.at(from.name);
        if (auto q = dest.queued_on.find(as_seen);
            q != dest.queued_on.end() && q->second >= dest.outbox_limit) {
            return send_status::would_block;
        }
        ++stats_.sent;
        stats_.bytes += bytes.size();
        if (cut_.contains(ordered(from.name, dest.name)) || rng_.chance(faults_.drop)) {
            ++stats_.dropped;
            return send_status::accepted;
        }
        const int copies = rng_.chance(faults_.duplicate) ? 2 : 1;
        stats_.duplicated += static_cast<std::uint64_t>(copies - 1);
        for (int c = 0; c < copies; ++c) {
            std::uint64_t delay = rng_.between(faults_.min_delay, faults_.max_delay);
            if (rng_.chance(faults_.reorder)) {
                delay += rng_.between(1, 4 * faults_.max_delay + 4);
            }
            push(dest,
                 transport_event{transport_event::kind::message,
                                 as_seen,
                                 {},
                                 std::vector<std::byte>(bytes.begin(), bytes.end())},
                 now_ + delay);
        }
        return send_status::accepted;
    }

    std::vector<transport_event> take(endpoint_state& e) {
        std::lock_guard lock(mutex_);
        std::vector<transport_event> out;
        while (!e.inbox.empty() && e.inbox.front().deliver_at <= now_) {
            std::pop_heap(e.inbox.begin(), e.inbox.end(), std::greater<>{});
            auto ev = std::move(e.inbox.back().event);
            e.inbox.pop_back();
            if (ev.what == transport_event::kind::message) {
                auto q = e.queued_on.find(ev.peer);
                if (q != e.queued_on.end() && --q->second == 0) {
                    e.queued_on.erase(q);
                }
                if (!e.peers.contains(ev.peer)) { // the link went down meanwhile
                    ++stats_.dropped;
                    continue;
                }
                ++stats_.delivered;
            }
            out.push_back(std::move(ev));
        }
        return out;
    }

    mutable std::mutex mutex_;
    detail::transport::fault_rng rng_;
    loopback_faults faults_;
    loopback_stats stats_;
    std::uint64_t now_ = 0;
    std::uint64_t next_peer_ = 1;
    std::uint64_t next_order_ = 0;
    std::map<std::string, std::unique_ptr<endpoint_state>> endpoints_;
    std::set<std::pair<std::string, std::string>> cut_;
};

/// Policy of loopback_transport.
struct loopback_transport_defaults {
    /// Undelivered messages a link holds before send() answers would_block.
    static constexpr std::size_t outbox_limit = 4096;
};

/// One endpoint on a loopback_hub; a transport (crdt/transport/concepts.hpp).
template <class Policy = loopback_transport_defaults>
class basic_loopback_transport {
public:
    /// Effects: attaches an endpoint named `name` to `hub`; every other
    ///   endpoint not partitioned from it sees a joined event, and it sees
    ///   one per such endpoint.
    /// Throws: crdt::error (errc::conflict) if `hub` already has an endpoint
    ///   of that name.
    basic_loopback_transport(loopback_hub& hub, std::string name)
        : hub_(&hub), state_(&hub.attach(std::move(name), Policy::outbox_limit)) {}

    basic_loopback_transport(const basic_loopback_transport&) = delete;
    basic_loopback_transport& operator=(const basic_loopback_transport&) = delete;

    /// Effects: detaches (a crash): the peers see left events.
    ~basic_loopback_transport() { hub_->detach(state_->name); }

    /// Returns: the stable name.
    const std::string& self() const noexcept { return state_->name; }

    /// Effects: queues a copy of `bytes` for `peer`, subject to the hub's
    ///   faults. Returns: see send_status.
    send_status send(peer_id peer, std::span<const std::byte> bytes) {
        return hub_->send(*state_, peer, bytes);
    }

    /// Effects: hands every deliverable event to `on_event`, in order.
    /// Returns: the number of events handed over.
    template <class F>
    std::size_t poll(F&& on_event) {
        auto events = hub_->take(*state_);
        for (auto& ev : events) {
            on_event(std::move(ev));
        }
        return events.size();
    }

    /// Returns: the peers this endpoint is linked to now, by peer id.
    std::map<peer_id, std::string> peers() const {
        std::lock_guard lock(hub_->mutex_);
        return state_->peers;
    }

private:
    loopback_hub* hub_;
    detail::transport::endpoint_state* state_;
};

/// The loopback transport with the default policy.
using loopback_transport = basic_loopback_transport<>;

CRDT_END_NAMESPACE
