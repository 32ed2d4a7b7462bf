// crdt/detail/storage/append_window.hpp -- appends to a file through a
// shared memory mapping of the window after its end (log_storage's segments).
//
// A write(2) per record costs a system call; a store into a MAP_SHARED
// mapping of the file costs a memcpy, and lands in the same page cache, so
// the record survives a crash of the process exactly as a returned write(2)
// does, and fdatasync() makes it durable the same way. The window's disk
// blocks are reserved first (posix_fallocate), so a store never faults for
// lack of space. A file system that cannot reserve blocks, or a platform
// other than Linux, gets no window: map() returns false and the caller keeps
// using write(2).
//
// The file is longer than the data while a window is mapped: the bytes after
// the last record are zeros, which log recovery treats as a torn tail and
// cuts. The owner cuts them itself (truncate) before it closes the file or
// marks it complete.
//
// Every step asks the active fault_plan first (crdt/detail/storage/fault.hpp):
// reserving and mapping count as one step, a store as one write (which the
// plan may tear). Complexity: map() O(window) (the pages are populated);
// store() O(n). Thread safety: none (the owner's lock). Exception safety:
// map() leaves the window unmapped on failure; store() throws only
// simulated_crash (after the torn part was stored).
#pragma once

#include <crdt/core/config.hpp>
#include <crdt/detail/storage/fault.hpp>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <utility>

#if defined(__linux__)
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>
#endif

CRDT_BEGIN_NAMESPACE
namespace detail::storage {

class append_window {
public:
    /// Bytes mapped at a time (more when one record needs more).
    static constexpr std::size_t default_window = std::size_t{1} << 20;

    append_window() = default;
    append_window(append_window&& o) noexcept
        : base_(std::exchange(o.base_, nullptr)), off_(o.off_), len_(o.len_) {}
    append_window& operator=(append_window&& o) noexcept {
        if (this != &o) {
            unmap();
            base_ = std::exchange(o.base_, nullptr);
            off_ = o.off_;
            len_ = o.len_;
        }
        return *this;
    }
    append_window(const append_window&) = delete;
    append_window& operator=(const append_window&) = delete;
    ~append_window() { unmap(); }

    /// Returns: whether a window is mapped.
    bool mapped() const noexcept { return base_ != nullptr; }

    /// Returns: whether the bytes [pos, pos + n) of the file lie in the window.
    bool covers(std::uint64_t pos, std::size_t n) const noexcept {
        return base_ != nullptr && pos >= off_ && pos - off_ + n <= len_;
    }

    /// Effects: unmaps the current window, reserves the blocks of a new one
    ///   that starts at the page holding `pos` and covers at least
    ///   [pos, pos + n) (and at least `window` bytes), extending the file, and
    ///   maps it read-write and shared.
    /// Returns: true; false when the platform or file system cannot reserve
    ///   blocks or map the file (nothing changed then but the file's length,
    ///   which recovery cuts back).
    /// Throws: simulated_crash from an active fault plan.
    bool map(int fd, std::uint64_t pos, std::size_t n, std::size_t window = default_window) {
        unmap();
#if defined(__linux__)
        if (auto* f = active_fault_plan()) {
            f->on_step();
        }
        const auto page = static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE));
        const std::uint64_t start = pos / page * page;
        std::uint64_t len = pos - start + n;
        len = len < window ? window : len;
        len = (len + page - 1) / page * page;
        if (::posix_fallocate(fd, static_cast<off_t>(start), static_cast<off_t>(len)) != 0) {
            return false;
        }
        void* p = ::mmap(nullptr, static_cast<std::size_t>(len), PROT_READ | PROT_WRITE,
                         MAP_SHARED | MAP_POPULATE, fd, static_cast<off_t>(start));
        if (p == MAP_FAILED) {
            return false;
        }
        base_ = static_cast<std::byte*>(p);
        off_ = start;
        len_ = static_cast<std::size_t>(len);
        return true;
#else
        (void)fd;
        (void)pos;
        (void)n;
        (void)window;
        return false;
#endif
    }

    /// Requires: covers(pos, bytes.size()).
    /// Effects: copies `bytes` to file offset `pos` through the mapping.
    /// Throws: simulated_crash when the fault plan tears this write (then
    ///   only its first part was stored).
    void store(int fd, std::uint64_t pos, std::span<const std::byte> bytes) {
        std::size_t allowed = bytes.size();
        auto* plan = active_fault_plan();
        if (plan != nullptr) {
            allowed = plan->on_write(fd, bytes.size());
        }
        if (allowed != 0) {
            std::memcpy(base_ + (pos - off_), bytes.data(), allowed);
        }
        if (plan != nullptr && allowed != bytes.size()) {
            plan->after_torn_write(fd, allowed);
        }
    }

    /// Effects: unmaps the window, if any (the data stays in the file).
    void unmap() noexcept {
#if defined(__linux__)
        if (base_ != nullptr) {
            ::munmap(base_, len_);
        }
#endif
        base_ = nullptr;
        off_ = 0;
        len_ = 0;
    }

private:
    std::byte* base_ = nullptr;
    std::uint64_t off_ = 0;
    std::size_t len_ = 0;
};

} // namespace detail::storage
CRDT_END_NAMESPACE
