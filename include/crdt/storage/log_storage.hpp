// crdt/storage/log_storage.hpp -- an append-only log storage adapter
// (Bitcask-style: values on disk in segment files, an index of the live keys
// in memory).
//
// Every write appends a framed record (length + masked CRC-32C + type,
// crdt/codec/framing.hpp) to the active segment; batches end with a commit
// record, so a batch is all-or-nothing also across a crash. Open takes the
// LOCK file (one process at a time), reads MANIFEST, deletes unlisted
// segment files, scans every listed segment, truncates a torn tail of the
// last one and rebuilds the index. A corrupt record anywhere else is a
// crdt::error naming the file and offset; recovery_mode::salvage skips it
// instead and reports what it skipped (last_recovery()). Segments rotate at
// options::segment_size; compact() rewrites the live data into new segments
// and swaps MANIFEST atomically (temp + fsync + rename + directory fsync),
// then deletes the old segments. The on-disk format is described in
// crdt/detail/storage/log_format.hpp and docs/storage.md.
//
// New segments are marked (format 2): a sync_mark follows every sync, so
// that recovery tells damage in data never synced (cut as a torn tail) from
// corruption of synced data (an error). Below durability full, where the
// file system keeps reserved blocks reserved (ext4, XFS, tmpfs), records
// reach the active segment through a mapped window of reserved blocks after
// its end (crdt/detail/storage/append_window.hpp: no system call per
// record, in the page cache on return like a write(2));
// options::mapped_appends turns that off.
//
// Durability: full syncs (fdatasync) every writing call; normal syncs on
// flush() and at rotation; none never syncs (see crdt/storage/durability.hpp).
//
// Capabilities: batches, the append log, CAS, watch, list_keys.
//
// Complexity: save/remove/append O(log n + size) plus one sync at full;
// load O(log n) plus one pread; load_range O(log n + m) preads; open reads
// every segment once (linear in the log's size); compact linear in the live
// data. Memory: the encoded key plus ~48 bytes per live key, 24 bytes per
// append-log entry; values stay on disk.
// Thread safety: every member may be called concurrently (a shared mutex:
// reads in parallel, writes one at a time). Exception safety: a writing call
// that throws has written nothing (a partly written record is cut off again)
// or a record that the next open discards; if that cut fails, or compact()
// fails midway, or a rotation fails once MANIFEST is being replaced, the
// instance refuses further writes (reopen it).
#pragma once

#include <crdt/codec/framing.hpp>
#include <crdt/codec/varint.hpp>
#include <crdt/codec/writer.hpp>
#include <crdt/core/config.hpp>
#include <crdt/core/error.hpp>
#include <crdt/detail/storage/append_window.hpp>
#include <crdt/detail/storage/file.hpp>
#include <crdt/detail/storage/log_format.hpp>
#include <crdt/detail/storage/log_scan.hpp>
#include <crdt/detail/storage/watch.hpp>
#include <crdt/storage/concepts.hpp>
#include <crdt/storage/durability.hpp>
#include <crdt/storage/key.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <shared_mutex>
#include <span>
#include <string>
#include <vector>

CRDT_BEGIN_NAMESPACE

/// How log_storage treats a corrupt record that is not a torn tail.
enum class recovery_mode : unsigned char {
    strict,  ///< throw crdt::error naming the file and offset (default)
    salvage, ///< skip to the next valid record and report the skipped bytes
};

/// What the last open had to repair.
struct log_recovery_report {
    std::uint64_t truncated_bytes = 0;                   ///< torn tail cut from the last segment
    std::vector<detail::storage::skipped_range> skipped; ///< salvage only
    std::size_t removed_files = 0; ///< unlisted segments and stray temporaries deleted
};

namespace detail::storage {

class log_engine {
public:
    struct options {
        durability level = durability::full;
        std::uint64_t segment_size = std::uint64_t{64} << 20;
        recovery_mode recovery = recovery_mode::strict;
        bool mapped_appends = true;
    };

    log_engine(const fs::path& dir, options opts) : dir_(dir), opts_(opts) {
        // Creates missing directories and syncs their parents: a new log
        // directory must survive a power loss with the writes acknowledged in it.
        make_directories(dir_, true);
        lock_ = lock_file(dir_ / "LOCK", false);
        recover();
    }
    log_engine(const log_engine&) = delete;
    log_engine& operator=(const log_engine&) = delete;
    /// Effects: cuts the active segment back to its last record (the zeros
    ///   after it are reserved space of an append window; recovery would
    ///   cut them too). Nothing is written after a crash (poisoned).
    ~log_engine() {
        if (poisoned_ || segments_.empty()) {
            return;
        }
        try {
            cut_to_size(active());
        } catch (...) {
            // Best effort: the next open cuts the zeros as a torn tail.
        }
    }

    // --- reads ---------------------------------------------------------------

    std::optional<storage_bytes> load(const storage_key& key) const {
        std::shared_lock lock(mutex_);
        const auto it = index_.find(encode_key(key));
        if (it == index_.end()) {
            return std::nullopt;
        }
        return read_value(it->second);
    }

    std::optional<versioned_value> load_versioned(const storage_key& key) const {
        std::shared_lock lock(mutex_);
        const auto it = index_.find(encode_key(key));
        if (it == index_.end()) {
            return std::nullopt;
        }
        return versioned_value{read_value(it->second), it->second.number};
    }

    template <class Fn>
    void for_range(const storage_key& prefix, Fn&& fn) const {
        std::shared_lock lock(mutex_);
        const auto p = encode_key(prefix);
        for (auto it = index_.lower_bound(p); it != index_.end() && it->first.starts_with(p);
             ++it) {
            fn(it->first, it->second);
        }
    }

    std::vector<key_value> load_range(const storage_key& prefix) const {
        std::vector<key_value> out;
        for_range(prefix, [&](const std::string& k, const location& loc) {
            out.push_back({decode_key(k), read_value(loc)});
        });
        return out;
    }

    std::vector<storage_key> list_keys(const storage_key& prefix) const {
        std::vector<storage_key> out;
        for_range(prefix,
                  [&](const std::string& k, const location&) { out.push_back(decode_key(k)); });
        return out;
    }

    std::vector<log_entry> read_since(std::uint64_t after) const {
        std::shared_lock lock(mutex_);
        std::vector<log_entry> out;
        for (auto it = log_.upper_bound(after); it != log_.end(); ++it) {
            out.push_back({it->first, read_value(it->second)});
        }
        return out;
    }

    // --- writes --------------------------------------------------------------

    void save(const storage_key& key, std::span<const std::byte> value) {
        std::unique_lock lock(mutex_);
        // The hot path: no allocation but the index entry of a new key.
        key_buf_.clear();
        encode_key_to(key, key_buf_);
        buf_.clear();
        const auto version = next_version_++;
        const auto value_off = add_put(log_format::put, key_buf_, version, value, seed_);
        const auto at = write_locked();
        const location loc{active_id_, at, static_cast<std::uint32_t>(buf_.size()), value_off,
                           version};
        const auto it = index_.lower_bound(key_buf_);
        if (it != index_.end() && it->first == key_buf_) {
            it->second = loc;
        } else {
            index_.emplace_hint(it, key_buf_, loc);
        }
        after_write_locked();
    }

    std::optional<std::uint64_t> cas(const storage_key& key, std::uint64_t expected,
                                     std::span<const std::byte> value) {
        std::unique_lock lock(mutex_);
        const auto k = encode_key(key);
        const auto it = index_.find(k);
        if ((it == index_.end() ? 0 : it->second.number) != expected) {
            return std::nullopt;
        }
        buf_.clear();
        const auto version = next_version_++;
        const auto value_off = add_put(log_format::put, k, version, value, seed_);
        const auto at = write_locked();
        index_[k] =
            location{active_id_, at, static_cast<std::uint32_t>(buf_.size()), value_off, version};
        after_write_locked();
        return version;
    }

    bool remove(const storage_key& key) {
        std::unique_lock lock(mutex_);
        const auto k = encode_key(key);
        const auto it = index_.find(k);
        if (it == index_.end()) {
            return false;
        }
        buf_.clear();
        append_frame(buf_, log_format::remove, as_bytes_view(k), seed_);
        write_locked();
        index_.erase(k);
        after_write_locked();
        return true;
    }

    /// Returns: the keys removed.
    std::vector<storage_key> remove_range(const storage_key& prefix) {
        write_batch batch;
        std::vector<storage_key> keys = list_keys(prefix);
        for (const auto& k : keys) {
            batch.remove(k);
        }
        commit(batch);
        return keys;
    }

    void commit(const write_batch& batch) {
        if (batch.empty()) {
            return;
        }
        std::unique_lock lock(mutex_);
        buf_.clear();
        struct applied {
            std::string key;
            std::optional<location> loc;
        };
        std::vector<applied> ops;
        ops.reserve(batch.size());
        for (const auto& op : batch.operations()) {
            auto k = encode_key(op.key);
            const auto start = buf_.size();
            if (op.value) {
                const auto version = next_version_++;
                const auto value_off = add_put(log_format::batch_put, k, version, *op.value, seed_);
                ops.push_back(
                    {std::move(k),
                     location{active_id_, start, static_cast<std::uint32_t>(buf_.size() - start),
                              value_off, version}});
            } else {
                append_frame(buf_, log_format::batch_remove, as_bytes_view(k), seed_);
                ops.push_back({std::move(k), std::nullopt});
            }
        }
        byte_writer w;
        w.varint(batch.size());
        append_frame(buf_, log_format::batch_commit, w.view(), seed_);
        const auto at = write_locked();
        for (auto& op : ops) {
            if (op.loc) {
                op.loc->record_offset += at;
                op.loc->segment = active_id_;
                index_[op.key] = *op.loc;
            } else {
                index_.erase(op.key);
            }
        }
        after_write_locked();
    }

    std::uint64_t append(std::span<const std::byte> value) {
        std::unique_lock lock(mutex_);
        buf_.clear();
        const auto seq = next_sequence_;
        const auto value_off = add_append(seq, value, seed_);
        const auto at = write_locked();
        ++next_sequence_;
        log_[seq] =
            location{active_id_, at, static_cast<std::uint32_t>(buf_.size()), value_off, seq};
        after_write_locked();
        return seq;
    }

    void flush() {
        std::unique_lock lock(mutex_);
        check_usable();
        if (syncs_on_flush(opts_.level) && dirty_) {
            sync_or_poison(active());
            dirty_ = false;
            mark_synced_locked();
        }
    }

    void compact() {
        std::unique_lock lock(mutex_);
        check_usable();
        poisoned_ = true; // until the new state is fully in place
        rotate_locked();
        const std::vector<std::uint64_t> old_ids(order_.begin(), order_.end() - 1);
        // Write the live data into new segments.
        std::vector<std::uint64_t> new_ids;
        std::map<std::string, location> new_index;
        std::map<std::uint64_t, location> new_log;
        std::vector<segment> outputs;
        auto start_output = [&] {
            segment s = create_segment_locked(next_segment_id_++);
            new_ids.push_back(s.id);
            outputs.push_back(std::move(s));
        };
        start_output();
        // Encodes one record for the current output (re-encoding it for a new
        // output when it does not fit) and writes it; returns its location.
        auto emit = [&](auto&& encode, std::uint64_t number) -> location {
            buf_.clear();
            auto value_off = encode(outputs.back().seed);
            if (outputs.back().size > log_format::header_size &&
                outputs.back().size + buf_.size() > opts_.segment_size) {
                finish_output(outputs.back());
                start_output();
                buf_.clear();
                value_off = encode(outputs.back().seed);
            }
            auto& cur = outputs.back();
            write_all(cur.fd.get(), buf_, cur.path);
            const auto at = cur.size;
            cur.size += buf_.size();
            return location{cur.id, at, static_cast<std::uint32_t>(buf_.size()), value_off, number};
        };
        for (const auto& [k, loc] : index_) {
            if (loc.segment == active_id_) {
                continue; // already in the newest segment
            }
            const auto value = read_value(loc);
            const auto version = loc.number;
            const std::string& key = k; // structured bindings cannot be captured (C++20)
            new_index[k] = emit(
                [&](std::uint32_t seed) {
                    return add_put(log_format::put, key, version, value, seed);
                },
                version);
        }
        for (const auto& [seq, loc] : log_) {
            if (loc.segment == active_id_) {
                continue;
            }
            const auto value = read_value(loc);
            const auto sequence = seq;
            new_log[seq] =
                emit([&](std::uint32_t seed) { return add_append(sequence, value, seed); }, seq);
        }
        finish_output(outputs.back());
        // Swap the manifest: new segments, then the active one.
        std::vector<std::uint64_t> order = new_ids;
        order.push_back(active_id_);
        write_manifest_locked(order);
        // The new state is durable; switch to it in memory.
        for (auto& s : outputs) {
            const auto id = s.id;
            segments_.emplace(id, std::move(s));
        }
        for (auto& [k, loc] : index_) {
            if (loc.segment != active_id_) {
                loc = new_index.at(k);
            }
        }
        for (auto& [seq, loc] : log_) {
            if (loc.segment != active_id_) {
                loc = new_log.at(seq);
            }
        }
        order_ = order;
        for (const auto id : old_ids) {
            const auto path = segments_.at(id).path;
            segments_.erase(id);
            unlink_file(path);
        }
        sync_dir(dir_);
        poisoned_ = false;
    }

    std::uint64_t disk_size() const {
        std::shared_lock lock(mutex_);
        std::uint64_t n = 0;
        for (const auto& [id, s] : segments_) {
            n += s.size;
        }
        return n;
    }

    std::size_t segment_count() const {
        std::shared_lock lock(mutex_);
        return order_.size();
    }

    std::size_t key_count() const {
        std::shared_lock lock(mutex_);
        return index_.size();
    }

    const log_recovery_report& report() const noexcept { return report_; }
    const fs::path& path() const noexcept { return dir_; }
    durability level() const noexcept { return opts_.level; }

    std::shared_ptr<watch_list> watchers() const { return watchers_; }
    const watch_list& watch_list_ref() const noexcept { return *watchers_; }

private:
    struct location {
        std::uint64_t segment = 0;
        std::uint64_t record_offset = 0;
        std::uint32_t record_size = 0;
        std::uint32_t value_offset = 0; // inside the record
        std::uint64_t number = 0;       // version or sequence
    };

    struct segment {
        std::uint64_t id = 0;
        fs::path path;
        unique_fd fd;
        std::uint64_t size = 0;
        std::uint32_t seed = 0;
        std::uint64_t salt = 0;
        // Marked segments (format 2, log_format.hpp) get a sync_mark after
        // every sync. With use_window, appends go through a mapped window
        // after the end; a failed mapping or append clears it for good:
        // then write(2) at `size`.
        bool marked = false;
        bool use_window = false;
        append_window window;
        bool extended = false; // the file may be longer than `size` (zeros)
    };

    segment& active() { return segments_.at(active_id_); }

    void check_usable() const {
        if (poisoned_) {
            throw error(errc::io_error,
                        "log " + dir_.string() + ": an earlier write failed; reopen the store");
        }
    }

    std::uint32_t add_put(log_format::record_type type, const std::string& k, std::uint64_t version,
                          std::span<const std::byte> value, std::uint32_t seed) {
        // The frame is built in place: header, then the payload (version,
        // key length, key, value), then the CRC over them.
        std::byte head[2 * varint::max_length];
        std::byte* const head_end =
            varint::encode(static_cast<std::uint64_t>(k.size()), varint::encode(version, head));
        const auto hn = static_cast<std::size_t>(head_end - head);
        const std::size_t payload = hn + k.size() + value.size();
        if (payload > frame_max_payload) {
            throw error(errc::length_out_of_range,
                        "log " + dir_.string() + ": value too large for one record (limit 1 GiB)");
        }
        const std::size_t start = buf_.size();
        buf_.resize(start + frame_header_size + payload);
        std::byte* const f = buf_.data() + start;
        std::byte* p = f + frame_header_size;
        std::memcpy(p, head, hn);
        p += hn;
        if (!k.empty()) {
            std::memcpy(p, k.data(), k.size());
            p += k.size();
        }
        if (!value.empty()) {
            std::memcpy(p, value.data(), value.size());
        }
        seal_frame(f, type, payload, seed);
        return static_cast<std::uint32_t>(frame_header_size + hn + k.size());
    }

    std::uint32_t add_append(std::uint64_t seq, std::span<const std::byte> value,
                             std::uint32_t seed) {
        scratch_.clear();
        scratch_.varint(seq);
        const auto value_off = static_cast<std::uint32_t>(frame_header_size + scratch_.size());
        scratch_.raw(value);
        if (scratch_.size() > frame_max_payload) {
            throw error(errc::length_out_of_range,
                        "log " + dir_.string() + ": value too large for one record (limit 1 GiB)");
        }
        append_frame(buf_, log_format::append, scratch_.view(), seed);
        return value_off;
    }

    // Writes buf_ at the end of the active segment; returns its offset.
    std::uint64_t write_locked() {
        check_usable();
        auto& s = active();
        const auto at = s.size;
        try {
            append_locked(s, buf_);
        } catch (const simulated_crash&) {
            poisoned_ = true;
            throw;
        } catch (...) {
            // Cut whatever part of the record reached the file, so later
            // records do not follow a torn one.
            cut_back_locked(s, at);
            throw;
        }
        s.size += buf_.size();
        if (syncs_each_write(opts_.level)) {
            sync_or_poison(s);
            dirty_ = false;
            mark_synced_locked();
        } else {
            dirty_ = true;
        }
        return at;
    }

    /// Syncs `s`. A failed sync poisons the instance: the kernel may have
    /// dropped the pages it could not write, and a later sync that
    /// succeeds would not bring them back (nor may a mark claim them).
    void sync_or_poison(segment& s) {
        try {
            sync_fd(s.fd.get(), s.path, false);
        } catch (...) {
            poisoned_ = true;
            throw;
        }
    }

    /// Appends whole frames at the end of `s`: through its window when it
    /// uses one and a window maps, else with write(2).
    void append_locked(segment& s, std::span<const std::byte> frames) {
        const auto at = s.size;
        if (s.use_window && !s.window.covers(at, frames.size())) {
            s.extended = true;
            // A window no larger than the room left before rotation.
            const std::uint64_t room = opts_.segment_size > at ? opts_.segment_size - at : 0;
            const auto window = static_cast<std::size_t>(
                std::min<std::uint64_t>(append_window::default_window, room));
            if (!s.window.map(s.fd.get(), at, frames.size(), window)) {
                s.use_window = false;
                if (::lseek(s.fd.get(), static_cast<off_t>(at), SEEK_SET) < 0) {
                    throw_io("seek", s.path, errno);
                }
            }
        }
        if (s.window.mapped()) {
            s.window.store_frames(s.fd.get(), at, frames);
        } else {
            write_all(s.fd.get(), frames, s.path);
        }
    }

    /// After a sync of a marked active segment: appends a sync_mark, which
    /// tells recovery that everything before it was on stable storage, and
    /// starts (does not wait for) its write-back. Best effort: a failure
    /// leaves a log without the mark, whose recovery is only more lenient
    /// about the tail.
    void mark_synced_locked() {
        auto& s = active();
        if (!s.marked) {
            return;
        }
        const auto at = s.size;
        const auto mark = log_format::make_sync_mark(s.salt, at);
        try {
            append_locked(s, mark);
            s.size += mark.size();
            if (!syncs_each_write(opts_.level)) {
                // At full the next write's sync takes the mark along; waiting
                // for an early write-back of it would only slow that sync.
                start_writeback(s.fd.get(), at, mark.size());
            }
        } catch (const simulated_crash&) {
            poisoned_ = true;
            throw;
        } catch (const error&) {
            cut_back_locked(s, at);
        }
    }

    /// After a failed append at `at`: cuts `s` back to `at` and goes on with
    /// write(2) there (the window unmapped first: a store into a truncated
    /// mapping would fault). If that fails too, the instance is poisoned.
    void cut_back_locked(segment& s, std::uint64_t at) noexcept {
        try {
            s.window.unmap();
            s.use_window = false;
            truncate_fd(s.fd.get(), at, s.path);
            if (::lseek(s.fd.get(), static_cast<off_t>(at), SEEK_SET) < 0) {
                poisoned_ = true;
            }
        } catch (...) {
            poisoned_ = true;
        }
    }

    /// Starts writing back [at, at + n) of `fd` without waiting (Linux).
    static void start_writeback(int fd, std::uint64_t at, std::size_t n) noexcept {
#if defined(__linux__)
        (void)::sync_file_range(fd, static_cast<off_t>(at), static_cast<off_t>(n),
                                SYNC_FILE_RANGE_WRITE);
#else
        (void)fd;
        (void)at;
        (void)n;
#endif
    }

    /// Unmaps the append window and cuts the file back to its records.
    static void cut_to_size(segment& s) {
        s.window.unmap();
        if (s.extended) {
            truncate_fd(s.fd.get(), s.size, s.path);
            s.extended = false;
        }
    }

    void after_write_locked() {
        if (active().size >= opts_.segment_size) {
            rotate_locked();
        }
    }

    bool window_allowed(int fd) const noexcept {
        return opts_.level != durability::full && opts_.mapped_appends &&
               append_window::reservation_holds(fd);
    }

    segment create_segment_locked(std::uint64_t id) {
        segment s;
        s.id = id;
        s.path = dir_ / log_format::segment_name(id);
        const auto salt = random_u64();
        s.seed = log_format::seed_of(salt);
        s.salt = salt;
        s.fd = open_file(s.path, O_RDWR | O_CREAT | O_EXCL);
        // Marked (format 2); appends through a window below full, where the
        // file system keeps reserved blocks reserved.
        s.marked = true;
        s.use_window = window_allowed(s.fd.get());
        const auto header = log_format::make_header(id, salt, log_format::marked_version);
        write_all(s.fd.get(), header, s.path);
        s.size = header.size();
        return s;
    }

    void finish_output(segment& s) {
        sync_fd(s.fd.get(), s.path, false);
    }

    void rotate_locked() {
        auto& old = active();
        // The old segment is complete: cut the zeros after its last record
        // and make it durable (at every level) before the manifest names a
        // newer one, so only the last segment can have a torn tail.
        cut_to_size(old);
        sync_fd(old.fd.get(), old.path, false);
        segment s = create_segment_locked(next_segment_id_++);
        sync_fd(s.fd.get(), s.path, false);
        auto order = order_;
        order.push_back(s.id);
        try {
            write_manifest_locked(order);
        } catch (...) {
            // MANIFEST may already name the new segment (renamed, directory
            // sync failed): writing on into the old one could put records
            // into a segment recovery treats as complete. Reopen instead.
            poisoned_ = true;
            throw;
        }
        order_ = std::move(order);
        active_id_ = s.id;
        seed_ = s.seed;
        dirty_ = false;
        const auto id = s.id;
        segments_.emplace(id, std::move(s));
    }

    void write_manifest_locked(const std::vector<std::uint64_t>& order) {
        byte_writer payload;
        payload.varint(next_segment_id_);
        payload.varint(order.size());
        for (const auto id : order) {
            payload.varint(id);
        }
        std::vector<std::byte> file;
        for (const char c : log_format::manifest_magic) {
            file.push_back(static_cast<std::byte>(c));
        }
        file.resize(12);
        detail::framing::put_u32(file.data() + 8, log_format::version);
        append_frame(file, 1, payload.view());
        write_file_atomic(dir_ / "MANIFEST", file, true, true);
    }

    storage_bytes read_value(const location& loc) const {
        const auto& s = segments_.at(loc.segment);
        std::vector<std::byte> rec(loc.record_size);
        pread_all(s.fd.get(), rec, loc.record_offset, s.path);
        frame_view f;
        if (parse_frame(rec, f, s.seed) != frame_status::ok) {
            throw error(errc::checksum_mismatch,
                        "log segment " + s.path.string() + ": record changed on disk since open",
                        static_cast<std::size_t>(loc.record_offset));
        }
        return storage_bytes(rec.begin() + loc.value_offset, rec.end());
    }

    std::vector<std::uint64_t> read_manifest(const storage_bytes& data) {
        const std::string file = (dir_ / "MANIFEST").string();
        if (data.size() < 12) {
            throw error(errc::truncated, "log manifest " + file + ": cut short", data.size());
        }
        for (std::size_t i = 0; i < 8; ++i) {
            if (data[i] != static_cast<std::byte>(log_format::manifest_magic[i])) {
                throw error(errc::bad_magic, "log manifest " + file + ": not a crdt log manifest",
                            0);
            }
        }
        const auto ver = detail::framing::get_u32(data.data() + 8);
        if (ver != log_format::version) {
            throw error(errc::unsupported_version,
                        "log manifest " + file + ": format version " + std::to_string(ver) +
                            " (this build reads version " + std::to_string(log_format::version) +
                            ")",
                        8);
        }
        frame_reader fr(std::span<const std::byte>(data).subspan(12), file);
        const auto f = fr.next();
        if (!f || f->type != 1) {
            throw error(errc::invalid_value, "log manifest " + file + ": no segment list", 12);
        }
        byte_reader r(f->payload, file);
        next_segment_id_ = r.varint();
        const auto n = r.varint_as<std::size_t>("segment count");
        if (n == 0 || n > r.remaining()) {
            throw error(errc::length_out_of_range, "log manifest " + file + ": bad segment count",
                        12);
        }
        std::vector<std::uint64_t> ids;
        for (std::size_t i = 0; i < n; ++i) {
            ids.push_back(r.varint());
            if (ids.back() >= next_segment_id_ ||
                std::count(ids.begin(), ids.end(), ids.back()) != 1) {
                throw error(errc::invalid_value, "log manifest " + file + ": bad segment id", 12);
            }
        }
        return ids;
    }

    void recover() {
        // Stray temporaries and the manifest.
        std::set<std::uint64_t> on_disk;
        for (const auto& entry : fs::directory_iterator(dir_)) {
            const auto name = entry.path().filename().string();
            if (name.find(temp_marker) != std::string::npos) {
                unlink_file(entry.path()); // we hold the lock: no live writer owns it
                ++report_.removed_files;
            } else if (const auto id = log_format::parse_segment_name(name)) {
                on_disk.insert(*id);
            }
        }
        const auto manifest = read_file(dir_ / "MANIFEST");
        if (!manifest) {
            // Creation writes the first segment, then MANIFEST. Segments that
            // hold no record are what a crash in between leaves: start over.
            // Segments with records and no MANIFEST mean MANIFEST was lost.
            for (const auto id : on_disk) {
                const auto seg = dir_ / log_format::segment_name(id);
                if (fs::file_size(seg) > log_format::header_size) {
                    throw error(errc::not_found,
                                "log " + dir_.string() +
                                    ": segment files exist but MANIFEST is missing");
                }
            }
            for (const auto id : on_disk) {
                unlink_file(dir_ / log_format::segment_name(id));
            }
            next_segment_id_ = 1;
            segment s = create_segment_locked(next_segment_id_++);
            sync_fd(s.fd.get(), s.path, false);
            write_manifest_locked({s.id});
            order_ = {s.id};
            active_id_ = s.id;
            seed_ = s.seed;
            const auto id = s.id;
            segments_.emplace(id, std::move(s));
            return;
        }
        order_ = read_manifest(*manifest);
        for (const auto id : on_disk) {
            if (std::find(order_.begin(), order_.end(), id) == order_.end()) {
                unlink_file(dir_ / log_format::segment_name(id));
                ++report_.removed_files;
            }
        }
        const bool salvage = opts_.recovery == recovery_mode::salvage;
        for (std::size_t i = 0; i < order_.size(); ++i) {
            const auto id = order_[i];
            const bool last = i + 1 == order_.size();
            segment s;
            s.id = id;
            s.path = dir_ / log_format::segment_name(id);
            s.fd = open_file(s.path, O_RDWR, true);
            if (!s.fd) {
                throw error(errc::not_found, "log " + dir_.string() + ": segment " +
                                                 s.path.filename().string() +
                                                 " listed in MANIFEST is missing");
            }
            const auto data = read_fd(s.fd.get(), s.path);
            const auto res =
                scan_segment(data, s.path.string(), last, salvage, [&](const scanned_record& rec) {
                    const location loc{id, rec.record_offset, rec.record_size, rec.value_offset,
                                       rec.number};
                    switch (rec.type) {
                    case log_format::put:
                        index_[std::string(rec.key)] = loc;
                        next_version_ = std::max(next_version_, rec.number + 1);
                        break;
                    case log_format::remove: index_.erase(std::string(rec.key)); break;
                    case log_format::append:
                        log_[rec.number] = loc;
                        next_sequence_ = std::max(next_sequence_, rec.number + 1);
                        break;
                    default: break;
                    }
                });
            if (res.segment_id != id) {
                throw error(errc::invalid_value,
                            "log segment " + s.path.string() + ": header names segment " +
                                std::to_string(res.segment_id),
                            16);
            }
            s.seed = log_format::seed_of(res.salt);
            s.salt = res.salt;
            s.marked = res.marked;
            s.use_window = last && s.marked && window_allowed(s.fd.get());
            s.size = data.size();
            if (res.torn_tail && last) {
                // Reserved zeros after the data are not counted as lost.
                report_.truncated_bytes = res.data_end - res.committed_end;
                truncate_fd(s.fd.get(), res.committed_end, s.path);
                sync_fd(s.fd.get(), s.path, false);
                s.size = res.committed_end;
            }
            report_.skipped.insert(report_.skipped.end(), res.skipped.begin(), res.skipped.end());
            if (last) {
                if (::lseek(s.fd.get(), static_cast<off_t>(s.size), SEEK_SET) < 0) {
                    throw_io("seek", s.path, errno);
                }
                active_id_ = id;
                seed_ = s.seed;
            }
            segments_.emplace(id, std::move(s));
        }
        if (report_.removed_files > 0) {
            sync_dir(dir_);
        }
        // A marked last segment: make what it holds durable and say so with
        // a mark, so that damage to it is reported, not cut as a tail.
        if (active().marked && opts_.level != durability::none) {
            sync_fd(active().fd.get(), active().path, false);
            mark_synced_locked();
        }
    }

    fs::path dir_;
    options opts_;
    lock_file lock_;
    mutable std::shared_mutex mutex_;
    std::map<std::string, location> index_;
    std::string key_buf_; // save()'s encoded key, reused
    std::map<std::uint64_t, location> log_;
    std::map<std::uint64_t, segment> segments_;
    std::vector<std::uint64_t> order_;
    std::uint64_t active_id_ = 0;
    std::uint32_t seed_ = 0;
    std::uint64_t next_segment_id_ = 1;
    std::uint64_t next_version_ = 1;
    std::uint64_t next_sequence_ = 1;
    bool dirty_ = false;
    bool poisoned_ = false;
    log_recovery_report report_;
    std::vector<std::byte> buf_;
    byte_writer scratch_;
    std::shared_ptr<watch_list> watchers_ = std::make_shared<watch_list>();
};

} // namespace detail::storage

/// An append-only log storage adapter (see the file comment).
class log_storage {
public:
    /// Options of a log store.
    struct options {
        crdt::durability durability = crdt::durability::full;
        /// A segment is closed and a new one started once it reaches this size.
        std::uint64_t segment_size = std::uint64_t{64} << 20;
        crdt::recovery_mode recovery = crdt::recovery_mode::strict;
        /// Below durability::full, append through a mapped window of
        /// reserved blocks (no system call per write; see docs/storage.md).
        /// Off: write(2) appends, and a failing disk is always a crdt::error,
        /// never SIGBUS.
        bool mapped_appends = true;
    };

    /// Effects: opens (creating if needed) the log in directory `dir` and
    ///   recovers it (see the file comment).
    /// Throws: crdt::error: io_error when another process holds the lock or
    ///   the directory is unusable; bad_magic, unsupported_version,
    ///   checksum_mismatch, truncated, not_found for a damaged log (naming
    ///   the file and offset).
    explicit log_storage(const std::filesystem::path& dir) : log_storage(dir, options{}) {}

    /// Effects: as above, with the given options.
    log_storage(const std::filesystem::path& dir, options opts)
        : impl_(std::make_unique<detail::storage::log_engine>(
              dir, detail::storage::log_engine::options{opts.durability, opts.segment_size,
                                                        opts.recovery, opts.mapped_appends})) {}

    /// Returns: the value under `key`, or nullopt. Complexity: O(log n) + one read.
    /// Throws: crdt::error(checksum_mismatch) if the record changed on disk.
    std::optional<storage_bytes> load(const storage_key& key) const { return impl_->load(key); }

    /// Effects: appends a put record (synced at durability::full).
    void save(const storage_key& key, std::span<const std::byte> value) {
        impl_->save(key, value);
        if (watched()) {
            notify({{storage_change::kind::saved, key, 0}});
        }
    }

    /// Effects: appends a remove record if `key` is present.
    void remove(const storage_key& key) {
        if (impl_->remove(key)) {
            if (watched()) {
                notify({{storage_change::kind::removed, key, 0}});
            }
        }
    }

    /// Returns: every entry under `prefix`, in key order.
    std::vector<key_value> load_range(const storage_key& prefix) const {
        return impl_->load_range(prefix);
    }

    /// Returns: every key under `prefix`, in key order, without reading values.
    std::vector<storage_key> list_keys(const storage_key& prefix) const {
        return impl_->list_keys(prefix);
    }

    /// Effects: removes every key under `prefix` in one atomic batch.
    void remove_range(const storage_key& prefix) {
        std::vector<storage_change> changes;
        for (auto& k : impl_->remove_range(prefix)) {
            changes.push_back({storage_change::kind::removed, std::move(k), 0});
        }
        notify(changes);
    }

    /// Effects: syncs the active segment (durability normal); no-op at full and none.
    void flush() { impl_->flush(); }

    /// Effects: writes the batch's records and a commit record in one write
    ///   (one sync at full). All or nothing, also across a crash.
    void commit(const write_batch& batch) {
        impl_->commit(batch);
        std::vector<storage_change> changes;
        for (const auto& op : batch.operations()) {
            changes.push_back(
                {op.value ? storage_change::kind::saved : storage_change::kind::removed, op.key,
                 0});
        }
        notify(changes);
    }

    /// Effects: appends `value` to the append log. Returns: its sequence (1, 2, ...).
    std::uint64_t append(std::span<const std::byte> value) {
        const auto seq = impl_->append(value);
        if (watched()) {
            notify({{storage_change::kind::appended, {}, seq}});
        }
        return seq;
    }

    /// Returns: the append-log entries after `after`, in order.
    std::vector<log_entry> read_since(std::uint64_t after) const {
        return impl_->read_since(after);
    }

    /// Returns: the value and its version under `key`, or nullopt.
    std::optional<versioned_value> load_versioned(const storage_key& key) const {
        return impl_->load_versioned(key);
    }

    /// Effects: stores `value` if the key's version is `expected` (0: absent).
    /// Returns: the new version, or nullopt when `expected` is stale.
    std::optional<std::uint64_t> cas(const storage_key& key, std::uint64_t expected,
                                     std::span<const std::byte> value) {
        auto v = impl_->cas(key, expected, value);
        if (v) {
            if (watched()) {
                notify({{storage_change::kind::saved, key, 0}});
            }
        }
        return v;
    }

    /// Effects: `fn` is called after each write through this instance.
    watch_handle watch(std::function<void(const storage_change&)> fn) {
        auto w = impl_->watchers();
        const auto id = w->add(std::move(fn));
        return watch_handle(w, id);
    }

    /// Effects: rewrites the live keys and the append log into new segments,
    ///   swaps MANIFEST atomically, deletes the old segments. Writers of
    ///   this instance wait meanwhile. Crash-safe at every step.
    /// Complexity: linear in the live data.
    void compact() { impl_->compact(); }

    /// Returns: the total size of the segment files in bytes.
    std::uint64_t disk_size() const { return impl_->disk_size(); }
    /// Returns: the number of live segments.
    std::size_t segment_count() const { return impl_->segment_count(); }
    /// Returns: the number of live keys.
    std::size_t size() const { return impl_->key_count(); }
    /// Returns: what open repaired or skipped.
    const log_recovery_report& last_recovery() const noexcept { return impl_->report(); }
    /// Returns: the directory.
    const std::filesystem::path& path() const noexcept { return impl_->path(); }

private:
    bool watched() const noexcept { return impl_->watch_list_ref().active(); }
    void notify(const std::vector<storage_change>& changes) const {
        if (watched()) {
            impl_->watch_list_ref().notify(changes);
        }
    }

    std::unique_ptr<detail::storage::log_engine> impl_;
};

CRDT_END_NAMESPACE
