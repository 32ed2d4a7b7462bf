// crdt/storage/memory_storage.hpp -- an in-memory storage adapter for tests
// and caches, which can simulate a power loss.
//
// memory_storage models every capability of the storage concept: atomic
// batches, an append-only log, CAS of versioned values, change notification
// and key listing. Several handles can share one store (share()), which is
// how tests "reopen" it. The durability level decides which writes survive
// simulate_crash(): at durability::full every acknowledged write survives; at
// normal and none only what was written before the last flush() does
// (memory_storage has no operating system that could write back for it).
//
// Complexity: O(log n) per key operation, O(log n + m) for a range of m keys.
// Memory: one copy of every live value, two at normal/none (the flushed
// image), and flush() copies the store at normal/none.
// Thread safety: every member may be called concurrently from any thread;
// handles made by share() may be used from different threads.
// Exception safety: strong for every writing member (std::bad_alloc only).
#pragma once

#include <crdt/core/config.hpp>
#include <crdt/detail/storage/watch.hpp>
#include <crdt/storage/concepts.hpp>
#include <crdt/storage/durability.hpp>
#include <crdt/storage/key.hpp>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <vector>

CRDT_BEGIN_NAMESPACE
namespace detail::storage {

// The shared state of memory_storage handles. Invariants: `live` is what
// readers see; `durable` is what survives simulate_crash(); at
// durability::full both are always equal. Versions come from one counter and
// are never reused, so a version identifies one write.
struct memory_state {
    struct entry {
        storage_bytes value;
        std::uint64_t version = 0;
    };
    struct image {
        std::map<storage_key, entry> kv;
        std::vector<storage_bytes> log; // entry i has sequence i + 1
    };
    durability level = durability::full;
    mutable std::mutex mutex;
    image live;
    image durable;
    std::uint64_t next_version = 1;
    std::shared_ptr<watch_list> watchers = std::make_shared<watch_list>();
};

} // namespace detail::storage

/// An in-memory storage adapter (see the file comment).
class memory_storage {
public:
    /// Options for a new store.
    struct options {
        crdt::durability durability = crdt::durability::full;
    };

    /// Effects: an empty store at durability::full.
    memory_storage() : memory_storage(options{}) {}

    /// Effects: an empty store with the given options.
    explicit memory_storage(options opts)
        : state_(std::make_shared<detail::storage::memory_state>()) {
        state_->level = opts.durability;
    }

    /// Returns: a new handle to the same store (like opening it again).
    memory_storage share() const { return memory_storage(state_); }

    /// Returns: the value under `key`, or nullopt. Complexity: O(log n).
    std::optional<storage_bytes> load(const storage_key& key) const {
        std::lock_guard lock(state_->mutex);
        const auto it = state_->live.kv.find(key);
        if (it == state_->live.kv.end()) {
            return std::nullopt;
        }
        return it->second.value;
    }

    /// Effects: stores `value` under `key`. Complexity: O(log n + value size).
    void save(const storage_key& key, std::span<const std::byte> value) {
        {
            std::lock_guard lock(state_->mutex);
            put_locked(key, value);
        }
        if (watched()) {
            notify({{storage_change::kind::saved, key, 0}});
        }
    }

    /// Effects: removes `key` if present. Complexity: O(log n).
    void remove(const storage_key& key) {
        bool erased = false;
        {
            std::lock_guard lock(state_->mutex);
            erased = state_->live.kv.erase(key) != 0;
        }
        if (erased) {
            if (watched()) {
                notify({{storage_change::kind::removed, key, 0}});
            }
        }
    }

    /// Returns: every entry whose key starts with `prefix`, in key order.
    /// Complexity: O(log n + m) for m results.
    std::vector<key_value> load_range(const storage_key& prefix) const {
        std::vector<key_value> out;
        std::lock_guard lock(state_->mutex);
        for (auto it = state_->live.kv.lower_bound(prefix);
             it != state_->live.kv.end() && it->first.starts_with(prefix); ++it) {
            out.push_back({it->first, it->second.value});
        }
        return out;
    }

    /// Returns: every key starting with `prefix`, in key order.
    std::vector<storage_key> list_keys(const storage_key& prefix) const {
        std::vector<storage_key> out;
        std::lock_guard lock(state_->mutex);
        for (auto it = state_->live.kv.lower_bound(prefix);
             it != state_->live.kv.end() && it->first.starts_with(prefix); ++it) {
            out.push_back(it->first);
        }
        return out;
    }

    /// Effects: removes every key starting with `prefix`.
    void remove_range(const storage_key& prefix) {
        std::vector<storage_change> changes;
        {
            std::lock_guard lock(state_->mutex);
            auto& kv = state_->live.kv;
            auto it = kv.lower_bound(prefix);
            while (it != kv.end() && it->first.starts_with(prefix)) {
                changes.push_back({storage_change::kind::removed, it->first, 0});
                it = kv.erase(it);
            }
        }
        notify(changes);
    }

    /// Effects: makes every acknowledged write survive simulate_crash().
    /// Complexity: O(1) at durability::full; a copy of the store otherwise.
    void flush() {
        std::lock_guard lock(state_->mutex);
        if (state_->level != crdt::durability::full) {
            state_->durable = state_->live;
        }
    }

    /// Effects: applies every operation of `batch`, all or nothing.
    void commit(const write_batch& batch) {
        std::vector<storage_change> changes;
        {
            std::lock_guard lock(state_->mutex);
            auto copy = state_->live.kv; // strong guarantee: build, then swap
            for (const auto& op : batch.operations()) {
                if (op.value) {
                    copy[op.key] = {*op.value, state_->next_version++};
                    changes.push_back({storage_change::kind::saved, op.key, 0});
                } else {
                    copy.erase(op.key);
                    changes.push_back({storage_change::kind::removed, op.key, 0});
                }
            }
            state_->live.kv.swap(copy);
        }
        notify(changes);
    }

    /// Effects: appends `value` to the log. Returns: its sequence number (1, 2, ...).
    std::uint64_t append(std::span<const std::byte> value) {
        std::uint64_t seq = 0;
        {
            std::lock_guard lock(state_->mutex);
            state_->live.log.emplace_back(value.begin(), value.end());
            seq = state_->live.log.size();
        }
        if (watched()) {
            notify({{storage_change::kind::appended, {}, seq}});
        }
        return seq;
    }

    /// Returns: the log entries with a sequence number greater than `after`.
    std::vector<log_entry> read_since(std::uint64_t after) const {
        std::vector<log_entry> out;
        std::lock_guard lock(state_->mutex);
        const auto& log = state_->live.log;
        for (std::uint64_t i = after; i < log.size(); ++i) {
            out.push_back({i + 1, log[static_cast<std::size_t>(i)]});
        }
        return out;
    }

    /// Returns: the value and version under `key`, or nullopt.
    std::optional<versioned_value> load_versioned(const storage_key& key) const {
        std::lock_guard lock(state_->mutex);
        const auto it = state_->live.kv.find(key);
        if (it == state_->live.kv.end()) {
            return std::nullopt;
        }
        return versioned_value{it->second.value, it->second.version};
    }

    /// Effects: if the version under `key` is `expected` (0: absent), stores
    ///   `value` under a new version. Returns: the new version, or nullopt
    ///   (and no change) when the expected version is stale.
    std::optional<std::uint64_t> cas(const storage_key& key, std::uint64_t expected,
                                     std::span<const std::byte> value) {
        std::uint64_t v = 0;
        {
            std::lock_guard lock(state_->mutex);
            const auto it = state_->live.kv.find(key);
            const std::uint64_t current = it == state_->live.kv.end() ? 0 : it->second.version;
            if (current != expected) {
                return std::nullopt;
            }
            v = put_locked(key, value);
        }
        if (watched()) {
            notify({{storage_change::kind::saved, key, 0}});
        }
        return v;
    }

    /// Effects: `fn` is called after every write made through any handle of
    ///   this store, until the returned handle is destroyed.
    watch_handle watch(std::function<void(const storage_change&)> fn) {
        const auto id = state_->watchers->add(std::move(fn));
        return watch_handle(state_->watchers, id);
    }

    /// Effects: simulates a power loss: every write not yet durable (see the
    ///   file comment) is dropped, in all handles.
    void simulate_crash() {
        std::lock_guard lock(state_->mutex);
        if (state_->level != crdt::durability::full) {
            state_->live = state_->durable;
        }
    }

    /// Returns: the durability level.
    crdt::durability durability() const noexcept { return state_->level; }

private:
    explicit memory_storage(std::shared_ptr<detail::storage::memory_state> s) noexcept
        : state_(std::move(s)) {}

    std::uint64_t put_locked(const storage_key& key, std::span<const std::byte> value) {
        const auto v = state_->next_version++;
        auto& e = state_->live.kv[key];
        e.value.assign(value.begin(), value.end());
        e.version = v;
        return v;
    }

    bool watched() const noexcept { return state_->watchers->active(); }
    void notify(const std::vector<storage_change>& changes) const {
        if (watched()) {
            state_->watchers->notify(changes);
        }
    }

    std::shared_ptr<detail::storage::memory_state> state_;
};

CRDT_END_NAMESPACE
