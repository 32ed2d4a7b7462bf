// Tests that a forged snapshot is refused before the loader allocates for
// the op count it claims: a CRC-valid snapshot may claim up to 64 ops per
// input byte, and every column that bounds that count (ids, kinds, content,
// deletes, document order) is checked against the bytes present before the
// op store (element arena, insert bits, delete tables) is allocated. The
// peak heap use of a refused load is measured by counting the global
// operator new / delete, which is why this is an executable of its own
// (a replaced operator new applies to the whole executable).
#include <crdt/codec/crc32c.hpp>
#include <crdt/codec/writer.hpp>
#include <crdt/core/error.hpp>
#include <crdt/sequence.hpp>

#include <catch2/catch.hpp>

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

load_result load(const std::vector<std::byte>& bytes) {
    load_result out;
    const std::size_t base = live_bytes.load();
    peak_bytes.store(base);
    try {
        const seq_t s = seq_t::load_snapshot(bytes, crdt::agent_id("r"), "forged");
        out.peak_extra = peak_bytes.load() - base;
        s.verify();
    } catch (const crdt::error& e) {
        out.peak_extra = peak_bytes.load() - base;
        out.cause = e.cause();
        out.message = e.what();
        out.offset = e.offset();
    }
    return out;
}

/// The columns of a snapshot of one agent's ops, up to and including the
/// inserted text: `inserts` inserts ('a', and U+1F600 last so that the
/// element arena would be 4 bytes wide), then `ops - inserts` deletes.
crdt::byte_writer header_columns(std::uint64_t ops, std::uint64_t inserts) {
    crdt::byte_writer w;
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
