// crdt/storage/concepts.hpp -- the storage-adapter concept and its optional
// capabilities.
//
// A storage adapter is a byte-oriented key-value store over segmented keys
// (crdt/storage/key.hpp). Replicated types never see it; the store layer
// saves deltas and snapshots through it. Required operations, for `S& s`,
// `const storage_key& k` and `std::span<const std::byte> b`:
//
//   s.load(k)          -> std::optional<storage_bytes>   the value, or nullopt
//   s.save(k, b)                                         create or replace
//   s.remove(k)                                          delete; absent is fine
//   s.load_range(p)    -> std::vector<key_value>         every key starting
//                                                        with prefix p, sorted
//   s.remove_range(p)                                    delete every such key
//   s.flush()                                            make acknowledged
//                                                        writes durable
//
// Laws (checked by crdt::testing::check_storage_laws, which every adapter in
// this library passes and a user's adapter should run too):
//   L1 read-your-writes: after save(k, b) returns, load(k) == b, and
//      load_range(p) contains {k, b} for every prefix p of k;
//   L2 remove is idempotent: after remove(k), load(k) == nullopt; removing an
//      absent key does nothing and does not throw;
//   L3 keys are opaque: any bytes in any segment round-trip, {a} and {a, b}
//      are distinct keys that coexist, an empty value differs from absence;
//   L4 prefixes are segment-wise: load_range({"a"}) matches {"a", ...} and
//      {"a"} but never {"ab"}; results come in key order (byte-wise, segment
//      by segment) without duplicates; remove_range removes exactly that set;
//   L5 atomic values: a concurrent reader, or a reopen after a crash at any
//      moment, sees an old value, the new one or nothing, never a mix;
//   L6 durability: at durability::full a value survives a crash once save()
//      returns; at durability::normal once flush() returns (see
//      crdt/storage/durability.hpp);
//   L7 idempotent re-save: saving the bytes a key already holds changes
//      nothing observable;
//   L8 sharing: several handles (threads, or processes where the adapter
//      allows it) may use one store when they only create new
//      content-addressed keys and only delete keys they loaded: no value
//      another handle saved is ever lost; load_range silently skips keys
//      removed while it runs.
//
// Optional capabilities, each its own concept, detected with `if constexpr`:
//   batch_storage        s.commit(write_batch) -- all or nothing, also
//                        across a crash;
//   append_log_storage   s.append(b) -> sequence (strictly increasing, from 1)
//                        and s.read_since(seq) -> the entries after seq, in
//                        order;
//   cas_storage          s.load_versioned(k) -> optional<versioned_value> and
//                        s.cas(k, expected_version, b) -> optional<version>:
//                        the ETag / If-Match protocol of a root pointer.
//                        Version 0 means "absent": cas(k, 0, b) creates k only
//                        if it does not exist. A cas whose expected version is
//                        not the current one changes nothing and returns
//                        nullopt; of N concurrent cas calls with the same
//                        expected version exactly one succeeds. Every
//                        successful write gets a new version;
//   watchable_storage    s.watch(callback) -> watch_handle: change
//                        notification;
//   key_listing_storage  s.list_keys(p) -> the keys of load_range(p) without
//                        reading values (used by cached_storage).
//
// When a type is used as an adapter, crdt::check_storage<S>() (called by
// cached_storage and the conformance suite) stops compilation with one
// static_assert per missing operation, naming it.
//
// Thread safety: not part of the concept; every adapter in this library is
// safe to share between threads. Exception safety: adapters report I/O
// failures and bad files as crdt::error.
#pragma once

#include <crdt/core/config.hpp>
#include <crdt/detail/storage/watch.hpp>
#include <crdt/storage/key.hpp>

#include <concepts>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <utility>
#include <vector>

CRDT_BEGIN_NAMESPACE

/// A value with its version token (the ETag of the CAS protocol). Version 0
/// is never returned for a present key.
struct versioned_value {
    storage_bytes value;
    std::uint64_t version = 0;
    friend bool operator==(const versioned_value&, const versioned_value&) = default;
};

/// One entry of an append-only log.
struct log_entry {
    std::uint64_t sequence = 0;
    storage_bytes value;
    friend bool operator==(const log_entry&, const log_entry&) = default;
};

/// Saves and removes applied all-or-nothing by `commit()`. Operations apply
/// in the order they were added (a later one on the same key wins).
class write_batch {
public:
    struct operation {
        storage_key key;
        std::optional<storage_bytes> value; ///< nullopt: remove
    };

    /// Effects: adds "save `value` under `key`". Returns: `*this`.
    write_batch& save(storage_key key, std::span<const std::byte> value) {
        ops_.push_back({std::move(key), storage_bytes(value.begin(), value.end())});
        return *this;
    }
    /// Effects: adds "remove `key`". Returns: `*this`.
    write_batch& remove(storage_key key) {
        ops_.push_back({std::move(key), std::nullopt});
        return *this;
    }
    /// Returns: the operations in order.
    const std::vector<operation>& operations() const noexcept { return ops_; }
    std::size_t size() const noexcept { return ops_.size(); }
    bool empty() const noexcept { return ops_.empty(); }
    void clear() noexcept { ops_.clear(); }

private:
    std::vector<operation> ops_;
};

// --- the required pieces, one small concept each -----------------------------

template <class S>
concept storage_loads = requires(S& s, const storage_key& k) {
    { s.load(k) } -> std::convertible_to<std::optional<storage_bytes>>;
};
template <class S>
concept storage_saves = requires(S& s, const storage_key& k, std::span<const std::byte> b) {
    s.save(k, b);
};
template <class S>
concept storage_removes = requires(S& s, const storage_key& k) {
    s.remove(k);
};
template <class S>
concept storage_loads_ranges = requires(S& s, const storage_key& p) {
    { s.load_range(p) } -> std::convertible_to<std::vector<key_value>>;
};
template <class S>
concept storage_removes_ranges = requires(S& s, const storage_key& p) {
    s.remove_range(p);
};
template <class S>
concept storage_flushes = requires(S& s) {
    s.flush();
};

/// The storage-adapter concept (laws in the file comment).
template <class S>
concept storage = storage_loads<S> && storage_saves<S> && storage_removes<S> &&
    storage_loads_ranges<S> && storage_removes_ranges<S> && storage_flushes<S>;

// --- optional capabilities ----------------------------------------------------

template <class S>
concept batch_storage = storage<S> && requires(S& s, const write_batch& b) {
    s.commit(b);
};

template <class S>
concept append_log_storage = storage<S> &&
    requires(S& s, std::span<const std::byte> b, std::uint64_t seq) {
    { s.append(b) } -> std::same_as<std::uint64_t>;
    { s.read_since(seq) } -> std::convertible_to<std::vector<log_entry>>;
};

template <class S>
concept cas_storage = storage<S> &&
    requires(S& s, const storage_key& k, std::uint64_t v, std::span<const std::byte> b) {
    { s.load_versioned(k) } -> std::convertible_to<std::optional<versioned_value>>;
    { s.cas(k, v, b) } -> std::convertible_to<std::optional<std::uint64_t>>;
};

template <class S>
concept watchable_storage = storage<S> &&
    requires(S& s, std::function<void(const storage_change&)> fn) {
    { s.watch(std::move(fn)) } -> std::same_as<watch_handle>;
};

template <class S>
concept key_listing_storage = storage<S> && requires(S& s, const storage_key& p) {
    { s.list_keys(p) } -> std::convertible_to<std::vector<storage_key>>;
};

/// Effects: stops compilation, with one message per missing operation, when
///   `S` is not a storage adapter. Returns: true.
template <class S>
constexpr bool check_storage() {
    static_assert(storage_loads<S>,
                  "crdt storage adapter is missing `std::optional<crdt::storage_bytes> "
                  "load(const crdt::storage_key&)` (see docs/storage.md#the-concept)");
    static_assert(storage_saves<S>,
                  "crdt storage adapter is missing `void save(const crdt::storage_key&, "
                  "std::span<const std::byte>)` (see docs/storage.md#the-concept)");
    static_assert(storage_removes<S>,
                  "crdt storage adapter is missing `void remove(const crdt::storage_key&)` "
                  "(see docs/storage.md#the-concept)");
    static_assert(storage_loads_ranges<S>,
                  "crdt storage adapter is missing `std::vector<crdt::key_value> "
                  "load_range(const crdt::storage_key& prefix)` (see docs/storage.md#the-concept)");
    static_assert(storage_removes_ranges<S>,
                  "crdt storage adapter is missing `void remove_range(const crdt::storage_key& "
                  "prefix)` (see docs/storage.md#the-concept)");
    static_assert(storage_flushes<S>, "crdt storage adapter is missing `void flush()` (see "
                                      "docs/storage.md#the-concept)");
    return true;
}

/// Effects: as check_storage<S>(), and also requires the CAS capability.
template <class S>
constexpr bool check_cas_storage() {
    check_storage<S>();
    static_assert(
        cas_storage<S>,
        "crdt storage adapter lacks the CAS capability: add "
        "`std::optional<crdt::versioned_value> load_versioned(const crdt::storage_key&)` "
        "and `std::optional<std::uint64_t> cas(const crdt::storage_key&, std::uint64_t "
        "expected_version, std::span<const std::byte>)` (see docs/storage.md#capabilities)");
    return true;
}

/// Effects: as check_storage<S>(), and also requires the append-log capability.
template <class S>
constexpr bool check_append_log_storage() {
    check_storage<S>();
    static_assert(append_log_storage<S>,
                  "crdt storage adapter lacks the append-log capability: add "
                  "`std::uint64_t append(std::span<const std::byte>)` and "
                  "`std::vector<crdt::log_entry> read_since(std::uint64_t)` (see "
                  "docs/storage.md#capabilities)");
    return true;
}

/// Effects: as check_storage<S>(), and also requires atomic batches.
template <class S>
constexpr bool check_batch_storage() {
    check_storage<S>();
    static_assert(batch_storage<S>,
                  "crdt storage adapter lacks atomic batches: add `void commit(const "
                  "crdt::write_batch&)` (see docs/storage.md#capabilities)");
    return true;
}

CRDT_END_NAMESPACE
