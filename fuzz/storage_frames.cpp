// fuzz/storage_frames.cpp -- the framed-record reader (crdt/codec/framing.hpp).
//
// Input: 4 bytes of CRC seed, then the bytes to read as frames.
// Oracles:
//   * frame_reader either returns frames or throws crdt::error with a
//     decoding cause and an offset inside the input;
//   * parse_frame agrees with frame_reader on every frame (ok exactly when
//     the reader returns it) and never reads past the input;
//   * every frame read re-frames (append_frame) to exactly its input bytes.
#include "support/harness.hpp"

#include <crdt/codec/framing.hpp>

#include <cstring>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    return crdt_fuzz::run(data, size, [](crdt_fuzz::input in) {
        std::uint32_t seed = 0;
        if (in.size() >= 4) {
            std::memcpy(&seed, in.data(), 4);
            in = in.subspan(4);
        }
        crdt::frame_reader r(in, "fuzz input", seed);
        std::size_t pos = 0;
        try {
            while (auto f = r.next()) {
                crdt::frame_view g;
                if (crdt::parse_frame(in.subspan(pos), g, seed) != crdt::frame_status::ok ||
                    g.type != f->type || g.payload.data() != f->payload.data()) {
                    crdt_fuzz::fail("parse_frame disagrees with frame_reader");
                }
                const auto again = crdt::make_frame(f->type, f->payload, seed);
                if (again.size() != f->size() ||
                    std::memcmp(again.data(), in.data() + pos, again.size()) != 0) {
                    crdt_fuzz::fail("a frame does not re-frame to its bytes");
                }
                pos += f->size();
                if (r.offset() != pos) {
                    crdt_fuzz::fail("frame_reader offset out of step");
                }
            }
        } catch (const crdt::error& e) {
            crdt_fuzz::check_decode_error(e, in);
            crdt::frame_view g;
            if (crdt::parse_frame(in.subspan(pos), g, seed) == crdt::frame_status::ok) {
                crdt_fuzz::fail("frame_reader threw on a frame parse_frame accepts");
            }
        }
    });
}

std::vector<crdt_fuzz::bytes> crdt_fuzz::seeds() {
    std::vector<crdt_fuzz::bytes> out;
    crdt_fuzz::bytes one(4);
    const char text[] = "hello";
    crdt::append_frame(one, 1, std::as_bytes(std::span(text, 5)));
    crdt::append_frame(one, 7, {});
    out.push_back(one);
    return out;
}
