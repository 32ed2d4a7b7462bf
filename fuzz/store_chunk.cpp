// fuzz/store_chunk.cpp -- decode_chunk, the stored form of snapshots and
// deltas (crdt/detail/store/chunk.hpp).
//
// Input: the bytes of one chunk. Oracles beyond the kit's
// (fuzz/support/harness.hpp):
//   * decoding returns a chunk or throws crdt::error with a decoding cause
//     and a byte offset inside the input, naming the key it was given;
//   * an accepted chunk re-encodes (encode_chunk) to exactly the input;
//   * an accepted chunk has a known kind, and a base only as a delta;
//   * flipping any one bit of an accepted chunk makes it rejected (the
//     CRC-32C detects every single-bit error; the magic, every change to
//     itself).
#include "support/harness.hpp"

#include <crdt/codec/crc32c.hpp>
#include <crdt/codec/writer.hpp>
#include <crdt/detail/store/chunk.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace {

using crdt::detail::store::chunk_kind;

void check_accepted(const crdt::detail::store::chunk& c, crdt_fuzz::input in) {
    if (c.kind != chunk_kind::snapshot && c.kind != chunk_kind::delta &&
        c.kind != chunk_kind::native_snapshot) {
        crdt_fuzz::fail("accepted an unknown chunk kind");
    }
    if (c.has_base && c.kind != chunk_kind::delta) {
        crdt_fuzz::fail("accepted a snapshot with a base");
    }
    if (!c.has_base && !c.base.empty()) {
        crdt_fuzz::fail("a chunk without a base flag came back with a base");
    }
    const crdt_fuzz::bytes again =
        crdt::detail::store::encode_chunk(c.kind, c.has_base ? &c.base : nullptr, c.payload);
    if (!std::ranges::equal(again, in)) {
        crdt_fuzz::fail("not canonical: encode_chunk(decode_chunk(x)) != x; re-encoded as " +
                        crdt_fuzz::hex(again));
    }
    crdt_fuzz::bytes flipped(in.begin(), in.end());
    for (std::size_t i = 0; i < flipped.size(); i += 1 + flipped.size() / 16) {
        flipped[i] ^= std::byte{0x04};
        try {
            (void)crdt::detail::store::decode_chunk(flipped, "flipped");
            crdt_fuzz::fail("a chunk with a flipped bit was accepted");
        } catch (const crdt::error& e) {
            crdt_fuzz::check_decode_error(e, flipped);
        }
        flipped[i] ^= std::byte{0x04};
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    return crdt_fuzz::run(data, size, [](crdt_fuzz::input in) {
        std::optional<crdt::detail::store::chunk> c;
        try {
            c.emplace(crdt::detail::store::decode_chunk(in, "doc/delta/fuzz"));
        } catch (const crdt::error& e) {
            crdt_fuzz::check_decode_error(e, in);
            if (std::string(e.what()).find("doc/delta/fuzz") == std::string::npos) {
                crdt_fuzz::fail(std::string("chunk error does not name its key: ") + e.what());
            }
            return;
        }
        check_accepted(*c, in);
    });
}

std::vector<crdt_fuzz::bytes> crdt_fuzz::seeds() {
    std::vector<bytes> out;
    const bytes base(9, std::byte{0x01});
    for (const std::size_t n :
         {std::size_t{0}, std::size_t{1}, std::size_t{40}, std::size_t{300}}) {
        const bytes payload(n, std::byte{0x5a});
        out.push_back(crdt::detail::store::encode_chunk(chunk_kind::snapshot, nullptr, payload));
        out.push_back(
            crdt::detail::store::encode_chunk(chunk_kind::native_snapshot, nullptr, payload));
        out.push_back(crdt::detail::store::encode_chunk(chunk_kind::delta, nullptr, payload));
        out.push_back(crdt::detail::store::encode_chunk(chunk_kind::delta, &base, payload));
    }
    return out;
}
