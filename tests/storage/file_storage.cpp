#include <crdt/storage/file_storage.hpp>
#include <crdt/storage/memory_storage.hpp>
#include <crdt/testing/storage_conformance.hpp>

#include <catch2/catch.hpp>

#include "crash_model.hpp"
#include "helpers.hpp"

#include <fstream>
#include <memory>

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

using namespace storage_test;
using crdt::file_storage;
using crdt::storage_key;
namespace fs = std::filesystem;
namespace ds = crdt::detail::storage;

namespace {

template <class S>
void run_step(S& s, model_state& m, int i) {
    const storage_key k{"ws", "doc" + std::to_string(i % 3), std::to_string(i % 5)};
    if (i % 4 == 3) {
        s.remove(k);
        m.kv.erase(k);
    } else {
        s.save(k, bytes(value_for(i)));
        m.kv[k] = bytes(value_for(i));
    }
}

template <class Fn>
crdt::error expect_error(Fn fn) {
    try {
        fn();
    } catch (const crdt::error& e) {
        return e;
    }
    FAIL("expected crdt::error");
    throw std::logic_error("unreachable");
}

void write_bytes(const fs::path& p, const std::string& content) {
    std::ofstream(p, std::ios::binary | std::ios::trunc) << content;
}

} // namespace

namespace {
void file_conformance(crdt::durability level) {
    temp_dir dir;
    auto open = [&] {
        return std::make_unique<file_storage>(dir.path(), file_storage::options{level});
    };
    REQUIRE_NOTHROW(crdt::testing::check_storage_laws(open));
}
} // namespace

TEST_CASE("file_storage passes the conformance suite at durability full") {
    file_conformance(crdt::durability::full);
}

TEST_CASE("file_storage passes the conformance suite at durability normal and none") {
    file_conformance(crdt::durability::normal);
    file_conformance(crdt::durability::none);
}

TEST_CASE("file_storage passes the concurrency checks in one process") {
    temp_dir dir;
    auto open = [&] {
        return std::make_unique<file_storage>(dir.path(),
                                              file_storage::options{crdt::durability::none});
    };
    REQUIRE_NOTHROW(crdt::testing::check_storage_threads(open, 4, 80));
    REQUIRE_NOTHROW(crdt::testing::check_cas_race_threads(open, 8, 10));
}

TEST_CASE("file_storage: two processes compacting concurrently lose nothing") {
    temp_dir dir;
    auto open = [&] {
        return std::make_unique<file_storage>(dir.path(),
                                              file_storage::options{crdt::durability::none});
    };
    REQUIRE_NOTHROW(crdt::testing::check_storage_processes(open, 2, 25));
}

TEST_CASE("file_storage: 8 processes racing for a root pointer, one winner per round") {
    temp_dir dir;
    auto open = [&] {
        return std::make_unique<file_storage>(dir.path(),
                                              file_storage::options{crdt::durability::normal});
    };
    REQUIRE_NOTHROW(crdt::testing::check_cas_race_processes(open, 8, 6));
}

TEST_CASE("file_storage models its capabilities") {
    STATIC_REQUIRE(crdt::storage<file_storage>);
    STATIC_REQUIRE(crdt::cas_storage<file_storage>);
    STATIC_REQUIRE(crdt::key_listing_storage<file_storage>);
    STATIC_REQUIRE_FALSE(crdt::batch_storage<file_storage>);
}

TEST_CASE("file_storage escapes segments into unique, portable names") {
    namespace fl = ds::file_layout;
    CHECK(fl::escape("abc-_09") == "abc-_09");
    CHECK(fl::escape("A") == "%41");
    CHECK(fl::escape("") == "%");
    CHECK(fl::escape("..") == "%2E%2E");
    CHECK(fl::escape("a/b") == "a%2Fb");
    CHECK(fl::escape(std::string(200, 'x')).starts_with("~"));
    std::string out;
    CHECK(fl::unescape("a%2Fb", out) == fl::name_kind::plain);
    CHECK(out == "a/b");
    CHECK(fl::unescape("a (conflicted copy)", out) == fl::name_kind::foreign);
    CHECK(fl::unescape("%61", out) == fl::name_kind::foreign); // 'a' must not be escaped
    CHECK(fl::unescape("%4", out) == fl::name_kind::foreign);
    temp_dir dir;
    file_storage s(dir.path());
    const storage_key long_key{"doc", std::string(300, '\x01'), "tail"};
    s.save(long_key, bytes("long"));
    CHECK(s.load(long_key) == bytes("long"));
    CHECK(s.list_keys(storage_key{"doc"}) == std::vector<storage_key>{long_key});
    CHECK(s.load_range(storage_key{"doc", std::string(300, '\x01')}).size() == 1);
    CHECK(s.path_of(storage_key{"Doc", "x"}).filename() == "x.v");
}

TEST_CASE("file_storage crash: stray and torn temporaries at every byte offset") {
    // A crash while writing a temporary leaves a prefix of it behind; the
    // target keeps its old value, and open removes the stray file.
    temp_dir dir;
    const storage_key k{"doc", "root"};
    fs::path target;
    crdt::storage_bytes new_file;
    {
        file_storage s(dir.path(), {crdt::durability::none});
        s.save(k, bytes("new value that is being written"));
        target = s.path_of(k);
        new_file = *ds::read_file(target);
        s.save(k, bytes("old value"));
    }
    // A temporary of a process that no longer exists: pid 2^22+1 is above
    // the default pid_max of 2^22.
    const auto stray = fs::path(target.string() + ".tmp.4194305.7");
    for (std::size_t cut = 0; cut <= new_file.size(); ++cut) {
        CAPTURE(cut);
        {
            auto fd = ds::open_file(stray, O_WRONLY | O_CREAT | O_TRUNC);
            ds::write_all(fd.get(), std::span(new_file).first(cut), stray);
        }
        file_storage s(dir.path(), {crdt::durability::none});
        CHECK(s.load(k) == bytes("old value"));
        CHECK_FALSE(fs::exists(stray));
    }
    // The target itself cut short (a sync service's partial copy, or a
    // power loss at durability none): an error naming the file, never a
    // torn value.
    for (std::size_t cut = 0; cut < new_file.size(); ++cut) {
        CAPTURE(cut);
        write_bytes(target, text(new_file).substr(0, cut));
        file_storage s(dir.path(), {crdt::durability::none});
        const auto e = expect_error([&] { (void)s.load(k); });
        CHECK(std::string(e.what()).find(target.filename().string()) != std::string::npos);
        CHECK_THROWS_AS(s.load_range(storage_key{"doc"}), crdt::error);
    }
}

namespace {

// Crashes at every I/O step of a workload that creates the store, its shard
// and key directories, replaces and removes values; after the crash every
// file loses what was not synced, and every directory change (directories,
// temporaries, renames, unlinks) not followed by a sync of its directory is
// undone (lose) or kept. The reopened store must hold every durable value:
// each acknowledged step at durability full, the steps before the last
// flush() (every 5th step) at normal.
void crash_loop(crdt::durability level, ds::directory_changes outcome) {
    constexpr int steps = 16;
    std::vector<model_state> states(1);
    {
        crdt::memory_storage mem;
        model_state m;
        for (int i = 0; i < steps; ++i) {
            run_step(mem, m, i);
            states.push_back(m);
        }
    }
    for (long crash_at = 0;; ++crash_at) {
        CAPTURE(crash_at);
        temp_dir dir;
        const auto root = dir / "store"; // created by the store
        std::size_t durable = 0;
        std::size_t done = 0;
        ds::fault_plan plan(crash_at);
        plan.watch_tree(dir.path());
        plan.install();
        bool crashed = false;
        try {
            file_storage s(root, {level});
            model_state m;
            for (int i = 0; i < steps; ++i) {
                run_step(s, m, i);
                done = static_cast<std::size_t>(i) + 1;
                if (level == crdt::durability::full) {
                    durable = done;
                } else if (i % 5 == 4) {
                    s.flush();
                    durable = done;
                }
            }
        } catch (const ds::simulated_crash&) {
            crashed = true;
        }
        ds::fault_plan::uninstall();
        if (!crashed) {
            CHECK(crash_at > 30);
            return;
        }
        plan.drop_unsynced(outcome);
        if (fs::exists(root)) {
            remove_temporaries(root);
        }
        file_storage s(root, {level});
        const auto got = read_state(s);
        INFO("durable " << durable << ", acknowledged " << done);
        if (level == crdt::durability::full) {
            REQUIRE(matches_prefix(got, states, durable, done));
        } else {
            // At normal each key's directory is synced on its own (by
            // flush), so a power loss before flush() returns may keep a
            // newer write and lose an older one in another directory:
            // only per key is it a prefix.
            REQUIRE(matches_per_key(got, states, durable, done));
        }
    }
}

} // namespace

TEST_CASE("file_storage crash: a power loss drops unsynced data and directory changes") {
    for (auto level : {crdt::durability::full, crdt::durability::normal}) {
        CAPTURE(crdt::to_string(level));
        crash_loop(level, ds::directory_changes::lose);
    }
}

TEST_CASE("file_storage crash: a power loss drops unsynced data but keeps directory changes") {
    for (auto level : {crdt::durability::full, crdt::durability::normal}) {
        CAPTURE(crdt::to_string(level));
        crash_loop(level, ds::directory_changes::keep);
    }
}

TEST_CASE("file_storage crash: a write into a directory another writer has not synced survives") {
    // Writer a (durability normal, not flushed) creates the directories of a
    // key; writer b (full) then saves a key in the same directory. A power
    // loss may undo a's directories, but b's acknowledged write must stay.
    temp_dir dir;
    const auto root = dir / "store";
    { file_storage init(root); } // the root and data/ exist and are durable
    ds::fault_plan plan(-1);
    plan.watch_tree(dir.path());
    plan.install();
    {
        file_storage a(root, {crdt::durability::normal});
        file_storage b(root, {crdt::durability::full});
        a.save(storage_key{"doc", "x", "1"}, bytes("from a"));
        b.save(storage_key{"doc", "x", "2"}, bytes("from b"));
    }
    ds::fault_plan::uninstall();
    plan.drop_unsynced(ds::directory_changes::lose);
    file_storage s(root);
    CHECK(s.load(storage_key{"doc", "x", "2"}) == bytes("from b"));
}

TEST_CASE("file_storage: a flush that fails keeps the unsynced directories for the next one") {
    temp_dir dir;
    file_storage s(dir / "store", {crdt::durability::normal});
    s.save(storage_key{"a", "x"}, bytes("1"));
    s.save(storage_key{"b", "y"}, bytes("2"));
    {
        ds::fault_plan crash(0); // the flush's first directory sync fails
        crash.install();
        CHECK_THROWS_AS(s.flush(), ds::simulated_crash);
        ds::fault_plan::uninstall();
    }
    ds::fault_plan count(-1);
    count.install();
    s.flush();
    ds::fault_plan::uninstall();
    CHECK(count.steps() >= 2); // every queued directory, none dropped
    ds::fault_plan again(-1);
    again.install();
    s.flush();
    ds::fault_plan::uninstall();
    CHECK(again.steps() == 0); // and now nothing is left
}

TEST_CASE("file_storage bad input is a clear crdt::error") {
    temp_dir dir;
    SECTION("garbage in a value file") {
        file_storage s(dir.path(), {crdt::durability::none});
        s.save(storage_key{"k"}, bytes("v"));
        write_bytes(s.path_of(storage_key{"k"}), "garbage that is not a value file");
        CHECK(expect_error([&] { (void)s.load(storage_key{"k"}); }).cause() ==
              crdt::errc::bad_magic);
    }
    SECTION("a value file from a future version") {
        file_storage s(dir.path(), {crdt::durability::none});
        s.save(storage_key{"k"}, bytes("v"));
        auto b = *ds::read_file(s.path_of(storage_key{"k"}));
        b[4] = std::byte{7};
        ds::write_file_atomic(s.path_of(storage_key{"k"}), b, false, false);
        CHECK(expect_error([&] { (void)s.load(storage_key{"k"}); }).cause() ==
              crdt::errc::unsupported_version);
    }
    SECTION("a value file moved to another key's name") {
        file_storage s(dir.path(), {crdt::durability::none});
        s.save(storage_key{"a"}, bytes("v"));
        s.save(storage_key{"b"}, bytes("w"));
        fs::copy_file(s.path_of(storage_key{"a"}), s.path_of(storage_key{"b"}),
                      fs::copy_options::overwrite_existing);
        CHECK(expect_error([&] { (void)s.load(storage_key{"b"}); }).cause() ==
              crdt::errc::invalid_value);
    }
    SECTION("foreign files are ignored") {
        file_storage s(dir.path(), {crdt::durability::none});
        s.save(storage_key{"doc", "x"}, bytes("v"));
        const auto p = s.path_of(storage_key{"doc", "x"});
        write_bytes(p.parent_path() / "x (conflicted copy).v", "junk");
        write_bytes(p.parent_path() / ".DS_Store", "junk");
        CHECK(s.load_range({}).size() == 1);
    }
    SECTION("wrong FORMAT file") {
        { file_storage s(dir.path()); }
        write_bytes(dir / "FORMAT", "something else\n");
        CHECK(expect_error([&] { file_storage s(dir.path()); }).cause() == crdt::errc::bad_magic);
        write_bytes(dir / "FORMAT", "crdt-file-storage 2\n");
        CHECK(expect_error([&] { file_storage s(dir.path()); }).cause() ==
              crdt::errc::unsupported_version);
    }
    SECTION("a root that is a file") {
        write_bytes(dir / "file", "x");
        CHECK(expect_error([&] { file_storage s(dir / "file"); }).cause() == crdt::errc::io_error);
    }
    SECTION("an unreadable directory") {
        { file_storage s(dir / "store"); }
        ::chmod((dir / "store" / "data").c_str(), 0);
        // Root ignores permissions, so check as an unprivileged user.
        const pid_t pid = ::fork();
        if (pid == 0) {
            if (::geteuid() == 0 && ::setuid(65534) != 0) {
                ::_exit(3);
            }
            try {
                file_storage s(dir / "store");
                (void)s.load_range({});
            } catch (const crdt::error& e) {
                ::_exit(e.cause() == crdt::errc::io_error ? 0 : 2);
            }
            ::_exit(1);
        }
        int status = 0;
        ::waitpid(pid, &status, 0);
        CHECK((WIFEXITED(status) && WEXITSTATUS(status) == 0));
    }
}
