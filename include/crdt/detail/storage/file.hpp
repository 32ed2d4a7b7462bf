// crdt/detail/storage/file.hpp -- POSIX file helpers shared by the file and
// log adapters: checked reads and writes, syncs, the crash-safe replace
// recipe (write temporary, fsync, rename, fsync directory), directory
// creation that survives a power loss, and lock files.
//
// Every failure throws crdt::error(errc::io_error) naming the operation, the
// path and the operating system's reason. Every step passes through the
// active fault_plan (crdt/detail/storage/fault.hpp) when a crash test
// installed one: each function here that changes a directory entry (open
// with O_CREAT, rename_file, unlink_file, make_directories, lock_file)
// reports the change, and sync_dir reports the directory sync that makes it
// durable. Directory changes made with other calls (std::filesystem) are
// invisible to that model, so adapters use these helpers.
//
// Thread safety: free functions; a unique_fd or lock_file is owned by one
// object. Exception safety: basic (a failed atomic replace leaves at most a
// stray temporary, which adapters delete at open).
#pragma once

#include <crdt/core/config.hpp>
#include <crdt/core/error.hpp>
#include <crdt/detail/storage/fault.hpp>
#include <crdt/storage/key.hpp>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <optional>
#include <random>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

CRDT_BEGIN_NAMESPACE
namespace detail::storage {

namespace fs = std::filesystem;

[[noreturn]] inline void throw_io(const std::string& op, const fs::path& path, int err) {
    throw error(errc::io_error, op + " " + path.string() + ": " + std::strerror(err));
}

/// An owned file descriptor.
class unique_fd {
public:
    unique_fd() = default;
    explicit unique_fd(int fd) noexcept : fd_(fd) {}
    unique_fd(unique_fd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
    unique_fd& operator=(unique_fd&& o) noexcept {
        if (this != &o) {
            reset();
            fd_ = std::exchange(o.fd_, -1);
        }
        return *this;
    }
    unique_fd(const unique_fd&) = delete;
    unique_fd& operator=(const unique_fd&) = delete;
    ~unique_fd() { reset(); }
    int get() const noexcept { return fd_; }
    explicit operator bool() const noexcept { return fd_ >= 0; }
    void reset() noexcept {
        if (fd_ >= 0) {
            if (auto* f = active_fault_plan()) {
                f->on_close(fd_);
            }
            ::close(fd_);
            fd_ = -1;
        }
    }

private:
    int fd_ = -1;
};

inline std::uint64_t fd_size(int fd, const fs::path& path) {
    struct stat st {};
    if (::fstat(fd, &st) != 0) {
        throw_io("fstat", path, errno);
    }
    return static_cast<std::uint64_t>(st.st_size);
}

/// Returns: the opened file, or an empty unique_fd when it does not exist
///   and `flags` lacks O_CREAT and `missing_ok`.
inline unique_fd open_file(const fs::path& path, int flags, bool missing_ok = false,
                           mode_t mode = 0644) {
    auto* plan = active_fault_plan();
    bool created = false;
    if (plan != nullptr) {
        created = plan->before_open(path.string(), (flags & O_CREAT) != 0);
    }
    int fd = -1;
    do {
        fd = ::open(path.c_str(), flags | O_CLOEXEC, mode);
    } while (fd < 0 && errno == EINTR);
    if (fd < 0) {
        if (missing_ok && errno == ENOENT) {
            return unique_fd{};
        }
        throw_io("open", path, errno);
    }
    unique_fd out(fd);
    if (plan != nullptr) {
        plan->on_open(fd, path.string(), fd_size(fd, path), created);
    }
    return out;
}

/// Effects: writes all of `data` at the file's current position.
inline void write_all(int fd, std::span<const std::byte> data, const fs::path& path) {
    std::size_t allowed = data.size();
    auto* plan = active_fault_plan();
    if (plan != nullptr) {
        allowed = plan->on_write(fd, data.size());
    }
    const auto* p = data.data();
    std::size_t left = allowed;
    while (left > 0) {
        const auto w = ::write(fd, p, left);
        if (w < 0) {
            if (errno == EINTR) {
                continue;
            }
            throw_io("write", path, errno);
        }
        p += w;
        left -= static_cast<std::size_t>(w);
    }
    if (plan != nullptr && allowed != data.size()) {
        plan->after_torn_write(fd, allowed);
    }
}

/// Effects: reads exactly `out.size()` bytes at `offset`.
/// Throws: crdt::error(truncated) if the file is shorter.
inline void pread_all(int fd, std::span<std::byte> out, std::uint64_t offset,
                      const fs::path& path) {
    std::size_t done = 0;
    while (done < out.size()) {
        const auto r =
            ::pread(fd, out.data() + done, out.size() - done, static_cast<off_t>(offset + done));
        if (r < 0) {
            if (errno == EINTR) {
                continue;
            }
            throw_io("read", path, errno);
        }
        if (r == 0) {
            throw error(errc::truncated, "read " + path.string() + ": file shorter than expected",
                        static_cast<std::size_t>(offset + done));
        }
        done += static_cast<std::size_t>(r);
    }
}

/// Returns: the whole content of an open file.
inline storage_bytes read_fd(int fd, const fs::path& path) {
    storage_bytes out;
    std::byte buf[65536];
    for (;;) {
        const auto r = ::read(fd, buf, sizeof buf);
        if (r < 0) {
            if (errno == EINTR) {
                continue;
            }
            throw_io("read", path, errno);
        }
        if (r == 0) {
            return out;
        }
        out.insert(out.end(), buf, buf + r);
    }
}

/// Returns: the content of `path`, or nullopt if it does not exist.
inline std::optional<storage_bytes> read_file(const fs::path& path) {
    auto fd = open_file(path, O_RDONLY, true);
    if (!fd) {
        return std::nullopt;
    }
    return read_fd(fd.get(), path);
}

/// Effects: flushes the file's data (and, with `metadata`, its metadata) to
///   stable storage. On macOS uses F_FULLFSYNC, which also flushes the
///   drive's cache.
inline void sync_fd(int fd, const fs::path& path, bool metadata = true) {
    if (auto* f = active_fault_plan()) {
        f->on_sync(fd);
        if (!f->real_syncs()) {
            return;
        }
    }
#if defined(__APPLE__)
    (void)metadata;
    if (::fcntl(fd, F_FULLFSYNC) == 0) {
        return;
    }
    if (::fsync(fd) != 0) {
        throw_io("fsync", path, errno);
    }
#else
    const int rc = metadata ? ::fsync(fd) : ::fdatasync(fd);
    if (rc != 0) {
        throw_io(metadata ? "fsync" : "fdatasync", path, errno);
    }
#endif
}

/// Effects: makes the directory entries of `dir` durable (after a create,
///   rename or unlink in it).
inline void sync_dir(const fs::path& dir) {
    if (auto* f = active_fault_plan()) {
        f->on_sync_dir(dir.string());
        if (!f->real_syncs()) {
            return;
        }
    }
    unique_fd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!fd) {
        throw_io("open directory", dir, errno);
    }
    if (::fsync(fd.get()) != 0 && errno != EINVAL) {
        throw_io("fsync directory", dir, errno);
    }
}

inline void truncate_fd(int fd, std::uint64_t size, const fs::path& path) {
    if (auto* f = active_fault_plan()) {
        f->on_truncate(fd, size);
    }
    if (::ftruncate(fd, static_cast<off_t>(size)) != 0) {
        throw_io("truncate", path, errno);
    }
}

/// Effects: renames `from` to `to`, replacing `to` if it exists. The
///   change is durable once the directory (both, when they differ) is synced.
inline void rename_file(const fs::path& from, const fs::path& to) {
    auto* plan = active_fault_plan();
    std::string backup;
    if (plan != nullptr) {
        backup = plan->before_rename(from.string(), to.string());
    }
    if (::rename(from.c_str(), to.c_str()) != 0) {
        const int err = errno;
        if (plan != nullptr) {
            plan->abandon(backup);
        }
        throw_io("rename to " + to.string() + " from", from, err);
    }
    if (plan != nullptr) {
        plan->on_rename(from.string(), to.string(), backup);
    }
}

/// Returns: whether the file existed. Effects: unlinks it; durable once
///   its directory is synced.
inline bool unlink_file(const fs::path& path) {
    auto* plan = active_fault_plan();
    std::string backup;
    if (plan != nullptr) {
        backup = plan->before_unlink(path.string());
    }
    if (::unlink(path.c_str()) != 0) {
        const int err = errno;
        if (plan != nullptr) {
            plan->abandon(backup);
        }
        if (err == ENOENT) {
            return false;
        }
        throw_io("unlink", path, err);
    }
    if (plan != nullptr) {
        plan->on_unlink(path.string(), backup);
    }
    return true;
}

/// Effects: creates `dir` and its missing ancestors (like mkdir -p). With
///   `sync_parents`, syncs the parent of every directory it had to create
///   (also of one that another thread or process created meanwhile, whose
///   creator may not have synced it yet), so the new directories survive a
///   power loss.
/// Returns: the parents of those directories, outermost first: what a caller
///   that defers syncs (durability::normal) syncs later. Empty when `dir`
///   existed.
/// Throws: crdt::error(io_error) naming the component that cannot be created
///   or is not a directory.
/// Complexity: one stat when `dir` exists; else a stat, a mkdir and (with
///   `sync_parents`) a directory sync per missing component.
inline std::vector<fs::path> make_directories(const fs::path& dir, bool sync_parents) {
    fs::path p = dir.lexically_normal();
    if (!p.has_filename() && p.has_parent_path() && p != p.root_path()) {
        p = p.parent_path(); // "a/b/" names "a/b"
    }
    std::vector<fs::path> missing; // innermost first
    for (;;) {
        struct stat st {};
        if (::stat(p.c_str(), &st) == 0) {
            if (!S_ISDIR(st.st_mode)) {
                throw_io("create directory", p, ENOTDIR);
            }
            break;
        }
        if (errno != ENOENT) {
            throw_io("create directory", p, errno);
        }
        missing.push_back(p);
        auto parent = p.parent_path();
        if (parent.empty() || parent == p) {
            break;
        }
        p = std::move(parent);
    }
    std::vector<fs::path> changed;
    for (auto it = missing.rbegin(); it != missing.rend(); ++it) {
        auto* plan = active_fault_plan();
        if (plan != nullptr) {
            plan->before_mkdir(it->string());
        }
        if (::mkdir(it->c_str(), 0755) == 0) {
            if (plan != nullptr) {
                plan->on_mkdir(it->string());
            }
        } else {
            const int err = errno;
            struct stat st {};
            if (err != EEXIST || ::stat(it->c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
                throw_io("create directory", *it, err == EEXIST ? ENOTDIR : err);
            }
        }
        fs::path parent = it->parent_path();
        if (parent.empty()) {
            parent = ".";
        }
        if (sync_parents) {
            sync_dir(parent);
        }
        changed.push_back(std::move(parent));
    }
    return changed;
}

/// Returns: a random 64-bit value (different in every process and call).
inline std::uint64_t random_u64() {
    static std::atomic<std::uint64_t> counter{0};
    thread_local std::mt19937_64 rng([] {
        std::random_device rd;
        const auto t =
            static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
        return (static_cast<std::uint64_t>(rd()) << 32) ^ rd() ^ t ^
               (static_cast<std::uint64_t>(::getpid()) << 20);
    }());
    return rng() ^ (counter.fetch_add(1, std::memory_order_relaxed) * 0x9e3779b97f4a7c15ull);
}

/// The marker in the names of temporary files: "<name>.tmp.<pid>.<random>".
inline constexpr std::string_view temp_marker = ".tmp.";

/// Returns: a fresh temporary name next to `target`.
inline fs::path temp_path_for(const fs::path& target) {
    fs::path p = target;
    p += std::string(temp_marker) + std::to_string(::getpid()) + "." +
         std::to_string(random_u64() & 0xffffffffffffull);
    return p;
}

/// Returns: whether `name` is a temporary left by a process that is gone
///   (a temporary of a live process, possibly a concurrent writer, is kept).
inline bool is_stray_temp(const std::string& name) {
    const auto at = name.rfind(temp_marker);
    if (at == std::string::npos) {
        return false;
    }
    const auto rest = name.substr(at + temp_marker.size());
    const auto dot = rest.find('.');
    if (dot == std::string::npos || dot == 0) {
        return true; // not ours, but a temporary all the same
    }
    pid_t pid = 0;
    for (std::size_t i = 0; i < dot; ++i) {
        if (rest[i] < '0' || rest[i] > '9') {
            return true;
        }
        pid = pid * 10 + (rest[i] - '0');
    }
    if (pid == ::getpid()) {
        return false;
    }
    return ::kill(pid, 0) != 0 && errno == ESRCH;
}

/// Effects: replaces `target` with `data` atomically: write a temporary in
///   the same directory, sync it (if `sync_file`), rename it over `target`,
///   sync the directory (if `sync_directory`). A reader or a process crash
///   sees the old content or the new, never a mix; so does a power loss
///   when `sync_file` is set.
inline void write_file_atomic(const fs::path& target, std::span<const std::byte> data,
                              bool sync_file, bool sync_directory) {
    const auto tmp = temp_path_for(target);
    {
        auto fd = open_file(tmp, O_WRONLY | O_CREAT | O_EXCL);
        try {
            write_all(fd.get(), data, tmp);
            if (sync_file) {
                sync_fd(fd.get(), tmp, false);
            }
        } catch (const simulated_crash&) {
            throw;
        } catch (...) {
            fd.reset();
            ::unlink(tmp.c_str());
            throw;
        }
    }
    try {
        rename_file(tmp, target);
    } catch (const simulated_crash&) {
        throw;
    } catch (...) {
        ::unlink(tmp.c_str());
        throw;
    }
    if (sync_directory) {
        sync_dir(target.parent_path());
    }
}

/// An exclusive advisory lock (flock) on a file, released on destruction or
/// when the process dies. Locks held through different open() calls
/// exclude each other also within one process.
class lock_file {
public:
    lock_file() = default;

    /// Effects: opens (creating) `path` and locks it; when `wait` is false
    ///   and another holder has it, throws.
    /// Throws: crdt::error(io_error) when the lock is held elsewhere (wait ==
    ///   false) or the file cannot be opened.
    lock_file(const fs::path& path, bool wait) : path_(path) {
        auto* plan = active_fault_plan();
        bool created = false;
        if (plan != nullptr) {
            created = plan->before_open(path.string(), true);
        }
        int fd = -1;
        do {
            fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
        } while (fd < 0 && errno == EINTR);
        if (fd < 0) {
            throw_io("open lock file", path, errno);
        }
        fd_ = unique_fd(fd);
        if (plan != nullptr) {
            plan->on_open(fd, path.string(), fd_size(fd, path), created);
        }
        int rc = 0;
        do {
            rc = ::flock(fd, LOCK_EX | (wait ? 0 : LOCK_NB));
        } while (rc != 0 && errno == EINTR);
        if (rc != 0) {
            const int err = errno;
            if (err == EWOULDBLOCK) {
                throw error(errc::io_error, "lock " + path.string() +
                                                ": held by another process or handle (only one "
                                                "writer may open this store)");
            }
            throw_io("lock", path, err);
        }
    }

    bool locked() const noexcept { return static_cast<bool>(fd_); }

private:
    fs::path path_;
    unique_fd fd_;
};

} // namespace detail::storage
CRDT_END_NAMESPACE
