// Replaces the global operator new / delete with ones that fail on demand:
// set crdt_test::failing_new::countdown to k > 0 and the k-th allocation
// from then on throws std::bad_alloc (0: never). For fault-injection tests
// of exception safety. Include it in exactly one source file of a test
// executable of its own (a replaced operator new applies to the whole
// executable); the nothrow forms are replaced too, so that every
// allocation and deallocation pairs (ASan checks).
#pragma once

#include <cstddef>
#include <cstdlib>
#include <new>

namespace crdt_test::failing_new {

/// 0: never fail; k > 0: the k-th allocation from now throws.
inline long countdown = 0;

inline void* checked_new(std::size_t n) {
    if (countdown > 0 && --countdown == 0) {
        throw std::bad_alloc();
    }
    if (void* p = std::malloc(n == 0 ? 1 : n)) {
        return p;
    }
    throw std::bad_alloc();
}

} // namespace crdt_test::failing_new

void* operator new(std::size_t n) {
    return crdt_test::failing_new::checked_new(n);
}
void* operator new[](std::size_t n) {
    return crdt_test::failing_new::checked_new(n);
}
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
    return std::malloc(n == 0 ? 1 : n);
}
void* operator new[](std::size_t n, const std::nothrow_t&) noexcept {
    return std::malloc(n == 0 ? 1 : n);
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
void operator delete(void* p, const std::nothrow_t&) noexcept {
    std::free(p);
}
void operator delete[](void* p, const std::nothrow_t&) noexcept {
    std::free(p);
}
