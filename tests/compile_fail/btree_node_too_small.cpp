// A node byte budget that fits fewer than 4 items per leaf must be rejected
// with the message naming the fix (raise node_bytes or store items behind a
// pointer).
#include <crdt/btree/tree.hpp>

#include <array>
#include <cstddef>

struct big_item {
    std::array<char, 4096> payload{};
};

struct count_summary {
    std::size_t count = 0;
};

struct big_traits {
    using item_type = big_item;
    using summary_type = count_summary;
    static count_summary summarize(const big_item&) { return {1}; }
    static count_summary zero() { return {}; }
    static void combine(count_summary& acc, const count_summary& r) { acc.count += r.count; }
};

int main() {
    crdt::btree::tree<big_traits> t;
    t.push_back(big_item{});
    return static_cast<int>(t.summary().count);
}
