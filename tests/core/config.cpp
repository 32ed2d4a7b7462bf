// crdt/core/config.hpp: the version macros, the versioned inline namespace,
// and CRDT_ASSERT (on in every build of crdt's own tests; it reports the
// failed condition and aborts, which is checked in a forked child).
#include <crdt/core/config.hpp>

#include <catch2/catch.hpp>

#include <csignal>
#include <cstdio>
#include <sys/wait.h>
#include <type_traits>
#include <unistd.h>

CRDT_BEGIN_NAMESPACE
struct config_test_probe {};
CRDT_END_NAMESPACE

namespace {

// Runs `fn` in a forked child; returns the child's wait status.
template <class Fn>
int run_in_child(Fn fn) {
    const pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        fn();
        ::_exit(0);
    }
    int status = 0;
    REQUIRE(::waitpid(pid, &status, 0) == pid);
    return status;
}

} // namespace

TEST_CASE("config: version macros and the versioned inline namespace") {
    STATIC_REQUIRE(CRDT_VERSION_MAJOR == 0);
    STATIC_REQUIRE(CRDT_VERSION_MINOR >= 1);
    // crdt::x and crdt::v0::x name the same entity.
    STATIC_REQUIRE(std::is_same_v<crdt::config_test_probe, crdt::v0::config_test_probe>);
}

TEST_CASE("config: CRDT_ASSERT is on in test builds and aborts on a false condition") {
    STATIC_REQUIRE(CRDT_ENABLE_ASSERTS == 1);
    const int ok = run_in_child([] { CRDT_ASSERT(1 + 1 == 2); });
    CHECK(WIFEXITED(ok));
    CHECK(WEXITSTATUS(ok) == 0);

    const int failed = run_in_child([] {
        // Keep the child's report out of the test log's way.
        (void)std::freopen("/dev/null", "w", stderr);
        CRDT_ASSERT(1 + 1 == 3);
    });
    CHECK(WIFSIGNALED(failed));
    CHECK(WTERMSIG(failed) == SIGABRT);
}
