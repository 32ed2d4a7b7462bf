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
// across fork), and is called in the children.
//
// Thread safety: run one checker at a time per store.
#pragma once

#include <crdt/core/config.hpp>
#include <crdt/storage/concepts.hpp>
#include <crdt/storage/key.hpp>
#include <crdt/testing/laws.hpp>

#include <algorithm>
#include <atomic>
#include <barrier>
#include <cerrno>
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

#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

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

namespace testing_detail::storage_suite {

// Runs `body()` in a child process; returns its pid. The child exits 0 on
// success, 1 (after printing the reason to stderr) on failure.
template <class Body>
pid_t spawn(Body body) {
    const pid_t pid = ::fork();
    if (pid < 0) {
        throw law_violation("fork() failed");
    }
    if (pid == 0) {
        int code = 0;
        try {
            body();
        } catch (const std::exception& e) {
            std::fprintf(stderr, "crdt storage conformance child %d: %s\n",
                         static_cast<int>(::getpid()), e.what());
            code = 1;
        } catch (...) {
            code = 1;
        }
        ::_exit(code);
    }
    return pid;
}

inline bool wait_ok(pid_t pid) {
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) {
            return false;
        }
    }
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

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
/// Requires: `open` was not called in this process yet (see the file comment).
template <class Open>
void check_storage_processes(Open open, int processes = 2, int rounds = 25) {
    using namespace testing_detail::storage_suite;
    const storage_key base{"mp"};
    std::vector<pid_t> pids;
    for (int p = 0; p < processes; ++p) {
        pids.push_back(spawn([&, p] {
            auto s = open();
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
            }
            s->flush();
        }));
    }
    bool ok = true;
    for (const auto pid : pids) {
        ok = wait_ok(pid) && ok;
    }
    require(ok, "L8: a child process failed (its error is on stderr)");
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

namespace testing_detail::storage_suite {

struct race_report {
    std::int32_t child;
    std::int32_t status; // 0 read, 1 won, 2 lost, -1 failed
    std::uint64_t version;
};

inline void write_all_fd(int fd, const void* p, std::size_t n) {
    const auto* c = static_cast<const char*>(p);
    while (n > 0) {
        const auto w = ::write(fd, c, n);
        if (w < 0) {
            if (errno == EINTR) {
                continue;
            }
            throw law_violation("pipe write failed");
        }
        c += w;
        n -= static_cast<std::size_t>(w);
    }
}

inline bool read_all_fd(int fd, void* p, std::size_t n) {
    auto* c = static_cast<char*>(p);
    while (n > 0) {
        const auto r = ::read(fd, c, n);
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r <= 0) {
            return false;
        }
        c += r;
        n -= static_cast<std::size_t>(r);
    }
    return true;
}

} // namespace testing_detail::storage_suite

/// Effects: checks the CAS law across processes: `processes` forked children
///   race for one root pointer for `rounds` rounds. In each round every
///   child first reads the current version (the parent waits for all reads),
///   then all call cas() with it at once; exactly one must win, and the root
///   must then hold the winner's bytes under the winner's version.
/// Requires: cas_storage<S>; `open` not yet called in this process.
template <class Open>
void check_cas_race_processes(Open open, int processes = 8, int rounds = 8) {
    using namespace testing_detail::storage_suite;
    const storage_key root{"race", "root"};
    int up[2];
    if (::pipe(up) != 0) {
        throw law_violation("pipe() failed");
    }
    std::vector<int> downs;
    std::vector<pid_t> pids;
    for (int p = 0; p < processes; ++p) {
        int down[2];
        if (::pipe(down) != 0) {
            throw law_violation("pipe() failed");
        }
        pids.push_back(spawn([&, p, down] {
            ::close(down[1]);
            ::close(up[0]);
            for (const int fd : downs) {
                ::close(fd);
            }
            auto s = open();
            check_cas_storage<std::remove_reference_t<decltype(*s)>>();
            std::uint64_t version = 0;
            int round = 0;
            char cmd = 0;
            while (read_all_fd(down[0], &cmd, 1) && cmd != 'Q') {
                race_report rep{p, 0, 0};
                try {
                    if (cmd == 'R') {
                        const auto cur = s->load_versioned(root);
                        version = cur ? cur->version : 0;
                        rep.version = version;
                    } else {
                        const std::string mine =
                            "child " + std::to_string(p) + " round " + std::to_string(round++);
                        const auto won = s->cas(root, version, b(mine));
                        rep.status = won ? 1 : 2;
                        rep.version = won ? *won : 0;
                    }
                } catch (const std::exception& e) {
                    std::fprintf(stderr, "crdt cas race child %d: %s\n", p, e.what());
                    rep.status = -1;
                }
                write_all_fd(up[1], &rep, sizeof rep);
            }
        }));
        ::close(down[0]);
        downs.push_back(down[1]);
    }
    ::close(up[1]);
    std::string failure;
    auto broadcast = [&](char c) {
        for (const int fd : downs) {
            write_all_fd(fd, &c, 1);
        }
    };
    struct round_result {
        int winner = -1;
        std::uint64_t version = 0;
    };
    round_result last;
    for (int r = 0; r < rounds && failure.empty(); ++r) {
        broadcast('R');
        std::set<std::uint64_t> versions;
        for (int i = 0; i < processes; ++i) {
            race_report rep{};
            if (!read_all_fd(up[0], &rep, sizeof rep) || rep.status != 0) {
                failure = "cas race: a child failed to read the root (see stderr)";
                break;
            }
            versions.insert(rep.version);
        }
        if (!failure.empty()) {
            break;
        }
        if (versions.size() != 1) {
            failure = "cas race: children read different versions with no writer running";
            break;
        }
        broadcast('C');
        int winners = 0;
        for (int i = 0; i < processes; ++i) {
            race_report rep{};
            if (!read_all_fd(up[0], &rep, sizeof rep) || rep.status < 0) {
                failure = "cas race: a child's cas threw (see stderr)";
                break;
            }
            if (rep.status == 1) {
                ++winners;
                last = {rep.child, rep.version};
            }
        }
        if (failure.empty() && winners != 1) {
            failure = "cas race: " + std::to_string(winners) +
                      " processes won one round (exactly one must)";
        }
    }
    broadcast('Q');
    for (const int fd : downs) {
        ::close(fd);
    }
    ::close(up[0]);
    bool ok = true;
    for (const auto pid : pids) {
        ok = wait_ok(pid) && ok;
    }
    require(failure.empty(), failure);
    require(ok, "cas race: a child process failed");
    auto s = open();
    const auto v = s->load_versioned(root);
    require(v && v->version == last.version &&
                str(v->value) ==
                    "child " + std::to_string(last.winner) + " round " + std::to_string(rounds - 1),
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
