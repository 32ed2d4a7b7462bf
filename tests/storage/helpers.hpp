// Shared helpers for the storage tests: scratch directories and byte literals.
#pragma once

#include <crdt/storage/key.hpp>

#include <crdt/core/error.hpp>

#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <string_view>

#include <sys/wait.h>
#include <unistd.h>

namespace storage_test {

namespace fs = std::filesystem;

/// A fresh directory under the build tree (or /tmp), removed on destruction.
class temp_dir {
public:
    temp_dir() {
        fs::path base = fs::path(CRDT_TEST_BINARY_DIR) / "storage-tmp";
        std::error_code ec;
        fs::create_directories(base, ec);
        if (ec) {
            base = fs::temp_directory_path();
        }
        std::string tmpl = (base / "crdt-XXXXXX").string();
        if (::mkdtemp(tmpl.data()) == nullptr) {
            throw std::runtime_error("mkdtemp failed");
        }
        path_ = tmpl;
    }
    temp_dir(const temp_dir&) = delete;
    temp_dir& operator=(const temp_dir&) = delete;
    ~temp_dir() {
        std::error_code ec;
        // Restore permissions a test may have removed, then delete.
        fs::permissions(path_, fs::perms::owner_all, fs::perm_options::add, ec);
        for (auto it = fs::recursive_directory_iterator(path_, ec);
             !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
            std::error_code ec2;
            fs::permissions(it->path(), fs::perms::owner_all, fs::perm_options::add, ec2);
        }
        fs::remove_all(path_, ec);
    }
    const fs::path& path() const noexcept { return path_; }
    fs::path operator/(std::string_view s) const { return path_ / s; }

private:
    fs::path path_;
};

inline crdt::storage_bytes bytes(std::string_view s) {
    return crdt::to_storage_bytes(s);
}

inline std::string text(const crdt::storage_bytes& b) {
    return std::string(reinterpret_cast<const char*>(b.data()), b.size());
}

/// Returns: whether `fn`, run in a child process as an unprivileged user
///   (root ignores permissions), throws crdt::error with cause `expected`.
template <class Fn>
bool throws_as_nobody(Fn fn, crdt::errc expected) {
    const pid_t pid = ::fork();
    if (pid == 0) {
        if (::geteuid() == 0 && (::setgid(65534) != 0 || ::setuid(65534) != 0)) {
            ::_exit(3);
        }
        try {
            fn();
        } catch (const crdt::error& e) {
            ::_exit(e.cause() == expected ? 0 : 2);
        } catch (...) {
            ::_exit(4);
        }
        ::_exit(1);
    }
    int status = 0;
    ::waitpid(pid, &status, 0);
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

} // namespace storage_test
