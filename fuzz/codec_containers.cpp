// fuzz/codec_containers.cpp -- crdt::decode of the container codecs and their
// nesting: std::vector, std::optional, std::pair, std::tuple, std::array.
//
// Input: one selector byte (which type), then the encoding. Oracles: the
// kit's (fuzz/support/harness.hpp): crdt::error only, canonical re-encoding,
// value round trip; plus no decoded container holds more elements than the
// input has bytes (every element takes at least one byte).
#include "support/harness.hpp"

#include <crdt/codec/codec.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

namespace {

using bytes_t = std::vector<std::byte>;

using types = crdt_fuzz::type_list<
    std::vector<std::uint64_t>, std::vector<std::int32_t>, std::vector<bool>,
    std::vector<std::string>, std::vector<bytes_t>, std::vector<double>,
    std::vector<std::vector<std::uint8_t>>, std::vector<std::vector<std::vector<std::int8_t>>>,
    std::optional<std::string>, std::optional<std::optional<std::int64_t>>,
    std::optional<std::optional<std::optional<bool>>>, std::pair<std::string, bytes_t>,
    std::pair<std::uint32_t, std::optional<std::vector<std::int16_t>>>,
    std::tuple<bool, std::uint16_t, std::string, std::optional<std::int8_t>>,
    std::tuple<std::vector<std::uint32_t>, std::optional<bool>, std::array<std::int8_t, 3>>,
    std::array<std::uint32_t, 3>, std::array<std::string, 2>,
    std::array<std::optional<std::uint16_t>, 4>, std::vector<std::array<std::uint64_t, 2>>,
    std::vector<std::pair<std::uint64_t, std::string>>,
    std::vector<std::optional<std::vector<std::int16_t>>>,
    std::vector<std::tuple<std::uint8_t, std::string, float>>,
    std::optional<std::pair<std::int64_t, bytes_t>>,
    std::pair<std::array<std::string, 2>, std::vector<double>>>;

template <class T>
struct is_vector : std::false_type {};
template <class T, class A>
struct is_vector<std::vector<T, A>> : std::true_type {};

// Every element of a decoded vector took at least one input byte.
template <class T>
void check_counts(const T& value, std::size_t input_size) {
    if constexpr (is_vector<T>::value) {
        if (value.size() > input_size) {
            crdt_fuzz::fail("decoded vector has more elements than the input has bytes");
        }
        if constexpr (!std::is_same_v<typename T::value_type, bool>) {
            for (const auto& x : value) {
                check_counts(x, input_size);
            }
        }
    }
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
                                         if (auto v = crdt_fuzz::decode_checked<T>(rest)) {
                                             check_counts(*v, rest.size());
                                         }
                                     });
    });
}

std::vector<crdt_fuzz::bytes> crdt_fuzz::seeds() {
    std::vector<bytes> out;
    auto add = [&](const auto& v) { out.push_back(seed_for<types>(v)); };
    const bytes_t some_bytes{std::byte{0}, std::byte{0x80}, std::byte{0xff}};
    add(std::vector<std::uint64_t>{});
    add(std::vector<std::uint64_t>{0, 1, 127, 128, ~0ull});
    add(std::vector<std::int32_t>{-1, 0, 1, -2147483647 - 1, 2147483647});
    add(std::vector<bool>{true, false, true});
    add(std::vector<std::string>{"", "a", "h\xc3\xa9"});
    add(std::vector<bytes_t>{{}, some_bytes});
    add(std::vector<double>{0.5, -1e300});
    add(std::vector<std::vector<std::uint8_t>>{{}, {1, 2, 3}, {255}});
    add(std::vector<std::vector<std::vector<std::int8_t>>>{{{-1}, {}}, {}, {{1, 2}}});
    add(std::optional<std::string>{});
    add(std::optional<std::string>{"x"});
    add(std::optional<std::optional<std::int64_t>>{std::optional<std::int64_t>{}});
    add(std::optional<std::optional<std::int64_t>>{std::optional<std::int64_t>{-7}});
    add(std::optional<std::optional<std::optional<bool>>>{
        std::optional<std::optional<bool>>{std::optional<bool>{true}}});
    add(std::pair<std::string, bytes_t>{"key", some_bytes});
    add(std::pair<std::uint32_t, std::optional<std::vector<std::int16_t>>>{
        7, std::vector<std::int16_t>{-300, 300}});
    add(std::tuple<bool, std::uint16_t, std::string, std::optional<std::int8_t>>{true, 65535, "t",
                                                                                 -128});
    add(std::tuple<std::vector<std::uint32_t>, std::optional<bool>, std::array<std::int8_t, 3>>{
        {1, 2}, false, {-1, 0, 1}});
    add(std::array<std::uint32_t, 3>{0, 300, 4000000000u});
    add(std::array<std::string, 2>{"left", "right"});
    add(std::array<std::optional<std::uint16_t>, 4>{std::nullopt, 1, std::nullopt, 65535});
    add(std::vector<std::array<std::uint64_t, 2>>{{1, 2}, {3, ~0ull}});
    add(std::vector<std::pair<std::uint64_t, std::string>>{{1, "one"}, {2, "two"}});
    add(std::vector<std::optional<std::vector<std::int16_t>>>{std::nullopt,
                                                              std::vector<std::int16_t>{5}});
    add(std::vector<std::tuple<std::uint8_t, std::string, float>>{{1, "f", 2.5f}});
    add(std::optional<std::pair<std::int64_t, bytes_t>>{
        std::pair<std::int64_t, bytes_t>{-9, some_bytes}});
    add(std::pair<std::array<std::string, 2>, std::vector<double>>{{"a", "b"}, {1.0}});
    return out;
}
