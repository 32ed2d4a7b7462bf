// Tests of crdt/detail/segmented_vector.hpp against std::vector.
#include "support/seed.hpp"

#include <crdt/detail/segmented_vector.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

using small_blocks = crdt::detail::segmented_vector<std::string, std::allocator<std::string>, 3>;

template <class V>
void require_equal(const V& v, const std::vector<std::string>& model, std::size_t reserved = 0) {
    REQUIRE(v.size() == model.size());
    REQUIRE(std::equal(v.begin(), v.end(), model.begin(), model.end()));
    for (std::size_t i = 0; i < model.size(); ++i) {
        REQUIRE(v[i] == model[i]);
    }
    REQUIRE(v.capacity() >= v.size());
    // At most one block unused (beyond what was reserved) once past the
    // first block.
    const std::size_t wanted = std::max(v.size(), reserved);
    if (wanted > V::block_size) {
        REQUIRE(v.capacity() - wanted < V::block_size);
    }
}

// Throws from the copy constructor after a set number of copies.
struct fragile {
    static inline int budget = 1000000;
    int value = 0;
    explicit fragile(int v) : value(v) {}
    fragile(const fragile& o) : value(o.value) {
        if (--budget < 0) {
            throw std::runtime_error("copy failed");
        }
    }
    fragile& operator=(const fragile&) = default;
};

} // namespace

TEST_CASE("segmented_vector: behaves like std::vector under random operations",
          "[detail][segmented_vector]") {
    const std::uint64_t seed = crdt_test::seed(41);
    CAPTURE(seed);
    std::mt19937_64 rng(seed);
    small_blocks v;
    std::vector<std::string> model;
    std::size_t reserved = 0;
    for (int step = 0; step < 3000; ++step) {
        const auto op = rng() % 20;
        if (op < 14) {
            const std::string x =
                "value-" + std::to_string(rng() % 100000) + "-long-enough-to-alloc";
            v.push_back(x);
            model.push_back(x);
        } else if (op < 16) {
            const auto n = static_cast<std::size_t>(rng() % 64);
            v.reserve(model.size() + n);
            REQUIRE(v.capacity() >= model.size() + n);
            reserved = std::max(reserved, model.size() + n);
        } else if (op < 17) {
            small_blocks copy = v;
            require_equal(copy, model);
            small_blocks moved = std::move(copy);
            require_equal(moved, model);
            REQUIRE(copy.empty()); // NOLINT(bugprone-use-after-move): moved-from is empty
        } else if (op < 18 && !model.empty()) {
            const auto i = static_cast<std::size_t>(rng() % model.size());
            v[i] += "!";
            model[i] += "!";
        } else if (op < 19 && rng() % 8 == 0) {
            v.clear(); // keeps its blocks
            model.clear();
            reserved = std::max(reserved, v.capacity());
        } else {
            small_blocks other;
            other.push_back("x");
            other = v;
            require_equal(other, model);
        }
        require_equal(v, model, reserved);
    }
}

TEST_CASE("segmented_vector: references stay valid once the first block is full",
          "[detail][segmented_vector]") {
    crdt::detail::segmented_vector<int, std::allocator<int>, 4> v; // blocks of 16
    for (int i = 0; i < 16; ++i) {
        v.push_back(i);
    }
    const int* first = &v[0];
    const int* fifteenth = &v[15];
    for (int i = 16; i < 1000; ++i) {
        v.push_back(i);
    }
    REQUIRE(first == &v[0]);
    REQUIRE(fifteenth == &v[15]);
    REQUIRE(v[999] == 999);
    REQUIRE(v.allocated_bytes() >= v.capacity() * sizeof(int));
}

TEST_CASE("segmented_vector: a throwing copy leaves the vector as it was",
          "[detail][segmented_vector]") {
    crdt::detail::segmented_vector<fragile, std::allocator<fragile>, 5> v; // blocks of 32
    for (int i = 0; i < 10; ++i) {
        v.emplace_back(i);
    }
    // Growing the first block copies its elements (fragile's move is a copy
    // that may throw, so move_if_noexcept copies).
    fragile::budget = 3;
    REQUIRE(v.capacity() == 16);
    for (int i = 10; i < 16; ++i) {
        v.emplace_back(i);
    }
    REQUIRE_THROWS_AS(v.emplace_back(16), std::runtime_error);
    fragile::budget = 1000000;
    REQUIRE(v.size() == 16);
    for (int i = 0; i < 16; ++i) {
        REQUIRE(v[static_cast<std::size_t>(i)].value == i);
    }
    v.emplace_back(16);
    REQUIRE(v.size() == 17);
    REQUIRE(v[16].value == 16);
}
