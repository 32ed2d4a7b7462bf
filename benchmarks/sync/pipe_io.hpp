// benchmarks/sync/pipe_io.hpp -- whole-buffer read and write on a pipe, for
// the sync benchmarks that run one side in a forked child and pass a port
// or a report through a pipe.
#pragma once

#include <cerrno>
#include <cstddef>

#include <unistd.h>

namespace crdt_bench {

// Returns: whether all `n` bytes were written (retrying on EINTR).
inline bool write_all(int fd, const void* data, std::size_t n) {
    const auto* p = static_cast<const char*>(data);
    while (n > 0) {
        const ssize_t w = ::write(fd, p, n);
        if (w < 0 && errno == EINTR) {
            continue;
        }
        if (w <= 0) {
            return false;
        }
        p += w;
        n -= static_cast<std::size_t>(w);
    }
    return true;
}

// Returns: whether all `n` bytes were read (false at end of file or error).
inline bool read_all(int fd, void* data, std::size_t n) {
    auto* p = static_cast<char*>(data);
    while (n > 0) {
        const ssize_t r = ::read(fd, p, n);
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r <= 0) {
            return false;
        }
        p += r;
        n -= static_cast<std::size_t>(r);
    }
    return true;
}

} // namespace crdt_bench
