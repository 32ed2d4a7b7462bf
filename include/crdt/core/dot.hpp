// crdt/core/dot.hpp -- dots: the identity of one operation.
//
// A dot (replica, counter) names the counter-th operation made by a replica.
// A replica's counters start at 1 and have no gaps, so a version vector
// (replica -> highest counter) describes a causally closed set of dots.
// Dots order by replica, then counter.
#pragma once

#include <crdt/codec/codec.hpp>
#include <crdt/core/concepts.hpp>
#include <crdt/core/config.hpp>
#include <crdt/core/replica_id.hpp>

#include <compare>
#include <cstddef>
#include <cstdint>
#include <functional>

CRDT_BEGIN_NAMESPACE

/// The identity of one operation: the `counter`-th operation of `replica`.
/// Invariant for dots that name operations: counter >= 1.
template <replica_identifier ReplicaId>
struct basic_dot {
    using replica_type = ReplicaId;

    ReplicaId replica{};
    std::uint64_t counter = 0;

    friend auto operator<=>(const basic_dot&, const basic_dot&) = default;
    friend bool operator==(const basic_dot&, const basic_dot&) = default;
};

/// An inclusive range of one replica's counters, [first, last], first <= last.
template <replica_identifier ReplicaId>
struct basic_dot_range {
    using replica_type = ReplicaId;

    ReplicaId replica{};
    std::uint64_t first = 0;
    std::uint64_t last = 0;

    /// Returns: the number of dots in the range.
    constexpr std::uint64_t size() const noexcept { return last - first + 1; }
    /// Returns: whether `d` lies in the range.
    constexpr bool contains(const basic_dot<ReplicaId>& d) const noexcept {
        return d.replica == replica && d.counter >= first && d.counter <= last;
    }

    friend auto operator<=>(const basic_dot_range&, const basic_dot_range&) = default;
    friend bool operator==(const basic_dot_range&, const basic_dot_range&) = default;
};

/// The dot and dot range over the default replica id.
using dot = basic_dot<replica_id>;
using dot_range = basic_dot_range<replica_id>;

/// Encoding: the replica id, then the counter as a varint.
/// Throws on decode: crdt::error(errc::invalid_value) for counter 0.
template <replica_identifier ReplicaId>
struct codec<basic_dot<ReplicaId>> {
    static void encode(byte_writer& w, const basic_dot<ReplicaId>& d) {
        codec<ReplicaId>::encode(w, d.replica);
        w.varint(d.counter);
    }
    static basic_dot<ReplicaId> decode(byte_reader& r) {
        basic_dot<ReplicaId> d;
        d.replica = codec<ReplicaId>::decode(r);
        const std::size_t at = r.offset();
        d.counter = r.varint_as<std::uint64_t>("dot counter");
        if (d.counter == 0) {
            r.fail_at(errc::invalid_value, "dot counter (must be >= 1)", at);
        }
        return d;
    }
};

/// Encoding: the replica id, `first` as a varint, then `last - first`.
/// Throws on decode: crdt::error(errc::invalid_value) if first is 0 or
///   last would overflow.
template <replica_identifier ReplicaId>
struct codec<basic_dot_range<ReplicaId>> {
    static void encode(byte_writer& w, const basic_dot_range<ReplicaId>& d) {
        codec<ReplicaId>::encode(w, d.replica);
        w.varint(d.first);
        w.varint(d.last - d.first);
    }
    static basic_dot_range<ReplicaId> decode(byte_reader& r) {
        basic_dot_range<ReplicaId> d;
        d.replica = codec<ReplicaId>::decode(r);
        const std::size_t at = r.offset();
        d.first = r.varint_as<std::uint64_t>("dot_range first");
        const std::uint64_t span = r.varint_as<std::uint64_t>("dot_range length");
        if (d.first == 0 || span > UINT64_MAX - d.first) {
            r.fail_at(errc::invalid_value, "dot_range (first must be >= 1, last <= 2^64-1)", at);
        }
        d.last = d.first + span;
        return d;
    }
};

CRDT_END_NAMESPACE

template <crdt::replica_identifier R>
struct std::hash<crdt::basic_dot<R>> {
    std::size_t operator()(const crdt::basic_dot<R>& d) const noexcept {
        return std::hash<R>{}(d.replica) ^
               static_cast<std::size_t>(crdt::detail::mix64(d.counter + 0x9e3779b97f4a7c15ull));
    }
};
