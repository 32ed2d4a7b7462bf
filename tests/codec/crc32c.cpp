// Tests for crdt/codec/crc32c.hpp: published check values, incremental use,
// and the hardware path against the portable one at every length and
// alignment.
#include <crdt/codec/crc32c.hpp>

#include <support/seed.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <random>
#include <span>
#include <string>
#include <vector>

namespace {

std::vector<std::byte> bytes_of(std::initializer_list<unsigned> list) {
    std::vector<std::byte> out;
    for (unsigned b : list) {
        out.push_back(static_cast<std::byte>(b));
    }
    return out;
}

// Bit-at-a-time CRC-32C straight from the definition.
std::uint32_t reference_crc(std::span<const std::byte> data) {
    std::uint32_t c = 0xffffffffu;
    for (const auto b : data) {
        c ^= static_cast<std::uint32_t>(b);
        for (int k = 0; k < 8; ++k) {
            c = (c & 1u) != 0 ? (c >> 1) ^ 0x82f63b78u : c >> 1;
        }
    }
    return ~c;
}

std::vector<std::byte> random_bytes(std::mt19937_64& rng, std::size_t n) {
    std::vector<std::byte> out(n);
    for (auto& b : out) {
        b = static_cast<std::byte>(rng());
    }
    return out;
}

} // namespace

TEST_CASE("crc32c: standard check value") {
    REQUIRE(crdt::crc32c(std::string_view("123456789")) == 0xE3069283u);
    const auto digits = bytes_of({'1', '2', '3', '4', '5', '6', '7', '8', '9'});
    REQUIRE(crdt::crc32c(digits) == 0xE3069283u);
    REQUIRE(crdt::crc32c_portable(digits) == 0xE3069283u);
    REQUIRE(crdt::crc32c(std::string_view()) == 0u);
    REQUIRE(crdt::crc32c(std::string_view("a")) == 0xC1D04330u);
}

TEST_CASE("crc32c: RFC 3720 (iSCSI) test vectors") {
    std::vector<std::byte> zeros(32, std::byte{0x00});
    std::vector<std::byte> ones(32, std::byte{0xff});
    std::vector<std::byte> ascending(32);
    std::vector<std::byte> descending(32);
    for (std::size_t i = 0; i < 32; ++i) {
        ascending[i] = static_cast<std::byte>(i);
        descending[i] = static_cast<std::byte>(31 - i);
    }
    // An iSCSI SCSI Read (10) command PDU.
    const auto pdu =
        bytes_of({0x01, 0xc0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
                  0x00, 0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x00,
                  0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x18, 0x28, 0x00, 0x00, 0x00,
                  0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00});
    REQUIRE(pdu.size() == 48);
    for (const bool portable : {false, true}) {
        CAPTURE(portable);
        auto crc = [&](std::span<const std::byte> d) {
            return portable ? crdt::crc32c_portable(d) : crdt::crc32c(d);
        };
        REQUIRE(crc(zeros) == 0x8A9136AAu);
        REQUIRE(crc(ones) == 0x62A8AB43u);
        REQUIRE(crc(ascending) == 0x46DD794Eu);
        REQUIRE(crc(descending) == 0x113FDB5Cu);
        REQUIRE(crc(pdu) == 0xD9963A56u);
    }
}

TEST_CASE("crc32c: incremental computation equals one-shot") {
    const auto seed = crdt_test::seed(10);
    CAPTURE(seed);
    std::mt19937_64 rng(seed);
    const auto data = random_bytes(rng, 257);
    const std::span<const std::byte> all(data);
    const std::uint32_t whole = crdt::crc32c(all);
    REQUIRE(whole == reference_crc(all));
    for (std::size_t split = 0; split <= data.size(); ++split) {
        CAPTURE(split);
        const auto head = all.first(split);
        const auto tail = all.subspan(split);
        REQUIRE(crdt::crc32c(tail, crdt::crc32c(head)) == whole);
        REQUIRE(crdt::crc32c_portable(tail, crdt::crc32c_portable(head)) == whole);
    }
    // Many small pieces.
    std::uint32_t running = 0;
    std::size_t at = 0;
    while (at < data.size()) {
        const std::size_t n = std::min<std::size_t>(data.size() - at, rng() % 11);
        running = crdt::crc32c(all.subspan(at, n), running);
        at += n;
    }
    REQUIRE(running == whole);
    // The string_view overload continues the same way.
    REQUIRE(crdt::crc32c(std::string_view("6789"), crdt::crc32c(std::string_view("12345"))) ==
            0xE3069283u);
}

TEST_CASE("crc32c: hardware path equals the portable one at all lengths and alignments") {
    const auto seed = crdt_test::seed(11);
    CAPTURE(seed);
    std::mt19937_64 rng(seed);
    const auto buffer = random_bytes(rng, 300 + 16);
    for (std::size_t length = 0; length <= 300; ++length) {
        // Every misalignment modulo 8, plus a random one up to 16.
        for (std::size_t offset : {std::size_t{0}, std::size_t{1}, std::size_t{2}, std::size_t{3},
                                   std::size_t{4}, std::size_t{5}, std::size_t{6}, std::size_t{7},
                                   static_cast<std::size_t>(rng() % 17)}) {
            CAPTURE(length, offset);
            const std::span<const std::byte> piece(buffer.data() + offset, length);
            const std::uint32_t portable = crdt::crc32c_portable(piece);
            REQUIRE(crdt::crc32c(piece) == portable);
            const auto start = static_cast<std::uint32_t>(rng());
            REQUIRE(crdt::crc32c(piece, start) == crdt::crc32c_portable(piece, start));
        }
        const std::span<const std::byte> piece(buffer.data(), length);
        REQUIRE(crdt::crc32c_portable(piece) == reference_crc(piece));
    }
}

#if CRDT_CRC32C_HAVE_SSE42
TEST_CASE("crc32c: the SSE4.2 routine itself equals the portable one") {
    if (!crdt::detail::crc32c::cpu_has_sse42()) {
        WARN("this CPU has no SSE4.2; only the portable path is tested");
        return;
    }
    const auto seed = crdt_test::seed(12);
    CAPTURE(seed);
    std::mt19937_64 rng(seed);
    const auto buffer = random_bytes(rng, 300 + 16);
    const auto* base = reinterpret_cast<const unsigned char*>(buffer.data());
    for (std::size_t length = 0; length <= 300; ++length) {
        const auto offset = static_cast<std::size_t>(rng() % 16);
        const auto crc = static_cast<std::uint32_t>(rng());
        CAPTURE(length, offset, crc);
        REQUIRE(crdt::detail::crc32c::update_sse42(crc, base + offset, length) ==
                crdt::detail::crc32c::update_portable(crc, base + offset, length));
    }
}
#endif
