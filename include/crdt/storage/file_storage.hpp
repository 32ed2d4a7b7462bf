// crdt/storage/file_storage.hpp -- a storage adapter that keeps one file per
// key in a directory tree, safe to share between processes and to put in a
// folder that a file-sync service (Dropbox, iCloud Drive, Syncthing) copies.
//
// Layout under the root directory:
//   FORMAT                      "crdt-file-storage 1\n"; checked at open
//   .cas.lock                   flock'ed around every cas()
//   data/<hh>/<s0>/<s1>/.../<sn>.v
//                               the value of key {s0, ..., sn}; <hh> is two hex
//                               digits of a hash of s0 (256 shards), and each
//                               <si> is the segment escaped: a-z, 0-9, '_' and
//                               '-' stay, every other byte becomes %XX (upper
//                               case, so names are unique also on case-
//                               insensitive file systems), the empty segment
//                               is "%", and a segment whose escape exceeds
//                               120 characters is "~" + 16 hex digits of its
//                               hash. Names that do not decode (a sync
//                               service's "conflicted copy", editor backups)
//                               are ignored.
// A value file is "CRDF" | u8 version 1 | one frame (crdt/codec/framing.hpp,
// type 1) whose payload is varint version | varint key length | encoded key
// | value. The frame's length and CRC-32C make a truncated or half-synced
// file a crdt::error(checksum_mismatch or truncated) naming the file, never
// a torn value; the embedded key is the authority for hashed names.
//
// Writes follow the crash-safe replace recipe: write "<name>.tmp.<pid>.<n>"
// in the same directory, fsync it, rename it over the target, fsync the
// directory (the syncs depend on the durability level). A directory that a
// write creates is made durable the same way: its parent is synced before
// the write is acknowledged (full) or at the next flush() (normal); open
// syncs the parents of the root and data directories it creates (except at
// none). The first write of a store into a directory that already existed
// also syncs the directories above it once (another process may have
// created it and not synced it yet). So a power loss cannot unlink a whole
// subtree of acknowledged values. At durability normal every directory's entries reach the disk on
// their own, so a power loss before flush() returns may lose any of the
// writes since the last flush, each key on its own (a newer write to one key
// may survive an older one to another), never a flushed one, never a torn
// value. Open deletes stray temporaries of processes that no longer run.
// Directories are never removed, so a concurrent writer never loses the
// directory it is writing into. cas() holds an exclusive flock on .cas.lock
// while it reads, compares and replaces, so of N processes racing with the
// same expected version exactly one wins; plain save() does not take the
// lock, so write a root pointer only through cas().
//
// Sharing: any number of processes and threads may use one root at once
// (L8 of crdt/storage/concepts.hpp); load_range skips files that vanish
// while it walks.
//
// Complexity: load/save/remove O(path depth) system calls plus the value
// size; load_range walks the subtree of the prefix (the whole tree for the
// empty prefix). Durability full costs two fsyncs per save (file and
// directory), plus one per directory the save creates, plus, on the first
// write of a store into a directory, one per level above it. Memory: the
// set of directories written to. Thread safety: every member may be called
// concurrently. Exception safety: a failed save leaves the old value (and at
// most a stray temporary); errors are crdt::error.
#pragma once

#include <crdt/codec/framing.hpp>
#include <crdt/codec/reader.hpp>
#include <crdt/codec/writer.hpp>
#include <crdt/core/config.hpp>
#include <crdt/core/error.hpp>
#include <crdt/detail/storage/file.hpp>
#include <crdt/storage/concepts.hpp>
#include <crdt/storage/durability.hpp>
#include <crdt/storage/key.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <functional>
#include <mutex>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

CRDT_BEGIN_NAMESPACE
namespace detail::storage::file_layout {

inline constexpr std::string_view format_line = "crdt-file-storage 1\n";
inline constexpr std::size_t max_escaped = 120;

inline std::uint64_t hash_segment(std::string_view s) noexcept {
    std::uint64_t h = 0xcbf29ce484222325ull;
    for (const char c : s) {
        h = (h ^ static_cast<unsigned char>(c)) * 0x100000001b3ull;
    }
    return h ^ (h >> 29);
}

inline std::string hex(std::uint64_t v, int digits) {
    static constexpr char d[] = "0123456789abcdef";
    std::string out(static_cast<std::size_t>(digits), '0');
    for (int i = digits - 1; i >= 0; --i) {
        out[static_cast<std::size_t>(i)] = d[v & 15];
        v >>= 4;
    }
    return out;
}

inline bool raw_char(char c) noexcept {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
}

/// Returns: the file-name form of one segment (see the file comment).
inline std::string escape(std::string_view seg) {
    if (seg.empty()) {
        return "%";
    }
    static constexpr char d[] = "0123456789ABCDEF";
    std::string out;
    for (const char c : seg) {
        if (raw_char(c)) {
            out += c;
        } else {
            const auto u = static_cast<unsigned char>(c);
            out += '%';
            out += d[u >> 4];
            out += d[u & 15];
        }
        if (out.size() > max_escaped) {
            return "~" + hex(hash_segment(seg), 16);
        }
    }
    return out;
}

enum class name_kind { plain, hashed, foreign };

/// Decodes a file-name component; `hashed` names cannot be decoded.
inline name_kind unescape(std::string_view name, std::string& out) {
    out.clear();
    if (name == "%") {
        return name_kind::plain;
    }
    if (name.size() == 17 && name[0] == '~') {
        return name_kind::hashed;
    }
    if (name.empty()) {
        return name_kind::foreign;
    }
    auto val = [](char c) -> int {
        if (c >= '0' && c <= '9') {
            return c - '0';
        }
        if (c >= 'A' && c <= 'F') {
            return c - 'A' + 10;
        }
        return -1;
    };
    for (std::size_t i = 0; i < name.size(); ++i) {
        const char c = name[i];
        if (raw_char(c)) {
            out += c;
        } else if (c == '%' && i + 2 < name.size() && val(name[i + 1]) >= 0 &&
                   val(name[i + 2]) >= 0) {
            const int v = val(name[i + 1]) * 16 + val(name[i + 2]);
            if (v < 128 && raw_char(static_cast<char>(v))) {
                return name_kind::foreign; // not our (unique) escape
            }
            out += static_cast<char>(v);
            i += 2;
        } else {
            return name_kind::foreign;
        }
    }
    return name_kind::plain;
}

inline std::string shard(std::string_view first_segment) {
    return hex(hash_segment(first_segment) & 0xff, 2);
}

} // namespace detail::storage::file_layout

/// A directory-of-files storage adapter (see the file comment).
class file_storage {
public:
    /// Options of a file store.
    struct options {
        crdt::durability durability = crdt::durability::full;
        /// Delete stray temporaries (of processes that are gone) at open.
        bool clean_on_open = true;
    };

    /// Effects: opens the store rooted at `root`, creating it if needed.
    /// Throws: crdt::error: io_error if the directory cannot be created or
    ///   read; bad_magic / unsupported_version if FORMAT names another
    ///   format or a newer version.
    explicit file_storage(const std::filesystem::path& root) : file_storage(root, options{}) {}

    /// Effects: as above, with the given options.
    file_storage(const std::filesystem::path& root, options opts)
        : root_(root), data_(root / "data"), opts_(opts) {
        namespace ds = detail::storage;
        std::error_code ec;
        ds::make_directories(data_, opts_.durability != durability::none);
        if (opts_.durability != durability::none) {
            // Another process may have created the root or data/ and not
            // synced their parents yet: do it once, so the writes this store
            // acknowledges cannot vanish with them.
            ds::sync_dir(root_);
            if (root_.has_parent_path()) {
                try {
                    ds::sync_dir(root_.parent_path());
                } catch (const error&) {
                    // A parent we may not read (permissions): nothing we can
                    // do about its entry; the store itself is still usable.
                }
            }
        }
        const auto fmt = root_ / "FORMAT";
        const auto existing = ds::read_file(fmt);
        if (!existing) {
            const bool sync = opts_.durability != durability::none;
            ds::write_file_atomic(fmt, as_bytes_view(ds::file_layout::format_line), sync, sync);
        } else {
            const std::string_view got(reinterpret_cast<const char*>(existing->data()),
                                       existing->size());
            constexpr std::string_view tag = "crdt-file-storage ";
            if (!got.starts_with(tag)) {
                throw error(errc::bad_magic,
                            "file store " + fmt.string() + ": not a crdt file store", 0);
            }
            if (got != ds::file_layout::format_line) {
                throw error(errc::unsupported_version,
                            "file store " + fmt.string() + ": layout \"" +
                                std::string(got.substr(0, got.find('\n'))) +
                                "\" (this build reads version 1)",
                            tag.size());
            }
        }
        // Fail early on a directory we cannot list.
        std::filesystem::directory_iterator probe(data_, ec);
        if (ec) {
            throw error(errc::io_error, "read file store " + data_.string() + ": " + ec.message());
        }
        if (opts_.clean_on_open) {
            clean_temporaries();
        }
    }

    /// Returns: the value under `key`, or nullopt.
    /// Throws: crdt::error(checksum_mismatch, truncated, bad_magic) naming the
    ///   file when it is torn or not a value file; io_error.
    std::optional<storage_bytes> load(const storage_key& key) const {
        auto v = read_value(path_of(key), &key);
        if (!v) {
            return std::nullopt;
        }
        return std::move(v->value.value);
    }

    /// Effects: stores `value` under `key` by atomic replace.
    void save(const storage_key& key, std::span<const std::byte> value) {
        write_value(key, detail::storage::random_u64() | 1, value);
    }

    /// Effects: deletes the key's file if present.
    void remove(const storage_key& key) {
        const auto p = path_of(key);
        if (detail::storage::unlink_file(p)) {
            sync_dir_after_write(p.parent_path());
        }
    }

    /// Returns: every entry under `prefix`, in key order.
    std::vector<key_value> load_range(const storage_key& prefix) const {
        std::vector<key_value> out;
        for (const auto& f : walk(prefix)) {
            if (auto v = read_value(f.path, nullptr)) {
                if (v->key.starts_with(prefix)) {
                    out.push_back({std::move(v->key), std::move(v->value.value)});
                }
            }
        }
        std::sort(out.begin(), out.end(),
                  [](const key_value& a, const key_value& b) { return a.key < b.key; });
        return out;
    }

    /// Returns: every key under `prefix`, in key order (reads only the files
    ///   whose names are hashed).
    std::vector<storage_key> list_keys(const storage_key& prefix) const {
        std::vector<storage_key> out;
        for (auto& f : walk(prefix)) {
            if (f.key) {
                out.push_back(std::move(*f.key));
            } else if (auto v = read_value(f.path, nullptr)) {
                if (v->key.starts_with(prefix)) {
                    out.push_back(std::move(v->key));
                }
            }
        }
        std::sort(out.begin(), out.end());
        return out;
    }

    /// Effects: deletes every key under `prefix` (not atomically).
    void remove_range(const storage_key& prefix) {
        std::set<std::filesystem::path> dirs;
        for (const auto& f : walk(prefix)) {
            if (detail::storage::unlink_file(f.path)) {
                dirs.insert(f.path.parent_path());
            }
        }
        for (const auto& d : dirs) {
            sync_dir_after_write(d);
        }
    }

    /// Effects: at durability::normal, syncs the directories changed since
    ///   the last flush (the files themselves were synced by save).
    ///   Concurrent flushes run one after another, so none returns before
    ///   the directories queued when it started are synced.
    /// Throws: crdt::error (io_error) from a directory sync; the directories
    ///   not yet synced stay queued for the next flush.
    void flush() {
        std::lock_guard flushing(flush_mutex_);
        std::set<std::filesystem::path> dirs;
        {
            std::lock_guard lock(dirty_mutex_);
            dirs.swap(dirty_dirs_);
        }
        if (!syncs_on_flush(opts_.durability)) {
            return;
        }
        for (auto it = dirs.begin(); it != dirs.end(); ++it) {
            try {
                detail::storage::sync_dir(*it);
            } catch (...) {
                std::lock_guard lock(dirty_mutex_);
                dirty_dirs_.insert(it, dirs.end());
                throw;
            }
        }
    }

    /// Returns: the value and its version (a random 64-bit token that
    ///   changes with every write), or nullopt.
    std::optional<versioned_value> load_versioned(const storage_key& key) const {
        auto v = read_value(path_of(key), &key);
        if (!v) {
            return std::nullopt;
        }
        return std::move(v->value);
    }

    /// Effects: under the store's CAS lock, stores `value` if the key's
    ///   version is `expected` (0: absent).
    /// Returns: the new version, or nullopt when `expected` is stale.
    std::optional<std::uint64_t> cas(const storage_key& key, std::uint64_t expected,
                                     std::span<const std::byte> value) {
        detail::storage::lock_file lock(root_ / ".cas.lock", true);
        const auto cur = read_value(path_of(key), &key);
        if ((cur ? cur->value.version : 0) != expected) {
            return std::nullopt;
        }
        std::uint64_t v = 0;
        do {
            v = detail::storage::random_u64() | 1;
        } while (v == expected);
        write_value(key, v, value);
        return v;
    }

    /// Returns: the root directory.
    const std::filesystem::path& path() const noexcept { return root_; }

    /// Returns: the file that holds `key`.
    std::filesystem::path path_of(const storage_key& key) const {
        CRDT_ASSERT(!key.empty());
        namespace fl = detail::storage::file_layout;
        auto p = data_ / fl::shard(key[0]);
        for (std::size_t i = 0; i + 1 < key.size(); ++i) {
            p /= fl::escape(key[i]);
        }
        p /= fl::escape(key[key.size() - 1]) + ".v";
        return p;
    }

private:
    struct loaded {
        storage_key key;
        versioned_value value;
    };
    struct found {
        std::filesystem::path path;
        std::optional<storage_key> key; // nullopt when a name is hashed
    };

    static storage_bytes encode_file(const storage_key& key, std::uint64_t version,
                                     std::span<const std::byte> value) {
        byte_writer payload(value.size() + 64);
        const auto k = encode_key(key);
        payload.varint(version);
        payload.varint(k.size());
        payload.raw(as_bytes_view(k));
        payload.raw(value);
        storage_bytes out = to_storage_bytes("CRDF");
        out.push_back(std::byte{1});
        append_frame(out, 1, payload.view());
        return out;
    }

    // Reads and checks a value file; nullopt when it does not exist.
    std::optional<loaded> read_value(const std::filesystem::path& p,
                                     const storage_key* expect) const {
        const auto data = detail::storage::read_file(p);
        if (!data) {
            return std::nullopt;
        }
        const std::string file = p.string();
        if (data->size() < 5 || std::memcmp(data->data(), "CRDF", 4) != 0) {
            throw error(data->size() < 5 ? errc::truncated : errc::bad_magic,
                        "file store value " + file + ": not a crdt value file (torn or foreign)",
                        0);
        }
        if ((*data)[4] != std::byte{1}) {
            throw error(errc::unsupported_version,
                        "file store value " + file + ": format version " +
                            std::to_string(static_cast<int>((*data)[4])),
                        4);
        }
        frame_view f;
        const auto body = std::span<const std::byte>(*data).subspan(5);
        const auto st = parse_frame(body, f);
        if (st != frame_status::ok || f.size() != body.size()) {
            throw error(st == frame_status::incomplete ? errc::truncated : errc::checksum_mismatch,
                        "file store value " + file +
                            ": torn or corrupt (a partial copy, or damaged on disk)",
                        5);
        }
        byte_reader r(f.payload, file);
        loaded out;
        out.value.version = r.varint();
        const auto kbytes = r.bytes();
        out.key = decode_key(
            std::string_view(reinterpret_cast<const char*>(kbytes.data()), kbytes.size()), file);
        if (expect != nullptr && out.key != *expect) {
            throw error(errc::invalid_value, "file store value " + file + ": holds key " +
                                                 out.key.to_string() + ", expected " +
                                                 expect->to_string());
        }
        const auto rest = f.payload.subspan(r.offset());
        out.value.value.assign(rest.begin(), rest.end());
        return out;
    }

    void write_value(const storage_key& key, std::uint64_t version,
                     std::span<const std::byte> value) {
        const auto p = path_of(key);
        const auto bytes = encode_file(key, version, value);
        // full: sync the file and the directory; normal: sync the file (so a
        // power loss can lose the rename but never leave a torn file) and
        // the directory at flush(); none: no sync.
        const bool sync_file = opts_.durability != durability::none;
        const bool sync_dir = syncs_each_write(opts_.durability);
        std::vector<std::filesystem::path> new_parents;
        for (int attempt = 0;; ++attempt) {
            try {
                // New directories are durable once their parents are synced:
                // now (full) or at flush() (normal).
                auto changed = detail::storage::make_directories(p.parent_path(), sync_dir);
                new_parents.insert(new_parents.end(), changed.begin(), changed.end());
                make_chain_durable(p.parent_path());
                detail::storage::write_file_atomic(p, bytes, sync_file, sync_dir);
                break;
            } catch (const error& e) {
                // Another process may remove a directory we just created
                // (only foreign tools do; crdt never removes directories).
                if (attempt >= 3 || std::filesystem::exists(p.parent_path())) {
                    throw;
                }
                (void)e;
            }
        }
        if (opts_.durability == durability::normal) {
            std::lock_guard lock(dirty_mutex_);
            dirty_dirs_.insert(p.parent_path());
            dirty_dirs_.insert(new_parents.begin(), new_parents.end());
        }
    }

    // The first write of this store into a directory also syncs every
    // directory between data/ and it (now at full, at flush() at normal): a
    // directory that another process created and has not synced yet would
    // otherwise take this write with it on a power loss. Once per directory.
    void make_chain_durable(const std::filesystem::path& dir) {
        if (opts_.durability == durability::none) {
            return;
        }
        {
            std::lock_guard lock(dirty_mutex_);
            if (durable_dirs_.contains(dir)) {
                return;
            }
        }
        std::vector<std::filesystem::path> chain; // the directories holding dir's entries
        for (auto q = dir; q != data_ && q.has_parent_path() && q.parent_path() != q;
             q = q.parent_path()) {
            chain.push_back(q.parent_path());
        }
        if (syncs_each_write(opts_.durability)) {
            for (const auto& c : chain) {
                detail::storage::sync_dir(c);
            }
        }
        std::lock_guard lock(dirty_mutex_);
        if (!syncs_each_write(opts_.durability)) {
            dirty_dirs_.insert(chain.begin(), chain.end());
        }
        durable_dirs_.insert(dir);
    }

    void sync_dir_after_write(const std::filesystem::path& dir) {
        if (syncs_each_write(opts_.durability)) {
            detail::storage::sync_dir(dir);
        } else if (opts_.durability == durability::normal) {
            std::lock_guard lock(dirty_mutex_);
            dirty_dirs_.insert(dir);
        }
    }

    // Collects the value files under `prefix` (tolerating concurrent removal).
    std::vector<found> walk(const storage_key& prefix) const {
        namespace fl = detail::storage::file_layout;
        std::vector<found> out;
        std::vector<std::string> segs;
        bool hashed = false;
        std::function<void(const std::filesystem::path&)> descend =
            [&](const std::filesystem::path& dir) {
                std::error_code ec;
                std::filesystem::directory_iterator it(dir, ec);
                if (ec) {
                    if (ec == std::errc::no_such_file_or_directory ||
                        ec == std::errc::not_a_directory) {
                        return;
                    }
                    throw error(errc::io_error,
                                "read directory " + dir.string() + ": " + ec.message());
                }
                for (; it != std::filesystem::directory_iterator(); it.increment(ec)) {
                    if (ec) {
                        break;
                    }
                    const auto name = it->path().filename().string();
                    std::error_code tec;
                    const bool is_dir = it->is_directory(tec);
                    if (tec) {
                        continue; // vanished
                    }
                    std::string seg;
                    if (is_dir) {
                        const auto kind = fl::unescape(name, seg);
                        if (kind == fl::name_kind::foreign) {
                            continue;
                        }
                        const bool was = hashed;
                        hashed = hashed || kind == fl::name_kind::hashed;
                        segs.push_back(seg);
                        descend(it->path());
                        segs.pop_back();
                        hashed = was;
                    } else if (name.size() > 2 && name.ends_with(".v")) {
                        const auto kind = fl::unescape(name.substr(0, name.size() - 2), seg);
                        if (kind == fl::name_kind::foreign) {
                            continue;
                        }
                        found f{it->path(), std::nullopt};
                        if (!hashed && kind == fl::name_kind::plain) {
                            auto all = segs;
                            all.push_back(seg);
                            f.key = storage_key(std::move(all));
                        }
                        out.push_back(std::move(f));
                    }
                }
            };
        if (prefix.empty()) {
            std::error_code ec;
            std::filesystem::directory_iterator it(data_, ec);
            if (ec) {
                throw error(errc::io_error,
                            "read directory " + data_.string() + ": " + ec.message());
            }
            for (; it != std::filesystem::directory_iterator(); it.increment(ec)) {
                if (ec) {
                    break;
                }
                if (it->path().filename().string().size() == 2) {
                    descend(it->path());
                }
            }
        } else {
            // The file of the prefix itself, then the subtree below it.
            const auto self = path_of(prefix);
            auto dir = self.parent_path() / fl::escape(prefix[prefix.size() - 1]);
            for (std::size_t i = 0; i < prefix.size(); ++i) {
                hashed = hashed || fl::escape(prefix[i]).starts_with("~");
                segs.push_back(prefix[i]);
            }
            std::error_code ec;
            if (std::filesystem::is_regular_file(self, ec)) {
                out.push_back({self, hashed ? std::nullopt : std::optional<storage_key>(prefix)});
            }
            descend(dir);
        }
        return out;
    }

    void clean_temporaries() {
        std::error_code ec;
        for (auto it = std::filesystem::recursive_directory_iterator(root_, ec);
             !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
            const auto name = it->path().filename().string();
            if (detail::storage::is_stray_temp(name)) {
                std::error_code rec;
                std::filesystem::remove(it->path(), rec);
            }
        }
    }

    std::filesystem::path root_;
    std::filesystem::path data_;
    options opts_;
    mutable std::mutex dirty_mutex_;
    std::set<std::filesystem::path> dirty_dirs_;
    std::set<std::filesystem::path> durable_dirs_; // see make_chain_durable
    std::mutex flush_mutex_;                       // one flush() at a time
};

CRDT_END_NAMESPACE
