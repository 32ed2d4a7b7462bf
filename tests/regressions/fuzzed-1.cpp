// fuzzed-1: a causal context whose version has a replica at counter 2^64-1
// and a cloud dot of the same replica was accepted by the decoder, because
// `counter + 1` wrapped to 0 in the "included in or adjacent to the version"
// check (found by fuzz/causal_context.cpp in replay mode). The decoder must
// reject it: the cloud dot is already included in the version.
#include <crdt/core/causal_context.hpp>

#include <catch2/catch.hpp>

#include <cstdint>
#include <vector>

namespace {

std::vector<std::byte> bytes(std::initializer_list<unsigned> values) {
    std::vector<std::byte> out;
    for (unsigned v : values) {
        out.push_back(static_cast<std::byte>(v));
    }
    return out;
}

} // namespace

TEST_CASE("fuzzed-1: cloud dot under a saturated counter is rejected") {
    // version {replica 1: 2^64-1}, cloud {(replica 1, 5)}
    const auto input = bytes({0x01,                                           // 1 entry
                              0x01, 0,    0,    0,    0,    0,    0,    0,    // replica 1
                              0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, // counter
                              0xff, 0x01,                                     //   = 2^64-1
                              0x01,                                           // 1 cloud dot
                              0x01, 0,    0,    0,    0,    0,    0,    0,    // replica 1
                              0x05});                                         // counter 5
    try {
        (void)crdt::decode<crdt::causal_context>(input, "fuzzed-1");
        FAIL("decoding succeeded");
    } catch (const crdt::error& e) {
        CHECK(e.cause() == crdt::errc::invalid_value);
        CHECK(e.offset().has_value());
    }
}

TEST_CASE("fuzzed-1: a saturated counter itself still round-trips") {
    crdt::causal_context c;
    c.merge(crdt::version_vector{{crdt::replica_id(1), UINT64_MAX}});
    c.insert({crdt::replica_id(2), 7});
    c.verify();
    CHECK(crdt::decode<crdt::causal_context>(crdt::encode(c)) == c);
}
