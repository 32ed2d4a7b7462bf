// fuzz/sync_message.cpp -- decode_sync_message, the sync protocol's wire
// format (crdt/sync/message.hpp).
//
// Input: the bytes of one message. Oracles beyond the kit's
// (fuzz/support/harness.hpp):
//   * decoding returns a message or throws crdt::error with a decoding
//     cause and a byte offset inside the input;
//   * an accepted message re-encodes to exactly the input (the format is
//     canonical), and the re-encoding decodes to an equal message;
//   * an accepted message is well formed: a non-empty header of magic,
//     protocol version and type; for a delta, transfer >= 1,
//     part < parts <= total + 1, payload <= total, a base only with its flag;
//   * every proper prefix of an accepted message is rejected (messages are
//     self-delimiting only as a whole: the decoder reads to the end).
#include "support/harness.hpp"

#include <crdt/sync/message.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace {

void check_accepted(const crdt::sync_message& m, crdt_fuzz::input in) {
    const crdt_fuzz::bytes again = crdt::encode_sync_message(m);
    if (!std::ranges::equal(again, in)) {
        crdt_fuzz::fail("not canonical: encode(decode(x)) != x; re-encoded as " +
                        crdt_fuzz::hex(again));
    }
    if (!(crdt::decode_sync_message(again) == m)) {
        crdt_fuzz::fail("the re-encoded message decodes to another message");
    }
    if (in.size() < 4 || in[2] != std::byte{crdt::sync_protocol_version}) {
        crdt_fuzz::fail("accepted a message without a version-1 header");
    }
    if (const auto* d = std::get_if<crdt::sync_delta>(&m.body)) {
        if (d->transfer == 0 || d->parts == 0 || d->part >= d->parts || d->parts - 1 > d->total ||
            d->payload.size() > d->total || (!d->has_base && !d->base.empty())) {
            crdt_fuzz::fail("accepted a delta with impossible numbering or base");
        }
    }
    // A proper prefix is never a message (spot-check a few lengths).
    for (const std::size_t n : {std::size_t{0}, in.size() / 2, in.size() - 1}) {
        try {
            (void)crdt::decode_sync_message(in.first(n));
            crdt_fuzz::fail("a proper prefix of a message was accepted");
        } catch (const crdt::error& e) {
            crdt_fuzz::check_decode_error(e, in.first(n));
        }
    }
}

crdt::sync_message delta(std::string document, bool based, std::uint64_t part, std::uint64_t parts,
                         std::uint64_t total, std::size_t payload) {
    crdt::sync_delta d;
    d.session = 0x1234;
    d.transfer = 7;
    d.version = crdt_fuzz::bytes(5, std::byte{0x01});
    d.has_base = based;
    if (based) {
        d.base = crdt_fuzz::bytes(3, std::byte{0x02});
    }
    d.part = part;
    d.parts = parts;
    d.total = total;
    d.payload = crdt_fuzz::bytes(payload, std::byte{0x2a});
    return {std::move(document), std::move(d)};
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    return crdt_fuzz::run(data, size, [](crdt_fuzz::input in) {
        std::optional<crdt::sync_message> m;
        try {
            m.emplace(crdt::decode_sync_message(in));
        } catch (const crdt::error& e) {
            crdt_fuzz::check_decode_error(e, in);
            return;
        }
        check_accepted(*m, in);
    });
}

std::vector<crdt_fuzz::bytes> crdt_fuzz::seeds() {
    const auto max = std::numeric_limits<std::uint64_t>::max();
    std::vector<bytes> out;
    auto add = [&](const crdt::sync_message& m) { out.push_back(crdt::encode_sync_message(m)); };
    add({"doc", crdt::sync_hello{false, 1, "", {}}});
    add({"doc/é", crdt::sync_hello{true, max, std::string(255, 'n'), bytes(40, std::byte{3})}});
    add({"", crdt::sync_ack{5, {}}});
    add({"doc", crdt::sync_ack{max, bytes(20, std::byte{9})}});
    add(delta("doc", false, 0, 1, 0, 0));
    add(delta("doc", true, 0, 1, 16, 16));
    add(delta("d", true, 2, 3, 100, 30));
    add(delta("d", false, 0, 4, 3, 0)); // parts == total + 1
    add(delta("d", false, 0, 1, 1u << 30, 10));
    return out;
}
