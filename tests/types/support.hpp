// Shared helpers of the replicated-type tests: a small network simulator
// (random operations on N replicas, deltas delivered in random order with
// duplicates and drops, then a full sync through delta_since), and the law
// checks every type runs.
#pragma once

#include "support/seed.hpp"

#include <crdt/codec/codec.hpp>
#include <crdt/core/error.hpp>
#include <crdt/core/replica_id.hpp>
#include <crdt/detail/dot_store/causal_base.hpp>
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

/// How two delta_since deltas join. Dot stores (sets, maps, counters,
/// registers) describe with their keep sets every dot they leave out, so
/// their joins are a semilattice of values. An lww_map delta describes what
/// it leaves out by a base version, which a join can only over-state: joins
/// in different orders hold the same writes and context but may differ in
/// base, and a replica that reached the bases applies them alike.
enum class delta_joins { values, applied };

/// Effects: checks that delta_since deltas (which carry keep sets) join like
///   states: the joins of deltas made between random snapshots are a
///   semilattice (delta_joins::values); a replica that reached both deltas' versions merges their
///   join as it merges them one by one; a replica that has not reached a
///   delta's version either merges it (if the delta keeps no dot it lacks)
///   or refuses it with errc::causality_gap and stays unchanged.
template <class T>
void check_delta_since_joins(const run<T>& r, delta_joins joins) {
    const auto& s = r.snapshots;
    if (s.size() < 3) {
        return;
    }
    const std::size_t n = s.size();
    std::vector<T> deltas;
    for (std::size_t i = 0; i < n; ++i) {
        deltas.push_back(s[(i * 7 + 3) % n].delta_since(s[i].version()));
    }
    for (std::size_t i = 0; joins == delta_joins::values && i + 2 < n; ++i) {
        REQUIRE_NOTHROW(crdt::testing::check_semilattice(deltas[i], deltas[i + 1], deltas[i + 2]));
        for (const auto& d : {deltas[i], deltas[i + 1]}) {
            d.verify();
        }
    }
    for (std::size_t i = 0; i < n; ++i) {
        // Two deltas for s[i]'s version, from different snapshots.
        const T a = s[(i * 7 + 3) % n].delta_since(s[i].version());
        const T b = s[(i * 5 + 1) % n].delta_since(s[i].version());
        T one_by_one = s[i];
        one_by_one.merge(a);
        one_by_one.merge(b);
        T joined = a;
        joined.merge(b);
        T at_once = s[i];
        at_once.merge(joined);
        REQUIRE(at_once == one_by_one);
        at_once.verify();
        T joined_reversed = b;
        joined_reversed.merge(a);
        T reversed = s[i];
        reversed.merge(joined_reversed);
        REQUIRE(reversed == one_by_one);
        // Joined with a mutator delta too (buffered, forwarded deltas).
        if (!r.deltas.empty()) {
            const T& m = r.deltas[i % r.deltas.size()];
            T buffered = joined;
            buffered.merge(m);
            T direct = one_by_one;
            direct.merge(m);
            T y = s[i];
            y.merge(buffered); // s[i] reached both bases; m asks for none
            REQUIRE(y == direct);
        }
        // A delta for another snapshot's version.
        const T c = s[(i * 3 + 2) % n].delta_since(s[(i + 1) % n].version());
        T y = s[i];
        try {
            y.merge(c);
            y.verify();
        } catch (const crdt::error& e) {
            REQUIRE(e.cause() == crdt::errc::causality_gap);
            REQUIRE(y == s[i]);
        }
    }
}

/// Returns: the state `x.merge(d)` must reach, computed by the kernel's full
///   join (every key visited): the reference for merge()'s sparse path.
template <class T>
auto full_join(const T& x, const T& d) {
    using crdt::detail::dot_store::access;
    auto s = access::state(x);
    const auto& o = access::state(d);
    s.store.join(&o.store, s.view(), o.view());
    s.ctx.merge(o.ctx);
    return s;
}

/// Effects: three replicas (make(id)) share a large state (`initial` ops of
///   replica 1), then apply `steps` random ops (op(T&, rng) returns the
///   delta), each delta delivered at once to each other replica with
///   probability 4/5. Every merge must equal the full join and pass
///   verify(); at least one replica must have built its merge index (so the
///   sparse path ran). Ends with a full sync: all replicas equal.
template <class T, class Make, class Op>
void check_sparse_merges(std::uint64_t seed, Make make, Op op, std::size_t initial,
                         std::size_t steps) {
    using crdt::detail::dot_store::access;
    std::mt19937_64 rng(seed);
    std::vector<T> reps;
    for (std::uint64_t i = 1; i <= 3; ++i) {
        reps.push_back(make(crdt::replica_id(i)));
    }
    for (std::size_t i = 0; i < initial; ++i) {
        op(reps[0], rng);
    }
    reps[1].merge(reps[0]);
    reps[2].merge(reps[0]);
    bool indexed = false;
    for (std::size_t step = 0; step < steps; ++step) {
        const std::size_t r = static_cast<std::size_t>(rng() % 3);
        const T d = op(reps[r], rng);
        reps[r].verify();
        for (std::size_t to = 0; to < 3; ++to) {
            if (to == r || rng() % 5 == 0) {
                continue;
            }
            const auto expected = full_join(reps[to], d);
            reps[to].merge(d);
            REQUIRE(access::state(reps[to]) == expected);
            reps[to].verify();
            indexed = indexed || access::state(reps[to]).index.enabled();
        }
    }
    REQUIRE(indexed);
    for (std::size_t i = 1; i < 3; ++i) {
        reps[0].merge(reps[i].delta_since(reps[0].version()));
    }
    for (std::size_t i = 1; i < 3; ++i) {
        reps[i].merge(reps[0].delta_since(reps[i].version()));
        REQUIRE(reps[i] == reps[0]);
        reps[i].verify();
    }
}

/// Effects: the checks every type passes on a simulated run: all replicas
///   equal after the sync; the semilattice laws on intermediate states;
///   convergence of the deltas under shuffled duplicated delivery; the codec
///   laws on states and deltas (including delta_since deltas).
template <class T>
void check_run(const run<T>& r, std::uint64_t seed, delta_joins joins = delta_joins::values) {
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
    for (const auto& x : r.replicas) {
        x.verify();
    }
    check_delta_since_joins(r, joins);
}

} // namespace types_test
