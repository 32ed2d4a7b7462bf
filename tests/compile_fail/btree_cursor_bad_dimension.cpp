// Seeking by a type that cannot be folded from the summary must fail with
// the message saying what a dimension needs.
#include <crdt/btree/tree.hpp>

#include <cstddef>

struct item {
    std::size_t len = 1;
};

struct len_summary {
    std::size_t len = 0;
};

struct traits {
    using item_type = item;
    using summary_type = len_summary;
    static len_summary summarize(const item& i) { return {i.len}; }
    static len_summary zero() { return {}; }
    static void combine(len_summary& acc, const len_summary& r) { acc.len += r.len; }
};

struct not_a_dimension {
    int x = 0;
};

int main() {
    crdt::btree::cursor<traits, crdt::btree::btree_defaults, not_a_dimension>* c = nullptr;
    crdt::btree::cursor<traits, crdt::btree::btree_defaults, not_a_dimension> copy(*c);
    return 0;
}
