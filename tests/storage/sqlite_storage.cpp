#include <crdt/storage/sqlite_storage.hpp>
#include <crdt/testing/storage_conformance.hpp>

#include <catch2/catch.hpp>

#include "helpers.hpp"

#include <algorithm>
#include <fstream>
#include <memory>
#include <stdexcept>

using namespace storage_test;
using crdt::sqlite_storage;
using crdt::storage_key;
namespace fs = std::filesystem;

namespace {

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
void sqlite_conformance(crdt::durability level, crdt::sqlite_journal journal) {
    temp_dir dir;
    auto open = [&] {
        return std::make_unique<sqlite_storage>(dir / "s.db",
                                                sqlite_storage::options{level, journal});
    };
    REQUIRE_NOTHROW(crdt::testing::check_storage_laws(open));
}
} // namespace

TEST_CASE("sqlite_storage passes the conformance suite at durability full") {
    sqlite_conformance(crdt::durability::full, crdt::sqlite_journal::wal);
}

TEST_CASE("sqlite_storage passes the conformance suite at durability normal and none") {
    sqlite_conformance(crdt::durability::normal, crdt::sqlite_journal::wal);
    sqlite_conformance(crdt::durability::none, crdt::sqlite_journal::wal);
}

TEST_CASE("sqlite_storage passes the conformance suite with a rollback journal") {
    sqlite_conformance(crdt::durability::full, crdt::sqlite_journal::truncate);
}

TEST_CASE("sqlite_storage passes the concurrency checks in one process") {
    temp_dir dir;
    auto open = [&] {
        return std::make_unique<sqlite_storage>(dir / "s.db",
                                                sqlite_storage::options{crdt::durability::normal});
    };
    REQUIRE_NOTHROW(crdt::testing::check_storage_threads(open, 4, 100));
    REQUIRE_NOTHROW(crdt::testing::check_cas_race_threads(open, 8, 10));
}

TEST_CASE("sqlite_storage: two processes compacting concurrently lose nothing") {
    temp_dir dir;
    auto open = [&] {
        return std::make_unique<sqlite_storage>(dir / "s.db",
                                                sqlite_storage::options{crdt::durability::normal});
    };
    REQUIRE_NOTHROW(crdt::testing::check_storage_processes(open, 2, 25));
}

TEST_CASE("sqlite_storage: 8 processes racing for a root pointer, one winner per round") {
    temp_dir dir;
    auto open = [&] {
        return std::make_unique<sqlite_storage>(dir / "s.db",
                                                sqlite_storage::options{crdt::durability::normal});
    };
    REQUIRE_NOTHROW(crdt::testing::check_cas_race_processes(open, 8, 6));
}

TEST_CASE("sqlite_storage models every capability") {
    STATIC_REQUIRE(crdt::batch_storage<sqlite_storage>);
    STATIC_REQUIRE(crdt::append_log_storage<sqlite_storage>);
    STATIC_REQUIRE(crdt::cas_storage<sqlite_storage>);
    STATIC_REQUIRE(crdt::watchable_storage<sqlite_storage>);
    STATIC_REQUIRE(crdt::key_listing_storage<sqlite_storage>);
}

TEST_CASE("sqlite_storage notices writes of other connections") {
    temp_dir dir;
    sqlite_storage a(dir / "s.db");
    sqlite_storage b(dir / "s.db");
    int external = 0;
    auto h = a.watch([&](const crdt::storage_change& c) {
        external += c.what == crdt::storage_change::kind::external ? 1 : 0;
    });
    CHECK_FALSE(a.poll_external_changes());
    b.save(storage_key{"x"}, bytes("1"));
    CHECK(a.poll_external_changes());
    CHECK(external == 1);
    CHECK(a.load(storage_key{"x"}) == bytes("1"));
    a.save(storage_key{"y"}, bytes("2"));
    CHECK_FALSE(a.poll_external_changes());
}

TEST_CASE("sqlite_storage bad input is a clear crdt::error") {
    temp_dir dir;
    SECTION("garbage file") {
        write_bytes(dir / "g.db", std::string(5000, 'g'));
        CHECK(expect_error([&] { sqlite_storage s(dir / "g.db"); }).cause() ==
              crdt::errc::bad_magic);
    }
    SECTION("another application's database") {
        {
            crdt::detail::storage::sqlite_connection db((dir / "o.db").string(),
                                                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
            db.exec("CREATE TABLE t(x)");
        }
        CHECK(expect_error([&] { sqlite_storage s(dir / "o.db"); }).cause() ==
              crdt::errc::bad_magic);
    }
    SECTION("a future schema version") {
        { sqlite_storage s(dir / "f.db"); }
        {
            crdt::detail::storage::sqlite_connection db((dir / "f.db").string(),
                                                        SQLITE_OPEN_READWRITE);
            db.exec("PRAGMA user_version = 7");
        }
        const auto e = expect_error([&] { sqlite_storage s(dir / "f.db"); });
        CHECK(e.cause() == crdt::errc::unsupported_version);
        CHECK(std::string(e.what()).find("version 7") != std::string::npos);
    }
    SECTION("a truncated database file") {
        {
            sqlite_storage s(dir / "t.db", {crdt::durability::none, crdt::sqlite_journal::delete_});
            crdt::write_batch b;
            for (int i = 0; i < 2000; ++i) {
                b.save(storage_key{"k", std::to_string(i)}, bytes(std::string(200, 'v')));
            }
            s.commit(b);
        }
        const auto full = fs::file_size(dir / "t.db");
        REQUIRE(full > 100000);
        int errors = 0;
        for (const auto cut : {std::uintmax_t{50}, std::uintmax_t{4096}, full / 2, full - 4096}) {
            CAPTURE(cut);
            fs::copy_file(dir / "t.db", dir / "cut.db", fs::copy_options::overwrite_existing);
            fs::resize_file(dir / "cut.db", cut);
            try {
                sqlite_storage s(dir / "cut.db",
                                 {crdt::durability::none, crdt::sqlite_journal::delete_});
                (void)s.load_range({});
            } catch (const crdt::error& e) {
                ++errors;
                CHECK(std::string(e.what()).find("cut.db") != std::string::npos);
            }
        }
        CHECK(errors == 4);
    }
    SECTION("an unreadable directory") {
        fs::create_directories(dir / "locked");
        { sqlite_storage s(dir / "locked" / "s.db"); }
        fs::permissions(dir / "locked", fs::perms::none);
        CHECK(throws_as_nobody([&] { sqlite_storage s(dir / "locked" / "s.db"); },
                               crdt::errc::io_error));
        fs::permissions(dir / "locked", fs::perms::owner_all);
    }
    SECTION("a path in a directory that does not exist") {
        write_bytes(dir / "file", "x");
        CHECK(expect_error([&] { sqlite_storage s(dir / "file" / "s.db"); }).cause() ==
              crdt::errc::io_error);
    }
}

TEST_CASE("sqlite_device_set: each device writes its own file and reads the others incrementally") {
    temp_dir dir;
    crdt::sqlite_device_set a(dir.path(), "laptop");
    crdt::sqlite_device_set b(dir.path(), "phone");
    CHECK(a.devices() == std::vector<std::string>{"phone"});
    a.local().append(bytes("a1"));
    a.local().append(bytes("a2"));
    b.local().append(bytes("b1"));
    auto r = b.poll();
    REQUIRE(r.entries.size() == 2);
    CHECK(r.entries[0].device == "laptop");
    CHECK(r.entries[1].entry == crdt::log_entry{2, bytes("a2")});
    // Not acknowledged: the cursor stays and the same entries come again.
    CHECK(b.cursor("laptop") == 0);
    CHECK(b.poll().entries.size() == 2);
    b.acknowledge(r);
    CHECK(b.cursor("laptop") == 2);
    CHECK(b.poll().entries.empty());
    a.local().append(bytes("a3"));
    r = b.poll();
    REQUIRE(r.entries.size() == 1);
    CHECK(r.entries[0].entry.value == bytes("a3"));
    b.acknowledge(r);
    CHECK(b.cursor("laptop") == 3);
    auto ra = a.poll();
    REQUIRE(ra.entries.size() == 1);
    CHECK(ra.entries[0].entry.value == bytes("b1"));
    a.acknowledge(ra);

    SECTION("cursors survive a restart") {
        crdt::sqlite_device_set b2(dir.path(), "phone2");
        (void)b2;
        a.local().append(bytes("a4"));
        // A fresh handle on phone's own database continues where it stopped.
        crdt::sqlite_device_set b_again(dir.path(), "phone");
        const auto again = b_again.poll();
        REQUIRE(again.entries.size() == 1);
        CHECK(again.entries[0].entry.value == bytes("a4"));
        CHECK(b_again.cursor("laptop") == 3);
    }
    SECTION("a crash before acknowledging loses nothing") {
        a.local().append(bytes("a4"));
        a.local().append(bytes("a5"));
        {
            crdt::sqlite_device_set b_crashing(dir.path(), "phone");
            const auto got = b_crashing.poll();
            REQUIRE(got.entries.size() == 2);
            // The process dies here, before it made a4 and a5 durable.
        }
        crdt::sqlite_device_set b_restarted(dir.path(), "phone");
        const auto again = b_restarted.poll();
        REQUIRE(again.entries.size() == 2);
        CHECK(again.entries[0].entry.value == bytes("a4"));
        CHECK(again.entries[1].entry.value == bytes("a5"));
    }
    SECTION("poll(handler) acknowledges only when the handler returns") {
        a.local().append(bytes("a4"));
        CHECK_THROWS_AS(b.poll([](const crdt::sqlite_device_set::poll_result& got) {
            CHECK(got.entries.size() == 1);
            throw std::runtime_error("could not apply");
        }),
                        std::runtime_error);
        CHECK(b.cursor("laptop") == 3);
        std::vector<crdt::storage_bytes> applied;
        b.poll([&](const crdt::sqlite_device_set::poll_result& got) {
            for (const auto& e : got.entries) {
                applied.push_back(e.entry.value);
            }
        });
        CHECK(applied == std::vector<crdt::storage_bytes>{bytes("a4")});
        CHECK(b.cursor("laptop") == 4);
        CHECK(b.poll().entries.empty());
    }
    SECTION("a stale acknowledgement never moves a cursor back") {
        a.local().append(bytes("a4"));
        const auto first = b.poll(); // reads a4
        a.local().append(bytes("a5"));
        const auto second = b.poll(); // reads a4, a5
        REQUIRE(second.entries.size() == 2);
        b.acknowledge(second);
        CHECK(b.cursor("laptop") == 5);
        b.acknowledge(first); // stale: started from 3, the cursor is at 5
        CHECK(b.cursor("laptop") == 5);
        b.acknowledge(second); // twice: no change either
        CHECK(b.cursor("laptop") == 5);
    }
    SECTION("another device's keys are readable") {
        a.local().save(crdt::storage_key{"doc", "snapshot"}, bytes("state-a"));
        a.local().save(crdt::storage_key{"doc", "meta"}, bytes("m"));
        a.local().save(crdt::storage_key{"other"}, bytes("o"));
        const auto kv = b.load_range_from("laptop", crdt::storage_key{"doc"});
        REQUIRE(kv.size() == 2);
        CHECK(kv[0].key == crdt::storage_key{"doc", "meta"});
        CHECK(kv[1].value == bytes("state-a"));
        CHECK(b.load_range_from("laptop", {}).size() == 3);
        CHECK(b.load_range_from("phone", {}).empty());
        CHECK(expect_error([&] { (void)b.load_range_from("tablet", {}); }).cause() ==
              crdt::errc::not_found);
        CHECK(expect_error([&] { (void)b.load_range_from("../x", {}); }).cause() ==
              crdt::errc::invalid_value);
        write_bytes(dir / "devices" / "junk.db", std::string(5000, 'j'));
        CHECK(expect_error([&] { (void)b.load_range_from("junk", {}); }).cause() ==
              crdt::errc::bad_magic);
    }
    SECTION("a foreign file replaced underneath is tolerated") {
        const auto laptop = dir / "devices" / "laptop.db";
        const auto saved = dir / "saved.db";
        fs::copy_file(laptop, saved);
        // Replaced by garbage (a half-downloaded copy): reported, not thrown.
        write_bytes(dir / "devices" / "tmp", std::string(3000, 'x'));
        fs::rename(dir / "devices" / "tmp", laptop);
        r = b.poll();
        CHECK(r.entries.empty());
        REQUIRE(r.errors.size() == 1);
        CHECK(r.errors[0].first == "laptop");
        // Replaced by an older copy with fewer rows: read again from the start.
        {
            crdt::detail::storage::sqlite_connection db(saved.string(), SQLITE_OPEN_READWRITE);
            db.exec("DELETE FROM log WHERE seq > 1");
        }
        fs::copy_file(saved, laptop, fs::copy_options::overwrite_existing);
        r = b.poll();
        CHECK(r.restarted == std::vector<std::string>{"laptop"});
        REQUIRE(r.entries.size() == 1);
        CHECK(r.entries[0].entry.value == bytes("a1"));
        b.acknowledge(r);
        CHECK(b.cursor("laptop") == 1);
        // Replaced by a different database (same device name, new store id).
        fs::remove(laptop);
        {
            crdt::sqlite_device_set fresh(dir.path(), "laptop");
            fresh.local().append(bytes("new1"));
        }
        r = b.poll();
        CHECK(r.restarted == std::vector<std::string>{"laptop"});
        REQUIRE(r.entries.size() == 1);
        CHECK(r.entries[0].entry.value == bytes("new1"));
        b.acknowledge(r);
        CHECK(b.poll().entries.empty());
    }
    SECTION("an older copy of a file that grew again is read from the start") {
        // Sequence numbers are reused by an older copy of the same store
        // (same store id) that its device then appended to: the cursor's
        // row digest notices, even once the copy is as long as the cursor.
        const auto laptop = dir / "devices" / "laptop.db";
        const auto saved = dir / "saved.db";
        {
            crdt::detail::storage::sqlite_connection db(laptop.string(), SQLITE_OPEN_READONLY);
            db.exec("VACUUM INTO '" + saved.string() + "'");
        }
        {
            crdt::detail::storage::sqlite_connection db(saved.string(), SQLITE_OPEN_READWRITE);
            db.exec("DELETE FROM log WHERE seq > 1");
        }
        CHECK(b.cursor("laptop") == 3);
        fs::copy_file(saved, laptop, fs::copy_options::overwrite_existing);
        {
            crdt::sqlite_device_set again(dir.path(), "laptop");
            again.local().append(bytes("x2"));
            again.local().append(bytes("x3"));
        }
        r = b.poll();
        CHECK(r.restarted == std::vector<std::string>{"laptop"});
        REQUIRE(r.entries.size() == 3);
        CHECK(r.entries[0].entry.value == bytes("a1"));
        CHECK(r.entries[1].entry.value == bytes("x2"));
        CHECK(r.entries[2].entry.value == bytes("x3"));
        b.acknowledge(r);
        CHECK(b.poll().entries.empty());
        CHECK(b.poll().restarted.empty());
    }
    SECTION("stores made before the cursor digest get its column") {
        const auto file = (dir / "devices" / "tablet.db").string();
        const auto has_digest = [&] {
            crdt::detail::storage::sqlite_connection db(file, SQLITE_OPEN_READWRITE);
            return db.query_int("SELECT count(*) FROM pragma_table_info('foreign_cursor') "
                                "WHERE name = 'digest'") == 1;
        };
        { crdt::sqlite_device_set t(dir.path(), "tablet"); }
        CHECK(has_digest());
        {
            // The schema as the first release wrote it, with a cursor row.
            crdt::detail::storage::sqlite_connection db(file, SQLITE_OPEN_READWRITE);
            db.exec("ALTER TABLE foreign_cursor DROP COLUMN digest");
            db.exec("INSERT INTO foreign_cursor(device, store_id, seq) VALUES('laptop', "
                    "(SELECT value FROM meta WHERE name = 'store_id'), 0)");
        }
        CHECK_FALSE(has_digest());
        crdt::sqlite_device_set t(dir.path(), "tablet");
        CHECK(has_digest());
        // The old cursor row (its store id is not laptop's) reads from the start.
        const auto got = t.poll();
        CHECK(std::count_if(got.entries.begin(), got.entries.end(),
                            [](const auto& e) { return e.device == "laptop"; }) == 3);
        CHECK(got.errors.empty());
    }
    SECTION("device names are checked") {
        CHECK(expect_error([&] { crdt::sqlite_device_set x(dir.path(), "../evil"); }).cause() ==
              crdt::errc::invalid_value);
    }
}
