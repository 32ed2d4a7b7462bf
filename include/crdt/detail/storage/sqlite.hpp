// crdt/detail/storage/sqlite.hpp -- a thin RAII layer over the SQLite C API
// for sqlite_storage: connection, prepared statements, error mapping.
//
// Error mapping (every message names the database file and SQLite's reason):
//   SQLITE_NOTADB           -> errc::bad_magic      (not a SQLite database)
//   SQLITE_CORRUPT          -> errc::checksum_mismatch (damaged or truncated)
//   anything else           -> errc::io_error (busy past the timeout, I/O,
//                              permissions, full disk, ...)
// Invariants: a statement belongs to the connection that prepared it and is
// finalized before it; statements are reset after every use.
#pragma once

#include <crdt/core/config.hpp>
#include <crdt/core/error.hpp>
#include <crdt/storage/key.hpp>

#include <sqlite3.h>

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>

CRDT_BEGIN_NAMESPACE
namespace detail::storage {

[[noreturn]] inline void throw_sqlite(int rc, const std::string& what, const std::string& file,
                                      sqlite3* db) {
    const std::string reason = db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    const int primary = rc & 0xff;
    errc e = errc::io_error;
    if (primary == SQLITE_NOTADB) {
        e = errc::bad_magic;
    } else if (primary == SQLITE_CORRUPT) {
        e = errc::checksum_mismatch;
    }
    throw error(e, "sqlite " + file + ": " + what + ": " + reason);
}

class sqlite_stmt {
public:
    sqlite_stmt() = default;
    sqlite_stmt(sqlite3* db, std::string_view sql, const std::string& file)
        : db_(db), file_(&file) {
        const int rc = sqlite3_prepare_v3(db, sql.data(), static_cast<int>(sql.size()),
                                          SQLITE_PREPARE_PERSISTENT, &stmt_, nullptr);
        if (rc != SQLITE_OK) {
            throw_sqlite(rc, "prepare \"" + std::string(sql) + "\"", file, db);
        }
    }
    sqlite_stmt(sqlite_stmt&& o) noexcept
        : db_(o.db_), file_(o.file_), stmt_(std::exchange(o.stmt_, nullptr)) {}
    sqlite_stmt& operator=(sqlite_stmt&& o) noexcept {
        if (this != &o) {
            sqlite3_finalize(stmt_);
            db_ = o.db_;
            file_ = o.file_;
            stmt_ = std::exchange(o.stmt_, nullptr);
        }
        return *this;
    }
    sqlite_stmt(const sqlite_stmt&) = delete;
    sqlite_stmt& operator=(const sqlite_stmt&) = delete;
    ~sqlite_stmt() { sqlite3_finalize(stmt_); }

    sqlite_stmt& bind(int i, std::span<const std::byte> b) {
        // An empty blob must be a zero-length blob, not NULL.
        static const char empty = 0;
        const void* p = b.empty() ? static_cast<const void*>(&empty) : b.data();
        check(sqlite3_bind_blob64(stmt_, i, p, b.size(), SQLITE_STATIC), "bind");
        return *this;
    }
    sqlite_stmt& bind(int i, std::string_view s) { return bind(i, as_bytes_view(s)); }
    sqlite_stmt& bind_text(int i, std::string_view s) {
        check(sqlite3_bind_text64(stmt_, i, s.data(), s.size(), SQLITE_STATIC, SQLITE_UTF8),
              "bind");
        return *this;
    }
    sqlite_stmt& bind(int i, std::int64_t v) {
        check(sqlite3_bind_int64(stmt_, i, v), "bind");
        return *this;
    }

    /// Returns: true when a row is available, false when done.
    bool step() {
        const int rc = sqlite3_step(stmt_);
        if (rc == SQLITE_ROW) {
            return true;
        }
        if (rc == SQLITE_DONE) {
            return false;
        }
        const std::string sql = sqlite3_sql(stmt_) != nullptr ? sqlite3_sql(stmt_) : "";
        sqlite3_reset(stmt_);
        throw_sqlite(rc, "step \"" + sql + "\"", *file_, db_);
    }

    std::span<const std::byte> blob(int col) const {
        const void* p = sqlite3_column_blob(stmt_, col);
        const auto n = static_cast<std::size_t>(sqlite3_column_bytes(stmt_, col));
        return {static_cast<const std::byte*>(p), p == nullptr ? 0 : n};
    }
    std::string_view blob_text(int col) const {
        const auto b = blob(col);
        return {reinterpret_cast<const char*>(b.data()), b.size()};
    }
    std::int64_t integer(int col) const { return sqlite3_column_int64(stmt_, col); }

    void reset() noexcept {
        sqlite3_reset(stmt_);
        sqlite3_clear_bindings(stmt_);
    }

private:
    void check(int rc, const char* what) {
        if (rc != SQLITE_OK) {
            throw_sqlite(rc, what, *file_, db_);
        }
    }

    sqlite3* db_ = nullptr;
    const std::string* file_ = nullptr;
    sqlite3_stmt* stmt_ = nullptr;
};

/// Resets a statement when the scope ends.
class stmt_guard {
public:
    explicit stmt_guard(sqlite_stmt& s) noexcept : s_(s) {}
    stmt_guard(const stmt_guard&) = delete;
    stmt_guard& operator=(const stmt_guard&) = delete;
    ~stmt_guard() { s_.reset(); }

private:
    sqlite_stmt& s_;
};

class sqlite_connection {
public:
    sqlite_connection() = default;
    sqlite_connection(const std::string& file, int flags) : file_(file) {
        const int rc = sqlite3_open_v2(file.c_str(), &db_, flags | SQLITE_OPEN_NOMUTEX, nullptr);
        if (rc != SQLITE_OK) {
            std::string reason = db_ != nullptr ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
            sqlite3_close_v2(db_);
            db_ = nullptr;
            throw error((rc & 0xff) == SQLITE_NOTADB ? errc::bad_magic : errc::io_error,
                        "sqlite " + file + ": open: " + reason);
        }
        sqlite3_extended_result_codes(db_, 1);
    }
    sqlite_connection(sqlite_connection&& o) noexcept
        : file_(std::move(o.file_)), db_(std::exchange(o.db_, nullptr)) {}
    sqlite_connection& operator=(sqlite_connection&&) = delete;
    sqlite_connection(const sqlite_connection&) = delete;
    ~sqlite_connection() { sqlite3_close_v2(db_); }

    sqlite3* get() const noexcept { return db_; }
    const std::string& file() const noexcept { return file_; }

    void exec(const std::string& sql) {
        char* msg = nullptr;
        const int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &msg);
        if (rc != SQLITE_OK) {
            sqlite3_free(msg);
            throw_sqlite(rc, "\"" + sql + "\"", file_, db_);
        }
    }

    std::int64_t query_int(const std::string& sql) {
        sqlite_stmt s(db_, sql, file_);
        return s.step() ? s.integer(0) : 0;
    }

    sqlite_stmt prepare(std::string_view sql) { return sqlite_stmt(db_, sql, file_); }

private:
    std::string file_;
    sqlite3* db_ = nullptr;
};

} // namespace detail::storage
CRDT_END_NAMESPACE
