// crdt/detail/storage/fault.hpp -- a fault-injecting hook under the file
// helpers, for crash tests.
//
// Every I/O step of crdt/detail/storage/file.hpp (open, write, sync,
// truncate, rename, unlink, directory sync) first asks the active
// fault_plan, if any, whether it may run. A plan counts steps down; the step
// that reaches zero "crashes": a write first writes half of its bytes (a
// torn write), then simulated_crash is thrown and every later step also
// throws, so the adapter unwinds without touching the disk again. The plan
// tracks each file's size and its size at the last sync; drop_unsynced()
// then truncates every file to what had been synced, which is what a power
// loss does to appended data. Renames and directory entries are not rolled
// back (a limitation: the adapters sync the directory right after every
// rename they rely on).
//
// Invariants: `files_` maps a path to {current size, synced size};
// `open_` maps a descriptor to its path. One plan is active at a time
// (install()/uninstall()); steps from any thread are serialized by `mutex_`.
// While a plan is active, syncs are only recorded, not performed (see
// real_syncs()). Not for production use; it costs one relaxed atomic load per
// I/O step when no plan is installed.
#pragma once

#include <crdt/core/config.hpp>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <map>
#include <mutex>
#include <string>

#include <unistd.h>

CRDT_BEGIN_NAMESPACE
namespace detail::storage {

/// Thrown by an I/O step that a fault_plan crashed.
struct simulated_crash : std::exception {
    const char* what() const noexcept override { return "simulated crash"; }
};

class fault_plan {
public:
    /// Effects: a plan that crashes at I/O step number `crash_at` (0-based);
    ///   a negative value never crashes (it only counts steps).
    explicit fault_plan(long crash_at) : left_(crash_at) {}

    /// Returns: whether sync steps also reach the disk. They do not by
    ///   default: the plan itself tracks what was synced, and skipping the
    ///   real fsync keeps crash tests fast.
    bool real_syncs() const noexcept { return real_syncs_; }
    void set_real_syncs(bool on) noexcept { real_syncs_ = on; }

    /// Effects: makes this plan the active one.
    void install() noexcept { active().store(this); }
    /// Effects: no plan is active any more.
    static void uninstall() noexcept { active().store(nullptr); }

    static std::atomic<fault_plan*>& active() noexcept {
        static std::atomic<fault_plan*> plan{nullptr};
        return plan;
    }

    /// Returns: whether the plan has crashed.
    bool crashed() const {
        std::lock_guard lock(mutex_);
        return crashed_;
    }

    /// Returns: the number of steps seen so far.
    long steps() const {
        std::lock_guard lock(mutex_);
        return steps_;
    }

    /// Effects: truncates every tracked file to its size at its last sync.
    void drop_unsynced() {
        std::lock_guard lock(mutex_);
        for (const auto& [path, f] : files_) {
            if (f.size > f.synced) {
                if (::truncate(path.c_str(), static_cast<off_t>(f.synced)) != 0) {
                    // The file may have been unlinked since; nothing to drop then.
                }
            }
        }
    }

    // --- hooks called by file.hpp --------------------------------------------
    void on_open(int fd, const std::string& path, std::uint64_t size) {
        step();
        std::lock_guard lock(mutex_);
        open_[fd] = path;
        auto [it, inserted] = files_.try_emplace(path, file{size, size});
        if (!inserted && it->second.size != size) {
            it->second.size = size;
            if (it->second.synced > size) {
                it->second.synced = size;
            }
        }
    }
    // Returns how many of `n` bytes the write may write; throws after a torn write.
    std::size_t on_write(int fd, std::size_t n) {
        std::lock_guard lock(mutex_);
        if (crashed_) {
            throw simulated_crash{};
        }
        const bool hit = left_ >= 0 && steps_ == left_;
        ++steps_;
        if (hit) {
            crashed_ = true;
            return n / 2; // the caller writes this much, then calls crash_now()
        }
        if (auto it = open_.find(fd); it != open_.end()) {
            files_[it->second].size += n;
        }
        return n;
    }
    void after_torn_write(int fd, std::size_t written) {
        {
            std::lock_guard lock(mutex_);
            if (auto it = open_.find(fd); it != open_.end()) {
                files_[it->second].size += written;
            }
        }
        throw simulated_crash{};
    }
    void on_sync(int fd) {
        step();
        std::lock_guard lock(mutex_);
        if (auto it = open_.find(fd); it != open_.end()) {
            auto& f = files_[it->second];
            f.synced = f.size;
        }
    }
    void on_truncate(int fd, std::uint64_t size) {
        step();
        std::lock_guard lock(mutex_);
        if (auto it = open_.find(fd); it != open_.end()) {
            auto& f = files_[it->second];
            f.size = size;
            if (f.synced > size) {
                f.synced = size;
            }
        }
    }
    void on_rename(const std::string& from, const std::string& to) {
        step();
        std::lock_guard lock(mutex_);
        if (auto it = files_.find(from); it != files_.end()) {
            files_[to] = it->second;
            files_.erase(from);
        } else {
            files_.erase(to);
        }
        for (auto& [fd, path] : open_) {
            if (path == from) {
                path = to;
            }
        }
    }
    void on_unlink(const std::string& path) {
        step();
        std::lock_guard lock(mutex_);
        files_.erase(path);
    }
    void on_step() { step(); }
    void on_close(int fd) noexcept {
        std::lock_guard lock(mutex_);
        open_.erase(fd);
    }

private:
    struct file {
        std::uint64_t size = 0;
        std::uint64_t synced = 0;
    };

    void step() {
        std::lock_guard lock(mutex_);
        if (crashed_) {
            throw simulated_crash{};
        }
        const bool hit = left_ >= 0 && steps_ == left_;
        ++steps_;
        if (hit) {
            crashed_ = true;
            throw simulated_crash{};
        }
    }

    mutable std::mutex mutex_;
    long left_;
    bool real_syncs_ = false;
    long steps_ = 0;
    bool crashed_ = false;
    std::map<std::string, file> files_;
    std::map<int, std::string> open_;
};

inline fault_plan* active_fault_plan() noexcept {
    return fault_plan::active().load(std::memory_order_relaxed);
}

} // namespace detail::storage
CRDT_END_NAMESPACE
