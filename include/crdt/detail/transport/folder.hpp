// crdt/detail/transport/folder.hpp -- the engine behind folder_transport:
// outbox files in a shared directory, one writer per file, every replica
// tailing the others' files.
//
// Directory layout (all names are made only of a-z, 0-9, '_', '-', '%',
// '~' and '.', so they survive case-insensitive file systems):
//   <e>.lock                  flock'ed by the live object named <e>; never
//                             deleted (deleting a lock file races with its
//                             next acquisition)
//   <e>.<g>.outbox            the outbox of generation <g> (16 lower-case hex
//                             digits, random, never 0) of the replica whose
//                             escaped name is <e> (file_layout::escape of
//                             crdt/storage/file_storage.hpp; it has no '.')
//   <e>.<g>.outbox.tmp.<pid>.<n>  an outbox being created (temp + rename)
// Every other name (a sync client's "conflicted copy", its temporaries,
// editor backups) does not parse and is ignored.
//
// Outbox file:
//   offset 0   "CRDTFOLD"
//   offset 8   u32 LE format version (1)
//   offset 12  one frame (crdt/codec/framing.hpp, type 1, seed 0) whose
//              payload is u64 LE generation | u64 LE salt | string name
//              (varint length + UTF-8); a reader ignores bytes after the name
//   then       frames of seed fold(salt) = salt ^ (salt >> 32):
//     type 2   message: u64 LE destination generation | string destination
//              name | the message bytes (the rest of the payload)
//     other    reserved; readers skip them
// A reader delivers a message frame when the destination is its own name and
// one of the generations its object has written (rotation keeps them), so a
// restarted replica never receives what was sent to its previous life.
//
// Reader invariants, per source (one other replica's outbox file):
//   `seen`    the identity (device, inode, size, mtime) of the file when it
//             was last processed; a source is processed again only when the
//             identity changes. This one rule implements "wait for the rest
//             of a torn tail" and "stop reading a corrupt file until it
//             changes".
//   `header`  the raw header bytes of the generation that joined (empty
//             before); a different header under the same file name is a new
//             generation: left, joined, read from the header's end.
//   `offset`  the position of the next frame to read; it only moves past
//             complete, valid frames, and before the frame's event is
//             handed out (an event callback that throws loses nothing else).
//   `peer`    the peer id announced by the joined event; set iff `header`
//             is non-empty.
// A vanished file is drained through the descriptor still open on it, then
// announced as left; its header and offset are remembered (a bounded list)
// so that a file a sync client deleted and restored resumes where it was.
//
// Directory listings: poll() lists the directory when its identity (inode,
// mtime) changed, when `rescan_interval` passed, and while the mtime of the
// last listing is less than 3 s old (timestamps come from a coarse clock, so
// a file created in the same tick as a listing would not change it).
//
// Complexity: poll() is one stat() of the directory and one per source, plus
// a listing when due, plus the new bytes (read in chunks of 1 MiB, or one
// frame when larger). send() is one write() (plus fdatasync with
// sync_appends). One open descriptor per source.
// Thread safety: none; the facade's object is used by one thread at a time.
// Exception safety: poll() reports bad files to the error sink and never
// throws for them; send() throws crdt::error(io_error) when its own file
// cannot be written, leaving the outbox as it was (a partial append is cut
// back, or the next send starts a new generation).
#pragma once

#include <crdt/codec/framing.hpp>
#include <crdt/codec/reader.hpp>
#include <crdt/codec/utf8.hpp>
#include <crdt/codec/writer.hpp>
#include <crdt/core/config.hpp>
#include <crdt/core/error.hpp>
#include <crdt/detail/storage/file.hpp>
#include <crdt/storage/file_storage.hpp>
#include <crdt/transport/concepts.hpp>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <deque>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

CRDT_BEGIN_NAMESPACE
namespace detail::transport {

namespace folder_format {

inline constexpr std::array<char, 8> magic = {'C', 'R', 'D', 'T', 'F', 'O', 'L', 'D'};
inline constexpr std::uint32_t version = 1;
inline constexpr std::size_t prefix_size = 12;
inline constexpr std::uint8_t header_record = 1;
inline constexpr std::uint8_t message_record = 2;
/// Longest replica name in bytes.
inline constexpr std::size_t max_name_bytes = 1024;
/// Header payload bound: two u64, a varint of at most 2 bytes, the name.
inline constexpr std::size_t max_header_payload = 16 + 2 + max_name_bytes;
inline constexpr std::size_t max_header_size = prefix_size + frame_header_size + max_header_payload;
/// Bytes a message frame's payload carries besides the message.
inline constexpr std::size_t message_overhead = 8 + 2 + max_name_bytes;
inline constexpr std::string_view outbox_suffix = ".outbox";
inline constexpr std::string_view lock_suffix = ".lock";

inline std::uint32_t seed_of(std::uint64_t salt) noexcept {
    return static_cast<std::uint32_t>(salt ^ (salt >> 32));
}

/// A decoded outbox header.
struct header {
    std::uint64_t generation = 0;
    std::uint64_t salt = 0;
    std::string name;
    std::size_t size = 0; ///< bytes from the start of the file to the first frame
};

/// Returns: the header bytes of an outbox.
inline std::vector<std::byte> make_header(std::uint64_t generation, std::uint64_t salt,
                                          std::string_view name) {
    std::vector<std::byte> out;
    for (const char c : magic) {
        out.push_back(static_cast<std::byte>(c));
    }
    out.resize(prefix_size);
    framing::put_u32(out.data() + 8, version);
    byte_writer w;
    w.fixed<std::uint64_t>(generation);
    w.fixed<std::uint64_t>(salt);
    w.string(name);
    append_frame(out, header_record, w.view(), 0);
    return out;
}

/// Returns: the payload of a message frame for `dest_name`/`dest_generation`.
inline std::vector<std::byte> make_message_payload(std::uint64_t dest_generation,
                                                   std::string_view dest_name,
                                                   std::span<const std::byte> message) {
    byte_writer w(8 + 2 + dest_name.size() + message.size());
    w.fixed<std::uint64_t>(dest_generation);
    w.string(dest_name);
    w.raw(message);
    return w.take();
}

inline std::string hex16(std::uint64_t v) {
    return storage::file_layout::hex(v, 16);
}

/// Returns: the file name of generation `generation` of escaped name `escaped`.
inline std::string outbox_name(std::string_view escaped, std::uint64_t generation) {
    std::string out(escaped);
    out += '.';
    out += hex16(generation);
    out += outbox_suffix;
    return out;
}

/// A file name that parses as an outbox name.
struct outbox_file_name {
    std::string escaped;
    std::uint64_t generation = 0;
};

/// Returns: the parts of an outbox file name, or nullopt for any other name.
inline std::optional<outbox_file_name> parse_outbox_name(std::string_view file) {
    if (!file.ends_with(outbox_suffix)) {
        return std::nullopt;
    }
    file.remove_suffix(outbox_suffix.size());
    if (file.size() < 18 || file[file.size() - 17] != '.') {
        return std::nullopt;
    }
    std::uint64_t gen = 0;
    for (const char c : file.substr(file.size() - 16)) {
        std::uint64_t d = 0;
        if (c >= '0' && c <= '9') {
            d = static_cast<std::uint64_t>(c - '0');
        } else if (c >= 'a' && c <= 'f') {
            d = static_cast<std::uint64_t>(c - 'a' + 10);
        } else {
            return std::nullopt;
        }
        gen = gen * 16 + d;
    }
    if (gen == 0) {
        return std::nullopt;
    }
    const auto escaped = file.substr(0, file.size() - 17);
    std::string decoded;
    if (storage::file_layout::unescape(escaped, decoded) ==
        storage::file_layout::name_kind::foreign) {
        return std::nullopt;
    }
    return outbox_file_name{std::string(escaped), gen};
}

/// Effects: decodes the header at the start of `bytes` (a prefix of the
///   file `what`).
/// Returns: the header, or nullopt when `bytes` ends inside it and what is
///   there so far is plausible (a file still being written or synced).
/// Throws: crdt::error naming `what` and the offset: bad_magic,
///   unsupported_version, checksum_mismatch, too_large, invalid_value, or
///   the decoding error of a malformed header payload.
inline std::optional<header> parse_header(std::span<const std::byte> bytes,
                                          const std::string& what) {
    const std::size_t m = std::min(bytes.size(), magic.size());
    for (std::size_t i = 0; i < m; ++i) {
        if (bytes[i] != static_cast<std::byte>(magic[i])) {
            throw error(errc::bad_magic, what + ": not a folder transport outbox", 0);
        }
    }
    if (bytes.size() < prefix_size) {
        return std::nullopt;
    }
    const auto v = framing::get_u32(bytes.data() + 8);
    if (v != version) {
        throw error(errc::unsupported_version,
                    what + ": outbox format version " + std::to_string(v) + " (this build reads " +
                        std::to_string(version) + ")",
                    8);
    }
    const auto rest = bytes.subspan(prefix_size);
    frame_view f;
    switch (parse_frame(rest, f, 0, max_header_payload)) {
    case frame_status::ok: break;
    case frame_status::incomplete: return std::nullopt;
    case frame_status::corrupt:
        if (framing::get_u32(rest.data()) > max_header_payload) {
            throw error(errc::too_large, what + ": outbox header longer than its limit",
                        prefix_size);
        }
        throw error(errc::checksum_mismatch, what + ": outbox header checksum mismatch",
                    prefix_size);
    }
    if (f.type != header_record) {
        throw error(errc::invalid_value,
                    what + ": outbox header of record type " + std::to_string(f.type), prefix_size);
    }
    header h;
    try {
        byte_reader r(f.payload, "outbox header");
        h.generation = r.fixed<std::uint64_t>();
        h.salt = r.fixed<std::uint64_t>();
        h.name = std::string(r.string());
    } catch (const error& e) {
        throw error(e.cause(), what + ": " + e.what(), prefix_size);
    }
    if (h.generation == 0 || h.name.empty() || h.name.size() > max_name_bytes) {
        throw error(errc::invalid_value,
                    what + ": outbox header with generation 0 or a name of " +
                        std::to_string(h.name.size()) + " bytes",
                    prefix_size);
    }
    h.size = prefix_size + f.size();
    return h;
}

} // namespace folder_format

/// The facade's policy resolved to values.
struct folder_params {
    std::size_t max_message_bytes = 0;
    std::uint64_t rotate_bytes = 0;
    std::chrono::milliseconds rescan_interval{0};
    bool sync_appends = false;
    std::chrono::milliseconds wait_granularity{0};
};

/// Counters kept by the engine (the facade exposes them as
/// folder_transport_stats).
struct folder_counters {
    std::uint64_t sent = 0;
    std::uint64_t received = 0;
    std::uint64_t bytes_sent = 0;
    std::uint64_t bytes_received = 0;
    std::uint64_t rotations = 0;
    std::uint64_t errors = 0;
};

/// A non-owning reference to the poll() callback.
struct event_sink {
    void* context = nullptr;
    void (*call)(void*, transport_event&&) = nullptr;
    void operator()(transport_event&& e) const { call(context, std::move(e)); }
};

/// What identifies the content of a file for "has it changed?".
struct file_identity {
    std::uint64_t dev = 0;
    std::uint64_t ino = 0;
    std::uint64_t size = 0;
    std::int64_t mtime_s = 0;
    std::int64_t mtime_ns = 0;
    bool regular = false;
    friend bool operator==(const file_identity&, const file_identity&) = default;
};

inline file_identity identity_of(const struct stat& st) noexcept {
    file_identity id;
    id.dev = static_cast<std::uint64_t>(st.st_dev);
    id.ino = static_cast<std::uint64_t>(st.st_ino);
    id.size = static_cast<std::uint64_t>(st.st_size);
#if defined(__APPLE__)
    id.mtime_s = static_cast<std::int64_t>(st.st_mtimespec.tv_sec);
    id.mtime_ns = static_cast<std::int64_t>(st.st_mtimespec.tv_nsec);
#else
    id.mtime_s = static_cast<std::int64_t>(st.st_mtim.tv_sec);
    id.mtime_ns = static_cast<std::int64_t>(st.st_mtim.tv_nsec);
#endif
    id.regular = S_ISREG(st.st_mode);
    return id;
}

/// Returns: 0 and the identity of `path`, or the errno of stat().
inline int stat_path(const std::filesystem::path& path, file_identity& out) noexcept {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) {
        return errno;
    }
    out = identity_of(st);
    return 0;
}

/// Returns: the identity of an open file.
inline file_identity stat_fd(int fd, const std::filesystem::path& path) {
    struct stat st {};
    if (::fstat(fd, &st) != 0) {
        storage::throw_io("fstat", path, errno);
    }
    return identity_of(st);
}

class folder_engine {
public:
    folder_engine(std::filesystem::path dir, std::string self, folder_params params)
        : self_(std::move(self)), params_(params) {
        namespace fs = std::filesystem;
        if (self_.empty() || self_.size() > folder_format::max_name_bytes) {
            throw error(errc::invalid_value,
                        "folder transport: replica name of " + std::to_string(self_.size()) +
                            " bytes (must be 1 to " +
                            std::to_string(folder_format::max_name_bytes) + ")");
        }
        if (auto bad = utf8::find_invalid(self_)) {
            throw error(errc::invalid_utf8, "folder transport: replica name is not valid UTF-8",
                        *bad);
        }
        check_params();
        std::error_code ec;
        dir_ = fs::absolute(dir, ec);
        if (ec) {
            dir_ = std::move(dir);
        }
        fs::create_directories(dir_, ec);
        if (ec) {
            throw error(errc::io_error,
                        "create folder transport directory " + dir_.string() + ": " + ec.message());
        }
        escaped_ = storage::file_layout::escape(self_);
        lock();
        remove_own_files();
        install(create_generation());
    }

    folder_engine(folder_engine&&) = default;
    folder_engine& operator=(folder_engine&&) = default;
    folder_engine(const folder_engine&) = delete;
    folder_engine& operator=(const folder_engine&) = delete;
    ~folder_engine() = default;

    const std::string& self() const noexcept { return self_; }
    const std::filesystem::path& directory() const noexcept { return dir_; }
    const std::filesystem::path& outbox_path() const noexcept { return out_path_; }
    const folder_counters& counters() const noexcept { return counters_; }

    void on_error(std::function<void(const error&)> sink) { sink_ = std::move(sink); }

    std::map<peer_id, std::string> peers() const {
        std::map<peer_id, std::string> out;
        for (const auto& [id, p] : peers_) {
            out.emplace(peer_id{id}, p.name);
        }
        return out;
    }

    send_status send(peer_id peer, std::span<const std::byte> bytes) {
        const auto it = peers_.find(peer.value);
        if (it == peers_.end()) {
            return send_status::closed;
        }
        if (bytes.size() > params_.max_message_bytes) {
            throw error(errc::too_large, "folder transport " + dir_.string() + ": message of " +
                                             std::to_string(bytes.size()) +
                                             " bytes above max_message_bytes (" +
                                             std::to_string(params_.max_message_bytes) + ")");
        }
        if (out_broken_) {
            rotate();
        }
        const auto payload =
            folder_format::make_message_payload(it->second.generation, it->second.name, bytes);
        append(make_frame(folder_format::message_record, payload, out_seed_));
        ++counters_.sent;
        counters_.bytes_sent += bytes.size();
        if (out_size_ > params_.rotate_bytes) {
            try {
                rotate();
            } catch (const error& e) {
                // The message is in the current outbox; rotation is retried
                // by the next send.
                report(nullptr, e);
            }
        }
        return send_status::accepted;
    }

    std::size_t poll(event_sink sink) {
        std::size_t count = 0;
        rescan(sink, count);
        for (auto it = sources_.begin(); it != sources_.end();) {
            it = service(it, sink, count);
        }
        if (buf_.capacity() > 4 * read_chunk) {
            buf_ = std::vector<std::byte>(); // after a large message
        }
        return count;
    }

    void wait(std::chrono::milliseconds d) {
        using clock = std::chrono::steady_clock;
        const auto deadline = clock::now() + d;
        for (;;) {
            if (changes_pending()) {
                return;
            }
            const auto now = clock::now();
            if (now >= deadline) {
                return;
            }
            const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now);
            std::this_thread::sleep_for(
                std::max(std::chrono::milliseconds(1), std::min(params_.wait_granularity, left)));
        }
    }

private:
    struct peer_info {
        std::string name;
        std::uint64_t generation = 0;
    };

    struct source {
        std::filesystem::path path;
        std::uint64_t name_generation = 0; // from the file name
        std::string escaped;               // from the file name
        storage::unique_fd fd;
        std::uint64_t fd_dev = 0;
        std::uint64_t fd_ino = 0;
        std::optional<file_identity> seen;
        std::vector<std::byte> header; // raw header of the joined generation
        std::string name;
        std::uint32_t seed = 0;
        std::optional<std::uint64_t> peer;
        std::uint64_t offset = 0;
        std::optional<std::pair<errc, std::uint64_t>> last_error;
    };

    struct remembered {
        std::vector<std::byte> header;
        std::uint64_t offset = 0;
    };

    struct generation_file {
        std::filesystem::path path;
        storage::unique_fd fd;
        std::uint64_t generation = 0;
        std::uint64_t salt = 0;
        std::uint64_t size = 0;
        std::uint64_t dev = 0;
        std::uint64_t ino = 0;
    };

    static constexpr std::size_t read_chunk = std::size_t{1} << 20;
    static constexpr std::size_t remembered_limit = 64;
    static constexpr std::size_t own_generations_limit = 16;

    void check_params() const {
        const auto limit = frame_max_payload - folder_format::message_overhead;
        if (params_.max_message_bytes == 0 || params_.max_message_bytes > limit) {
            throw error(errc::invalid_value, "folder transport: max_message_bytes must be 1 to " +
                                                 std::to_string(limit) + ", not " +
                                                 std::to_string(params_.max_message_bytes));
        }
        if (params_.rotate_bytes == 0) {
            throw error(errc::invalid_value, "folder transport: rotate_bytes must not be 0");
        }
    }

    // ---- writer ----------------------------------------------------------

    void lock() {
        const auto path = dir_ / (escaped_ + std::string(folder_format::lock_suffix));
        lock_fd_ = storage::open_file(path, O_RDWR | O_CREAT);
        int rc = 0;
        do {
            rc = ::flock(lock_fd_.get(), LOCK_EX | LOCK_NB);
        } while (rc != 0 && errno == EINTR);
        if (rc != 0) {
            const int err = errno;
            lock_fd_.reset();
            if (err == EWOULDBLOCK) {
                throw error(errc::conflict, "folder transport " + dir_.string() + ": the name \"" +
                                                self_ +
                                                "\" is already open in this directory "
                                                "(lock file " +
                                                path.string() + " is held)");
            }
            storage::throw_io("lock", path, err);
        }
    }

    // Deletes our older generations and the temporaries of dead processes.
    void remove_own_files() {
        namespace fs = std::filesystem;
        std::error_code ec;
        std::vector<fs::path> doomed;
        for (fs::directory_iterator it(dir_, ec), end; !ec && it != end; it.increment(ec)) {
            const auto name = it->path().filename().string();
            if (auto parsed = folder_format::parse_outbox_name(name)) {
                if (parsed->escaped == escaped_) {
                    doomed.push_back(it->path());
                }
            } else if (name.starts_with(escaped_ + ".") && storage::is_stray_temp(name)) {
                doomed.push_back(it->path());
            }
        }
        if (ec) {
            throw error(errc::io_error,
                        "list folder transport directory " + dir_.string() + ": " + ec.message());
        }
        for (const auto& p : doomed) {
            storage::unlink_file(p);
        }
    }

    generation_file create_generation() {
        generation_file g;
        do {
            g.generation = storage::random_u64();
        } while (g.generation == 0 || std::find(own_generations_.begin(), own_generations_.end(),
                                                g.generation) != own_generations_.end());
        g.salt = storage::random_u64();
        g.path = dir_ / folder_format::outbox_name(escaped_, g.generation);
        const auto header = folder_format::make_header(g.generation, g.salt, self_);
        storage::write_file_atomic(g.path, header, params_.sync_appends, params_.sync_appends);
        g.fd = storage::open_file(g.path, O_WRONLY | O_APPEND);
        const auto id = stat_fd(g.fd.get(), g.path);
        g.size = header.size();
        g.dev = id.dev;
        g.ino = id.ino;
        return g;
    }

    void install(generation_file g) {
        out_fd_ = std::move(g.fd);
        out_path_ = std::move(g.path);
        out_seed_ = folder_format::seed_of(g.salt);
        out_size_ = g.size;
        out_dev_ = g.dev;
        out_ino_ = g.ino;
        out_broken_ = false;
        own_generations_.push_back(g.generation);
        if (own_generations_.size() > own_generations_limit) {
            own_generations_.pop_front();
        }
    }

    // Starts a new generation and deletes the current one.
    void rotate() {
        auto g = create_generation();
        const auto old = out_path_;
        install(std::move(g));
        ++counters_.rotations;
        try {
            storage::unlink_file(old);
        } catch (const error& e) {
            report(nullptr, e);
        }
    }

    void append(const std::vector<std::byte>& frame) {
        const auto before = out_size_;
        try {
            storage::write_all(out_fd_.get(), frame, out_path_);
            if (params_.sync_appends) {
                storage::sync_fd(out_fd_.get(), out_path_, false);
            }
        } catch (...) {
            try {
                storage::truncate_fd(out_fd_.get(), before, out_path_);
            } catch (...) {
                out_broken_ = true; // a torn frame may remain: start afresh next time
            }
            throw;
        }
        out_size_ += frame.size();
    }

    // Checks that our outbox is still the file we write to (a sync client or
    // a user may have deleted, replaced or truncated it); if not, starts a
    // new generation.
    void check_own_outbox() {
        file_identity id;
        const int err = stat_path(out_path_, id);
        if (err == 0 && id.dev == out_dev_ && id.ino == out_ino_ && id.size == out_size_) {
            return;
        }
        if (err != 0 && err != ENOENT) {
            return; // transient; the next send or rescan tells
        }
        try {
            rotate();
        } catch (const error& e) {
            out_broken_ = true;
            report(nullptr, e);
        }
    }

    // ---- reader ----------------------------------------------------------

    void emit(event_sink sink, std::size_t& count, transport_event&& e) {
        ++count;
        sink(std::move(e));
    }

    void report(source* src, const error& e) {
        if (src != nullptr) {
            const auto key =
                std::pair{e.cause(), static_cast<std::uint64_t>(e.offset().value_or(0))};
            if (src->last_error == key) {
                return;
            }
            src->last_error = key;
        }
        ++counters_.errors;
        if (sink_) {
            sink_(e);
        }
    }

    // Runs the I/O step `fn` on `s`'s file. Returns: whether it succeeded;
    // if not, a shrinking file is looked at again by the next poll and any
    // other failure is reported (the file is skipped until it changes).
    template <class Fn>
    bool io_ok(source& s, Fn&& fn) {
        try {
            fn();
            return true;
        } catch (const error& e) {
            if (e.cause() == errc::truncated) {
                s.seen.reset();
            } else {
                report(&s, e);
            }
            return false;
        }
    }

    // Returns: whether poll() should list the directory: never listed, the
    // directory's identity changed, its last listing was "racy" (see
    // racy_mtime), `rescan_interval` passed, or it became unreadable.
    // `for_wait`: the question comes from wait(), which must not spin: an
    // interval of 0 and a racy listing count only after wait_granularity.
    bool listing_due(std::chrono::steady_clock::time_point now, file_identity& dir_now,
                     int& dir_err, bool for_wait) const {
        dir_err = stat_path(dir_, dir_now);
        if (!scanned_ || (dir_err == 0 && dir_now != dir_id_) || (dir_err != 0 && dir_ok_)) {
            return true;
        }
        const auto since = now - last_scan_;
        if (!for_wait) {
            return dir_racy_ || since >= params_.rescan_interval;
        }
        const auto at_least = std::max(params_.rescan_interval, params_.wait_granularity);
        return since >= at_least || (dir_racy_ && since >= params_.wait_granularity);
    }

    // Returns: whether a file system timestamp is too recent to prove that
    // nothing changed after it: directory and file times come from a coarse
    // clock (a few ms on Linux, 1 s on HFS+, 2 s on FAT), so a file created
    // in the same tick as the last listing leaves the mtime as it was.
    static bool racy_mtime(const file_identity& id) {
        const auto wall = std::chrono::system_clock::now().time_since_epoch();
        const auto mtime = std::chrono::seconds(id.mtime_s) + std::chrono::nanoseconds(id.mtime_ns);
        return mtime + std::chrono::seconds(3) >=
               std::chrono::duration_cast<std::chrono::nanoseconds>(wall);
    }

    void rescan(event_sink sink, std::size_t& count) {
        namespace fs = std::filesystem;
        const auto now = std::chrono::steady_clock::now();
        file_identity dir_now;
        int dir_err = 0;
        if (!listing_due(now, dir_now, dir_err, false)) {
            return;
        }
        scanned_ = true;
        last_scan_ = now;
        std::set<std::string> names;
        std::error_code ec;
        for (fs::directory_iterator it(dir_, ec), end; !ec && it != end; it.increment(ec)) {
            auto name = it->path().filename().string();
            const auto parsed = folder_format::parse_outbox_name(name);
            if (parsed && parsed->escaped != escaped_) {
                names.insert(std::move(name));
            }
        }
        if (ec || dir_err != 0) {
            if (dir_ok_) {
                dir_ok_ = false;
                report(nullptr,
                       error(errc::io_error,
                             "list folder transport directory " + dir_.string() + ": " +
                                 (ec ? ec.message() : std::string(std::strerror(dir_err)))));
            }
            return;
        }
        dir_ok_ = true;
        dir_id_ = dir_now;
        dir_racy_ = racy_mtime(dir_now);
        check_own_outbox();
        // New files first: if an event callback throws below, the rest of
        // the vanished files are found by service() (their stat() fails).
        for (const auto& name : names) {
            if (sources_.count(name) == 0) {
                const auto parsed = folder_format::parse_outbox_name(name);
                source s;
                s.path = dir_ / name;
                s.name_generation = parsed->generation;
                s.escaped = parsed->escaped;
                sources_.emplace(name, std::move(s));
            }
        }
        for (auto it = sources_.begin(); it != sources_.end();) {
            if (names.count(it->first) == 0) {
                it = vanish(it, sink, count);
            } else {
                ++it;
            }
        }
    }

    bool changes_pending() const {
        const auto now = std::chrono::steady_clock::now();
        file_identity dir_now;
        int dir_err = 0;
        if (listing_due(now, dir_now, dir_err, true)) {
            return true;
        }
        for (const auto& [name, s] : sources_) {
            file_identity id;
            if (stat_path(s.path, id) != 0 || !s.seen || id != *s.seen) {
                return true;
            }
        }
        return false;
    }

    using source_iterator = std::map<std::string, source>::iterator;

    // The file is gone: read what its open descriptor still holds, announce
    // left, remember where reading stopped.
    source_iterator vanish(source_iterator it, event_sink sink, std::size_t& count) {
        source& s = it->second;
        file_identity id;
        if (s.peer && s.fd && io_ok(s, [&] { id = stat_fd(s.fd.get(), s.path); }) &&
            id.size >= s.offset) {
            read_frames(s, id.size, sink, count);
        }
        if (s.peer) {
            peers_.erase(*s.peer);
            const peer_id gone{*s.peer};
            s.peer.reset();
            remember(it->first, s);
            const auto next = sources_.erase(it);
            transport_event e;
            e.what = transport_event::kind::left;
            e.peer = gone;
            emit(sink, count, std::move(e));
            return next;
        }
        return sources_.erase(it);
    }

    void remember(const std::string& file, const source& s) {
        if (gone_.count(file) == 0) {
            gone_order_.push_back(file);
        }
        gone_[file] = remembered{s.header, s.offset};
        while (gone_order_.size() > remembered_limit) {
            gone_.erase(gone_order_.front());
            gone_order_.pop_front();
        }
    }

    source_iterator service(source_iterator it, event_sink sink, std::size_t& count) {
        source& s = it->second;
        file_identity id;
        const int err = stat_path(s.path, id);
        if (err == ENOENT) {
            return vanish(it, sink, count);
        }
        if (err != 0) {
            report(&s,
                   error(errc::io_error, "stat " + s.path.string() + ": " + std::strerror(err)));
            return std::next(it);
        }
        if (s.seen && *s.seen == id) {
            return std::next(it);
        }
        s.seen = id; // even if what follows fails: retried when the file changes
        if (!id.regular) {
            return std::next(it);
        }
        if (!s.fd || id.dev != s.fd_dev || id.ino != s.fd_ino) {
            storage::unique_fd fd;
            if (!io_ok(s, [&] {
                    fd = storage::open_file(s.path, O_RDONLY, true);
                    if (fd) {
                        id = stat_fd(fd.get(), s.path);
                    }
                })) {
                return std::next(it);
            }
            if (!fd) {
                return vanish(it, sink, count);
            }
            s.fd = std::move(fd);
            s.fd_dev = id.dev;
            s.fd_ino = id.ino;
            s.seen = id;
        }
        try {
            read_source(s, id.size, sink, count);
        } catch (...) {
            s.seen.reset(); // an event callback threw: read the rest next time
            throw;
        }
        return std::next(it);
    }

    void read_source(source& s, std::uint64_t size, event_sink sink, std::size_t& count) {
        const auto what = s.path.string();
        std::vector<std::byte> head(static_cast<std::size_t>(
            std::min<std::uint64_t>(size, folder_format::max_header_size)));
        if (!io_ok(s, [&] { storage::pread_all(s.fd.get(), head, 0, s.path); })) {
            return;
        }
        std::optional<folder_format::header> h;
        try {
            h = folder_format::parse_header(head, what);
        } catch (const error& e) {
            report(&s, e);
            return;
        }
        if (!h) {
            if (s.peer) {
                report(&s, error(errc::truncated, what + ": outbox now ends inside its header",
                                 static_cast<std::size_t>(size)));
            }
            return; // still arriving
        }
        if (h->generation != s.name_generation ||
            storage::file_layout::escape(h->name) != s.escaped) {
            report(&s,
                   error(errc::invalid_value,
                         what + ": header of replica \"" + h->name + "\" generation " +
                             folder_format::hex16(h->generation) + " does not match the file name",
                         folder_format::prefix_size));
            return;
        }
        const std::span<const std::byte> raw(head.data(), h->size);
        if (s.peer && !std::equal(raw.begin(), raw.end(), s.header.begin(), s.header.end())) {
            // Same file name, another header: a new generation.
            peers_.erase(*s.peer);
            transport_event e;
            e.what = transport_event::kind::left;
            e.peer = peer_id{*s.peer};
            s.peer.reset();
            s.header.clear();
            emit(sink, count, std::move(e));
        }
        if (!s.peer) {
            s.header.assign(raw.begin(), raw.end());
            s.name = h->name;
            s.seed = folder_format::seed_of(h->salt);
            s.offset = h->size;
            s.last_error.reset();
            const auto file = s.path.filename().string();
            if (auto g = gone_.find(file); g != gone_.end()) {
                if (g->second.header == s.header) {
                    s.offset = g->second.offset;
                }
                gone_.erase(g);
                gone_order_.erase(std::find(gone_order_.begin(), gone_order_.end(), file));
            }
            const auto id = next_peer_++;
            s.peer = id;
            peers_[id] = peer_info{h->name, h->generation};
            transport_event e;
            e.what = transport_event::kind::joined;
            e.peer = peer_id{id};
            e.name = h->name;
            emit(sink, count, std::move(e));
        }
        if (size < s.offset) {
            report(&s, error(errc::truncated,
                             what + ": outbox is now " + std::to_string(size) +
                                 " bytes, shorter than the read position",
                             static_cast<std::size_t>(s.offset)));
            return;
        }
        read_frames(s, size, sink, count);
    }

    // Reads the complete frames between s.offset and `size`.
    void read_frames(source& s, std::uint64_t size, event_sink sink, std::size_t& count) {
        const auto limit = params_.max_message_bytes + folder_format::message_overhead;
        std::size_t need = 0;
        while (s.offset < size) {
            const auto avail = size - s.offset;
            const auto want = static_cast<std::size_t>(
                std::min<std::uint64_t>(avail, std::max(read_chunk, need)));
            buf_.resize(want);
            if (!io_ok(s, [&] { storage::pread_all(s.fd.get(), buf_, s.offset, s.path); })) {
                return;
            }
            const auto base = s.offset;
            const bool to_end = want == avail;
            std::size_t pos = 0;
            for (;;) {
                const auto rest = std::span<const std::byte>(buf_).subspan(pos);
                if (rest.empty()) {
                    break;
                }
                frame_view f;
                const auto st = parse_frame(rest, f, s.seed, limit);
                if (st == frame_status::incomplete) {
                    if (to_end) {
                        return; // a torn tail: wait for the rest
                    }
                    need = rest.size() < frame_header_size
                               ? frame_header_size
                               : frame_header_size + framing::get_u32(rest.data());
                    break;
                }
                const auto at = base + pos;
                if (st == frame_status::corrupt) {
                    corrupt_frame(s, rest, at, limit);
                    return;
                }
                pos += f.size();
                s.offset = base + pos;
                s.last_error.reset();
                if (f.type == folder_format::message_record) {
                    deliver(s, f, at, sink, count);
                }
            }
            if (pos == 0 && need == 0) {
                return;
            }
        }
    }

    void corrupt_frame(source& s, std::span<const std::byte> rest, std::uint64_t at,
                       std::size_t limit) {
        const auto what = s.path.string();
        const auto length = framing::get_u32(rest.data());
        const auto offset = static_cast<std::size_t>(at);
        if (length > limit) {
            report(&s, error(errc::too_large,
                             what + ": frame of " + std::to_string(length) +
                                 " bytes above the limit of " + std::to_string(limit) +
                                 " (max_message_bytes plus addressing)",
                             offset));
        } else if (static_cast<std::uint8_t>(rest[8]) == 0) {
            report(&s, error(errc::invalid_value, what + ": frame of type 0", offset));
        } else {
            report(&s, error(errc::checksum_mismatch, what + ": frame checksum mismatch", offset));
        }
    }

    void deliver(source& s, const frame_view& f, std::uint64_t at, event_sink sink,
                 std::size_t& count) {
        std::uint64_t dest_generation = 0;
        std::string_view dest_name;
        std::span<const std::byte> message;
        try {
            byte_reader r(f.payload, "message frame");
            dest_generation = r.fixed<std::uint64_t>();
            dest_name = r.string();
            message = r.raw(r.remaining());
        } catch (const error& e) {
            report(&s, error(e.cause(), s.path.string() + ": " + e.what(),
                             static_cast<std::size_t>(at)));
            return;
        }
        if (dest_name != self_ || std::find(own_generations_.begin(), own_generations_.end(),
                                            dest_generation) == own_generations_.end()) {
            return;
        }
        ++counters_.received;
        counters_.bytes_received += message.size();
        transport_event e;
        e.what = transport_event::kind::message;
        e.peer = peer_id{*s.peer};
        e.bytes.assign(message.begin(), message.end());
        emit(sink, count, std::move(e));
    }

    // Declared first so that it is released last.
    storage::unique_fd lock_fd_;
    std::filesystem::path dir_;
    std::string self_;
    std::string escaped_;
    folder_params params_;
    std::function<void(const error&)> sink_;
    folder_counters counters_;

    // Our outbox.
    storage::unique_fd out_fd_;
    std::filesystem::path out_path_;
    std::uint32_t out_seed_ = 0;
    std::uint64_t out_size_ = 0;
    std::uint64_t out_dev_ = 0;
    std::uint64_t out_ino_ = 0;
    bool out_broken_ = false;
    std::deque<std::uint64_t> own_generations_; // destinations we accept

    // The others' outboxes.
    std::uint64_t next_peer_ = 1;
    std::map<std::uint64_t, peer_info> peers_;
    std::map<std::string, source> sources_; // by file name
    std::map<std::string, remembered> gone_;
    std::deque<std::string> gone_order_;
    std::vector<std::byte> buf_;

    // Directory listing.
    bool scanned_ = false;
    bool dir_ok_ = true;
    bool dir_racy_ = false;
    std::chrono::steady_clock::time_point last_scan_{};
    file_identity dir_id_;
};

} // namespace detail::transport
CRDT_END_NAMESPACE
