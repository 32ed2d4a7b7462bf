// crdt/storage/durability.hpp -- the durability policy every adapter takes.
//
// A durability level says what has happened to a write when the call that
// made it (save, remove, commit, append, cas) returns:
//
//   full    (default) the write is on stable storage: it survives a process
//           crash and a power loss. Costs one flush (fsync/fdatasync, or a
//           SQLite commit with synchronous=FULL) per call; batch writes to
//           pay it once for many keys.
//   normal  the write survives a process crash at once, and a power loss
//           after the next flush() returns. A power loss before that may
//           lose writes made since the last flush, never an earlier one,
//           and never tears a value. The log and SQLite adapters lose a
//           suffix of those writes (SQLite: synchronous=NORMAL in WAL mode);
//           file_storage, whose keys are separate files, may lose any of
//           them, each key on its own (a newer write to one key can survive
//           an older one to another).
//   none    the write survives a process crash; nothing is ever synced by
//           crdt, flush() included, so a power loss may lose any write the
//           operating system had not yet written back. For caches and tests.
//
// Every level keeps every value atomic: a reader, or a reopen after any
// crash, sees an old value, the new value or nothing, never a mix.
//
// Thread safety and exception safety: plain enum and constexpr functions.
#pragma once

#include <crdt/core/config.hpp>

#include <string_view>

CRDT_BEGIN_NAMESPACE

/// When an acknowledged write reaches stable storage (see the file comment).
enum class durability : unsigned char {
    full = 0,   ///< synced before the writing call returns
    normal = 1, ///< synced by flush(); process crashes never lose a write
    none = 2,   ///< never synced by crdt; process crashes never lose a write
};

/// Returns: the level's name ("full", "normal", "none").
constexpr std::string_view to_string(durability d) noexcept {
    switch (d) {
    case durability::full: return "full";
    case durability::normal: return "normal";
    case durability::none: return "none";
    }
    return "unknown";
}

/// Returns: whether each writing call syncs before it returns.
constexpr bool syncs_each_write(durability d) noexcept {
    return d == durability::full;
}

/// Returns: whether flush() syncs.
constexpr bool syncs_on_flush(durability d) noexcept {
    return d != durability::none;
}

CRDT_END_NAMESPACE
