// fuzz/types_mv_register.cpp -- crdt::decode of mv_register states and deltas.
//
// Input: one selector byte (which instantiation), then the encoding. Oracles
// beyond the kit's (fuzz/support/harness.hpp): a decoded state merged with
// itself is unchanged (idempotence); merging it into an empty state and into a
// valid state does not throw (a replica may refuse a delta for a version it
// has not reached: errc::causality_gap, unchanged); empty() iff values() is
// empty.
#include "support/harness.hpp"

#include <crdt/mv_register.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <type_traits>
#include <vector>

namespace {

using types = crdt_fuzz::type_list<crdt::mv_register<std::string>, crdt::mv_register<std::int64_t>>;

template <class T>
T sample(std::uint64_t id = 1) {
    T r{crdt::replica_id(id)};
    if constexpr (std::is_same_v<typename T::value_type, std::string>) {
        r.assign("x" + std::to_string(id));
    } else {
        r.assign(static_cast<std::int64_t>(id));
    }
    return r;
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
    const bool none = v.values().begin() == v.values().end();
    if (none != v.empty()) {
        crdt_fuzz::fail("empty() disagrees with values()");
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
    add_all.template operator()<crdt::mv_register<std::string>>();
    add_all.template operator()<crdt::mv_register<std::int64_t>>();
    return out;
}
