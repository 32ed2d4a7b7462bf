// fuzz/storage_key.cpp -- decoding of encoded storage keys
// (crdt::decode_key, crdt/storage/key.hpp), as read from SQLite BLOBs and
// log records.
//
// Oracles:
//   * decode_key returns or throws crdt::error with a decoding cause and an
//     offset inside the input;
//   * a decoded key re-encodes to exactly the input (the encoding is
//     canonical), and prefix_successor of the input is greater than it.
#include "support/harness.hpp"

#include <crdt/storage/key.hpp>

#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    return crdt_fuzz::run(data, size, [](crdt_fuzz::input in) {
        const std::string_view text(reinterpret_cast<const char*>(in.data()), in.size());
        try {
            const auto key = crdt::decode_key(text, "fuzz key");
            if (crdt::encode_key(key) != text) {
                crdt_fuzz::fail("decode_key accepted a non-canonical encoding");
            }
            if (auto succ = crdt::prefix_successor(std::string(text)); succ && *succ <= text) {
                crdt_fuzz::fail("prefix_successor is not greater");
            }
        } catch (const crdt::error& e) {
            crdt_fuzz::check_decode_error(e, in);
        }
    });
}

std::vector<crdt_fuzz::bytes> crdt_fuzz::seeds() {
    const auto enc = crdt::encode_key(crdt::storage_key{"ws", std::string_view("a\0b", 3), ""});
    crdt_fuzz::bytes b;
    for (char c : enc) {
        b.push_back(static_cast<std::byte>(c));
    }
    return {b};
}
