// crdt/core/hybrid_logical_clock.hpp -- hybrid logical clocks (HLC).
//
// An HLC timestamp is (physical milliseconds, logical counter), compared
// lexicographically (Kulkarni et al., "Logical Physical Clocks", 2014). It
// stays close to wall-clock time, yet respects causality like a Lamport
// clock: a timestamp issued after receiving another is larger than it.
//
// Properties:
//   * monotonic: every `now()` and `update()` returns a timestamp strictly
//     larger than any the clock returned or observed before, even when the
//     wall clock goes backwards (the physical part then holds still and the
//     logical counter advances);
//   * bounded skew: `update(remote)` rejects a remote timestamp whose
//     physical part is more than `max_skew()` ahead of the local wall clock,
//     with crdt::error(errc::clock_skew), leaving the clock unchanged. This
//     stops one replica with a broken clock from dragging every other
//     replica's clock into the future.
//
// The wall clock is a template parameter: any nothrow callable returning
// milliseconds since the Unix epoch as std::uint64_t (`system_wall_clock`
// by default; tests pass a manual one).
//
// Thread safety: not synchronized; guard a shared clock with a mutex.
// Exception safety: strong; on throw the clock is unchanged.
#pragma once

#include <crdt/codec/codec.hpp>
#include <crdt/core/config.hpp>
#include <crdt/core/error.hpp>
#include <crdt/detail/hash.hpp>

#include <algorithm>
#include <chrono>
#include <compare>
#include <concepts>
#include <cstdint>
#include <functional>
#include <limits>
#include <string>

CRDT_BEGIN_NAMESPACE

/// A hybrid logical clock timestamp.
struct hlc_timestamp {
    std::uint64_t physical_ms = 0; ///< wall-clock milliseconds since the Unix epoch
    std::uint32_t logical = 0;     ///< counter among events with the same physical part

    friend constexpr auto operator<=>(const hlc_timestamp&, const hlc_timestamp&) = default;
};

/// A wall clock for hybrid_logical_clock: milliseconds since the Unix epoch.
template <class C>
concept wall_clock = std::copy_constructible<C> && requires(C& c) {
    { c() } -> std::convertible_to<std::uint64_t>;
};

/// The system's real-time clock.
struct system_wall_clock {
    std::uint64_t operator()() const noexcept {
        const auto since_epoch = std::chrono::system_clock::now().time_since_epoch();
        const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(since_epoch).count();
        return ms < 0 ? 0 : static_cast<std::uint64_t>(ms);
    }
};

/// A hybrid logical clock reading `WallClock`.
template <wall_clock WallClock = system_wall_clock>
class basic_hybrid_logical_clock {
public:
    /// The default bound on how far ahead of us a remote clock may be.
    static constexpr std::chrono::milliseconds default_max_skew{std::chrono::minutes(5)};

    /// Effects: a clock reading `wall`, rejecting remote timestamps more than
    ///   `max_skew` ahead of it.
    explicit basic_hybrid_logical_clock(WallClock wall = WallClock{},
                                        std::chrono::milliseconds max_skew = default_max_skew)
        : wall_(std::move(wall)), max_skew_(max_skew < std::chrono::milliseconds::zero()
                                                ? 0u
                                                : static_cast<std::uint64_t>(max_skew.count())) {}

    /// Effects: as above, restored to continue after `last` (e.g. from storage).
    basic_hybrid_logical_clock(hlc_timestamp last, WallClock wall,
                               std::chrono::milliseconds max_skew = default_max_skew)
        : basic_hybrid_logical_clock(std::move(wall), max_skew) {
        last_ = last;
    }

    /// Effects: advances the clock for a local or send event.
    /// Returns: a timestamp greater than every one issued or observed so far.
    ///   When the logical counter is exhausted (2^32 events within one
    ///   millisecond, or a remote timestamp with a huge logical part), the
    ///   physical part moves one millisecond ahead of the wall clock instead;
    ///   the skew check bounds how far that can drift.
    /// Throws: crdt::error(errc::counter_overflow) only if the physical part
    ///   is already 2^64-1; the clock is then unchanged.
    hlc_timestamp now() {
        const std::uint64_t pt = wall_();
        hlc_timestamp next;
        if (pt > last_.physical_ms) {
            next = {pt, 0};
        } else {
            next = successor(last_, "now");
        }
        last_ = next;
        return next;
    }

    /// Effects: merges a timestamp received from another replica (the
    ///   receive rule).
    /// Returns: a timestamp greater than `remote` and than every one issued
    ///   or observed so far.
    /// Throws: crdt::error(errc::clock_skew) if remote.physical_ms is more
    ///   than max_skew() ahead of the wall clock; crdt::error(counter_overflow)
    ///   if the physical part is already 2^64-1 with the logical counter
    ///   exhausted (see `now()`). The clock is then unchanged.
    hlc_timestamp update(const hlc_timestamp& remote) {
        const std::uint64_t pt = wall_();
        if (remote.physical_ms > pt && remote.physical_ms - pt > max_skew_) {
            throw error(errc::clock_skew, "hybrid_logical_clock::update: remote timestamp is " +
                                              std::to_string(remote.physical_ms - pt) +
                                              " ms ahead of the local clock; the maximum skew is " +
                                              std::to_string(max_skew_) + " ms");
        }
        const std::uint64_t top = std::max({last_.physical_ms, remote.physical_ms, pt});
        hlc_timestamp next;
        if (top == last_.physical_ms && top == remote.physical_ms) {
            next = successor({top, std::max(last_.logical, remote.logical)}, "update");
        } else if (top == last_.physical_ms) {
            next = successor(last_, "update");
        } else if (top == remote.physical_ms) {
            next = successor(remote, "update");
        } else {
            next = {top, 0};
        }
        last_ = next;
        return next;
    }

    /// Returns: the latest timestamp issued or observed.
    hlc_timestamp last() const noexcept { return last_; }

    /// Returns: the configured maximum skew.
    std::chrono::milliseconds max_skew() const noexcept {
        return std::chrono::milliseconds(static_cast<std::chrono::milliseconds::rep>(max_skew_));
    }

    /// Returns: the wall clock.
    const WallClock& wall() const noexcept { return wall_; }

private:
    // The smallest timestamp after `t`: the next logical value, or, when the
    // logical counter is exhausted, the next millisecond.
    static hlc_timestamp successor(const hlc_timestamp& t, const char* where) {
        if (t.logical < std::numeric_limits<std::uint32_t>::max()) {
            return {t.physical_ms, t.logical + 1};
        }
        if (t.physical_ms == std::numeric_limits<std::uint64_t>::max()) {
            throw error(errc::counter_overflow,
                        std::string("hybrid_logical_clock::") + where + ": clock at its maximum");
        }
        return {t.physical_ms + 1, 0};
    }

    WallClock wall_;
    std::uint64_t max_skew_;
    hlc_timestamp last_{};
};

/// The hybrid logical clock on the system clock.
using hybrid_logical_clock = basic_hybrid_logical_clock<system_wall_clock>;

/// Encoding: physical milliseconds then the logical counter, both varints.
template <>
struct codec<hlc_timestamp> {
    static void encode(byte_writer& w, const hlc_timestamp& t) {
        w.varint(t.physical_ms);
        w.varint(t.logical);
    }
    static hlc_timestamp decode(byte_reader& r) {
        hlc_timestamp t;
        t.physical_ms = r.varint_as<std::uint64_t>("hlc_timestamp.physical_ms");
        t.logical = r.varint_as<std::uint32_t>("hlc_timestamp.logical");
        return t;
    }
};

CRDT_END_NAMESPACE

template <>
struct std::hash<crdt::hlc_timestamp> {
    std::size_t operator()(const crdt::hlc_timestamp& t) const noexcept {
        return static_cast<std::size_t>(
            crdt::detail::mix64(t.physical_ms * 0x100000001b3ull ^ t.logical));
    }
};
