// fuzz/types_or_map.cpp -- crdt::decode of or_map (table rows, nested sets,
// counters) states and deltas.
//
// Input: one selector byte (which instantiation), then the encoding. Oracles
// beyond the kit's (fuzz/support/harness.hpp): a decoded state merged with
// itself is unchanged (idempotence); merging it into an empty state and into a
// valid state does not throw (a replica may refuse a delta for a version it
// has not reached: errc::causality_gap, unchanged); keys() has size() elements
// and each is contains() with a get().
#include "support/harness.hpp"

#include <crdt/lww_map.hpp>
#include <crdt/or_map.hpp>
#include <crdt/or_set.hpp>
#include <crdt/pn_counter.hpp>
#include <crdt/value.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <type_traits>
#include <vector>

namespace {

using table = crdt::or_map<std::string, crdt::lww_map<std::string, crdt::value>>;
using set_map = crdt::or_map<std::uint64_t, crdt::or_set<std::uint64_t>>;
using counter_map = crdt::or_map<std::string, crdt::pn_counter>;
using types = crdt_fuzz::type_list<table, set_map, counter_map>;

template <class T>
T sample(std::uint64_t id = 1) {
    T m{crdt::replica_id(id)};
    for (std::uint64_t i = 0; i < 4; ++i) {
        if constexpr (std::is_same_v<T, table>) {
            const std::string row = "row" + std::to_string(i);
            m.update(row, [&](auto& r) {
                return r.set("f" + std::to_string(id), crdt::value(static_cast<std::int64_t>(i)));
            });
            if (i == 2) {
                m.erase(row);
            }
        } else if constexpr (std::is_same_v<T, set_map>) {
            m.update(i, [&](auto& s) { return s.add(i * id); });
            if (i == 1) {
                m.erase(i);
            }
        } else {
            m.update(std::to_string(i), [&](auto& c) { return c.increment(i + id); });
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
    for (const auto& k : v.keys()) {
        ++n;
        if (!v.contains(k) || !v.get(k).has_value()) {
            crdt_fuzz::fail("a key of keys() is not contains()/get()");
        }
    }
    if (n != v.size()) {
        crdt_fuzz::fail("size() differs from the number of keys()");
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
    add_all.template operator()<table>();
    add_all.template operator()<set_map>();
    add_all.template operator()<counter_map>();
    return out;
}
