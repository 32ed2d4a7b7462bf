// fuzz/clocks.cpp -- crdt::decode of hlc_timestamp and lamport_clock, and
// decoded scripts of clock events run against the clocks' specifications.
//
// Input: one selector byte, then the encoding of
//   0  an hlc_timestamp;
//   1  a lamport_clock;
//   2  an HLC script: (max skew in ms, initial timestamp, events), each event
//      (is_update, wall-clock reading, remote timestamp);
//   3  a Lamport script: (initial time, events), each event (op, remote time).
// Oracles, beyond the kit's (fuzz/support/harness.hpp):
//   * HLC: now() and update(remote) return the smallest timestamp that is
//     greater than every one issued or observed (and than `remote`) whose
//     physical part is the largest of the wall clock, the last timestamp and
//     `remote`; update rejects a remote more than max_skew ahead of the wall
//     clock with errc::clock_skew; an exhausted logical counter raises
//     errc::counter_overflow; a throwing call leaves last() unchanged;
//   * Lamport: tick / observe / receive follow their definitions, and
//     overflow raises errc::counter_overflow leaving the clock unchanged.
#include "support/harness.hpp"

#include <crdt/core/hybrid_logical_clock.hpp>
#include <crdt/core/lamport_clock.hpp>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

namespace {

using crdt::hlc_timestamp;
using crdt::lamport_clock;

using hlc_event = std::tuple<bool, std::uint64_t, hlc_timestamp>;
using hlc_script = std::tuple<std::int64_t, hlc_timestamp, std::vector<hlc_event>>;
using lamport_script =
    std::pair<std::uint64_t, std::vector<std::pair<std::uint8_t, std::uint64_t>>>;

using types = crdt_fuzz::type_list<hlc_timestamp, lamport_clock, hlc_script, lamport_script>;

// A wall clock that reads whatever the script last set.
struct scripted_wall {
    const std::uint64_t* reading;
    std::uint64_t operator()() const noexcept { return *reading; }
};

// The specification: the smallest timestamp above every one in `seen` whose
// physical part is max(wall, physical parts of `seen`); nullopt if its
// logical part would not fit.
std::optional<hlc_timestamp> expected_next(std::uint64_t wall,
                                           std::initializer_list<hlc_timestamp> seen) {
    std::uint64_t top = wall;
    for (const auto& t : seen) {
        top = std::max(top, t.physical_ms);
    }
    std::optional<std::uint32_t> highest; // highest logical part at `top`
    for (const auto& t : seen) {
        if (t.physical_ms == top) {
            highest = std::max(highest.value_or(0), t.logical);
        }
    }
    if (!highest) {
        return hlc_timestamp{top, 0};
    }
    if (*highest == std::numeric_limits<std::uint32_t>::max()) {
        // Logical counter exhausted: carry into the next millisecond.
        if (top == std::numeric_limits<std::uint64_t>::max()) {
            return std::nullopt;
        }
        return hlc_timestamp{top + 1, 0};
    }
    return hlc_timestamp{top, *highest + 1};
}

void expect_error(const crdt::error& e, crdt::errc cause, const char* what) {
    if (e.cause() != cause) {
        crdt_fuzz::fail(std::string(what) + " threw the wrong cause: " + e.what());
    }
}

void run_hlc(const hlc_script& script) {
    const auto& [skew_ms, initial, events] = script;
    std::uint64_t reading = 0;
    const crdt::basic_hybrid_logical_clock<scripted_wall> prototype(
        initial, scripted_wall{&reading}, std::chrono::milliseconds(skew_ms));
    auto clock = prototype;
    const std::uint64_t max_skew = skew_ms < 0 ? 0 : static_cast<std::uint64_t>(skew_ms);
    if (clock.last() != initial ||
        clock.max_skew().count() != static_cast<std::int64_t>(max_skew)) {
        crdt_fuzz::fail("a restored clock does not report its last timestamp and skew");
    }
    for (const auto& [is_update, wall, remote] : events) {
        reading = wall;
        const hlc_timestamp before = clock.last();
        if (!is_update) {
            const auto want = expected_next(wall, {before});
            try {
                const hlc_timestamp got = clock.now();
                if (!want || got != *want || clock.last() != got) {
                    crdt_fuzz::fail("now() differs from the HLC specification");
                }
            } catch (const crdt::error& e) {
                expect_error(e, crdt::errc::counter_overflow, "now()");
                if (want || clock.last() != before) {
                    crdt_fuzz::fail("now() overflowed wrongly or changed the clock");
                }
            }
            continue;
        }
        const bool too_far = remote.physical_ms > wall && remote.physical_ms - wall > max_skew;
        const auto want = expected_next(wall, {before, remote});
        try {
            const hlc_timestamp got = clock.update(remote);
            if (too_far || !want || got != *want || clock.last() != got) {
                crdt_fuzz::fail("update() differs from the HLC specification");
            }
        } catch (const crdt::error& e) {
            if (clock.last() != before) {
                crdt_fuzz::fail("a throwing update() changed the clock");
            }
            if (too_far) {
                expect_error(e, crdt::errc::clock_skew, "update()");
            } else {
                expect_error(e, crdt::errc::counter_overflow, "update()");
                if (want) {
                    crdt_fuzz::fail("update() overflowed with room left");
                }
            }
        }
    }
}

void run_lamport(const lamport_script& script) {
    constexpr std::uint64_t max = std::numeric_limits<std::uint64_t>::max();
    lamport_clock clock(script.first);
    for (const auto& [op, remote] : script.second) {
        const std::uint64_t before = clock.now();
        switch (op % 3) {
        case 0:
            try {
                if (clock.tick() != before + 1 || before == max || clock.now() != before + 1) {
                    crdt_fuzz::fail("tick() is not now() + 1");
                }
            } catch (const crdt::error& e) {
                expect_error(e, crdt::errc::counter_overflow, "tick()");
                if (before != max || clock.now() != before) {
                    crdt_fuzz::fail("tick() overflowed wrongly or changed the clock");
                }
            }
            break;
        case 1:
            clock.observe(remote);
            if (clock.now() != std::max(before, remote)) {
                crdt_fuzz::fail("observe() is not max(now(), remote)");
            }
            break;
        default: {
            const std::uint64_t top = std::max(before, remote);
            try {
                if (clock.receive(remote) != top + 1 || top == max || clock.now() != top + 1) {
                    crdt_fuzz::fail("receive() is not max(now(), remote) + 1");
                }
            } catch (const crdt::error& e) {
                expect_error(e, crdt::errc::counter_overflow, "receive()");
                if (top != max || clock.now() != before) {
                    crdt_fuzz::fail("receive() overflowed wrongly or changed the clock");
                }
            }
            break;
        }
        }
    }
    (void)crdt_fuzz::decode_checked<lamport_clock>(crdt::encode(clock));
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    return crdt_fuzz::run(data, size, [](crdt_fuzz::input in) {
        if (in.empty()) {
            return;
        }
        const crdt_fuzz::input rest = in.subspan(1);
        crdt_fuzz::visit_type<types>(std::to_integer<std::size_t>(in[0]) % types::size,
                                     [&]<class T>() {
                                         const auto v = crdt_fuzz::decode_checked<T>(rest);
                                         if constexpr (std::is_same_v<T, hlc_script>) {
                                             if (v) {
                                                 run_hlc(*v);
                                             }
                                         } else if constexpr (std::is_same_v<T, lamport_script>) {
                                             if (v) {
                                                 run_lamport(*v);
                                             }
                                         }
                                     });
    });
}

std::vector<crdt_fuzz::bytes> crdt_fuzz::seeds() {
    constexpr std::uint32_t lmax = std::numeric_limits<std::uint32_t>::max();
    constexpr std::uint64_t max = std::numeric_limits<std::uint64_t>::max();
    const std::uint64_t t0 = 1'700'000'000'000; // a realistic wall clock (ms)
    std::vector<bytes> out;
    auto add = [&](const auto& v) { out.push_back(seed_for<types>(v)); };
    add(hlc_timestamp{});
    add(hlc_timestamp{t0, 3});
    add(hlc_timestamp{max, lmax});
    add(lamport_clock());
    add(lamport_clock(max));
    add(hlc_script{300'000,
                   {t0, 0},
                   {{false, t0 + 1, {}},
                    {false, t0 - 5, {}}, // wall clock went backwards
                    {true, t0 + 2, {t0 + 2, 7}},
                    {true, t0 + 2, {t0 + 400'000, 0}}, // too far ahead
                    {true, t0 + 3, {t0 + 1, 9}}}});
    add(hlc_script{-1, {t0, lmax - 1}, {{false, t0, {}}, {false, t0, {}}, {true, t0, {t0, lmax}}}});
    add(hlc_script{0, {}, {{true, max, {max, 0}}, {false, 0, {}}}});
    add(lamport_script{0, {{0, 0}, {1, 10}, {2, 5}, {2, 20}}});
    add(lamport_script{max - 1, {{0, 0}, {0, 0}, {2, 0}, {1, max}}});
    return out;
}
