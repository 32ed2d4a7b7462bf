// crdt/testing/codec_laws.hpp -- law checkers for codec<T> specializations.
//
// check_round_trip(value)
//   decode(encode(v)) == v; the encoding is not empty; decoding reads exactly
//   the encoded bytes even when more bytes follow (self-delimiting); and
//   re-encoding the decoded value gives the same bytes (canonical). Values
//   not equal to themselves (a NaN) are compared through their encodings.
// check_decoder_robustness<T>(samples, seed, iterations)
//   decodes random byte strings and mutations of `samples` (valid encodings:
//   bit flips, truncation, insertion, deletion, boundary bytes). Each decode
//   must either return a value, which then round-trips, or throw
//   crdt::error; unless `canonical::not_required` is passed, an accepted
//   input must also be exactly the encoding of its value. Any other exception (std::bad_alloc from
//   a length it trusted, std::out_of_range, ...) is a violation.
//
// Both throw crdt::testing::law_violation (crdt/testing/laws.hpp) when a law
// fails, so they work under any test framework.
#pragma once

#include <crdt/codec/codec.hpp>
#include <crdt/core/config.hpp>
#include <crdt/core/error.hpp>
#include <crdt/testing/laws.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <optional>
#include <random>
#include <span>
#include <string>
#include <vector>

CRDT_BEGIN_NAMESPACE
namespace testing {

namespace testing_detail {
// `a == b` through a call, so that `equal(v, v)` (false only for values that
// are not equal to themselves, such as a NaN) draws no self-comparison warning.
template <class T>
bool equal(const T& a, const T& b) {
    return a == b;
}
} // namespace testing_detail

/// Effects: checks the codec laws above for `value`. A value that is not
///   equal to itself (a NaN) is compared through its encoding only: the
///   re-encoding of the decoded value must be the same bytes.
/// Throws: law_violation naming the law that fails; crdt::error if decoding
///   the value's own encoding fails.
template <encodable T>
void check_round_trip(const T& value) {
    const std::vector<std::byte> bytes = crdt::encode(value);
    if (bytes.empty()) {
        throw law_violation("codec writes an empty encoding");
    }
    const bool comparable = testing_detail::equal(value, value);
    byte_reader r(bytes, "round trip");
    const T decoded = codec<T>::decode(r);
    if (r.offset() != bytes.size()) {
        throw law_violation("codec is not self-delimiting: decode read " +
                            std::to_string(r.offset()) + " bytes of a " +
                            std::to_string(bytes.size()) + "-byte encoding");
    }
    if (comparable && !testing_detail::equal(decoded, value)) {
        throw law_violation("codec round trip changed the value: decode(encode(v)) != v");
    }
    if (crdt::encode(decoded) != bytes) {
        throw law_violation("codec is not canonical: encode(decode(encode(v))) != encode(v)");
    }
    std::vector<std::byte> padded = bytes;
    padded.push_back(std::byte{0x80});
    padded.push_back(std::byte{0xff});
    byte_reader rp(padded, "round trip with trailing bytes");
    std::optional<T> first;
    try {
        first.emplace(codec<T>::decode(rp));
    } catch (const crdt::error& e) {
        throw law_violation(std::string("codec is not self-delimiting: decoding the encoding "
                                        "followed by more bytes failed: ") +
                            e.what());
    }
    if (rp.offset() != bytes.size() || (comparable && !testing_detail::equal(*first, value))) {
        throw law_violation("codec is not self-delimiting: decode read " +
                            std::to_string(rp.offset()) + " bytes of a " +
                            std::to_string(bytes.size()) + "-byte encoding followed by more bytes");
    }
}

namespace testing_detail {
inline std::vector<std::byte> mutate(std::vector<std::byte> b, std::mt19937_64& rng) {
    auto pick = [&](std::size_t n) { return static_cast<std::size_t>(rng() % n); };
    const std::size_t rounds = 1 + pick(4);
    for (std::size_t k = 0; k < rounds; ++k) {
        switch (pick(7)) {
        case 0: // flip one bit
            if (!b.empty()) {
                b[pick(b.size())] ^= static_cast<std::byte>(1u << pick(8));
            }
            break;
        case 1: // truncate
            if (!b.empty()) {
                b.resize(pick(b.size()));
            }
            break;
        case 2: { // insert a random byte
            // Two statements: the order of evaluation of function arguments
            // differs between compilers, and a seed must mean the same run.
            const std::size_t at = pick(b.size() + 1);
            b.insert(b.begin() + static_cast<std::ptrdiff_t>(at), static_cast<std::byte>(rng()));
            break;
        }
        case 3: // delete a byte
            if (!b.empty()) {
                b.erase(b.begin() + static_cast<std::ptrdiff_t>(pick(b.size())));
            }
            break;
        case 4: { // set a byte to a boundary value
            static constexpr std::uint8_t boundary[] = {0x00, 0x01, 0x7f, 0x80, 0xfe, 0xff};
            if (!b.empty()) {
                b[pick(b.size())] = static_cast<std::byte>(boundary[pick(6)]);
            }
            break;
        }
        case 5: // a long varint-looking run (huge lengths and counts)
            b.insert(b.begin() + static_cast<std::ptrdiff_t>(pick(b.size() + 1)), 9,
                     std::byte{0xff});
            break;
        default: // duplicate a slice
            if (!b.empty()) {
                const std::size_t from = pick(b.size());
                const std::size_t len = 1 + pick(b.size() - from);
                std::vector<std::byte> slice(b.begin() + static_cast<std::ptrdiff_t>(from),
                                             b.begin() + static_cast<std::ptrdiff_t>(from + len));
                b.insert(b.begin() + static_cast<std::ptrdiff_t>(pick(b.size() + 1)), slice.begin(),
                         slice.end());
            }
            break;
        }
    }
    return b;
}
} // namespace testing_detail

/// Effects: decodes one untrusted input and checks the outcome as above.
/// Returns: whether the input decoded to a value.
/// Throws: law_violation if decoding threw anything but crdt::error, or a
///   decoded value does not round-trip (its encoding fails to decode, or
///   decodes to a different value; values not equal to themselves, such as
///   a NaN, must re-encode to the same bytes instead).
/// Whether decoding must be canonical: every accepted input must be the one
/// encoding of its value (`encode(decode(x)) == x`), as crdt's own codecs
/// promise so that encoded bytes can be content-addressed.
enum class canonical { required, not_required };

template <encodable T>
bool check_decode_untrusted(std::span<const std::byte> input,
                            canonical mode = canonical::required) {
    std::optional<T> value;
    try {
        value.emplace(crdt::decode<T>(input, "untrusted input"));
    } catch (const crdt::error&) {
        return false;
    } catch (const std::exception& e) {
        throw law_violation(std::string("decoder threw something other than crdt::error: ") +
                            e.what());
    }
    // From here on a failure is the codec's, not the input's.
    bool same = false;
    try {
        const std::vector<std::byte> bytes = crdt::encode(*value);
        const T again = crdt::decode<T>(bytes, "re-encoded input");
        same = testing_detail::equal(*value, *value) ? testing_detail::equal(again, *value)
                                                     : crdt::encode(again) == bytes;
    } catch (const std::exception& e) {
        throw law_violation(
            std::string("a value decoded from untrusted bytes does not round-trip: ") + e.what());
    }
    if (!same) {
        throw law_violation("a value decoded from untrusted bytes does not round-trip");
    }
    if (mode == canonical::required && !std::ranges::equal(crdt::encode(*value), input)) {
        throw law_violation("decoder is not canonical: it accepted bytes that are not the "
                            "encoding of the value they decode to");
    }
    return true;
}

/// Effects: runs `iterations` untrusted decodes: random byte strings of up
///   to 64 bytes, and mutations of the valid encodings in `samples`.
///   Deterministic for a given `seed`.
/// Throws: law_violation (with the seed and iteration) on the first failure.
template <encodable T>
void check_decoder_robustness(const std::vector<std::vector<std::byte>>& samples,
                              std::uint64_t seed, std::size_t iterations = 2000,
                              canonical mode = canonical::required) {
    std::mt19937_64 rng(seed);
    for (std::size_t i = 0; i < iterations; ++i) {
        std::vector<std::byte> input;
        if (samples.empty() || rng() % 4 == 0) {
            input.resize(static_cast<std::size_t>(rng() % 65));
            for (auto& b : input) {
                b = static_cast<std::byte>(rng());
            }
        } else {
            input = testing_detail::mutate(
                samples[static_cast<std::size_t>(rng() % samples.size())], rng);
        }
        try {
            check_decode_untrusted<T>(input, mode);
        } catch (const law_violation& v) {
            throw law_violation(std::string(v.what()) + " (seed " + std::to_string(seed) +
                                ", iteration " + std::to_string(i) + ")");
        }
    }
}

} // namespace testing
CRDT_END_NAMESPACE
