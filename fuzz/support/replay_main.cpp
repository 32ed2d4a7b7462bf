// fuzz/support/replay_main.cpp -- main() of replay_<name>: a harness built
// without libFuzzer (any compiler), registered as the CTest test
// fuzz/replay_<name>.
//
//   replay_<name> [FILE|DIR]...        run the harness on each file (a
//                                      directory: each file in it, sorted);
//   replay_<name> [--runs=N] [--seed=S]
//                                      no files: run N (default 4000)
//                                      deterministic generated inputs
//                                      (fuzz/support/driver.hpp);
//   replay_<name> --write-seeds=DIR    write the seed corpus and exit.
//
// On a crash (trap, abort, failed assertion; under ASan/UBSan any report)
// the input being run is printed on stderr: its file name or generated
// index, and its bytes in hex, so a failing CTest run can be reproduced:
//   echo <hex> | xxd -r -p > crash.bin && replay_<name> crash.bin
#include "support/driver.hpp"

#include <algorithm>
#include <csignal>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <string_view>
#include <vector>

#include <unistd.h>

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define CRDT_REPLAY_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define CRDT_REPLAY_ASAN 1
#endif
#if defined(CRDT_REPLAY_ASAN)
#include <sanitizer/common_interface_defs.h>
#endif

namespace {

// The input being run, for the crash report. Written before each run, read
// only from the signal handler / sanitizer death callback.
const char* volatile current_label = "";
const std::byte* volatile current_data = nullptr;
volatile std::size_t current_size = 0;
volatile std::size_t current_index = 0;
volatile bool current_generated = false;

void write_str(const char* s) {
    const std::size_t n = std::strlen(s);
    std::size_t done = 0;
    while (done < n) {
        const ssize_t w = ::write(2, s + done, n - done);
        if (w <= 0) {
            return;
        }
        done += static_cast<std::size_t>(w);
    }
}

volatile std::sig_atomic_t reported = 0;

// Async-signal-safe: no allocation, no stdio. Reports once (a sanitizer
// report may be followed by abort()).
void report_current_input() {
    if (reported != 0) {
        return;
    }
    reported = 1;
    write_str("\nreplay: crashed on ");
    if (current_generated) {
        char num[32];
        std::size_t v = current_index;
        char* p = num + sizeof(num) - 1;
        *p = '\0';
        do {
            *--p = static_cast<char>('0' + v % 10);
            v /= 10;
        } while (v != 0);
        write_str("generated input #");
        write_str(p);
    } else {
        write_str("file ");
        write_str(current_label);
    }
    write_str("\nreplay: input bytes (hex): ");
    static constexpr char digits[] = "0123456789abcdef";
    const std::size_t limit = current_size < 4096 ? current_size : 4096;
    char chunk[128];
    std::size_t used = 0;
    for (std::size_t i = 0; i < limit; ++i) {
        const auto v = std::to_integer<unsigned>(current_data[i]);
        chunk[used++] = digits[v >> 4];
        chunk[used++] = digits[v & 0xf];
        if (used + 2 >= sizeof(chunk)) {
            chunk[used] = '\0';
            write_str(chunk);
            used = 0;
        }
    }
    chunk[used] = '\0';
    write_str(chunk);
    write_str(current_size > limit ? "...\n" : "\n");
}

extern "C" void on_fatal_signal(int sig) {
    report_current_input();
    std::signal(sig, SIG_DFL);
    std::raise(sig);
}

#if defined(CRDT_REPLAY_ASAN)
extern "C" void on_sanitizer_death() {
    report_current_input();
}
#endif

void install_crash_reporting() {
    std::signal(SIGABRT, on_fatal_signal); // abort, CRDT_ASSERT, std::terminate
    std::signal(SIGILL, on_fatal_signal);  // __builtin_trap (crdt_fuzz::fail)
#if defined(CRDT_REPLAY_ASAN)
    __sanitizer_set_death_callback(on_sanitizer_death);
#else
    // Under ASan its own handlers report these, with a better stack.
    std::signal(SIGSEGV, on_fatal_signal);
    std::signal(SIGBUS, on_fatal_signal);
    std::signal(SIGFPE, on_fatal_signal);
#endif
}

void run_labelled(const crdt_fuzz::bytes& in, const char* label, bool generated,
                  std::size_t index) {
    current_label = label;
    current_data = in.data();
    current_size = in.size();
    current_index = index;
    current_generated = generated;
    crdt_fuzz::driver::run_one(in);
}

bool read_file(const std::filesystem::path& path, crdt_fuzz::bytes& out) {
    std::ifstream f(path, std::ios::binary);
    if (!f) {
        return false;
    }
    const std::vector<char> raw((std::istreambuf_iterator<char>(f)),
                                std::istreambuf_iterator<char>());
    out.resize(raw.size());
    std::memcpy(out.data(), raw.data(), raw.size());
    return !f.bad();
}

bool parse_count(std::string_view text, std::uint64_t& out) {
    if (text.empty()) {
        return false;
    }
    std::uint64_t v = 0;
    for (const char c : text) {
        if (c < '0' || c > '9' || v > (UINT64_MAX - 9) / 10) {
            return false;
        }
        v = v * 10 + static_cast<std::uint64_t>(c - '0');
    }
    out = v;
    return true;
}

int usage(const char* self) {
    std::fprintf(stderr,
                 "usage: %s [FILE|DIR]...            run the harness on each input file\n"
                 "       %s [--runs=N] [--seed=S]    run N generated inputs (default 4000)\n"
                 "       %s --write-seeds=DIR        write the seed corpus\n",
                 self, self, self);
    return 2;
}

} // namespace

int main(int argc, char** argv) {
    const char* self = argc > 0 ? argv[0] : "replay";
    std::uint64_t runs = 4000;
    std::uint64_t seed = 1;
    std::vector<std::filesystem::path> paths;
    for (int i = 1; i < argc; ++i) {
        const std::string_view arg = argv[i];
        if (arg.starts_with("--runs=")) {
            if (!parse_count(arg.substr(7), runs)) {
                return usage(self);
            }
        } else if (arg.starts_with("--seed=")) {
            if (!parse_count(arg.substr(7), seed)) {
                return usage(self);
            }
        } else if (arg.starts_with("--write-seeds=")) {
            return crdt_fuzz::driver::write_seeds(std::string(arg.substr(14))) ? 0 : 1;
        } else if (arg.starts_with("-")) {
            return usage(self);
        } else {
            paths.emplace_back(std::string(arg));
        }
    }
    install_crash_reporting();

    if (paths.empty()) {
        crdt_fuzz::driver::for_each_generated(
            static_cast<std::size_t>(runs), seed,
            [](const crdt_fuzz::bytes& in, std::size_t i) { run_labelled(in, "", true, i); });
        std::printf("%s: %llu generated inputs (seed %llu) passed\n", self,
                    static_cast<unsigned long long>(runs), static_cast<unsigned long long>(seed));
        return 0;
    }

    std::vector<std::filesystem::path> files;
    for (const auto& p : paths) {
        std::error_code ec;
        if (std::filesystem::is_directory(p, ec)) {
            std::vector<std::filesystem::path> inner;
            for (const auto& entry : std::filesystem::directory_iterator(p, ec)) {
                if (entry.is_regular_file()) {
                    inner.push_back(entry.path());
                }
            }
            std::sort(inner.begin(), inner.end());
            files.insert(files.end(), inner.begin(), inner.end());
        } else {
            files.push_back(p);
        }
    }
    std::size_t count = 0;
    for (const auto& f : files) {
        crdt_fuzz::bytes in;
        if (!read_file(f, in)) {
            std::fprintf(stderr, "%s: cannot read %s\n", self, f.c_str());
            return 1;
        }
        const std::string label = f.string();
        run_labelled(in, label.c_str(), false, count);
        ++count;
    }
    std::printf("%s: %zu input files passed\n", self, count);
    return 0;
}
