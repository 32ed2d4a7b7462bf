// crdt/testing/laws.hpp -- law checkers for mergeable (join-semilattice) states.
//
// Run them on your own types as well as crdt's. They are framework-agnostic:
// a broken law throws crdt::testing::law_violation (a std::logic_error) whose
// message names the law, so they work inside Catch2's REQUIRE_NOTHROW, a
// RapidCheck property (which treats the exception as a counterexample and
// shrinks), GoogleTest's EXPECT_NO_THROW, or a plain main().
//
//   RC_ASSERT_NOTHROW(crdt::testing::check_semilattice(a, b, c));
//
// `Join` defaults to calling `a.merge(b)`; pass another callable
// `void(T&, const T&)` for types with a different spelling.
#pragma once

#include <crdt/core/concepts.hpp>
#include <crdt/core/config.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

CRDT_BEGIN_NAMESPACE
namespace testing {

/// Thrown by every law checker when a law does not hold.
class law_violation : public std::logic_error {
public:
    using std::logic_error::logic_error;
};

/// The default join: `a.merge(b)`.
struct member_merge {
    template <class T>
    void operator()(T& a, const T& b) const {
        a.merge(b);
    }
};

namespace testing_detail {
template <class T, class Join>
T joined(T a, const T& b, Join& join) {
    join(a, b);
    return a;
}
} // namespace testing_detail

/// Effects: checks `a.merge(b) == b.merge(a)`.
/// Throws: law_violation("merge is not commutative") otherwise.
template <class T, class Join = member_merge>
void check_commutative(const T& a, const T& b, Join join = {}) {
    if (!(testing_detail::joined(a, b, join) == testing_detail::joined(b, a, join))) {
        throw law_violation("merge is not commutative: a.merge(b) != b.merge(a)");
    }
}

/// Effects: checks `(a.merge(b)).merge(c) == a.merge(b.merge(c))`.
/// Throws: law_violation("merge is not associative") otherwise.
template <class T, class Join = member_merge>
void check_associative(const T& a, const T& b, const T& c, Join join = {}) {
    const T left = testing_detail::joined(testing_detail::joined(a, b, join), c, join);
    const T right = testing_detail::joined(a, testing_detail::joined(b, c, join), join);
    if (!(left == right)) {
        throw law_violation("merge is not associative: (a.merge(b)).merge(c) != "
                            "a.merge(b.merge(c))");
    }
}

/// Effects: checks `a.merge(a) == a`, and that merging what was already
///   merged changes nothing: `(a.merge(b)).merge(b) == a.merge(b)`.
/// Throws: law_violation("merge is not idempotent") otherwise.
template <class T, class Join = member_merge>
void check_idempotent(const T& a, const T& b, Join join = {}) {
    if (!(testing_detail::joined(a, a, join) == a)) {
        throw law_violation("merge is not idempotent: a.merge(a) != a");
    }
    const T ab = testing_detail::joined(a, b, join);
    if (!(testing_detail::joined(ab, b, join) == ab)) {
        throw law_violation("merge is not idempotent: (a.merge(b)).merge(b) != a.merge(b)");
    }
}

/// Effects: checks all join-semilattice laws on the three states.
/// Throws: law_violation naming the first law that fails.
template <class T, class Join = member_merge>
void check_semilattice(const T& a, const T& b, const T& c, Join join = {}) {
    check_idempotent(a, b, join);
    check_commutative(a, b, join);
    check_commutative(b, c, join);
    check_associative(a, b, c, join);
}

/// Effects: delivers `updates` (states or deltas) to `replicas` copies of
///   `initial`, each copy in its own random order with random duplicates,
///   and checks that every copy ends equal to the one that merged them in
///   the given order. `seed` makes the run reproducible.
/// Throws: law_violation("delivery order changed the result") otherwise.
template <class T, class Join = member_merge>
void check_convergence(const T& initial, const std::vector<T>& updates, std::uint64_t seed,
                       std::size_t replicas = 4, Join join = {}) {
    T reference = initial;
    for (const auto& u : updates) {
        join(reference, u);
    }
    std::mt19937_64 rng(seed);
    for (std::size_t r = 0; r < replicas; ++r) {
        std::vector<std::size_t> order(updates.size());
        for (std::size_t i = 0; i < order.size(); ++i) {
            order[i] = i;
        }
        // Duplicate about a quarter of the deliveries.
        const std::size_t n = order.size();
        for (std::size_t i = 0; i < n; ++i) {
            if (rng() % 4 == 0) {
                order.push_back(i);
            }
        }
        std::shuffle(order.begin(), order.end(), rng);
        T state = initial;
        for (std::size_t i : order) {
            join(state, updates[i]);
        }
        if (!(state == reference)) {
            throw law_violation("delivery order changed the result: replica " + std::to_string(r) +
                                " (seed " + std::to_string(seed) +
                                ") differs after a shuffled, duplicated delivery");
        }
    }
}

} // namespace testing
CRDT_END_NAMESPACE
