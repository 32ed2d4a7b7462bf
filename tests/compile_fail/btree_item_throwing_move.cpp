// An item whose move constructor may throw is refused: nodes move items one
// by one while they split, merge and spill.
#include <crdt/btree/tree.hpp>

#include <cstdint>

struct fragile {
    std::uint64_t v = 0;
    fragile() = default;
    fragile(const fragile&) = default;
    fragile(fragile&& o) noexcept(false) : v(o.v) {}
    fragile& operator=(const fragile&) = default;
    fragile& operator=(fragile&&) = default;
};

struct fragile_traits {
    using item_type = fragile;
    using summary_type = std::uint64_t;
    static std::uint64_t summarize(const fragile& f) { return f.v; }
    static std::uint64_t zero() { return 0; }
    static void combine(std::uint64_t& acc, const std::uint64_t& r) { acc += r; }
};

int main() {
    crdt::btree::tree<fragile_traits> t;
    return static_cast<int>(t.summary());
}
