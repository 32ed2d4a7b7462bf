// Shared helpers of the replicated-type tests: a small network simulator
// (random operations on N replicas, deltas delivered in random order with
// duplicates and drops, then a full sync through delta_since), and the law
// checks every type runs.
#pragma once

#include "support/seed.hpp"

#include <crdt/codec/codec.hpp>
#include <crdt/core/replica_id.hpp>
#include <crdt/testing/codec_laws.hpp>
#include <crdt/testing/laws.hpp>

#include <catch2/catch.hpp>

#include <cstddef>
#include <cstdint>
#include <random>
#include <utility>
#include <vector>

namespace types_test {

/// The outcome of one simulated run.
template <class T>
struct run {
    std::vector<T> replicas;  ///< final states, after the full sync
    std::vector<T> snapshots; ///< intermediate states (before the sync)
    std::vector<T> deltas;    ///< every delta produced, in production order
};

/// Effects: `replicas` replicas (ids 1..n, made by make(id)) apply `steps`
///   random operations (op(T&, rng) returns the delta); deltas are delivered
///   to random replicas, shuffled, sometimes twice, sometimes never; at the
///   end every replica sends delta_since to replica 0 and back.
template <class T, class Make, class Op>
run<T> simulate(std::uint64_t seed, std::size_t replicas, std::size_t steps, Make make, Op op) {
    std::mt19937_64 rng(seed);
    run<T> out;
    for (std::size_t i = 0; i < replicas; ++i) {
        out.replicas.push_back(make(crdt::replica_id(i + 1)));
    }
    struct in_flight {
        std::size_t to;
        std::size_t delta;
    };
    std::vector<in_flight> queue;
    for (std::size_t s = 0; s < steps; ++s) {
        const std::size_t r = static_cast<std::size_t>(rng() % replicas);
        out.deltas.push_back(op(out.replicas[r], rng));
        for (std::size_t to = 0; to < replicas; ++to) {
            if (to != r && rng() % 5 != 0) { // about 20% dropped
                queue.push_back({to, out.deltas.size() - 1});
                if (rng() % 6 == 0) {
                    queue.push_back({to, out.deltas.size() - 1}); // duplicate
                }
            }
        }
        // Deliver a random part of the queue in random order.
        std::shuffle(queue.begin(), queue.end(), rng);
        const std::size_t n =
            queue.empty() ? 0 : static_cast<std::size_t>(rng() % (queue.size() + 1));
        for (std::size_t i = 0; i < n; ++i) {
            out.replicas[queue.back().to].merge(out.deltas[queue.back().delta]);
            queue.pop_back();
        }
        if (rng() % 16 == 0) {
            out.snapshots.push_back(out.replicas[r]);
        }
    }
    for (std::size_t i = 0; i < replicas; ++i) {
        out.snapshots.push_back(out.replicas[i]);
    }
    // Full sync: everyone to replica 0, then replica 0 to everyone.
    for (std::size_t i = 1; i < replicas; ++i) {
        out.replicas[0].merge(out.replicas[i].delta_since(out.replicas[0].version()));
    }
    for (std::size_t i = 1; i < replicas; ++i) {
        out.replicas[i].merge(out.replicas[0].delta_since(out.replicas[i].version()));
    }
    return out;
}

/// Effects: the checks every type passes on a simulated run: all replicas
///   equal after the sync; the semilattice laws on intermediate states;
///   convergence of the deltas under shuffled duplicated delivery; the codec
///   laws on states and deltas (including delta_since deltas).
template <class T>
void check_run(const run<T>& r, std::uint64_t seed) {
    for (std::size_t i = 1; i < r.replicas.size(); ++i) {
        REQUIRE(r.replicas[i] == r.replicas[0]);
    }
    const auto& s = r.snapshots;
    for (std::size_t i = 0; i + 2 < s.size(); i += 2) {
        REQUIRE_NOTHROW(crdt::testing::check_semilattice(s[i], s[i + 1], s[i + 2]));
    }
    REQUIRE_NOTHROW(crdt::testing::check_convergence(T{}, r.deltas, seed, 3));
    T all;
    for (const auto& d : r.deltas) {
        all.merge(d);
    }
    // Every delta joined together is the synced state when nothing else
    // (no purge) happened.
    std::vector<std::vector<std::byte>> samples;
    for (std::size_t i = 0; i < r.deltas.size(); i += 7) {
        REQUIRE_NOTHROW(crdt::testing::check_round_trip(r.deltas[i]));
        samples.push_back(crdt::encode(r.deltas[i]));
    }
    for (const auto& x : s) {
        REQUIRE_NOTHROW(crdt::testing::check_round_trip(x));
        const auto d = r.replicas[0].delta_since(x.version());
        REQUIRE_NOTHROW(crdt::testing::check_round_trip(d));
        samples.push_back(crdt::encode(d));
        // delta_since brings x up to the synced state.
        T y = x;
        y.merge(d);
        REQUIRE(y == r.replicas[0]);
    }
    REQUIRE_NOTHROW(crdt::testing::check_decoder_robustness<T>(samples, seed, 300));
    REQUIRE(all == r.replicas[0]);
}

} // namespace types_test
