// Helpers shared by the core test files: catching crdt::error, byte
// building, pools of replica ids of each type and a manual wall clock.
#pragma once

#include <crdt/codec/codec.hpp>
#include <crdt/codec/writer.hpp>
#include <crdt/core/error.hpp>
#include <crdt/core/replica_id.hpp>
#include <crdt/detail/hash.hpp>

#include <catch2/catch.hpp>

#include <compare>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <new>
#include <random>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace core_test {

/// Runs `f`, which must throw crdt::error; returns the error. Fails the
/// test if `f` returns normally; any other exception propagates (and fails).
template <class F>
crdt::error caught_error(F&& f) {
    try {
        std::forward<F>(f)();
    } catch (const crdt::error& e) {
        return e;
    }
    FAIL("expected a crdt::error, but nothing was thrown");
    throw std::logic_error("unreachable");
}

/// Returns: the bytes written by `fill(writer)`.
template <class F>
std::vector<std::byte> bytes_of(F&& fill) {
    crdt::byte_writer w;
    std::forward<F>(fill)(w);
    return w.take();
}

/// Returns: a uniformly drawn integer in [lo, hi].
inline std::uint64_t uniform(std::mt19937_64& rng, std::uint64_t lo, std::uint64_t hi) {
    return std::uniform_int_distribution<std::uint64_t>(lo, hi)(rng);
}

/// Returns: the index-th id of a deterministic pool of distinct ids of type R,
///   spread over the whole value range (so their order differs from `index`'s).
template <class R>
R pool_id(std::size_t index);

template <>
inline crdt::replica_id pool_id<crdt::replica_id>(std::size_t index) {
    return crdt::replica_id(crdt::detail::mix64(index + 1));
}

template <>
inline crdt::replica_id128 pool_id<crdt::replica_id128>(std::size_t index) {
    // Only a few distinct high halves, so the low half decides many comparisons.
    return {index % 3, crdt::detail::mix64(index + 7)};
}

template <>
inline crdt::agent_id pool_id<crdt::agent_id>(std::size_t index) {
    // ASCII, upper/lower case and multi-byte names, distinct by the suffix.
    static const char* const stems[] = {"alice", "Bob", "\xc3\xa9milie", "z", "\xe2\x82\xac"};
    return crdt::agent_id(std::string(stems[index % 5]) + "-" + std::to_string(index / 5));
}

/// Returns: `n` distinct ids of type R.
template <class R>
std::vector<R> id_pool(std::size_t n) {
    std::vector<R> out;
    out.reserve(n);
    for (std::size_t i = 0; i < n; ++i) {
        out.push_back(pool_id<R>(i));
    }
    return out;
}

/// A wall clock the test sets by hand. Copies share the time, so the test
/// keeps one copy and the clock under test another.
struct manual_wall_clock {
    std::shared_ptr<std::uint64_t> ms = std::make_shared<std::uint64_t>(0);

    std::uint64_t operator()() const noexcept { return *ms; }
    void set(std::uint64_t value) const noexcept { *ms = value; }
};

/// A replica id whose copies throw std::bad_alloc on demand, as copying an
/// agent_id's string can: the `copies_left`-th copy from now throws (a
/// negative value: never). Moves never throw. For exception-safety tests.
struct throwing_id {
    std::uint64_t value = 0;
    static inline long copies_left = -1;

    throwing_id() = default;
    explicit throwing_id(std::uint64_t v) noexcept : value(v) {}
    throwing_id(const throwing_id& other) : value(other.value) { count_copy(); }
    throwing_id(throwing_id&&) noexcept = default;
    throwing_id& operator=(const throwing_id& other) {
        count_copy();
        value = other.value;
        return *this;
    }
    throwing_id& operator=(throwing_id&&) noexcept = default;
    ~throwing_id() = default;

    friend auto operator<=>(const throwing_id&, const throwing_id&) = default;
    friend bool operator==(const throwing_id&, const throwing_id&) = default;

private:
    static void count_copy() {
        if (copies_left == 0) {
            throw std::bad_alloc();
        }
        if (copies_left > 0) {
            --copies_left;
        }
    }
};

/// Effects: runs `mutate` on copies of `original`, letting the 0th, 1st, 2nd,
///   ... copy of a throwing_id throw, until `mutate` completes; after each
///   throw, `check(state)` must hold for the partly mutated copy.
/// Returns: the number of throws injected.
template <class T, class Mutate, class Check>
int inject_copy_failures(const T& original, Mutate mutate, Check check) {
    for (long budget = 0;; ++budget) {
        T state = original;
        throwing_id::copies_left = budget;
        bool threw = false;
        try {
            mutate(state);
        } catch (const std::bad_alloc&) {
            threw = true;
        }
        throwing_id::copies_left = -1;
        if (!threw) {
            return static_cast<int>(budget);
        }
        check(state);
    }
}

} // namespace core_test

template <>
struct std::hash<core_test::throwing_id> {
    std::size_t operator()(const core_test::throwing_id& id) const noexcept {
        return static_cast<std::size_t>(crdt::detail::mix64(id.value));
    }
};

template <>
struct crdt::codec<core_test::throwing_id> {
    static void encode(byte_writer& w, const core_test::throwing_id& id) { w.varint(id.value); }
    static core_test::throwing_id decode(byte_reader& r) {
        return core_test::throwing_id(r.varint());
    }
};
