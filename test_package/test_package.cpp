// test_package.cpp -- the one consumer program of every packaging check.
//
// Built by Conan's test_package (against the Conan package), and by
// tests/packaging/run.sh against a `cmake --install` prefix (find_package)
// and against the source tree (add_subdirectory). It includes crdt the way a
// user does, builds two replicas' version vectors, merges them and round-trips
// the result through crdt's binary codec. Linked to crdt::sqlite (which defines
// CRDT_WITH_SQLITE=1), it also stores the encoding as a BLOB in an in-memory
// SQLite database and decodes what it reads back.
//
// CRDT_TEST_EXPECT_SQLITE (0 or 1, optional) is set by the consumer projects:
// the build fails if the target they linked did, or did not, bring
// CRDT_WITH_SQLITE, so crdt::crdt can never silently pull in SQLite.
//
// Exit status: 0 when every check holds, 1 otherwise (the reason on stderr).
#include <crdt/crdt.hpp>

#include <cstddef>
#include <cstdio>
#include <exception>
#include <span>
#include <vector>

#if defined(CRDT_WITH_SQLITE)
#include <sqlite3.h>
#endif

#if defined(CRDT_TEST_EXPECT_SQLITE)
#if CRDT_TEST_EXPECT_SQLITE && !defined(CRDT_WITH_SQLITE)
#error "linked crdt::sqlite but CRDT_WITH_SQLITE is not defined"
#elif !CRDT_TEST_EXPECT_SQLITE && defined(CRDT_WITH_SQLITE)
#error "linked only crdt::crdt but CRDT_WITH_SQLITE is defined (crdt::crdt must not need SQLite)"
#endif
#endif

namespace {

int failure(const char* what) {
    std::fprintf(stderr, "test_package: FAIL: %s\n", what);
    return 1;
}

#if defined(CRDT_WITH_SQLITE)
// Stores `bytes` in a fresh in-memory database and returns what reads back.
// Returns an empty vector (never a valid encoding here) on any SQLite error.
std::vector<std::byte> sqlite_round_trip(std::span<const std::byte> bytes) {
    std::vector<std::byte> out;
    sqlite3* db = nullptr;
    if (sqlite3_open(":memory:", &db) != SQLITE_OK) {
        std::fprintf(stderr, "sqlite3_open: %s\n", db ? sqlite3_errmsg(db) : "out of memory");
        sqlite3_close(db);
        return out;
    }
    sqlite3_stmt* insert = nullptr;
    sqlite3_stmt* select = nullptr;
    const bool ok =
        sqlite3_exec(db, "CREATE TABLE versions (id INTEGER PRIMARY KEY, body BLOB NOT NULL)",
                     nullptr, nullptr, nullptr) == SQLITE_OK &&
        sqlite3_prepare_v2(db, "INSERT INTO versions (id, body) VALUES (1, ?1)", -1, &insert,
                           nullptr) == SQLITE_OK &&
        sqlite3_bind_blob(insert, 1, bytes.data(), static_cast<int>(bytes.size()),
                          SQLITE_TRANSIENT) == SQLITE_OK &&
        sqlite3_step(insert) == SQLITE_DONE &&
        sqlite3_prepare_v2(db, "SELECT body FROM versions WHERE id = 1", -1, &select, nullptr) ==
            SQLITE_OK &&
        sqlite3_step(select) == SQLITE_ROW;
    if (ok) {
        const auto* blob = static_cast<const std::byte*>(sqlite3_column_blob(select, 0));
        const int size = sqlite3_column_bytes(select, 0);
        if (blob != nullptr && size > 0) {
            out.assign(blob, blob + size);
        }
    } else {
        std::fprintf(stderr, "sqlite: %s\n", sqlite3_errmsg(db));
    }
    sqlite3_finalize(select);
    sqlite3_finalize(insert);
    sqlite3_close(db);
    return out;
}
#endif

int run() {
    const crdt::replica_id alice(1);
    const crdt::replica_id bob(2);

    crdt::version_vector a;
    crdt::version_vector b;
    a.increment(alice);
    a.increment(alice);
    b.increment(bob);
    if (a.compare(b) != crdt::causal_order::concurrent) {
        return failure("independent updates must be concurrent");
    }

    crdt::version_vector merged = a;
    merged.merge(b);
    if (merged.get(alice) != 2 || merged.get(bob) != 1 ||
        merged.compare(a) != crdt::causal_order::after) {
        return failure("merge must be the pointwise maximum");
    }

    const std::vector<std::byte> bytes = crdt::encode(merged);
    if (crdt::decode<crdt::version_vector>(bytes, "encoded version vector") != merged) {
        return failure("decode(encode(v)) != v");
    }

#if defined(CRDT_WITH_SQLITE)
    const std::vector<std::byte> stored = sqlite_round_trip(bytes);
    if (stored != bytes) {
        return failure("the BLOB read back from SQLite differs from the one written");
    }
    if (crdt::decode<crdt::version_vector>(stored, "version vector from SQLite") != merged) {
        return failure("decoding the BLOB read back from SQLite");
    }
    std::printf("test_package: OK: %zu-byte version vector round-tripped through SQLite %s\n",
                bytes.size(), sqlite3_libversion());
#else
    std::printf("test_package: OK: %zu-byte version vector round-tripped (core only)\n",
                bytes.size());
#endif
    return 0;
}

} // namespace

int main() {
    try {
        return run();
    } catch (const std::exception& e) {
        std::fprintf(stderr, "test_package: FAIL: exception: %s\n", e.what());
        return 1;
    }
}
