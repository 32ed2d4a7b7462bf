// crdt/detail/storage/log_scan.hpp -- recovery of one log segment from its
// bytes, without I/O (log_storage's open and the fuzz harness share it).
//
// scan_segment() checks the header, then walks the frames. A record is
// *committed* when it is not a batch record, or when the batch_commit that
// ends its batch is valid. `committed_end` is the offset just after the last
// committed record. At the first frame that is incomplete or corrupt:
//   - in the last segment, if the bad frame is a torn tail, the scan stops
//     and the caller truncates the file to committed_end. In a marked
//     segment (format 2, see log_format.hpp) it is one when no valid
//     sync_mark follows it: the damage lies in data that was never synced
//     (a crash's torn write, reserved zeros, a power-loss hole). In a format
//     1 segment it is one when it runs to or past the end of the file, or
//     everything from it to the end is zero bytes;
//   - otherwise it is corruption: crdt::error naming the file and offset,
//     unless salvage is on, in which case the scan resynchronizes at the next
//     offset where a valid frame starts, drops any open batch and records the
//     skipped range.
// Uncommitted batch records at the end are dropped (truncated in the last
// segment, corruption elsewhere).
#pragma once

#include <crdt/codec/framing.hpp>
#include <crdt/codec/reader.hpp>
#include <crdt/core/config.hpp>
#include <crdt/core/error.hpp>
#include <crdt/detail/storage/log_format.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

CRDT_BEGIN_NAMESPACE
namespace detail::storage {

/// A decoded, committed record handed to the scan's consumer.
struct scanned_record {
    log_format::record_type type; // put, remove or append (batch records arrive as put/remove)
    std::uint64_t record_offset;  // offset of the frame in the segment
    std::uint32_t record_size;    // header + payload
    std::uint32_t value_offset;   // offset of the value inside the frame (put, append)
    std::uint64_t number;         // version (put) or sequence (append)
    std::string_view key;         // encoded key (put, remove), pointing into the input
};

struct skipped_range {
    std::string file;
    std::uint64_t offset;
    std::uint64_t length;
};

struct scan_result {
    std::uint64_t segment_id = 0;
    std::uint64_t salt = 0;
    std::uint64_t committed_end = 0; ///< where the last segment is truncated to
    bool torn_tail = false;          ///< bytes after committed_end must be cut
    bool marked = false;             ///< format version 2 (see log_format.hpp)
    /// With a torn tail: the end of the bytes that count as lost (marked
    /// segments: just past the last non-zero byte; else the file's end).
    std::uint64_t data_end = 0;
    std::vector<skipped_range> skipped;
};

namespace log_scan_detail {

inline bool all_zero(std::span<const std::byte> s) {
    return std::all_of(s.begin(), s.end(), [](std::byte b) { return b == std::byte{0}; });
}

// The offset just past the last non-zero byte of `d` (0 when all zero).
inline std::size_t data_end(std::span<const std::byte> d) {
    std::size_t n = d.size();
    while (n > 0 && d[n - 1] == std::byte{0}) {
        --n;
    }
    return n;
}

// Where the bytes a torn tail loses end: a marked segment's reserved
// zeros after its data are not counted.
inline std::uint64_t lost_end(std::span<const std::byte> data, const scan_result& res) {
    if (!res.marked) {
        return data.size();
    }
    return std::max<std::uint64_t>(res.committed_end, data_end(data));
}

// Whether a valid sync_mark of this segment starts after `from`. Its type
// byte and salt are the same 9 bytes in every mark of the segment, so a
// linear search finds the candidates, with no parsing of what lies between
// (a torn payload can be megabytes of arbitrary bytes); a candidate counts
// only if its frame checks and it names its own offset (so a copy of the
// segment's bytes inside a value never counts).
inline bool sync_mark_after(std::span<const std::byte> data, std::size_t from, std::uint64_t salt) {
    std::byte pattern[9];
    pattern[0] = static_cast<std::byte>(log_format::sync_mark);
    log_format::put_u64(pattern + 1, salt);
    const std::size_t start = from + 1 + 8; // the type byte of a mark at from + 1
    if (start >= data.size()) {
        return false;
    }
    const std::boyer_moore_horspool_searcher searcher(std::begin(pattern), std::end(pattern));
    const auto* const last = data.data() + data.size();
    for (const auto* it = data.data() + start;;) {
        it = std::search(it, last, searcher);
        if (it == last) {
            return false;
        }
        const auto q = static_cast<std::size_t>(it - data.data()) - 8;
        frame_view f;
        if (parse_frame(data.subspan(q), f, log_format::seed_of(salt)) == frame_status::ok &&
            f.type == log_format::sync_mark && log_format::is_sync_mark(f.payload, salt, q)) {
            return true;
        }
        ++it;
    }
}

// Decodes a frame's payload into `out`. Throws crdt::error on a bad payload.
inline void decode_payload(const frame_view& f, std::uint64_t at, const std::string& file,
                           scanned_record& out) {
    byte_reader r(f.payload, file);
    try {
        switch (f.type) {
        case log_format::put:
        case log_format::batch_put: {
            out.type = log_format::put;
            out.number = r.varint();
            const auto klen = r.varint_as<std::size_t>("key length");
            if (klen > r.remaining()) {
                throw error(errc::length_out_of_range, file + ": key length past the record",
                            static_cast<std::size_t>(at));
            }
            out.key = std::string_view(reinterpret_cast<const char*>(f.payload.data() + r.offset()),
                                       klen);
            out.value_offset = static_cast<std::uint32_t>(frame_header_size + r.offset() + klen);
            return;
        }
        case log_format::remove:
        case log_format::batch_remove:
            out.type = log_format::remove;
            out.key =
                std::string_view(reinterpret_cast<const char*>(f.payload.data()), f.payload.size());
            return;
        case log_format::append:
            out.type = log_format::append;
            out.number = r.varint();
            out.value_offset = static_cast<std::uint32_t>(frame_header_size + r.offset());
            return;
        default:
            throw error(errc::invalid_value,
                        file + ": unknown record type " + std::to_string(f.type),
                        static_cast<std::size_t>(at));
        }
    } catch (const error& e) {
        if (e.offset() && *e.offset() == at) {
            throw;
        }
        throw error(e.cause(), file + ": bad record payload (" + e.what() + ")",
                    static_cast<std::size_t>(at));
    }
}

} // namespace log_scan_detail

/// Effects: validates the header of `data` and calls `consume(record)` for
///   every committed record, in order. See the file comment for torn tails,
///   corruption and salvage.
/// Throws: crdt::error (bad_magic, unsupported_version, checksum_mismatch,
///   truncated, invalid_value) naming `file` and the offset.
template <class Consume>
scan_result scan_segment(std::span<const std::byte> data, const std::string& file, bool is_last,
                         bool salvage, Consume&& consume) {
    namespace lf = log_format;
    scan_result res;
    if (data.size() < lf::header_size) {
        throw error(errc::truncated, "log segment " + file + ": header cut short", data.size());
    }
    for (std::size_t i = 0; i < 8; ++i) {
        if (data[i] != static_cast<std::byte>(lf::segment_magic[i])) {
            throw error(errc::bad_magic, "log segment " + file + ": not a crdt log segment", 0);
        }
    }
    const auto ver = detail::framing::get_u32(data.data() + 8);
    if (ver != lf::version && ver != lf::marked_version) {
        throw error(errc::unsupported_version,
                    "log segment " + file + ": format version " + std::to_string(ver) +
                        " (this build reads versions " + std::to_string(lf::version) + " and " +
                        std::to_string(lf::marked_version) + ")",
                    8);
    }
    res.marked = ver == lf::marked_version;
    if (detail::framing::get_u32(data.data() + 12) !=
        mask_crc(::crdt::crc32c(data.subspan(16, 16)))) {
        throw error(errc::checksum_mismatch, "log segment " + file + ": header checksum mismatch",
                    12);
    }
    res.segment_id = lf::get_u64(data.data() + 16);
    res.salt = lf::get_u64(data.data() + 24);
    const std::uint32_t seed = lf::seed_of(res.salt);

    struct pending_op {
        scanned_record rec;
    };
    std::vector<pending_op> batch;
    std::size_t pos = lf::header_size;
    res.committed_end = pos;
    while (pos < data.size()) {
        frame_view f;
        const auto rest = data.subspan(pos);
        const auto st = parse_frame(rest, f, seed);
        if (st != frame_status::ok) {
            bool torn = false;
            if (is_last) {
                if (res.marked) {
                    // Damage after the last sync mark lies in data never
                    // synced (a killed writer's last frame, a power-loss
                    // hole); a mark after it means it was synced.
                    torn = !log_scan_detail::sync_mark_after(data, pos, res.salt);
                } else if (st == frame_status::incomplete || log_scan_detail::all_zero(rest)) {
                    torn = true;
                } else if (rest.size() >= frame_header_size) {
                    const std::size_t len = detail::framing::get_u32(rest.data());
                    torn = len <= frame_max_payload && frame_header_size + len >= rest.size();
                }
            }
            if (torn) {
                res.torn_tail = true;
                res.data_end = log_scan_detail::lost_end(data, res);
                return res;
            }
            if (!salvage) {
                throw error(
                    st == frame_status::incomplete ? errc::truncated : errc::checksum_mismatch,
                    "log segment " + file + ": corrupt record before the end of the log", pos);
            }
            // Salvage: find the next offset where a valid frame starts.
            std::size_t next = pos + 1;
            for (; next + frame_header_size <= data.size(); ++next) {
                frame_view g;
                if (parse_frame(data.subspan(next), g, seed) == frame_status::ok) {
                    break;
                }
            }
            if (next + frame_header_size > data.size()) {
                next = data.size();
            }
            res.skipped.push_back({file, pos, next - pos});
            batch.clear();
            pos = next;
            res.committed_end = pos;
            if (pos == data.size()) {
                return res;
            }
            continue;
        }
        if (f.type == lf::sync_mark && res.marked && !lf::is_sync_mark(f.payload, res.salt, pos)) {
            if (!salvage) {
                throw error(errc::invalid_value, "log segment " + file + ": bad sync mark", pos);
            }
            res.skipped.push_back({file, pos, f.size()});
            pos += f.size();
            if (batch.empty()) {
                res.committed_end = pos;
            }
            continue;
        }
        if (f.type == lf::sync_mark && res.marked) {
            if (!batch.empty()) {
                if (!salvage) {
                    throw error(errc::invalid_value,
                                "log segment " + file + ": batch interrupted by a sync mark", pos);
                }
                res.skipped.push_back(
                    {file, batch.front().rec.record_offset, pos - batch.front().rec.record_offset});
                batch.clear();
            }
            pos += f.size();
            res.committed_end = pos;
            continue;
        }
        scanned_record rec{};
        rec.record_offset = pos;
        rec.record_size = static_cast<std::uint32_t>(f.size());
        if (f.type == lf::batch_commit) {
            byte_reader r(f.payload, file);
            std::uint64_t count = 0;
            try {
                count = r.varint();
            } catch (const error&) {
                count = ~std::uint64_t{0};
            }
            if (count != batch.size()) {
                if (!salvage) {
                    throw error(errc::invalid_value,
                                "log segment " + file + ": batch commit count does not match", pos);
                }
                res.skipped.push_back({file, pos, f.size()});
            } else {
                for (auto& op : batch) {
                    consume(op.rec);
                }
            }
            batch.clear();
            pos += f.size();
            res.committed_end = pos;
            continue;
        }
        try {
            log_scan_detail::decode_payload(f, pos, file, rec);
        } catch (const error&) {
            if (!salvage) {
                throw;
            }
            res.skipped.push_back({file, pos, f.size()});
            pos += f.size();
            if (batch.empty()) {
                res.committed_end = pos;
            }
            continue;
        }
        pos += f.size();
        if (f.type == lf::batch_put || f.type == lf::batch_remove) {
            batch.push_back({rec});
        } else {
            if (!batch.empty()) {
                if (!salvage) {
                    throw error(errc::invalid_value,
                                "log segment " + file + ": batch interrupted by another record",
                                static_cast<std::size_t>(rec.record_offset));
                }
                res.skipped.push_back({file, batch.front().rec.record_offset,
                                       rec.record_offset - batch.front().rec.record_offset});
                batch.clear();
            }
            consume(rec);
            res.committed_end = pos;
        }
    }
    if (!batch.empty()) {
        if (is_last) {
            res.torn_tail = true; // an uncommitted batch at the end: cut it
            res.data_end = log_scan_detail::lost_end(data, res);
        } else if (!salvage) {
            throw error(errc::truncated, "log segment " + file + ": batch without its commit",
                        static_cast<std::size_t>(batch.front().rec.record_offset));
        } else {
            res.skipped.push_back({file, res.committed_end, data.size() - res.committed_end});
        }
    }
    return res;
}

} // namespace detail::storage
CRDT_END_NAMESPACE
