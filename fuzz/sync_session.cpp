// fuzz/sync_session.cpp -- a sync_session (crdt/sync/session.hpp) fed
// arbitrary messages from its peers.
//
// Input: records, each `op len bytes[len]` (a short last record takes what
// is left). op % 8: 0-3 a message from peer 1 + (op >> 3) % 2 made of the
// bytes as they are; 4-5 the same with a valid header for this document
// prepended (type 1 + (op >> 4) % 3), so mutations reach the bodies; 6 a
// tick; 7 a flush. The session holds an lww_map and has two peers; its
// policy makes parts, buffers, partial transfers and the replay window tiny.
// Oracles beyond "never crashes, never throws":
//   * the state changes only inside apply(), and apply() runs only while a
//     message that decodes as a delta of this document is received; its
//     base, when given, is included in the state's version;
//   * every rejected message reaches on_error exactly once, with a decoding
//     cause, errc::replayed or errc::too_large; a message that does not
//     decode, or is for another document, is rejected and changes nothing;
//   * the counters agree: rejected = errors reported, deltas_applied =
//     apply() calls that returned true, messages_in = messages received;
//   * everything the session sends is a well-formed message of this
//     document whose versions decode, with parts of at most max_part_bytes;
//   * the state stays a valid value (it round-trips through its codec).
#include "support/harness.hpp"

#include <crdt/core/replica_id.hpp>
#include <crdt/lww_map.hpp>
#include <crdt/sync/message.hpp>
#include <crdt/sync/session.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace {

using map_t = crdt::lww_map<std::string, std::string>;
using version_t = map_t::version_type;

struct fuzz_policy : crdt::sync_defaults {
    static constexpr std::size_t max_part_bytes = 16;
    static constexpr std::uint64_t max_delta_bytes = 4096;
    static constexpr std::size_t max_buffered_deltas = 2;
    static constexpr std::size_t max_partial_transfers = 2;
    static constexpr std::uint64_t retransmit_ticks = 2;
    static constexpr std::size_t replay_window = 4;
};
using session_t = crdt::sync_session<map_t, fuzz_policy>;

constexpr std::uint64_t host_session = 0xa11ce;
const std::string document = "doc";

map_t sample(std::uint64_t replica, int keys) {
    map_t m{crdt::replica_id(replica)};
    for (int i = 0; i < keys; ++i) {
        m.set("k" + std::to_string(i), std::string(static_cast<std::size_t>(i) * 3, 'v'));
        if (i % 3 == 2) {
            m.erase("k" + std::to_string(i - 1));
        }
    }
    return m;
}

// Checks one message the session sent.
void check_sent(std::span<const std::byte> b) {
    crdt::sync_message m;
    try {
        m = crdt::decode_sync_message(b);
        if (m.document != document) {
            crdt_fuzz::fail("the session sent a message of another document");
        }
        if (const auto* h = std::get_if<crdt::sync_hello>(&m.body)) {
            (void)crdt::decode<version_t>(h->version);
        } else if (const auto* d = std::get_if<crdt::sync_delta>(&m.body)) {
            (void)crdt::decode<version_t>(d->version);
            if (d->has_base) {
                (void)crdt::decode<version_t>(d->base);
            }
            if (d->payload.size() > fuzz_policy::max_part_bytes) {
                crdt_fuzz::fail("the session sent a part above max_part_bytes");
            }
        } else {
            (void)crdt::decode<version_t>(std::get<crdt::sync_ack>(m.body).version);
        }
    } catch (const crdt::error& e) {
        crdt_fuzz::fail(std::string("the session sent a malformed message: ") + e.what());
    }
}

// The session under test, its state, and what it did.
struct host {
    map_t state = sample(100, 6);
    session_t session{document, "host", host_session};
    std::vector<crdt::error> errors;
    std::vector<std::pair<crdt::peer_id, crdt_fuzz::bytes>> sent;
    bool receiving_delta = false; // the message being received decodes as a delta
    std::size_t applied = 0;

    auto send() {
        return [this](crdt::peer_id p, std::span<const std::byte> b) {
            check_sent(b);
            sent.emplace_back(p, crdt_fuzz::bytes(b.begin(), b.end()));
            return crdt::send_status::accepted;
        };
    }

    auto apply() {
        return [this](map_t&& d, const version_t* base) {
            if (!receiving_delta) {
                crdt_fuzz::fail("apply() called for a message that is not a delta");
            }
            if (base != nullptr && !state.version().includes(*base)) {
                crdt_fuzz::fail("apply() called before the state includes the delta's base");
            }
            state.merge(d);
            ++applied;
            return true;
        };
    }

    host() {
        session.on_error([this](crdt::peer_id, const crdt::error& e) { errors.push_back(e); });
        session.peer_joined(crdt::peer_id{1}, state, send());
        session.peer_joined(crdt::peer_id{2}, state, send());
    }

    void receive(crdt::peer_id from, std::span<const std::byte> b) {
        std::optional<crdt::sync_message> m;
        try {
            m.emplace(crdt::decode_sync_message(b));
        } catch (const crdt::error&) {
        }
        const bool foreign = m && m->document != document;
        receiving_delta = m && !foreign && std::holds_alternative<crdt::sync_delta>(m->body);
        const map_t before = state;
        const std::size_t errors_before = errors.size();
        const std::size_t applied_before = applied;
        session.receive(from, b, state, apply(), send());
        receiving_delta = false;
        if (applied == applied_before && !(state == before)) {
            crdt_fuzz::fail("the state changed outside apply()");
        }
        if ((!m || foreign) && errors.size() != errors_before + 1) {
            crdt_fuzz::fail("a message that does not decode (or is for another document) was "
                            "not reported exactly once");
        }
        for (std::size_t i = errors_before; i < errors.size(); ++i) {
            const crdt::errc c = errors[i].cause();
            // causality_gap: a delta that needs more than the base its
            // message names, refused by the replica (unchanged: checked above).
            if (!crdt_fuzz::is_decoding_cause(c) && c != crdt::errc::replayed &&
                c != crdt::errc::too_large && c != crdt::errc::causality_gap) {
                crdt_fuzz::fail(std::string("unexpected error cause: ") + errors[i].what());
            }
        }
    }

    void check_counters(std::size_t received) const {
        const crdt::sync_stats& s = session.stats();
        if (s.rejected != errors.size() || s.deltas_applied != applied ||
            s.messages_in != received || s.messages_out != sent.size() || s.replayed > s.rejected) {
            crdt_fuzz::fail("the session's counters disagree with what it did");
        }
    }

    void check_state() const {
        if (!(crdt::decode<map_t>(crdt::encode(state)) == state)) {
            crdt_fuzz::fail("the state no longer round-trips");
        }
    }
};

// The header of a message of `type` for this document.
crdt_fuzz::bytes header(unsigned type) {
    crdt_fuzz::bytes h{std::byte{0x63}, std::byte{0x73}, std::byte{crdt::sync_protocol_version},
                       static_cast<std::byte>(type), static_cast<std::byte>(document.size())};
    for (char c : document) {
        h.push_back(static_cast<std::byte>(c));
    }
    return h;
}

// Appends one record to a seed: `b` as it is (op 0), or its body after the
// header (op 4 with the type bits), so both record forms get seeds.
void record(crdt_fuzz::bytes& out, std::span<const std::byte> b, bool headerless) {
    const std::size_t skip = 5 + document.size();
    unsigned op = 0;
    if (headerless && b.size() >= skip) {
        op = 4 | ((std::to_integer<unsigned>(b[3]) - 1) << 4);
        b = b.subspan(skip);
    }
    const std::size_t n = std::min<std::size_t>(b.size(), 255);
    out.push_back(static_cast<std::byte>(op));
    out.push_back(static_cast<std::byte>(n));
    out.insert(out.end(), b.begin(), b.begin() + static_cast<std::ptrdiff_t>(n));
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    return crdt_fuzz::run(data, size, [](crdt_fuzz::input in) {
        host h;
        std::size_t received = 0;
        std::size_t pos = 0;
        while (pos < in.size()) {
            const unsigned op = std::to_integer<unsigned>(in[pos++]);
            std::size_t len = 0;
            if (pos < in.size()) {
                len = std::to_integer<std::size_t>(in[pos]);
                ++pos;
                len = std::min(len, in.size() - pos);
            }
            const crdt_fuzz::input body = in.subspan(pos, len);
            pos += len;
            const crdt::peer_id from{1 + ((op >> 3) & 1)};
            switch (op % 8) {
            case 4:
            case 5: {
                crdt_fuzz::bytes m = header(1 + (op >> 4) % 3);
                m.insert(m.end(), body.begin(), body.end());
                h.receive(from, m);
                ++received;
                break;
            }
            case 6: h.session.tick(h.state, h.send()); break;
            case 7: h.session.flush(h.state, h.send()); break;
            default:
                h.receive(from, body);
                ++received;
                break;
            }
            h.check_counters(received);
        }
        (void)h.session.settled(h.state);
        for (std::uint64_t t = 0; t < 2 * fuzz_policy::retransmit_ticks; ++t) {
            h.session.tick(h.state, h.send());
        }
        h.check_counters(received);
        h.check_state();
    });
}

std::vector<crdt_fuzz::bytes> crdt_fuzz::seeds() {
    // A real peer session (peer 1 of the host) talking to a copy of the
    // host: what it sends to the host, in order, becomes the records.
    std::vector<bytes> out;
    for (int variant = 0; variant < 4; ++variant) {
        host h;
        map_t peer_state = sample(200 + static_cast<std::uint64_t>(variant), variant * 2);
        session_t peer(document, "peer", 0xbeef + static_cast<std::uint64_t>(variant));
        bytes seed;
        std::vector<bytes> to_host;
        auto peer_send = [&](crdt::peer_id, std::span<const std::byte> b) {
            to_host.emplace_back(b.begin(), b.end());
            return crdt::send_status::accepted;
        };
        auto peer_apply = [&](map_t&& d, const version_t*) {
            peer_state.merge(d);
            return true;
        };
        peer.peer_joined(crdt::peer_id{9}, peer_state, peer_send);
        for (int round = 0; round < 4; ++round) {
            // The host's messages to peer 1 reach the peer...
            const auto sent = h.sent;
            h.sent.clear();
            for (const auto& [p, b] : sent) {
                if (p.value == 1) {
                    peer.receive(crdt::peer_id{9}, b, peer_state, peer_apply, peer_send);
                }
            }
            peer.flush(peer_state, peer_send);
            if (round == 1) {
                const version_t before = peer_state.version();
                const map_t d = peer_state.set("from peer", std::string(20, 'p'));
                peer.announce(d, before, peer_state, peer_send);
            }
            // ... and the peer's reach the host, as records of the seed.
            for (const auto& b : to_host) {
                record(seed, b, variant % 2 == 1);
                h.receive(crdt::peer_id{1}, b);
            }
            to_host.clear();
            seed.push_back(std::byte{7}); // flush
            seed.push_back(std::byte{0});
            h.session.flush(h.state, h.send());
        }
        seed.push_back(std::byte{6}); // tick
        seed.push_back(std::byte{0});
        out.push_back(std::move(seed));
    }
    return out;
}
