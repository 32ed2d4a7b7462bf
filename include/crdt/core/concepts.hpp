// crdt/core/concepts.hpp -- the base concepts of crdt's causality core.
//
// Small named concepts, each with its laws stated here and checked by the
// law checkers in crdt/testing/ (laws.hpp, codec_laws.hpp).
#pragma once

#include <crdt/codec/codec.hpp>
#include <crdt/core/config.hpp>

#include <concepts>
#include <cstddef>
#include <functional>

CRDT_BEGIN_NAMESPACE

/// A type usable as a key of std::unordered_map through std::hash.
/// Law: a == b implies std::hash<T>{}(a) == std::hash<T>{}(b).
template <class T>
concept hashable = requires(const T& v) {
    { std::hash<T>{}(v) } -> std::convertible_to<std::size_t>;
};

/// What a replica identifier must be: a regular value with a total order
/// (every replica must break ties the same way), a hash, and a codec.
/// Models: crdt::replica_id (64-bit), crdt::replica_id128 (random 128-bit),
/// crdt::agent_id (a UTF-8 agent name, ordered byte-wise).
/// Laws: `<=>` is a strong total order consistent with `==`; the encoding
/// round-trips (crdt::testing::check_round_trip); the order of two ids does not
/// depend on the machine that compares them.
template <class R>
concept replica_identifier =
    std::regular<R> && std::totally_ordered<R> && hashable<R> && encodable<R>;

/// A state that joins with another state of its type: `a.merge(b)` replaces
/// `a` with the least upper bound of `a` and `b`.
/// Laws (crdt::testing::check_semilattice):
///   commutative  a.merge(b) == b.merge(a) (as resulting states);
///   associative  (a.merge(b)).merge(c) == a.merge(b.merge(c));
///   idempotent   a.merge(a) == a.
template <class T>
concept mergeable = std::copyable<T> && std::equality_comparable<T> && requires(T& a, const T& b) {
    a.merge(b);
};

CRDT_END_NAMESPACE
