// fuzz/dot.cpp -- crdt::decode of basic_dot and basic_dot_range over each
// replica id type (replica_id, replica_id128, agent_id).
//
// Input: one selector byte (which type), then the encoding. Oracles, beyond
// the kit's (fuzz/support/harness.hpp), for a decoded range [first, last]:
// first >= 1, first <= last, size() == last - first + 1, it contains its
// end points and not the counters just outside them.
#include "support/harness.hpp"

#include <crdt/core/dot.hpp>
#include <crdt/core/replica_id.hpp>

#include <cstddef>
#include <cstdint>
#include <limits>
#include <vector>

namespace {

template <class R>
using dot = crdt::basic_dot<R>;
template <class R>
using range = crdt::basic_dot_range<R>;

using types = crdt_fuzz::type_list<dot<crdt::replica_id>, dot<crdt::replica_id128>,
                                   dot<crdt::agent_id>, range<crdt::replica_id>,
                                   range<crdt::replica_id128>, range<crdt::agent_id>>;

template <class T>
void check_decoded(const T&) {} // a dot has no invariant beyond its codec

template <class R>
void check_decoded(const range<R>& r) {
    if (r.first == 0 || r.last < r.first) {
        crdt_fuzz::fail("decoded dot_range is empty or starts at 0");
    }
    if (r.size() != r.last - r.first + 1) {
        crdt_fuzz::fail("dot_range::size() is not last - first + 1");
    }
    if (!r.contains(dot<R>{r.replica, r.first}) || !r.contains(dot<R>{r.replica, r.last})) {
        crdt_fuzz::fail("dot_range does not contain its end points");
    }
    if (r.contains(dot<R>{r.replica, r.first - 1})) {
        crdt_fuzz::fail("dot_range contains the counter before first");
    }
    if (r.last != std::numeric_limits<std::uint64_t>::max() &&
        r.contains(dot<R>{r.replica, r.last + 1})) {
        crdt_fuzz::fail("dot_range contains the counter after last");
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
                                             check_decoded(*v);
                                         }
                                     });
    });
}

std::vector<crdt_fuzz::bytes> crdt_fuzz::seeds() {
    constexpr std::uint64_t max = std::numeric_limits<std::uint64_t>::max();
    const crdt::replica_id r64(0x0123456789abcdefull);
    const crdt::replica_id128 r128(1, 2);
    const crdt::agent_id ragent("alice");
    std::vector<bytes> out;
    auto add = [&](const auto& v) { out.push_back(seed_for<types>(v)); };
    add(dot<crdt::replica_id>{r64, 1});
    add(dot<crdt::replica_id>{r64, max});
    add(dot<crdt::replica_id128>{r128, 300});
    add(dot<crdt::agent_id>{ragent, 42});
    add(range<crdt::replica_id>{r64, 1, 1});
    add(range<crdt::replica_id>{r64, 1, max});
    add(range<crdt::replica_id>{r64, max, max});
    add(range<crdt::replica_id128>{r128, 5, 500});
    add(range<crdt::agent_id>{ragent, 2, 3});
    return out;
}
