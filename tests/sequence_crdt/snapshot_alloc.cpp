// Tests that a forged snapshot is refused before the loader allocates for
// the op count it claims: a CRC-valid snapshot may claim up to 64 ops per
// input byte, and every column that bounds that count (ids, kinds, content,
// deletes, document order) is checked against the bytes present before the
// op store (element arena, insert bits, delete tables) is allocated. The
// peak heap use of a refused load is measured by counting the global
// operator new / delete, which is why this is an executable of its own
// (a replaced operator new applies to the whole executable). Covered: text
// (sequence<char32_t>, its narrow element arena) and non-text elements
// (sequence<std::uint64_t>, sequence<std::string>: the generic arena, one T
// per op), whose honest snapshots load as the same document.
#include <crdt/codec/codec.hpp>
#include <crdt/codec/crc32c.hpp>
#include <crdt/codec/writer.hpp>
#include <crdt/core/error.hpp>
#include <crdt/sequence.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <new>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace {

// Live and peak heap bytes requested through operator new (the size is kept
// in a 16-byte header, so every form of operator delete knows it).
std::atomic<std::size_t> live_bytes{0};
std::atomic<std::size_t> peak_bytes{0};
constexpr std::size_t header = 16;

void* counted_new(std::size_t n) noexcept {
    void* p = std::malloc(n + header);
    if (p == nullptr) {
        return nullptr;
    }
    *static_cast<std::size_t*>(p) = n;
    const std::size_t now = live_bytes.fetch_add(n, std::memory_order_relaxed) + n;
    std::size_t peak = peak_bytes.load(std::memory_order_relaxed);
    while (now > peak && !peak_bytes.compare_exchange_weak(peak, now, std::memory_order_relaxed)) {
    }
    return static_cast<char*>(p) + header;
}

void counted_delete(void* p) noexcept {
    if (p != nullptr) {
        char* base = static_cast<char*>(p) - header;
        live_bytes.fetch_sub(*reinterpret_cast<std::size_t*>(base), std::memory_order_relaxed);
        std::free(base);
    }
}

} // namespace

void* operator new(std::size_t n) {
    if (void* p = counted_new(n)) {
        return p;
    }
    throw std::bad_alloc();
}
void* operator new[](std::size_t n) {
    if (void* p = counted_new(n)) {
        return p;
    }
    throw std::bad_alloc();
}
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
    return counted_new(n);
}
void* operator new[](std::size_t n, const std::nothrow_t&) noexcept {
    return counted_new(n);
}
void operator delete(void* p) noexcept {
    counted_delete(p);
}
void operator delete[](void* p) noexcept {
    counted_delete(p);
}
void operator delete(void* p, std::size_t) noexcept {
    counted_delete(p);
}
void operator delete[](void* p, std::size_t) noexcept {
    counted_delete(p);
}
void operator delete(void* p, const std::nothrow_t&) noexcept {
    counted_delete(p);
}
void operator delete[](void* p, const std::nothrow_t&) noexcept {
    counted_delete(p);
}

namespace {

using seq_t = crdt::sequence<char32_t>;

/// The result of loading a snapshot: the error's cause (errc{} if it
/// loaded), its message, its offset, and the most heap bytes held during
/// the load beyond those held before it.
struct load_result {
    crdt::errc cause{};
    std::string message;
    std::optional<std::size_t> offset;
    std::size_t peak_extra = 0;
};

/// Loads `bytes` as a document of type S; if it loads, calls
/// on_loaded(document) once the peak is taken.
template <class S, class F>
load_result load_with(const std::vector<std::byte>& bytes, F&& on_loaded) {
    load_result out;
    const std::size_t base = live_bytes.load();
    peak_bytes.store(base);
    try {
        const S s = S::load_snapshot(bytes, crdt::agent_id("r"), "forged");
        out.peak_extra = peak_bytes.load() - base;
        s.verify();
        on_loaded(s);
    } catch (const crdt::error& e) {
        out.peak_extra = peak_bytes.load() - base;
        out.cause = e.cause();
        out.message = e.what();
        out.offset = e.offset();
    }
    return out;
}

load_result load(const std::vector<std::byte>& bytes) {
    return load_with<seq_t>(bytes, [](const seq_t&) {});
}

/// Writes the magic, format, op count, one agent "a" holding every op as
/// one id span, and the kinds column: `inserts` inserts, then the deletes.
void write_ids_and_kinds(crdt::byte_writer& w, std::uint64_t ops, std::uint64_t inserts) {
    w.raw(std::as_bytes(std::span<const char>("CSQS", 4)));
    w.varint(2);   // format
    w.varint(ops); // ops
    w.varint(1);   // agents
    crdt::codec<crdt::agent_id>::encode(w, crdt::agent_id("a"));
    w.varint(1); // id spans: agent 0, all ops
    w.varint(0);
    w.varint(ops);
    w.byte(1); // kinds: the inserts, then the deletes
    w.varint(2);
    w.varint(inserts);
    w.varint(ops - inserts);
}

/// The columns of a snapshot of one agent's ops, up to and including the
/// inserted text: `inserts` inserts ('a', and U+1F600 last so that the
/// element arena would be 4 bytes wide), then `ops - inserts` deletes.
crdt::byte_writer header_columns(std::uint64_t ops, std::uint64_t inserts) {
    crdt::byte_writer w;
    write_ids_and_kinds(w, ops, inserts);
    w.varint(inserts - 1 + 4); // content: UTF-8 byte length, then the text
    for (std::uint64_t i = 0; i + 1 < inserts; ++i) {
        w.byte(static_cast<std::uint8_t>('a'));
    }
    constexpr std::uint8_t last[] = {0xF0, 0x9F, 0x98, 0x80}; // U+1F600
    for (const std::uint8_t c : last) {
        w.byte(c);
    }
    return w;
}

std::vector<std::byte> seal(crdt::byte_writer w) {
    w.fixed<std::uint32_t>(crdt::crc32c(w.view()));
    return w.take();
}

} // namespace

TEST_CASE("sequence snapshot: a forged huge op count with a short delete column is refused "
          "before allocating for it") {
    // 64,000 bytes of text claiming 64 ops per byte of the snapshot (the
    // most the loader accepts): about 4 million ops, of which all but
    // 64,000 are deletes, so the delete column must hold their targets.
    // Allocating the element arena (4 bytes an op here) or the insert
    // bits before reading that column would cost 16 MB for a 64 KB input.
    constexpr std::uint64_t inserts = 64000;
    constexpr std::uint64_t ops = 64 * 64000;
    const auto runs = [](crdt::byte_writer& w) { // the document order, valid
        w.varint(1);
        w.zigzag(0);
        w.varint(inserts);
        w.varint(0);
        w.varint(0);
    };

    SECTION("one delete span for millions of deletes") {
        crdt::byte_writer w = header_columns(ops, inserts);
        w.varint(1); // delete spans: one, one delete of element 0
        w.zigzag(0);
        w.varint(2);
        runs(w);
        const auto bytes = seal(std::move(w));
        const load_result r = load(bytes);
        CAPTURE(r.message, bytes.size(), r.peak_extra);
        CHECK(r.cause == crdt::errc::invalid_value);
        CHECK(r.message.find("delete op has no target") != std::string::npos);
        CHECK(r.peak_extra <= 16 * bytes.size());
    }
    SECTION("a delete column cut short") {
        crdt::byte_writer w = header_columns(ops, inserts);
        w.varint(2); // delete spans: two claimed, one present
        w.zigzag(0);
        w.varint(2);
        const auto bytes = seal(std::move(w));
        const load_result r = load(bytes);
        CAPTURE(r.message, bytes.size(), r.peak_extra);
        CHECK((r.cause == crdt::errc::length_out_of_range || r.cause == crdt::errc::truncated));
        CHECK(r.peak_extra <= 16 * bytes.size());
    }
    SECTION("a delete span out of range") {
        crdt::byte_writer w = header_columns(ops, inserts);
        w.varint(1); // delete spans: one, of more elements than there are inserts
        w.zigzag(0);
        w.varint(2 * (ops - inserts));
        runs(w);
        const auto bytes = seal(std::move(w));
        const load_result r = load(bytes);
        CAPTURE(r.message, bytes.size(), r.peak_extra);
        CHECK(r.cause == crdt::errc::invalid_value);
        CHECK(r.peak_extra <= 16 * bytes.size());
    }
}

TEST_CASE("sequence snapshot: a forged order after a valid huge delete column is refused "
          "before allocating the op store") {
    // 2,000 inserts deleted 60 times over (concurrent deletes, each delete
    // span 4 bytes for 2,000 deletes): 122,000 ops from about 2.3 KB, all
    // columns valid up to the document order. A document order placing an
    // element twice must be refused before the op store and its delete
    // tables (about 120,000 extra deletes) are built; the same snapshot
    // with a valid order loads, and that load needs far more memory.
    constexpr std::uint64_t inserts = 2000;
    constexpr std::uint64_t rounds = 60;
    constexpr std::uint64_t ops = inserts * (rounds + 1);
    const auto snapshot = [&](bool valid) {
        crdt::byte_writer w = header_columns(ops, inserts);
        w.varint(rounds); // delete spans: each deletes elements 0 .. inserts - 1
        for (std::uint64_t i = 0; i < rounds; ++i) {
            w.zigzag(i == 0 ? 0 : -static_cast<std::int64_t>(inserts));
            w.varint(2 * inserts);
        }
        const std::size_t order_at = w.size();
        w.varint(valid ? 1 : 2); // document order: all inserts (then element 0 again)
        w.zigzag(0);
        w.varint(inserts);
        w.varint(0);
        w.varint(0);
        if (!valid) {
            w.zigzag(-static_cast<std::int64_t>(inserts));
            w.varint(1);
            w.varint(0);
            w.varint(0);
        }
        return std::make_pair(seal(std::move(w)), order_at);
    };

    const auto [forged, order_at] = snapshot(false);
    const load_result bad = load(forged);
    CAPTURE(bad.message, forged.size(), bad.peak_extra);
    CHECK(bad.cause == crdt::errc::invalid_value);
    CHECK(bad.message.find("appears twice") != std::string::npos);
    CHECK(bad.offset == order_at);
    CHECK(bad.peak_extra <= 16 * forged.size());

    const auto [valid, valid_order_at] = snapshot(true);
    const load_result good = load(valid);
    CAPTURE(good.message, valid.size(), good.peak_extra);
    REQUIRE(good.cause == crdt::errc{});
    CHECK(good.peak_extra > 16 * valid.size()); // the claim was real: it costs
}

namespace {

/// A CRC-valid snapshot of one agent's ops over elements of a non-text type
/// T (its content column is codec<T> of each element): `values` inserted,
/// then deletes up to 64 ops per content byte (the most the loader accepts
/// for the snapshot's size). If `honest`, the delete column holds every
/// delete, in spans each deleting elements 1, 2, ... again (concurrent
/// deletes; element 0 stays), and the snapshot loads as [values[0]]; else
/// it holds one delete of element 0 for all of them ("a delete op has no
/// target"). The document order is one run of every insert.
template <class T>
std::vector<std::byte> element_snapshot(const std::vector<T>& values, bool honest) {
    REQUIRE(values.size() >= 2);
    crdt::byte_writer content;
    for (const T& v : values) {
        crdt::codec<T>::encode(content, v);
    }
    const std::uint64_t inserts = values.size();
    const std::uint64_t ops = 64 * static_cast<std::uint64_t>(content.size());
    crdt::byte_writer w;
    write_ids_and_kinds(w, ops, inserts);
    w.raw(content.view()); // content: codec<T> each
    if (honest) {
        std::vector<std::uint64_t> spans; // lengths of spans targeting 1, 2, ...
        for (std::uint64_t left = ops - inserts; left > 0;) {
            spans.push_back(std::min(left, inserts - 1));
            left -= spans.back();
        }
        w.varint(spans.size());
        std::int64_t prev_end = 0;
        for (const std::uint64_t n : spans) {
            w.zigzag(1 - prev_end);
            w.varint(2 * n);
            prev_end = 1 + static_cast<std::int64_t>(n);
        }
    } else {
        w.varint(1); // delete spans: one, one delete of element 0
        w.zigzag(0);
        w.varint(2);
    }
    w.varint(1); // the document order: every insert, in one run
    w.zigzag(0);
    w.varint(inserts);
    w.varint(0);
    w.varint(0);
    return seal(std::move(w));
}

/// Checks element_snapshot over `k_refused` values make(0), make(1), ...
/// (refused within the bound) and over `k_honest` of them (loads, and
/// costs more than the bound: the claim was real and the measure sees it).
template <class T, class Make>
void check_forged_elements(std::size_t k_refused, std::size_t k_honest, Make make) {
    using doc_t = crdt::sequence<T>;
    const auto values = [&](std::size_t k) {
        std::vector<T> v;
        for (std::size_t i = 0; i < k; ++i) {
            v.push_back(make(i));
        }
        return v;
    };

    const auto forged = element_snapshot(values(k_refused), false);
    const load_result bad = load_with<doc_t>(forged, [](const doc_t&) {});
    CAPTURE(bad.message, forged.size(), bad.peak_extra);
    CHECK(bad.cause == crdt::errc::invalid_value);
    CHECK(bad.message.find("delete op has no target") != std::string::npos);
    CHECK(bad.peak_extra <= 16 * forged.size());

    const std::vector<T> small = values(k_honest);
    const auto honest = element_snapshot(small, true);
    std::vector<T> got;
    const load_result good = load_with<doc_t>(honest, [&](const doc_t& d) { got = d.content(); });
    CAPTURE(good.message, honest.size(), good.peak_extra);
    REQUIRE(good.cause == crdt::errc{});
    CHECK(got == std::vector<T>{small.front()});
    CHECK(good.peak_extra > 16 * honest.size()); // the claim was real: it costs
}

} // namespace

TEST_CASE("sequence snapshot: a forged huge op count of non-text elements is refused before "
          "allocating for it") {
    // As the text case above, for the generic element arena (one T per op,
    // deletes included): 64,000 bytes of content claiming 64 ops a byte,
    // about 4 million ops, all but the inserts deletes, one present. The
    // element arena alone would cost 8 (uint64) or 32 (std::string) bytes
    // an op: 32 MB or 128 MB for a 64 KB input.
    SECTION("sequence<std::uint64_t>") {
        // Values from 2^21: 4-byte varints, 16,000 of them.
        check_forged_elements<std::uint64_t>(16000, 500, [](std::size_t i) {
            return (std::uint64_t{1} << 21) + 7919 * static_cast<std::uint64_t>(i);
        });
    }
    SECTION("sequence<std::string>") {
        // 15-byte strings (16 bytes encoded, held without a heap block by
        // the usual small-string buffers), 4,000 of them.
        check_forged_elements<std::string>(4000, 125, [](std::size_t i) {
            std::string s = "element-0000000";
            for (std::size_t j = s.size(); i > 0; i /= 10) {
                s[--j] = static_cast<char>('0' + i % 10);
            }
            return s;
        });
    }
}

namespace {

/// Checks that a snapshot of a document of T edited by two replicas
/// (concurrent inserts and deletes) loads under the counting allocator as
/// the same document.
template <class T, class Make>
void check_honest_elements(Make make) {
    using doc_t = crdt::sequence<T>;
    doc_t a(crdt::agent_id("a"));
    std::vector<T> first;
    for (std::size_t i = 0; i < 40; ++i) {
        first.push_back(make(i));
    }
    a.insert(0, std::span<const T>(first.data(), first.size()));
    a.erase(5, 10);
    doc_t b(crdt::agent_id("b"));
    b.merge(a.delta_since({}));
    const std::vector<T> more{make(100), make(101), make(102)};
    b.insert(3, std::span<const T>(more.data(), more.size()));
    b.erase(20, 2);
    a.insert(0, make(200));
    a.erase(18, 3);
    a.merge(b.delta_since({}));
    const std::vector<T> want = a.content();
    REQUIRE(want.size() > 20);

    const auto bytes = a.snapshot();
    std::vector<T> got;
    bool same_version = false;
    const load_result r = load_with<doc_t>(bytes, [&](const doc_t& d) {
        got = d.content();
        same_version = d.version() == a.version();
    });
    CAPTURE(r.message, bytes.size(), r.peak_extra);
    REQUIRE(r.cause == crdt::errc{});
    CHECK(got == want);
    CHECK(same_version);
}

} // namespace

TEST_CASE("sequence snapshot: non-text snapshots load with the same content") {
    SECTION("sequence<std::uint64_t>") {
        check_honest_elements<std::uint64_t>(
            [](std::size_t i) { return static_cast<std::uint64_t>(i) * 0x9E3779B97F4A7C15u; });
    }
    SECTION("sequence<std::string>") {
        // Short and long (heap) strings, some not ASCII.
        check_honest_elements<std::string>([](std::size_t i) {
            std::string s = "s" + std::to_string(i);
            if (i % 3 == 0) {
                s += " \xC3\xA9l\xC3\xA9ment long enough for a heap block";
            }
            return s;
        });
    }
}
