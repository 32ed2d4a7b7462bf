// fuzz/types_lww_register.cpp -- crdt::decode of lww_register states and deltas.
//
// Input: one selector byte (which instantiation), then the encoding. Oracles
// beyond the kit's (fuzz/support/harness.hpp): a decoded state merged with
// itself is unchanged (idempotence); merging it into an empty state and into a
// valid state does not throw (a replica may refuse a delta for a version it
// has not reached: errc::causality_gap, unchanged); get() is null iff empty().
#include "support/harness.hpp"

#include <crdt/lww_register.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <type_traits>
#include <vector>

namespace {

struct caller_policy : crdt::lww_register_defaults {
    using clock = crdt::caller_timestamps<std::uint64_t>;
};
using types = crdt_fuzz::type_list<crdt::lww_register<std::string>,
                                   crdt::lww_register<std::int64_t, caller_policy>>;

template <class T>
T sample(std::uint64_t id = 1) {
    T r{crdt::replica_id(id)};
    if constexpr (std::is_same_v<typename T::value_type, std::string>) {
        r.assign("x" + std::to_string(id));
    } else {
        r.assign(static_cast<std::int64_t>(id), id * 10);
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
    if ((v.get() == nullptr) != v.empty()) {
        crdt_fuzz::fail("get() disagrees with empty()");
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
    add_all.template operator()<crdt::lww_register<std::string>>();
    add_all.template operator()<crdt::lww_register<std::int64_t, caller_policy>>();
    return out;
}
