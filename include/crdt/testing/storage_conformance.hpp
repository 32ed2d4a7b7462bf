// crdt/testing/storage_conformance.hpp -- the conformance suite every storage
// adapter runs, crdt's own and yours.
//
// Each checker takes `open`, a callable returning a std::unique_ptr<S> to a
// new handle on the *same* store (reopening it), and throws
// crdt::testing::law_violation naming the law (crdt/storage/concepts.hpp,
// L1..L8) when the adapter breaks it. Like laws.hpp the checkers are
// framework-agnostic: call them inside Catch2's REQUIRE_NOTHROW, GoogleTest's
// EXPECT_NO_THROW or a plain main(). The suite erases everything in the
// store it is given, so point it at a scratch store.
//
//   auto open = [&] { return std::make_unique<my_storage>(dir); };
//   crdt::testing::check_storage_laws(open);            // L1-L7, capabilities
//   crdt::testing::check_storage_threads(open);         // L5, L8 in-process
//   crdt::testing::check_storage_processes(open);       // L8 across fork()
//   crdt::testing::check_cas_race_processes(open, 8);   // one winner per round
//
// Optional capabilities (batches, append log, CAS, watch, list_keys) are
// detected with the concepts of crdt/storage/concepts.hpp and checked when
// present. The process checks use fork() (POSIX only) and need an adapter
// whose store several processes may open at once; `open` must not have been
// called in the parent when they start (SQLite forbids carrying a connection
// across fork), and is called in the children. Call them from a process with
// no other threads running adapter code (the children are forked copies).
//
// Failing children. The process checks run in steps (every child opens the
// store, then each round; the CAS race has a read and a cas step per round,
// then the children exit), and the parent waits at most `step_timeout` (a
// parameter; default_process_step_timeout, 60 s, by default) for every child
// to answer a step: it never blocks on a child without a deadline. A child
// that crashes, aborts, is killed, exits early, lets an exception escape (its
// message is sent to the parent) or does not answer in time makes the check
// throw law_violation naming the check, the child's index and pid, the
// round and step, and how it failed, for example
//
//   check_cas_race_processes: child 1 of 8 (pid 4242), round 2, step cas:
//   ended without answering; the child was killed by signal 6 (SIGABRT)
//
// ("threw: <what>; the child exited with code 1", "the child exited with
// code N", "no answer within 60 s; the child was then killed with SIGKILL").
// Before anything leaves a process check -- that law_violation, a broken
// law, or any other exception -- every child still running is killed with
// SIGKILL and every child is reaped, so none outlives the check; on Linux a
// child also dies with the parent (e.g. when a test runner's timeout kills
// it). Children always end in _exit and never return into the caller or a
// test framework; a fatal-signal handler they inherit (Catch2 installs one)
// may still print a report from a child that crashes, before the child dies
// of the signal. Parent and children talk over one AF_UNIX socket pair per
// child, written with MSG_NOSIGNAL (SO_NOSIGPIPE on macOS), so a dead child
// never raises SIGPIPE in the parent.
//
// Complexity: each checker does a fixed amount of work per round, key or
// iteration; the process checks fork `processes` children (one socket pair
// each) and make O(processes) system calls per step in the parent. A failing
// process check returns within about two step timeouts (the step, then the
// grace a dying child gets to exit); a passing one is not slowed down.
//
// Thread safety: run one checker at a time per store.
//
// Exception safety: a checker that throws leaves the store with the
// partial state of the check (scratch data under its own keys) and, for
// the process checks, no child process behind.
#pragma once

#include <crdt/core/config.hpp>
#include <crdt/storage/concepts.hpp>
#include <crdt/storage/key.hpp>
#include <crdt/testing/laws.hpp>

#include <algorithm>
#include <atomic>
#include <barrier>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <exception>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>
#if defined(__linux__)
#include <sys/prctl.h>
#endif

CRDT_BEGIN_NAMESPACE
namespace testing {
namespace testing_detail::storage_suite {

inline void require(bool ok, const std::string& law) {
    if (!ok) {
        throw law_violation("storage law broken: " + law);
    }
}

inline storage_bytes b(std::string_view s) {
    return to_storage_bytes(s);
}

inline std::string str(const storage_bytes& v) {
    return std::string(reinterpret_cast<const char*>(v.data()), v.size());
}

inline std::uint64_t fnv1a(std::string_view s) {
    std::uint64_t h = 0xcbf29ce484222325ull;
    for (const char c : s) {
        h = (h ^ static_cast<unsigned char>(c)) * 0x100000001b3ull;
    }
    return h;
}

inline std::string hex64(std::uint64_t v) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string out(16, '0');
    for (int i = 15; i >= 0; --i) {
        out[static_cast<std::size_t>(i)] = digits[v & 15];
        v >>= 4;
    }
    return out;
}

// A value that proves it is not torn: "<hash of body>:<body>".
inline std::string sealed(std::string_view body) {
    return hex64(fnv1a(body)) + ":" + std::string(body);
}
inline bool intact(std::string_view v) {
    if (v.size() < 17 || v[16] != ':') {
        return false;
    }
    return hex64(fnv1a(v.substr(17))) == v.substr(0, 16);
}

inline std::vector<storage_key> keys_of(const std::vector<key_value>& kvs) {
    std::vector<storage_key> out;
    for (const auto& kv : kvs) {
        out.push_back(kv.key);
    }
    return out;
}

} // namespace testing_detail::storage_suite

/// Effects: checks L1 (read-your-writes), L2 (idempotent remove), L3
///   (opaque keys, empty values) and L7 (idempotent re-save).
/// Throws: law_violation naming the broken law.
template <class Open>
void check_storage_basics(Open open) {
    using namespace testing_detail::storage_suite;
    auto s = open();
    check_storage<std::remove_reference_t<decltype(*s)>>();
    s->remove_range({});
    const storage_key k{"ws", "doc", "delta", "h1"};
    require(!s->load(k), "L1: load of a key never saved returns nullopt");
    s->save(k, b("one"));
    require(s->load(k) == b("one"), "L1: load returns what save stored");
    s->save(k, b("two!"));
    require(s->load(k) == b("two!"), "L1: save replaces the value");
    s->save(k, b("two!"));
    require(s->load(k) == b("two!"), "L7: re-saving identical bytes changes nothing");
    s->remove(k);
    require(!s->load(k), "L2: load after remove returns nullopt");
    s->remove(k);
    s->remove(storage_key{"never", "saved"});
    require(!s->load(k), "L2: remove is idempotent");

    // L3: opaque keys.
    std::vector<storage_key> odd = {
        storage_key{"a"},
        storage_key{"a", "b"},
        storage_key{"a", ""},
        storage_key{"", "a"},
        storage_key{std::string_view("\0", 1)},
        storage_key{std::string_view("x\0y", 3), "\xff\xfe"},
        storage_key{"..", "."},
        storage_key{"a/b", "c\\d"},
        storage_key{"CON", "nul", "aux.txt"},
        storage_key{"%41", "A"},
        storage_key{"caf\xc3\xa9", "\x80\x81"},
        storage_key{"x.tmp.1", "y.v"},
        storage_key{std::string(200, 'z')},
    };
    for (std::size_t i = 0; i < odd.size(); ++i) {
        s->save(odd[i], b("v" + std::to_string(i)));
    }
    for (std::size_t i = 0; i < odd.size(); ++i) {
        require(s->load(odd[i]) == b("v" + std::to_string(i)),
                "L3: key " + odd[i].to_string() + " round-trips and is distinct from the others");
    }
    const storage_key empty_value{"empty"};
    s->save(empty_value, {});
    const auto ev = s->load(empty_value);
    require(ev.has_value() && ev->empty(), "L3: an empty value is stored and differs from absence");
    std::string big(1 << 20, '\0');
    for (std::size_t i = 0; i < big.size(); ++i) {
        big[i] = static_cast<char>((i * 131) ^ (i >> 9));
    }
    s->save(storage_key{"big"}, b(big));
    require(s->load(storage_key{"big"}) == b(big), "L1: a 1 MiB value round-trips");
    s->remove_range({});
    require(s->load_range({}).empty(), "L4: remove_range({}) removes everything");
}

/// Effects: checks L4 (segment-wise prefixes, order, remove_range) and
///   list_keys when present.
template <class Open>
void check_storage_ranges(Open open) {
    using namespace testing_detail::storage_suite;
    auto s = open();
    s->remove_range({});
    const std::vector<storage_key> keys = {
        storage_key{"a"},         storage_key{"a", ""},
        storage_key{"a", "b"},    storage_key{"a", "b", "c"},
        storage_key{"a", "c"},    storage_key{"a", std::string_view("\0", 1)},
        storage_key{"a", "\xff"}, storage_key{"ab"},
        storage_key{"ab", "a"},   storage_key{std::string_view("a\0", 2)},
        storage_key{"b"},         storage_key{"\xc3\xa9"},
    };
    // Save in a scrambled order.
    for (std::size_t i = 0; i < keys.size(); ++i) {
        const auto& k = keys[(i * 5) % keys.size()];
        s->save(k, b(k.to_string()));
    }
    auto sorted = keys;
    std::sort(sorted.begin(), sorted.end());
    auto expect_range = [&](const storage_key& p) {
        std::vector<storage_key> want;
        for (const auto& k : sorted) {
            if (k.starts_with(p)) {
                want.push_back(k);
            }
        }
        return want;
    };
    const std::vector<storage_key> prefixes = {
        storage_key{},        storage_key{"a"},   storage_key{"a", "b"},
        storage_key{"ab"},    storage_key{"zz"},  storage_key{std::string_view("a\0", 2)},
        storage_key{"a", ""}, storage_key{"\xc3"}};
    for (const auto& p : prefixes) {
        const auto got = s->load_range(p);
        require(keys_of(got) == expect_range(p),
                "L4: load_range(" + p.to_string() +
                    ") returns exactly the keys with that segment prefix, in byte-wise "
                    "segment order");
        for (const auto& kv : got) {
            require(kv.value == b(kv.key.to_string()), "L4: load_range returns each key's value");
        }
        if constexpr (key_listing_storage<std::remove_reference_t<decltype(*s)>>) {
            require(s->list_keys(p) == expect_range(p),
                    "list_keys(" + p.to_string() + ") lists the keys load_range returns");
        }
    }
    s->remove_range(storage_key{"a", "b"});
    require(!s->load(storage_key{"a", "b"}) && !s->load(storage_key{"a", "b", "c"}) &&
                s->load(storage_key{"a"}) && s->load(storage_key{"ab"}) &&
                s->load(storage_key{"a", "c"}),
            "L4: remove_range removes exactly the keys under the prefix");
    s->remove_range(storage_key{"a"});
    std::vector<storage_key> left;
    for (const auto& k : sorted) {
        if (!k.starts_with(storage_key{"a"})) {
            left.push_back(k);
        }
    }
    require(keys_of(s->load_range({})) == left,
            "L4: remove_range({\"a\"}) keeps {\"ab\"} and {\"a\\0\"}");
    s->remove_range(storage_key{"nothing", "here"});
    s->remove_range({});
}

/// Effects: checks L6 as far as a reopen can: what was saved (and flushed)
///   is there after the handle is destroyed and the store reopened, and
///   removes persist too.
template <class Open>
void check_storage_reopen(Open open) {
    using namespace testing_detail::storage_suite;
    {
        auto s = open();
        s->remove_range({});
        for (int i = 0; i < 20; ++i) {
            s->save(storage_key{"p", std::to_string(i)}, b("value " + std::to_string(i)));
        }
        s->remove(storage_key{"p", "3"});
        s->flush();
    }
    {
        auto s = open();
        for (int i = 0; i < 20; ++i) {
            const auto v = s->load(storage_key{"p", std::to_string(i)});
            if (i == 3) {
                require(!v, "L6: a remove persists across reopen");
            } else {
                require(v == b("value " + std::to_string(i)),
                        "L6: a flushed save survives reopening the store");
            }
        }
        require(s->load_range(storage_key{"p"}).size() == 19, "L6: reopen sees every key");
        s->remove_range({});
        s->flush();
    }
}

/// Effects: checks the optional capabilities the adapter models: atomic
///   batches, the append log, CAS versions and change notification.
template <class Open>
void check_storage_capabilities(Open open) {
    using namespace testing_detail::storage_suite;
    auto s = open();
    using S = std::remove_reference_t<decltype(*s)>;
    s->remove_range({});
    if constexpr (batch_storage<S>) {
        s->save(storage_key{"bt", "gone"}, b("x"));
        write_batch batch;
        batch.save(storage_key{"bt", "1"}, b("one"))
            .save(storage_key{"bt", "2"}, b("two"))
            .remove(storage_key{"bt", "gone"})
            .save(storage_key{"bt", "3"}, b("tmp"))
            .remove(storage_key{"bt", "3"})
            .remove(storage_key{"bt", "4"})
            .save(storage_key{"bt", "4"}, b("four"));
        s->commit(batch);
        require(s->load(storage_key{"bt", "1"}) == b("one") &&
                    s->load(storage_key{"bt", "2"}) == b("two") &&
                    !s->load(storage_key{"bt", "gone"}) && !s->load(storage_key{"bt", "3"}) &&
                    s->load(storage_key{"bt", "4"}) == b("four"),
                "batch: commit applies every operation, in order");
        s->commit(write_batch{});
        require(s->load_range(storage_key{"bt"}).size() == 3, "batch: an empty batch is a no-op");
    }
    if constexpr (append_log_storage<S>) {
        const auto before = s->read_since(0);
        const std::uint64_t base = before.empty() ? 0 : before.back().sequence;
        for (std::size_t i = 1; i < before.size(); ++i) {
            require(before[i].sequence > before[i - 1].sequence,
                    "append log: read_since returns entries in increasing sequence order");
        }
        std::vector<std::uint64_t> seqs;
        for (int i = 0; i < 10; ++i) {
            seqs.push_back(s->append(b("entry " + std::to_string(i))));
        }
        require(seqs.front() > base, "append log: a new entry's sequence exceeds every older one");
        for (std::size_t i = 1; i < seqs.size(); ++i) {
            require(seqs[i] > seqs[i - 1], "append log: sequences strictly increase");
        }
        const auto since = s->read_since(base);
        require(since.size() == 10, "append log: read_since(s) returns every entry after s");
        for (std::size_t i = 0; i < since.size(); ++i) {
            require(since[i].sequence == seqs[i] &&
                        since[i].value == b("entry " + std::to_string(i)),
                    "append log: read_since returns the appended bytes with their sequences");
        }
        require(s->read_since(seqs.back()).empty(), "append log: nothing after the last entry");
        const auto tail = s->read_since(seqs[6]);
        require(tail.size() == 3 && tail.front().sequence == seqs[7],
                "append log: read_since(s) starts right after s");
    }
    if constexpr (cas_storage<S>) {
        const storage_key root{"cas", "root"};
        require(!s->load_versioned(root), "cas: load_versioned of an absent key is nullopt");
        const auto v1 = s->cas(root, 0, b("first"));
        require(v1.has_value() && *v1 != 0, "cas: cas(k, 0, b) creates an absent key");
        require(!s->cas(root, 0, b("again")), "cas: cas(k, 0, b) fails when k exists");
        require(s->load(root) == b("first"), "cas: a failed cas changes nothing");
        const auto lv = s->load_versioned(root);
        require(lv && lv->version == *v1 && lv->value == b("first"),
                "cas: load_versioned returns the value and the version cas returned");
        const auto v2 = s->cas(root, *v1, b("second"));
        require(v2.has_value() && *v2 != *v1, "cas: cas with the current version succeeds "
                                              "and yields a new version");
        require(!s->cas(root, *v1, b("stale")), "cas: cas with a stale version fails");
        require(s->load(root) == b("second"), "cas: load sees what cas stored");
        s->save(root, b("saved"));
        const auto lv3 = s->load_versioned(root);
        require(lv3 && lv3->version != *v2 && lv3->value == b("saved"),
                "cas: a plain save also gives the key a new version");
        require(!s->cas(root, *v2, b("stale")), "cas: the version before a save is stale");
        s->remove(root);
        require(!s->cas(root, lv3->version, b("x")), "cas: cas on a removed key fails");
        require(s->cas(root, 0, b("re")).has_value(), "cas: cas(k, 0, b) recreates a removed key");
        s->remove(root);
    }
    if constexpr (watchable_storage<S>) {
        std::vector<storage_change> seen;
        std::mutex m;
        {
            auto h = s->watch([&](const storage_change& c) {
                std::lock_guard lock(m);
                seen.push_back(c);
            });
            s->save(storage_key{"w", "1"}, b("x"));
            s->remove(storage_key{"w", "1"});
        }
        s->save(storage_key{"w", "2"}, b("y"));
        std::lock_guard lock(m);
        bool saw_save = false;
        bool saw_remove = false;
        for (const auto& c : seen) {
            saw_save |= c.what == storage_change::kind::saved && c.key == storage_key{"w", "1"};
            saw_remove |= c.what == storage_change::kind::removed && c.key == storage_key{"w", "1"};
            require(c.key != storage_key{"w", "2"}, "watch: no notification after the handle died");
        }
        require(saw_save && saw_remove, "watch: saves and removes are notified");
    }
    s->remove_range({});
}

/// Effects: checks L1-L4, L6 (reopen), L7 and every capability present.
template <class Open>
void check_storage_laws(Open open) {
    check_storage_basics(open);
    check_storage_ranges(open);
    check_storage_reopen(open);
    check_storage_capabilities(open);
}

/// Effects: checks L5 and L8 within one process: `threads` threads share one
///   handle; each writes and rewrites its own keys with self-checking values
///   while reading everyone's keys and ranges; no read may see a torn value,
///   and at the end every thread's last value is present.
template <class Open>
void check_storage_threads(Open open, int threads = 4, int iterations = 150) {
    using namespace testing_detail::storage_suite;
    auto s = open();
    s->remove_range({});
    std::atomic<bool> failed{false};
    std::string failure;
    std::mutex failure_mutex;
    auto fail = [&](const std::string& what) {
        std::lock_guard lock(failure_mutex);
        if (!failed.exchange(true)) {
            failure = what;
        }
    };
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t) {
        pool.emplace_back([&, t] {
            try {
                for (int i = 0; i < iterations && !failed; ++i) {
                    const storage_key k{"thr", std::to_string(t), std::to_string(i % 8)};
                    s->save(k, b(sealed(std::string(static_cast<std::size_t>(i % 37) * 7, 'a') +
                                        std::to_string(t) + "/" + std::to_string(i))));
                    const storage_key other{"thr", std::to_string((t + 1) % threads),
                                            std::to_string(i % 8)};
                    if (const auto v = s->load(other); v && !intact(str(*v))) {
                        fail("L5: a concurrent load saw a torn value");
                    }
                    if (i % 10 == 0) {
                        for (const auto& kv : s->load_range(storage_key{"thr"})) {
                            if (!intact(str(kv.value))) {
                                fail("L5: a concurrent load_range saw a torn value");
                            }
                        }
                    }
                    if (i % 25 == 24) {
                        s->remove(storage_key{"thr", std::to_string(t), "gone"});
                    }
                }
            } catch (const std::exception& e) {
                fail(std::string("an operation threw under concurrency: ") + e.what());
            }
        });
    }
    for (auto& th : pool) {
        th.join();
    }
    require(!failed, failure);
    for (int t = 0; t < threads; ++t) {
        for (int j = 0; j < 8; ++j) {
            int last = -1;
            for (int i = 0; i < iterations; ++i) {
                if (i % 8 == j) {
                    last = i;
                }
            }
            if (last < 0) {
                continue;
            }
            const auto v = s->load(storage_key{"thr", std::to_string(t), std::to_string(j)});
            require(v && intact(str(*v)) &&
                        str(*v).ends_with(std::to_string(t) + "/" + std::to_string(last)),
                    "L8: every thread's last write is present after concurrent use");
        }
    }
    s->remove_range({});
}

/// The default bound on each step of the process checks: how long the parent
/// waits for every child's answer to one step (or for the children to exit)
/// before it declares a child hung, kills the children and throws. Generous,
/// because CI machines are slow and run the checks under sanitizers.
inline constexpr std::chrono::milliseconds default_process_step_timeout{std::chrono::seconds(60)};

namespace testing_detail::storage_suite {

// The process checks' plumbing. The parent talks to each child over its own
// AF_UNIX stream socket pair: bidirectional, and a send to a dead peer fails
// with EPIPE instead of raising SIGPIPE (MSG_NOSIGNAL, or SO_NOSIGPIPE where
// that is the spelling). One channel per child, so a dead child is seen as
// end-of-file on exactly its channel: the parent closes its copy of the
// child's end right after fork(), and each child closes the parent's end of
// its own channel and of every channel created before it.
//
// Parent -> child: one command byte. Child -> parent: frames of a tag byte, a
// native-endian std::uint32_t length and that many bytes; tag 'E' carries the
// message of an exception that ended the child.

#if defined(MSG_NOSIGNAL)
inline constexpr int channel_send_flags = MSG_NOSIGNAL;
#else
inline constexpr int channel_send_flags = 0;
#endif

inline constexpr std::uint32_t max_frame_body = 1u << 20;
inline constexpr std::size_t max_error_text = 4000;

struct frame {
    char tag = 0;
    std::string body;
};

inline std::string errno_text(int e) {
    return std::string(std::strerror(e)) + " (errno " + std::to_string(e) + ")";
}

inline std::string encode_u64(std::uint64_t v) {
    std::string out(sizeof v, '\0');
    std::memcpy(out.data(), &v, sizeof v);
    return out;
}

// Requires: s.size() == 8 (checked by child_group::gather).
inline std::uint64_t decode_u64(const std::string& s) {
    std::uint64_t v = 0;
    std::memcpy(&v, s.data(), std::min(s.size(), sizeof v));
    return v;
}

// Child side: sends one frame, blocking. Throws law_violation if the parent
// is gone.
inline void send_frame(int fd, char tag, std::string_view body) {
    const auto n = static_cast<std::uint32_t>(body.size());
    std::string out(1 + sizeof n + body.size(), '\0');
    out[0] = tag;
    std::memcpy(out.data() + 1, &n, sizeof n);
    if (!body.empty()) {
        std::memcpy(out.data() + 1 + sizeof n, body.data(), body.size());
    }
    const char* p = out.data();
    std::size_t left = out.size();
    while (left > 0) {
        const auto w = ::send(fd, p, left, channel_send_flags);
        if (w < 0) {
            if (errno == EINTR) {
                continue;
            }
            throw law_violation("storage conformance child: lost the channel to the parent: " +
                                errno_text(errno));
        }
        p += w;
        left -= static_cast<std::size_t>(w);
    }
}

// Child side: the next command byte, or nullopt once the parent is gone.
inline std::optional<char> receive_command(int fd) {
    char c = 0;
    for (;;) {
        const auto r = ::recv(fd, &c, 1, 0);
        if (r == 1) {
            return c;
        }
        if (r < 0 && errno == EINTR) {
            continue;
        }
        return std::nullopt;
    }
}

inline void set_cloexec(int fd) {
    const int flags = ::fcntl(fd, F_GETFD);
    if (flags >= 0) {
        ::fcntl(fd, F_SETFD, flags | FD_CLOEXEC);
    }
}

inline const char* signal_name(int sig) {
    switch (sig) {
    case SIGABRT: return "SIGABRT";
    case SIGALRM: return "SIGALRM";
    case SIGBUS: return "SIGBUS";
    case SIGFPE: return "SIGFPE";
    case SIGHUP: return "SIGHUP";
    case SIGILL: return "SIGILL";
    case SIGINT: return "SIGINT";
    case SIGKILL: return "SIGKILL";
    case SIGPIPE: return "SIGPIPE";
    case SIGQUIT: return "SIGQUIT";
    case SIGSEGV: return "SIGSEGV";
    case SIGSYS: return "SIGSYS";
    case SIGTERM: return "SIGTERM";
    case SIGTRAP: return "SIGTRAP";
    case SIGUSR1: return "SIGUSR1";
    case SIGUSR2: return "SIGUSR2";
    case SIGXCPU: return "SIGXCPU";
    case SIGXFSZ: return "SIGXFSZ";
    default: return nullptr;
    }
}

inline std::string describe_status(int status) {
    if (WIFEXITED(status)) {
        return "exited with code " + std::to_string(WEXITSTATUS(status));
    }
    if (WIFSIGNALED(status)) {
        const int sig = WTERMSIG(status);
        const char* name = signal_name(sig);
        return "was killed by signal " + std::to_string(sig) +
               (name != nullptr ? " (" + std::string(name) + ")" : std::string());
    }
    return "wait status " + std::to_string(status);
}

inline std::string describe_duration(std::chrono::milliseconds d) {
    if (d.count() % 1000 == 0) {
        return std::to_string(d.count() / 1000) + " s";
    }
    return std::to_string(d.count()) + " ms";
}

// The children of one process check and the parent's ends of their channels.
// Every wait is bounded by the step timeout. On any failure -- a child that
// ends, throws, answers out of protocol or not at all, or an exception
// anywhere in the parent (the destructor) -- every child still running is
// killed with SIGKILL and every child is reaped before the exception leaves,
// so no child outlives the check.
class child_group {
public:
    using clock = std::chrono::steady_clock;

    child_group(std::string check, std::chrono::milliseconds step_timeout)
        : check_(std::move(check)), timeout_(std::max(step_timeout, std::chrono::milliseconds(1))) {
    }
    child_group(const child_group&) = delete;
    child_group& operator=(const child_group&) = delete;
    ~child_group() { kill_all(); }

    // Forks a child that runs `body(fd)`, fd being its end of the channel. The
    // child always ends in _exit: 0 when body returns, 1 (after sending an 'E'
    // frame with the message) when it throws. It never returns into the
    // caller, so no destructor or test framework code of the parent runs in it.
    template <class Body>
    void spawn(Body body) {
        children_.reserve(children_.size() + 1); // so the push_back after fork() cannot throw
        int sv[2];
        if (::socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0) {
            const int e = errno;
            throw law_violation(check_ + ": socketpair() failed: " + errno_text(e));
        }
        for (const int fd : sv) {
            set_cloexec(fd);
#if defined(SO_NOSIGPIPE)
            int one = 1;
            ::setsockopt(fd, SOL_SOCKET, SO_NOSIGPIPE, &one, sizeof one);
#endif
        }
        const pid_t parent = ::getpid();
        std::fflush(nullptr); // or the child could write the parent's pending output again
        const pid_t pid = ::fork();
        if (pid < 0) {
            const int e = errno;
            ::close(sv[0]);
            ::close(sv[1]);
            throw law_violation(check_ + ": fork() failed: " + errno_text(e));
        }
        if (pid == 0) {
            ::close(sv[0]);
            for (const auto& c : children_) {
                ::close(c.fd);
            }
#if defined(__linux__)
            // Die with the parent (e.g. when a test runner's timeout kills it).
            ::prctl(PR_SET_PDEATHSIG, SIGKILL);
            if (::getppid() != parent) {
                ::_exit(1);
            }
#else
            static_cast<void>(parent);
#endif
            run_child(sv[1], body);
        }
        ::close(sv[1]);
        children_.push_back(child{pid, sv[0], {}, false, false, 0});
    }

    // Sends `command` to every child. A child whose channel is closed fails
    // the check.
    void broadcast(char command, const std::string& step) {
        for (std::size_t i = 0; i < children_.size(); ++i) {
            for (;;) {
                const auto w =
                    ::send(children_[i].fd, &command, 1, channel_send_flags | MSG_DONTWAIT);
                if (w == 1) {
                    break;
                }
                const int e = w < 0 ? errno : EIO;
                if (e == EINTR) {
                    continue;
                }
                if (e == EPIPE || e == ECONNRESET) {
                    fail_child(i, step, "ended before it was sent the command", then::let_it_exit);
                }
                fail_child(i, step, "could not be sent the command: " + errno_text(e),
                           then::kill_it);
            }
        }
    }

    // Waits for the next frame of every child, all within one step timeout,
    // and returns them by child index. Each must have a tag in `tags` and a
    // body of `body_size` bytes.
    std::vector<frame> gather(const std::string& step, std::string_view tags,
                              std::size_t body_size) {
        const auto deadline = clock::now() + timeout_;
        std::vector<frame> got(children_.size());
        std::vector<bool> have(children_.size(), false);
        std::size_t missing = children_.size();
        auto take = [&](std::size_t i) {
            auto f = take_frame(i, step);
            if (!f) {
                return;
            }
            if (f->tag == 'E') {
                fail_child(i, step, "threw: " + f->body, then::let_it_exit);
            }
            if (tags.find(f->tag) == std::string_view::npos || f->body.size() != body_size) {
                fail_child(i, step, "answered out of protocol", then::kill_it);
            }
            got[i] = std::move(*f);
            have[i] = true;
            --missing;
        };
        for (std::size_t i = 0; i < children_.size(); ++i) {
            take(i);
        }
        std::vector<::pollfd> fds;
        std::vector<std::size_t> who;
        while (missing > 0) {
            fds.clear();
            who.clear();
            for (std::size_t i = 0; i < children_.size(); ++i) {
                if (!have[i]) {
                    fds.push_back(::pollfd{children_[i].fd, POLLIN, 0});
                    who.push_back(i);
                }
            }
            if (poll_until(fds, deadline) == 0) {
                fail_child(who.front(), step, "no answer within " + describe_duration(timeout_),
                           then::kill_it);
            }
            for (std::size_t k = 0; k < fds.size(); ++k) {
                if (fds[k].revents != 0) {
                    if (!read_some(who[k], step)) {
                        fail_child(who[k], step, "ended without answering", then::let_it_exit);
                    }
                    take(who[k]);
                }
            }
        }
        return got;
    }

    // Waits (one step timeout) for every child to close its channel and exit;
    // each must exit with code 0 and send nothing more.
    void finish(const std::string& step) {
        const auto deadline = clock::now() + timeout_;
        std::vector<bool> closed(children_.size(), false);
        std::vector<::pollfd> fds;
        std::vector<std::size_t> who;
        for (;;) {
            fds.clear();
            who.clear();
            for (std::size_t i = 0; i < children_.size(); ++i) {
                if (!closed[i]) {
                    fds.push_back(::pollfd{children_[i].fd, POLLIN, 0});
                    who.push_back(i);
                }
            }
            if (fds.empty()) {
                break;
            }
            if (poll_until(fds, deadline) == 0) {
                fail_child(who.front(), step, "did not exit within " + describe_duration(timeout_),
                           then::kill_it);
            }
            for (std::size_t k = 0; k < fds.size(); ++k) {
                if (fds[k].revents == 0) {
                    continue;
                }
                const std::size_t i = who[k];
                closed[i] = !read_some(i, step);
                if (auto f = take_frame(i, step)) {
                    if (f->tag == 'E') {
                        fail_child(i, step, "threw: " + f->body, then::let_it_exit);
                    }
                    fail_child(i, step, "answered out of protocol", then::kill_it);
                }
            }
        }
        // A child that closed its channel is exiting; give it one more step.
        const auto reap_deadline = clock::now() + timeout_;
        for (std::size_t i = 0; i < children_.size(); ++i) {
            auto& c = children_[i];
            if (!reap_until(c, reap_deadline)) {
                fail_child(i, step,
                           "closed its channel but did not exit within " +
                               describe_duration(timeout_),
                           then::kill_it);
            }
            if (!c.status_known || !WIFEXITED(c.status) || WEXITSTATUS(c.status) != 0) {
                fail_child(i, step, "did not exit cleanly", then::let_it_exit);
            }
        }
    }

    // Throws law_violation("storage law broken: " + law), after killing and
    // reaping the children, unless `ok`.
    void require(bool ok, const std::string& law) {
        if (!ok) {
            kill_all();
            throw law_violation("storage law broken: " + law);
        }
    }

private:
    struct child {
        pid_t pid = -1;
        int fd = -1;    // the parent's end of the channel, -1 once closed
        std::string in; // bytes received and not yet taken as a frame
        bool reaped = false;
        bool status_known = false;
        int status = 0; // from waitpid, when status_known
    };

    enum class then { kill_it, let_it_exit };

    template <class Body>
    [[noreturn]] static void run_child(int fd, Body& body) noexcept {
        int code = 0;
        try {
            body(fd);
        } catch (const std::exception& e) {
            code = 1;
            report_exception(fd, e.what());
        } catch (...) {
            code = 1;
            report_exception(fd, "an exception not derived from std::exception");
        }
        ::_exit(code);
    }

    static void report_exception(int fd, std::string_view what) noexcept {
        try {
            send_frame(fd, 'E', what.substr(0, max_error_text));
        } catch (...) {
            // The parent is gone or the channel broke: the exit code still tells.
        }
    }

    // Returns poll()'s count of ready descriptors, 0 once `deadline` passed.
    int poll_until(std::vector<::pollfd>& fds, clock::time_point deadline) {
        for (;;) {
            const auto left =
                std::chrono::ceil<std::chrono::milliseconds>(deadline - clock::now()).count();
            const int ms = static_cast<int>(
                std::clamp<long long>(static_cast<long long>(left), 0, 24 * 3600 * 1000));
            const int n = ::poll(fds.data(), static_cast<::nfds_t>(fds.size()), ms);
            if (n > 0 || (n == 0 && ms == 0)) {
                return n;
            }
            if (n < 0 && errno != EINTR) {
                const int e = errno;
                kill_all();
                throw law_violation(check_ + ": poll() failed: " + errno_text(e));
            }
        }
    }

    // Reads what child i sent. Returns false at end of file (the child closed
    // its channel, normally by ending).
    bool read_some(std::size_t i, const std::string& step) {
        char buf[4096];
        for (;;) {
            const auto r = ::recv(children_[i].fd, buf, sizeof buf, MSG_DONTWAIT);
            if (r > 0) {
                children_[i].in.append(buf, static_cast<std::size_t>(r));
                return true;
            }
            if (r == 0) {
                return false;
            }
            const int e = errno;
            if (e == EINTR) {
                continue;
            }
            if (e == EAGAIN || e == EWOULDBLOCK) {
                return true;
            }
            if (e == ECONNRESET) {
                return false;
            }
            fail_child(i, step, "its channel failed: " + errno_text(e), then::kill_it);
        }
    }

    // Removes and returns the first complete frame child i sent, if any.
    std::optional<frame> take_frame(std::size_t i, const std::string& step) {
        auto& in = children_[i].in;
        std::uint32_t n = 0;
        if (in.size() < 1 + sizeof n) {
            return std::nullopt;
        }
        std::memcpy(&n, in.data() + 1, sizeof n);
        if (n > max_frame_body) {
            fail_child(i, step, "answered out of protocol", then::kill_it);
        }
        if (in.size() < 1 + sizeof n + n) {
            return std::nullopt;
        }
        frame f{in[0], in.substr(1 + sizeof n, n)};
        in.erase(0, 1 + sizeof n + n);
        return f;
    }

    // Collects c's exit status without blocking past `deadline`. Returns
    // false if c is still running then.
    static bool reap_until(child& c, clock::time_point deadline) {
        auto nap = std::chrono::microseconds(200);
        while (!c.reaped) {
            int status = 0;
            const pid_t r = ::waitpid(c.pid, &status, WNOHANG);
            if (r == c.pid) {
                c.reaped = true;
                c.status_known = true;
                c.status = status;
            } else if (r < 0 && errno != EINTR) {
                c.reaped = true; // ECHILD: reaped elsewhere (SIGCHLD ignored?)
            } else if (r == 0) {
                if (clock::now() >= deadline) {
                    return false;
                }
                std::this_thread::sleep_for(nap);
                nap = std::min(nap * 2, std::chrono::microseconds(20000));
            }
        }
        return true;
    }

    static void reap(child& c) noexcept {
        while (!c.reaped) {
            int status = 0;
            const pid_t r = ::waitpid(c.pid, &status, 0);
            if (r == c.pid) {
                c.reaped = true;
                c.status_known = true;
                c.status = status;
            } else if (r < 0 && errno != EINTR) {
                c.reaped = true;
            }
        }
    }

    static std::string describe(const child& c) {
        return c.status_known ? "the child " + describe_status(c.status)
                              : std::string("the child's exit status is unavailable: it was "
                                            "reaped elsewhere (is SIGCHLD ignored?)");
    }

    // Throws law_violation naming child i, the step, `how` it failed and its
    // exit status, after killing and reaping every child. With let_it_exit
    // the child is given one step timeout to end by itself first (it closed
    // its channel or reported an exception, so it is on its way out).
    [[noreturn]] void fail_child(std::size_t i, const std::string& step, const std::string& how,
                                 then next) {
        auto& c = children_[i];
        std::string status;
        if (c.reaped) {
            status = describe(c);
        } else if (next == then::let_it_exit && reap_until(c, clock::now() + timeout_)) {
            status = describe(c);
        } else {
            ::kill(c.pid, SIGKILL);
            reap(c);
            status = next == then::let_it_exit
                         ? "the child did not exit within " + describe_duration(timeout_) +
                               " and was killed with SIGKILL"
                         : "the child was then killed with SIGKILL";
        }
        std::string what = check_ + ": child " + std::to_string(i) + " of " +
                           std::to_string(children_.size()) + " (pid " +
                           std::to_string(static_cast<long long>(c.pid)) + "), " + step + ": " +
                           how + "; " + status;
        kill_all();
        throw law_violation(what);
    }

    void kill_all() noexcept {
        for (auto& c : children_) {
            if (c.fd >= 0) {
                ::close(c.fd);
                c.fd = -1;
            }
            if (!c.reaped) {
                ::kill(c.pid, SIGKILL);
            }
        }
        for (auto& c : children_) {
            reap(c);
        }
    }

    std::string check_;
    std::chrono::milliseconds timeout_;
    std::vector<child> children_;
};

inline std::set<std::string> atoms_in(const std::vector<key_value>& kvs) {
    std::set<std::string> out;
    for (const auto& kv : kvs) {
        const std::string v = str(kv.value);
        std::size_t start = 0;
        while (start < v.size()) {
            auto end = v.find('\n', start);
            if (end == std::string::npos) {
                end = v.size();
            }
            if (end > start) {
                out.insert(v.substr(start, end - start));
            }
            start = end + 1;
        }
    }
    return out;
}

} // namespace testing_detail::storage_suite

/// Effects: checks L8 across processes: `processes` forked children share the
///   store; each repeatedly saves a content-addressed delta, loads the range,
///   saves a content-addressed snapshot of everything it loaded and removes
///   the keys it loaded (never the one it just wrote) -- the library's
///   compaction rule. Afterwards nothing any child wrote may be missing.
///   Each child reports after opening the store and after each round; the
///   parent waits at most `step_timeout` for every child's next report (and,
///   at the end, for every child to exit with code 0).
/// Requires: `open` was not called in this process yet (see the file
///   comment); processes >= 1, rounds >= 0.
/// Throws: law_violation naming the broken law; or, when a child fails,
///   naming the child, its pid, the round or step, and how it failed: the
///   message of an exception it threw, its exit code or the signal that
///   killed it, or "no answer within <step_timeout>". Every child has been
///   killed and reaped by then.
template <class Open>
void check_storage_processes(
    Open open, int processes = 2, int rounds = 25,
    std::chrono::milliseconds step_timeout = default_process_step_timeout) {
    using namespace testing_detail::storage_suite;
    const storage_key base{"mp"};
    child_group group("check_storage_processes", step_timeout);
    for (int p = 0; p < processes; ++p) {
        group.spawn([&, p](int fd) {
            auto s = open();
            send_frame(fd, 'H', {});
            for (int r = 0; r < rounds; ++r) {
                const std::string atom = "p" + std::to_string(p) + "-" + std::to_string(r);
                s->save(base / "delta" / hex64(fnv1a(atom)), b(atom));
                const auto loaded = s->load_range(base);
                const auto atoms = atoms_in(loaded);
                std::string snapshot;
                for (const auto& a : atoms) {
                    snapshot += a + "\n";
                }
                const storage_key snap_key = base / "snap" / hex64(fnv1a(snapshot));
                s->save(snap_key, b(snapshot));
                for (const auto& kv : loaded) {
                    if (kv.key != snap_key) {
                        s->remove(kv.key);
                    }
                }
                send_frame(fd, 'P', {});
            }
            s->flush();
            send_frame(fd, 'D', {});
        });
    }
    group.gather("step open", "H", 0);
    for (int r = 0; r < rounds; ++r) {
        group.gather("round " + std::to_string(r) + " (save, load_range, save, remove)", "P", 0);
    }
    group.gather("step flush", "D", 0);
    group.finish("step exit");
    auto s = open();
    const auto atoms = atoms_in(s->load_range(base));
    for (int p = 0; p < processes; ++p) {
        for (int r = 0; r < rounds; ++r) {
            require(atoms.count("p" + std::to_string(p) + "-" + std::to_string(r)) == 1,
                    "L8: a value written by one process was lost while another compacted");
        }
    }
    s->remove_range({});
    s->flush();
}

/// Effects: checks the CAS law across processes: `processes` forked children
///   race for one root pointer for `rounds` rounds. In each round every
///   child first reads the current version (the parent waits for all reads),
///   then all call cas() with it at once; exactly one must win, and the root
///   must then hold the winner's bytes under the winner's version. Each step
///   (open, each round's read and cas, exit) is bounded: the parent waits at
///   most `step_timeout` for every child's answer.
/// Requires: cas_storage<S>; `open` not yet called in this process;
///   processes >= 1, rounds >= 1.
/// Throws: law_violation naming the broken law and round; or, when a child
///   fails, naming the child, its pid, the round and step, and how it
///   failed: the message of an exception it threw, its exit code or the
///   signal that killed it, or "no answer within <step_timeout>". Every
///   child has been killed and reaped by then.
template <class Open>
void check_cas_race_processes(
    Open open, int processes = 8, int rounds = 8,
    std::chrono::milliseconds step_timeout = default_process_step_timeout) {
    using namespace testing_detail::storage_suite;
    const storage_key root{"race", "root"};
    child_group group("check_cas_race_processes", step_timeout);
    for (int p = 0; p < processes; ++p) {
        group.spawn([&, p](int fd) {
            auto s = open();
            check_cas_storage<std::remove_reference_t<decltype(*s)>>();
            send_frame(fd, 'H', {});
            std::uint64_t version = 0;
            int round = 0;
            while (const auto cmd = receive_command(fd)) {
                if (*cmd == 'R') {
                    const auto cur = s->load_versioned(root);
                    version = cur ? cur->version : 0;
                    send_frame(fd, 'V', encode_u64(version));
                } else if (*cmd == 'C') {
                    const std::string mine =
                        "child " + std::to_string(p) + " round " + std::to_string(round++);
                    const auto won = s->cas(root, version, b(mine));
                    send_frame(fd, won ? 'W' : 'L', encode_u64(won ? *won : 0));
                } else {
                    return; // 'Q'
                }
            }
        });
    }
    group.gather("step open", "H", 0);
    int winner = -1;
    std::uint64_t winner_version = 0;
    for (int r = 0; r < rounds; ++r) {
        const std::string at = "round " + std::to_string(r);
        group.broadcast('R', at + ", step read (load_versioned)");
        const auto reads = group.gather(at + ", step read (load_versioned)", "V", 8);
        std::set<std::uint64_t> versions;
        for (const auto& f : reads) {
            versions.insert(decode_u64(f.body));
        }
        group.require(versions.size() == 1, "cas race: in " + at +
                                                " the children read different versions with "
                                                "no writer running");
        group.broadcast('C', at + ", step cas");
        const auto results = group.gather(at + ", step cas", "WL", 8);
        int winners = 0;
        for (std::size_t i = 0; i < results.size(); ++i) {
            if (results[i].tag == 'W') {
                ++winners;
                winner = static_cast<int>(i);
                winner_version = decode_u64(results[i].body);
            }
        }
        group.require(winners == 1, "cas race: " + std::to_string(winners) + " processes won " +
                                        at + " (exactly one must)");
    }
    group.broadcast('Q', "step quit");
    group.finish("step exit");
    auto s = open();
    const auto v = s->load_versioned(root);
    require(v && v->version == winner_version &&
                str(v->value) ==
                    "child " + std::to_string(winner) + " round " + std::to_string(rounds - 1),
            "cas race: the root holds the last winner's bytes and version");
    s->remove_range({});
    s->flush();
}

/// Effects: the CAS race of check_cas_race_processes with threads sharing one
///   handle (for adapters a single process owns, such as log_storage).
template <class Open>
void check_cas_race_threads(Open open, int threads = 8, int rounds = 20) {
    using namespace testing_detail::storage_suite;
    auto s = open();
    s->remove_range({});
    const storage_key root{"race", "root"};
    std::atomic<bool> failed{false};
    std::vector<int> per_round(static_cast<std::size_t>(rounds), 0);
    std::mutex m;
    std::barrier sync(threads);
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t) {
        pool.emplace_back([&, t] {
            for (int r = 0; r < rounds; ++r) {
                std::uint64_t v = 0;
                try {
                    const auto cur = s->load_versioned(root);
                    v = cur ? cur->version : 0;
                } catch (...) {
                    failed = true;
                }
                sync.arrive_and_wait(); // everyone has read before anyone writes
                try {
                    if (!failed &&
                        s->cas(root, v, b("t" + std::to_string(t) + " r" + std::to_string(r)))) {
                        std::lock_guard lock(m);
                        ++per_round[static_cast<std::size_t>(r)];
                    }
                } catch (...) {
                    failed = true;
                }
                sync.arrive_and_wait(); // round over before the next read
            }
        });
    }
    for (auto& th : pool) {
        th.join();
    }
    require(!failed, "cas race: cas threw under concurrency");
    for (int r = 0; r < rounds; ++r) {
        require(per_round[static_cast<std::size_t>(r)] == 1,
                "cas race: exactly one thread must win each round (round " + std::to_string(r) +
                    " had " + std::to_string(per_round[static_cast<std::size_t>(r)]) + ")");
    }
    s->remove_range({});
}

} // namespace testing
CRDT_END_NAMESPACE
