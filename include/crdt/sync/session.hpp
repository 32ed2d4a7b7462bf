// crdt/sync/session.hpp -- the sync protocol for one document: version
// handshake, deltas, acknowledgements, retransmission and buffering.
//
// A sync_session speaks crdt/sync/message.hpp with every peer of a
// transport about one replicated value. It owns no state of the value and
// no transport: each call receives the current state (`const T&`), a `send`
// callable `send_status(peer_id, std::span<const std::byte>)` and, when a
// delta arrives, an `apply` callable `bool(delta_t<T>&& delta, const version_type*
// base)` that merges the delta into the state and makes it durable (`base`:
// the version the delta needs, nullptr for a mutator delta; false: it was
// rejected, and `apply` has reported why; a crdt::error thrown by `apply`,
// e.g. errc::causality_gap from a delta that needs more than the base its
// message names, is reported through on_error like a bad message, and the
// session carries on). crdt::store::replica
// (crdt/store/replica.hpp) is the usual host; tests drive sessions directly.
//
// The protocol, per peer (it assumes messages are lost, duplicated,
// reordered and delayed, and that peers restart):
//   * on joined, both sides send hello(version); a side that has something
//     the other's version lacks answers with delta_since(that version),
//     marked with that version as its base; the receiver merges it and acks
//     its new version. Nothing lost: one round trip.
//   * a local change is announced to every peer as the mutator's delta:
//     without a base when T's mutator deltas commute (law S3 of
//     crdt/sync/concepts.hpp), else with the version before the change.
//   * a delta whose base the receiver's version does not include waits in a
//     bounded buffer until it does (or is dropped when the buffer is full:
//     the sender's retransmission recovers it).
//   * tick(): after `retransmit_ticks` ticks without progress, a peer whose
//     acknowledged version lacks something we have gets delta_since(that
//     version); a peer never heard from gets hello(reply requested). A
//     delta of k parts is not retransmitted before about k periods, and
//     each further attempt without progress waits twice as long (up to 64
//     times `retransmit_ticks`), so a large delta still in flight is not
//     resent over and over. Acknowledged versions only grow within a
//     session, so a resumed session never resends what was acknowledged.
//   * every delta carries its sender's version, and after each batch of
//     received deltas (flush()) every peer hears our new version, so no
//     peer resends what we already have.
//   * deltas above `max_part_bytes` travel in parts and are reassembled
//     (bounded by `max_delta_bytes` and `max_partial_transfers`).
//   * a duplicate of a delta already applied is rejected (errc::replayed)
//     and only re-acknowledged; malformed messages, unknown versions,
//     another document's messages and oversized deltas are rejected with a
//     crdt::error passed to on_error(); none changes the state.
//
// Complexity: a hello or a resync costs one delta_since (O(state) for the
// dot-store types); an announcement costs one encoding, sent to every peer.
// Thread safety: not synchronized; the host serializes calls.
// Exception safety: errors in received bytes are reported, never thrown;
// exceptions from `apply`, `send` and std::bad_alloc propagate, leaving the
// session usable (the peer's retransmission recovers what was in flight).
#pragma once

#include <crdt/codec/codec.hpp>
#include <crdt/core/config.hpp>
#include <crdt/core/error.hpp>
#include <crdt/sync/concepts.hpp>
#include <crdt/sync/message.hpp>
#include <crdt/transport/concepts.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <utility>
#include <vector>

CRDT_BEGIN_NAMESPACE

/// Policy of sync_session; derive from it to change a member.
struct sync_defaults {
    /// Payload bytes per delta message; larger deltas travel in parts.
    static constexpr std::size_t max_part_bytes = std::size_t{1} << 20;
    /// Largest delta a peer may send (declared total); above: too_large.
    static constexpr std::uint64_t max_delta_bytes = std::uint64_t{1} << 30;
    /// Deltas per peer waiting for their base; the oldest is dropped beyond.
    static constexpr std::size_t max_buffered_deltas = 64;
    /// Multi-part transfers per peer being reassembled at once.
    static constexpr std::size_t max_partial_transfers = 4;
    /// Ticks without progress before a retransmission or a repeated hello.
    static constexpr std::uint64_t retransmit_ticks = 4;
    /// Completed transfers per peer remembered to reject replays.
    static constexpr std::size_t replay_window = 4096;
};

/// Counters of a sync_session.
struct sync_stats {
    std::uint64_t messages_in = 0;
    std::uint64_t messages_out = 0;
    std::uint64_t bytes_in = 0;
    std::uint64_t bytes_out = 0;
    std::uint64_t deltas_applied = 0;  ///< complete deltas merged
    std::uint64_t deltas_buffered = 0; ///< deltas that had to wait for their base
    std::uint64_t resyncs = 0;         ///< delta_since sent (handshakes and retransmissions)
    std::uint64_t rejected = 0;        ///< messages rejected with an error (replays included)
    std::uint64_t replayed = 0;        ///< duplicates of applied deltas
    std::uint64_t would_block = 0;     ///< sends the transport refused for backpressure
};

/// The protocol for one document (see the file comment).
template <syncable T, class Policy = sync_defaults>
class sync_session {
public:
    using value_type = T;
    using delta_type = delta_t<T>;
    using version_type = typename T::version_type;
    using error_handler = std::function<void(peer_id, const error&)>;

    /// What the session knows of one peer.
    struct peer_view {
        std::string name;                  ///< from its hello; empty before
        std::optional<version_type> known; ///< its acknowledged version
        bool heard = false;                ///< a hello of its session arrived
    };

    /// Effects: a session for `document`; `self_name` goes into hellos and
    ///   `session_id` (random per process start; not 0) into every message.
    sync_session(std::string document, std::string self_name, std::uint64_t session_id)
        : document_(std::move(document)), self_(std::move(self_name)), session_(session_id) {
        CRDT_ASSERT(session_id != 0);
    }

    /// Effects: `h` receives every rejected message's error.
    void on_error(error_handler h) { on_error_ = std::move(h); }

    /// Returns: the document id.
    const std::string& document() const noexcept { return document_; }

    /// Returns: the counters so far.
    const sync_stats& stats() const noexcept { return stats_; }

    /// Returns: what the session knows of `p`, or nullptr if `p` is unknown.
    const peer_view* peer(peer_id p) const {
        auto it = peers_.find(p);
        return it == peers_.end() ? nullptr : &it->second.view;
    }

    /// Returns: the peers currently connected.
    std::vector<peer_id> peers() const {
        std::vector<peer_id> out;
        for (const auto& [id, p] : peers_) {
            out.push_back(id);
        }
        return out;
    }

    /// Returns: whether every connected peer has acknowledged `state`'s
    ///   version (nothing left to send).
    bool settled(const T& state) const {
        return std::all_of(peers_.begin(), peers_.end(), [&](const auto& e) {
            return e.second.view.known && e.second.view.known->includes(state.version());
        });
    }

    /// Effects: starts the handshake with a newly connected peer.
    template <class Send>
    void peer_joined(peer_id p, const T& state, Send&& send) {
        peers_.erase(p);
        peers_[p].last_progress = now_;
        send_hello(p, state, false, send);
    }

    /// Effects: forgets `p` (buffered and partial deltas from it included).
    void peer_left(peer_id p) { peers_.erase(p); }

    /// Effects: announces a local change: `delta` is what the mutator
    ///   returned, `before` the version the state had before it, `state`
    ///   the state with the change.
    template <class Send>
    void announce(const delta_type& delta, const version_type& before, const T& state,
                  Send&& send) {
        if (peers_.empty()) {
            return;
        }
        const std::vector<std::byte> payload = crdt::encode(delta);
        const std::vector<std::byte> version = crdt::encode(state.version());
        const bool based = !mutator_deltas_commute<T>;
        const std::vector<std::byte> base = based ? crdt::encode(before) : std::vector<std::byte>{};
        for (auto& [id, ps] : peers_) {
            if (send_transfer(id, payload, version, based, base, send)) {
                ps.told = state.version();
            } else {
                ps.dirty = true;
            }
            ps.last_progress = now_;
        }
    }

    /// Effects: handles one message from `p` (see the file comment).
    template <class Apply, class Send>
    void receive(peer_id p, std::span<const std::byte> bytes, const T& state, Apply&& apply,
                 Send&& send) {
        ++stats_.messages_in;
        stats_.bytes_in += bytes.size();
        sync_message m;
        try {
            m = decode_sync_message(bytes);
            if (m.document != document_) {
                throw error(errc::invalid_value, "sync message: document '" + m.document +
                                                     "' (this session is '" + document_ + "')");
            }
        } catch (const error& e) {
            reject(p, e);
            return;
        }
        auto& ps = peers_[p];
        if (auto* h = std::get_if<sync_hello>(&m.body)) {
            on_hello(p, ps, *h, state, send);
        } else if (auto* d = std::get_if<sync_delta>(&m.body)) {
            on_delta(p, ps, std::move(*d), state, apply);
        } else {
            on_ack(p, ps, std::get<sync_ack>(m.body));
        }
    }

    /// Effects: sends the acknowledgements that received deltas made due.
    ///   Call after each batch of receive() calls.
    template <class Send>
    void flush(const T& state, Send&& send) {
        std::optional<std::vector<std::byte>> ack;
        for (auto& [id, ps] : peers_) {
            // Every peer we talk with learns when our version grew, not only
            // the sender of the delta: otherwise the others keep resending
            // what we already have and never see us settled.
            const bool stale = ps.view.heard && ps.told != state.version();
            if (ps.ack_due || stale) {
                if (!ack) {
                    ack = encode_sync_message(
                        sync_message{document_, sync_ack{session_, crdt::encode(state.version())}});
                }
                ps.ack_due = !emit(id, *ack, send);
                if (!ps.ack_due) {
                    ps.told = state.version();
                }
            }
        }
    }

    /// Effects: advances the session's clock by one tick; retransmits and
    ///   repeats hellos as the file comment says, and flushes acks.
    template <class Send>
    void tick(const T& state, Send&& send) {
        ++now_;
        for (auto& [id, ps] : peers_) {
            if (now_ - ps.last_progress < ps.backoff) {
                continue;
            }
            if (!ps.view.heard) {
                send_hello(id, state, true, send);
            } else if (ps.dirty || !ps.view.known->includes(state.version())) {
                ps.dirty = !send_since(id, ps, state, send);
            } else {
                continue;
            }
            // No progress since the last attempt: wait twice as long before
            // the next one (a large delta may simply still be in flight).
            ps.last_progress = now_;
            ps.backoff = std::min(ps.backoff * 2, Policy::retransmit_ticks * 64);
        }
        flush(state, send);
    }

private:
    struct partial {
        std::uint64_t parts = 0;
        std::uint64_t total = 0;
        bool has_base = false;
        std::vector<std::byte> base;
        std::vector<std::byte> version;
        std::map<std::uint64_t, std::vector<std::byte>> got;
        std::uint64_t bytes = 0;
    };
    struct waiting {
        version_type base;
        delta_type delta;
    };
    struct peer_state {
        peer_view view;
        std::uint64_t session = 0; // the peer's session id, 0 before its first message
        std::uint64_t last_progress = 0;
        std::uint64_t backoff = Policy::retransmit_ticks; // ticks before the next retransmission
        bool dirty = false;           // an announcement was refused: resync at the next tick
        bool ack_due = false;         // a delta arrived since the last ack
        version_type told;            // the last version we sent this peer
        std::uint64_t floor = 0;      // every transfer <= floor is done
        std::set<std::uint64_t> done; // done transfers above floor
        std::map<std::uint64_t, partial> partials;
        std::deque<waiting> buffered;
    };

    void reject(peer_id p, const error& e) {
        ++stats_.rejected;
        if (e.cause() == errc::replayed) {
            ++stats_.replayed;
        }
        if (on_error_) {
            on_error_(p, e);
        }
    }

    template <class Send>
    bool emit(peer_id p, const std::vector<std::byte>& bytes, Send& send) {
        const send_status s = send(p, std::span<const std::byte>(bytes));
        if (s == send_status::accepted) {
            ++stats_.messages_out;
            stats_.bytes_out += bytes.size();
            return true;
        }
        if (s == send_status::would_block) {
            ++stats_.would_block;
        }
        return false;
    }

    template <class Send>
    void send_hello(peer_id p, const T& state, bool reply, Send& send) {
        sync_message m{document_,
                       sync_hello{reply, session_, self_, crdt::encode(state.version())}};
        if (emit(p, encode_sync_message(m), send)) {
            peers_[p].told = state.version();
        }
    }

    // Sends `payload` as one transfer (in parts when large). Returns: whether
    // every part was accepted.
    template <class Send>
    bool send_transfer(peer_id p, const std::vector<std::byte>& payload,
                       const std::vector<std::byte>& version, bool based,
                       const std::vector<std::byte>& base, Send& send) {
        const std::uint64_t transfer = ++transfers_;
        const std::size_t part_bytes = Policy::max_part_bytes;
        const std::size_t parts =
            payload.empty() ? 1 : (payload.size() + part_bytes - 1) / part_bytes;
        for (std::size_t i = 0; i < parts; ++i) {
            const std::size_t from = i * part_bytes;
            const std::size_t to = std::min(payload.size(), from + part_bytes);
            sync_delta d;
            d.session = session_;
            d.transfer = transfer;
            d.version = version;
            d.has_base = based;
            d.base = base;
            d.part = i;
            d.parts = parts;
            d.total = payload.size();
            d.payload.assign(payload.begin() + static_cast<std::ptrdiff_t>(from),
                             payload.begin() + static_cast<std::ptrdiff_t>(to));
            if (!emit(p, encode_sync_message(sync_message{document_, std::move(d)}), send)) {
                return false;
            }
        }
        return true;
    }

    template <class Send>
    bool send_since(peer_id p, peer_state& ps, const T& state, Send& send) {
        ++stats_.resyncs;
        const version_type& known = *ps.view.known;
        const std::vector<std::byte> payload = crdt::encode(state.delta_since(known));
        const bool sent = send_transfer(p, payload, crdt::encode(state.version()), true,
                                        crdt::encode(known), send);
        if (sent) {
            ps.told = state.version();
        }
        // A delta of k parts takes about k times as long to arrive and
        // apply: do not retransmit it before then.
        const std::uint64_t parts = payload.size() / Policy::max_part_bytes + 1;
        ps.last_progress = now_;
        ps.backoff = std::max(
            ps.backoff, std::min(Policy::retransmit_ticks * parts, Policy::retransmit_ticks * 64));
        return sent;
    }

    // A message of session `s` from a peer: a new session resets what we
    // remember of the old one.
    void adopt_session(peer_state& ps, std::uint64_t s) {
        if (ps.session == s) {
            return;
        }
        ps.session = s;
        ps.backoff = Policy::retransmit_ticks;
        ps.view.heard = false;
        ps.view.known.reset();
        ps.floor = 0;
        ps.done.clear();
        ps.partials.clear();
        ps.buffered.clear();
    }

    template <class Send>
    void on_hello(peer_id p, peer_state& ps, const sync_hello& h, const T& state, Send& send) {
        version_type v;
        try {
            v = crdt::decode<version_type>(h.version, "sync hello version");
        } catch (const error& e) {
            reject(p, e);
            return;
        }
        adopt_session(ps, h.session);
        ps.view.name = h.name;
        ps.view.heard = true;
        if (ps.view.known) {
            ps.view.known->merge(v);
        } else {
            ps.view.known = std::move(v);
        }
        progress(ps);
        if (h.reply_requested) {
            send_hello(p, state, false, send);
        }
        if (!ps.view.known->includes(state.version())) {
            ps.dirty = !send_since(p, ps, state, send);
        }
    }

    void on_ack(peer_id p, peer_state& ps, const sync_ack& a) {
        version_type v;
        try {
            v = crdt::decode<version_type>(a.version, "sync ack version");
        } catch (const error& e) {
            reject(p, e);
            return;
        }
        if (a.session != ps.session) {
            return; // an ack from an old session (or before its hello): nothing to learn
        }
        learn(ps, std::move(v));
    }

    // The peer has (at least) `v`: it needs nothing below it from us.
    void learn(peer_state& ps, version_type v) {
        if (ps.view.known) {
            if (!ps.view.known->includes(v)) {
                ps.view.known->merge(v);
                progress(ps);
            }
        } else if (ps.view.heard) {
            ps.view.known = std::move(v);
            progress(ps);
        }
    }

    void progress(peer_state& ps) {
        ps.last_progress = now_;
        ps.backoff = Policy::retransmit_ticks;
    }

    bool seen_transfer(const peer_state& ps, std::uint64_t t) const {
        return t <= ps.floor || ps.done.contains(t);
    }

    void mark_done(peer_state& ps, std::uint64_t t) {
        ps.done.insert(t);
        while (ps.done.size() > Policy::replay_window) {
            ps.floor = *ps.done.begin();
            ps.done.erase(ps.done.begin());
        }
    }

    template <class Apply>
    void on_delta(peer_id p, peer_state& ps, sync_delta d, const T& state, Apply& apply) {
        adopt_session(ps, d.session); // a hello late or lost, or a restart's hello late
        if (seen_transfer(ps, d.transfer)) {
            ps.ack_due = true;
            reject(p, error(errc::replayed, "sync delta: transfer " + std::to_string(d.transfer) +
                                                " of session " + std::to_string(d.session) +
                                                " was already applied"));
            return;
        }
        if (d.total > Policy::max_delta_bytes) {
            reject(p, error(errc::too_large, "sync delta: " + std::to_string(d.total) +
                                                 " bytes (the limit is " +
                                                 std::to_string(Policy::max_delta_bytes) + ")"));
            return;
        }
        std::vector<std::byte> payload;
        if (d.parts == 1) {
            if (d.payload.size() != d.total) {
                reject(p, error(errc::invalid_value,
                                "sync delta: payload of " + std::to_string(d.payload.size()) +
                                    " bytes, total says " + std::to_string(d.total)));
                return;
            }
            payload = std::move(d.payload);
        } else {
            auto [it, fresh] = ps.partials.try_emplace(d.transfer);
            partial& pt = it->second;
            if (fresh) {
                if (ps.partials.size() > Policy::max_partial_transfers) {
                    ps.partials.erase(ps.partials.begin()); // the oldest transfer
                    auto again = ps.partials.find(d.transfer);
                    if (again == ps.partials.end()) {
                        return; // it was the oldest itself
                    }
                }
                pt.parts = d.parts;
                pt.total = d.total;
                pt.has_base = d.has_base;
                pt.base = d.base;
                pt.version = d.version;
            } else if (pt.parts != d.parts || pt.total != d.total || pt.has_base != d.has_base ||
                       pt.base != d.base || pt.version != d.version) {
                ps.partials.erase(it);
                reject(p, error(errc::invalid_value,
                                "sync delta: parts of transfer " + std::to_string(d.transfer) +
                                    " disagree on their count, size, version or base"));
                return;
            }
            if (pt.got.contains(d.part)) {
                return; // a duplicated part
            }
            pt.bytes += d.payload.size();
            if (pt.bytes > pt.total) {
                ps.partials.erase(d.transfer);
                reject(p, error(errc::invalid_value, "sync delta: parts of transfer " +
                                                         std::to_string(d.transfer) +
                                                         " exceed its total"));
                return;
            }
            pt.got.emplace(d.part, std::move(d.payload));
            if (pt.got.size() < pt.parts) {
                return;
            }
            if (pt.bytes != pt.total) {
                ps.partials.erase(d.transfer);
                reject(p, error(errc::invalid_value, "sync delta: parts of transfer " +
                                                         std::to_string(d.transfer) +
                                                         " fall short of its total"));
                return;
            }
            payload.reserve(pt.total);
            for (auto& [i, b] : pt.got) {
                payload.insert(payload.end(), b.begin(), b.end());
            }
            d.has_base = pt.has_base;
            d.base = std::move(pt.base);
            ps.partials.erase(d.transfer);
        }
        std::optional<version_type> base;
        std::optional<delta_type> delta;
        version_type sender_version;
        try {
            sender_version = crdt::decode<version_type>(d.version, "sync delta version");
            if (d.has_base) {
                base = crdt::decode<version_type>(d.base, "sync delta base");
            }
            delta = crdt::decode<delta_type>(payload, "sync delta payload");
        } catch (const error& e) {
            reject(p, e);
            return;
        }
        mark_done(ps, d.transfer);
        ps.ack_due = true;
        learn(ps, std::move(sender_version));
        if (base && !state.version().includes(*base)) {
            ++stats_.deltas_buffered;
            ps.buffered.push_back(waiting{std::move(*base), std::move(*delta)});
            if (ps.buffered.size() > Policy::max_buffered_deltas) {
                ps.buffered.pop_front();
            }
            return;
        }
        if (apply_delta(p, apply, std::move(*delta), base ? &*base : nullptr)) {
            ++stats_.deltas_applied;
        }
        apply_buffered(state, apply);
    }

    // Calls apply; a crdt::error from it rejects the message (the delta came
    // from peer p: bad input from outside, not a local failure to raise).
    template <class Apply>
    bool apply_delta(peer_id p, Apply& apply, delta_type&& d, const version_type* base) {
        try {
            return apply(std::move(d), base);
        } catch (const error& e) {
            reject(p, e);
            return false;
        }
    }

    // Applies buffered deltas whose base the state now includes, until none.
    template <class Apply>
    void apply_buffered(const T& state, Apply& apply) {
        for (bool progress = true; progress;) {
            progress = false;
            for (auto& [id, ps] : peers_) {
                for (auto it = ps.buffered.begin(); it != ps.buffered.end();) {
                    if (state.version().includes(it->base)) {
                        waiting w = std::move(*it);
                        it = ps.buffered.erase(it);
                        if (apply_delta(id, apply, std::move(w.delta), &w.base)) {
                            ++stats_.deltas_applied;
                        }
                        progress = true;
                    } else {
                        ++it;
                    }
                }
            }
        }
    }

    std::string document_;
    std::string self_;
    std::uint64_t session_;
    std::uint64_t transfers_ = 0;
    std::uint64_t now_ = 0;
    std::map<peer_id, peer_state> peers_;
    error_handler on_error_;
    sync_stats stats_;
};

CRDT_END_NAMESPACE
