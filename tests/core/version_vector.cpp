// Tests of crdt/core/version_vector.hpp, against a naive std::map model.
#include <crdt/core/replica_id.hpp>
#include <crdt/core/version_vector.hpp>
#include <crdt/testing/arbitrary.hpp>
#include <crdt/testing/codec_laws.hpp>
#include <crdt/testing/laws.hpp>

#include "helpers.hpp"
#include <support/seed.hpp>

#include <catch2/catch.hpp>
#include <rapidcheck.h>
#include <rapidcheck/catch.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <tuple>
#include <vector>

namespace {

using id_types = std::tuple<crdt::replica_id, crdt::replica_id128, crdt::agent_id>;
using large_id_types = std::tuple<crdt::replica_id, crdt::agent_id>;

template <class R>
using model = std::map<R, std::uint64_t>; // replica -> counter, no zero entries

template <class R>
using vv = crdt::basic_version_vector<R>;

template <class R>
using range = crdt::basic_dot_range<R>;

template <class R>
model<R> model_of(const vv<R>& v) {
    model<R> m;
    for (const auto& e : v) {
        m[e.replica] = e.counter;
    }
    return m;
}

template <class R>
std::uint64_t lookup(const model<R>& m, const R& r) {
    const auto it = m.find(r);
    return it == m.end() ? 0 : it->second;
}

template <class R>
void model_merge(model<R>& into, const model<R>& other) {
    for (const auto& [r, c] : other) {
        into[r] = std::max(lookup(into, r), c);
    }
}

template <class R>
crdt::causal_order model_compare(const model<R>& a, const model<R>& b) {
    bool a_ahead = false;
    bool b_ahead = false;
    for (const auto& [r, c] : a) {
        a_ahead |= c > lookup(b, r);
    }
    for (const auto& [r, c] : b) {
        b_ahead |= c > lookup(a, r);
    }
    if (a_ahead && b_ahead) {
        return crdt::causal_order::concurrent;
    }
    if (a_ahead) {
        return crdt::causal_order::after;
    }
    return b_ahead ? crdt::causal_order::before : crdt::causal_order::equal;
}

template <class R>
std::vector<range<R>> model_missing(const model<R>& a, const model<R>& b) {
    std::vector<range<R>> out;
    for (const auto& [r, c] : a) {
        const std::uint64_t theirs = lookup(b, r);
        if (c > theirs) {
            out.push_back(range<R>{r, theirs + 1, c});
        }
    }
    return out;
}

crdt::causal_order reversed(crdt::causal_order o) {
    switch (o) {
    case crdt::causal_order::before: return crdt::causal_order::after;
    case crdt::causal_order::after: return crdt::causal_order::before;
    default: return o;
    }
}

// Returns "" if `v` holds exactly `m`, else a description of the first difference.
// Probes every replica of `m` and of `probes` with counters around m[r].
template <class R>
std::string mismatch(const vv<R>& v, const model<R>& m, const std::vector<R>& probes) {
    if (v.size() != m.size()) {
        return "size " + std::to_string(v.size()) + " != model " + std::to_string(m.size());
    }
    if (v.empty() != m.empty()) {
        return "empty() disagrees";
    }
    // Iteration: strictly increasing replicas, counters >= 1, the model's entries.
    auto it = m.begin();
    const typename vv<R>::entry* previous = nullptr;
    for (const auto& e : v) {
        if (e.counter == 0) {
            return "stored a zero counter";
        }
        if (previous != nullptr && !(previous->replica < e.replica)) {
            return "entries not strictly increasing";
        }
        if (it == m.end() || !(it->first == e.replica) || it->second != e.counter) {
            return "entry differs from the model";
        }
        previous = &e;
        ++it;
    }
    std::uint64_t total = 0;
    for (const auto& [r, c] : m) {
        total += c;
    }
    if (v.total() != total) {
        return "total " + std::to_string(v.total()) + " != model " + std::to_string(total);
    }
    std::vector<R> all = probes;
    for (const auto& [r, c] : m) {
        all.push_back(r);
    }
    for (const auto& r : all) {
        const std::uint64_t c = lookup(m, r);
        if (v.get(r) != c) {
            return "get() = " + std::to_string(v.get(r)) + ", model " + std::to_string(c);
        }
        // Every counter of small entries; the boundaries of large ones.
        std::vector<std::uint64_t> counters = {0, 1, c / 2, c, c + 1};
        for (std::uint64_t k = 2; k <= c && c <= 40; ++k) {
            counters.push_back(k);
        }
        for (const std::uint64_t k : counters) {
            if (v.contains({r, k}) != (k >= 1 && k <= c)) {
                return "contains(" + std::to_string(k) + ") disagrees with the model";
            }
        }
    }
    if (!(v == vv<R>(v)) || !(model_of(v) == m)) {
        return "copy or model_of differs";
    }
    return "";
}

// A version derived from `a` so that equal / before / after all occur often.
template <class R>
vv<R> derived_version(const vv<R>& a) {
    vv<R> b = a;
    const int mode = *rc::gen::inRange(0, 5);
    if (mode == 0) {
        return *rc::gen::arbitrary<vv<R>>(); // independent
    }
    const auto steps = *rc::gen::inRange(0, 4);
    for (int i = 0; i < steps; ++i) {
        const R r = *rc::gen::arbitrary<R>();
        const std::uint64_t cur = b.get(r);
        if (mode == 1) { // only raise: after or equal
            b.advance(r, cur + *rc::gen::inRange<std::uint64_t>(0, 3));
        } else if (mode == 2) { // only lower: before or equal
            b.set(r, cur == 0 ? 0 : *rc::gen::inRange<std::uint64_t>(0, cur + 1));
        } else if (mode == 3) { // both
            b.set(r, *rc::gen::inRange<std::uint64_t>(0, cur + 3));
        }
        // mode 4: unchanged (equal)
    }
    return b;
}

template <class V>
bool stored_inline(const V& v) {
    const auto object = reinterpret_cast<std::uintptr_t>(std::addressof(v));
    const auto data = reinterpret_cast<std::uintptr_t>(std::to_address(v.begin()));
    return data >= object && data < object + sizeof(V);
}

} // namespace

// --- model-based properties ----------------------------------------------------

TEMPLATE_LIST_TEST_CASE("version_vector: mutators match a std::map model", "[version_vector]",
                        id_types) {
    using R = TestType;
    rc::prop("get/set/advance/increment/merge/clear", [] {
        vv<R> v;
        model<R> m;
        std::vector<R> probes{*rc::gen::arbitrary<R>()};
        const int n_ops = *rc::gen::inRange(0, 40);
        for (int i = 0; i < n_ops; ++i) {
            const int op = *rc::gen::inRange(0, 100);
            const R r = *rc::gen::arbitrary<R>();
            const std::uint64_t c = *rc::gen::inRange<std::uint64_t>(0, 30);
            probes.push_back(r);
            if (op < 20) {
                v.set(r, c);
                if (c == 0) {
                    m.erase(r);
                } else {
                    m[r] = c;
                }
            } else if (op < 40) {
                v.advance(r, c);
                if (c > 0) {
                    m[r] = std::max(lookup(m, r), c);
                }
            } else if (op < 50) {
                v.advance(crdt::basic_dot<R>{r, c});
                if (c > 0) {
                    m[r] = std::max(lookup(m, r), c);
                }
            } else if (op < 75) {
                const auto d = v.increment(r);
                m[r] = lookup(m, r) + 1;
                RC_ASSERT(d.replica == r);
                RC_ASSERT(d.counter == m[r]);
            } else if (op < 97) {
                const auto other = *rc::gen::arbitrary<vv<R>>();
                v.merge(other);
                model_merge(m, model_of(other));
            } else {
                v.clear();
                m.clear();
            }
            RC_ASSERT(mismatch(v, m, probes) == std::string());
        }
    });
}

TEST_CASE("version_vector: initializer list keeps the largest counter, drops zeros") {
    const crdt::replica_id r1(1);
    const crdt::replica_id r2(2);
    const crdt::replica_id r3(3);
    const crdt::version_vector v{{r3, 2}, {r1, 3}, {r2, 0}, {r1, 1}};
    CHECK(v.size() == 2u);
    CHECK(v.get(r1) == 3u);
    CHECK(v.get(r2) == 0u);
    CHECK(v.get(r3) == 2u);
    CHECK(v.begin()->replica == r1); // sorted
    CHECK(v == crdt::version_vector{{r1, 3}, {r3, 2}});
    CHECK(crdt::version_vector{}.empty());
    CHECK(crdt::version_vector{{r1, 0}}.empty());
}

TEMPLATE_LIST_TEST_CASE("version_vector: merge, compare, includes, missing_from match the model",
                        "[version_vector]", id_types) {
    using R = TestType;
    rc::prop("binary operations", [] {
        const auto a = *rc::gen::arbitrary<vv<R>>();
        const auto b = derived_version(a);
        const model<R> ma = model_of(a);
        const model<R> mb = model_of(b);

        // merge = pointwise max, in both directions.
        model<R> mab = ma;
        model_merge(mab, mb);
        vv<R> ab = a;
        ab.merge(b);
        vv<R> ba = b;
        ba.merge(a);
        RC_ASSERT(mismatch(ab, mab, {}) == std::string());
        RC_ASSERT(ab == ba);
        vv<R> aa = a;
        aa.merge(aa); // self-merge
        RC_ASSERT(aa == a);

        // compare: exactly the model's partial order.
        const crdt::causal_order expected = model_compare(ma, mb);
        RC_ASSERT(a.compare(b) == expected);
        RC_ASSERT(b.compare(a) == reversed(expected));
        RC_ASSERT(a.includes(b) ==
                  (expected == crdt::causal_order::equal || expected == crdt::causal_order::after));
        RC_ASSERT(b.includes(a) == (expected == crdt::causal_order::equal ||
                                    expected == crdt::causal_order::before));
        RC_ASSERT((a == b) == (expected == crdt::causal_order::equal));
        RC_ASSERT(ab.includes(a));
        RC_ASSERT(ab.includes(b));

        // missing_from: exactly the per-replica ranges b lacks, and they are
        // exactly what turns b into the merge.
        const auto missing = a.missing_from(b);
        RC_ASSERT(missing == model_missing(ma, mb));
        vv<R> patched = b;
        for (const auto& rg : missing) {
            RC_ASSERT(rg.first == b.get(rg.replica) + 1);
            RC_ASSERT(rg.first <= rg.last);
            RC_ASSERT(!b.contains({rg.replica, rg.first}));
            RC_ASSERT(a.contains({rg.replica, rg.last}));
            patched.advance(rg.replica, rg.last);
        }
        RC_ASSERT(patched == ab);
        RC_ASSERT(a.missing_from(a).empty());
        RC_ASSERT(a.missing_from(ab).empty());
        RC_ASSERT(missing.empty() == b.includes(a));
    });
}

TEMPLATE_LIST_TEST_CASE("version_vector: equal vectors are equal and hash equally",
                        "[version_vector]", id_types) {
    using R = TestType;
    rc::prop("hash and equality ignore construction order", [] {
        const auto dots = *rc::gen::container<std::vector<crdt::basic_dot<R>>>(
            rc::gen::arbitrary<crdt::basic_dot<R>>());
        vv<R> forward;
        for (const auto& d : dots) {
            forward.advance(d);
        }
        vv<R> backward;
        for (auto it = dots.rbegin(); it != dots.rend(); ++it) {
            backward.advance(*it);
        }
        // An entry set and then removed leaves no trace.
        vv<R> with_removed = backward;
        const R extra = *rc::gen::arbitrary<R>();
        if (with_removed.get(extra) == 0) {
            with_removed.set(extra, 7);
            with_removed.set(extra, 0);
        }
        const auto decoded = crdt::decode<vv<R>>(crdt::encode(forward));
        const std::hash<vv<R>> h;
        RC_ASSERT(forward == backward);
        RC_ASSERT(forward == with_removed);
        RC_ASSERT(forward == decoded);
        RC_ASSERT(h(forward) == h(backward));
        RC_ASSERT(h(forward) == h(with_removed));
        RC_ASSERT(h(forward) == h(decoded));
        // A different vector is unequal (its hash usually differs too).
        vv<R> bumped = forward;
        bumped.increment(extra);
        RC_ASSERT(!(bumped == forward));
    });
}

TEST_CASE("version_vector: hashes of different vectors spread") {
    std::set<std::size_t> hashes;
    const std::hash<crdt::version_vector> h;
    std::size_t n = 0;
    for (std::uint64_t r = 1; r <= 8; ++r) {
        for (std::uint64_t c = 1; c <= 8; ++c) {
            for (std::uint64_t c2 = 0; c2 <= 3; ++c2) {
                crdt::version_vector v{{crdt::replica_id(r), c}, {crdt::replica_id(r + 1), c2}};
                hashes.insert(h(v));
                ++n;
            }
        }
    }
    CHECK(hashes.size() == n);
}

TEMPLATE_LIST_TEST_CASE("version_vector: join-semilattice laws", "[version_vector]", id_types) {
    using R = TestType;
    rc::prop("check_semilattice", [](const vv<R>& a, const vv<R>& b, const vv<R>& c) {
        crdt::testing::check_semilattice(a, b, c);
        // The join is the least upper bound: it includes both and is included
        // by anything that includes both.
        vv<R> ab = a;
        ab.merge(b);
        vv<R> abc = ab;
        abc.merge(c);
        RC_ASSERT(abc.includes(ab));
        RC_ASSERT(ab.includes(a) && ab.includes(b));
    });
    const std::uint64_t seed = crdt_test::seed(21);
    CAPTURE(seed);
    std::vector<vv<R>> updates;
    const auto ids = core_test::id_pool<R>(5);
    std::mt19937_64 rng(seed);
    for (int i = 0; i < 20; ++i) {
        vv<R> u;
        u.set(ids[core_test::uniform(rng, 0, 4)], core_test::uniform(rng, 1, 20));
        updates.push_back(u);
    }
    REQUIRE_NOTHROW(crdt::testing::check_convergence(vv<R>{}, updates, seed));
}

// --- codec ---------------------------------------------------------------------

TEMPLATE_LIST_TEST_CASE("version_vector: codec round trip and robustness", "[version_vector]",
                        id_types) {
    using R = TestType;
    rc::prop("check_round_trip", [](const vv<R>& v) {
        crdt::testing::check_round_trip(v);
        // Layout: count, then (replica, counter) per entry.
        std::size_t expected = crdt::encode(std::uint64_t{v.size()}).size();
        for (const auto& e : v) {
            expected += crdt::encode(e.replica).size() + crdt::encode(e.counter).size();
        }
        RC_ASSERT(crdt::encode(v).size() == expected);
    });
    const std::uint64_t seed = crdt_test::seed(22);
    CAPTURE(seed);
    std::vector<std::vector<std::byte>> samples;
    const auto ids = core_test::id_pool<R>(6);
    for (std::size_t n = 0; n <= ids.size(); ++n) {
        vv<R> v;
        for (std::size_t i = 0; i < n; ++i) {
            v.set(ids[i], i == 2 ? std::numeric_limits<std::uint64_t>::max() : 1 + i * 100);
        }
        REQUIRE_NOTHROW(crdt::testing::check_round_trip(v));
        samples.push_back(crdt::encode(v));
    }
    REQUIRE_NOTHROW(crdt::testing::check_decoder_robustness<vv<R>>(samples, seed));
}

TEST_CASE("version_vector: encoding layout is stable") {
    const crdt::version_vector v{{crdt::replica_id(0x0201), 3}, {crdt::replica_id(0x0300), 300}};
    const std::vector<std::byte> expected = core_test::bytes_of([](crdt::byte_writer& w) {
        w.byte(2); // count
        for (const std::uint8_t b : std::initializer_list<std::uint8_t>{1, 2, 0, 0, 0, 0, 0, 0}) {
            w.byte(b);
        }
        w.byte(3);
        for (const std::uint8_t b : std::initializer_list<std::uint8_t>{0, 3, 0, 0, 0, 0, 0, 0}) {
            w.byte(b);
        }
        w.byte(0xac); // 300 as LEB128
        w.byte(0x02);
    });
    CHECK(crdt::encode(v) == expected);
    CHECK(crdt::decode<crdt::version_vector>(expected) == v);
    CHECK(crdt::encode(crdt::version_vector{}) == std::vector<std::byte>{std::byte{0}});
}

TEST_CASE("version_vector: decode rejects non-canonical and corrupt input") {
    using crdt::errc;
    const crdt::replica_id r3(3);
    const crdt::replica_id r5(5);
    auto entries = [](std::uint64_t count,
                      std::vector<std::pair<crdt::replica_id, std::uint64_t>> es) {
        return core_test::bytes_of([&](crdt::byte_writer& w) {
            w.varint(count);
            for (const auto& [r, c] : es) {
                crdt::encode_into(w, r);
                w.varint(c);
            }
        });
    };
    auto decode_error = [](const std::vector<std::byte>& bytes) {
        return core_test::caught_error([&] { (void)crdt::decode<crdt::version_vector>(bytes); });
    };

    SECTION("replicas out of order: the offset names the second entry") {
        const crdt::error e = decode_error(entries(2, {{r5, 1}, {r3, 1}}));
        CHECK(e.cause() == errc::invalid_value);
        CHECK(e.offset() == std::optional<std::size_t>(1 + 8 + 1));
        CHECK(std::string(e.what()).find("(at byte 10)") != std::string::npos);
    }
    SECTION("duplicate replica") {
        const crdt::error e = decode_error(entries(3, {{r3, 1}, {r5, 2}, {r5, 4}}));
        CHECK(e.cause() == errc::invalid_value);
        CHECK(e.offset() == std::optional<std::size_t>(1 + 9 + 9));
    }
    SECTION("zero counter: the offset names the counter") {
        const crdt::error e = decode_error(entries(2, {{r3, 1}, {r5, 0}}));
        CHECK(e.cause() == errc::invalid_value);
        CHECK(e.offset() == std::optional<std::size_t>(1 + 9 + 8));
    }
    SECTION("truncated") {
        const auto full = entries(2, {{r3, 1}, {r5, 200}});
        CHECK(decode_error({full.begin(), full.end() - 1}).cause() == errc::truncated);
        CHECK(decode_error({}).cause() == errc::truncated);
        for (std::size_t n = 0; n < full.size(); ++n) {
            CAPTURE(n);
            const crdt::error e =
                decode_error({full.begin(), full.begin() + static_cast<std::ptrdiff_t>(n)});
            CHECK((e.cause() == errc::truncated || e.cause() == errc::length_out_of_range));
        }
    }
    SECTION("huge entry count") {
        const crdt::error e = decode_error(entries(std::uint64_t{1} << 40, {{r3, 1}}));
        CHECK(e.cause() == errc::length_out_of_range);
        CHECK(e.offset() == std::optional<std::size_t>(0));
        CHECK(decode_error(entries(std::numeric_limits<std::uint64_t>::max(), {})).cause() ==
              errc::length_out_of_range);
    }
    SECTION("trailing bytes") {
        auto bytes = entries(1, {{r3, 1}});
        bytes.push_back(std::byte{0});
        CHECK(decode_error(bytes).cause() == errc::trailing_bytes);
    }
    SECTION("agent ids out of byte order") {
        const auto bytes = core_test::bytes_of([](crdt::byte_writer& w) {
            w.varint(2);
            w.string("b");
            w.varint(1);
            w.string("B"); // "B" < "b"
            w.varint(1);
        });
        const crdt::error e = core_test::caught_error(
            [&] { (void)crdt::decode<crdt::basic_version_vector<crdt::agent_id>>(bytes); });
        CHECK(e.cause() == errc::invalid_value);
        CHECK(e.offset() == std::optional<std::size_t>(4));
    }
}

// --- storage -------------------------------------------------------------------

TEMPLATE_LIST_TEST_CASE("version_vector: up to 4 replicas are stored inline", "[version_vector]",
                        id_types) {
    using R = TestType;
    static_assert(vv<R>::inline_capacity == 4);
    const auto ids = core_test::id_pool<R>(5);
    vv<R> v;
    CHECK(stored_inline(v));
    v.set(ids[0], 1);
    CHECK(stored_inline(v));
    v.advance(ids[1], 5);
    CHECK(stored_inline(v));
    v.increment(ids[2]);
    CHECK(stored_inline(v));
    vv<R> other;
    other.set(ids[3], 2);
    other.set(ids[0], 9);
    v.merge(other); // grows to exactly 4
    CHECK(v.size() == 4u);
    CHECK(stored_inline(v));
    const vv<R> copy = v;
    CHECK(stored_inline(copy));
    const auto decoded = crdt::decode<vv<R>>(crdt::encode(v));
    CHECK(stored_inline(decoded));
    vv<R> merged_small;
    merged_small.merge(v);
    CHECK(stored_inline(merged_small));
    // The check can tell: a fifth replica moves the entries to the heap.
    v.set(ids[4], 1);
    CHECK(v.size() == 5u);
    CHECK_FALSE(stored_inline(v));
}

TEMPLATE_LIST_TEST_CASE("version_vector: 1,000 replicas merge and compare like the model",
                        "[version_vector]", large_id_types) {
    using R = TestType;
    const std::uint64_t seed = crdt_test::seed(23);
    CAPTURE(seed);
    std::mt19937_64 rng(seed);
    const auto ids = core_test::id_pool<R>(1500);

    auto random_version = [&](std::size_t replicas) {
        std::vector<std::size_t> order(ids.size());
        for (std::size_t i = 0; i < order.size(); ++i) {
            order[i] = i;
        }
        std::shuffle(order.begin(), order.end(), rng);
        vv<R> v;
        for (std::size_t i = 0; i < replicas; ++i) { // inserted in random replica order
            v.set(ids[order[i]], core_test::uniform(rng, 1, 100));
        }
        return v;
    };

    for (int round = 0; round < 3; ++round) { // one round per relation
        CAPTURE(round);
        const vv<R> a = random_version(1000);
        vv<R> b;
        switch (round % 3) {
        case 0: b = random_version(1000); break; // independent: concurrent
        case 1: {                                // a with some entries raised: after
            b = a;
            for (int k = 0; k < 10; ++k) {
                b.advance(ids[core_test::uniform(rng, 0, ids.size() - 1)],
                          core_test::uniform(rng, 1, 150));
            }
            break;
        }
        default: { // a with some entries lowered or dropped: before
            b = a;
            for (int k = 0; k < 10; ++k) {
                const R& r = ids[core_test::uniform(rng, 0, ids.size() - 1)];
                b.set(r, b.get(r) / 2);
            }
            break;
        }
        }
        const model<R> ma = model_of(a);
        const model<R> mb = model_of(b);
        REQUIRE(ma.size() == 1000u);
        REQUIRE(mismatch(a, ma, {}) == std::string());

        model<R> mab = ma;
        model_merge(mab, mb);
        vv<R> ab = a;
        ab.merge(b);
        REQUIRE(mismatch(ab, mab, {}) == std::string());
        vv<R> ba = b;
        ba.merge(a);
        CHECK(ab == ba);

        const auto expected = model_compare(ma, mb);
        CHECK(a.compare(b) == expected);
        CHECK(b.compare(a) == reversed(expected));
        CHECK(ab.compare(a) == (ab == a ? crdt::causal_order::equal : crdt::causal_order::after));
        CHECK(a.compare(a) == crdt::causal_order::equal);

        const auto missing = a.missing_from(b);
        CHECK(missing == model_missing(ma, mb));
        vv<R> patched = b;
        for (const auto& rg : missing) {
            patched.advance(rg.replica, rg.last);
        }
        CHECK(patched == ab);
    }
}

TEST_CASE("version_vector: mutators are strongly exception safe") {
    // throwing_id's copies throw std::bad_alloc on demand, as an agent_id's
    // string copy can; after a throw the vector must be unchanged.
    using R = core_test::throwing_id;
    static_assert(crdt::replica_identifier<R>);
    const std::uint64_t seed = crdt_test::seed(24);
    CAPTURE(seed);
    std::mt19937_64 rng(seed);
    auto random_version = [&] {
        vv<R> v;
        const auto n = core_test::uniform(rng, 0, 7); // both sides of inline_capacity
        for (std::uint64_t i = 0; i < n; ++i) {
            v.set(R(core_test::uniform(rng, 0, 9)), core_test::uniform(rng, 1, 9));
        }
        return v;
    };
    int throws = 0;
    for (int round = 0; round < 40; ++round) {
        CAPTURE(round);
        const vv<R> a = random_version();
        const vv<R> b = random_version();
        const R fresh(core_test::uniform(rng, 0, 12));
        auto unchanged = [&](const vv<R>& state) { REQUIRE(state == a); };

        model<R> expected = model_of(a);
        model_merge(expected, model_of(b));
        throws += core_test::inject_copy_failures(
            a, [&](vv<R>& s) { s.merge(b); }, unchanged);
        vv<R> merged = a;
        merged.merge(b);
        REQUIRE(mismatch(merged, expected, {}) == std::string());

        throws += core_test::inject_copy_failures(
            a, [&](vv<R>& s) { s.set(fresh, 4); }, unchanged);
        throws += core_test::inject_copy_failures(
            a, [&](vv<R>& s) { s.advance(fresh, 11); }, unchanged);
        throws += core_test::inject_copy_failures(
            a, [&](vv<R>& s) { (void)s.increment(fresh); }, unchanged);
    }
    CHECK(throws > 0); // the injection did hit copies inside the mutators
}
