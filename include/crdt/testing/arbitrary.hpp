// crdt/testing/arbitrary.hpp -- RapidCheck generators for crdt's core types.
//
// Include in property tests (needs RapidCheck: Debian librapidcheck-dev).
// Replica ids are drawn from a small pool so that generated versions share
// replicas, which is where version-vector and context bugs live.
//
//   rc::prop("merge is commutative", [](crdt::version_vector a, crdt::version_vector b) {...});
#pragma once

#include <crdt/core/causal_context.hpp>
#include <crdt/core/config.hpp>
#include <crdt/core/dot.hpp>
#include <crdt/core/hybrid_logical_clock.hpp>
#include <crdt/core/replica_id.hpp>
#include <crdt/core/version_vector.hpp>

#include <rapidcheck.h>

#include <cstdint>
#include <string>
#include <vector>

namespace rc {

template <>
struct Arbitrary<crdt::replica_id> {
    static Gen<crdt::replica_id> arbitrary() {
        // Mostly a pool of 8 ids (shared between values), sometimes any id.
        return gen::oneOf(gen::map(gen::inRange<std::uint64_t>(1, 9),
                                   [](std::uint64_t v) { return crdt::replica_id(v); }),
                          gen::map(gen::arbitrary<std::uint64_t>(),
                                   [](std::uint64_t v) { return crdt::replica_id(v); }));
    }
};

template <>
struct Arbitrary<crdt::replica_id128> {
    static Gen<crdt::replica_id128> arbitrary() {
        return gen::map(
            gen::pair(gen::inRange<std::uint64_t>(0, 4), gen::arbitrary<std::uint64_t>()),
            [](std::pair<std::uint64_t, std::uint64_t> p) {
                return crdt::replica_id128(p.first, p.second % 4);
            });
    }
};

template <>
struct Arbitrary<crdt::agent_id> {
    static Gen<crdt::agent_id> arbitrary() {
        return gen::map(
            gen::element<std::string>("a", "b", "c", "alice", "bob", "\xc3\xa9t\xc3\xa9", "Z", ""),
            [](const std::string& s) { return crdt::agent_id(s); });
    }
};

template <class R>
struct Arbitrary<crdt::basic_dot<R>> {
    static Gen<crdt::basic_dot<R>> arbitrary() {
        return gen::map(gen::pair(gen::arbitrary<R>(), gen::inRange<std::uint64_t>(1, 40)),
                        [](const std::pair<R, std::uint64_t>& p) {
                            return crdt::basic_dot<R>{p.first, p.second};
                        });
    }
};

template <class R>
struct Arbitrary<crdt::basic_version_vector<R>> {
    static Gen<crdt::basic_version_vector<R>> arbitrary() {
        return gen::map(
            gen::container<std::vector<crdt::basic_dot<R>>>(gen::arbitrary<crdt::basic_dot<R>>()),
            [](const std::vector<crdt::basic_dot<R>>& dots) {
                crdt::basic_version_vector<R> v;
                for (const auto& d : dots) {
                    v.advance(d);
                }
                return v;
            });
    }
};

template <class R>
struct Arbitrary<crdt::basic_causal_context<R>> {
    static Gen<crdt::basic_causal_context<R>> arbitrary() {
        return gen::map(
            gen::container<std::vector<crdt::basic_dot<R>>>(gen::arbitrary<crdt::basic_dot<R>>()),
            [](const std::vector<crdt::basic_dot<R>>& dots) {
                crdt::basic_causal_context<R> c;
                for (const auto& d : dots) {
                    c.insert(d);
                }
                return c;
            });
    }
};

template <>
struct Arbitrary<crdt::hlc_timestamp> {
    static Gen<crdt::hlc_timestamp> arbitrary() {
        return gen::map(gen::pair(gen::arbitrary<std::uint64_t>(), gen::arbitrary<std::uint32_t>()),
                        [](std::pair<std::uint64_t, std::uint32_t> p) {
                            return crdt::hlc_timestamp{p.first, p.second};
                        });
    }
};

} // namespace rc
