// Tests for crdt/testing/arbitrary.hpp: the RapidCheck generators produce
// valid values of the core types, which round-trip through their codecs,
// and draw replicas from a shared pool.
#include <crdt/codec/utf8.hpp>
#include <crdt/core/causal_context.hpp>
#include <crdt/core/dot.hpp>
#include <crdt/core/hybrid_logical_clock.hpp>
#include <crdt/core/replica_id.hpp>
#include <crdt/core/version_vector.hpp>
#include <crdt/testing/arbitrary.hpp>
#include <crdt/testing/codec_laws.hpp>
#include <crdt/testing/laws.hpp>

#include <support/seed.hpp>

#include <catch2/catch.hpp>
#include <rapidcheck.h>
#include <rapidcheck/catch.h>

#include <cstddef>
#include <cstdint>
#include <set>

namespace {

template <class R>
void require_valid_version(const crdt::basic_version_vector<R>& v) {
    const R* previous = nullptr;
    for (const auto& e : v) {
        RC_ASSERT(e.counter >= 1u);
        if (previous != nullptr) {
            RC_ASSERT(*previous < e.replica);
        }
        previous = &e.replica;
    }
}

template <class R>
void require_valid_context(const crdt::basic_causal_context<R>& c) {
    c.verify(); // aborts through CRDT_ASSERT if the invariant is broken
    require_valid_version(c.version());
    for (const auto& d : c.cloud()) {
        RC_ASSERT(d.counter > c.version().get(d.replica) + 1);
        RC_ASSERT(c.contains(d));
    }
}

} // namespace

TEST_CASE("arbitrary: replica ids") {
    rc::prop("replica_id round-trips",
             [](crdt::replica_id id) { crdt::testing::check_round_trip(id); });
    rc::prop("replica_id128 round-trips", [](crdt::replica_id128 id) {
        RC_ASSERT(id.high() < 4u);
        RC_ASSERT(id.low() < 4u);
        crdt::testing::check_round_trip(id);
    });
    rc::prop("agent_id is valid UTF-8 and round-trips", [](const crdt::agent_id& id) {
        RC_ASSERT(crdt::utf8::is_valid(id.name()));
        RC_ASSERT(id.name().size() <= crdt::agent_id::max_length);
        crdt::testing::check_round_trip(id);
    });
}

TEST_CASE("arbitrary: replica ids come mostly from a shared pool") {
    const auto seed = crdt_test::seed(60);
    CAPTURE(seed);
    const auto gen = rc::gen::arbitrary<crdt::replica_id>();
    rc::Random random(seed);
    std::set<std::uint64_t> distinct;
    std::size_t pooled = 0;
    constexpr int samples = 400;
    for (int i = 0; i < samples; ++i) {
        const auto id = gen(random.split(), rc::kNominalSize).value();
        distinct.insert(id.value());
        pooled += (id.value() >= 1 && id.value() <= 8) ? 1u : 0u;
    }
    // About half come from the pool of 8: values repeat across draws.
    REQUIRE(pooled > samples / 4);
    REQUIRE(distinct.size() < samples);
    REQUIRE(distinct.size() > 8);
}

TEST_CASE("arbitrary: dots and timestamps") {
    rc::prop("dot counters are in [1, 40) and round-trip", [](const crdt::dot& d) {
        RC_ASSERT(d.counter >= 1u);
        RC_ASSERT(d.counter < 40u);
        crdt::testing::check_round_trip(d);
    });
    rc::prop("hlc_timestamp round-trips",
             [](const crdt::hlc_timestamp& t) { crdt::testing::check_round_trip(t); });
}

TEST_CASE("arbitrary: version vectors are valid and round-trip") {
    rc::prop("version_vector", [](const crdt::version_vector& v) {
        require_valid_version(v);
        crdt::testing::check_round_trip(v);
    });
    rc::prop("version_vector over replica_id128",
             [](const crdt::basic_version_vector<crdt::replica_id128>& v) {
                 require_valid_version(v);
                 crdt::testing::check_round_trip(v);
             });
    rc::prop("version_vector over agent_id",
             [](const crdt::basic_version_vector<crdt::agent_id>& v) {
                 require_valid_version(v);
                 crdt::testing::check_round_trip(v);
             });
}

TEST_CASE("arbitrary: causal contexts satisfy their invariant and round-trip") {
    rc::prop("causal_context", [](const crdt::causal_context& c) {
        require_valid_context(c);
        crdt::testing::check_round_trip(c);
    });
    rc::prop("causal_context over agent_id",
             [](const crdt::basic_causal_context<crdt::agent_id>& c) {
                 require_valid_context(c);
                 crdt::testing::check_round_trip(c);
             });
    rc::prop("merged contexts stay valid and lawful",
             [](const crdt::causal_context& a, const crdt::causal_context& b,
                const crdt::causal_context& c) {
                 crdt::testing::check_semilattice(a, b, c);
                 auto merged = a;
                 merged.merge(b);
                 require_valid_context(merged);
             });
}

TEST_CASE("arbitrary: generated values exercise the interesting cases") {
    // Over a batch of generated contexts, some must have a cloud (dots past
    // a gap) and some vectors must share replicas; otherwise the generators
    // would not reach the code paths the property tests rely on.
    const auto seed = crdt_test::seed(61);
    CAPTURE(seed);
    rc::Random random(seed);
    const auto contexts = rc::gen::arbitrary<crdt::causal_context>();
    const auto versions = rc::gen::arbitrary<crdt::version_vector>();
    std::size_t with_cloud = 0;
    std::size_t sharing = 0;
    for (int i = 0; i < 100; ++i) {
        const auto c = contexts(random.split(), 30).value();
        with_cloud += c.is_compact() ? 0u : 1u;
        const auto a = versions(random.split(), 30).value();
        const auto b = versions(random.split(), 30).value();
        bool shared = false;
        for (const auto& e : a) {
            shared = shared || b.get(e.replica) != 0;
        }
        sharing += shared ? 1u : 0u;
    }
    REQUIRE(with_cloud > 10);
    REQUIRE(sharing > 10);
}
