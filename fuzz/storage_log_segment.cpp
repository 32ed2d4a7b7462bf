// fuzz/storage_log_segment.cpp -- recovery of a log_storage segment from
// arbitrary bytes (crdt/detail/storage/log_scan.hpp), the code that runs at
// open on whatever a crash or a disk left behind.
//
// Input: byte 0 selects the mode (bit 0: last segment, bit 1: salvage), the
// rest is the segment file.
// Oracles:
//   * scan_segment returns or throws crdt::error with a decoding cause and an
//     offset inside the input; nothing else escapes;
//   * committed records lie inside the input, in increasing offsets, before
//     committed_end, and their keys are valid encoded keys (decode_key);
//   * a torn tail is reported only for the last segment, and committed_end
//     is within the input;
//   * salvage never throws for a segment whose header is valid.
#include "support/harness.hpp"

#include <crdt/detail/storage/log_scan.hpp>
#include <crdt/storage/key.hpp>

#include <vector>

namespace ds = crdt::detail::storage;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    return crdt_fuzz::run(data, size, [](crdt_fuzz::input in) {
        if (in.empty()) {
            return;
        }
        const auto mode = static_cast<unsigned>(in[0]);
        const bool last = (mode & 1) != 0;
        const bool salvage = (mode & 2) != 0;
        in = in.subspan(1);
        std::uint64_t prev = 0;
        bool header_ok = false;
        try {
            const auto res =
                ds::scan_segment(in, "fuzz.log", last, salvage, [&](const ds::scanned_record& r) {
                    header_ok = true;
                    if (r.record_offset < prev || r.record_offset + r.record_size > in.size()) {
                        crdt_fuzz::fail("record outside the input or out of order");
                    }
                    prev = r.record_offset + r.record_size;
                    if (r.type != ds::log_format::append) {
                        (void)crdt::decode_key(r.key, "fuzz key");
                    }
                    if ((r.type == ds::log_format::put || r.type == ds::log_format::append) &&
                        r.value_offset > r.record_size) {
                        crdt_fuzz::fail("value offset past its record");
                    }
                });
            if (res.committed_end > in.size() || res.committed_end < prev) {
                crdt_fuzz::fail("committed_end out of range");
            }
            if (res.torn_tail && !last) {
                crdt_fuzz::fail("a torn tail outside the last segment");
            }
            if (res.torn_tail && (res.data_end < res.committed_end || res.data_end > in.size())) {
                crdt_fuzz::fail("data_end out of range");
            }
        } catch (const crdt::error& e) {
            crdt_fuzz::check_decode_error(e, in);
            (void)header_ok;
        }
    });
}

std::vector<crdt_fuzz::bytes> crdt_fuzz::seeds() {
    namespace lf = ds::log_format;
    crdt_fuzz::bytes seg(1, std::byte{1});
    const auto h = lf::make_header(1, 0x1234);
    seg.insert(seg.end(), h.begin(), h.end());
    const auto seed = lf::seed_of(0x1234);
    const std::string key = crdt::encode_key(crdt::storage_key{"doc", "k"});
    std::vector<std::byte> payload{std::byte{1}, static_cast<std::byte>(key.size())};
    for (char c : key) {
        payload.push_back(static_cast<std::byte>(c));
    }
    payload.push_back(std::byte{'v'});
    crdt::append_frame(seg, lf::put, payload, seed);
    crdt::append_frame(seg, lf::batch_put, payload, seed);
    crdt::append_frame(seg, lf::batch_commit, std::vector<std::byte>{std::byte{1}}, seed);
    crdt::append_frame(seg, lf::append, std::vector<std::byte>{std::byte{1}, std::byte{'x'}}, seed);
    // A marked segment (format 2): sync marks, a torn frame, reserved zeros.
    crdt_fuzz::bytes win(1, std::byte{1});
    const auto h2 = lf::make_header(2, 0x1234, lf::marked_version);
    win.insert(win.end(), h2.begin(), h2.end());
    crdt::append_frame(win, lf::put, payload, seed);
    {
        const auto mark = lf::make_sync_mark(0x1234, win.size() - 1);
        win.insert(win.end(), mark.begin(), mark.end());
    }
    crdt::append_frame(win, lf::put, payload, seed);
    {
        const auto mark = lf::make_sync_mark(0x1234, win.size() - 1);
        win.insert(win.end(), mark.begin(), mark.end());
    }
    win.insert(win.end(), 4, std::byte{0x5a}); // a payload stored before its header
    win.insert(win.end(), 64, std::byte{0});
    return {seg, win};
}
