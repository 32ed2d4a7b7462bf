// benchmarks/storage/bench_dir.hpp -- scratch directories and keys for the
// storage benchmarks. Directories go under $CRDT_BENCH_DIR (default: the
// system temporary directory) and are removed afterwards.
#pragma once

#include <crdt/storage/key.hpp>

#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <string>

namespace crdt_bench {

class scratch_dir {
public:
    scratch_dir() {
        const char* env = std::getenv("CRDT_BENCH_DIR");
        const std::filesystem::path base =
            env != nullptr ? std::filesystem::path(env) : std::filesystem::temp_directory_path();
        std::string tmpl = (base / "crdt-bench-XXXXXX").string();
        if (::mkdtemp(tmpl.data()) == nullptr) {
            throw std::runtime_error("mkdtemp failed");
        }
        path_ = tmpl;
    }
    scratch_dir(const scratch_dir&) = delete;
    scratch_dir& operator=(const scratch_dir&) = delete;
    ~scratch_dir() {
        std::error_code ec;
        std::filesystem::remove_all(path_, ec);
    }
    const std::filesystem::path& path() const noexcept { return path_; }

private:
    std::filesystem::path path_;
};

/// The i-th key of a benchmark: {"ws", "doc", <16 hex digits>} (content-address shaped).
inline crdt::storage_key bench_key(std::uint64_t i, std::string_view doc = "doc") {
    static constexpr char d[] = "0123456789abcdef";
    std::string h(16, '0');
    std::uint64_t v = i * 0x9e3779b97f4a7c15ull;
    for (int j = 15; j >= 0; --j) {
        h[static_cast<std::size_t>(j)] = d[v & 15];
        v >>= 4;
    }
    return crdt::storage_key{"ws", doc, h};
}

/// 100 bytes of value.
inline const crdt::storage_bytes& value100() {
    static const crdt::storage_bytes v = crdt::to_storage_bytes(std::string(100, 'v'));
    return v;
}

} // namespace crdt_bench
