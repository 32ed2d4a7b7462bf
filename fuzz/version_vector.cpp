// fuzz/version_vector.cpp -- crdt::decode of basic_version_vector over
// replica_id, replica_id128 and agent_id, and the operations on the decoded
// vectors, checked against a std::map model.
//
// Input: one selector byte, then the encoding of
//   0-2  one version vector (replica_id, replica_id128, agent_id);
//   3-4  a pair of them (replica_id, agent_id);
//   5    three of them (replica_id);
//   6    a version vector and a list of (op, replica, counter) updates.
// Oracles, beyond the kit's (fuzz/support/harness.hpp):
//   * every decoded or computed vector: entries strictly increasing with
//     counters >= 1; get / contains / size / compare-with-itself / includes
//     itself / missing nothing from itself / hash agree with the entries;
//   * pairs: merge (both ways), compare (both ways), includes and
//     missing_from equal the pointwise definitions on a std::map model, and
//     advancing b by a.missing_from(b) gives a.merge(b);
//   * triples: crdt::testing::check_semilattice;
//   * updates: set / advance / increment keep the vector equal to the model.
#include "support/harness.hpp"

#include <crdt/core/dot.hpp>
#include <crdt/core/replica_id.hpp>
#include <crdt/core/version_vector.hpp>
#include <crdt/testing/laws.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

namespace {

template <class R>
using vv = crdt::basic_version_vector<R>;
template <class R>
using model = std::map<R, std::uint64_t>;

using crdt::agent_id;
using crdt::replica_id;
using crdt::replica_id128;

using update = std::tuple<std::uint8_t, replica_id, std::uint64_t>;

using types = crdt_fuzz::type_list<vv<replica_id>, vv<replica_id128>, vv<agent_id>,
                                   std::pair<vv<replica_id>, vv<replica_id>>,
                                   std::pair<vv<agent_id>, vv<agent_id>>,
                                   std::tuple<vv<replica_id>, vv<replica_id>, vv<replica_id>>,
                                   std::pair<vv<replica_id>, std::vector<update>>>;

constexpr std::uint64_t max_counter = std::numeric_limits<std::uint64_t>::max();

template <class R>
model<R> to_model(const vv<R>& v) {
    model<R> m;
    for (const auto& e : v) {
        m[e.replica] = e.counter;
    }
    return m;
}

template <class R>
void check_equals_model(const vv<R>& v, const model<R>& m, const char* what) {
    bool same = v.size() == m.size();
    auto it = m.begin();
    for (const auto& e : v) {
        if (!same) {
            break;
        }
        same = e.replica == it->first && e.counter == it->second;
        ++it;
    }
    if (!same) {
        crdt_fuzz::fail(std::string(what) + ": version vector differs from the std::map model");
    }
}

template <class R>
void check_invariants(const vv<R>& v) {
    std::size_t n = 0;
    std::uint64_t total = 0;
    const R* previous = nullptr;
    for (const auto& e : v) {
        if (previous != nullptr && !(*previous < e.replica)) {
            crdt_fuzz::fail("version vector entries are not strictly increasing");
        }
        if (e.counter == 0) {
            crdt_fuzz::fail("version vector stores a zero counter");
        }
        if (v.get(e.replica) != e.counter) {
            crdt_fuzz::fail("get() disagrees with the entries");
        }
        if (!v.contains({e.replica, e.counter}) || v.contains({e.replica, 0}) ||
            (e.counter < max_counter && v.contains({e.replica, e.counter + 1}))) {
            crdt_fuzz::fail("contains() disagrees with the entries");
        }
        previous = &e.replica;
        total += e.counter; // wraps like total() does
        ++n;
    }
    if (n != v.size() || v.empty() != (n == 0) || v.total() != total) {
        crdt_fuzz::fail("size() / empty() / total() disagree with the entries");
    }
    if (v.compare(v) != crdt::causal_order::equal || !v.includes(v) || !v.missing_from(v).empty()) {
        crdt_fuzz::fail("a version vector is not equal to itself");
    }
    const vv<R> copy = v;
    if (!(copy == v) || std::hash<vv<R>>{}(copy) != std::hash<vv<R>>{}(v)) {
        crdt_fuzz::fail("a copy is not equal to the original, or hashes differently");
    }
}

template <class R>
crdt::causal_order model_compare(const model<R>& a, const model<R>& b) {
    bool greater = false;
    bool less = false;
    auto get = [](const model<R>& m, const R& r) {
        auto it = m.find(r);
        return it == m.end() ? std::uint64_t{0} : it->second;
    };
    for (const auto& [r, k] : a) {
        greater |= k > get(b, r);
        less |= k < get(b, r);
    }
    for (const auto& [r, k] : b) {
        greater |= get(a, r) > k;
        less |= get(a, r) < k;
    }
    if (greater && less) {
        return crdt::causal_order::concurrent;
    }
    if (greater) {
        return crdt::causal_order::after;
    }
    return less ? crdt::causal_order::before : crdt::causal_order::equal;
}

crdt::causal_order mirror(crdt::causal_order o) {
    switch (o) {
    case crdt::causal_order::before: return crdt::causal_order::after;
    case crdt::causal_order::after: return crdt::causal_order::before;
    default: return o;
    }
}

template <class R>
void check_pair(const vv<R>& a, const vv<R>& b) {
    const model<R> ma = to_model(a);
    const model<R> mb = to_model(b);
    model<R> mmerged = mb;
    for (const auto& [r, k] : ma) {
        auto& mine = mmerged[r];
        mine = std::max(mine, k);
    }
    vv<R> ab = a;
    ab.merge(b);
    vv<R> ba = b;
    ba.merge(a);
    check_invariants(ab);
    check_equals_model(ab, mmerged, "a.merge(b)");
    check_equals_model(ba, mmerged, "b.merge(a)");
    if (!ab.includes(a) || !ab.includes(b)) {
        crdt_fuzz::fail("a.merge(b) does not include a and b");
    }

    const auto order = a.compare(b);
    if (order != model_compare(ma, mb)) {
        crdt_fuzz::fail("compare() differs from the pointwise definition");
    }
    if (b.compare(a) != mirror(order)) {
        crdt_fuzz::fail("b.compare(a) is not the mirror of a.compare(b)");
    }
    const bool a_includes_b =
        order == crdt::causal_order::equal || order == crdt::causal_order::after;
    if (a.includes(b) != a_includes_b || (a == b) != (order == crdt::causal_order::equal)) {
        crdt_fuzz::fail("includes() or == disagrees with compare()");
    }

    const auto missing = a.missing_from(b);
    std::vector<std::tuple<R, std::uint64_t, std::uint64_t>> want;
    for (const auto& [r, k] : ma) {
        auto it = mb.find(r);
        const std::uint64_t theirs = it == mb.end() ? 0 : it->second;
        if (k > theirs) {
            want.emplace_back(r, theirs + 1, k);
        }
    }
    bool same = missing.size() == want.size();
    for (std::size_t i = 0; same && i < missing.size(); ++i) {
        same = missing[i].replica == std::get<0>(want[i]) &&
               missing[i].first == std::get<1>(want[i]) && missing[i].last == std::get<2>(want[i]);
    }
    if (!same) {
        crdt_fuzz::fail("missing_from() differs from the pointwise definition");
    }
    if (missing.empty() != b.includes(a)) {
        crdt_fuzz::fail("a.missing_from(b) is empty but b does not include a, or vice versa");
    }
    vv<R> caught_up = b;
    for (const auto& range : missing) {
        caught_up.advance(range.replica, range.last);
    }
    if (!(caught_up == ab)) {
        crdt_fuzz::fail("b advanced by a.missing_from(b) is not a.merge(b)");
    }
}

void run_updates(const vv<replica_id>& start, const std::vector<update>& updates) {
    vv<replica_id> v = start;
    model<replica_id> m = to_model(start);
    for (const auto& [op, replica, counter] : updates) {
        switch (op % 4) {
        case 0:
            v.set(replica, counter);
            if (counter == 0) {
                m.erase(replica);
            } else {
                m[replica] = counter;
            }
            break;
        case 1:
            v.advance(replica, counter);
            if (counter != 0) {
                auto& mine = m[replica];
                mine = std::max(mine, counter);
            }
            break;
        case 2: {
            if (v.get(replica) == max_counter) {
                break; // precondition of increment
            }
            const auto d = v.increment(replica);
            const std::uint64_t expected = ++m[replica];
            if (d.replica != replica || d.counter != expected) {
                crdt_fuzz::fail("increment() returned the wrong dot");
            }
            break;
        }
        default:
            v.advance(crdt::basic_dot<replica_id>{replica, counter});
            if (counter != 0) {
                auto& mine = m[replica];
                mine = std::max(mine, counter);
            }
            break;
        }
        check_equals_model(v, m, "after an update");
        check_invariants(v);
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    return crdt_fuzz::run(data, size, [](crdt_fuzz::input in) {
        if (in.empty()) {
            return;
        }
        const crdt_fuzz::input rest = in.subspan(1);
        crdt_fuzz::visit_type<types>(
            std::to_integer<std::size_t>(in[0]) % types::size, [&]<class T>() {
                const auto v = crdt_fuzz::decode_checked<T>(rest);
                if (!v) {
                    return;
                }
                if constexpr (std::is_same_v<T, std::pair<vv<replica_id>, std::vector<update>>>) {
                    check_invariants(v->first);
                    run_updates(v->first, v->second);
                } else if constexpr (std::is_same_v<T, std::tuple<vv<replica_id>, vv<replica_id>,
                                                                  vv<replica_id>>>) {
                    const auto& [a, b, c] = *v;
                    check_invariants(a);
                    check_invariants(b);
                    check_invariants(c);
                    crdt::testing::check_semilattice(a, b, c);
                } else if constexpr (requires { v->first.compare(v->second); }) {
                    check_invariants(v->first);
                    check_invariants(v->second);
                    check_pair(v->first, v->second);
                } else {
                    check_invariants(*v);
                }
            });
    });
}

std::vector<crdt_fuzz::bytes> crdt_fuzz::seeds() {
    const replica_id r1(1);
    const replica_id r2(0x8000000000000000ull);
    const replica_id r3(~0ull);
    const vv<replica_id> empty;
    const vv<replica_id> a{{r1, 3}, {r2, 1}};
    const vv<replica_id> b{{r1, 2}, {r2, 5}, {r3, 1}};
    const vv<replica_id> c{{r1, 1}, {r3, max_counter}};
    vv<replica_id> big;
    for (std::uint64_t i = 0; i < 10; ++i) {
        big.set(replica_id(i * 0x1000000000000001ull), i + 1); // past the inline capacity
    }
    const vv<agent_id> x{{agent_id("alice"), 2}, {agent_id("bob"), 7}};
    const vv<agent_id> y{{agent_id("bob"), 9}, {agent_id("carol"), 1}};
    const vv<replica_id128> w{{replica_id128(1, 2), 4}, {replica_id128(3, 0), 1}};

    std::vector<bytes> out;
    auto add = [&](const auto& v) { out.push_back(seed_for<types>(v)); };
    add(empty);
    add(a);
    add(big);
    add(w);
    add(x);
    add(std::pair{a, b});
    add(std::pair{b, c});
    add(std::pair{a, a});
    add(std::pair{empty, big});
    add(std::pair{x, y});
    add(std::tuple{a, b, c});
    add(std::tuple{big, empty, b});
    add(std::pair{a, std::vector<update>{{0, r3, 4}, {1, r1, 9}, {2, r2, 0}, {3, r3, 0}}});
    add(std::pair{big, std::vector<update>{{0, replica_id(0), 0}, {2, replica_id(5), 0}}});
    return out;
}
