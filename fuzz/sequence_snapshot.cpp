// fuzz/sequence_snapshot.cpp -- sequence::load_snapshot (crdt/sequence.hpp):
// snapshots of crdt::sequence and crdt::text, loaded without integrating
// a single op (ops stored, run tree built bottom-up from the stored order).
//
// Input: one selector byte, then the bytes. selector % 6 picks the
// instantiation (% 3: sequence<char32_t>, sequence<std::uint64_t> with
// replica_id agents, sequence<std::string>) and the mode:
//   * 0-2 "as is": the bytes are a whole snapshot, CRC-32C trailer included.
//     Random mutations of these mostly stop at checksum_mismatch.
//   * 3-5 "sealed": the bytes are a snapshot's body; the harness appends
//     the CRC-32C of the bytes before loading, so mutations reach the
//     decoder and the loader (a forged, well-formed snapshot).
// Seeds: snapshots (and bodies) of documents edited by several replicas,
// with concurrent inserts, deletes, forks, fork_at branches and merges.
//
// Oracles:
//   * load_snapshot returns or throws crdt::error (any cause, crdt's
//     category, a message naming the `what` argument, a byte offset, if
//     any, within the input); any other exception or a crash is a failure
//     (crdt_fuzz::run). crdt::text::load_snapshot on the same bytes
//     (char32_t only) has the same outcome and str() is the content as
//     UTF-8.
//   * A loaded document passes verify().
//   * Round trip of a loaded document: load_snapshot(loaded.snapshot())
//     passes verify(), has the same content and version, and its own
//     snapshot() is the same bytes (a fixed point).
//   * Rebuild: loaded.delta_since({}), encoded and decoded, merged into a
//     fresh sequence gives the same version and the same elements, and
//     the rebuilt document's snapshot() loads back to exactly it. A
//     snapshot whose order is not the one integration gives (a forged one:
//     the sealed mode makes those easy) loads as stated, as documented, so
//     only a permutation is required in general; when the input is exactly
//     the snapshot() of the rebuilt document (every unmodified seed, and
//     mutations that keep a snapshot genuine, such as a changed element),
//     or when both documents give the same snapshot(), the contents must
//     be equal.
//   * The loaded document edits on as its replica (unless the input holds
//     ops of that replica): an insert and an erase give the expected
//     content and verify() holds.
#include "support/harness.hpp"
#include "support/sequences.hpp"

#include <crdt/codec/crc32c.hpp>
#include <crdt/codec/writer.hpp>
#include <crdt/sequence.hpp>
#include <crdt/text.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace {

using crdt_fuzz::seq::agent;
using crdt_fuzz::seq::element;
using crdt_fuzz::seq::int_seq;
using crdt_fuzz::seq::str_seq;
using crdt_fuzz::seq::text_seq;
using types = crdt_fuzz::type_list<text_seq, int_seq, str_seq>;
constexpr std::size_t modes = 2;

constexpr std::string_view what = "fuzz snapshot";

/// Effects: `steps` deterministic local edits on `s` (runs of 1-3
/// elements, and every third step an erase of up to 2).
template <class S>
void edit(S& s, std::uint64_t salt, std::uint64_t steps) {
    for (std::uint64_t i = 0; i < steps; ++i) {
        std::vector<typename S::value_type> run;
        for (std::uint64_t k = 0; k <= (i + salt) % 3; ++k) {
            run.push_back(element<S>(i + k + salt));
        }
        s.insert((i * 7 + salt) % (s.size() + 1), std::span<const typename S::value_type>(run));
        if (i % 3 == 2 && s.size() > 1) {
            const std::size_t pos = (i + salt) % (s.size() - 1);
            s.erase(pos, std::min<std::size_t>(2, s.size() - pos));
        }
    }
}

/// A document edited by two agents (salt, salt + 1) exchanging ops as they
/// go: inserts in runs, erases, concurrency.
template <class S>
S sample(std::uint64_t salt) {
    S a(agent<S>(salt));
    S b(agent<S>(salt + 1));
    for (std::uint64_t i = 0; i < 6; ++i) {
        S& who = i % 2 == 0 ? a : b;
        S& other = i % 2 == 0 ? b : a;
        const auto before = who.version();
        edit(who, salt + i, 1 + i % 2);
        if (i % 2 == 1) { // let concurrent edits pile up, then exchange
            other.merge(who.delta_since(before));
            who.merge(other);
        }
    }
    a.merge(b);
    return a;
}

template <class S>
std::vector<typename S::value_type> sorted(std::vector<typename S::value_type> v) {
    std::sort(v.begin(), v.end());
    return v;
}

/// Returns: the code points `s` (Unicode scalar values) as UTF-8.
std::string utf8_of(const std::vector<char32_t>& s) {
    std::string out;
    const auto put = [&](std::uint32_t b) { out += static_cast<char>(b); };
    for (const char32_t c : s) {
        const auto v = static_cast<std::uint32_t>(c);
        if (v < 0x80) {
            put(v);
        } else if (v < 0x800) {
            put(0xC0 | (v >> 6));
            put(0x80 | (v & 0x3F));
        } else if (v < 0x10000) {
            put(0xE0 | (v >> 12));
            put(0x80 | ((v >> 6) & 0x3F));
            put(0x80 | (v & 0x3F));
        } else {
            put(0xF0 | (v >> 18));
            put(0x80 | ((v >> 12) & 0x3F));
            put(0x80 | ((v >> 6) & 0x3F));
            put(0x80 | (v & 0x3F));
        }
    }
    return out;
}

void check_error(const crdt::error& e, crdt_fuzz::input snap) {
    if (e.code().category() != crdt::error_category()) {
        crdt_fuzz::fail(std::string("crdt::error with a foreign category: ") + e.what());
    }
    if (std::string_view(e.what()).find(what) == std::string_view::npos) {
        crdt_fuzz::fail(std::string("load_snapshot error does not name the input: ") + e.what());
    }
    if (e.offset() && *e.offset() > snap.size()) {
        crdt_fuzz::fail(std::string("load_snapshot error offset past the input: ") + e.what());
    }
}

/// Effects: loads `snap` (a whole snapshot) as S and checks the oracles of
///   the file comment.
template <class S>
void check(crdt_fuzz::input snap) {
    std::optional<S> loaded;
    try {
        loaded.emplace(S::load_snapshot(snap, agent<S>(20), what));
    } catch (const crdt::error& e) {
        check_error(e, snap);
        if constexpr (std::is_same_v<S, text_seq>) {
            try {
                (void)crdt::text::load_snapshot(snap, agent<S>(20), what);
                crdt_fuzz::fail("text::load_snapshot accepted what sequence refused");
            } catch (const crdt::error& t) {
                if (t.cause() != e.cause()) {
                    crdt_fuzz::fail(std::string("text::load_snapshot threw another cause: ") +
                                    t.what());
                }
            }
        }
        return;
    }
    const S& doc = *loaded;
    doc.verify();
    const auto content = doc.content();
    const auto version = doc.version();
    if (doc.size() != content.size()) {
        crdt_fuzz::fail("size() differs from content().size()");
    }
    if constexpr (std::is_same_v<S, text_seq>) {
        const crdt::text t = crdt::text::load_snapshot(snap, agent<S>(20), what);
        t.verify();
        if (t.str() != utf8_of(content)) {
            crdt_fuzz::fail("text::load_snapshot gives another text than the sequence");
        }
    }

    // Round trip of the loaded document.
    const std::vector<std::byte> again = doc.snapshot();
    const S reloaded = S::load_snapshot(again, agent<S>(20), "reloaded snapshot");
    reloaded.verify();
    if (reloaded.content() != content || !(reloaded.version() == version)) {
        crdt_fuzz::fail("snapshot() of a loaded document loads to another document");
    }
    if (reloaded.snapshot() != again) {
        crdt_fuzz::fail("snapshot() of a reloaded document is not a fixed point");
    }

    // Rebuild by integrating the history.
    const auto all =
        crdt::decode<typename S::delta_type>(crdt::encode(doc.delta_since({})), "delta_since({})");
    S fresh(agent<S>(21));
    fresh.merge(all);
    fresh.verify();
    if (!(fresh.version() == version) || fresh.buffered() != 0) {
        crdt_fuzz::fail("delta_since({}) of a loaded document rebuilds another version");
    }
    const auto rebuilt = fresh.content();
    if (sorted<S>(rebuilt) != sorted<S>(content)) {
        crdt_fuzz::fail("delta_since({}) of a loaded document rebuilds other elements");
    }
    const std::vector<std::byte> honest = fresh.snapshot();
    if (std::ranges::equal(honest, snap) && rebuilt != content) {
        crdt_fuzz::fail("a snapshot() of a document loads to another content");
    }
    if (honest == again && rebuilt != content) {
        crdt_fuzz::fail("two documents with one snapshot have different contents");
    }
    const S honest_loaded = S::load_snapshot(honest, agent<S>(21), "rebuilt snapshot");
    honest_loaded.verify();
    if (honest_loaded.content() != rebuilt || !(honest_loaded.version() == version)) {
        crdt_fuzz::fail("snapshot() of an integrated document loads to another document");
    }

    // The loaded document edits on as its replica (if the input has no ops
    // of it, whose counters could be at their limit).
    if (doc.next_counter(agent<S>(20)) != 1) {
        return;
    }
    S& edited = *loaded;
    const std::size_t pos = content.size() / 2;
    edited.insert(pos, element<S>(7));
    if (!content.empty()) {
        edited.erase(0, 1);
    }
    edited.verify();
    auto expect = content;
    expect.insert(expect.begin() + static_cast<std::ptrdiff_t>(pos), element<S>(7));
    if (!expect.empty() && !content.empty()) {
        expect.erase(expect.begin());
    }
    if (edited.content() != expect) {
        crdt_fuzz::fail("local edits on a loaded document give another content");
    }
}

/// Returns: `body` followed by its CRC-32C, as snapshot() seals it.
crdt_fuzz::bytes seal(crdt_fuzz::input body) {
    crdt::byte_writer w;
    w.raw(body);
    w.fixed<std::uint32_t>(crdt::crc32c(w.view()));
    return w.take();
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    return crdt_fuzz::run(data, size, [](crdt_fuzz::input in) {
        if (in.empty()) {
            return;
        }
        const auto selector = std::to_integer<std::size_t>(in[0]) % (types::size * modes);
        const bool sealed = selector >= types::size;
        crdt_fuzz::visit_type<types>(selector % types::size, [&]<class S>() {
            if (sealed) {
                const crdt_fuzz::bytes whole = seal(in.subspan(1));
                check<S>(whole);
            } else {
                check<S>(in.subspan(1));
            }
        });
    });
}

std::vector<crdt_fuzz::bytes> crdt_fuzz::seeds() {
    std::vector<bytes> out;
    auto add = [&]<class S>(const S& doc) {
        const bytes snap = doc.snapshot();
        const std::size_t t = index_in<S, types>;
        bytes as_is{static_cast<std::byte>(t)};
        as_is.insert(as_is.end(), snap.begin(), snap.end());
        out.push_back(std::move(as_is));
        bytes body{static_cast<std::byte>(t + types::size)};
        body.insert(body.end(), snap.begin(), snap.end() - 4);
        out.push_back(std::move(body));
    };
    auto add_all = [&]<class S>() {
        add(S(agent<S>(0)));
        const S s = sample<S>(0);
        add(s);
        S u = sample<S>(3);
        u.merge(s);
        add(u);
        // Branches: a fork and a past fork edit concurrently with main,
        // then everything merges; the branches' LVs interleave in the store.
        S main = sample<S>(6);
        const auto v0 = main.version();
        S f = main.fork(agent<S>(10));
        edit(f, 1, 4);
        edit(main, 2, 3);
        S past = main.fork_at(v0, agent<S>(11));
        edit(past, 3, 3);
        add(past);
        main.merge(f);
        main.merge(past);
        edit(main, 4, 2);
        add(main);
        // Past inline capacities: many runs, many deletes.
        S big(agent<S>(12));
        edit(big, 5, 120);
        add(big);
        // Everything deleted.
        S gone = sample<S>(1);
        gone.erase(0, gone.size());
        add(gone);
    };
    add_all.template operator()<text_seq>();
    add_all.template operator()<int_seq>();
    add_all.template operator()<str_seq>();
    return out;
}
