// The test runner: Catch2's session, with one seed for every random choice.
//
// `--rng-seed N` (default 0) seeds Catch2 (and through crdt_test::seed()
// every randomized test of ours) and, unless RC_PARAMS is already set,
// RapidCheck too, so a failure is reproduced by re-running with the seed it printed.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include <cstdlib>
#include <string>

int main(int argc, char* argv[]) {
    Catch::Session session;
    if (const int rc = session.applyCommandLine(argc, argv); rc != 0) {
        return rc;
    }
    // Always pin RapidCheck to the run's seed (0 by default), so property
    // tests are as reproducible as the rest; RC_PARAMS set by hand wins.
    const unsigned seed = session.configData().rngSeed;
    if (std::getenv("RC_PARAMS") == nullptr) {
        const std::string params = "seed=" + std::to_string(seed);
        ::setenv("RC_PARAMS", params.c_str(), 0);
    }
    return session.run();
}
