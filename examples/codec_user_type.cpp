// A user type with its own crdt::codec<T> specialization: encoding,
// decoding, containers of it, and what happens on truncated or corrupt
// input. docs/codec.md walks through it.
//
// Exits with 0 when everything behaves as described, 1 otherwise (it runs as
// a test).
#include <crdt/codec/codec.hpp>
#include <crdt/core/error.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <span>
#include <string>
#include <vector>

// The user's type: a point on an integer grid.
struct my_point {
    std::int32_t x = 0;
    std::int32_t y = 0;
    friend bool operator==(const my_point&, const my_point&) = default;
};

// Its codec: both coordinates as zigzag varints (small magnitudes, positive
// or negative, take one byte). decode names each field, so errors say which
// one was bad.
template <>
struct crdt::codec<my_point> {
    static void encode(crdt::byte_writer& w, const my_point& p) {
        w.zigzag(p.x);
        w.zigzag(p.y);
    }
    static my_point decode(crdt::byte_reader& r) {
        my_point p;
        p.x = r.zigzag_as<std::int32_t>("my_point.x");
        p.y = r.zigzag_as<std::int32_t>("my_point.y");
        return p;
    }
};

namespace {

int failures = 0;

void expect(bool ok, const char* what) {
    if (!ok) {
        std::fprintf(stderr, "UNEXPECTED: %s\n", what);
        ++failures;
    }
}

std::string hex(std::span<const std::byte> bytes) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string s;
    for (const std::byte b : bytes) {
        if (!s.empty()) {
            s += ' ';
        }
        s += digits[static_cast<unsigned>(b) >> 4];
        s += digits[static_cast<unsigned>(b) & 0xfu];
    }
    return s;
}

// Decodes `bytes` as T, expecting failure with `cause`; prints the error.
template <class T>
void show_failure(const std::vector<std::byte>& bytes, const char* name, crdt::errc cause) {
    try {
        (void)crdt::decode<T>(bytes, name);
        expect(false, "corrupt input decoded");
    } catch (const crdt::error& e) {
        std::printf("  crdt::error: %s\n", e.what());
        std::printf("  cause %d, byte offset %zu\n", static_cast<int>(e.cause()),
                    e.offset().value_or(0));
        expect(e.cause() == cause, "wrong error cause");
    }
}

} // namespace

int main() {
    // 1. One value.
    const my_point p{1, -2};
    const std::vector<std::byte> bytes = crdt::encode(p);
    std::printf("my_point{1, -2} encodes to %zu bytes: %s\n", bytes.size(), hex(bytes).c_str());
    const my_point back = crdt::decode<my_point>(bytes, "my file");
    std::printf("and decodes to my_point{%d, %d}\n", back.x, back.y);
    expect(back == p, "round trip changed the point");

    // 2. Containers of it encode with no extra code.
    const std::vector<my_point> path = {{0, 0}, {10, -5}, {-300, 7}};
    const std::vector<std::byte> path_bytes = crdt::encode(path);
    std::printf("a path of %zu points encodes to %zu bytes: %s\n", path.size(), path_bytes.size(),
                hex(path_bytes).c_str());
    expect(crdt::decode<std::vector<my_point>>(path_bytes, "path.bin") == path,
           "round trip changed the path");
    const std::optional<my_point> maybe = my_point{3, 4};
    expect(crdt::decode<std::optional<my_point>>(crdt::encode(maybe)) == maybe,
           "round trip changed the optional point");

    // 3. Truncated input: the last byte is missing. Decoding never reads past
    //    the end; it throws crdt::error naming the input, the field and the
    //    offset where the cut value starts.
    std::printf("decoding the path without its last byte:\n");
    const std::vector<std::byte> cut(path_bytes.begin(), path_bytes.end() - 1);
    show_failure<std::vector<my_point>>(cut, "path.bin", crdt::errc::truncated);

    // 4. A count larger than the input: rejected before anything is allocated.
    std::printf("decoding a path that claims a billion points:\n");
    crdt::byte_writer w;
    w.varint(1'000'000'000);
    w.raw(std::span<const std::byte>(path_bytes).subspan(1));
    show_failure<std::vector<my_point>>(w.take(), "path.bin", crdt::errc::length_out_of_range);

    // 5. A coordinate that does not fit in std::int32_t.
    std::printf("decoding a point whose y is 2^40:\n");
    w.zigzag(1);
    w.zigzag(std::int64_t{1} << 40);
    show_failure<my_point>(w.take(), "point.bin", crdt::errc::overlong_varint);

    // 6. Bytes left over after the value.
    std::printf("decoding a point followed by an extra byte:\n");
    std::vector<std::byte> extra = bytes;
    extra.push_back(std::byte{0});
    show_failure<my_point>(extra, "point.bin", crdt::errc::trailing_bytes);

    if (failures != 0) {
        std::fprintf(stderr, "%d unexpected results\n", failures);
        return 1;
    }
    std::printf("ok\n");
    return 0;
}
