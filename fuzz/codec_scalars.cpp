// fuzz/codec_scalars.cpp -- crdt::decode of scalars: bool, std::byte, the
// integer types, float, double, std::string and byte strings.
//
// Input: one selector byte (which type), then the encoding. Besides the
// kit's oracles (fuzz/support/harness.hpp), every input is also decoded by
// the naive reference decoders (fuzz/support/reference.hpp): crdt must
// accept exactly the inputs the reference accepts, with the same value.
#include "support/harness.hpp"
#include "support/reference.hpp"

#include <crdt/codec/codec.hpp>

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace {

using types =
    crdt_fuzz::type_list<bool, std::byte, std::uint8_t, std::uint16_t, std::uint32_t, std::uint64_t,
                         std::int8_t, std::int16_t, std::int32_t, std::int64_t, char, char32_t,
                         float, double, std::string, std::vector<std::byte>>;

// The value the reference decoders read from `in` as a T, if it is valid.
template <class T>
std::optional<T> reference_decode(crdt_fuzz::input in) {
    namespace ref = crdt_fuzz::reference;
    if constexpr (std::is_same_v<T, bool>) {
        if (in.size() == 1 && std::to_integer<unsigned>(in[0]) <= 1) {
            return in[0] == std::byte{1};
        }
        return std::nullopt;
    } else if constexpr (std::is_same_v<T, std::byte>) {
        if (in.size() == 1) {
            return in[0];
        }
        return std::nullopt;
    } else if constexpr (std::is_same_v<T, char>) { // one raw byte on every platform
        if (in.size() == 1) {
            return static_cast<char>(std::to_integer<unsigned char>(in[0]));
        }
        return std::nullopt;
    } else if constexpr (std::is_integral_v<T>) {
        const auto r = ref::varint(in);
        if (r.status != ref::varint_result::ok || r.length != in.size()) {
            return std::nullopt;
        }
        if constexpr (std::is_unsigned_v<T>) {
            if (r.value > std::numeric_limits<T>::max()) {
                return std::nullopt;
            }
            return static_cast<T>(r.value);
        } else {
            const std::int64_t v = ref::unzigzag(r.value);
            if (v < std::numeric_limits<T>::min() || v > std::numeric_limits<T>::max()) {
                return std::nullopt;
            }
            return static_cast<T>(v);
        }
    } else if constexpr (std::is_floating_point_v<T>) {
        if (in.size() != sizeof(T)) {
            return std::nullopt;
        }
        using bits_t = std::conditional_t<sizeof(T) == 8, std::uint64_t, std::uint32_t>;
        return std::bit_cast<T>(static_cast<bits_t>(ref::little_endian<sizeof(T)>(in)));
    } else {
        // std::string and std::vector<std::byte>: a varint length, then exactly that many bytes.
        const auto r = ref::varint(in);
        if (r.status != ref::varint_result::ok || r.value != in.size() - r.length) {
            return std::nullopt;
        }
        const auto body = in.subspan(r.length);
        if constexpr (std::is_same_v<T, std::string>) {
            const std::string_view text(reinterpret_cast<const char*>(body.data()), body.size());
            if (ref::first_invalid_utf8(text)) {
                return std::nullopt;
            }
            return std::string(text);
        } else {
            return T(body.begin(), body.end());
        }
    }
}

template <class T>
bool same_value(const T& a, const T& b) {
    if constexpr (std::is_floating_point_v<T>) {
        return std::memcmp(&a, &b, sizeof(T)) == 0; // NaN payloads included
    } else {
        return a == b;
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    return crdt_fuzz::run(data, size, [](crdt_fuzz::input in) {
        if (in.empty()) {
            return;
        }
        const crdt_fuzz::input rest = in.subspan(1);
        crdt_fuzz::visit_type<types>(
            std::to_integer<std::size_t>(in[0]) % types::size, [&]<class T>() {
                const std::optional<T> got = crdt_fuzz::decode_checked<T>(rest);
                const std::optional<T> want = reference_decode<T>(rest);
                if (got.has_value() != want.has_value()) {
                    crdt_fuzz::fail(std::string("crdt ") + (got ? "accepted" : "rejected") +
                                    " what the reference decoder " +
                                    (want ? "accepts" : "rejects") + " (selector " +
                                    std::to_string(std::to_integer<unsigned>(in[0])) + ")");
                }
                if (got && !same_value(*got, *want)) {
                    crdt_fuzz::fail("crdt and the reference decoder read different values");
                }
            });
    });
}

std::vector<crdt_fuzz::bytes> crdt_fuzz::seeds() {
    std::vector<bytes> out;
    auto add = [&](const auto& v) { out.push_back(seed_for<types>(v)); };
    add(false);
    add(true);
    add(std::byte{0xa5});
    for (const std::uint64_t v :
         std::initializer_list<std::uint64_t>{0ull, 1ull, 127ull, 128ull, 300ull, 16383ull,
                                              16384ull, 0xffffffffull, 0x100000000ull, ~0ull}) {
        add(static_cast<std::uint8_t>(v));
        add(static_cast<std::uint16_t>(v));
        add(static_cast<std::uint32_t>(v));
        add(v);
    }
    for (const std::int64_t v : std::initializer_list<std::int64_t>{
             0ll, -1ll, 1ll, -64ll, 63ll, -65ll, 1000ll, -1000000ll,
             std::numeric_limits<std::int64_t>::min(), std::numeric_limits<std::int64_t>::max()}) {
        add(static_cast<std::int8_t>(v));
        add(static_cast<std::int16_t>(v));
        add(static_cast<std::int32_t>(v));
        add(v);
    }
    add('x');
    add(U'\U0001F600');
    add(1.5f);
    add(-0.0);
    add(std::numeric_limits<double>::infinity());
    add(std::numeric_limits<double>::quiet_NaN());
    add(std::string());
    add(std::string("hello"));
    add(std::string("h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80"));
    add(std::vector<std::byte>{});
    add(std::vector<std::byte>{std::byte{0}, std::byte{0xff}, std::byte{0x80}});
    return out;
}
