// Tests of crdt/core/causal_context.hpp, against a naive std::set<dot> model.
#include <crdt/core/causal_context.hpp>
#include <crdt/core/replica_id.hpp>
#include <crdt/testing/arbitrary.hpp>
#include <crdt/testing/codec_laws.hpp>
#include <crdt/testing/laws.hpp>

#include "helpers.hpp"
#include <support/seed.hpp>

#include <catch2/catch.hpp>
#include <rapidcheck.h>
#include <rapidcheck/catch.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <tuple>
#include <vector>

namespace {

using id_types = std::tuple<crdt::replica_id, crdt::replica_id128, crdt::agent_id>;

template <class R>
using context = crdt::basic_causal_context<R>;
template <class R>
using dot = crdt::basic_dot<R>;
template <class R>
using model = std::set<dot<R>>;

constexpr std::uint64_t max64 = std::numeric_limits<std::uint64_t>::max();
constexpr std::uint64_t max_counter = 24; // counters drawn in [1, max_counter]

// The length of r's contiguous prefix 1..k in the model.
template <class R>
std::uint64_t prefix(const model<R>& m, const R& r) {
    std::uint64_t k = 0;
    while (m.count(dot<R>{r, k + 1}) != 0) {
        ++k;
    }
    return k;
}

// Returns "" if `c` holds exactly the dots of `m`, else the first difference.
// Calls verify() first (a broken invariant aborts the test binary).
template <class R>
std::string mismatch(const context<R>& c, const model<R>& m, const std::vector<R>& replicas) {
    c.verify();
    std::vector<dot<R>> expected_cloud;
    bool expected_compact = true;
    std::size_t version_entries = 0;
    for (const auto& r : replicas) {
        const std::uint64_t k = prefix(m, r);
        version_entries += k > 0 ? 1 : 0;
        if (c.version().get(r) != k) {
            return "version().get() = " + std::to_string(c.version().get(r)) + ", model prefix " +
                   std::to_string(k);
        }
        for (std::uint64_t n = 0; n <= max_counter + 2; ++n) {
            const bool in_model = m.count(dot<R>{r, n}) != 0;
            if (c.contains(dot<R>{r, n}) != in_model) {
                return "contains(" + std::to_string(n) + ") = " + (in_model ? "false" : "true");
            }
            if (in_model && n > k) {
                expected_cloud.push_back(dot<R>{r, n});
                expected_compact = false;
            }
        }
    }
    for (const auto& d : m) {
        if (std::find(replicas.begin(), replicas.end(), d.replica) == replicas.end()) {
            return "the model holds a dot of an unexpected replica";
        }
    }
    std::sort(expected_cloud.begin(), expected_cloud.end());
    if (c.version().size() != version_entries) {
        return "version() has " + std::to_string(c.version().size()) + " entries, model " +
               std::to_string(version_entries);
    }
    if (!std::equal(c.cloud().begin(), c.cloud().end(), expected_cloud.begin(),
                    expected_cloud.end())) {
        return "cloud() is not the non-contiguous part of the model (" +
               std::to_string(c.cloud().size()) + " dots, model " +
               std::to_string(expected_cloud.size()) + ")";
    }
    if (c.is_compact() != expected_compact) {
        return "is_compact() disagrees with the model";
    }
    if (c.empty() != m.empty()) {
        return "empty() disagrees with the model";
    }
    // The representation is canonical: equal to the context built dot by dot.
    context<R> rebuilt;
    for (const auto& d : m) {
        rebuilt.insert(d);
    }
    if (!(rebuilt == c)) {
        return "not equal to the context rebuilt from the model";
    }
    return "";
}

template <class R>
dot<R> random_dot(std::mt19937_64& rng, const std::vector<R>& replicas) {
    return {replicas[core_test::uniform(rng, 0, replicas.size() - 1)],
            core_test::uniform(rng, 1, max_counter)};
}

} // namespace

TEMPLATE_LIST_TEST_CASE("causal_context: random operations match a std::set model",
                        "[causal_context]", id_types) {
    using R = TestType;
    const std::uint64_t seed = crdt_test::seed(31);
    CAPTURE(seed);
    std::mt19937_64 rng(seed);
    const auto all = core_test::id_pool<R>(5);
    const R local = all[4]; // only next_dot creates the local replica's dots
    const std::vector<R> remotes(all.begin(), all.begin() + 4);

    for (int run = 0; run < 4; ++run) {
        context<R> c;
        model<R> m;
        for (int step = 0; step < 150; ++step) {
            CAPTURE(run, step);
            const auto op = core_test::uniform(rng, 0, 99);
            if (op < 50) { // insert, often a duplicate
                const dot<R> d = random_dot(rng, remotes);
                const bool expected_new = m.insert(d).second;
                REQUIRE(c.insert(d) == expected_new);
            } else if (op < 62) { // next_dot of the local replica
                const auto d = c.next_dot(local);
                REQUIRE(d.replica == local);
                REQUIRE(d.counter == prefix(m, local) + 1);
                m.insert(d);
            } else if (op < 80) { // merge another context
                context<R> other;
                model<R> other_model;
                const auto n = core_test::uniform(rng, 0, 12);
                for (std::uint64_t i = 0; i < n; ++i) {
                    const dot<R> d = random_dot(rng, remotes);
                    other.insert(d);
                    other_model.insert(d);
                }
                REQUIRE(mismatch(other, other_model, all) == std::string());
                const context<R> other_before = other;
                c.merge(other);
                m.insert(other_model.begin(), other_model.end());
                REQUIRE(other == other_before);
            } else if (op < 95) { // merge a version vector
                crdt::basic_version_vector<R> v;
                for (const auto& r : remotes) {
                    if (core_test::uniform(rng, 0, 2) == 0) {
                        v.set(r, core_test::uniform(rng, 1, max_counter));
                    }
                }
                c.merge(v);
                for (const auto& e : v) {
                    for (std::uint64_t k = 1; k <= e.counter; ++k) {
                        m.insert(dot<R>{e.replica, k});
                    }
                }
                REQUIRE(c.version().includes(v));
            } else { // start over, sometimes from a version vector
                crdt::basic_version_vector<R> v;
                m.clear();
                if (op % 2 == 0) {
                    const R& r = remotes[core_test::uniform(rng, 0, remotes.size() - 1)];
                    v.set(r, core_test::uniform(rng, 1, 5));
                    for (std::uint64_t k = 1; k <= v.get(r); ++k) {
                        m.insert(dot<R>{r, k});
                    }
                }
                c = context<R>(v);
            }
            REQUIRE(mismatch(c, m, all) == std::string());
        }
    }
}

TEMPLATE_LIST_TEST_CASE("causal_context: dots inserted in any order with duplicates compact",
                        "[causal_context]", id_types) {
    using R = TestType;
    const std::uint64_t seed = crdt_test::seed(32);
    CAPTURE(seed);
    std::mt19937_64 rng(seed);
    const auto replicas = core_test::id_pool<R>(3);
    for (int run = 0; run < 10; ++run) {
        CAPTURE(run);
        std::vector<dot<R>> dots;
        std::vector<std::uint64_t> n(replicas.size());
        for (std::size_t i = 0; i < replicas.size(); ++i) {
            n[i] = core_test::uniform(rng, 1, max_counter);
            for (std::uint64_t k = 1; k <= n[i]; ++k) {
                dots.push_back({replicas[i], k});
            }
        }
        const std::size_t distinct = dots.size();
        for (std::size_t i = 0; i < distinct / 3; ++i) { // duplicates
            dots.push_back(dots[core_test::uniform(rng, 0, distinct - 1)]);
        }
        std::shuffle(dots.begin(), dots.end(), rng);
        context<R> c;
        model<R> m;
        std::size_t fresh = 0;
        for (const auto& d : dots) {
            const bool expected_new = m.insert(d).second;
            REQUIRE(c.insert(d) == expected_new);
            fresh += expected_new ? 1 : 0;
            REQUIRE(mismatch(c, m, replicas) == std::string());
        }
        CHECK(fresh == distinct);
        CHECK(c.is_compact());
        CHECK(c.cloud().empty());
        for (std::size_t i = 0; i < replicas.size(); ++i) {
            CHECK(c.version().get(replicas[i]) == n[i]);
        }
    }
}

TEST_CASE("causal_context: the cloud holds exactly the dots past a gap") {
    const crdt::replica_id a(1);
    const crdt::replica_id b(2);
    crdt::causal_context c;
    CHECK(c.empty());
    CHECK(c.is_compact());
    CHECK(c.insert({a, 3}));
    CHECK(c.insert({a, 5}));
    CHECK_FALSE(c.insert({a, 5}));
    CHECK(c.insert({b, 1}));
    CHECK_FALSE(c.is_compact());
    CHECK(c.version() == crdt::version_vector{{b, 1}});
    CHECK(std::vector<crdt::dot>(c.cloud().begin(), c.cloud().end()) ==
          std::vector<crdt::dot>{{a, 3}, {a, 5}});
    CHECK(c.insert({a, 1})); // 1 is contiguous, 3 still past the gap at 2
    CHECK(c.version() == crdt::version_vector{{a, 1}, {b, 1}});
    CHECK(c.cloud().size() == 2u);
    CHECK(c.insert({a, 2})); // closes the gap: 3 moves in, 5 stays
    CHECK(c.version() == crdt::version_vector{{a, 3}, {b, 1}});
    CHECK(std::vector<crdt::dot>(c.cloud().begin(), c.cloud().end()) ==
          std::vector<crdt::dot>{{a, 5}});
    CHECK(c.next_dot(b) == crdt::dot{b, 2});
    c.merge(crdt::version_vector{{a, 4}}); // closes the last gap
    CHECK(c.is_compact());
    CHECK(c.version() == crdt::version_vector{{a, 5}, {b, 2}});
    CHECK_FALSE(c.contains({a, 0}));
    CHECK_FALSE(c.contains({a, 6}));
}

TEST_CASE("causal_context: counters near 2^64-1") {
    const crdt::replica_id a(1);
    crdt::causal_context c(crdt::version_vector{{a, max64 - 1}});
    CHECK(c.insert({a, max64}));
    CHECK(c.is_compact());
    CHECK(c.version().get(a) == max64);
    CHECK_FALSE(c.insert({a, max64}));
    CHECK_FALSE(c.insert({a, 17}));
    c.verify();
    crdt::causal_context d;
    CHECK(d.insert({a, max64}));
    CHECK(d.cloud().size() == 1u);
    d.merge(c);
    CHECK(d == c);
    d.verify();
}

TEMPLATE_LIST_TEST_CASE("causal_context: join-semilattice laws", "[causal_context]", id_types) {
    using R = TestType;
    rc::prop("check_semilattice",
             [](const context<R>& a, const context<R>& b, const context<R>& c) {
                 crdt::testing::check_semilattice(a, b, c);
                 context<R> ab = a;
                 ab.merge(b);
                 ab.verify();
                 for (const auto& d : a.cloud()) {
                     RC_ASSERT(ab.contains(d));
                 }
                 for (const auto& d : b.cloud()) {
                     RC_ASSERT(ab.contains(d));
                 }
                 RC_ASSERT(ab.version().includes(a.version()));
                 RC_ASSERT(ab.version().includes(b.version()));
             });
    // Single-dot deltas delivered in any order, with duplicates, converge.
    const std::uint64_t seed = crdt_test::seed(33);
    CAPTURE(seed);
    std::mt19937_64 rng(seed);
    const auto replicas = core_test::id_pool<R>(3);
    std::vector<context<R>> updates;
    for (int i = 0; i < 40; ++i) {
        context<R> u;
        u.insert(random_dot(rng, replicas));
        updates.push_back(u);
    }
    REQUIRE_NOTHROW(crdt::testing::check_convergence(context<R>{}, updates, seed));
}

// --- codec ---------------------------------------------------------------------

TEMPLATE_LIST_TEST_CASE("causal_context: codec round trip and robustness", "[causal_context]",
                        id_types) {
    using R = TestType;
    rc::prop("check_round_trip", [](const context<R>& c) {
        crdt::testing::check_round_trip(c);
        const auto decoded = crdt::decode<context<R>>(crdt::encode(c));
        decoded.verify();
    });
    const std::uint64_t seed = crdt_test::seed(34);
    CAPTURE(seed);
    std::mt19937_64 rng(seed);
    const auto replicas = core_test::id_pool<R>(3);
    std::vector<std::vector<std::byte>> samples;
    for (int i = 0; i < 12; ++i) {
        context<R> c;
        const auto n = core_test::uniform(rng, 0, 20);
        for (std::uint64_t k = 0; k < n; ++k) {
            c.insert(random_dot(rng, replicas));
        }
        REQUIRE_NOTHROW(crdt::testing::check_round_trip(c));
        samples.push_back(crdt::encode(c));
    }
    REQUIRE_NOTHROW(crdt::testing::check_decoder_robustness<context<R>>(samples, seed));
}

TEST_CASE("causal_context: decode rejects non-canonical and corrupt input") {
    using crdt::errc;
    const crdt::replica_id a(1);
    const crdt::replica_id b(2);
    // version {a: 3} is 1 + 8 + 1 = 10 bytes; the cloud count follows; then dots of 9 bytes.
    auto encoded = [](const crdt::version_vector& v, std::uint64_t count,
                      const std::vector<crdt::dot>& cloud) {
        return core_test::bytes_of([&](crdt::byte_writer& w) {
            crdt::encode_into(w, v);
            w.varint(count);
            for (const auto& d : cloud) {
                crdt::encode_into(w, d);
            }
        });
    };
    auto decode_error = [](const std::vector<std::byte>& bytes) {
        return core_test::caught_error([&] { (void)crdt::decode<crdt::causal_context>(bytes); });
    };
    const crdt::version_vector v3{{a, 3}};

    SECTION("a valid encoding decodes") {
        const auto c = crdt::decode<crdt::causal_context>(encoded(v3, 2, {{a, 5}, {b, 2}}));
        c.verify();
        CHECK(c.version() == v3);
        CHECK(c.cloud().size() == 2u);
        CHECK(c.contains({a, 5}));
        CHECK(c.contains({b, 2}));
        CHECK_FALSE(c.contains({b, 1}));
    }
    SECTION("cloud dot adjacent to the version") {
        const crdt::error e = decode_error(encoded(v3, 1, {{a, 4}}));
        CHECK(e.cause() == errc::invalid_value);
        CHECK(e.offset() == std::optional<std::size_t>(11));
        // adjacent to an empty entry: counter 1
        CHECK(decode_error(encoded(v3, 1, {{b, 1}})).cause() == errc::invalid_value);
    }
    SECTION("cloud dot included in the version") {
        CHECK(decode_error(encoded(v3, 1, {{a, 2}})).cause() == errc::invalid_value);
        CHECK(decode_error(encoded(v3, 1, {{a, 3}})).cause() == errc::invalid_value);
        CHECK(decode_error(encoded(v3, 1, {{b, 0}})).cause() == errc::invalid_value);
        // A full version (counter 2^64-1) includes every dot of its replica.
        const crdt::version_vector full{{a, max64}};
        CHECK(decode_error(encoded(full, 1, {{a, 5}})).cause() == errc::invalid_value);
        CHECK(decode_error(encoded(full, 1, {{a, max64}})).cause() == errc::invalid_value);
    }
    SECTION("cloud out of order or repeated") {
        const crdt::error e = decode_error(encoded(v3, 2, {{a, 7}, {a, 5}}));
        CHECK(e.cause() == errc::invalid_value);
        CHECK(e.offset() == std::optional<std::size_t>(11 + 9));
        CHECK(decode_error(encoded(v3, 2, {{a, 7}, {a, 7}})).cause() == errc::invalid_value);
        CHECK(decode_error(encoded(v3, 2, {{b, 5}, {a, 5}})).cause() == errc::invalid_value);
    }
    SECTION("bad version part") {
        const auto bytes = core_test::bytes_of([&](crdt::byte_writer& w) {
            w.varint(1);
            crdt::encode_into(w, a);
            w.varint(0); // zero counter
            w.varint(0);
        });
        CHECK(decode_error(bytes).cause() == errc::invalid_value);
    }
    SECTION("huge cloud count and truncation") {
        const crdt::error e = decode_error(encoded(v3, std::uint64_t{1} << 50, {{a, 5}}));
        CHECK(e.cause() == errc::length_out_of_range);
        CHECK(e.offset() == std::optional<std::size_t>(10));
        const auto full = encoded(v3, 2, {{a, 5}, {b, 2}});
        CHECK(decode_error({full.begin(), full.end() - 1}).cause() == errc::truncated);
        for (std::size_t n = 0; n < full.size(); ++n) {
            CAPTURE(n);
            const crdt::error t =
                decode_error({full.begin(), full.begin() + static_cast<std::ptrdiff_t>(n)});
            CHECK((t.cause() == errc::truncated || t.cause() == errc::length_out_of_range));
        }
    }
}

TEST_CASE("causal_context: mutators are strongly exception safe") {
    // throwing_id's copies throw std::bad_alloc on demand, as an agent_id's
    // string copy can; after a throw the context must be unchanged (and so
    // still satisfy its invariant).
    using R = core_test::throwing_id;
    const std::uint64_t seed = crdt_test::seed(35);
    CAPTURE(seed);
    std::mt19937_64 rng(seed);
    const std::vector<R> replicas{R(1), R(2), R(3), R(4), R(5), R(6)};
    auto random_context = [&] {
        context<R> c;
        const auto n = core_test::uniform(rng, 0, 25);
        for (std::uint64_t i = 0; i < n; ++i) {
            c.insert(random_dot(rng, replicas));
        }
        return c;
    };
    int throws = 0;
    for (int round = 0; round < 40; ++round) {
        CAPTURE(round);
        const context<R> a = random_context();
        const context<R> b = random_context();
        crdt::basic_version_vector<R> v;
        v.set(replicas[core_test::uniform(rng, 0, 5)], core_test::uniform(rng, 1, max_counter));
        v.set(R(9), 2);
        const dot<R> d = random_dot(rng, replicas);
        auto unchanged = [&](const context<R>& state) {
            REQUIRE(state == a);
            state.verify();
        };
        throws += core_test::inject_copy_failures(
            a, [&](context<R>& s) { s.merge(b); }, unchanged);
        throws += core_test::inject_copy_failures(
            a, [&](context<R>& s) { s.merge(v); }, unchanged);
        throws += core_test::inject_copy_failures(
            a, [&](context<R>& s) { (void)s.insert(d); }, unchanged);
        throws += core_test::inject_copy_failures(
            a, [&](context<R>& s) { (void)s.next_dot(R(7)); }, unchanged);
    }
    CHECK(throws > 0);
}
