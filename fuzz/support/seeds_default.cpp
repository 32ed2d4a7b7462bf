// fuzz/support/seeds_default.cpp -- the default crdt_fuzz::seeds(): none.
// A weak definition, so a harness that defines seeds() replaces it.
#include "support/harness.hpp"

#include <vector>

__attribute__((weak)) std::vector<crdt_fuzz::bytes> crdt_fuzz::seeds() {
    return {};
}
