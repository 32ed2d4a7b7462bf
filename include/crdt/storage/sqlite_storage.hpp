// crdt/storage/sqlite_storage.hpp -- a storage adapter over one SQLite
// database, and the per-device mode of PARStore (one database per device in
// a shared folder). Link with the crdt::sqlite target.
//
// Schema (PRAGMA application_id = 0x43524454 "CRDT", user_version = 1):
//   kv(k BLOB PRIMARY KEY, v BLOB NOT NULL, ver INTEGER NOT NULL) WITHOUT ROWID
//        k is crdt::encode_key(key): BLOB order is memcmp order, so the keys
//        under a prefix are the range k >= p AND k < prefix_successor(p);
//        ver is a random nonzero version token, new on every write;
//   log(seq INTEGER PRIMARY KEY, v BLOB NOT NULL)
//        the append log; seq is 1, 2, ... and never reused;
//   meta(name TEXT PRIMARY KEY, value BLOB)
//        "store_id": 16 random bytes naming this database file;
//   foreign_cursor(device TEXT PRIMARY KEY, store_id BLOB, seq INTEGER,
//                  digest BLOB)
//        per-device mode: how far each other device's log has been read and
//        acknowledged, and a digest (CRC-32C, length) of the row there; the
//        digest column is added to stores created without it.
//
// Every save, remove, append, cas and commit is one transaction (a batch is
// one transaction for all its operations). Defaults: journal_mode=WAL,
// synchronous=FULL (durability::full), NORMAL for durability::normal, OFF for
// durability::none; a busy timeout (10 s) lets several processes share the
// file. cas() runs in a BEGIN IMMEDIATE transaction, so of N processes racing
// with the same expected version exactly one wins.
//
// Per-device mode (sqlite_device_set): in a folder that a sync service
// copies, each device writes only devices/<device>.db (journal_mode=TRUNCATE
// by default: WAL's side files do not travel through sync services) and
// reads the other devices' files read-only, opening each one per poll() and
// reading only log rows after its cursor. Cursors move only when the caller
// acknowledges a poll (after making its entries durable), so delivery is at
// least once and a crash never skips an entry. A foreign file that was
// replaced by another database (a different store_id) or by an older copy
// (fewer rows than already read, or a different row at the cursor) is read
// again from the start: CRDT merges are idempotent. A foreign file that cannot be read right now
// (being replaced, half downloaded) is reported in poll()'s result and retried at the next poll.
//
// Complexity: O(log n) B-tree operations per key; load_range O(log n + m).
// Thread safety: every member may be called concurrently (one connection
// behind a mutex). Exception safety: a failing write rolls its transaction
// back; errors are crdt::error (see crdt/detail/storage/sqlite.hpp).
#pragma once

#include <crdt/codec/crc32c.hpp>
#include <crdt/core/config.hpp>
#include <crdt/core/error.hpp>
#include <crdt/detail/storage/file.hpp>
#include <crdt/detail/storage/sqlite.hpp>
#include <crdt/detail/storage/watch.hpp>
#include <crdt/storage/concepts.hpp>
#include <crdt/storage/durability.hpp>
#include <crdt/storage/key.hpp>

#include <algorithm>
#include <chrono>
#include <concepts>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <utility>
#include <vector>

CRDT_BEGIN_NAMESPACE

/// SQLite's rollback-journal or write-ahead-log mode.
enum class sqlite_journal : unsigned char {
    wal,      ///< write-ahead log (default): readers never block the writer
    truncate, ///< rollback journal truncated after each commit (sync folders)
    delete_,  ///< rollback journal deleted after each commit
};

namespace detail::storage {

inline constexpr std::int64_t sqlite_application_id = 0x43524454; // "CRDT"
inline constexpr std::int64_t sqlite_schema_version = 1;

// Checks the identity of an opened database and creates the schema when it
// is new. Used by the adapter (read-write) and by foreign readers (read-only).
inline void check_sqlite_identity(sqlite_connection& db, bool create) {
    // One read transaction, so the three reads see one state: read apart, a
    // process creating the schema meanwhile could be seen half way (no id
    // yet, tables already), and a new store taken for a foreign database.
    std::int64_t app = 0;
    std::int64_t ver = 0;
    std::int64_t tables = 0;
    db.exec("BEGIN");
    try {
        app = db.query_int("PRAGMA application_id");
        ver = db.query_int("PRAGMA user_version");
        tables = db.query_int("SELECT count(*) FROM sqlite_master");
        db.exec("COMMIT");
    } catch (...) {
        sqlite3_exec(db.get(), "ROLLBACK", nullptr, nullptr, nullptr);
        throw;
    }
    if (app != 0 && app != sqlite_application_id) {
        throw error(errc::bad_magic, "sqlite " + db.file() +
                                         ": a SQLite database of another application (id " +
                                         std::to_string(app) + ")");
    }
    if (app == 0 && tables != 0) {
        throw error(errc::bad_magic,
                    "sqlite " + db.file() + ": a SQLite database that is not a crdt store");
    }
    if (ver > sqlite_schema_version) {
        throw error(errc::unsupported_version, "sqlite " + db.file() + ": schema version " +
                                                   std::to_string(ver) +
                                                   " (this build reads version " +
                                                   std::to_string(sqlite_schema_version) + ")");
    }
    if (app == 0 && create) {
        db.exec("BEGIN IMMEDIATE");
        try {
            if (db.query_int("PRAGMA application_id") == 0) {
                db.exec("CREATE TABLE IF NOT EXISTS kv(k BLOB PRIMARY KEY, v BLOB NOT NULL, "
                        "ver INTEGER NOT NULL) WITHOUT ROWID");
                db.exec("CREATE TABLE IF NOT EXISTS log(seq INTEGER PRIMARY KEY, v BLOB NOT NULL)");
                db.exec("CREATE TABLE IF NOT EXISTS meta(name TEXT PRIMARY KEY, value BLOB)");
                db.exec("CREATE TABLE IF NOT EXISTS foreign_cursor(device TEXT PRIMARY KEY, "
                        "store_id BLOB, seq INTEGER NOT NULL, digest BLOB)");
                auto ins =
                    db.prepare("INSERT OR IGNORE INTO meta(name, value) VALUES('store_id', ?)");
                std::string id;
                for (int i = 0; i < 2; ++i) {
                    const auto r = random_u64();
                    id.append(reinterpret_cast<const char*>(&r), sizeof r);
                }
                ins.bind(1, std::string_view(id));
                ins.step();
                db.exec("PRAGMA application_id = " + std::to_string(sqlite_application_id));
                db.exec("PRAGMA user_version = " + std::to_string(sqlite_schema_version));
            }
            db.exec("COMMIT");
        } catch (...) {
            sqlite3_exec(db.get(), "ROLLBACK", nullptr, nullptr, nullptr);
            throw;
        }
    } else if (app == 0) {
        throw error(errc::bad_magic, "sqlite " + db.file() + ": not a crdt store (empty database)");
    }
}

class sqlite_engine {
public:
    struct options {
        durability level = durability::full;
        sqlite_journal journal = sqlite_journal::wal;
        std::chrono::milliseconds busy_timeout{10000};
    };

    sqlite_engine(const std::filesystem::path& file, options opts)
        : opts_(opts), db_(file.string(), SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) {
        sqlite3_busy_timeout(db_.get(), static_cast<int>(opts.busy_timeout.count()));
        const char* journal = opts.journal == sqlite_journal::wal        ? "WAL"
                              : opts.journal == sqlite_journal::truncate ? "TRUNCATE"
                                                                         : "DELETE";
        exec_when_free(std::string("PRAGMA journal_mode = ") + journal, opts.busy_timeout);
        const char* sync = opts.level == durability::full     ? "FULL"
                           : opts.level == durability::normal ? "NORMAL"
                                                              : "OFF";
        db_.exec(std::string("PRAGMA synchronous = ") + sync);
        check_sqlite_identity(db_, true);
        add_cursor_digest_column();
        load_ = db_.prepare("SELECT v FROM kv WHERE k = ?");
        load_versioned_ = db_.prepare("SELECT v, ver FROM kv WHERE k = ?");
        save_ = db_.prepare("INSERT INTO kv(k, v, ver) VALUES(?, ?, ?) ON CONFLICT(k) DO UPDATE "
                            "SET v = excluded.v, ver = excluded.ver");
        remove_ = db_.prepare("DELETE FROM kv WHERE k = ?");
        range_ = db_.prepare("SELECT k, v FROM kv WHERE k >= ? AND k < ? ORDER BY k");
        range_all_ = db_.prepare("SELECT k, v FROM kv ORDER BY k");
        keys_ = db_.prepare("SELECT k FROM kv WHERE k >= ? AND k < ? ORDER BY k");
        keys_all_ = db_.prepare("SELECT k FROM kv ORDER BY k");
        remove_range_ = db_.prepare("DELETE FROM kv WHERE k >= ? AND k < ?");
        remove_all_ = db_.prepare("DELETE FROM kv");
        append_ = db_.prepare("INSERT INTO log(v) VALUES(?)");
        read_since_ = db_.prepare("SELECT seq, v FROM log WHERE seq > ? ORDER BY seq");
        begin_ = db_.prepare("BEGIN IMMEDIATE");
        commit_ = db_.prepare("COMMIT");
        data_version_ = db_.query_int("PRAGMA data_version");
    }

    std::mutex& mutex() const noexcept { return mutex_; }
    sqlite_connection& db() noexcept { return db_; }

    std::optional<storage_bytes> load(const storage_key& key) {
        std::lock_guard lock(mutex_);
        const auto k = encode_key(key);
        stmt_guard g(load_);
        load_.bind(1, std::string_view(k));
        if (!load_.step()) {
            return std::nullopt;
        }
        const auto v = load_.blob(0);
        return storage_bytes(v.begin(), v.end());
    }

    std::optional<versioned_value> load_versioned(const storage_key& key) {
        std::lock_guard lock(mutex_);
        return load_versioned_locked(encode_key(key));
    }

    void save(const storage_key& key, std::span<const std::byte> value) {
        std::lock_guard lock(mutex_);
        save_locked(encode_key(key), value, new_version());
    }

    void remove(const storage_key& key) {
        std::lock_guard lock(mutex_);
        const auto k = encode_key(key);
        stmt_guard g(remove_);
        remove_.bind(1, std::string_view(k));
        remove_.step();
    }

    std::vector<key_value> load_range(const storage_key& prefix) {
        std::lock_guard lock(mutex_);
        std::vector<key_value> out;
        scan(prefix, range_, range_all_, [&](sqlite_stmt& s) {
            const auto v = s.blob(1);
            out.push_back(
                {decode_key(s.blob_text(0), db_.file()), storage_bytes(v.begin(), v.end())});
        });
        return out;
    }

    std::vector<storage_key> list_keys(const storage_key& prefix) {
        std::lock_guard lock(mutex_);
        std::vector<storage_key> out;
        scan(prefix, keys_, keys_all_,
             [&](sqlite_stmt& s) { out.push_back(decode_key(s.blob_text(0), db_.file())); });
        return out;
    }

    void remove_range(const storage_key& prefix) {
        std::lock_guard lock(mutex_);
        if (prefix.empty()) {
            stmt_guard g(remove_all_);
            remove_all_.step();
            return;
        }
        const auto lo = encode_key(prefix);
        const auto hi = *prefix_successor(lo);
        stmt_guard g(remove_range_);
        remove_range_.bind(1, std::string_view(lo)).bind(2, std::string_view(hi));
        remove_range_.step();
    }

    void flush() {
        std::lock_guard lock(mutex_);
        if (opts_.level == durability::normal && opts_.journal == sqlite_journal::wal) {
            // Syncs the WAL (and the database) so every commit so far is durable.
            db_.exec("PRAGMA wal_checkpoint(FULL)");
        }
    }

    void commit(const write_batch& batch) {
        if (batch.empty()) {
            return;
        }
        std::lock_guard lock(mutex_);
        transaction([&] {
            for (const auto& op : batch.operations()) {
                const auto k = encode_key(op.key);
                if (op.value) {
                    save_locked(k, *op.value, new_version());
                } else {
                    stmt_guard g(remove_);
                    remove_.bind(1, std::string_view(k));
                    remove_.step();
                }
            }
        });
    }

    std::uint64_t append(std::span<const std::byte> value) {
        std::lock_guard lock(mutex_);
        stmt_guard g(append_);
        append_.bind(1, value);
        append_.step();
        return static_cast<std::uint64_t>(sqlite3_last_insert_rowid(db_.get()));
    }

    std::vector<log_entry> read_since(std::uint64_t after) {
        std::lock_guard lock(mutex_);
        std::vector<log_entry> out;
        stmt_guard g(read_since_);
        read_since_.bind(1, static_cast<std::int64_t>(std::min<std::uint64_t>(after, INT64_MAX)));
        while (read_since_.step()) {
            const auto v = read_since_.blob(1);
            out.push_back({static_cast<std::uint64_t>(read_since_.integer(0)),
                           storage_bytes(v.begin(), v.end())});
        }
        return out;
    }

    std::optional<std::uint64_t> cas(const storage_key& key, std::uint64_t expected,
                                     std::span<const std::byte> value) {
        std::lock_guard lock(mutex_);
        const auto k = encode_key(key);
        std::optional<std::uint64_t> result;
        transaction([&] {
            const auto cur = load_versioned_locked(k);
            if ((cur ? cur->version : 0) != expected) {
                return;
            }
            std::uint64_t v = 0;
            do {
                v = new_version();
            } while (v == expected);
            save_locked(k, value, v);
            result = v;
        });
        return result;
    }

    /// Returns: whether another connection changed the database since the
    ///   last call (PRAGMA data_version).
    bool changed_externally() {
        std::lock_guard lock(mutex_);
        const auto v = db_.query_int("PRAGMA data_version");
        const bool changed = v != data_version_;
        data_version_ = v;
        return changed;
    }

    std::shared_ptr<watch_list> watchers() const { return watchers_; }
    const watch_list& watch_list_ref() const noexcept { return *watchers_; }

private:
    // Runs `sql`, retrying while another connection holds a lock the busy
    // handler does not cover (switching a new database to WAL).
    void exec_when_free(const std::string& sql, std::chrono::milliseconds timeout) {
        const auto deadline = std::chrono::steady_clock::now() + timeout;
        auto pause = std::chrono::microseconds(200);
        for (;;) {
            const int rc = sqlite3_exec(db_.get(), sql.c_str(), nullptr, nullptr, nullptr);
            if (rc == SQLITE_OK) {
                return;
            }
            const int primary = rc & 0xff;
            if ((primary != SQLITE_BUSY && primary != SQLITE_LOCKED) ||
                std::chrono::steady_clock::now() >= deadline) {
                throw_sqlite(rc, "\"" + sql + "\"", db_.file(), db_.get());
            }
            std::this_thread::sleep_for(pause); // back off, as SQLite's busy handler does
            pause = std::min(pause * 2, std::chrono::microseconds(20000));
        }
    }

    static std::uint64_t new_version() { return (random_u64() >> 1) | 1; } // fits in int64

    std::optional<versioned_value> load_versioned_locked(const std::string& k) {
        stmt_guard g(load_versioned_);
        load_versioned_.bind(1, std::string_view(k));
        if (!load_versioned_.step()) {
            return std::nullopt;
        }
        const auto v = load_versioned_.blob(0);
        return versioned_value{storage_bytes(v.begin(), v.end()),
                               static_cast<std::uint64_t>(load_versioned_.integer(1))};
    }

    void save_locked(const std::string& k, std::span<const std::byte> value, std::uint64_t ver) {
        stmt_guard g(save_);
        save_.bind(1, std::string_view(k)).bind(2, value).bind(3, static_cast<std::int64_t>(ver));
        save_.step();
    }

    // Stores made before foreign_cursor had its digest column get it here
    // (NULL for existing cursors: their rows are not checked).
    void add_cursor_digest_column() {
        auto has_digest = [&] {
            auto q = db_.prepare("SELECT count(*) FROM pragma_table_info('foreign_cursor') "
                                 "WHERE name = 'digest'");
            return q.step() && q.integer(0) != 0;
        };
        if (has_digest()) {
            return;
        }
        db_.exec("BEGIN IMMEDIATE");
        try {
            if (!has_digest()) {
                db_.exec("ALTER TABLE foreign_cursor ADD COLUMN digest BLOB");
            }
            db_.exec("COMMIT");
        } catch (...) {
            sqlite3_exec(db_.get(), "ROLLBACK", nullptr, nullptr, nullptr);
            throw;
        }
    }

    template <class Fn>
    void scan(const storage_key& prefix, sqlite_stmt& ranged, sqlite_stmt& all, Fn&& fn) {
        if (prefix.empty()) {
            stmt_guard g(all);
            while (all.step()) {
                fn(all);
            }
            return;
        }
        const auto lo = encode_key(prefix);
        const auto hi = *prefix_successor(lo);
        stmt_guard g(ranged);
        ranged.bind(1, std::string_view(lo)).bind(2, std::string_view(hi));
        while (ranged.step()) {
            fn(ranged);
        }
    }

    template <class Fn>
    void transaction(Fn&& fn) {
        {
            stmt_guard g(begin_);
            begin_.step();
        }
        try {
            fn();
            stmt_guard g(commit_);
            commit_.step();
        } catch (...) {
            sqlite3_exec(db_.get(), "ROLLBACK", nullptr, nullptr, nullptr);
            throw;
        }
    }

    options opts_;
    mutable std::mutex mutex_;
    sqlite_connection db_;
    sqlite_stmt load_, load_versioned_, save_, remove_, range_, range_all_, keys_, keys_all_,
        remove_range_, remove_all_, append_, read_since_, begin_, commit_;
    std::int64_t data_version_ = 0;
    std::shared_ptr<watch_list> watchers_ = std::make_shared<watch_list>();
};

} // namespace detail::storage

/// A SQLite storage adapter (see the file comment).
class sqlite_storage {
public:
    /// Options of a SQLite store.
    struct options {
        crdt::durability durability = crdt::durability::full;
        sqlite_journal journal = sqlite_journal::wal;
        /// How long a write waits for another process's transaction.
        std::chrono::milliseconds busy_timeout{10000};
    };

    /// Effects: opens (creating if needed) the database file `file`.
    /// Throws: crdt::error: bad_magic for a file that is not a SQLite
    ///   database or is another application's; unsupported_version for a
    ///   newer schema; checksum_mismatch for a damaged file; io_error.
    explicit sqlite_storage(const std::filesystem::path& file) : sqlite_storage(file, options{}) {}

    /// Effects: as above, with the given options.
    sqlite_storage(const std::filesystem::path& file, options opts)
        : impl_(std::make_unique<detail::storage::sqlite_engine>(
              file, detail::storage::sqlite_engine::options{opts.durability, opts.journal,
                                                            opts.busy_timeout})) {}

    /// Returns: the value under `key`, or nullopt. Complexity: O(log n).
    std::optional<storage_bytes> load(const storage_key& key) const { return impl_->load(key); }

    /// Effects: inserts or replaces, in one transaction.
    void save(const storage_key& key, std::span<const std::byte> value) {
        impl_->save(key, value);
        if (watched()) {
            notify({{storage_change::kind::saved, key, 0}});
        }
    }

    /// Effects: deletes `key` if present.
    void remove(const storage_key& key) {
        impl_->remove(key);
        if (watched()) {
            notify({{storage_change::kind::removed, key, 0}});
        }
    }

    /// Returns: every entry under `prefix`, in key order (one range query).
    std::vector<key_value> load_range(const storage_key& prefix) const {
        return impl_->load_range(prefix);
    }

    /// Returns: every key under `prefix`, in key order.
    std::vector<storage_key> list_keys(const storage_key& prefix) const {
        return impl_->list_keys(prefix);
    }

    /// Effects: deletes every key under `prefix` in one statement.
    void remove_range(const storage_key& prefix) {
        std::vector<storage_change> changes;
        if (watched()) {
            for (auto& k : impl_->list_keys(prefix)) {
                changes.push_back({storage_change::kind::removed, std::move(k), 0});
            }
        }
        impl_->remove_range(prefix);
        notify(changes);
    }

    /// Effects: at durability::normal in WAL mode, checkpoints (syncing the
    ///   WAL); otherwise nothing (commits are already synced, or never).
    void flush() { impl_->flush(); }

    /// Effects: applies the batch in one transaction.
    void commit(const write_batch& batch) {
        impl_->commit(batch);
        std::vector<storage_change> changes;
        for (const auto& op : batch.operations()) {
            changes.push_back(
                {op.value ? storage_change::kind::saved : storage_change::kind::removed, op.key,
                 0});
        }
        notify(changes);
    }

    /// Effects: appends a row to the log table. Returns: its sequence.
    std::uint64_t append(std::span<const std::byte> value) {
        const auto seq = impl_->append(value);
        if (watched()) {
            notify({{storage_change::kind::appended, {}, seq}});
        }
        return seq;
    }

    /// Returns: the log rows after `after`, in order.
    std::vector<log_entry> read_since(std::uint64_t after) const {
        return impl_->read_since(after);
    }

    /// Returns: the value and its version, or nullopt.
    std::optional<versioned_value> load_versioned(const storage_key& key) const {
        return impl_->load_versioned(key);
    }

    /// Effects: in a BEGIN IMMEDIATE transaction, stores `value` if the
    ///   key's version is `expected` (0: absent).
    /// Returns: the new version, or nullopt when `expected` is stale.
    std::optional<std::uint64_t> cas(const storage_key& key, std::uint64_t expected,
                                     std::span<const std::byte> value) {
        auto v = impl_->cas(key, expected, value);
        if (v) {
            if (watched()) {
                notify({{storage_change::kind::saved, key, 0}});
            }
        }
        return v;
    }

    /// Effects: `fn` is called after each write through this instance, and
    ///   by poll_external_changes() when another connection wrote.
    watch_handle watch(std::function<void(const storage_change&)> fn) {
        auto w = impl_->watchers();
        const auto id = w->add(std::move(fn));
        return watch_handle(w, id);
    }

    /// Effects: if another process or connection changed the database since
    ///   the last call, notifies watchers with kind::external.
    /// Returns: whether it did.
    bool poll_external_changes() {
        const bool changed = impl_->changed_externally();
        if (changed) {
            if (watched()) {
                notify({{storage_change::kind::external, {}, 0}});
            }
        }
        return changed;
    }

private:
    friend class sqlite_device_set;

    bool watched() const noexcept { return impl_->watch_list_ref().active(); }
    void notify(const std::vector<storage_change>& changes) const {
        if (watched()) {
            impl_->watch_list_ref().notify(changes);
        }
    }

    std::unique_ptr<detail::storage::sqlite_engine> impl_;
};

/// PARStore's per-device layout: each device writes its own database in a
/// shared (synced) folder and reads the others' incrementally.
class sqlite_device_set {
public:
    /// Options of a device set.
    struct options {
        crdt::durability durability = crdt::durability::full;
        sqlite_journal journal = sqlite_journal::truncate;
        std::chrono::milliseconds busy_timeout{10000};
    };

    /// One new log entry read from another device.
    struct foreign_entry {
        std::string device;
        log_entry entry;
    };

    /// How far poll() read one device's log, and from where: what
    /// acknowledge() stores as that device's cursor. Treat as opaque.
    struct read_position {
        std::string device;
        std::string from_store_id; ///< the cursor poll() started from ("" = none)
        std::uint64_t from_seq = 0;
        std::string store_id;  ///< the foreign file's store id
        std::uint64_t seq = 0; ///< the last sequence read
        std::string digest;    ///< of the row at `seq` (CRC-32C and length)
    };

    /// The result of poll().
    struct poll_result {
        std::vector<foreign_entry> entries; ///< per device in sequence order
        /// Devices whose file could not be read this time, with the reason.
        std::vector<std::pair<std::string, std::string>> errors;
        /// Devices whose file was replaced and was read again from the start.
        std::vector<std::string> restarted;
        /// Per device read: the cursor acknowledge() moves to.
        std::vector<read_position> positions;
    };

    /// Requires: `device` is 1-64 characters of [A-Za-z0-9_-].
    /// Effects: opens (creating) `folder`/devices/`device`.db read-write.
    /// Throws: crdt::error (invalid_value for a bad device name; see
    ///   sqlite_storage for the rest).
    sqlite_device_set(const std::filesystem::path& folder, std::string device)
        : sqlite_device_set(folder, std::move(device), options{}) {}

    /// Effects: as above, with the given options.
    sqlite_device_set(const std::filesystem::path& folder, std::string device, options opts)
        : dir_(folder / "devices"), device_(std::move(device)),
          local_((check_name(device_), make_dir(dir_), dir_ / (device_ + ".db")),
                 sqlite_storage::options{opts.durability, opts.journal, opts.busy_timeout}) {}

    /// Returns: this device's own store (the only one it writes).
    sqlite_storage& local() noexcept { return local_; }
    /// Returns: this device's name.
    const std::string& device() const noexcept { return device_; }

    /// Returns: the names of the other devices whose files are present.
    std::vector<std::string> devices() const {
        std::vector<std::string> out;
        std::error_code ec;
        for (std::filesystem::directory_iterator it(dir_, ec), end; !ec && it != end;
             it.increment(ec)) {
            const auto p = it->path();
            if (p.extension() == ".db" && valid_name(p.stem().string()) &&
                p.stem().string() != device_) {
                out.push_back(p.stem().string());
            }
        }
        std::sort(out.begin(), out.end());
        return out;
    }

    /// Effects: reads every other device's log rows after its acknowledged
    ///   cursor, opening each foreign file read-only for the duration of the
    ///   read. Cursors do not move: until acknowledge() is called with this
    ///   result, the next poll() returns the same entries again (and more).
    ///   Delivery is therefore at least once, never lossy: a process that
    ///   crashes between poll() and making the entries durable reads them
    ///   again after a restart.
    /// Returns: the new entries, the devices that failed or restarted, and
    ///   the positions read.
    /// Throws: crdt::error when this device's own database fails; a foreign
    ///   file that fails is reported in `errors`, not thrown.
    poll_result poll() {
        poll_result res;
        for (const auto& dev : devices()) {
            try {
                read_device(dev, res);
            } catch (const error& e) {
                res.errors.emplace_back(dev, e.what());
            }
        }
        return res;
    }

    /// Requires: `r` was returned by poll() on this object.
    /// Effects: in one transaction of this device's database, moves each
    ///   device's cursor to the position `r` read up to, provided the cursor
    ///   is still where that poll() started (a stale result, one already
    ///   acknowledged or overtaken by a later acknowledge(), changes nothing).
    ///   Call it once the entries of `r` are applied and durable.
    /// Throws: crdt::error (io_error etc.) from this device's database; the
    ///   cursors are then unchanged.
    void acknowledge(const poll_result& r) {
        if (r.positions.empty()) {
            return;
        }
        auto& eng = *local_.impl_;
        std::lock_guard lock(eng.mutex());
        auto& db = eng.db();
        db.exec("BEGIN IMMEDIATE");
        try {
            for (const auto& pos : r.positions) {
                std::string cur_id;
                std::uint64_t cur_seq = 0;
                {
                    auto q =
                        db.prepare("SELECT store_id, seq FROM foreign_cursor WHERE device = ?");
                    q.bind_text(1, pos.device);
                    if (q.step()) {
                        cur_id = std::string(q.blob_text(0));
                        cur_seq = static_cast<std::uint64_t>(q.integer(1));
                    }
                }
                if (cur_id != pos.from_store_id || cur_seq != pos.from_seq) {
                    continue; // stale: the cursor moved since that poll
                }
                auto up = db.prepare(
                    "INSERT INTO foreign_cursor(device, store_id, seq, digest) VALUES(?, ?, ?, ?) "
                    "ON CONFLICT(device) DO UPDATE SET store_id = excluded.store_id, "
                    "seq = excluded.seq, digest = excluded.digest");
                up.bind_text(1, pos.device)
                    .bind(2, std::string_view(pos.store_id))
                    .bind(3, static_cast<std::int64_t>(pos.seq))
                    .bind(4, std::string_view(pos.digest));
                up.step();
            }
            db.exec("COMMIT");
        } catch (...) {
            sqlite3_exec(db.get(), "ROLLBACK", nullptr, nullptr, nullptr);
            throw;
        }
    }

    /// Effects: r = poll(); calls handler(r) (r.entries may be empty; check
    ///   r.errors for devices that could not be read); then acknowledge(r).
    ///   If the handler throws, nothing is acknowledged and the exception
    ///   propagates. The handler must make the entries durable before it
    ///   returns (e.g. merge them and save), or they may be lost on a crash.
    /// Returns: r.
    template <class Handler>
    requires std::invocable<Handler&, const poll_result&> poll_result poll(Handler&& handler) {
        poll_result r = poll();
        handler(std::as_const(r));
        acknowledge(r);
        return r;
    }

    /// Returns: the key-value pairs under `prefix` in `device`'s database
    ///   (another device's, opened read-only for the read; or this device's
    ///   own), in key order.
    /// Throws: crdt::error: invalid_value for a bad device name, not_found
    ///   when the device has no file, and what opening or reading it raises
    ///   (bad_magic, unsupported_version, io_error, ...).
    std::vector<key_value> load_range_from(const std::string& device, const storage_key& prefix) {
        check_name(device);
        if (device == device_) {
            return local_.load_range(prefix);
        }
        namespace ds = detail::storage;
        const auto file = dir_ / (device + ".db");
        std::error_code ec;
        if (!std::filesystem::exists(file, ec)) {
            throw error(errc::not_found, "sqlite device set: no file for device \"" + device +
                                             "\" (" + file.string() + ")");
        }
        ds::sqlite_connection db(file.string(), SQLITE_OPEN_READONLY);
        sqlite3_busy_timeout(db.get(), 2000);
        ds::check_sqlite_identity(db, false);
        std::vector<key_value> out;
        auto take = [&](ds::sqlite_stmt& q) {
            while (q.step()) {
                const auto v = q.blob(1);
                out.push_back(
                    {decode_key(q.blob_text(0), db.file()), storage_bytes(v.begin(), v.end())});
            }
        };
        if (prefix.empty()) {
            auto q = db.prepare("SELECT k, v FROM kv ORDER BY k");
            take(q);
        } else {
            const auto lo = encode_key(prefix);
            const auto hi = *prefix_successor(lo);
            auto q = db.prepare("SELECT k, v FROM kv WHERE k >= ? AND k < ? ORDER BY k");
            q.bind(1, std::string_view(lo)).bind(2, std::string_view(hi));
            take(q);
        }
        return out;
    }

    /// Returns: the sequence up to which `device`'s log has been read and
    ///   acknowledged (0 when never).
    std::uint64_t cursor(const std::string& device) {
        auto& eng = *local_.impl_;
        std::lock_guard lock(eng.mutex());
        auto q = eng.db().prepare("SELECT seq FROM foreign_cursor WHERE device = ?");
        q.bind_text(1, device);
        return q.step() ? static_cast<std::uint64_t>(q.integer(0)) : 0;
    }

private:
    static bool valid_name(const std::string& n) {
        if (n.empty() || n.size() > 64) {
            return false;
        }
        return std::all_of(n.begin(), n.end(), [](char c) {
            return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                   c == '_' || c == '-';
        });
    }
    static void check_name(const std::string& n) {
        if (!valid_name(n)) {
            throw error(errc::invalid_value, "sqlite device set: device name \"" + n +
                                                 "\" must be 1-64 characters of [A-Za-z0-9_-]");
        }
    }
    static void make_dir(const std::filesystem::path& d) {
        std::error_code ec;
        std::filesystem::create_directories(d, ec);
        if (ec) {
            throw error(errc::io_error, "create " + d.string() + ": " + ec.message());
        }
    }

    /// The digest a cursor keeps of the row it stands on: CRC-32C and length.
    static std::string row_digest(std::span<const std::byte> v) {
        const auto crc = crc32c(v);
        const auto n = static_cast<std::uint64_t>(v.size());
        std::string d(12, '\0');
        for (int i = 0; i < 4; ++i) {
            d[static_cast<std::size_t>(i)] = static_cast<char>((crc >> (8 * i)) & 0xffu);
        }
        for (int i = 0; i < 8; ++i) {
            d[static_cast<std::size_t>(4 + i)] = static_cast<char>((n >> (8 * i)) & 0xffu);
        }
        return d;
    }

    void read_device(const std::string& dev, poll_result& res) {
        namespace ds = detail::storage;
        const auto file = (dir_ / (dev + ".db")).string();
        ds::sqlite_connection db(file, SQLITE_OPEN_READONLY);
        sqlite3_busy_timeout(db.get(), 2000);
        ds::check_sqlite_identity(db, false);
        std::string store_id;
        {
            auto q = db.prepare("SELECT value FROM meta WHERE name = 'store_id'");
            if (q.step()) {
                store_id = std::string(q.blob_text(0));
            }
        }
        // Our cursor for this device.
        auto& eng = *local_.impl_;
        std::string known_id;
        std::uint64_t known_seq = 0;
        std::string known_digest;
        {
            std::lock_guard lock(eng.mutex());
            auto q = eng.db().prepare(
                "SELECT store_id, seq, digest FROM foreign_cursor WHERE device = ?");
            q.bind_text(1, dev);
            if (q.step()) {
                known_id = std::string(q.blob_text(0));
                known_seq = static_cast<std::uint64_t>(q.integer(1));
                known_digest = std::string(q.blob_text(2));
            }
        }
        std::uint64_t seq = known_seq;
        std::string digest = known_digest;
        // Read in one read transaction so the rows and the maximum agree.
        db.exec("BEGIN");
        std::vector<log_entry> rows;
        try {
            const auto max_seq =
                static_cast<std::uint64_t>(db.query_int("SELECT max(seq) FROM log"));
            bool restart = (!known_id.empty() && known_id != store_id) || max_seq < seq;
            if (!restart && seq > 0 && !known_digest.empty()) {
                // The same store, as long: but an older copy of it that grew
                // again reuses sequence numbers. The row at the cursor tells.
                auto at = db.prepare("SELECT v FROM log WHERE seq = ?");
                at.bind(1, static_cast<std::int64_t>(seq));
                restart = !at.step() || row_digest(at.blob(0)) != known_digest;
            }
            if (restart) {
                seq = 0;
                digest.clear();
                res.restarted.push_back(dev);
            }
            auto q = db.prepare("SELECT seq, v FROM log WHERE seq > ? ORDER BY seq");
            q.bind(1, static_cast<std::int64_t>(seq));
            while (q.step()) {
                const auto v = q.blob(1);
                rows.push_back(
                    {static_cast<std::uint64_t>(q.integer(0)), storage_bytes(v.begin(), v.end())});
            }
            db.exec("COMMIT");
        } catch (...) {
            sqlite3_exec(db.get(), "ROLLBACK", nullptr, nullptr, nullptr);
            throw;
        }
        const auto last = rows.empty() ? seq : rows.back().sequence;
        if (!rows.empty()) {
            digest = row_digest(rows.back().value);
        }
        res.positions.push_back({dev, known_id, known_seq, store_id, last, digest});
        for (auto& r : rows) {
            res.entries.push_back({dev, std::move(r)});
        }
    }

    std::filesystem::path dir_;
    std::string device_;
    sqlite_storage local_;
};

CRDT_END_NAMESPACE
