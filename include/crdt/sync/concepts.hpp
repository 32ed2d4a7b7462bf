// crdt/sync/concepts.hpp -- what the sync protocol needs of a replicated type.
//
// A type T is syncable when, for `T t`, `const T& c`, `version_type v` and
// `const delta_t<T>& d` (delta_t<T> is T::delta_type when T names one, else T
// itself -- the dot-store types are their own deltas; the sequence's delta
// is a list of ops):
//   c.version() -> const version_type&     what t has seen, as a version
//                                          vector (version_type has a codec
//                                          and includes());
//   c.delta_since(v) -> delta_t<T>         what a peer at `v` lacks;
//   t.merge(d)                             join a delta (idempotent);
//   codec<T> and codec<delta_t<T>>         encode and decode them.
// Laws (those of the replicated types, crdt/testing/laws.hpp):
//   S1 merging deltas is idempotent, and merging every delta in any order
//      gives the same state;
//   S2 if `p.version()` includes `v`, then after `p.merge(q.delta_since(v))`
//      `p.version()` includes `q.version()` and p holds everything q holds;
//      `q.delta_since({})` holds all of q (it is what snapshots store);
//   S3 a delta made by a mutator may be merged in any order with other
//      deltas, without making the version claim operations whose effects
//      are missing, when `T::mutator_deltas_commute` is true; otherwise it
//      must be merged after the version its replica had before the
//      mutation (the protocol then sends that version as the delta's base).
//
// Thread safety and exception safety: not applicable (concepts only).
#pragma once

#include <crdt/codec/codec.hpp>
#include <crdt/core/config.hpp>

#include <concepts>

CRDT_BEGIN_NAMESPACE

namespace detail::sync {
template <class T>
struct delta_of {
    using type = T;
};
template <class T>
requires requires {
    typename T::delta_type;
}
struct delta_of<T> {
    using type = typename T::delta_type;
};
} // namespace detail::sync

/// The type of T's deltas: T::delta_type, or T itself.
template <class T>
using delta_t = typename detail::sync::delta_of<T>::type;

/// A replicated type the sync protocol and replica can carry (laws above).
template <class T>
concept syncable = encodable<delta_t<T>> && encodable<typename T::version_type> &&
    requires(T& t, const T& c, const delta_t<T>& d, const typename T::version_type& v) {
    { c.version() } -> std::convertible_to<const typename T::version_type&>;
    { c.delta_since(v) } -> std::same_as<delta_t<T>>;
    t.merge(d);
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
