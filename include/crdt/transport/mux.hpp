// crdt/transport/mux.hpp -- several documents over one transport.
//
// A sync_session (and so a store::replica) speaks about one document, and
// rejects another document's messages. transport_mux<Tr> lets many of them
// share one transport (one TCP connection, one folder outbox): open(doc)
// returns a channel, itself a transport, that sees every peer of the
// underlying transport and only the messages whose sync document id
// (crdt/sync/message.hpp) is `doc`. Sends go straight to the underlying
// transport.
//
//   crdt::tcp_transport net("laptop");
//   crdt::transport_mux mux(net);
//   auto& settings = mux.open("settings");
//   auto& notes = mux.open("notes");
//   crdt::store::replica<map, S, crdt::transport_mux<crdt::tcp_transport>::channel>
//       a(storage, settings, "settings", id);
//
// Polling any channel polls the underlying transport and files every event:
// joined and left go to every channel (a channel opened later first gets a
// joined event for each peer already connected); a message goes to the
// channel of its document. A message that names no open document, or whose
// header does not parse, is dropped and reported to on_unrouted() with a
// crdt::error (errc::not_found, or the decoding error).
//
// Complexity: O(1) per event plus a map lookup per message. Thread safety:
// like the underlying transport (one thread at a time for the mux and all
// its channels). Exception safety: basic; events already filed stay filed.
#pragma once

#include <crdt/codec/reader.hpp>
#include <crdt/core/config.hpp>
#include <crdt/core/error.hpp>
#include <crdt/transport/concepts.hpp>

#include <cstddef>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <utility>

CRDT_BEGIN_NAMESPACE

/// Several documents over one transport (see the file comment).
template <transport Tr>
class transport_mux {
public:
    /// A transport for one document.
    class channel {
    public:
        channel(const channel&) = delete;
        channel& operator=(const channel&) = delete;

        /// Returns: the underlying transport's stable name.
        const std::string& self() const { return mux_->net_->self(); }

        /// Effects: sends through the underlying transport.
        send_status send(peer_id p, std::span<const std::byte> bytes) {
            return mux_->net_->send(p, bytes);
        }

        /// Effects: polls the underlying transport, then hands this
        ///   channel's events to `on_event` in order. Returns: how many.
        template <class F>
        std::size_t poll(F&& on_event) {
            mux_->pump();
            std::size_t n = 0;
            while (!queue_.empty()) {
                transport_event ev = std::move(queue_.front());
                queue_.pop_front();
                on_event(std::move(ev));
                ++n;
            }
            return n;
        }

        /// Returns: the document this channel carries.
        const std::string& document() const noexcept { return document_; }

    private:
        friend class transport_mux;
        channel(transport_mux* mux, std::string document)
            : mux_(mux), document_(std::move(document)) {}
        transport_mux* mux_;
        std::string document_;
        std::deque<transport_event> queue_;
    };

    /// Effects: a mux over `net`, which must outlive it; nothing is polled
    ///   until a channel is.
    explicit transport_mux(Tr& net) : net_(&net) {}

    transport_mux(const transport_mux&) = delete;
    transport_mux& operator=(const transport_mux&) = delete;

    /// Returns: the channel of `document`, opened on first use; it lives as
    ///   long as the mux. A new channel starts with a joined event for every
    ///   peer already connected.
    channel& open(const std::string& document) {
        auto it = channels_.find(document);
        if (it == channels_.end()) {
            auto ch = std::unique_ptr<channel>(new channel(this, document));
            for (const auto& [p, name] : peers_) {
                ch->queue_.push_back(transport_event{transport_event::kind::joined, p, name, {}});
            }
            it = channels_.emplace(document, std::move(ch)).first;
        }
        return *it->second;
    }

    /// Effects: `f` receives the peer and the error of every dropped message.
    void on_unrouted(std::function<void(peer_id, const error&)> f) { on_unrouted_ = std::move(f); }

    /// Returns: the number of messages dropped so far.
    std::size_t unrouted() const noexcept { return unrouted_; }

    /// Effects: polls the underlying transport and files its events.
    void pump() {
        net_->poll([this](transport_event&& ev) { file(std::move(ev)); });
    }

private:
    void file(transport_event&& ev) {
        switch (ev.what) {
        case transport_event::kind::joined: peers_[ev.peer] = ev.name; break;
        case transport_event::kind::left: peers_.erase(ev.peer); break;
        case transport_event::kind::message: {
            std::string doc;
            try {
                doc = document_of(ev.bytes);
            } catch (const error& e) {
                drop(ev.peer, e);
                return;
            }
            auto it = channels_.find(doc);
            if (it == channels_.end()) {
                drop(ev.peer, error(errc::not_found, "transport_mux: a message for document '" +
                                                         doc + "', which is not open here"));
                return;
            }
            it->second->queue_.push_back(std::move(ev));
            return;
        }
        }
        for (auto& [doc, ch] : channels_) {
            ch->queue_.push_back(ev);
        }
    }

    void drop(peer_id p, const error& e) {
        ++unrouted_;
        if (on_unrouted_) {
            on_unrouted_(p, e);
        }
    }

    // The document id of a sync message: bytes 0-3 are the header, then the
    // id as a varint length and UTF-8 (crdt/sync/message.hpp).
    static std::string document_of(std::span<const std::byte> bytes) {
        byte_reader r(bytes, "sync message");
        if (bytes.size() < 4) {
            r.fail(errc::truncated, "header (4 bytes)");
        }
        if (bytes[0] != std::byte{0x63} || bytes[1] != std::byte{0x73}) {
            r.fail(errc::bad_magic, "magic (expected \"cs\")");
        }
        (void)r.raw(4);
        return std::string(r.string());
    }

    Tr* net_;
    std::map<std::string, std::unique_ptr<channel>> channels_;
    std::map<peer_id, std::string> peers_;
    std::function<void(peer_id, const error&)> on_unrouted_;
    std::size_t unrouted_ = 0;
};

CRDT_END_NAMESPACE
