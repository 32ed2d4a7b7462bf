// Explicit instantiation of every public storage template, so each member
// compiles (and links) for the adapters crdt ships.
#include <crdt/storage/cached_storage.hpp>
#include <crdt/storage/file_storage.hpp>
#include <crdt/storage/log_storage.hpp>
#include <crdt/storage/memory_storage.hpp>
#include <crdt/storage/sqlite_storage.hpp>

#include <catch2/catch.hpp>

template class crdt::cached_storage<crdt::memory_storage>;
template class crdt::cached_storage<crdt::log_storage>;
template class crdt::cached_storage<crdt::sqlite_storage>;
// Not cached_storage<file_storage>: clang 14 wrongly instantiates members
// whose requires-clause is unsatisfied (commit, append, ...) in an explicit
// instantiation. The adapters above model every capability, so every member
// is instantiated; file_storage's wrapper is instantiated implicitly below.

TEST_CASE("explicit instantiations keep every capability") {
    STATIC_REQUIRE(crdt::batch_storage<crdt::cached_storage<crdt::log_storage>>);
    STATIC_REQUIRE(crdt::append_log_storage<crdt::cached_storage<crdt::sqlite_storage>>);
    STATIC_REQUIRE(crdt::cas_storage<crdt::cached_storage<crdt::file_storage>>);
    STATIC_REQUIRE_FALSE(crdt::batch_storage<crdt::cached_storage<crdt::file_storage>>);
    STATIC_REQUIRE(crdt::key_listing_storage<crdt::cached_storage<crdt::file_storage>>);
    STATIC_REQUIRE(sizeof(crdt::cached_storage<crdt::file_storage>) > 0);
}
