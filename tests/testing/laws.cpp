// Tests for crdt/testing/laws.hpp: the semilattice and convergence checkers
// accept lawful merges and reject deliberately broken ones, naming the law.
#include <crdt/core/version_vector.hpp>
#include <crdt/testing/arbitrary.hpp>
#include <crdt/testing/laws.hpp>

#include <support/seed.hpp>

#include <catch2/catch.hpp>
#include <rapidcheck.h>
#include <rapidcheck/catch.h>

#include <algorithm>
#include <cstdint>
#include <random>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

namespace {

using crdt::testing::law_violation;

// A lawful join: a max register.
struct max_register {
    std::uint64_t value = 0;
    void merge(const max_register& other) { value = std::max(value, other.value); }
    friend bool operator==(const max_register&, const max_register&) = default;
};

// Broken: "keep left" is idempotent and associative but not commutative.
struct keep_left {
    int value = 0;
    void merge(const keep_left&) {}
    friend bool operator==(const keep_left&, const keep_left&) = default;
};

// Broken: a sum counter is commutative and associative but not idempotent.
struct sum_counter {
    std::int64_t value = 0;
    void merge(const sum_counter& other) { value += other.value; }
    friend bool operator==(const sum_counter&, const sum_counter&) = default;
};

// Broken: rock-paper-scissors "winner" is commutative and idempotent (even
// (a.merge(b)).merge(b) == a.merge(b)) but not associative.
enum class hand { rock, paper, scissors };
struct rps {
    hand value = hand::rock;
    static bool beats(hand a, hand b) {
        return (a == hand::rock && b == hand::scissors) || (a == hand::paper && b == hand::rock) ||
               (a == hand::scissors && b == hand::paper);
    }
    void merge(const rps& other) {
        if (beats(other.value, value)) {
            value = other.value;
        }
    }
    friend bool operator==(const rps&, const rps&) = default;
};

// Broken for convergence: idempotent (a set), but remembers delivery order.
struct arrival_log {
    std::vector<int> seen;
    void merge(const arrival_log& other) {
        for (int x : other.seen) {
            if (std::find(seen.begin(), seen.end(), x) == seen.end()) {
                seen.push_back(x);
            }
        }
    }
    friend bool operator==(const arrival_log&, const arrival_log&) = default;
};

template <class F>
std::string violation_of(F&& f) {
    try {
        f();
    } catch (const law_violation& v) {
        return v.what();
    }
    return "";
}

} // namespace

static_assert(std::is_base_of_v<std::logic_error, law_violation>);

TEST_CASE("laws: a max register satisfies every law") {
    rc::prop("max register", [](std::uint64_t a, std::uint64_t b, std::uint64_t c) {
        crdt::testing::check_semilattice(max_register{a}, max_register{b}, max_register{c});
        crdt::testing::check_commutative(max_register{a}, max_register{b});
        crdt::testing::check_associative(max_register{a}, max_register{b}, max_register{c});
        crdt::testing::check_idempotent(max_register{a}, max_register{b});
    });
}

TEST_CASE("laws: version vectors satisfy every law") {
    rc::prop("version_vector",
             [](const crdt::version_vector& a, const crdt::version_vector& b,
                const crdt::version_vector& c) { crdt::testing::check_semilattice(a, b, c); });
}

TEST_CASE("laws: a custom join callable") {
    // Plain ints with std::max as the join, and with + (not idempotent).
    auto max_join = [](int& a, const int& b) { a = std::max(a, b); };
    auto sum_join = [](int& a, const int& b) { a += b; };
    REQUIRE_NOTHROW(crdt::testing::check_semilattice(3, -1, 7, max_join));
    REQUIRE_THROWS_AS(crdt::testing::check_semilattice(3, -1, 7, sum_join), law_violation);
    REQUIRE_NOTHROW(
        crdt::testing::check_convergence(0, std::vector<int>{5, 1, 9, 2}, 1, 4, max_join));
}

TEST_CASE("laws: a non-commutative merge is rejected") {
    const keep_left a{1};
    const keep_left b{2};
    REQUIRE_NOTHROW(crdt::testing::check_idempotent(a, b));
    REQUIRE_NOTHROW(crdt::testing::check_associative(a, b, keep_left{3}));
    REQUIRE_THAT(violation_of([&] { crdt::testing::check_commutative(a, b); }),
                 Catch::Contains("not commutative"));
    REQUIRE_THAT(violation_of([&] { crdt::testing::check_semilattice(a, b, keep_left{3}); }),
                 Catch::Contains("not commutative"));
    // Equal states do not expose it.
    REQUIRE_NOTHROW(crdt::testing::check_commutative(a, a));
}

TEST_CASE("laws: a non-idempotent merge is rejected") {
    const sum_counter a{1};
    const sum_counter b{2};
    REQUIRE_NOTHROW(crdt::testing::check_commutative(a, b));
    REQUIRE_NOTHROW(crdt::testing::check_associative(a, b, sum_counter{3}));
    REQUIRE_THAT(violation_of([&] { crdt::testing::check_idempotent(a, b); }),
                 Catch::Contains("not idempotent"));
    REQUIRE_THAT(violation_of([&] { crdt::testing::check_semilattice(a, b, sum_counter{3}); }),
                 Catch::Contains("not idempotent"));
    // The second half of the idempotence check, (a.merge(b)).merge(b): a zero
    // state passes a.merge(a) == a, but merging b twice still adds it twice.
    REQUIRE_THAT(violation_of([&] { crdt::testing::check_idempotent(sum_counter{0}, b); }),
                 Catch::Contains("(a.merge(b)).merge(b)"));
}

TEST_CASE("laws: a non-associative merge is rejected") {
    const rps r{hand::rock};
    const rps p{hand::paper};
    const rps s{hand::scissors};
    for (const auto& x : {r, p, s}) {
        for (const auto& y : {r, p, s}) {
            REQUIRE_NOTHROW(crdt::testing::check_commutative(x, y));
            REQUIRE_NOTHROW(crdt::testing::check_idempotent(x, y));
        }
    }
    REQUIRE_THAT(violation_of([&] { crdt::testing::check_associative(r, p, s); }),
                 Catch::Contains("not associative"));
    REQUIRE_THAT(violation_of([&] { crdt::testing::check_semilattice(r, p, s); }),
                 Catch::Contains("not associative"));
}

TEST_CASE("laws: check_convergence accepts lawful merges") {
    const auto seed = crdt_test::seed(40);
    CAPTURE(seed);
    std::mt19937_64 rng(seed);
    std::vector<max_register> registers;
    for (int i = 0; i < 12; ++i) {
        registers.push_back(max_register{rng() % 1000});
    }
    REQUIRE_NOTHROW(crdt::testing::check_convergence(max_register{}, registers, seed));
    REQUIRE_NOTHROW(crdt::testing::check_convergence(max_register{}, {}, seed));

    std::vector<crdt::version_vector> versions;
    for (int i = 0; i < 12; ++i) {
        crdt::version_vector v;
        for (int k = 0; k < 3; ++k) {
            v.advance(crdt::replica_id(rng() % 5 + 1), rng() % 20 + 1);
        }
        versions.push_back(v);
    }
    REQUIRE_NOTHROW(crdt::testing::check_convergence(crdt::version_vector{}, versions, seed, 6));
}

TEST_CASE("laws: check_convergence detects order-dependent and duplicate-sensitive merges") {
    const auto seed = crdt_test::seed(41);
    CAPTURE(seed);
    // Order-dependent: 10 distinct updates; every replica would have to see
    // them in exactly the given order for the check to miss it.
    std::vector<arrival_log> logs;
    for (int i = 0; i < 10; ++i) {
        logs.push_back(arrival_log{{i}});
    }
    // The log is idempotent, so only the order can break convergence.
    REQUIRE_NOTHROW(crdt::testing::check_idempotent(logs[0], logs[1]));
    REQUIRE_THAT(violation_of([&] { crdt::testing::check_convergence(arrival_log{}, logs, seed); }),
                 Catch::Contains("delivery order changed the result") &&
                     Catch::Contains("seed " + std::to_string(seed)));
    // Duplicate-sensitive: a sum counter is commutative and associative, so
    // only the duplicated deliveries break it (64 updates: some are duplicated).
    std::vector<sum_counter> increments(64, sum_counter{1});
    REQUIRE_THAT(
        violation_of([&] { crdt::testing::check_convergence(sum_counter{}, increments, seed); }),
        Catch::Contains("delivery order changed the result"));
}

TEST_CASE("laws: violations work inside RapidCheck properties") {
    // A property over a broken type fails (RapidCheck reports the exception
    // as a counterexample); one over a lawful type passes.
    const auto broken = rc::check([](int a, int b) {
        RC_PRE(a != b);
        crdt::testing::check_commutative(keep_left{a}, keep_left{b});
    });
    REQUIRE_FALSE(broken);
    const auto lawful = rc::check([](std::uint64_t a, std::uint64_t b) {
        crdt::testing::check_commutative(max_register{a}, max_register{b});
    });
    REQUIRE(lawful);
}
