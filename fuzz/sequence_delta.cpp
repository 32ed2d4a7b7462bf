// fuzz/sequence_delta.cpp -- crdt::decode of sequence deltas (the ops
// crdt::sequence and crdt::text sync with, crdt/sequence/delta.hpp).
//
// Input: one selector byte (which instantiation), then the encoding. Oracles
// beyond the kit's (fuzz/support/harness.hpp): a decoded delta merged into
// an empty sequence and into one with a history either applies or throws
// crdt::error(invalid_value) leaving the sequence unchanged; after a merge
// verify() holds, merging the delta again changes nothing (idempotence), and
// the sequence's delta_since({}) encodes, decodes, and rebuilds the same
// content and version in a fresh sequence.
#include "support/harness.hpp"
#include "support/sequences.hpp"

#include <crdt/sequence.hpp>

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

namespace {

using crdt_fuzz::seq::agent;
using crdt_fuzz::seq::element;
using crdt_fuzz::seq::int_seq;
using crdt_fuzz::seq::str_seq;
using crdt_fuzz::seq::text_seq;
using types = crdt_fuzz::type_list<text_seq::delta_type, int_seq::delta_type, str_seq::delta_type>;

/// A sequence edited by two agents (salt, salt + 1): inserts in runs,
/// erases, concurrency.
template <class S>
S sample(std::uint64_t salt) {
    S a(agent<S>(salt));
    S b(agent<S>(salt + 1));
    for (std::uint64_t i = 0; i < 6; ++i) {
        std::vector<typename S::value_type> run;
        for (std::uint64_t k = 0; k <= i % 3; ++k) {
            run.push_back(element<S>(i + k + salt));
        }
        S& who = i % 2 == 0 ? a : b;
        if (auto o = who.insert((i * 7 + salt) % (who.size() + 1),
                                std::span<const typename S::value_type>(run))) {
            (i % 2 == 0 ? b : a).apply(*o);
        }
        if (i % 3 == 2 && who.size() > 1) {
            for (const auto& o : who.erase((i + salt) % (who.size() - 1), 2)) {
                (i % 2 == 0 ? b : a).apply(o);
            }
        }
    }
    return a;
}

template <class S>
void check_merge(S& s, const typename S::delta_type& d) {
    const auto before = s.delta_since({});
    const auto buffered_before = s.buffered();
    try {
        s.merge(d);
    } catch (const crdt::error& e) {
        if (e.cause() != crdt::errc::invalid_value) {
            crdt_fuzz::fail(std::string("merge threw a cause other than invalid_value: ") +
                            e.what());
        }
        if (!(s.delta_since({}) == before) || s.buffered() != buffered_before) {
            crdt_fuzz::fail("a rejected merge changed the sequence");
        }
        return;
    }
    s.verify();
    const auto content = s.content();
    const auto version = s.version();
    const auto buffered = s.buffered();
    s.merge(d);
    if (s.content() != content || !(s.version() == version) || s.buffered() != buffered) {
        crdt_fuzz::fail("merging a delta twice is not idempotent");
    }
    const auto all =
        crdt::decode<typename S::delta_type>(crdt::encode(s.delta_since({})), "delta_since({})");
    S fresh(agent<S>(9));
    fresh.merge(all);
    fresh.verify();
    if (fresh.content() != s.content() || !(fresh.version() == s.version())) {
        crdt_fuzz::fail("delta_since({}) does not rebuild the sequence");
    }
}

template <class D>
struct seq_of;
template <>
struct seq_of<text_seq::delta_type> {
    using type = text_seq;
};
template <>
struct seq_of<int_seq::delta_type> {
    using type = int_seq;
};
template <>
struct seq_of<str_seq::delta_type> {
    using type = str_seq;
};

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    return crdt_fuzz::run(data, size, [](crdt_fuzz::input in) {
        if (in.empty()) {
            return;
        }
        crdt_fuzz::visit_type<types>(std::to_integer<std::size_t>(in[0]) % types::size,
                                     [&]<class D>() {
                                         using S = typename seq_of<D>::type;
                                         if (auto d = crdt_fuzz::decode_checked<D>(in.subspan(1))) {
                                             S empty(agent<S>(5));
                                             check_merge(empty, *d);
                                             S seeded = sample<S>(0);
                                             check_merge(seeded, *d);
                                         }
                                     });
    });
}

std::vector<crdt_fuzz::bytes> crdt_fuzz::seeds() {
    std::vector<bytes> out;
    auto add_all = [&]<class S>() {
        const S s = sample<S>(0);
        const S t = sample<S>(3);
        using D = typename S::delta_type;
        out.push_back(seed_for<types>(D{}));
        out.push_back(seed_for<types>(s.delta_since({})));
        out.push_back(seed_for<types>(t.delta_since({})));
        S u = s;
        u.merge(t.delta_since({}));
        out.push_back(seed_for<types>(u.delta_since(s.version())));
        S v = s;
        D local = v.erase(0, v.size());
        local.merge(v.insert(0, element<S>(1)));
        out.push_back(seed_for<types>(local));
    };
    add_all.template operator()<text_seq>();
    add_all.template operator()<int_seq>();
    add_all.template operator()<str_seq>();
    return out;
}
