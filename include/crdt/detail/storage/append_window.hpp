// crdt/detail/storage/append_window.hpp -- appends frames to a file through
// a shared memory mapping of the window after its end (log_storage's
// active segment below durability full: see log_format.hpp).
//
// A write(2) per record costs a system call; a store into a MAP_SHARED
// mapping of the file costs a memcpy, and lands in the same page cache, so
// the record survives a crash of the process exactly as a returned write(2)
// does, and fdatasync() makes it durable the same way. The window's disk
// blocks are reserved first (posix_fallocate), so a store does not fault for
// lack of space. Only file systems that honour such a reservation for later
// stores get a window (ext4, XFS, tmpfs: copy-on-write file systems such as
// btrfs or ZFS may still run out of space at writeback, which a mapping can
// only report as SIGBUS); elsewhere, and off Linux, map() returns false and
// the caller uses write(2). A failing disk (an I/O error on a page read back
// after eviction, a file system remounted read-only) also shows up as SIGBUS
// in a store, where write(2) would have returned an error: callers offer a
// way to turn windows off.
//
// Frames are stored payload first, header last, one frame after the other,
// with compiler fences in between: a crash of the process at any instant
// leaves whole frames, then at most one frame whose header is not (wholly)
// there, then zeros. The file is longer than the data while a window is
// mapped; the owner cuts the zeros (truncate) before it closes the file or
// marks it complete, and recovery cuts them as a torn tail.
//
// Every step asks the active fault_plan first (crdt/detail/storage/fault.hpp):
// reserving and mapping count as one step, a store as one write (which the
// plan may tear, in store order). Complexity: map() O(window) (the pages are
// populated); store_frames() O(n). Thread safety: none (the owner's lock).
// Exception safety: map() leaves the window unmapped on failure;
// store_frames() throws only simulated_crash (after the torn part was
// stored).
#pragma once

#include <crdt/codec/framing.hpp>
#include <crdt/core/config.hpp>
#include <crdt/detail/storage/fault.hpp>

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <utility>

#if defined(__linux__)
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/vfs.h>
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
        if (!reservation_holds(fd)) {
            return false;
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

    /// Requires: covers(pos, bytes.size()); `bytes` is whole frames
    ///   (crdt/codec/framing.hpp), back to back.
    /// Effects: copies `bytes` to file offset `pos` through the mapping, each
    ///   frame's payload before its header (see the file comment).
    /// Throws: simulated_crash when the fault plan tears this write (then
    ///   only its first part, in store order, was stored).
    void store_frames(int fd, std::uint64_t pos, std::span<const std::byte> bytes) {
        std::size_t allowed = bytes.size();
        auto* plan = active_fault_plan();
        if (plan != nullptr) {
            allowed = plan->on_write(fd, bytes.size());
        }
        std::byte* const base = base_ + (pos - off_);
        std::size_t budget = allowed;
        const auto put = [&](std::size_t at, std::size_t n) {
            const std::size_t k = n < budget ? n : budget;
            if (k != 0) {
                std::memcpy(base + at, bytes.data() + at, k);
                budget -= k;
            }
            std::atomic_signal_fence(std::memory_order_seq_cst);
        };
        for (std::size_t i = 0; i < bytes.size() && budget > 0;) {
            std::size_t size = bytes.size() - i;
            if (size >= frame_header_size) {
                const std::size_t len = detail::framing::get_u32(bytes.data() + i);
                size = std::min(size, frame_header_size + len);
            }
            if (size > frame_header_size) {
                put(i + frame_header_size, size - frame_header_size); // the payload
            }
            put(i, std::min(size, frame_header_size)); // then the header
            i += size;
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

    /// Returns: whether the file system of `fd` is one whose reserved
    ///   blocks stay reserved for stores through a mapping (ext4, XFS,
    ///   tmpfs). Always false off Linux.
    static bool reservation_holds(int fd) noexcept {
#if defined(__linux__)
        struct statfs st {};
        if (::fstatfs(fd, &st) != 0) {
            return false;
        }
        const auto type = static_cast<unsigned long>(st.f_type);
        return type == 0xEF53ul         // ext2/3/4
               || type == 0x58465342ul  // XFS
               || type == 0x01021994ul; // tmpfs
#else
        (void)fd;
        return false;
#endif
    }

private:
    std::byte* base_ = nullptr;
    std::uint64_t off_ = 0;
    std::size_t len_ = 0;
};

} // namespace detail::storage
CRDT_END_NAMESPACE
