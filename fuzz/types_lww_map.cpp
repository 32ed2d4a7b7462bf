// fuzz/types_lww_map.cpp -- crdt::decode of lww_map states and deltas.
//
// Input: one selector byte (which instantiation), then the encoding. Oracles
// beyond the kit's (fuzz/support/harness.hpp): a decoded state merged with
// itself is unchanged (idempotence); merging it into an empty state and into a
// valid state does not throw (a replica may refuse a delta for a version it
// has not reached: errc::causality_gap, unchanged); entries() has size()
// elements and get() finds each; purging with the full version leaves no
// tombstone.
#include "support/harness.hpp"

#include <crdt/lww_map.hpp>
#include <crdt/value.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <type_traits>
#include <vector>

namespace {

struct caller_policy : crdt::lww_map_defaults {
    using clock = crdt::caller_timestamps<std::uint64_t>;
};
using types = crdt_fuzz::type_list<crdt::lww_map<std::string, std::string>,
                                   crdt::lww_map<std::uint64_t, std::uint64_t, caller_policy>,
                                   crdt::lww_map<std::string, crdt::value>>;

template <class T>
T sample(std::uint64_t id = 1) {
    T m{crdt::replica_id(id)};
    for (std::uint64_t i = 0; i < 5; ++i) {
        using K = typename T::key_type;
        using V = typename T::mapped_type;
        K k;
        V x;
        if constexpr (std::is_same_v<K, std::string>) {
            k = "k" + std::to_string(i);
        } else {
            k = i;
        }
        if constexpr (std::is_same_v<V, std::uint64_t>) {
            x = i * id;
        } else {
            x = V(std::to_string(i * id));
        }
        if constexpr (T::policy_type::clock::caller_supplied) {
            m.set(k, x, i + id);
            if (i % 2 == 0) {
                m.erase(k, i + id + 1);
            }
        } else {
            m.set(k, x);
            if (i % 2 == 0) {
                m.erase(k);
            }
        }
    }
    return m;
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
    for (auto [k, x] : v.entries()) {
        ++n;
        const auto* got = v.get(k);
        if (got == nullptr || !(*got == x)) {
            crdt_fuzz::fail("get() disagrees with entries()");
        }
    }
    if (n != v.size()) {
        crdt_fuzz::fail("size() differs from the number of entries()");
    }
    T purged = v;
    purged.purge_tombstones(purged.context().version());
    if (purged.size() != v.size()) {
        crdt_fuzz::fail("purge_tombstones removed a live entry");
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
    add_all.template operator()<crdt::lww_map<std::string, std::string>>();
    add_all.template operator()<crdt::lww_map<std::uint64_t, std::uint64_t, caller_policy>>();
    add_all.template operator()<crdt::lww_map<std::string, crdt::value>>();
    return out;
}
