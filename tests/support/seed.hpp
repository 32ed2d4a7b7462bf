// Seeds for randomized tests. crdt_test::seed() is Catch2's --rng-seed
// (0 by default, so runs are reproducible); tests CAPTURE it so a failure
// prints it. Re-run with `--rng-seed <N>` to reproduce.
#pragma once

#include <catch2/catch.hpp>

#include <cstdint>

namespace crdt_test {

/// Returns: the run's seed, mixed with `salt` so different tests draw
///   different streams from one --rng-seed.
inline std::uint64_t seed(std::uint64_t salt = 0) {
    return (static_cast<std::uint64_t>(Catch::rngSeed()) << 32) ^ (salt * 0x9e3779b97f4a7c15ull);
}

} // namespace crdt_test
