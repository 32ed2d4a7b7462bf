// leak_probe.cpp -- proves crdt's dev-only flags do not reach a consumer that
// links crdt::sqlite and crdt::zlib (and through them crdt::crdt) after
// add_subdirectory(crdt).
//
// It deliberately includes no crdt header, so anything crdt-specific it sees
// can only have come from the compile or link line:
//   * `#warning` below is a warning; if -Werror leaked, this file fails to build;
//   * CRDT_ENABLE_ASSERTS is defined only by crdt_dev;
//   * __sanitizer_set_report_path, which every sanitizer runtime (ASan,
//     UBSan, ...) exports, is referenced weakly: it is null unless a
//     -fsanitize option leaked into the link.
#include <cstdio>

#warning "crdt packaging leak probe: this warning is expected (it would be an error under -Werror)"

#if defined(CRDT_ENABLE_ASSERTS)
#error "CRDT_ENABLE_ASSERTS leaked from crdt_dev into a consumer"
#endif
#if defined(__SANITIZE_ADDRESS__)
#error "-fsanitize=address leaked into a consumer"
#endif
#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#error "-fsanitize=address leaked into a consumer"
#endif
#endif

extern "C" __attribute__((weak)) void __sanitizer_set_report_path(const char* path);

namespace {
volatile int operand = 1;
} // namespace

int main() {
    // A signed addition: under -fsanitize=undefined it gets an overflow check,
    // so the UBSan runtime is really linked (not dropped by --as-needed).
    const int sum = operand + operand;
    if (sum != 2) {
        return 1;
    }
    if (&__sanitizer_set_report_path != nullptr) {
        std::fprintf(stderr, "leak_probe: FAIL: a sanitizer runtime is linked into the consumer\n");
        return 1;
    }
    std::printf("leak_probe: OK: no -Werror, sanitizer or CRDT_ENABLE_ASSERTS leaked\n");
    return 0;
}
