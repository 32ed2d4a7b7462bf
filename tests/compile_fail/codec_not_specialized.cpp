// Encoding a type without a codec<T> specialization must fail with the
// message that names the fix (docs/codec.md).
#include <crdt/codec/codec.hpp>

struct point {
    int x;
    int y;
    bool operator==(const point&) const = default;
};

int main() {
    auto bytes = crdt::encode(point{1, 2});
    return static_cast<int>(bytes.size());
}
