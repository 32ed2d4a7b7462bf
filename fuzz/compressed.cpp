// fuzz/compressed.cpp -- crdt::decompress and crdt::decode_compressed
// (crdt/codec/compressed.hpp) on untrusted bytes.
//
// Input: the compressed bytes themselves (no selector byte). Oracles beyond
// the kit's (fuzz/support/harness.hpp):
//   * decompress, with a 1 MiB limit, returns bytes or throws crdt::error
//     with a decoding cause (or too_large) and an offset within the input;
//   * returned bytes compress (at two levels) and decompress back to
//     themselves;
//   * decode_compressed of a text delta either fails like decompress, or
//     fails decoding the plain bytes, or returns a delta that re-encodes to
//     exactly those plain bytes.
// Built only with zlib (the crdt::zlib target; fuzz/CMakeLists.txt).
#include "support/harness.hpp"

#include <crdt/codec/compressed.hpp>
#include <crdt/core/replica_id.hpp>
#include <crdt/text.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace {

constexpr std::size_t limit = std::size_t{1} << 20;

void check_error(const crdt::error& e, crdt_fuzz::input in) {
    if (e.cause() == crdt::errc::too_large) {
        if (!e.offset() || *e.offset() > in.size()) {
            crdt_fuzz::fail(std::string("too_large without an offset in the input: ") + e.what());
        }
        return;
    }
    crdt_fuzz::check_decode_error(e, in);
}

void check(crdt_fuzz::input in) {
    std::optional<std::vector<std::byte>> plain;
    try {
        plain = crdt::decompress(in, limit);
    } catch (const crdt::error& e) {
        check_error(e, in);
    }
    if (plain) {
        if (plain->size() > limit) {
            crdt_fuzz::fail("decompress returned more than the limit");
        }
        for (const int level : {1, 9}) {
            if (crdt::decompress(crdt::compress(*plain, level), limit) != *plain) {
                crdt_fuzz::fail("compress/decompress of decompressed bytes lost data");
            }
        }
    }
    try {
        const auto d = crdt::decode_compressed<crdt::text::delta_type>(in, limit);
        if (!plain || crdt::encode(d) != *plain) {
            crdt_fuzz::fail("decode_compressed accepted bytes decompress did not give it");
        }
    } catch (const crdt::error& e) {
        if (plain) {
            // The plain bytes failed to decode: offsets are into them.
            crdt_fuzz::check_decode_error(e, crdt_fuzz::input(*plain));
        } else {
            check_error(e, in);
        }
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    return crdt_fuzz::run(data, size, check);
}

std::vector<crdt_fuzz::bytes> crdt_fuzz::seeds() {
    crdt::text doc(crdt::agent_id("fuzz"));
    std::vector<crdt_fuzz::bytes> out;
    for (std::size_t k = 0; k < 40; ++k) {
        (void)doc.insert((k * 7) % (doc.size() + 1), std::string("some text ").substr(k % 5));
        if (k % 6 == 5) {
            (void)doc.erase(k % doc.size(), 1);
        }
        if (k % 10 == 9) {
            out.push_back(crdt::encode_compressed(doc.delta_since({}), static_cast<int>(k % 10)));
        }
    }
    out.push_back(crdt::compress(std::vector<std::byte>{}));
    out.push_back(crdt::compress(std::vector<std::byte>(3000, std::byte{'a'}), 9));
    return out;
}
