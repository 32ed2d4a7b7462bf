// fuzz/support/driver.hpp -- what the two drivers of a harness share:
// writing the seed corpus, and the deterministic generated inputs that
// replay_<name> (no arguments) and `fuzz_<name> -crdt_selftest` run.
//
// Generated inputs, for `runs` and `seed`: first every seed as is, then a
// mix of random byte strings (0 to 96 bytes; the first byte selects the
// harness's type, so every type is reached) and mutations of the seeds
// (bit flips, truncation, insertion and deletion, boundary bytes, varint
// tokens such as the largest 10-byte varint and overlong encodings,
// duplicated slices, splices of two seeds). Same runs and seed, same inputs.
//
// Thread safety: single-threaded. Exception safety: std::bad_alloc only;
// write_seeds reports I/O failures by its return value.
#pragma once

#include "support/harness.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

namespace crdt_fuzz::driver {

/// Effects: writes each seed to `dir`/seed-<i> (creating `dir`).
/// Returns: whether every file was written; prints the reason otherwise.
inline bool write_seeds(const std::filesystem::path& dir) {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) {
        std::fprintf(stderr, "cannot create %s: %s\n", dir.c_str(), ec.message().c_str());
        return false;
    }
    const auto all = seeds();
    for (std::size_t i = 0; i < all.size(); ++i) {
        const auto path = dir / ("seed-" + std::to_string(i));
        std::ofstream out(path, std::ios::binary);
        out.write(reinterpret_cast<const char*>(all[i].data()),
                  static_cast<std::streamsize>(all[i].size()));
        if (!out) {
            std::fprintf(stderr, "cannot write %s\n", path.c_str());
            return false;
        }
    }
    return true;
}

/// Byte strings that stress decoders when spliced into an input.
inline const std::vector<bytes>& tokens() {
    static const std::vector<bytes> all = [] {
        auto b = [](std::initializer_list<int> v) {
            bytes out;
            for (int x : v) {
                out.push_back(static_cast<std::byte>(x));
            }
            return out;
        };
        return std::vector<bytes>{
            b({0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}), // 2^64-1
            b({0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}), // 2^64-2
            b({0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x02}), // 2^64 (overflow)
            b({0x80, 0x00}),                                                 // overlong zero
            b({0xff, 0xff, 0xff, 0xff, 0x0f}),                               // 2^32-1
            b({0x80, 0x80, 0x80, 0x80, 0x10}),                               // 2^32
            b({0xff, 0x7f}),
            b({0x80, 0x01}),
            b({0x00}),
            b({0x01}),
            b({0xc3, 0xa9}),             // "é"
            b({0xed, 0xa0, 0x80}),       // a surrogate (invalid UTF-8)
            b({0xf4, 0x90, 0x80, 0x80}), // above U+10FFFF (invalid)
            b({0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}),
        };
    }();
    return all;
}

/// Returns: `b` mutated 1 to 4 times.
inline bytes mutate(bytes b, const std::vector<bytes>& pool, std::mt19937_64& rng) {
    auto pick = [&](std::size_t n) { return static_cast<std::size_t>(rng() % n); };
    // Keep the selector byte most of the time, so the type stays the same.
    const std::size_t lo = !b.empty() && pick(8) != 0 ? 1 : 0;
    auto pos = [&](bool end_ok) {
        const std::size_t n = b.size() - lo + (end_ok ? 1 : 0);
        return lo + (n == 0 ? 0 : pick(n));
    };
    auto at = [&](std::size_t i) { return b.begin() + static_cast<std::ptrdiff_t>(i); };
    const std::size_t rounds = 1 + pick(4);
    for (std::size_t k = 0; k < rounds; ++k) {
        const bool has_body = b.size() > lo;
        switch (pick(9)) {
        case 0:
            if (has_body) {
                b[pos(false)] ^= static_cast<std::byte>(1u << pick(8));
            }
            break;
        case 1:
            if (has_body) {
                b.resize(pos(false));
            }
            break;
        case 2: b.insert(at(pos(true)), static_cast<std::byte>(rng())); break;
        case 3:
            if (has_body) {
                b.erase(at(pos(false)));
            }
            break;
        case 4: {
            static constexpr std::array<std::uint8_t, 7> boundary = {0x00, 0x01, 0x02, 0x7f,
                                                                     0x80, 0xfe, 0xff};
            if (has_body) {
                b[pos(false)] = static_cast<std::byte>(boundary[pick(boundary.size())]);
            }
            break;
        }
        case 5:
        case 6: { // overwrite or insert a token
            const bytes& t = tokens()[pick(tokens().size())];
            const std::size_t p = pos(true);
            if (pick(2) == 0) {
                b.insert(at(p), t.begin(), t.end());
            } else {
                for (std::size_t i = 0; i < t.size(); ++i) {
                    if (p + i < b.size()) {
                        b[p + i] = t[i];
                    } else {
                        b.push_back(t[i]);
                    }
                }
            }
            break;
        }
        case 7: // duplicate a slice
            if (has_body) {
                const std::size_t from = pos(false);
                const std::size_t len = 1 + pick(b.size() - from);
                const bytes slice(at(from), at(from + len));
                b.insert(at(pos(true)), slice.begin(), slice.end());
            }
            break;
        default: // splice: keep a prefix, append the tail of another seed
            if (!pool.empty()) {
                const bytes& other = pool[pick(pool.size())];
                b.resize(pos(true));
                const std::size_t from = other.empty() ? 0 : pick(other.size());
                b.insert(b.end(), other.begin() + static_cast<std::ptrdiff_t>(from), other.end());
            }
            break;
        }
    }
    return b;
}

/// Effects: calls `each(input, index)` for `runs` deterministic inputs.
template <class Each>
void for_each_generated(std::size_t runs, std::uint64_t seed, Each&& each) {
    const std::vector<bytes> pool = seeds();
    std::mt19937_64 rng(seed);
    for (std::size_t i = 0; i < runs; ++i) {
        bytes in;
        if (i < pool.size()) {
            in = pool[i];
        } else if (pool.empty() || rng() % 4 == 0) {
            in.resize(static_cast<std::size_t>(rng() % 97));
            for (auto& b : in) {
                b = static_cast<std::byte>(rng());
            }
        } else {
            in = mutate(pool[static_cast<std::size_t>(rng() % pool.size())], pool, rng);
        }
        each(in, i);
    }
}

/// Effects: runs LLVMFuzzerTestOneInput on one input.
inline void run_one(const bytes& in) {
    LLVMFuzzerTestOneInput(reinterpret_cast<const std::uint8_t*>(in.data()), in.size());
}

} // namespace crdt_fuzz::driver
