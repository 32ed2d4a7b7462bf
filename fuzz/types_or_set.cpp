// fuzz/types_or_set.cpp -- crdt::decode of or_set states and deltas.
//
// Input: one selector byte (which instantiation), then the encoding. Oracles
// beyond the kit's (fuzz/support/harness.hpp): a decoded state merged with
// itself is unchanged (idempotence); merging it into an empty state and into a
// valid state does not throw (a replica may refuse a delta for a version it
// has not reached: errc::causality_gap, unchanged); size() is the number of
// elements(), each contains().
#include "support/harness.hpp"

#include <crdt/or_set.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <type_traits>
#include <vector>

namespace {

struct hashed_policy : crdt::or_set_defaults {
    using containers = crdt::hashed_containers;
};
struct remove_wins_policy : crdt::or_set_defaults {
    using bias = crdt::remove_wins;
};
using types =
    crdt_fuzz::type_list<crdt::or_set<std::uint64_t>, crdt::or_set<std::string, hashed_policy>,
                         crdt::or_set<std::uint64_t, remove_wins_policy>>;

template <class T>
T sample(std::uint64_t id = 1) {
    T s{crdt::replica_id(id)};
    for (std::uint64_t i = 0; i < 6; ++i) {
        if constexpr (std::is_same_v<typename T::value_type, std::string>) {
            s.add(std::to_string(i + id));
            s.remove(std::to_string(i / 2));
        } else {
            s.add(i + id);
            s.remove(i / 2);
        }
    }
    return s;
}

template <class T>
void check_decoded(const T& v) {
    T again = v;
    again.merge(v);
    if (!(again == v)) {
        crdt_fuzz::fail("merge of a decoded state with itself changed it");
    }
    T empty;
    empty.merge(v);
    T seeded = sample<T>();
    crdt_fuzz::merge_into_replica(seeded, v);
    std::size_t n = 0;
    for (const auto& x : v.elements()) {
        ++n;
        if (!v.contains(x)) {
            crdt_fuzz::fail("an element of elements() is not contains()");
        }
    }
    if (n != v.size()) {
        crdt_fuzz::fail("size() differs from the number of elements()");
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    return crdt_fuzz::run(data, size, [](crdt_fuzz::input in) {
        if (in.empty()) {
            return;
        }
        crdt_fuzz::visit_type<types>(std::to_integer<std::size_t>(in[0]) % types::size,
                                     [&]<class T>() {
                                         if (auto v = crdt_fuzz::decode_checked<T>(in.subspan(1))) {
                                             check_decoded(*v);
                                         }
                                     });
    });
}

std::vector<crdt_fuzz::bytes> crdt_fuzz::seeds() {
    std::vector<bytes> out;
    auto add_all = [&]<class T>() {
        T s = sample<T>();
        out.push_back(seed_for<types>(s));
        out.push_back(seed_for<types>(s.delta_since(typename T::version_type{})));
        T other = sample<T>(7);
        other.merge(s);
        out.push_back(seed_for<types>(other.delta_since(s.version())));
    };
    add_all.template operator()<crdt::or_set<std::uint64_t>>();
    add_all.template operator()<crdt::or_set<std::string, hashed_policy>>();
    add_all.template operator()<crdt::or_set<std::uint64_t, remove_wins_policy>>();
    return out;
}
