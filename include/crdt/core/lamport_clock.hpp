// crdt/core/lamport_clock.hpp -- Lamport logical clocks.
//
// A Lamport clock orders events consistently with causality: if a happened
// before b then time(a) < time(b). Paired with a replica id as tie-break it
// gives the total order LWW registers and maps use:
// (time, replica) compared lexicographically.
//
// Thread safety: a value type; not synchronized.
// Exception safety: `tick` and `receive` throw only on overflow and then
// leave the clock unchanged.
#pragma once

#include <crdt/codec/codec.hpp>
#include <crdt/core/config.hpp>
#include <crdt/core/error.hpp>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <string>

CRDT_BEGIN_NAMESPACE

/// A Lamport logical clock.
class lamport_clock {
public:
    using time_type = std::uint64_t;

    /// Effects: a clock at time 0 (no event yet).
    constexpr lamport_clock() noexcept = default;
    /// Effects: a clock restored at `time` (e.g. from storage).
    constexpr explicit lamport_clock(time_type time) noexcept : time_(time) {}

    /// Returns: the time of the latest event seen or made.
    constexpr time_type now() const noexcept { return time_; }

    /// Effects: advances the clock for a local event.
    /// Returns: the event's time, now() + 1.
    /// Throws: crdt::error(errc::counter_overflow) if the clock is at its maximum.
    time_type tick() {
        if (time_ == std::numeric_limits<time_type>::max()) {
            throw error(errc::counter_overflow, "lamport_clock::tick: clock at its maximum");
        }
        return ++time_;
    }

    /// Effects: merges the time of a remote event: now() becomes
    ///   max(now(), remote). Throws: nothing.
    constexpr void observe(time_type remote) noexcept { time_ = std::max(time_, remote); }

    /// Effects: observes `remote`, then ticks (the receive rule).
    /// Returns: the time of the receive event, max(now(), remote) + 1.
    /// Throws: crdt::error(errc::counter_overflow) if that would overflow;
    ///   the clock is then unchanged.
    time_type receive(time_type remote) {
        const time_type top = std::max(time_, remote);
        if (top == std::numeric_limits<time_type>::max()) {
            throw error(errc::counter_overflow, "lamport_clock::receive: remote time " +
                                                    std::to_string(remote) +
                                                    " leaves no room for a later event");
        }
        time_ = top + 1;
        return time_;
    }

    friend constexpr auto operator<=>(const lamport_clock&, const lamport_clock&) = default;

private:
    time_type time_ = 0;
};

/// Encoding: the time as a varint.
template <>
struct codec<lamport_clock> {
    static void encode(byte_writer& w, const lamport_clock& c) { w.varint(c.now()); }
    static lamport_clock decode(byte_reader& r) {
        return lamport_clock(r.varint_as<std::uint64_t>("lamport_clock time"));
    }
};

CRDT_END_NAMESPACE
