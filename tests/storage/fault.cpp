// The fault-injection layer itself (crdt/detail/storage/fault.hpp): what a
// simulated power loss does to file content and to directory changes, with
// and without the directory syncs that make them durable.
#include <crdt/detail/storage/fault.hpp>
#include <crdt/detail/storage/file.hpp>
#include <crdt/storage/file_storage.hpp>
#include <crdt/storage/log_storage.hpp>

#include <catch2/catch.hpp>

#include "crash_model.hpp"
#include "helpers.hpp"

#include <algorithm>
#include <optional>
#include <string>
#include <vector>

using namespace storage_test;
namespace fs = std::filesystem;
namespace ds = crdt::detail::storage;
using ds::directory_changes;

namespace {

// The names in `dir`, sorted.
std::vector<std::string> names(const fs::path& dir) {
    std::vector<std::string> out;
    for (const auto& e : fs::directory_iterator(dir)) {
        out.push_back(e.path().filename().string());
    }
    std::sort(out.begin(), out.end());
    return out;
}

bool is_backup(const std::string& name) {
    return name.starts_with(".crdt-fault.");
}

std::size_t backups_under(const fs::path& root) {
    std::size_t n = 0;
    for (const auto& e : fs::recursive_directory_iterator(root)) {
        n += is_backup(e.path().filename().string()) ? 1u : 0u;
    }
    return n;
}

// The content of `p`, or nullopt if it does not exist (read without a plan).
std::optional<std::string> content(const fs::path& p) {
    auto b = ds::read_file(p);
    if (!b) {
        return std::nullopt;
    }
    return text(*b);
}

// Writes `p` outside any plan: its content and name are durable.
void put(const fs::path& p, const std::string& s) {
    REQUIRE(ds::fault_plan::active().load() == nullptr);
    ds::write_file_atomic(p, bytes(s), false, false);
}

// Creates `p` under the active plan with `synced` synced, then `unsynced`.
void create_under_plan(const fs::path& p, const std::string& synced,
                       const std::string& unsynced = {}) {
    auto fd = ds::open_file(p, O_WRONLY | O_CREAT | O_EXCL);
    ds::write_all(fd.get(), bytes(synced), p);
    ds::sync_fd(fd.get(), p);
    ds::write_all(fd.get(), bytes(unsynced), p);
}

// Runs `fn` under a fresh plan that never crashes, then simulates a power
// loss with `outcome`.
template <class Fn>
void under_plan(directory_changes outcome, Fn fn) {
    ds::fault_plan plan(-1);
    plan.install();
    fn(plan);
    ds::fault_plan::uninstall();
    plan.drop_unsynced(outcome);
}

} // namespace

TEST_CASE("fault_plan: a rename without a directory sync is undone, with one it stays") {
    for (const bool sync_directory : {false, true}) {
        for (const auto outcome : directory_outcomes) {
            CAPTURE(sync_directory, to_string(outcome));
            temp_dir dir;
            const auto a = dir / "a";
            put(a, "old");
            under_plan(outcome, [&](ds::fault_plan&) {
                ds::write_file_atomic(a, bytes("new"), true, sync_directory);
            });
            const bool kept = sync_directory || outcome == directory_changes::keep;
            CHECK(content(a) == (kept ? "new" : "old"));
            // The temporary is gone either way (renamed, or its creation
            // undone), and so is the hidden backup of the old target.
            CHECK(names(dir.path()) == std::vector<std::string>{"a"});
        }
    }
}

TEST_CASE("fault_plan: a renamed file goes back to its old name") {
    for (const bool sync_directory : {false, true}) {
        for (const auto outcome : directory_outcomes) {
            CAPTURE(sync_directory, to_string(outcome));
            temp_dir dir;
            put(dir / "a", "x");
            under_plan(outcome, [&](ds::fault_plan&) {
                ds::rename_file(dir / "a", dir / "b");
                if (sync_directory) {
                    ds::sync_dir(dir.path());
                }
            });
            const bool kept = sync_directory || outcome == directory_changes::keep;
            CHECK(names(dir.path()) == std::vector<std::string>{kept ? "b" : "a"});
            CHECK(content(dir / (kept ? "b" : "a")) == "x");
        }
    }
}

TEST_CASE("fault_plan: an unlinked file comes back with its content") {
    for (const bool sync_directory : {false, true}) {
        for (const auto outcome : directory_outcomes) {
            CAPTURE(sync_directory, to_string(outcome));
            temp_dir dir;
            const auto u = dir / "u";
            put(u, "precious");
            under_plan(outcome, [&](ds::fault_plan& plan) {
                CHECK(ds::unlink_file(u));
                CHECK_FALSE(fs::exists(u));
                // The old inode is kept alive under one hidden name.
                CHECK(backups_under(dir.path()) == 1);
                CHECK(plan.pending_directory_changes() == 1);
                if (sync_directory) {
                    ds::sync_dir(dir.path());
                    CHECK(backups_under(dir.path()) == 0); // durable: no longer needed
                    CHECK(plan.pending_directory_changes() == 0);
                }
                CHECK_FALSE(ds::unlink_file(dir / "never-existed"));
            });
            const bool kept = sync_directory || outcome == directory_changes::keep;
            CHECK(content(u) == (kept ? std::nullopt : std::optional<std::string>("precious")));
            CHECK(backups_under(dir.path()) == 0);
        }
    }
}

TEST_CASE("fault_plan: a created file disappears unless its directory was synced") {
    for (const bool sync_directory : {false, true}) {
        for (const auto outcome : directory_outcomes) {
            CAPTURE(sync_directory, to_string(outcome));
            temp_dir dir;
            const auto c = dir / "c";
            const auto e = dir / "existing";
            put(e, "old");
            under_plan(outcome, [&](ds::fault_plan&) {
                create_under_plan(c, "synced", "+lost");
                // Opening an existing name with O_CREAT creates nothing.
                auto fd = ds::open_file(e, O_WRONLY | O_CREAT | O_APPEND);
                ds::write_all(fd.get(), bytes("+lost"), e);
                if (sync_directory) {
                    ds::sync_dir(dir.path());
                }
            });
            const bool kept = sync_directory || outcome == directory_changes::keep;
            // A kept file keeps only its synced content.
            CHECK(content(c) == (kept ? std::optional<std::string>("synced") : std::nullopt));
            CHECK(content(e) == "old");
        }
    }
}

TEST_CASE("fault_plan: a replaced target comes back with the content it had synced") {
    for (const auto outcome : directory_outcomes) {
        CAPTURE(to_string(outcome));
        temp_dir dir;
        const auto t = dir / "t";
        put(t, "base");
        under_plan(outcome, [&](ds::fault_plan&) {
            {
                auto fd = ds::open_file(t, O_WRONLY | O_APPEND);
                ds::write_all(fd.get(), bytes("+synced"), t);
                ds::sync_fd(fd.get(), t);
                ds::write_all(fd.get(), bytes("+lost"), t);
            }
            ds::write_file_atomic(t, bytes("replacement"), true, false);
        });
        CHECK(content(t) == (outcome == directory_changes::lose ? "base+synced" : "replacement"));
        CHECK(names(dir.path()) == std::vector<std::string>{"t"});
    }
}

TEST_CASE("fault_plan: changes are undone newest first") {
    for (const auto outcome : directory_outcomes) {
        CAPTURE(to_string(outcome));
        temp_dir dir;
        put(dir / "y", "old y");
        put(dir / "z", "old z");
        under_plan(outcome, [&](ds::fault_plan&) {
            ds::unlink_file(dir / "y");
            create_under_plan(dir / "y", "new y");
            ds::rename_file(dir / "y", dir / "z"); // replaces the old z
            ds::rename_file(dir / "z", dir / "w");
        });
        if (outcome == directory_changes::lose) {
            CHECK(names(dir.path()) == std::vector<std::string>{"y", "z"});
            CHECK(content(dir / "y") == "old y");
            CHECK(content(dir / "z") == "old z");
        } else {
            CHECK(names(dir.path()) == std::vector<std::string>{"w"});
            CHECK(content(dir / "w") == "new y");
        }
    }
}

TEST_CASE("fault_plan: a directory sync makes only that directory's changes durable") {
    temp_dir dir;
    const auto d1 = dir / "d1";
    const auto d2 = dir / "d2";
    fs::create_directories(d1);
    fs::create_directories(d2);
    put(d1 / "moved", "m");
    put(d2 / "moved back", "n");
    under_plan(directory_changes::lose, [&](ds::fault_plan& plan) {
        create_under_plan(d1 / "a", "a");
        create_under_plan(d2 / "b", "b");
        // Between directories a rename needs a sync of both.
        ds::rename_file(d1 / "moved", d2 / "moved");
        ds::rename_file(d2 / "moved back", d1 / "moved back");
        ds::sync_dir(d1);
        CHECK(plan.pending_directory_changes() == 3);
        ds::sync_dir(dir.path()); // the parent's sync does not cover its children
        CHECK(plan.pending_directory_changes() == 3);
    });
    CHECK(names(d1) == std::vector<std::string>{"a", "moved"});
    CHECK(names(d2) == std::vector<std::string>{"moved back"});
}

TEST_CASE("fault_plan: a new directory needs a sync of its parent") {
    for (const bool sync_parents : {false, true}) {
        for (const auto outcome : directory_outcomes) {
            CAPTURE(sync_parents, to_string(outcome));
            temp_dir dir;
            const auto leaf = dir / "a" / "b";
            under_plan(outcome, [&](ds::fault_plan&) {
                const auto changed = ds::make_directories(leaf, sync_parents);
                CHECK(changed == std::vector<fs::path>{dir.path(), dir / "a"});
                CHECK(ds::make_directories(leaf, sync_parents).empty());
                create_under_plan(leaf / "f", "value");
                ds::sync_dir(leaf);
            });
            const bool kept = sync_parents || outcome == directory_changes::keep;
            CHECK(fs::exists(dir / "a") == kept);
            CHECK(content(leaf / "f") ==
                  (kept ? std::optional<std::string>("value") : std::nullopt));
        }
    }
    temp_dir dir;
    put(dir / "file", "x");
    CHECK_THROWS_AS(ds::make_directories(dir / "file" / "sub", false), crdt::error);
}

TEST_CASE("fault_plan: watch_tree finds directories created behind its back") {
    // Outer directory made durable by a sync of its parent, inner one not.
    temp_dir dir;
    fs::create_directories(dir / "before");
    under_plan(directory_changes::lose, [&](ds::fault_plan& plan) {
        plan.watch_tree(dir.path());
        fs::create_directories(dir / "w" / "x"); // not through the file helpers
        ds::sync_dir(dir.path());
        create_under_plan(dir / "w" / "x" / "f", "value");
        ds::sync_dir(dir / "w" / "x");
        create_under_plan(dir / "before" / "g", "value");
        ds::sync_dir(dir / "before");
    });
    CHECK(fs::exists(dir / "before" / "g")); // existed when watched
    CHECK(fs::exists(dir / "w"));
    CHECK_FALSE(fs::exists(dir / "w" / "x"));

    // Found at the first step inside: lost without any parent sync.
    temp_dir dir2;
    under_plan(directory_changes::lose, [&](ds::fault_plan& plan) {
        plan.watch_tree(dir2.path());
        fs::create_directories(dir2 / "w" / "x");
        create_under_plan(dir2 / "w" / "x" / "f", "value");
        ds::sync_dir(dir2 / "w" / "x");
    });
    CHECK(names(dir2.path()).empty());
}

TEST_CASE("fault_plan: the crashing step changes nothing, and later steps throw") {
    // write_file_atomic takes five steps: open, write, sync, rename, sync dir.
    for (const auto outcome : directory_outcomes) {
        CAPTURE(to_string(outcome));
        for (long crash_at = 0; crash_at <= 5; ++crash_at) {
            CAPTURE(crash_at);
            temp_dir dir;
            const auto a = dir / "a";
            put(a, "old");
            ds::fault_plan plan(crash_at);
            plan.install();
            bool crashed = false;
            try {
                ds::write_file_atomic(a, bytes("new"), true, true);
            } catch (const ds::simulated_crash&) {
                crashed = true;
                CHECK(plan.crashed());
                CHECK_THROWS_AS(ds::sync_dir(dir.path()), ds::simulated_crash);
                CHECK_THROWS_AS(ds::unlink_file(a), ds::simulated_crash);
            }
            ds::fault_plan::uninstall();
            CHECK(crashed == (crash_at < 5));
            plan.drop_unsynced(outcome);
            // The rename is step 3; the directory sync that keeps it, step 4.
            const bool renamed = crash_at >= 4;
            const bool kept = crash_at >= 5 || (renamed && outcome == directory_changes::keep);
            CHECK(content(a) == (kept ? "new" : "old"));
            CHECK(backups_under(dir.path()) == 0);
            for (const auto& n : names(dir.path())) {
                // Only an unrenamed temporary survives, and only when kept.
                CHECK((n == "a" || (n.find(".tmp.") != std::string::npos && !renamed &&
                                    outcome == directory_changes::keep)));
            }
        }
    }
}

TEST_CASE("fault_plan: the destructor uninstalls the plan and removes its backups") {
    temp_dir dir;
    put(dir / "u", "x");
    {
        ds::fault_plan plan(-1);
        plan.install();
        ds::unlink_file(dir / "u");
        CHECK(backups_under(dir.path()) == 1);
    }
    CHECK(ds::fault_plan::active().load() == nullptr);
    CHECK(names(dir.path()).empty());
}

TEST_CASE("fault_plan: hidden backups are invisible to adapter directory scans") {
    using crdt::storage_key;
    temp_dir dir;
    const storage_key k1{"doc", "1"};
    const storage_key k2{"doc", "2"};
    const auto root = dir / "files";
    {
        crdt::file_storage s(root, {crdt::durability::none});
        s.save(k1, bytes("old"));
        s.save(k2, bytes("two"));
    }
    {
        ds::fault_plan plan(-1);
        plan.install();
        {
            // At durability none nothing is synced: the replaced and the
            // removed value files stay behind as hidden backups.
            crdt::file_storage s(root, {crdt::durability::none});
            s.save(k1, bytes("new"));
            s.remove(k2);
            CHECK(backups_under(root) == 2);
            crdt::file_storage again(root, {crdt::durability::none});
            CHECK(again.list_keys({}) == std::vector<storage_key>{k1});
            const auto all = again.load_range({});
            REQUIRE(all.size() == 1);
            CHECK(all[0].value == bytes("new"));
            CHECK(backups_under(root) == 2); // open's clean-up leaves them alone
        }
        ds::fault_plan::uninstall();
        plan.drop_unsynced(directory_changes::lose);
    }
    CHECK(backups_under(root) == 0);
    crdt::file_storage s(root, {crdt::durability::none});
    CHECK(s.load(k1) == bytes("old"));
    CHECK(s.load(k2) == bytes("two"));

    // A log's recovery neither deletes nor counts a backup next to MANIFEST.
    const auto log = dir / "log";
    {
        crdt::log_storage l(log);
        l.save(k1, bytes("v"));
    }
    {
        ds::fault_plan plan(-1);
        plan.install();
        ds::write_file_atomic(log / "MANIFEST", *ds::read_file(log / "MANIFEST"), true, false);
        REQUIRE(backups_under(log) == 1);
        {
            crdt::log_storage l(log);
            CHECK(l.last_recovery().removed_files == 0);
            CHECK(l.load(k1) == bytes("v"));
        }
        CHECK(backups_under(log) == 1);
        ds::fault_plan::uninstall();
        plan.drop_unsynced(directory_changes::lose);
    }
    CHECK(backups_under(log) == 0);
    crdt::log_storage l(log);
    CHECK(l.load(k1) == bytes("v"));
}
