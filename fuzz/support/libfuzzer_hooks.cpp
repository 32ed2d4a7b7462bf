// fuzz/support/libfuzzer_hooks.cpp -- crdt's additions to a libFuzzer binary
// fuzz_<name>, handled before libFuzzer parses its own flags:
//
//   fuzz_<name> -crdt_write_seeds=DIR   write the seed corpus and exit
//                                       (fuzz/run.sh seeds each run this way);
//   fuzz_<name> -crdt_selftest[=N]      run N (default 4000) deterministic
//                                       generated inputs, as replay_<name>
//                                       does, and exit (the CTest test
//                                       fuzz/fuzz_<name> of a fuzzer build).
//
// Any other arguments go to libFuzzer unchanged.
#include "support/driver.hpp"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

extern "C" int LLVMFuzzerInitialize(int* argc, char*** argv) {
    for (int i = 1; i < *argc; ++i) {
        const std::string_view arg = (*argv)[i];
        if (arg.starts_with("-crdt_write_seeds=")) {
            std::exit(crdt_fuzz::driver::write_seeds(std::string(arg.substr(18))) ? 0 : 1);
        }
        if (arg == "-crdt_selftest" || arg.starts_with("-crdt_selftest=")) {
            std::size_t runs = 4000;
            if (arg.size() > 15) {
                runs = static_cast<std::size_t>(std::strtoull(arg.data() + 15, nullptr, 10));
            }
            crdt_fuzz::driver::for_each_generated(
                runs, 1,
                [](const crdt_fuzz::bytes& in, std::size_t) { crdt_fuzz::driver::run_one(in); });
            std::printf("%s: %zu generated inputs passed\n", (*argv)[0], runs);
            std::exit(0);
        }
    }
    return 0;
}
