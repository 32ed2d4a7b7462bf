// crdt/sync/concepts.hpp -- what the sync protocol needs of a replicated type.
//
// A type T is syncable when, for `T t`, `const T& c`, `version_type v`:
//   c.version() -> const version_type&     what t has seen, as a version
//                                          vector (version_type has a codec
//                                          and includes());
//   c.delta_since(v) -> T                  what a peer at `v` lacks;
//   t.merge(c)                             join a delta or a state;
//   codec<T>                               encode and decode deltas/states.
// Laws (those of the replicated types, crdt/testing/laws.hpp):
//   S1 merge is idempotent, commutative and associative on states;
//   S2 if `p.version()` includes `v`, then after `p.merge(q.delta_since(v))`
//      `p.version()` includes `q.version()` and p holds everything q holds;
//   S3 a delta made by a mutator may be merged in any order with other
//      deltas when `T::mutator_deltas_commute` is true; otherwise it must
//      be merged after the version its replica had before the mutation
//      (the protocol then sends that version as the delta's base).
//
// Thread safety and exception safety: not applicable (concepts only).
#pragma once

#include <crdt/codec/codec.hpp>
#include <crdt/core/config.hpp>

#include <concepts>

CRDT_BEGIN_NAMESPACE

/// A replicated type the sync protocol and replica can carry (laws above).
template <class T>
concept syncable = encodable<T> && encodable<typename T::version_type> &&
    requires(T& t, const T& c, const typename T::version_type& v) {
    { c.version() } -> std::convertible_to<const typename T::version_type&>;
    { c.delta_since(v) } -> std::same_as<T>;
    t.merge(c);
    { v.includes(v) } -> std::same_as<bool>;
};

/// Whether T's mutator deltas may be merged in any order (law S3).
template <class T>
inline constexpr bool mutator_deltas_commute = [] {
    if constexpr (requires { T::mutator_deltas_commute; }) {
        return static_cast<bool>(T::mutator_deltas_commute);
    } else {
        return false;
    }
}();

CRDT_END_NAMESPACE
