// crdt/storage/cached_storage.hpp -- lazy loading and an LRU cache bounded in
// bytes, as a wrapper around any storage adapter.
//
// cached_storage<S> keeps the set of keys of the wrapped store in memory
// (read once at construction with list_keys(), or load_range() when S has no
// key listing) and reads values on demand: a load of an absent key costs no
// I/O at all, and a load of a present key is served from the cache or read
// from S and cached. The cache holds the most recently used values up to
// options::capacity_bytes (key + value + per-entry overhead); a value larger
// than the capacity is never cached. Writes go through to S first, then
// update the index and the cache (write-through), so S stays the authority.
// This is seed 004's "remote-first lazy loading": the index at startup,
// content on demand, an LRU in front.
//
// The index assumes this wrapper is the only writer of S. If other handles
// or processes write too, call refresh() (e.g. from a watch callback or
// after sqlite_storage::poll_external_changes()).
//
// Capabilities: everything S has (batch, append log, CAS, watch) is
// forwarded; list_keys is always available (from the index).
//
// Implementation: cache entries are linked into a Boost.Intrusive rbtree
// (lookup by encoded key) and a Boost.Intrusive list (recency), so one
// allocation per cached value serves both; the key index is a std::set of
// encoded keys.
//
// Complexity: load O(log n) plus, on a miss, S::load; save/remove S's cost
// plus O(log n); load_range O(m log n) plus misses.
// Thread safety: every member may be called concurrently (one mutex, held
// during calls into S). Exception safety: strong for the wrapper's state: a
// write that throws in S leaves index and cache unchanged.
#pragma once

#include <crdt/core/config.hpp>
#include <crdt/storage/concepts.hpp>
#include <crdt/storage/key.hpp>

#include <boost/intrusive/list.hpp>
#include <boost/intrusive/set.hpp>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <utility>
#include <vector>

CRDT_BEGIN_NAMESPACE
namespace detail::storage {

// One cached value. Invariant: linked into both the lookup tree and the LRU
// list while cached; `charge` is what it counts against the capacity.
struct cache_entry {
    std::string key;
    storage_bytes value;
    std::size_t charge = 0;
    boost::intrusive::set_member_hook<> by_key;
    boost::intrusive::list_member_hook<> by_use;
};

struct cache_entry_key {
    using type = std::string;
    const type& operator()(const cache_entry& e) const noexcept { return e.key; }
};

class lru_cache {
public:
    explicit lru_cache(std::size_t capacity) : capacity_(capacity) {}
    lru_cache(const lru_cache&) = delete;
    lru_cache& operator=(const lru_cache&) = delete;
    ~lru_cache() { clear(); }

    /// Returns: the cached value, marking it most recently used, or nullptr.
    const storage_bytes* get(const std::string& key) {
        const auto it = tree_.find(key);
        if (it == tree_.end()) {
            return nullptr;
        }
        lru_.erase(lru_.iterator_to(*it));
        lru_.push_front(*it);
        return &it->value;
    }

    void put(const std::string& key, std::span<const std::byte> value) {
        erase(key);
        const std::size_t charge = key.size() + value.size() + sizeof(cache_entry);
        if (charge > capacity_) {
            return;
        }
        auto e = std::make_unique<cache_entry>();
        e->key = key;
        e->value.assign(value.begin(), value.end());
        e->charge = charge;
        tree_.insert(*e);
        lru_.push_front(*e);
        bytes_ += charge;
        e.release();
        while (bytes_ > capacity_) {
            evict(lru_.back());
        }
    }

    void erase(const std::string& key) {
        const auto it = tree_.find(key);
        if (it != tree_.end()) {
            evict(*it);
        }
    }

    void clear() noexcept {
        while (!lru_.empty()) {
            evict(lru_.back());
        }
    }

    std::size_t bytes() const noexcept { return bytes_; }
    std::size_t size() const noexcept { return lru_.size(); }
    std::size_t capacity() const noexcept { return capacity_; }

private:
    using tree_t = boost::intrusive::set<
        cache_entry,
        boost::intrusive::member_hook<cache_entry, boost::intrusive::set_member_hook<>,
                                      &cache_entry::by_key>,
        boost::intrusive::key_of_value<cache_entry_key>>;
    using list_t = boost::intrusive::list<
        cache_entry, boost::intrusive::member_hook<
                         cache_entry, boost::intrusive::list_member_hook<>, &cache_entry::by_use>>;

    void evict(cache_entry& e) noexcept {
        tree_.erase(tree_.iterator_to(e));
        lru_.erase(lru_.iterator_to(e));
        bytes_ -= e.charge;
        delete &e;
    }

    std::size_t capacity_;
    std::size_t bytes_ = 0;
    tree_t tree_;
    list_t lru_;
};

} // namespace detail::storage

/// Lazy loading + LRU cache over the storage adapter `S` (see the file comment).
template <class S>
class cached_storage {
    static_assert(check_storage<S>());

public:
    /// Options of the cache.
    struct options {
        /// Upper bound of the cached keys + values + per-entry overhead.
        std::size_t capacity_bytes = std::size_t{64} << 20;
    };

    /// Cache statistics.
    struct statistics {
        std::uint64_t hits = 0;
        std::uint64_t misses = 0;
        std::uint64_t absent = 0; ///< loads answered "absent" from the index, without I/O
        std::size_t cached_bytes = 0;
        std::size_t cached_values = 0;
        std::size_t keys = 0;
    };

    /// Effects: constructs the wrapped store from `args` and reads its keys.
    /// Throws: whatever S's constructor and key listing throw.
    template <class... Args>
    explicit cached_storage(options opts, Args&&... args)
        : inner_(std::forward<Args>(args)...), cache_(opts.capacity_bytes) {
        rebuild_index();
    }

    /// Returns: the wrapped store. Writing through it directly requires refresh().
    S& inner() noexcept { return inner_; }
    const S& inner() const noexcept { return inner_; }

    /// Effects: re-reads the key index from S and empties the cache.
    void refresh() {
        std::lock_guard lock(mutex_);
        rebuild_index();
    }

    /// Returns: the value under `key`; absent keys cost no I/O.
    std::optional<storage_bytes> load(const storage_key& key) {
        std::lock_guard lock(mutex_);
        return load_locked(encode_key(key), key);
    }

    /// Effects: saves through to S, then caches the value.
    void save(const storage_key& key, std::span<const std::byte> value) {
        std::lock_guard lock(mutex_);
        inner_.save(key, value);
        auto k = encode_key(key);
        cache_.put(k, value);
        index_.insert(std::move(k));
    }

    /// Effects: removes from S, then from the index and the cache.
    void remove(const storage_key& key) {
        std::lock_guard lock(mutex_);
        inner_.remove(key);
        const auto k = encode_key(key);
        cache_.erase(k);
        index_.erase(k);
    }

    /// Returns: every entry under `prefix`, in key order, through the cache.
    std::vector<key_value> load_range(const storage_key& prefix) {
        std::lock_guard lock(mutex_);
        std::vector<key_value> out;
        const auto p = encode_key(prefix);
        std::vector<std::string> keys;
        for (auto it = index_.lower_bound(p); it != index_.end() && it->starts_with(p); ++it) {
            keys.push_back(*it);
        }
        for (const auto& k : keys) {
            auto key = decode_key(k);
            if (auto v = load_locked(k, key)) {
                out.push_back({std::move(key), std::move(*v)});
            }
        }
        return out;
    }

    /// Returns: every key under `prefix`, from the index (no I/O).
    std::vector<storage_key> list_keys(const storage_key& prefix) const {
        std::lock_guard lock(mutex_);
        std::vector<storage_key> out;
        const auto p = encode_key(prefix);
        for (auto it = index_.lower_bound(p); it != index_.end() && it->starts_with(p); ++it) {
            out.push_back(decode_key(*it));
        }
        return out;
    }

    /// Effects: removes the range in S, then from the index and the cache.
    void remove_range(const storage_key& prefix) {
        std::lock_guard lock(mutex_);
        inner_.remove_range(prefix);
        const auto p = encode_key(prefix);
        auto it = index_.lower_bound(p);
        while (it != index_.end() && it->starts_with(p)) {
            cache_.erase(*it);
            it = index_.erase(it);
        }
    }

    /// Effects: S::flush().
    void flush() {
        std::lock_guard lock(mutex_);
        inner_.flush();
    }

    /// Effects: S::commit(batch), then updates index and cache.
    void commit(const write_batch& batch) requires batch_storage<S> {
        std::lock_guard lock(mutex_);
        inner_.commit(batch);
        for (const auto& op : batch.operations()) {
            auto k = encode_key(op.key);
            if (op.value) {
                cache_.put(k, *op.value);
                index_.insert(std::move(k));
            } else {
                cache_.erase(k);
                index_.erase(k);
            }
        }
    }

    /// Effects: S::append(value). Returns: its sequence.
    std::uint64_t append(std::span<const std::byte> value) requires append_log_storage<S> {
        std::lock_guard lock(mutex_);
        return inner_.append(value);
    }

    /// Returns: S::read_since(after).
    std::vector<log_entry> read_since(std::uint64_t after) requires append_log_storage<S> {
        std::lock_guard lock(mutex_);
        return inner_.read_since(after);
    }

    /// Returns: S::load_versioned(key) (not cached: versions must be fresh).
    std::optional<versioned_value> load_versioned(const storage_key& key) requires cas_storage<S> {
        std::lock_guard lock(mutex_);
        return inner_.load_versioned(key);
    }

    /// Effects: S::cas(...); on success updates index and cache.
    std::optional<std::uint64_t> cas(const storage_key& key, std::uint64_t expected,
                                     std::span<const std::byte> value) requires cas_storage<S> {
        std::lock_guard lock(mutex_);
        auto v = inner_.cas(key, expected, value);
        const auto k = encode_key(key);
        if (v) {
            cache_.put(k, value);
            index_.insert(k);
        } else {
            cache_.erase(k); // another writer changed it: forget our copy
        }
        return v;
    }

    /// Effects: S::watch(fn).
    watch_handle
    watch(std::function<void(const storage_change&)> fn) requires watchable_storage<S> {
        return inner_.watch(std::move(fn));
    }

    /// Returns: hit/miss counters and the cache's size.
    statistics stats() const {
        std::lock_guard lock(mutex_);
        statistics s = stats_;
        s.cached_bytes = cache_.bytes();
        s.cached_values = cache_.size();
        s.keys = index_.size();
        return s;
    }

private:
    std::optional<storage_bytes> load_locked(const std::string& k, const storage_key& key) {
        if (index_.find(k) == index_.end()) {
            ++stats_.absent;
            return std::nullopt;
        }
        if (const auto* v = cache_.get(k)) {
            ++stats_.hits;
            return *v;
        }
        ++stats_.misses;
        auto v = inner_.load(key);
        if (v) {
            cache_.put(k, *v);
        } else {
            index_.erase(k); // removed behind our back
        }
        return v;
    }

    void rebuild_index() {
        cache_.clear();
        index_.clear();
        if constexpr (key_listing_storage<S>) {
            for (const auto& k : inner_.list_keys({})) {
                index_.insert(encode_key(k));
            }
        } else {
            for (const auto& kv : inner_.load_range({})) {
                index_.insert(encode_key(kv.key));
            }
        }
    }

    mutable std::mutex mutex_;
    S inner_;
    detail::storage::lru_cache cache_;
    std::set<std::string> index_;
    statistics stats_;
};

CRDT_END_NAMESPACE
