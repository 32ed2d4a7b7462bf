// Allocation failures in crdt::sequence: a copy assignment that runs out of
// memory part way must leave the target as it was (strong guarantee), so
// that its next local edit is still recorded under its own replica. The
// global operator new is replaced to fail on the k-th allocation, which is
// why this is an executable of its own.
#include <crdt/sequence.hpp>

#include <catch2/catch.hpp>

#include <cstddef>
#include <cstdlib>
#include <new>
#include <string>
#include <variant>
#include <vector>

namespace {

// 0: never fail; k > 0: the k-th allocation from now throws.
long countdown = 0;

void* checked_new(std::size_t n) {
    if (countdown > 0 && --countdown == 0) {
        throw std::bad_alloc();
    }
    if (void* p = std::malloc(n == 0 ? 1 : n)) {
        return p;
    }
    throw std::bad_alloc();
}

} // namespace

void* operator new(std::size_t n) {
    return checked_new(n);
}
void* operator new[](std::size_t n) {
    return checked_new(n);
}
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
    return std::malloc(n == 0 ? 1 : n);
}
void* operator new[](std::size_t n, const std::nothrow_t&) noexcept {
    return std::malloc(n == 0 ? 1 : n);
}
void operator delete(void* p, const std::nothrow_t&) noexcept {
    std::free(p);
}
void operator delete[](void* p, const std::nothrow_t&) noexcept {
    std::free(p);
}
void operator delete(void* p) noexcept {
    std::free(p);
}
void operator delete[](void* p) noexcept {
    std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
    std::free(p);
}
void operator delete[](void* p, std::size_t) noexcept {
    std::free(p);
}

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
