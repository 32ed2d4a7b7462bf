// The conformance suite must catch broken adapters, not only pass good ones,
// and its process checks must fail (never hang) when a child crashes, exits,
// throws or stops answering, and leave no child behind.
#include <crdt/storage/file_storage.hpp>
#include <crdt/storage/memory_storage.hpp>
#include <crdt/testing/storage_conformance.hpp>

#include <catch2/catch.hpp>

#include "helpers.hpp"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <memory>
#include <new>
#include <stdexcept>
#include <string>
#include <vector>

#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

using crdt::storage_key;
using crdt::testing::law_violation;

namespace {

enum class flaw {
    none,
    string_prefix,
    unsorted,
    throws_on_missing_remove,
    drops_empty,
    stale_cas,
    lossy_reopen
};

// A memory store with one deliberate flaw.
class flawed {
public:
    flawed(crdt::memory_storage s, flaw f) : s_(std::move(s)), f_(f) {}
    std::optional<crdt::storage_bytes> load(const storage_key& k) const {
        auto v = s_.load(k);
        if (f_ == flaw::drops_empty && v && v->empty()) {
            return std::nullopt;
        }
        return v;
    }
    void save(const storage_key& k, std::span<const std::byte> b) { s_.save(k, b); }
    void remove(const storage_key& k) {
        if (f_ == flaw::throws_on_missing_remove && !s_.load(k)) {
            throw std::runtime_error("no such key");
        }
        s_.remove(k);
    }
    std::vector<crdt::key_value> load_range(const storage_key& p) const {
        if (f_ == flaw::string_prefix && p.size() == 1) {
            std::vector<crdt::key_value> out;
            for (auto& kv : s_.load_range({})) {
                if (!kv.key.empty() && kv.key[0].starts_with(p[0])) {
                    out.push_back(kv);
                }
            }
            return out;
        }
        auto out = s_.load_range(p);
        if (f_ == flaw::unsorted) {
            std::reverse(out.begin(), out.end());
        }
        return out;
    }
    void remove_range(const storage_key& p) { s_.remove_range(p); }
    void flush() {
        if (f_ != flaw::lossy_reopen) {
            s_.flush();
        }
    }
    std::optional<crdt::versioned_value> load_versioned(const storage_key& k) const {
        return s_.load_versioned(k);
    }
    std::optional<std::uint64_t> cas(const storage_key& k, std::uint64_t expected,
                                     std::span<const std::byte> b) {
        if (f_ == flaw::stale_cas) {
            s_.save(k, b);
            return s_.load_versioned(k)->version;
        }
        return s_.cas(k, expected, b);
    }
    crdt::memory_storage& inner() { return s_; }

private:
    crdt::memory_storage s_;
    flaw f_;
};

void check_flaw(flaw f, const std::string& law_part) {
    crdt::memory_storage mem({crdt::durability::normal});
    auto open = [&] {
        if (f == flaw::lossy_reopen) {
            mem.simulate_crash(); // "reopen" = restart after power loss
        }
        return std::make_unique<flawed>(mem.share(), f);
    };
    try {
        crdt::testing::check_storage_laws(open);
    } catch (const law_violation& e) {
        CHECK_THAT(e.what(), Catch::Matchers::Contains(law_part));
        return;
    } catch (const std::exception& e) {
        if (f == flaw::throws_on_missing_remove) {
            SUCCEED("the adapter's own exception surfaced");
            return;
        }
        FAIL(e.what());
    }
    FAIL("the suite missed the flaw");
}

} // namespace

TEST_CASE("the conformance suite passes a correct adapter") {
    crdt::memory_storage mem({crdt::durability::normal});
    auto open = [&] { return std::make_unique<flawed>(mem.share(), flaw::none); };
    REQUIRE_NOTHROW(crdt::testing::check_storage_laws(open));
}

TEST_CASE("the conformance suite catches broken adapters") {
    check_flaw(flaw::string_prefix, "L4");
    check_flaw(flaw::unsorted, "L4");
    check_flaw(flaw::throws_on_missing_remove, "L2");
    check_flaw(flaw::drops_empty, "L3");
    check_flaw(flaw::stale_cas, "cas");
    check_flaw(flaw::lossy_reopen, "L6");
}

namespace {

using namespace std::chrono_literals;
using storage_test::temp_dir;

// How a sabotaged child misbehaves.
enum class sabotage { none, exit_code, abort, killed, throws, hangs };
// The call it misbehaves in.
enum class op { open, load_versioned, cas, save };

// Memory shared by the test and the children the checks fork (MAP_SHARED):
// the pid of every process that opened the store, in the order of opening.
struct board {
    static constexpr int capacity = 32;
    std::atomic<int> opened{0};
    std::atomic<pid_t> pids[capacity];
};
static_assert(std::atomic<int>::is_always_lock_free && std::atomic<pid_t>::is_always_lock_free,
              "the board is shared between processes");

class shared_board {
public:
    shared_board() {
        void* p = ::mmap(nullptr, sizeof(board), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
                         -1, 0);
        if (p == MAP_FAILED) {
            throw std::runtime_error("mmap failed");
        }
        b_ = new (p) board();
    }
    shared_board(const shared_board&) = delete;
    shared_board& operator=(const shared_board&) = delete;
    ~shared_board() {
        b_->~board();
        ::munmap(b_, sizeof(board));
    }
    board* operator->() const noexcept { return b_; }

private:
    board* b_ = nullptr;
};

// file_storage (a store processes really share), except that a victim
// misbehaves on its `at`-th call of `when`.
class sabotaged {
public:
    sabotaged(const std::filesystem::path& dir, bool victim, sabotage how, op when, int at)
        : s_(dir, crdt::file_storage::options{crdt::durability::none}), victim_(victim), how_(how),
          when_(when), at_(at) {}

    std::optional<crdt::storage_bytes> load(const storage_key& k) const { return s_.load(k); }
    void save(const storage_key& k, std::span<const std::byte> b) {
        strike(op::save);
        s_.save(k, b);
    }
    void remove(const storage_key& k) { s_.remove(k); }
    std::vector<crdt::key_value> load_range(const storage_key& p) const { return s_.load_range(p); }
    void remove_range(const storage_key& p) { s_.remove_range(p); }
    void flush() { s_.flush(); }
    std::optional<crdt::versioned_value> load_versioned(const storage_key& k) {
        strike(op::load_versioned);
        return s_.load_versioned(k);
    }
    std::optional<std::uint64_t> cas(const storage_key& k, std::uint64_t expected,
                                     std::span<const std::byte> b) {
        strike(op::cas);
        return s_.cas(k, expected, b);
    }

    // The misbehaviour itself, also used by `open`.
    static void strike(sabotage how) {
        switch (how) {
        case sabotage::none: return;
        case sabotage::exit_code: ::_exit(3);
        case sabotage::abort:
            // Catch2's fatal-signal handler, inherited through fork(), would
            // report a failure from the child: die as a plain crash does.
            std::signal(SIGABRT, SIG_DFL);
            std::abort();
        case sabotage::killed: ::raise(SIGKILL); return;
        case sabotage::throws: throw std::runtime_error("disk on fire");
        case sabotage::hangs:
            for (;;) {
                ::pause();
            }
        }
    }

private:
    void strike(op o) {
        if (victim_ && o == when_ && ++calls_ == at_) {
            strike(how_);
        }
    }

    crdt::file_storage s_;
    bool victim_;
    sabotage how_;
    op when_;
    int at_;
    int calls_ = 0;
};

struct outcome {
    std::string failure;        // the law_violation's message, empty if none
    pid_t victim = -1;          // the second process to open the store
    std::vector<pid_t> openers; // every process that opened the store
};

// Runs `check(open)` over a fresh sabotaged store whose second opener (a
// child: the checks never open the store in the parent first) misbehaves.
template <class Check>
outcome run_sabotaged(Check check, sabotage how, op when, int at) {
    temp_dir dir;
    shared_board shared;
    auto open = [&] {
        const int n = shared->opened.fetch_add(1);
        if (n < board::capacity) {
            shared->pids[n] = ::getpid();
        }
        if (n == 1 && when == op::open) {
            sabotaged::strike(how);
        }
        return std::make_unique<sabotaged>(dir.path(), n == 1, how, when, at);
    };
    outcome out;
    try {
        check(open);
    } catch (const law_violation& e) {
        out.failure = e.what();
    }
    const int n = std::min(shared->opened.load(), board::capacity);
    for (int i = 0; i < n; ++i) {
        out.openers.push_back(shared->pids[i]);
    }
    out.victim = n > 1 ? out.openers[1] : -1;
    return out;
}

// True once `pid` is no child of ours any more (it was reaped).
bool reaped(pid_t pid) {
    int status = 0;
    return ::waitpid(pid, &status, WNOHANG) == -1 && errno == ECHILD;
}

void require_no_child_left(const outcome& out) {
    for (const pid_t pid : out.openers) {
        CAPTURE(pid);
        CHECK(reaped(pid));
    }
}

outcome cas_race(sabotage how, op when, int at, std::chrono::milliseconds timeout = 60s) {
    return run_sabotaged(
        [&](auto open) { crdt::testing::check_cas_race_processes(open, 3, 4, timeout); }, how, when,
        at);
}

outcome compaction(sabotage how, op when, int at, std::chrono::milliseconds timeout = 60s) {
    return run_sabotaged(
        [&](auto open) { crdt::testing::check_storage_processes(open, 2, 5, timeout); }, how, when,
        at);
}

// Checks that `out` names the victim, the step and how it failed.
void require_named(const outcome& out, const std::string& check, const std::string& step,
                   const std::string& how) {
    INFO(out.failure);
    REQUIRE(out.victim > 0);
    CHECK_THAT(out.failure, Catch::Matchers::StartsWith(check + ": child "));
    CHECK_THAT(out.failure, Catch::Matchers::Contains("(pid " + std::to_string(out.victim) + ")"));
    CHECK_THAT(out.failure, Catch::Matchers::Contains(", " + step + ": "));
    CHECK_THAT(out.failure, Catch::Matchers::Contains(how));
    require_no_child_left(out);
}

} // namespace

TEST_CASE("the process checks pass a correct adapter and leave no child behind") {
    const auto race = cas_race(sabotage::none, op::cas, 1);
    CHECK(race.failure.empty());
    CHECK(race.openers.size() == 4); // three children, then the parent's final check
    require_no_child_left(race);
    const auto compact = compaction(sabotage::none, op::save, 1);
    CHECK(compact.failure.empty());
    CHECK(compact.openers.size() == 3);
    require_no_child_left(compact);
}

TEST_CASE("the CAS race names a child that exits in the middle of the race") {
    // The victim's third cas is in round 2.
    require_named(cas_race(sabotage::exit_code, op::cas, 3), "check_cas_race_processes",
                  "round 2, step cas", "ended without answering; the child exited with code 3");
}

TEST_CASE("the CAS race names a child killed by a signal") {
    require_named(cas_race(sabotage::abort, op::load_versioned, 2), "check_cas_race_processes",
                  "round 1, step read (load_versioned)",
                  "; the child was killed by signal " + std::to_string(SIGABRT) + " (SIGABRT)");
    require_named(cas_race(sabotage::killed, op::cas, 1), "check_cas_race_processes",
                  "round 0, step cas",
                  "ended without answering; the child was killed by signal " +
                      std::to_string(SIGKILL) + " (SIGKILL)");
}

TEST_CASE("the CAS race passes on the message of an exception that ends a child") {
    require_named(cas_race(sabotage::throws, op::cas, 2), "check_cas_race_processes",
                  "round 1, step cas", "threw: disk on fire; the child exited with code 1");
    require_named(cas_race(sabotage::throws, op::open, 1), "check_cas_race_processes", "step open",
                  "threw: disk on fire");
}

TEST_CASE("the CAS race fails on a hung child within the step timeout") {
    require_named(cas_race(sabotage::hangs, op::cas, 2, 2s), "check_cas_race_processes",
                  "round 1, step cas",
                  "no answer within 2 s; the child was then killed with SIGKILL");
}

TEST_CASE("the compaction check names a child that exits or crashes") {
    // Two saves a round: the third is in round 1.
    require_named(compaction(sabotage::exit_code, op::save, 3), "check_storage_processes",
                  "round 1 (save, load_range, save, remove)",
                  "ended without answering; the child exited with code 3");
    require_named(compaction(sabotage::abort, op::save, 1), "check_storage_processes",
                  "round 0 (save, load_range, save, remove)",
                  "ended without answering; the child was killed by signal " +
                      std::to_string(SIGABRT) + " (SIGABRT)");
}

TEST_CASE("the compaction check fails on a hung child within the step timeout") {
    require_named(compaction(sabotage::hangs, op::save, 5, 2s), "check_storage_processes",
                  "round 2 (save, load_range, save, remove)", "no answer within 2 s");
}

TEST_CASE("the conformance suite's process checks catch a CAS without mutual exclusion") {
    // memory_storage is per process: every child has its own copy, so every
    // child wins every round -- exactly what a broken shared CAS looks like.
    shared_board shared;
    auto open = [&] {
        const int n = shared->opened.fetch_add(1);
        if (n < board::capacity) {
            shared->pids[n] = ::getpid();
        }
        return std::make_unique<crdt::memory_storage>();
    };
    CHECK_THROWS_WITH(crdt::testing::check_cas_race_processes(open, 3, 2),
                      "storage law broken: cas race: 3 processes won round 0 (exactly one must)");
    // The parent found the broken law while the children waited for their
    // next command: they must have been killed and reaped all the same.
    REQUIRE(shared->opened.load() == 3);
    for (int i = 0; i < 3; ++i) {
        CAPTURE(i);
        CHECK(reaped(shared->pids[i]));
    }
}
