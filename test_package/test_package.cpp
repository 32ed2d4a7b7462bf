// test_package.cpp -- the one consumer program of every packaging check.
//
// Built by Conan's test_package (against the Conan package), and by
// tests/packaging/run.sh against a `cmake --install` prefix (find_package)
// and against the source tree (add_subdirectory). It includes crdt the way a
// user does, builds two replicas' version vectors, merges them and round-trips
// the result through crdt's binary codec. Linked to crdt::sqlite (which defines
// CRDT_WITH_SQLITE=1), it also stores the encoding as a BLOB in an in-memory
// SQLite database and decodes what it reads back. Linked to crdt::zlib (which
// defines CRDT_WITH_ZLIB=1), it also compresses the encoding with zlib
// (crdt/codec/compressed.hpp) and checks that it decompresses and decodes back.
//
// CRDT_TEST_EXPECT_SQLITE and CRDT_TEST_EXPECT_ZLIB (0 or 1, optional) are set
// by the consumer projects: the build fails if the targets they linked did, or
// did not, bring CRDT_WITH_SQLITE / CRDT_WITH_ZLIB, so crdt::crdt can never
// silently pull in SQLite or zlib, nor crdt::sqlite zlib, nor crdt::zlib SQLite.
//
// Exit status: 0 when every check holds, 1 otherwise (the reason on stderr).
#include <crdt/crdt.hpp>

#include <cstddef>
#include <cstdio>
#include <exception>
#include <span>
#include <string>
#include <vector>

#if defined(CRDT_WITH_SQLITE)
#include <sqlite3.h>
#endif
#if defined(CRDT_WITH_ZLIB)
#include <crdt/codec/compressed.hpp>
#endif

#if defined(CRDT_TEST_EXPECT_SQLITE)
#if CRDT_TEST_EXPECT_SQLITE && !defined(CRDT_WITH_SQLITE)
#error "linked crdt::sqlite but CRDT_WITH_SQLITE is not defined"
#elif !CRDT_TEST_EXPECT_SQLITE && defined(CRDT_WITH_SQLITE)
#error "did not link crdt::sqlite but CRDT_WITH_SQLITE is defined (only crdt::sqlite needs SQLite)"
#endif
#endif

#if defined(CRDT_TEST_EXPECT_ZLIB)
#if CRDT_TEST_EXPECT_ZLIB && !defined(CRDT_WITH_ZLIB)
#error "linked crdt::zlib but CRDT_WITH_ZLIB is not defined"
#elif !CRDT_TEST_EXPECT_ZLIB && defined(CRDT_WITH_ZLIB)
#error "did not link crdt::zlib but CRDT_WITH_ZLIB is defined (only crdt::zlib needs zlib)"
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

    std::string through;
#if defined(CRDT_WITH_SQLITE)
    const std::vector<std::byte> stored = sqlite_round_trip(bytes);
    if (stored != bytes) {
        return failure("the BLOB read back from SQLite differs from the one written");
    }
    if (crdt::decode<crdt::version_vector>(stored, "version vector from SQLite") != merged) {
        return failure("decoding the BLOB read back from SQLite");
    }
    through += std::string(" through SQLite ") + sqlite3_libversion();
#endif
#if defined(CRDT_WITH_ZLIB)
    const std::vector<std::byte> compressed = crdt::encode_compressed(merged);
    if (compressed.empty() || compressed.front() != crdt::compressed_magic) {
        return failure("encode_compressed did not write the compressed format");
    }
    if (crdt::decompress(compressed) != bytes) {
        return failure("decompress(encode_compressed(v)) != encode(v)");
    }
    if (crdt::decode_compressed<crdt::version_vector>(compressed) != merged) {
        return failure("decode_compressed(encode_compressed(v)) != v");
    }
    if (crdt::decompress(crdt::compress(bytes, 9)) != bytes) {
        return failure("decompress(compress(bytes, 9)) != bytes");
    }
    through += (through.empty() ? " through zlib " : " and through zlib ");
    through += zlibVersion();
#endif
    if (through.empty()) {
        through = " (core only)";
    }
    std::printf("test_package: OK: %zu-byte version vector round-tripped%s\n", bytes.size(),
                through.c_str());
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
