// crdt/detail/storage/watch.hpp -- the subscriber list behind watch().
//
// Invariants: `subscribers_` maps a subscription id to its callback; ids are
// never reused. The list lives in a shared_ptr so a watch_handle that
// outlives its adapter unsubscribes harmlessly (it holds a weak_ptr).
// notify() copies the callbacks under the mutex and calls them without it,
// so a callback may call back into the adapter or drop its own handle.
#pragma once

#include <crdt/core/config.hpp>
#include <crdt/storage/key.hpp>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

CRDT_BEGIN_NAMESPACE

/// What a change notification reports.
struct storage_change {
    enum class kind : unsigned char {
        saved,    ///< `key` was saved (or created by cas)
        removed,  ///< `key` was removed (remove_range reports each removed key)
        appended, ///< an entry was appended to the log; `sequence` is its number
        external, ///< another process changed the store; reload what you need
    };
    kind what = kind::saved;
    storage_key key;
    std::uint64_t sequence = 0;
};

namespace detail::storage {

class watch_list {
public:
    using callback = std::function<void(const storage_change&)>;

    std::uint64_t add(callback fn) {
        std::lock_guard lock(mutex_);
        const auto id = next_id_++;
        subscribers_.emplace(id, std::move(fn));
        count_.store(subscribers_.size(), std::memory_order_release);
        return id;
    }

    void remove(std::uint64_t id) {
        std::lock_guard lock(mutex_);
        subscribers_.erase(id);
        count_.store(subscribers_.size(), std::memory_order_release);
    }

    bool empty() const {
        std::lock_guard lock(mutex_);
        return subscribers_.empty();
    }

    /// Returns: whether anyone watches, without taking the lock: writers
    ///   check it before they build a change to report (a watcher added
    ///   concurrently may miss that write, as if added just after it).
    bool active() const noexcept { return count_.load(std::memory_order_acquire) != 0; }

    void notify(const std::vector<storage_change>& changes) const {
        if (changes.empty()) {
            return;
        }
        std::vector<callback> fns;
        {
            std::lock_guard lock(mutex_);
            fns.reserve(subscribers_.size());
            for (const auto& [id, fn] : subscribers_) {
                fns.push_back(fn);
            }
        }
        for (const auto& fn : fns) {
            for (const auto& c : changes) {
                fn(c);
            }
        }
    }

private:
    mutable std::mutex mutex_;
    std::map<std::uint64_t, callback> subscribers_;
    std::atomic<std::size_t> count_{0};
    std::uint64_t next_id_ = 1;
};

} // namespace detail::storage

/// An RAII subscription returned by an adapter's watch(); destroying it (or
/// calling reset()) stops the notifications. Movable, not copyable.
class watch_handle {
public:
    watch_handle() = default;
    watch_handle(std::weak_ptr<detail::storage::watch_list> list, std::uint64_t id) noexcept
        : list_(std::move(list)), id_(id) {}
    watch_handle(watch_handle&& other) noexcept
        : list_(std::move(other.list_)), id_(std::exchange(other.id_, 0)) {}
    watch_handle& operator=(watch_handle&& other) noexcept {
        if (this != &other) {
            reset();
            list_ = std::move(other.list_);
            id_ = std::exchange(other.id_, 0);
        }
        return *this;
    }
    watch_handle(const watch_handle&) = delete;
    watch_handle& operator=(const watch_handle&) = delete;
    ~watch_handle() { reset(); }

    /// Effects: unsubscribes (no effect if already done).
    void reset() noexcept {
        if (id_ != 0) {
            if (auto l = list_.lock()) {
                try {
                    l->remove(id_);
                } catch (...) { // mutex failure: nothing sensible to do in a destructor
                }
            }
            id_ = 0;
        }
    }

    /// Returns: whether this handle holds a subscription.
    bool active() const noexcept { return id_ != 0; }

private:
    std::weak_ptr<detail::storage::watch_list> list_;
    std::uint64_t id_ = 0;
};

CRDT_END_NAMESPACE
