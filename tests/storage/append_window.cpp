// The mapped append window under log_storage's segments
// (crdt/detail/storage/append_window.hpp): stores land in the file, the
// zeros after the last record never survive a clean close, records survive a
// crash of the process, and segments that are not last carry no zeros.
#include <crdt/detail/storage/append_window.hpp>
#include <crdt/detail/storage/file.hpp>
#include <crdt/storage/log_storage.hpp>

#include <catch2/catch.hpp>

#include "helpers.hpp"

#include <string>
#include <vector>

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

using namespace storage_test;
using crdt::log_storage;
using crdt::storage_key;
namespace fs = std::filesystem;
namespace ds = crdt::detail::storage;

namespace {

std::vector<fs::path> segment_files(const fs::path& dir) {
    std::vector<fs::path> out;
    for (const auto& e : fs::directory_iterator(dir)) {
        if (e.path().extension() == ".log") {
            out.push_back(e.path());
        }
    }
    std::sort(out.begin(), out.end());
    return out;
}

std::uint64_t total_size(const std::vector<fs::path>& files) {
    std::uint64_t n = 0;
    for (const auto& f : files) {
        n += fs::file_size(f);
    }
    return n;
}

} // namespace

TEST_CASE("append_window: stores reach the file through the mapping") {
    temp_dir dir;
    const auto path = dir / "f";
    auto fd = ds::open_file(path, O_RDWR | O_CREAT | O_EXCL);
    ds::write_all(fd.get(), bytes("header"), path);
    ds::append_window w;
    CHECK_FALSE(w.mapped());
    CHECK_FALSE(w.covers(6, 1));
    if (!w.map(fd.get(), 6, 10, 4096)) {
        WARN("this file system cannot reserve blocks: log_storage uses write(2) here");
        return;
    }
    CHECK(w.mapped());
    CHECK(w.covers(6, 10));
    CHECK(w.covers(6, 4096 - 6));
    CHECK_FALSE(w.covers(6, 4096 - 5));
    CHECK(fs::file_size(path) >= 4096);
    w.store(fd.get(), 6, bytes("0123456789"));
    std::vector<std::byte> got(16);
    ds::pread_all(fd.get(), got, 0, path);
    CHECK(got == bytes("header0123456789"));
    // A second window past the first, starting mid-page and larger than the
    // default: the file grows to cover it.
    const std::uint64_t at = 4096 + 100;
    const std::string big(10000, 'x');
    REQUIRE(w.map(fd.get(), at, big.size(), 4096));
    CHECK_FALSE(w.covers(6, 1));
    CHECK(w.covers(at, big.size()));
    w.store(fd.get(), at, bytes(big));
    std::vector<std::byte> back(big.size());
    ds::pread_all(fd.get(), back, at, path);
    CHECK(back == bytes(big));
    w.unmap();
    CHECK_FALSE(w.mapped());
}

TEST_CASE("log_storage: a clean close leaves no zeros after the last record") {
    temp_dir dir;
    std::uint64_t logical = 0;
    {
        log_storage s(dir.path(), {crdt::durability::none});
        for (int i = 0; i < 200; ++i) {
            s.save(storage_key{"k", std::to_string(i)}, bytes(std::string(50, 'v')));
        }
        logical = s.disk_size();
    }
    CHECK(total_size(segment_files(dir.path())) == logical);
    log_storage again(dir.path());
    CHECK(again.last_recovery().truncated_bytes == 0);
    CHECK(again.size() == 200);
}

TEST_CASE("log_storage: saves survive a crash of the process at every durability level") {
    for (const auto level :
         {crdt::durability::none, crdt::durability::normal, crdt::durability::full}) {
        CAPTURE(static_cast<int>(level));
        temp_dir dir;
        const pid_t pid = ::fork();
        REQUIRE(pid >= 0);
        if (pid == 0) {
            int code = 0;
            try {
                log_storage s(dir.path(), {level});
                for (int i = 0; i < 300; ++i) {
                    s.save(storage_key{"k", std::to_string(i)},
                           bytes("value " + std::to_string(i)));
                }
                s.append(bytes("last entry"));
            } catch (...) {
                code = 1;
            }
            // Killed before any destructor runs: nothing cut, nothing synced.
            if (code == 0) {
                ::kill(::getpid(), SIGKILL);
            }
            ::_exit(code);
        }
        int status = 0;
        REQUIRE(::waitpid(pid, &status, 0) == pid);
        REQUIRE(WIFSIGNALED(status));
        log_storage s(dir.path());
        CHECK(s.size() == 300);
        for (int i = 0; i < 300; i += 37) {
            CHECK(s.load(storage_key{"k", std::to_string(i)}) ==
                  bytes("value " + std::to_string(i)));
        }
        const auto log = s.read_since(0);
        REQUIRE(log.size() == 1);
        CHECK(log[0].value == bytes("last entry"));
    }
}

TEST_CASE("log_storage: rotated segments end at their last record; large records fit") {
    temp_dir dir;
    const std::string big(3 << 20, 'B'); // larger than one window
    {
        log_storage s(dir.path(), {crdt::durability::normal, 8192});
        for (int i = 0; i < 400; ++i) {
            s.save(storage_key{"k", std::to_string(i)}, bytes(std::string(60, 'a')));
        }
        s.save(storage_key{"big"}, bytes(big));
        s.save(storage_key{"after"}, bytes("small"));
        s.flush();
        CHECK(s.segment_count() > 3);
        CHECK(s.load(storage_key{"big"}) == bytes(big));
    }
    // Strict recovery refuses zeros in any segment but the last one.
    log_storage s(dir.path());
    CHECK(s.last_recovery().truncated_bytes == 0);
    CHECK(s.size() == 402);
    CHECK(s.load(storage_key{"big"}) == bytes(big));
    CHECK(s.load(storage_key{"after"}) == bytes("small"));
    CHECK(total_size(segment_files(dir.path())) == s.disk_size());
}
