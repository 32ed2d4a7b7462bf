// Tests of crdt/lww_map.hpp: laws, convergence against a naive model of
// latest writes, tombstones and their purge, ties, HLC skew, codec.
#include "support.hpp"

#include <crdt/lww_map.hpp>
#include <crdt/value.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <tuple>
#include <vector>

namespace {

struct manual_wall {
    std::shared_ptr<std::uint64_t> ms = std::make_shared<std::uint64_t>(5'000'000);
    std::uint64_t operator()() const noexcept { return *ms; }
};

struct caller_policy : crdt::lww_map_defaults {
    using clock = crdt::caller_timestamps<std::uint64_t>;
};
struct caller_smaller_policy : caller_policy {
    using tie_break = crdt::smaller_replica_wins;
};
struct hlc_policy : crdt::lww_map_defaults {
    using clock = crdt::hlc_timestamps<manual_wall>;
};

// One write as the model sees it.
template <class TS>
struct write {
    std::optional<int> value; // nullopt: an erase
    TS ts;
    std::uint64_t replica;
    std::uint64_t counter;
};

// The naive model: per key, the write with the largest (ts, replica by the
// tie-break, counter).
template <class TS, bool LargerWins>
struct model {
    std::map<int, write<TS>> latest;

    static bool later(const write<TS>& a, const write<TS>& b) {
        if (a.ts != b.ts) {
            return b.ts < a.ts;
        }
        if (a.replica != b.replica) {
            return LargerWins ? a.replica > b.replica : a.replica < b.replica;
        }
        return a.counter > b.counter;
    }
    void apply(int k, const write<TS>& w) {
        auto it = latest.find(k);
        if (it == latest.end() || later(w, it->second)) {
            latest[k] = w;
        }
    }
    template <class M>
    void check(const M& m) const {
        std::size_t live = 0;
        for (const auto& [k, w] : latest) {
            CAPTURE(k);
            if (w.value) {
                ++live;
                REQUIRE(m.get(k) != nullptr);
                REQUIRE(*m.get(k) == *w.value);
            } else {
                REQUIRE_FALSE(m.contains(k));
            }
        }
        REQUIRE(m.size() == live);
    }
};

// Runs random sets/erases and checks convergence, the laws, and the model.
template <class M, bool LargerWins, class NextTs>
void run_against_model(std::uint64_t seed, std::size_t replicas, NextTs next_ts) {
    using TS = typename M::timestamp_type;
    model<TS, LargerWins> expected;
    auto r = types_test::simulate<M>(
        seed, replicas, 120, [](crdt::replica_id id) { return M(id); },
        [&](M& m, std::mt19937_64& rng) {
            const int k = static_cast<int>(rng() % 16);
            const bool erase = rng() % 4 == 0;
            const int v = static_cast<int>(rng() % 1000);
            M d;
            if constexpr (M::policy_type::clock::caller_supplied) {
                const TS ts = next_ts(rng);
                d = erase ? m.erase(k, ts) : m.set(k, v, ts);
            } else {
                d = erase ? m.erase(k) : m.set(k, v);
            }
            const std::uint64_t counter = m.version().get(*m.replica());
            expected.apply(k, write<TS>{erase ? std::nullopt : std::optional<int>(v),
                                        *d.timestamp(k), m.replica()->value(), counter});
            return d;
        });
    types_test::check_run(r, seed, types_test::delta_joins::applied);
    for (const auto& m : r.replicas) {
        expected.check(m);
    }
}

} // namespace

TEST_CASE("lww_map: Lamport clocks -- converges to the latest writes", "[types][lww_map]") {
    for (std::uint64_t round = 0; round < 4; ++round) {
        const std::uint64_t seed = crdt_test::seed(600 + round);
        CAPTURE(seed);
        run_against_model<crdt::lww_map<int, int>, true>(seed, 2 + round, [](auto&) { return 0; });
    }
}

TEST_CASE("lww_map: caller timestamps with many ties -- converges to the latest writes",
          "[types][lww_map]") {
    for (std::uint64_t round = 0; round < 4; ++round) {
        const std::uint64_t seed = crdt_test::seed(700 + round);
        CAPTURE(seed);
        auto ts = [](std::mt19937_64& rng) { return std::uint64_t{rng() % 8}; };
        run_against_model<crdt::lww_map<int, int, caller_policy>, true>(seed, 2 + round, ts);
        run_against_model<crdt::lww_map<int, int, caller_smaller_policy>, false>(seed, 2 + round,
                                                                                 ts);
    }
}

TEST_CASE("lww_map: HLC clocks -- converges to the latest writes", "[types][lww_map]") {
    const std::uint64_t seed = crdt_test::seed(800);
    CAPTURE(seed);
    run_against_model<crdt::lww_map<int, int, hlc_policy>, true>(seed, 3, [](auto&) { return 0; });
}

TEST_CASE("lww_map: a later set revives an erased key, an earlier one does not",
          "[types][lww_map]") {
    using M = crdt::lww_map<std::string, std::string, caller_policy>;
    M a(crdt::replica_id(1));
    M b(crdt::replica_id(2));
    M c(crdt::replica_id(3));
    const auto set1 = a.set("k", "v1", 1);
    const auto erase10 = b.erase("k", 10);
    const auto set5 = c.set("k", "v5", 5);
    const auto set15 = c.set("k", "v15", 15);
    // Every delivery order gives the same answers.
    std::vector<M> deltas{set1, erase10, set5};
    std::sort(deltas.begin(), deltas.end(),
              [](const M& x, const M& y) { return crdt::encode(x) < crdt::encode(y); });
    do {
        M m;
        for (const auto& d : deltas) {
            m.merge(d);
        }
        REQUIRE_FALSE(m.contains("k"));
        REQUIRE(m.tombstones() == 1);
        m.merge(set15);
        REQUIRE(*m.get("k") == "v15");
    } while (std::next_permutation(deltas.begin(), deltas.end(), [](const M& x, const M& y) {
        return crdt::encode(x) < crdt::encode(y);
    }));
}

TEST_CASE("lww_map: equal timestamps are broken by replica id, identically everywhere",
          "[types][lww_map]") {
    using M = crdt::lww_map<int, std::string, caller_policy>;
    M a(crdt::replica_id(7));
    M b(crdt::replica_id(3));
    const auto da = a.set(1, "seven", 100);
    const auto db = b.set(1, "three", 100);
    a.merge(db);
    b.merge(da);
    REQUIRE(*a.get(1) == "seven");
    REQUIRE(*b.get(1) == "seven");
    REQUIRE(a == b);
}

TEST_CASE("lww_map: HLC skew is rejected and the map is unchanged", "[types][lww_map]") {
    using M = crdt::lww_map<std::string, int, hlc_policy>;
    manual_wall wa;
    manual_wall wb;
    M a(crdt::replica_id(1), M::clock_type(wa, std::chrono::milliseconds(500)));
    M b(crdt::replica_id(2), M::clock_type(wb, std::chrono::milliseconds(500)));
    a.set("x", 1);
    *wb.ms += 10'000;
    const auto d = b.set("x", 2);
    const auto before = a;
    try {
        a.merge(d);
        FAIL("a timestamp 10 s ahead was accepted with a 500 ms bound");
    } catch (const crdt::error& e) {
        REQUIRE(e.cause() == crdt::errc::clock_skew);
    }
    REQUIRE(a == before);
    REQUIRE(*a.get("x") == 1);
}

TEST_CASE("lww_map: purging stable tombstones never resurrects data", "[types][lww_map]") {
    using M = crdt::lww_map<int, int>;
    for (std::uint64_t round = 0; round < 3; ++round) {
        const std::uint64_t seed = crdt_test::seed(900 + round);
        CAPTURE(seed);
        auto r = types_test::simulate<M>(
            seed, 3, 150, [](crdt::replica_id id) { return M(id); },
            [](M& m, std::mt19937_64& rng) {
                const int k = static_cast<int>(rng() % 20);
                return rng() % 3 == 0 ? m.erase(k) : m.set(k, static_cast<int>(rng() % 100));
            });
        auto& reps = r.replicas;
        const auto synced = reps[0];
        REQUIRE(synced.tombstones() > 0);
        // Every replica has merged every other: the common version is stable.
        const auto stable = synced.version();
        for (auto& m : reps) {
            REQUIRE(m.purge_tombstones(stable) == synced.tombstones());
            REQUIRE(m.tombstones() == 0);
        }
        // Late duplicates of every old delta, in random order: nothing comes back.
        std::mt19937_64 rng(seed);
        auto old = r.deltas;
        for (auto& m : reps) {
            std::shuffle(old.begin(), old.end(), rng);
            for (const auto& d : old) {
                m.merge(d);
            }
            REQUIRE(m.size() == synced.size());
            for (auto [k, v] : synced.entries()) {
                REQUIRE(*m.get(k) == v);
            }
            REQUIRE(m.tombstones() == 0);
        }
        // And so do full states of replicas that had not purged.
        reps[1].merge(synced);
        REQUIRE(reps[1].size() == synced.size());
        // Replicas keep converging afterwards.
        const auto d = reps[2].set(1000, 1);
        reps[0].merge(d);
        reps[1].merge(reps[0].delta_since(reps[1].version()));
        REQUIRE(reps[1].contains(1000));
    }
}

TEST_CASE("lww_map: delta_since sends only what the peer lacks", "[types][lww_map]") {
    crdt::lww_map<std::uint64_t, std::uint64_t> a(crdt::replica_id(1));
    crdt::lww_map<std::uint64_t, std::uint64_t> b(crdt::replica_id(2));
    for (std::uint64_t i = 0; i < 100; ++i) {
        a.set(i, i);
    }
    b.merge(a);
    a.set(5, 50);
    a.erase(6);
    const auto d = a.delta_since(b.version());
    REQUIRE(d.size() + d.tombstones() == 2);
    b.merge(d);
    REQUIRE(b == a);
    REQUIRE(*b.get(5) == 50);
    REQUIRE_FALSE(b.contains(6));
}

TEST_CASE("lww_map: views and dynamic values", "[types][lww_map]") {
    crdt::lww_map<std::string, crdt::value> m(crdt::replica_id(1));
    m.set("name", "Alice");
    m.set("age", 30);
    m.set("tmp", nullptr);
    m.erase("tmp");
    std::vector<std::string> keys(m.keys().begin(), m.keys().end());
    REQUIRE(keys == std::vector<std::string>{"name", "age"});
    std::size_t n = 0;
    for (auto [k, v] : m.entries()) {
        REQUIRE(*m.get(k) == v);
        ++n;
    }
    REQUIRE(n == 2);
    REQUIRE(std::distance(m.values().begin(), m.values().end()) == 2);
}

TEST_CASE("lww_map: decoding garbage or truncated deltas raises crdt::error", "[types][lww_map]") {
    using M = crdt::lww_map<std::string, std::string>;
    M a(crdt::replica_id(1));
    const auto d = a.set("key", "value");
    a.erase("key");
    for (const auto& bytes : {crdt::encode(d), crdt::encode(a)}) {
        for (std::size_t n = 0; n < bytes.size(); ++n) {
            REQUIRE_THROWS_AS(crdt::decode<M>(std::span<const std::byte>(bytes.data(), n)),
                              crdt::error);
        }
    }
    REQUIRE_NOTHROW(crdt::testing::check_decoder_robustness<M>({crdt::encode(d), crdt::encode(a)},
                                                               crdt_test::seed(11), 3000));
}

TEST_CASE("lww_map: a delta_since(v) delta needs a replica that has reached v; deltas compose",
          "[types][lww_map]") {
    crdt::lww_map<int, int> a(crdt::replica_id(1));
    crdt::lww_map<int, int> peer(crdt::replica_id(2));
    crdt::lww_map<int, int> behind(crdt::replica_id(3));
    const auto first = a.set(1, 10);
    peer.merge(a);
    a.set(2, 20);
    const auto d = a.delta_since(peer.version()); // leaves out key 1's write
    REQUIRE(d.get(1) == nullptr);
    const auto before = behind;
    try {
        behind.merge(d);
        FAIL("merge accepted a delta for a version the replica has not reached");
    } catch (const crdt::error& e) {
        REQUIRE(e.cause() == crdt::errc::causality_gap);
    }
    REQUIRE(behind == before);
    behind.verify();
    // A delta holder joins it with the write it leaves out; the result
    // brings `behind` up to date, whatever the order of the joins.
    crdt::lww_map<int, int> buffer;
    buffer.merge(d);
    buffer.merge(first);
    crdt::lww_map<int, int> reversed;
    reversed.merge(first);
    reversed.merge(d);
    REQUIRE(buffer == reversed);
    behind.merge(buffer);
    REQUIRE(behind == a);
    REQUIRE(*behind.get(1) == 10);
    behind.verify();
}
