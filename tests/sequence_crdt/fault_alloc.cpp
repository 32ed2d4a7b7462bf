// Allocation failures in crdt::sequence: a copy assignment that runs out of
// memory part way must leave the target as it was (strong guarantee), so
// that its next local edit is still recorded under its own replica. The
// global operator new is replaced to fail on the k-th allocation, which is
// why this is an executable of its own.
#include <crdt/sequence.hpp>

#include "../support/failing_new.hpp"

#include <catch2/catch.hpp>

#include <cstddef>
#include <string>
#include <variant>
#include <vector>

using crdt_test::failing_new::countdown;

namespace {

using seq_t = crdt::sequence<char32_t>;

std::u32string text_of(const seq_t& s) {
    const std::vector<char32_t> v = s.content();
    return std::u32string(v.begin(), v.end());
}

} // namespace

TEST_CASE("sequence: a copy assignment that runs out of memory changes nothing") {
    int failed = 0;
    for (long k = 1; k < 400; ++k) {
        CAPTURE(k);
        // Long names: copying them allocates too.
        seq_t x(crdt::agent_id("the-old-replica-with-a-long-name"));
        x.insert(0, U'a'); // x now knows its own agent
        seq_t y(crdt::agent_id("the-new-replica-with-a-long-name"));
        y.insert(0, U'b');
        y.insert(1, U'c');
        countdown = k;
        bool threw = false;
        try {
            x = y;
        } catch (const std::bad_alloc&) {
            threw = true;
        }
        countdown = 0;
        if (threw) {
            ++failed;
            REQUIRE(x.self() == crdt::agent_id("the-old-replica-with-a-long-name"));
            REQUIRE(text_of(x) == U"a");
        } else {
            REQUIRE(x.self() == y.self());
            REQUIRE(text_of(x) == U"bc");
        }
        x.verify();
        // The next local edit is x's own, recorded under x's replica.
        const auto o = x.insert(0, U'z');
        const auto& ins = std::get<seq_t::insert_op>(o);
        REQUIRE(ins.id.replica == x.self());
        REQUIRE(x.contains(ins.id));
        x.verify();
        if (!threw) {
            break; // every allocation point of the assignment was tried
        }
    }
    CHECK(failed > 5);
}

TEST_CASE("sequence: a local edit that runs out of memory does not lock the replica out") {
    // However far a local insert or erase got before an allocation failed,
    // the replica's next seq is not taken: its next edits are accepted and
    // a peer that receives every op it made converges with it.
    int failed = 0;
    for (long k = 1; k < 200; ++k) {
        CAPTURE(k);
        seq_t x(crdt::agent_id("a-replica-name-longer-than-sso"));
        seq_t peer(crdt::agent_id("peer-replica-name-longer-than-sso"));
        for (char32_t c = U'a'; c < U'a' + 16; ++c) { // the arena is full: 16 of 16
            peer.apply(x.insert(x.size(), c));        // the store's vectors fill up
        }
        countdown = k;
        bool threw = false;
        try {
            if (k % 2 == 0) {
                peer.apply(x.insert(x.size(), U'!'));
            } else {
                for (const auto& o : x.erase(3, 2)) {
                    peer.apply(o);
                }
            }
        } catch (const std::bad_alloc&) {
            threw = true;
        }
        countdown = 0;
        failed += threw ? 1 : 0;
        REQUIRE_NOTHROW(peer.apply(x.insert(0, U'z')));
        for (const auto& o : x.erase(1, 1)) {
            REQUIRE_NOTHROW(peer.apply(o));
        }
        if (!threw) {
            REQUIRE(text_of(peer) == text_of(x));
            if (k > 40) {
                break;
            }
        }
    }
    CHECK(failed > 5);
}
