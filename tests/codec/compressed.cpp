// Tests of crdt/codec/compressed.hpp: round trips at every level and size,
// compressed encodings of replicated values, and every way decompress()
// rejects bad bytes (with the cause and the byte offset), including
// mutations of valid inputs.
#include <crdt/codec/compressed.hpp>
#include <crdt/core/replica_id.hpp>
#include <crdt/lww_map.hpp>
#include <crdt/text.hpp>

#include "support/seed.hpp"

#include <catch2/catch.hpp>
#include <zlib.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <vector>

namespace {

std::vector<std::byte> random_bytes(std::mt19937_64& rng, std::size_t n, unsigned alphabet) {
    std::vector<std::byte> v(n);
    for (auto& b : v) {
        b = static_cast<std::byte>(rng() % alphabet);
    }
    return v;
}

/// Text-like bytes: words from a small vocabulary (compressible).
std::vector<std::byte> wordy_bytes(std::mt19937_64& rng, std::size_t n) {
    static const char* const words[] = {"the ", "sequence ", "of ", "runs ", "merges ", "text, "};
    std::vector<std::byte> v;
    while (v.size() < n) {
        for (const char* c = words[rng() % 6]; *c != '\0' && v.size() < n; ++c) {
            v.push_back(static_cast<std::byte>(*c));
        }
    }
    return v;
}

crdt::errc cause_of(const std::vector<std::byte>& bytes, std::size_t limit) {
    try {
        (void)crdt::decompress(bytes, limit);
    } catch (const crdt::error& e) {
        return static_cast<crdt::errc>(e.code().value());
    }
    FAIL("decompress accepted the bytes");
    return crdt::errc::invalid_value;
}

} // namespace

TEST_CASE("compressed: round trips at every level and size", "[codec][compressed]") {
    const auto seed = crdt_test::seed(41);
    CAPTURE(seed);
    std::mt19937_64 rng(seed);
    for (const std::size_t n : {0u, 1u, 2u, 100u, 4096u, 70000u, 300000u}) {
        for (const auto& plain :
             {random_bytes(rng, n, 256), random_bytes(rng, n, 3), wordy_bytes(rng, n)}) {
            for (const int level : {-1, 0, 1, 6, 9}) {
                CAPTURE(n, level);
                const auto packed = crdt::compress(plain, level);
                REQUIRE(packed.size() >= 3);
                REQUIRE(packed[0] == crdt::compressed_magic);
                const auto out = crdt::decompress(packed);
                REQUIRE(out == plain);
                REQUIRE(out.capacity() == plain.size()); // each growth step exact
                // Exactly the plain size is allowed, one byte less is not.
                REQUIRE(crdt::decompress(packed, n) == plain);
                if (n > 0) {
                    REQUIRE(cause_of(packed, n - 1) == crdt::errc::too_large);
                }
            }
        }
    }
    std::mt19937_64 again(seed);
    const auto text = wordy_bytes(again, 300000);
    REQUIRE(crdt::compress(text).size() < text.size() / 4);
}

TEST_CASE("compressed: a text's history and an lww_map round-trip", "[codec][compressed]") {
    const auto seed = crdt_test::seed(42);
    CAPTURE(seed);
    std::mt19937_64 rng(seed);
    crdt::text doc(crdt::agent_id("alice"));
    for (int k = 0; k < 2000; ++k) {
        const std::size_t pos = rng() % (doc.size() + 1);
        if (rng() % 4 == 0 && doc.size() > 0) {
            (void)doc.erase(rng() % doc.size(), 1);
        } else {
            (void)doc.insert(pos, std::string("typed words, ").substr(0, 1 + rng() % 12));
        }
    }
    const auto history = doc.delta_since({});
    const auto plain = crdt::encode(history);
    const auto packed = crdt::encode_compressed(history);
    REQUIRE(packed.size() < plain.size());
    const auto back = crdt::decode_compressed<crdt::text::delta_type>(packed);
    REQUIRE(crdt::encode(back) == plain);
    crdt::text copy(crdt::agent_id("bob"));
    copy.merge(back);
    REQUIRE(copy.str() == doc.str());

    crdt::lww_map<std::string, std::uint64_t> m(crdt::replica_id{7});
    for (std::uint64_t k = 0; k < 500; ++k) {
        (void)m.set("key-" + std::to_string(k % 300), k);
    }
    const auto m_back = crdt::decode_compressed<crdt::lww_map<std::string, std::uint64_t>>(
        crdt::encode_compressed(m, 9));
    REQUIRE(crdt::encode(m_back) == crdt::encode(m));
}

TEST_CASE("compressed: bad input raises crdt::error naming the cause", "[codec][compressed]") {
    const auto seed = crdt_test::seed(43);
    CAPTURE(seed);
    std::mt19937_64 rng(seed);
    const auto plain = wordy_bytes(rng, 20000);
    const auto good = crdt::compress(plain);

    REQUIRE(cause_of({}, 1000) == crdt::errc::truncated);
    auto bad = good;
    bad[0] = std::byte{0x78}; // a bare zlib stream, no header
    REQUIRE(cause_of(bad, 1 << 20) == crdt::errc::bad_magic);
    bad = good;
    bad[1] = std::byte{2};
    REQUIRE(cause_of(bad, 1 << 20) == crdt::errc::unsupported_version);
    try {
        (void)crdt::decompress(bad, 1 << 20, "history.crz");
        FAIL("accepted");
    } catch (const crdt::error& e) {
        REQUIRE(std::string(e.what()).find("history.crz") != std::string::npos);
        REQUIRE(e.offset() == 1u);
    }

    // A header only: the size varint is cut off.
    REQUIRE(cause_of({good.begin(), good.begin() + 2}, 1 << 20) == crdt::errc::truncated);

    // Every strict prefix of the stream is truncated (or, cut inside the
    // Adler-32 trailer, fails its check; or too short to hold the declared
    // size at all).
    for (std::size_t cut = 5; cut < good.size(); cut += 1 + cut / 8) {
        CAPTURE(cut);
        const std::vector<std::byte> prefix(good.begin(),
                                            good.begin() + static_cast<std::ptrdiff_t>(cut));
        const auto c = cause_of(prefix, 1 << 20);
        REQUIRE((c == crdt::errc::truncated || c == crdt::errc::checksum_mismatch ||
                 (c == crdt::errc::length_out_of_range && (cut - 5) * 1032 < plain.size())));
    }

    // A stream that asks for a preset dictionary (zlib's FDICT).
    {
        std::vector<unsigned char> z(200);
        z_stream zs{};
        REQUIRE(deflateInit(&zs, 6) == Z_OK);
        const unsigned char dict[] = "sequence runs";
        REQUIRE(deflateSetDictionary(&zs, dict, sizeof dict - 1) == Z_OK);
        unsigned char in[] = "sequence runs merge";
        zs.next_in = in;
        zs.avail_in = sizeof in - 1;
        zs.next_out = z.data();
        zs.avail_out = static_cast<uInt>(z.size());
        REQUIRE(deflate(&zs, Z_FINISH) == Z_STREAM_END);
        z.resize(zs.total_out);
        deflateEnd(&zs);
        crdt::byte_writer w;
        w.byte(0xC7);
        w.byte(1);
        w.varint(sizeof in - 1);
        for (const unsigned char c : z) {
            w.byte(c);
        }
        const auto dict_stream = w.take();
        REQUIRE(cause_of(dict_stream, 1 << 20) == crdt::errc::invalid_value);
        try {
            (void)crdt::decompress(dict_stream);
        } catch (const crdt::error& e) {
            REQUIRE(std::string(e.what()).find("preset dictionary") != std::string::npos);
        }
    }

    // Bytes after the stream.
    bad = good;
    bad.push_back(std::byte{0});
    REQUIRE(cause_of(bad, 1 << 20) == crdt::errc::trailing_bytes);

    // A flipped bit in the Adler-32 trailer.
    bad = good;
    bad.back() ^= std::byte{1};
    REQUIRE(cause_of(bad, 1 << 20) == crdt::errc::checksum_mismatch);

    // Declared sizes that lie: larger than the input can inflate to (a
    // decompression bomb is refused before any allocation), one more or one
    // less than the stream gives.
    const auto with_size = [&](std::uint64_t declared) {
        crdt::byte_writer w;
        w.byte(0xC7);
        w.byte(1);
        w.varint(declared);
        crdt::byte_reader r(good);
        (void)r.byte();
        (void)r.byte();
        (void)r.varint();
        w.raw(std::span<const std::byte>(good).subspan(r.offset()));
        return w.take();
    };
    REQUIRE(cause_of(with_size(std::uint64_t{1} << 40), std::size_t{1} << 62) ==
            crdt::errc::length_out_of_range);
    REQUIRE(cause_of(with_size(plain.size() + 1), 1 << 20) == crdt::errc::length_out_of_range);
    REQUIRE(cause_of(with_size(plain.size() - 1), 1 << 20) == crdt::errc::length_out_of_range);

    // Corrupt DEFLATE data: the stream header's check bits, then random
    // mutations anywhere; every outcome is the plain bytes or a crdt::error.
    bad = good;
    bad[6] ^= std::byte{1}; // magic, version, 3-byte size, CMF, FLG: FCHECK fails
    REQUIRE(cause_of(bad, 1 << 20) == crdt::errc::invalid_value);
    for (int k = 0; k < 400; ++k) {
        bad = good;
        const int flips = 1 + static_cast<int>(rng() % 4);
        for (int f = 0; f < flips; ++f) {
            bad[rng() % bad.size()] ^= static_cast<std::byte>(1u << (rng() % 8));
        }
        std::optional<std::vector<std::byte>> out;
        try {
            out = crdt::decompress(bad, 1 << 20);
        } catch (const crdt::error& e) {
            // The expected outcome for almost every mutation: with a cause
            // and an offset within the input.
            REQUIRE(e.offset().has_value());
            REQUIRE(*e.offset() <= bad.size());
        }
        if (out) {
            REQUIRE(*out == plain); // a flip the format does not notice
        }
    }
}

TEST_CASE("compressed: a bad level and a decoding error of the plain bytes",
          "[codec][compressed]") {
    const std::vector<std::byte> plain{std::byte{1}, std::byte{2}};
    REQUIRE_THROWS_AS(crdt::compress(plain, 10), crdt::error);
    REQUIRE_THROWS_AS(crdt::compress(plain, -2), crdt::error);
    // Valid compression of bytes that are not an lww_map: the decode error
    // says it is in the plain encoding.
    const auto packed = crdt::compress(std::vector<std::byte>{std::byte{0xFF}});
    try {
        (void)crdt::decode_compressed<crdt::lww_map<std::string, std::uint64_t>>(packed);
        FAIL("accepted");
    } catch (const crdt::error& e) {
        REQUIRE(std::string(e.what()).find("plain encoding") != std::string::npos);
    }
}
