// Tests of the sync protocol's wire format (crdt/sync/message.hpp) and of
// the stored chunk format (crdt/detail/store/chunk.hpp): round trips of every
// message kind (hand-built and generated), the exact layout, every rejection
// with its errc and offset, truncation at every length, random mutations.
#include <crdt/codec/codec.hpp>
#include <crdt/codec/crc32c.hpp>
#include <crdt/codec/writer.hpp>
#include <crdt/core/error.hpp>
#include <crdt/detail/store/chunk.hpp>
#include <crdt/sync/message.hpp>
#include <crdt/testing/codec_laws.hpp>

#include <support/seed.hpp>

#include <catch2/catch.hpp>
#include <rapidcheck.h>
#include <rapidcheck/catch.h>

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace {

using bytes = std::vector<std::byte>;

bytes bytes_of(std::initializer_list<unsigned> list) {
    bytes out;
    for (unsigned b : list) {
        out.push_back(static_cast<std::byte>(b));
    }
    return out;
}

bytes bytes_of(std::string_view text) {
    const auto s = std::as_bytes(std::span<const char>(text.data(), text.size()));
    return bytes(s.begin(), s.end());
}

// Raw message bytes, field by field, for inputs the encoder refuses to make.
class raw_message {
public:
    // Magic, `version`, `type` and a document id written as given (no UTF-8
    // check), so any header can be built.
    raw_message(unsigned type, std::string_view document = "doc", unsigned version = 1) {
        w_.byte(0x63);
        w_.byte(0x73);
        w_.byte(static_cast<std::uint8_t>(version));
        w_.byte(static_cast<std::uint8_t>(type));
        text(document);
    }
    raw_message& byte(unsigned b) {
        w_.byte(static_cast<std::uint8_t>(b));
        return *this;
    }
    raw_message& varint(std::uint64_t v) {
        w_.varint(v);
        return *this;
    }
    raw_message& text(std::string_view s) { // length + bytes, not validated
        w_.bytes(std::as_bytes(std::span<const char>(s.data(), s.size())));
        return *this;
    }
    raw_message& blob(const bytes& b) {
        w_.bytes(b);
        return *this;
    }
    std::size_t size() const { return w_.size(); }
    bytes take() { return w_.take(); }

private:
    crdt::byte_writer w_;
};

// Expects decode_sync_message(input) to throw `cause`, at `offset` when given.
void require_rejected(const bytes& input, crdt::errc cause,
                      std::optional<std::size_t> offset = std::nullopt) {
    try {
        (void)crdt::decode_sync_message(input);
    } catch (const crdt::error& e) {
        CAPTURE(e.what());
        REQUIRE(e.cause() == cause);
        REQUIRE(e.offset().has_value());
        REQUIRE(*e.offset() <= input.size());
        if (offset) {
            REQUIRE(*e.offset() == *offset);
        }
        REQUIRE_THAT(e.what(), Catch::Contains("sync message"));
        return;
    }
    FAIL("decode_sync_message accepted bad input");
}

void require_round_trip(const crdt::sync_message& m) {
    const bytes enc = crdt::encode_sync_message(m);
    const crdt::sync_message back = crdt::decode_sync_message(enc);
    REQUIRE(back == m);
    REQUIRE(crdt::encode_sync_message(back) == enc);
}

bytes some_bytes(std::size_t n, unsigned salt = 0) {
    bytes out(n);
    for (std::size_t i = 0; i < n; ++i) {
        out[i] = static_cast<std::byte>((i * 37 + salt) & 0xffu);
    }
    return out;
}

// A delta message with named fields (a base when `base` is set).
struct delta_fields {
    std::uint64_t session = 1;
    std::uint64_t transfer = 1;
    bytes version{};
    std::optional<bytes> base{};
    std::uint64_t part = 0;
    std::uint64_t parts = 1;
    std::uint64_t total = 0;
    bytes payload{};
};

crdt::sync_message delta_message(std::string document, delta_fields f) {
    crdt::sync_delta d;
    d.session = f.session;
    d.transfer = f.transfer;
    d.version = std::move(f.version);
    d.has_base = f.base.has_value();
    if (f.base) {
        d.base = std::move(*f.base);
    }
    d.part = f.part;
    d.parts = f.parts;
    d.total = f.total;
    d.payload = std::move(f.payload);
    return {std::move(document), std::move(d)};
}

crdt::sync_message sample_hello() {
    return {"doc/α", crdt::sync_hello{true, 0x1234567890abcdefULL, "replica 1", some_bytes(9)}};
}

crdt::sync_message sample_delta(bool based) {
    crdt::sync_delta d;
    d.session = 77;
    d.transfer = 300;
    d.version = some_bytes(6, 2);
    d.has_base = based;
    if (based) {
        d.base = some_bytes(5, 3);
    }
    d.part = 1;
    d.parts = 3;
    d.total = 40;
    d.payload = some_bytes(14, 1);
    return {"doc", d};
}

crdt::sync_message sample_ack() {
    return {"", crdt::sync_ack{std::numeric_limits<std::uint64_t>::max(), some_bytes(3)}};
}

std::vector<bytes> sample_encodings() {
    return {crdt::encode_sync_message(sample_hello()),
            crdt::encode_sync_message(sample_delta(false)),
            crdt::encode_sync_message(sample_delta(true)), crdt::encode_sync_message(sample_ack())};
}

// --- RapidCheck generators ---------------------------------------------------

// Valid UTF-8 text, with multi-byte sequences.
rc::Gen<std::string> gen_text() {
    return rc::gen::map(rc::gen::container<std::vector<int>>(rc::gen::inRange(0, 8)),
                        [](const std::vector<int>& v) {
                            static constexpr std::string_view pieces[] = {"a", "Z", "/", " ",
                                                                          "é", "€", "𝄞", "0"};
                            std::string s;
                            for (int i : v) {
                                s += pieces[static_cast<std::size_t>(i)];
                            }
                            return s;
                        });
}

rc::Gen<bytes> gen_blob() {
    return rc::gen::map(rc::gen::arbitrary<std::vector<std::uint8_t>>(),
                        [](const std::vector<std::uint8_t>& v) {
                            bytes out;
                            for (auto b : v) {
                                out.push_back(static_cast<std::byte>(b));
                            }
                            return out;
                        });
}

// Large values too: the varints of ids and counters go up to 10 bytes.
rc::Gen<std::uint64_t> gen_u64() {
    return rc::gen::oneOf(rc::gen::arbitrary<std::uint64_t>(),
                          rc::gen::inRange<std::uint64_t>(0, 300),
                          rc::gen::just(std::numeric_limits<std::uint64_t>::max()));
}

rc::Gen<crdt::sync_message> gen_message() {
    auto hello = rc::gen::exec([] {
        crdt::sync_hello h;
        h.reply_requested = *rc::gen::arbitrary<bool>();
        h.session = *gen_u64();
        h.name = *gen_text();
        h.version = *gen_blob();
        return crdt::sync_message{*gen_text(), h};
    });
    auto delta = rc::gen::exec([] {
        crdt::sync_delta d;
        d.session = *gen_u64();
        d.transfer = *rc::gen::oneOf(rc::gen::inRange<std::uint64_t>(1, 1000),
                                     rc::gen::just(std::numeric_limits<std::uint64_t>::max()));
        d.version = *gen_blob();
        d.has_base = *rc::gen::arbitrary<bool>();
        if (d.has_base) {
            d.base = *gen_blob();
        }
        d.payload = *gen_blob();
        // total >= payload; parts in [1, total + 1]; part in [0, parts).
        d.total = d.payload.size() + *rc::gen::inRange<std::uint64_t>(0, 1u << 20);
        d.parts = *rc::gen::inRange<std::uint64_t>(1, std::min<std::uint64_t>(d.total + 2, 1000));
        d.part = *rc::gen::inRange<std::uint64_t>(0, d.parts);
        return crdt::sync_message{*gen_text(), d};
    });
    auto ack = rc::gen::exec([] {
        crdt::sync_ack a;
        a.session = *gen_u64();
        a.version = *gen_blob();
        return crdt::sync_message{*gen_text(), a};
    });
    return rc::gen::oneOf(hello, delta, ack);
}

// A codec over the whole message, so crdt::testing's robustness checker
// (which needs `encodable`) can drive decode_sync_message.
struct wire {
    crdt::sync_message m;
    friend bool operator==(const wire&, const wire&) = default;
};

// The chunk, in the form encode_chunk takes it.
bytes chunk_of(crdt::detail::store::chunk_kind kind, const bytes* base, const bytes& payload) {
    return crdt::detail::store::encode_chunk(kind, base, payload);
}

// Replaces the trailing CRC-32C of `c` with the right one for its body.
void fix_crc(bytes& c) {
    c.resize(c.size() - 4);
    crdt::byte_writer w;
    w.raw(c);
    w.fixed(crdt::crc32c(c));
    c = w.take();
}

void require_chunk_rejected(const bytes& input, crdt::errc cause,
                            std::optional<std::size_t> offset = std::nullopt) {
    try {
        (void)crdt::detail::store::decode_chunk(input, "test chunk");
    } catch (const crdt::error& e) {
        CAPTURE(e.what());
        REQUIRE(e.cause() == cause);
        REQUIRE(e.offset().has_value());
        REQUIRE(*e.offset() <= input.size());
        if (offset) {
            REQUIRE(*e.offset() == *offset);
        }
        REQUIRE_THAT(e.what(), Catch::Contains("test chunk"));
        return;
    }
    FAIL("decode_chunk accepted bad input");
}

} // namespace

template <>
struct crdt::codec<wire> {
    static void encode(crdt::byte_writer& w, const wire& x) {
        w.raw(crdt::encode_sync_message(x.m));
    }
    static wire decode(crdt::byte_reader& r) {
        return wire{crdt::decode_sync_message(r.raw(r.remaining()))};
    }
};

// --- round trips -----------------------------------------------------------------

TEST_CASE("every message kind round-trips", "[sync][message]") {
    require_round_trip(sample_hello());
    require_round_trip(sample_delta(false));
    require_round_trip(sample_delta(true));
    require_round_trip(sample_ack());
    // Boundaries: empty strings and blobs, a one-part empty delta, a based
    // delta with an empty base, 2^64-1 ids, a last part.
    require_round_trip({"", crdt::sync_hello{false, 1, "", {}}});
    require_round_trip(delta_message("d", {}));
    require_round_trip(delta_message("d", {.base = bytes{}}));
    require_round_trip(delta_message("d", {.session = std::numeric_limits<std::uint64_t>::max(),
                                           .transfer = std::numeric_limits<std::uint64_t>::max(),
                                           .version = some_bytes(70),
                                           .base = some_bytes(300),
                                           .part = 4,
                                           .parts = 5,
                                           .total = 5000,
                                           .payload = some_bytes(1000)}));
    require_round_trip({"d", crdt::sync_ack{0, {}}});
    require_round_trip({std::string(200, 'x'), crdt::sync_ack{5, some_bytes(200)}});
    // parts == total + 1 is the largest count the format allows.
    require_round_trip(delta_message("d", {.transfer = 2, .part = 3, .parts = 4, .total = 3}));
}

TEST_CASE("the wire layout is the one the header documents", "[sync][message]") {
    const bytes hello =
        crdt::encode_sync_message({"ab", crdt::sync_hello{true, 300, "n", bytes_of({0xaa, 0xbb})}});
    CHECK(hello == bytes_of({0x63, 0x73, 0x01, 0x01, 0x02, 'a', 'b', // header, document
                             0x01,                                   // flags: reply requested
                             0xac, 0x02,                             // session 300
                             0x01, 'n',                              // name
                             0x02, 0xaa, 0xbb}));                    // version
    const bytes delta =
        crdt::encode_sync_message(delta_message("", {.session = 5,
                                                     .transfer = 6,
                                                     .version = bytes_of({0x0c}),
                                                     .base = bytes_of({0x01}),
                                                     .part = 1,
                                                     .parts = 2,
                                                     .total = 3,
                                                     .payload = bytes_of({0x09, 0x08})}));
    CHECK(delta == bytes_of({0x63, 0x73, 0x01, 0x02, 0x00, // header, empty document
                             0x05, 0x06,                   // session, transfer
                             0x01, 0x0c,                   // version
                             0x01, 0x01, 0x01,             // flags: has base; base
                             0x01, 0x02, 0x03,             // part, parts, total
                             0x02, 0x09, 0x08}));          // payload
    const bytes no_base =
        crdt::encode_sync_message(delta_message("", {.session = 5, .transfer = 6}));
    CHECK(no_base ==
          bytes_of({0x63, 0x73, 0x01, 0x02, 0x00, 0x05, 0x06, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00}));
    const bytes ack = crdt::encode_sync_message({"z", crdt::sync_ack{7, {}}});
    CHECK(ack == bytes_of({0x63, 0x73, 0x01, 0x03, 0x01, 'z', 0x07, 0x00}));
}

TEST_CASE("generated messages round-trip", "[sync][message]") {
    rc::prop("decode(encode(m)) == m and the encoding is canonical", [] {
        const crdt::sync_message m = *gen_message();
        const bytes enc = crdt::encode_sync_message(m);
        const crdt::sync_message back = crdt::decode_sync_message(enc);
        RC_ASSERT(back == m);
        RC_ASSERT(crdt::encode_sync_message(back) == enc);
        // One byte more is rejected, one byte less too.
        bytes longer = enc;
        longer.push_back(std::byte{0});
        RC_ASSERT_THROWS_AS(crdt::decode_sync_message(longer), crdt::error);
        RC_ASSERT_THROWS_AS(crdt::decode_sync_message(std::span(enc).first(enc.size() - 1)),
                            crdt::error);
    });
}

TEST_CASE("a delta declaring 2^64-1 bytes in one part round-trips", "[sync][message]") {
    // The decoder checks parts <= total + 1; with total = 2^64-1 the sum
    // wraps to 0 and the encoder's own output is rejected.
    const crdt::sync_message m = delta_message(
        "d", {.total = std::numeric_limits<std::uint64_t>::max(), .payload = some_bytes(3)});
    const bytes enc = crdt::encode_sync_message(m);
    CAPTURE(enc);
    REQUIRE_NOTHROW(crdt::decode_sync_message(enc));
    CHECK(crdt::decode_sync_message(enc) == m);
}

TEST_CASE("the encoder refuses text that is not UTF-8", "[sync][message]") {
    const std::string bad = "a\xff";
    for (const crdt::sync_message& m :
         {crdt::sync_message{bad, crdt::sync_ack{1, {}}},
          crdt::sync_message{"d", crdt::sync_hello{false, 1, bad, {}}}}) {
        try {
            (void)crdt::encode_sync_message(m);
            FAIL("encoded invalid UTF-8");
        } catch (const crdt::error& e) {
            CHECK(e.cause() == crdt::errc::invalid_utf8);
        }
    }
}

// --- rejections -----------------------------------------------------------------

TEST_CASE("a header shorter than 4 bytes is truncated", "[sync][message]") {
    const bytes full = crdt::encode_sync_message(sample_ack());
    for (std::size_t n = 0; n < 4; ++n) {
        CAPTURE(n);
        require_rejected(bytes(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(n)),
                         crdt::errc::truncated, 0);
    }
    // Even when the few bytes there are already look wrong.
    require_rejected(bytes_of({0x00, 0x00, 0x00}), crdt::errc::truncated, 0);
}

TEST_CASE("a bad magic is rejected", "[sync][message]") {
    for (std::size_t at : {0u, 1u}) {
        for (unsigned flip : {0x01u, 0x80u, 0xffu}) {
            bytes b = crdt::encode_sync_message(sample_hello());
            b[at] ^= static_cast<std::byte>(flip);
            CAPTURE(at, flip);
            require_rejected(b, crdt::errc::bad_magic, 0);
        }
    }
    require_rejected(bytes_of("sc\x01\x03"), crdt::errc::bad_magic, 0);
}

TEST_CASE("another protocol version is unsupported", "[sync][message]") {
    for (unsigned version : {0u, 2u, 3u, 0x7fu, 0xffu}) {
        CAPTURE(version);
        // A well-formed v1 body behind the other version byte...
        bytes b = crdt::encode_sync_message(sample_delta(true));
        b[2] = static_cast<std::byte>(version);
        require_rejected(b, crdt::errc::unsupported_version, 2);
        // ... and a body this build could not parse at all.
        require_rejected(raw_message(9, "doc", version).byte(0xff).byte(0xff).take(),
                         crdt::errc::unsupported_version, 2);
        require_rejected(bytes_of({0x63, 0x73, version, 0x01}), crdt::errc::unsupported_version, 2);
    }
}

TEST_CASE("an unknown message type is rejected", "[sync][message]") {
    for (unsigned type : {0u, 4u, 5u, 0x81u, 0xffu}) {
        CAPTURE(type);
        require_rejected(raw_message(type).varint(1).varint(0).take(), crdt::errc::invalid_value,
                         3);
        require_rejected(raw_message(type, "").take(), crdt::errc::invalid_value, 3);
    }
}

TEST_CASE("flag bytes other than 0 and 1 are rejected", "[sync][message]") {
    const std::string doc = "doc"; // header: 4 + 1 + 3 bytes, so the first body byte is at 8
    for (unsigned flags : {2u, 3u, 0x80u, 0xffu}) {
        CAPTURE(flags);
        require_rejected(raw_message(1, doc).byte(flags).varint(1).text("n").blob({}).take(),
                         crdt::errc::invalid_value, 8);
        // delta: session, transfer (1 byte each) and an empty version come first.
        require_rejected(raw_message(2, doc)
                             .varint(1)
                             .varint(1)
                             .blob({})
                             .byte(flags)
                             .varint(0)
                             .varint(1)
                             .varint(0)
                             .blob({})
                             .take(),
                         crdt::errc::invalid_value, 11);
    }
}

TEST_CASE("a delta transfer of 0 is rejected", "[sync][message]") {
    require_rejected(raw_message(2)
                         .varint(1)
                         .varint(0)
                         .blob({})
                         .byte(0)
                         .varint(0)
                         .varint(1)
                         .varint(0)
                         .blob({})
                         .take(),
                     crdt::errc::invalid_value, 9);
}

TEST_CASE("bad part numbering is rejected", "[sync][message]") {
    struct numbering {
        std::uint64_t part, parts, total;
    };
    // part >= parts; parts == 0; parts > total + 1.
    for (const numbering n :
         {numbering{1, 1, 5}, numbering{3, 2, 5}, numbering{0, 0, 0}, numbering{0, 0, 9},
          numbering{0, 2, 0}, numbering{0, 7, 5}, numbering{5, 7, 5},
          numbering{0, std::numeric_limits<std::uint64_t>::max(), 3}}) {
        CAPTURE(n.part, n.parts, n.total);
        // Based or not, the numbering starts right after the base.
        require_rejected(raw_message(2)
                             .varint(1)
                             .varint(1)
                             .blob({})
                             .byte(0)
                             .varint(n.part)
                             .varint(n.parts)
                             .varint(n.total)
                             .blob({})
                             .take(),
                         crdt::errc::invalid_value, 12);
        require_rejected(raw_message(2)
                             .varint(1)
                             .varint(1)
                             .blob({})
                             .byte(1)
                             .blob(some_bytes(4))
                             .varint(n.part)
                             .varint(n.parts)
                             .varint(n.total)
                             .blob({})
                             .take(),
                         crdt::errc::invalid_value, 17);
    }
}

TEST_CASE("a payload longer than the declared total is rejected", "[sync][message]") {
    require_rejected(raw_message(2)
                         .varint(1)
                         .varint(1)
                         .blob({})
                         .byte(0)
                         .varint(0)
                         .varint(1)
                         .varint(3)
                         .blob(some_bytes(4))
                         .take(),
                     crdt::errc::invalid_value, 15);
    require_rejected(raw_message(2)
                         .varint(1)
                         .varint(1)
                         .blob({})
                         .byte(0)
                         .varint(0)
                         .varint(1)
                         .varint(0)
                         .blob(some_bytes(1))
                         .take(),
                     crdt::errc::invalid_value, 15);
    // Equal is fine.
    CHECK_NOTHROW(crdt::decode_sync_message(raw_message(2)
                                                .varint(1)
                                                .varint(1)
                                                .blob({})
                                                .byte(0)
                                                .varint(0)
                                                .varint(1)
                                                .varint(4)
                                                .blob(some_bytes(4))
                                                .take()));
}

TEST_CASE("invalid UTF-8 in the document or the name is rejected", "[sync][message]") {
    for (std::string_view bad : {std::string_view("\xff"), std::string_view("ab\xc3"),
                                 std::string_view("\xed\xa0\x80"), // a surrogate
                                 std::string_view("\xc0\xaf")}) {  // overlong
        CAPTURE(bad);
        require_rejected(raw_message(3, bad).varint(1).blob({}).take(), crdt::errc::invalid_utf8);
        require_rejected(raw_message(1, "d").byte(0).varint(1).text(bad).blob({}).take(),
                         crdt::errc::invalid_utf8);
    }
    // The offset is that of the bad byte: "ab\xc3" has it at 2 of the text.
    require_rejected(raw_message(3, "ab\xc3").varint(1).blob({}).take(), crdt::errc::invalid_utf8,
                     5 + 2);
}

TEST_CASE("truncation at every length throws crdt::error", "[sync][message]") {
    for (const bytes& full : sample_encodings()) {
        for (std::size_t n = 0; n < full.size(); ++n) {
            CAPTURE(full, n);
            const bytes prefix(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(n));
            try {
                (void)crdt::decode_sync_message(prefix);
                FAIL("a truncated message was accepted");
            } catch (const crdt::error& e) {
                CAPTURE(e.what());
                CHECK((e.cause() == crdt::errc::truncated ||
                       e.cause() == crdt::errc::length_out_of_range));
                REQUIRE(e.offset().has_value());
                CHECK(*e.offset() <= n);
            }
        }
    }
}

TEST_CASE("trailing bytes are rejected", "[sync][message]") {
    for (const bytes& full : sample_encodings()) {
        for (const bytes& extra : {bytes_of({0x00}), bytes_of({0x63, 0x73}), some_bytes(20)}) {
            bytes b = full;
            b.insert(b.end(), extra.begin(), extra.end());
            CAPTURE(b);
            require_rejected(b, crdt::errc::trailing_bytes, full.size());
        }
    }
}

TEST_CASE("lengths and varints past the input are rejected", "[sync][message]") {
    // A document length far past the end.
    require_rejected(bytes_of({0x63, 0x73, 0x01, 0x03, 0xff, 0xff, 0x03, 'a'}),
                     crdt::errc::length_out_of_range);
    // An overlong session varint (11 continuation bytes).
    raw_message m(3);
    for (int i = 0; i < 11; ++i) {
        m.byte(0xff);
    }
    require_rejected(m.byte(0x01).blob({}).take(), crdt::errc::overlong_varint);
    // A payload length past the end.
    bytes d =
        raw_message(2).varint(1).varint(1).blob({}).byte(0).varint(0).varint(1).varint(50).take();
    d.push_back(std::byte{50});
    d.push_back(std::byte{1});
    require_rejected(d, crdt::errc::length_out_of_range);
}

TEST_CASE("mutated and random messages either decode canonically or throw crdt::error",
          "[sync][message]") {
    const std::uint64_t seed = crdt_test::seed(0x5e55);
    CAPTURE(seed);
    std::vector<bytes> samples = sample_encodings();
    samples.push_back(crdt::encode_sync_message(delta_message("d", {})));
    crdt::testing::check_decoder_robustness<wire>(samples, seed, 4000);
}

// --- the stored chunk format ----------------------------------------------------------

TEST_CASE("chunks round-trip", "[sync][chunk]") {
    using crdt::detail::store::chunk_kind;
    const bytes base = some_bytes(7, 5);
    for (const bytes& payload : {bytes{}, some_bytes(1), some_bytes(200), some_bytes(5000)}) {
        CAPTURE(payload.size());
        const bytes snap = chunk_of(chunk_kind::snapshot, nullptr, payload);
        auto c = crdt::detail::store::decode_chunk(snap, "snapshot");
        CHECK(c.kind == chunk_kind::snapshot);
        CHECK_FALSE(c.has_base);
        CHECK(c.base.empty());
        CHECK(c.payload == payload);

        const bytes mutator = chunk_of(chunk_kind::delta, nullptr, payload);
        c = crdt::detail::store::decode_chunk(mutator, "delta");
        CHECK(c.kind == chunk_kind::delta);
        CHECK_FALSE(c.has_base);
        CHECK(c.payload == payload);

        for (const bytes& b : {base, bytes{}}) {
            const bytes based = chunk_of(chunk_kind::delta, &b, payload);
            c = crdt::detail::store::decode_chunk(based, "based delta");
            CHECK(c.kind == chunk_kind::delta);
            CHECK(c.has_base);
            CHECK(c.base == b);
            CHECK(c.payload == payload);
        }
    }
    rc::prop("decode_chunk(encode_chunk(x)) == x",
             [](const std::vector<std::uint8_t>& raw_payload, bool snapshot, bool with_base) {
                 bytes payload;
                 for (auto b : raw_payload) {
                     payload.push_back(static_cast<std::byte>(b));
                 }
                 const bytes b = *gen_blob();
                 const auto kind = snapshot ? chunk_kind::snapshot : chunk_kind::delta;
                 const bool based = with_base && !snapshot;
                 const bytes enc = chunk_of(kind, based ? &b : nullptr, payload);
                 const auto c = crdt::detail::store::decode_chunk(enc, "generated");
                 RC_ASSERT(c.kind == kind);
                 RC_ASSERT(c.has_base == based);
                 RC_ASSERT(c.base == (based ? b : bytes{}));
                 RC_ASSERT(c.payload == payload);
             });
}

TEST_CASE("the chunk layout is the one the header documents", "[sync][chunk]") {
    using crdt::detail::store::chunk_kind;
    const bytes base = bytes_of({0x0a});
    const bytes enc = chunk_of(chunk_kind::delta, &base, bytes_of({0x01, 0x02}));
    const bytes body =
        bytes_of({'c', 'r', 'c', 'k', 0x01, 0x02, 0x01, 0x01, 0x0a, 0x02, 0x01, 0x02});
    REQUIRE(enc.size() == body.size() + 4);
    CHECK(bytes(enc.begin(), enc.begin() + static_cast<std::ptrdiff_t>(body.size())) == body);
    const std::uint32_t crc = crdt::crc32c(body);
    for (std::size_t i = 0; i < 4; ++i) {
        CHECK(std::to_integer<std::uint32_t>(enc[body.size() + i]) == ((crc >> (8 * i)) & 0xffu));
    }
}

TEST_CASE("a chunk with a bad magic is rejected", "[sync][chunk]") {
    using crdt::detail::store::chunk_kind;
    for (std::size_t at = 0; at < 4; ++at) {
        bytes c = chunk_of(chunk_kind::delta, nullptr, some_bytes(10));
        c[at] ^= std::byte{0x20};
        fix_crc(c); // even with a checksum that matches
        CAPTURE(at);
        require_chunk_rejected(c, crdt::errc::bad_magic, 0);
    }
}

TEST_CASE("every single-byte corruption of a chunk is detected", "[sync][chunk]") {
    using crdt::detail::store::chunk_kind;
    const bytes base = some_bytes(6, 9);
    for (const bytes& good : {chunk_of(chunk_kind::snapshot, nullptr, some_bytes(40)),
                              chunk_of(chunk_kind::delta, &base, some_bytes(40, 2))}) {
        for (std::size_t i = 0; i < good.size(); ++i) {
            for (unsigned flip : {0x01u, 0x10u, 0x80u, 0xffu}) {
                bytes c = good;
                c[i] ^= static_cast<std::byte>(flip);
                CAPTURE(i, flip);
                if (i < 4) {
                    require_chunk_rejected(c, crdt::errc::bad_magic, 0);
                } else {
                    require_chunk_rejected(c, crdt::errc::checksum_mismatch, good.size() - 4);
                }
            }
        }
    }
}

TEST_CASE("a chunk of another format version is unsupported", "[sync][chunk]") {
    using crdt::detail::store::chunk_kind;
    for (unsigned version : {0u, 2u, 0xffu}) {
        bytes c = chunk_of(chunk_kind::delta, nullptr, some_bytes(10));
        c[4] = static_cast<std::byte>(version);
        fix_crc(c);
        CAPTURE(version);
        require_chunk_rejected(c, crdt::errc::unsupported_version, 4);
    }
}

TEST_CASE("a chunk with a bad kind or bad flags is rejected", "[sync][chunk]") {
    using crdt::detail::store::chunk_kind;
    const bytes base = some_bytes(3);
    // A snapshot with a base (encode_chunk asserts against writing one):
    // a based delta relabelled as a snapshot is refused.
    bytes relabelled = chunk_of(chunk_kind::delta, &base, some_bytes(10));
    relabelled[5] = static_cast<std::byte>(chunk_kind::snapshot);
    fix_crc(relabelled);
    require_chunk_rejected(relabelled, crdt::errc::invalid_value, 6);
    relabelled[5] = static_cast<std::byte>(chunk_kind::native_snapshot);
    fix_crc(relabelled);
    require_chunk_rejected(relabelled, crdt::errc::invalid_value, 6);
    for (unsigned kind : {0u, 4u, 0xffu}) {
        bytes c = chunk_of(chunk_kind::delta, nullptr, some_bytes(10));
        c[5] = static_cast<std::byte>(kind);
        fix_crc(c);
        CAPTURE(kind);
        require_chunk_rejected(c, crdt::errc::invalid_value, 5);
    }
    for (unsigned flags : {2u, 3u, 0xffu}) {
        bytes c = chunk_of(chunk_kind::delta, nullptr, some_bytes(10));
        c[6] = static_cast<std::byte>(flags);
        fix_crc(c);
        CAPTURE(flags);
        require_chunk_rejected(c, crdt::errc::invalid_value, 6);
    }
}

TEST_CASE("a truncated chunk or one with bytes after its payload is rejected", "[sync][chunk]") {
    using crdt::detail::store::chunk_kind;
    const bytes base = some_bytes(5);
    for (const bytes& good : {chunk_of(chunk_kind::snapshot, nullptr, some_bytes(30)),
                              chunk_of(chunk_kind::delta, &base, some_bytes(30)),
                              chunk_of(chunk_kind::delta, nullptr, {})}) {
        for (std::size_t n = 0; n < good.size(); ++n) {
            const bytes prefix(good.begin(), good.begin() + static_cast<std::ptrdiff_t>(n));
            CAPTURE(n);
            REQUIRE_THROWS_AS(crdt::detail::store::decode_chunk(prefix, "prefix"), crdt::error);
            if (n < 11) {
                require_chunk_rejected(prefix, crdt::errc::truncated, 0);
            }
        }
        // Bytes after the CRC break the checksum; bytes inside it, after the
        // payload, are trailing even with a checksum that matches.
        bytes longer = good;
        longer.push_back(std::byte{0});
        REQUIRE_THROWS_AS(crdt::detail::store::decode_chunk(longer, "longer"), crdt::error);
        bytes padded(good.begin(), good.end() - 4);
        padded.push_back(std::byte{0x42});
        padded.insert(padded.end(), 4, std::byte{0});
        fix_crc(padded);
        require_chunk_rejected(padded, crdt::errc::trailing_bytes, good.size() - 4);
        // A checksum-valid body cut short inside its payload (or, for the
        // empty payload, before its length).
        bytes cut(good.begin(), good.end() - 5);
        cut.insert(cut.end(), 4, std::byte{0});
        fix_crc(cut);
        require_chunk_rejected(cut, good.size() > 12 ? crdt::errc::length_out_of_range
                                                     : crdt::errc::truncated);
    }
}
