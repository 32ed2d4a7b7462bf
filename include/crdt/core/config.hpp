// crdt/core/config.hpp -- library-wide macros: version, namespace, assertions.
//
// Every crdt header includes this first. It defines
//   CRDT_VERSION_{MAJOR,MINOR,PATCH}  the library version;
//   CRDT_BEGIN_NAMESPACE / CRDT_END_NAMESPACE  open `crdt::v0`, an inline
//       namespace that versions the ABI of every symbol;
//   CRDT_ASSERT(cond)  a precondition check for programming errors. It is on
//       when CRDT_ENABLE_ASSERTS is defined to 1 or NDEBUG is not defined, and
//       then reports the failed condition on stderr and calls std::abort().
//       It is never turned into an optimizer assumption. Bad input from
//       outside is never checked with it: that raises crdt::error instead.
#pragma once

#include <cstdio>  // std::fprintf for assertion reports (no <iostream> in headers)
#include <cstdlib> // std::abort

#define CRDT_VERSION_MAJOR 0
#define CRDT_VERSION_MINOR 1
#define CRDT_VERSION_PATCH 0

#define CRDT_BEGIN_NAMESPACE                                                                       \
    namespace crdt {                                                                               \
    inline namespace v0 {
#define CRDT_END_NAMESPACE                                                                         \
    }                                                                                              \
    }

#if !defined(CRDT_ENABLE_ASSERTS)
#if defined(NDEBUG)
#define CRDT_ENABLE_ASSERTS 0
#else
#define CRDT_ENABLE_ASSERTS 1
#endif
#endif

CRDT_BEGIN_NAMESPACE
namespace detail {

[[noreturn]] inline void assertion_failed(const char* expr, const char* file, int line) noexcept {
    std::fprintf(stderr, "crdt: assertion failed: %s (%s:%d)\n", expr, file, line);
    std::abort();
}

} // namespace detail
CRDT_END_NAMESPACE

#if CRDT_ENABLE_ASSERTS
#define CRDT_ASSERT(...)                                                                           \
    ((__VA_ARGS__) ? static_cast<void>(0)                                                          \
                   : ::crdt::detail::assertion_failed(#__VA_ARGS__, __FILE__, __LINE__))
#else
#define CRDT_ASSERT(...) static_cast<void>(0)
#endif
