// fuzzed-2: sequence snapshots (format 2) whose signed gaps overflowed
// int64 arithmetic in the decoder, undefined behaviour that UBSan reported
// (found by fuzz/sequence_snapshot.cpp): a delete span's target gap, a
// run's start gap and a run's origin code of 2^63 - 1 magnitude. Each must
// be rejected with crdt::error(invalid_value) naming the field.
#include <crdt/sequence.hpp>

#include <catch2/catch.hpp>

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace {

std::vector<std::byte> from_hex(std::string_view hex) {
    std::vector<std::byte> out;
    for (std::size_t i = 0; i + 1 < hex.size(); i += 2) {
        out.push_back(
            static_cast<std::byte>(std::stoul(std::string(hex.substr(i, 2)), nullptr, 16)));
    }
    return out;
}

void check_rejected(std::string_view hex, std::string_view field) {
    CAPTURE(hex);
    try {
        (void)crdt::sequence<char32_t>::load_snapshot(from_hex(hex), crdt::agent_id("r"),
                                                      "fuzzed-2");
        FAIL("loading succeeded");
    } catch (const crdt::error& e) {
        CHECK(e.cause() == crdt::errc::invalid_value);
        CHECK(std::string(e.what()).find("fuzzed-2") != std::string::npos);
        CHECK(std::string(e.what()).find(field) != std::string::npos);
        CHECK(e.offset().has_value());
    }
}

} // namespace

TEST_CASE("fuzzed-2: a delete span's target gap near 2^63 is rejected") {
    check_rejected("435351530203010161010003010201020178020002feffffffffffffffff010200c2efa557",
                   "delete span");
}

TEST_CASE("fuzzed-2: a run's start gap near 2^63 is rejected") {
    check_rejected(
        "435351530202010161010002010102027879000200010000feffffffffffffffff010100005870d060",
        "run");
}

TEST_CASE("fuzzed-2: a run's origin code near 2^64 is rejected") {
    check_rejected(
        "4353515302030101610100030101030378797a0002000200000001feffffffffffffffff0100ab159f87",
        "origin");
}
