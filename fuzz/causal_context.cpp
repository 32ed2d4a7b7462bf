// fuzz/causal_context.cpp -- crdt::decode of basic_causal_context (over
// replica_id and agent_id), and merge / insert / next_dot on the decoded
// contexts.
//
// Input: one selector byte, then the encoding of
//   0-1  one causal context (replica_id, agent_id);
//   2    a pair of contexts;
//   3    three contexts;
//   4    a context and dots to insert;
//   5    a context and replicas to take next_dot of;
//   6    a context and a version vector to merge.
// Oracles, beyond the kit's (fuzz/support/harness.hpp):
//   * every decoded or computed context satisfies the compaction invariant,
//     checked without overflow (every cloud dot d has d.counter >=
//     version().get(d.replica) + 2), verify() passes, and the context
//     re-encodes to bytes the decoder accepts and decodes back equal;
//   * merge contains exactly the dots of both sides (no dot lost, none
//     invented), is commutative, and satisfies
//     crdt::testing::check_semilattice on triples;
//   * insert returns whether the dot was new and adds exactly that dot;
//     next_dot returns (replica, get(replica) + 1);
//   * merge(version) equals merge(causal_context(version)).
#include "support/harness.hpp"

#include <crdt/core/causal_context.hpp>
#include <crdt/core/dot.hpp>
#include <crdt/core/replica_id.hpp>
#include <crdt/core/version_vector.hpp>
#include <crdt/testing/laws.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <set>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

namespace {

template <class R>
using context = crdt::basic_causal_context<R>;
template <class R>
using dot = crdt::basic_dot<R>;
template <class R>
using version = crdt::basic_version_vector<R>;

using crdt::agent_id;
using crdt::replica_id;

using types =
    crdt_fuzz::type_list<context<replica_id>, context<agent_id>,
                         std::pair<context<replica_id>, context<replica_id>>,
                         std::tuple<context<replica_id>, context<replica_id>, context<replica_id>>,
                         std::pair<context<replica_id>, std::vector<dot<replica_id>>>,
                         std::pair<context<replica_id>, std::vector<replica_id>>,
                         std::pair<context<replica_id>, version<replica_id>>>;

constexpr std::uint64_t max_counter = std::numeric_limits<std::uint64_t>::max();

template <class R>
void check_invariants(const context<R>& c, const char* what) {
    const auto fail = [&](const char* why) { crdt_fuzz::fail(std::string(what) + ": " + why); };
    const dot<R>* previous = nullptr;
    for (const auto& d : c.cloud()) {
        if (previous != nullptr && !(*previous < d)) {
            fail("cloud is not strictly increasing");
        }
        const std::uint64_t top = c.version().get(d.replica);
        // d.counter >= top + 2, written so that top == 2^64-1 cannot wrap.
        if (d.counter <= top || d.counter - top < 2) {
            fail("a cloud dot is included in or adjacent to the version vector "
                 "(compaction invariant broken)");
        }
        if (!c.contains(d)) {
            fail("contains() misses a cloud dot");
        }
        previous = &d;
    }
    for (const auto& e : c.version()) {
        if (e.counter == 0 || !c.contains({e.replica, e.counter}) || c.contains({e.replica, 0})) {
            fail("contains() disagrees with the version vector");
        }
    }
    if (c.is_compact() != c.cloud().empty() ||
        c.empty() != (c.version().empty() && c.cloud().empty())) {
        fail("is_compact() / empty() disagree with the contents");
    }
    c.verify(); // CRDT_ASSERT: aborts if the library's own check fails
    const auto bytes = crdt::encode(c);
    if (!(crdt::decode<context<R>>(bytes, "re-encoded causal context") == c)) {
        fail("re-encoded context decodes to a different context");
    }
}

// Every counter of `replica` in (from, to] must be in `pool`: a context may
// only grow by dots it was given. Bounded by the pool's size.
template <class R>
void check_gained_from(const R& replica, std::uint64_t from, std::uint64_t to,
                       const std::set<dot<R>>& pool, const char* what) {
    if (to <= from) {
        return;
    }
    if (to - from > pool.size()) {
        crdt_fuzz::fail(std::string(what) + ": version grew by more dots than were given");
    }
    for (std::uint64_t k = from + 1; k <= to; ++k) {
        if (pool.find(dot<R>{replica, k}) == pool.end()) {
            crdt_fuzz::fail(std::string(what) + ": version grew by a dot nobody gave it");
        }
        if (k == max_counter) {
            break;
        }
    }
}

template <class R>
void check_merge(const context<R>& a, const context<R>& b) {
    context<R> ab = a;
    ab.merge(b);
    context<R> ba = b;
    ba.merge(a);
    check_invariants(ab, "a.merge(b)");
    if (!(ab == ba)) {
        crdt_fuzz::fail("causal_context merge is not commutative");
    }
    std::set<dot<R>> clouds(a.cloud().begin(), a.cloud().end());
    clouds.insert(b.cloud().begin(), b.cloud().end());
    for (const auto& d : clouds) {
        if (!ab.contains(d)) {
            crdt_fuzz::fail("a.merge(b) lost a cloud dot");
        }
    }
    for (const auto* side : {&a, &b}) {
        for (const auto& e : side->version()) {
            if (ab.version().get(e.replica) < e.counter) {
                crdt_fuzz::fail("a.merge(b) lost part of a version vector");
            }
        }
    }
    for (const auto& d : ab.cloud()) {
        if (clouds.find(d) == clouds.end()) {
            crdt_fuzz::fail("a.merge(b) has a cloud dot neither side had");
        }
    }
    for (const auto& e : ab.version()) {
        const std::uint64_t base = std::max(a.version().get(e.replica), b.version().get(e.replica));
        check_gained_from(e.replica, base, e.counter, clouds, "a.merge(b)");
    }
}

void run_inserts(const context<replica_id>& start, const std::vector<dot<replica_id>>& dots) {
    context<replica_id> c = start;
    std::set<dot<replica_id>> pool(start.cloud().begin(), start.cloud().end());
    for (const auto& d : dots) {
        if (d.counter == 0) {
            continue; // precondition of insert
        }
        const bool was = c.contains(d);
        if (c.insert(d) == was) {
            crdt_fuzz::fail("insert() returned the wrong 'was new' flag");
        }
        if (!c.contains(d)) {
            crdt_fuzz::fail("insert() did not add the dot");
        }
        pool.insert(d);
        check_invariants(c, "after insert");
    }
    for (const auto& d : start.cloud()) {
        if (!c.contains(d)) {
            crdt_fuzz::fail("insert() lost a cloud dot");
        }
    }
    for (const auto& e : start.version()) {
        if (c.version().get(e.replica) < e.counter) {
            crdt_fuzz::fail("insert() lost part of the version vector");
        }
    }
    for (const auto& d : c.cloud()) {
        if (pool.find(d) == pool.end()) {
            crdt_fuzz::fail("insert() invented a cloud dot");
        }
    }
    for (const auto& e : c.version()) {
        check_gained_from(e.replica, start.version().get(e.replica), e.counter, pool,
                          "after inserts");
    }
}

void run_next_dots(const context<replica_id>& start, const std::vector<replica_id>& replicas) {
    context<replica_id> c = start;
    for (const auto& r : replicas) {
        const std::uint64_t top = c.version().get(r);
        const bool cloud_has_r = std::any_of(c.cloud().begin(), c.cloud().end(),
                                             [&](const auto& d) { return d.replica == r; });
        if (cloud_has_r || top == max_counter) {
            continue; // preconditions of next_dot
        }
        const auto d = c.next_dot(r);
        if (d.replica != r || d.counter != top + 1 || !c.contains(d) ||
            c.version().get(r) != top + 1) {
            crdt_fuzz::fail("next_dot() did not take (replica, get(replica) + 1)");
        }
        check_invariants(c, "after next_dot");
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
                using ctx = context<replica_id>;
                if constexpr (std::is_same_v<T, std::pair<ctx, ctx>>) {
                    check_invariants(v->first, "decoded a");
                    check_invariants(v->second, "decoded b");
                    check_merge(v->first, v->second);
                } else if constexpr (std::is_same_v<T, std::tuple<ctx, ctx, ctx>>) {
                    const auto& [a, b, c] = *v;
                    check_invariants(a, "decoded a");
                    check_invariants(b, "decoded b");
                    check_invariants(c, "decoded c");
                    crdt::testing::check_semilattice(a, b, c);
                } else if constexpr (std::is_same_v<T,
                                                    std::pair<ctx, std::vector<dot<replica_id>>>>) {
                    check_invariants(v->first, "decoded");
                    run_inserts(v->first, v->second);
                } else if constexpr (std::is_same_v<T, std::pair<ctx, std::vector<replica_id>>>) {
                    check_invariants(v->first, "decoded");
                    run_next_dots(v->first, v->second);
                } else if constexpr (std::is_same_v<T, std::pair<ctx, version<replica_id>>>) {
                    check_invariants(v->first, "decoded");
                    ctx by_version = v->first;
                    by_version.merge(v->second);
                    ctx by_context = v->first;
                    by_context.merge(ctx(v->second));
                    check_invariants(by_version, "merge(version)");
                    if (!(by_version == by_context)) {
                        crdt_fuzz::fail("merge(version) != merge(causal_context(version))");
                    }
                } else {
                    check_invariants(*v, "decoded");
                }
            });
    });
}

std::vector<crdt_fuzz::bytes> crdt_fuzz::seeds() {
    using ctx = context<replica_id>;
    const replica_id r1(1);
    const replica_id r2(2);
    const replica_id r3(0xffffffffffffffffull);
    auto make = [](const version<replica_id>& v, std::initializer_list<dot<replica_id>> cloud) {
        ctx c(v);
        for (const auto& d : cloud) {
            c.insert(d);
        }
        return c;
    };
    const ctx empty;
    const ctx a = make({{r1, 3}, {r2, 1}}, {{r1, 5}, {r1, 7}, {r3, 4}});
    const ctx b = make({{r1, 4}}, {{r2, 3}, {r3, 2}});
    const ctx c = make({{r3, 9}}, {{r1, 6}, {r2, 2}});
    // Counters near 2^64-1, where "top + 1" arithmetic wraps.
    const ctx high = make({{r3, max_counter - 2}}, {{r3, max_counter}, {r1, max_counter}});
    const context<agent_id> x = [] {
        context<agent_id> out(version<agent_id>{{agent_id("alice"), 2}});
        out.insert({agent_id("bob"), 3});
        return out;
    }();
    std::vector<bytes> out;
    auto add = [&](const auto& v) { out.push_back(seed_for<types>(v)); };
    add(empty);
    add(a);
    add(high);
    add(x);
    add(std::pair{a, b});
    add(std::pair{b, c});
    add(std::tuple{a, b, c});
    add(std::pair{high, c});
    add(std::pair{a, std::vector<dot<replica_id>>{{r1, 4}, {r1, 6}, {r2, 2}, {r3, 1}}});
    add(std::pair{b, std::vector<replica_id>{r1, r2, r3}});
    add(std::pair{c, version<replica_id>{{r1, 6}, {r2, 1}}});
    return out;
}
