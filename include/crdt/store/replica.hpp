// crdt/store/replica.hpp -- a replicated value bound to a storage adapter
// and a transport: durable local changes, sync with peers, compaction.
//
// crdt::store::replica<T, Storage, Transport> keeps one value of a syncable type T
// (crdt/sync/concepts.hpp) under the storage prefix {document}:
//
//   {document, "snapshot", <hash of the version>}   whole states
//   {document, "delta", <hash of the chunk>}        deltas
//
// (chunk format: crdt/detail/store/chunk.hpp). Opening loads every snapshot
// and every delta chunk and merges them; a delta received from a peer as
// delta_since(v) is stored with its base v and merged only once the loaded
// state includes v, so load order never matters. Then:
//   * change(f): f mutates the value and returns the delta its mutators
//     returned; the delta is saved (and flushed) as a chunk before it is
//     announced to peers, so a change a peer has seen is never lost here;
//   * poll(): transport events go to the sync protocol (crdt/sync/
//     session.hpp); an incoming delta is merged, saved, then acknowledged;
//     every tick_interval the protocol retransmits what peers lack;
//   * compaction (automatic when the deltas saved since the last snapshot
//     outweigh it, see replica_defaults, or by compact()): a snapshot named
//     by its version is saved, then exactly the chunks this replica has
//     merged are removed; chunks other processes wrote meanwhile survive and
//     are merged by refresh() (called by poll() when the storage reports a
//     change, and callable directly).
//   * on_change(f): f(delta, origin) after each local, remote or storage
//     change, with the delta that was merged.
//
// Thread safety (the PARStore model): one lock for the in-memory value and
// one serial "I/O" lock for storage and transport. read() and state() may be
// called from any thread at any time and only wait for the memory lock, never
// for I/O; change(), poll(), tick(), refresh() and compact() may be called
// from any thread and run one at a time. Callbacks run on the thread that
// caused them, holding the I/O lock: they may call read() and state(), not
// the other members. The storage adapter and the transport are used only
// under the I/O lock; they must outlive the replica.
//
// Exception safety: a storage failure propagates out of change()/poll();
// the change stays in memory and is retried (saved) before anything is
// announced or acknowledged again, so nothing unsaved ever reaches a peer.
// Bad bytes from peers are reported to on_error(), never thrown; a corrupt
// chunk at open throws crdt::error naming its key.
#pragma once

#include <crdt/codec/codec.hpp>
#include <crdt/core/config.hpp>
#include <crdt/core/error.hpp>
#include <crdt/detail/store/chunk.hpp>
#include <crdt/storage/concepts.hpp>
#include <crdt/storage/key.hpp>
#include <crdt/sync/concepts.hpp>
#include <crdt/sync/session.hpp>
#include <crdt/transport/concepts.hpp>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <shared_mutex>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

CRDT_BEGIN_NAMESPACE

/// Policy of replica; derive from it to change a member.
struct replica_defaults {
    /// The sync protocol's policy.
    using sync_policy = sync_defaults;
    /// Compact when the delta bytes saved since the last snapshot exceed
    ///   both this and `compact_ratio` times the snapshot's size.
    static constexpr std::uint64_t compact_min_bytes = 256 * 1024;
    static constexpr double compact_ratio = 1.0;
    /// Whether change() and poll() compact automatically.
    static constexpr bool auto_compact = true;
    /// Real time between protocol ticks inside poll().
    static constexpr std::chrono::milliseconds tick_interval{100};
};

/// Where a change came from.
enum class change_origin : unsigned char {
    local,   ///< change() on this replica
    remote,  ///< a peer, through the transport
    storage, ///< another process, through the shared storage (refresh())
};

/// Counters of a replica.
struct replica_stats {
    std::uint64_t chunks_saved = 0;   ///< delta chunks written
    std::uint64_t chunks_loaded = 0;  ///< chunks merged from storage (open and refresh)
    std::uint64_t delta_bytes = 0;    ///< delta bytes saved or loaded since the last snapshot
    std::uint64_t snapshot_bytes = 0; ///< size of the last snapshot written or loaded
    std::uint64_t compactions = 0;
    std::uint64_t chunks_removed = 0; ///< chunks compaction deleted
    std::size_t chunks_waiting = 0;   ///< loaded deltas whose base is not merged yet
    sync_stats sync;                  ///< the protocol's counters
};

namespace store {

/// A type with its own whole-state snapshot (crdt::sequence, crdt::text):
/// `t.snapshot()` gives bytes that `T::load_snapshot(bytes, t.self(), what)`
/// turns back into an equal value (same content, version and history)
/// faster than merging `delta_since({})` into an empty value. The replica
/// then stores compaction snapshots in that form.
template <class T>
concept native_snapshot = requires(T& m, const T& t, std::span<const std::byte> b,
                                   std::string_view w) {
    { t.snapshot() } -> std::convertible_to<std::vector<std::byte>>;
    { T::load_snapshot(b, t.self(), w) } -> std::same_as<T>;
    m.merge(t);
};

/// A replicated value bound to storage and a transport (see the file comment).
/// It lives in namespace crdt::store (not crdt) because a class template
/// named `replica` in crdt would hijack `x->replica < y` member expressions
/// in every template of the library.
template <syncable T, storage S, transport Tr, class Policy = replica_defaults>
class replica {
public:
    using value_type = T;
    using delta_type = delta_t<T>;
    using replica_type = typename T::replica_type;
    using version_type = typename T::version_type;
    using change_handler = std::function<void(const delta_type& delta, change_origin)>;
    using error_handler = std::function<void(const error&)>;

    /// Effects: opens `document` in `storage` as replica `id`, loading every
    ///   snapshot and delta chunk, and joins the peers of `transport`.
    /// Throws: crdt::error naming the key of a corrupt chunk; whatever the
    ///   storage throws.
    replica(S& storage, Tr& transport, std::string document, replica_type id)
        : storage_(&storage), transport_(&transport), document_(std::move(document)),
          state_(std::move(id)),
          session_(document_, std::string(transport.self()), random_session()) {
        session_.on_error([this](peer_id, const error& e) { report(e); });
        if constexpr (watchable_storage<S>) {
            const storage_key prefix{document_};
            watch_ = storage.watch([this, prefix](const storage_change& c) {
                if (c.what == storage_change::kind::external) {
                    storage_dirty_.store(true, std::memory_order_relaxed);
                } else if (c.what == storage_change::kind::saved && c.key.starts_with(prefix)) {
                    std::lock_guard lock(changed_mutex_);
                    changed_.push_back(c.key);
                }
            });
        }
        std::lock_guard io(io_mutex_);
        load(false);
    }

    replica(const replica&) = delete;
    replica& operator=(const replica&) = delete;

    /// Returns: the document id (the storage prefix and the sync document).
    const std::string& document() const noexcept { return document_; }

    /// Returns: f(value) under the memory lock (shared: readers run together).
    template <class F>
    decltype(auto) read(F&& f) const {
        std::shared_lock lock(state_mutex_);
        return std::forward<F>(f)(std::as_const(state_));
    }

    /// Returns: a copy of the value.
    T state() const {
        std::shared_lock lock(state_mutex_);
        return state_;
    }

    /// Returns: the value's version.
    version_type version() const {
        std::shared_lock lock(state_mutex_);
        return state_.version();
    }

    /// Effects: `delta = f(value)` under the memory lock, where f applies
    ///   mutators to the value and returns the delta they produced (merge
    ///   several mutators' deltas into one to make one chunk); then saves
    ///   the delta durably, announces it to peers and calls on_change.
    /// Returns: the delta.
    /// Throws: whatever f or the storage throws (see the file comment).
    template <class F>
    delta_type change(F&& f) {
        std::lock_guard io(io_mutex_);
        make_durable();
        delta_type delta;
        version_type before;
        {
            std::unique_lock lock(state_mutex_);
            before = state_.version();
            delta = std::forward<F>(f)(state_);
        }
        persist(delta, nullptr);
        make_durable(); // before anyone hears of it
        session_.announce(delta, before, state_, sender());
        notify(delta, change_origin::local);
        maybe_compact();
        return delta;
    }

    /// Effects: hands every pending transport event to the sync protocol,
    ///   sends acknowledgements, runs a protocol tick when tick_interval
    ///   has passed, and merges chunks other processes saved if the storage
    ///   reported a change.
    /// Returns: the number of transport events handled.
    std::size_t poll() {
        std::lock_guard io(io_mutex_);
        make_durable();
        if (storage_dirty_.exchange(false, std::memory_order_relaxed)) {
            load(true);
        }
        load_changed();
        std::vector<transport_event> events;
        transport_->poll([&](transport_event&& ev) { events.push_back(std::move(ev)); });
        auto apply = [this](delta_type&& d, const version_type* base) {
            return apply_remote(std::move(d), base);
        };
        for (auto& ev : events) {
            switch (ev.what) {
            case transport_event::kind::joined:
                session_.peer_joined(ev.peer, state_, sender());
                break;
            case transport_event::kind::left: session_.peer_left(ev.peer); break;
            case transport_event::kind::message:
                session_.receive(ev.peer, ev.bytes, state_, apply, sender());
                break;
            }
        }
        make_durable(); // one flush for every delta received, before the acks
        session_.flush(state_, sender());
        const auto now = std::chrono::steady_clock::now();
        if (now - last_tick_ >= Policy::tick_interval) {
            last_tick_ = now;
            session_.tick(state_, sender());
        }
        maybe_compact();
        return events.size();
    }

    /// Effects: one protocol tick now (retransmissions, repeated hellos).
    ///   Simulations with virtual time call this instead of waiting.
    void tick() {
        std::lock_guard io(io_mutex_);
        make_durable();
        session_.tick(state_, sender());
    }

    /// Effects: merges snapshots and deltas other processes saved under
    ///   this document since they were last looked at.
    void refresh() {
        std::lock_guard io(io_mutex_);
        load(true);
    }

    /// Effects: saves a snapshot of the value named by its version, then
    ///   removes every chunk this replica has merged (and not the others).
    void compact() {
        std::lock_guard io(io_mutex_);
        compact_locked();
    }

    /// Effects: `f` is called after every change (see the file comment).
    void on_change(change_handler f) {
        std::lock_guard io(io_mutex_);
        on_change_ = std::move(f);
    }

    /// Effects: `f` receives every error in bytes from outside that was
    ///   rejected (malformed or replayed messages, rejected deltas).
    void on_error(error_handler f) {
        std::lock_guard io(io_mutex_);
        on_error_ = std::move(f);
    }

    /// Returns: whether every connected peer has acknowledged our version.
    bool settled() const {
        std::lock_guard io(io_mutex_);
        return session_.settled(state_);
    }

    /// Returns: the peers the protocol is talking to.
    std::vector<peer_id> peers() const {
        std::lock_guard io(io_mutex_);
        return session_.peers();
    }

    /// Returns: the counters so far.
    replica_stats stats() const {
        std::lock_guard io(io_mutex_);
        replica_stats s = stats_;
        s.chunks_waiting = waiting_.size();
        s.sync = session_.stats();
        return s;
    }

private:
    struct pending {
        delta_type delta;
        std::optional<version_type> base;
    };
    struct waiting_chunk {
        storage_key key;
        version_type base;
        delta_type delta;
        std::size_t bytes = 0;
    };

    static std::uint64_t random_session() {
        std::random_device rd;
        std::uint64_t s = 0;
        while (s == 0) {
            s = (std::uint64_t{rd()} << 32) ^ rd();
        }
        return s;
    }

    storage_key key(std::string_view kind, std::string name) const {
        return storage_key{document_, kind, name};
    }

    auto sender() {
        return [this](peer_id p, std::span<const std::byte> b) { return transport_->send(p, b); };
    }

    void report(const error& e) {
        if (on_error_) {
            on_error_(e);
        }
    }

    void notify(const delta_type& delta, change_origin o) {
        if (on_change_) {
            on_change_(delta, o);
        }
    }

    // Saves what is merged and not saved, then flushes what is saved and not
    // flushed: afterwards everything in memory survives a crash.
    void make_durable() {
        save_unsaved();
        if (unflushed_) {
            storage_->flush();
            unflushed_ = false;
        }
    }

    // Saves every delta merged into memory and not yet saved, in order.
    void save_unsaved() {
        while (!unsaved_.empty()) {
            const pending& p = unsaved_.front();
            save_chunk(p.delta, p.base ? &*p.base : nullptr);
            unsaved_.erase(unsaved_.begin());
        }
    }

    // Saves `delta` (merged into memory already) durably; if that fails it
    // is kept in unsaved_ for the next attempt and the error propagates.
    void persist(const delta_type& delta, const version_type* base) {
        if (!unsaved_.empty()) {
            unsaved_.push_back(pending{delta, base ? std::optional(*base) : std::nullopt});
            save_unsaved();
            return;
        }
        try {
            save_chunk(delta, base);
        } catch (...) {
            unsaved_.push_back(pending{delta, base ? std::optional(*base) : std::nullopt});
            throw;
        }
    }

    void save_chunk(const delta_type& delta, const version_type* base) {
        const std::vector<std::byte> base_bytes =
            base ? crdt::encode(*base) : std::vector<std::byte>{};
        const auto bytes = detail::store::encode_chunk(
            detail::store::chunk_kind::delta, base ? &base_bytes : nullptr, crdt::encode(delta));
        const storage_key k = key("delta", detail::store::content_name(bytes));
        storage_->save(k, bytes);
        unflushed_ = true;
        folded_.insert(k);
        ++stats_.chunks_saved;
        stats_.delta_bytes += bytes.size();
    }

    bool apply_remote(delta_type&& delta, const version_type* base) {
        try {
            std::unique_lock lock(state_mutex_);
            state_.merge(delta);
        } catch (const error& e) {
            report(e); // e.g. a timestamp too far ahead (clock_skew): nothing changed
            return false;
        }
        persist(delta, base);
        notify(delta, change_origin::remote);
        return true;
    }

    // Merges every chunk under the document not merged yet (all at open).
    void load(bool from_refresh) {
        for (const char* kind : {"snapshot", "delta"}) {
            for (auto& kv : storage_->load_range(storage_key{document_, kind})) {
                ingest(kv.key, kv.value, from_refresh);
            }
        }
        drain_waiting(from_refresh);
    }

    // Merges the chunks the storage reported as saved (by this process's
    // other handles or, for adapters that see them, other processes).
    void load_changed() {
        std::vector<storage_key> keys;
        {
            std::lock_guard lock(changed_mutex_);
            keys.swap(changed_);
        }
        bool any = false;
        for (const auto& k : keys) {
            if (k.size() != 3 || folded_.contains(k) || waiting_keys_.contains(k)) {
                continue; // our own write, or not a chunk
            }
            if (auto v = storage_->load(k)) {
                ingest(k, *v, true);
                any = true;
            }
        }
        if (any) {
            drain_waiting(true);
        }
    }

    // One chunk: a snapshot is merged now; a delta waits for its base. At
    // open a corrupt chunk throws; later it is reported and skipped.
    void ingest(const storage_key& k, const storage_bytes& v, bool from_refresh) {
        if (k.size() != 3 || folded_.contains(k) || waiting_keys_.contains(k) || bad_.contains(k)) {
            return;
        }
        if (from_refresh) {
            try {
                ingest_chunk(k, v, true);
            } catch (const error& e) {
                bad_.insert(k);
                report(e);
            }
        } else {
            ingest_chunk(k, v, false);
        }
    }

    void ingest_chunk(const storage_key& k, const storage_bytes& v, bool from_refresh) {
        const std::string what = k.to_string();
        if (k[1] == "snapshot") {
            auto c = detail::store::decode_chunk(v, what);
            if (c.kind == detail::store::chunk_kind::native_snapshot) {
                ingest_native_snapshot(c, what, from_refresh);
            } else {
                if (c.kind != detail::store::chunk_kind::snapshot) {
                    throw error(errc::invalid_value, what + ": chunk kind does not match its key");
                }
                delta_type snapshot = crdt::decode<delta_type>(c.payload, what);
                {
                    std::unique_lock lock(state_mutex_);
                    state_.merge(snapshot);
                }
                if (from_refresh) {
                    notify(snapshot, change_origin::storage);
                }
            }
            folded_.insert(k);
            ++stats_.chunks_loaded;
            stats_.snapshot_bytes = v.size();
        } else if (k[1] == "delta") {
            auto c = decode(k, v, detail::store::chunk_kind::delta);
            waiting_chunk w{k, {}, crdt::decode<delta_type>(c.payload, what), v.size()};
            if (c.has_base) {
                w.base = crdt::decode<version_type>(c.base, what + " (base)");
            }
            waiting_keys_.insert(k);
            waiting_.push_back(std::move(w));
        }
    }

    // A native snapshot chunk: loaded without replaying (T::load_snapshot),
    // then taken whole when nothing is merged yet, else merged.
    void ingest_native_snapshot(const detail::store::chunk& c, const std::string& what,
                                bool from_refresh) {
        if constexpr (native_snapshot<T>) {
            T loaded = T::load_snapshot(c.payload, state_.self(), what);
            std::optional<delta_type> news;
            {
                std::unique_lock lock(state_mutex_);
                if (from_refresh) {
                    news = loaded.delta_since(state_.version());
                }
                if (state_.version() == version_type{} && state_.buffered() == 0) {
                    state_ = std::move(loaded);
                } else {
                    state_.merge(loaded);
                }
            }
            if (news) {
                notify(*news, change_origin::storage);
            }
        } else {
            throw error(errc::invalid_value,
                        what + ": a native snapshot chunk, but this type has none");
        }
    }

    // Merges waiting deltas whose base the value includes, until none.
    void drain_waiting(bool from_refresh) {
        for (bool progress = true; progress;) {
            progress = false;
            for (auto it = waiting_.begin(); it != waiting_.end();) {
                if (!state_.version().includes(it->base)) {
                    ++it;
                    continue;
                }
                {
                    std::unique_lock lock(state_mutex_);
                    state_.merge(it->delta);
                }
                folded_.insert(it->key);
                waiting_keys_.erase(it->key);
                ++stats_.chunks_loaded;
                stats_.delta_bytes += it->bytes;
                if (from_refresh) {
                    notify(it->delta, change_origin::storage);
                }
                it = waiting_.erase(it);
                progress = true;
            }
        }
    }

    static detail::store::chunk decode(const storage_key& k, const storage_bytes& v,
                                       detail::store::chunk_kind expected) {
        auto c = detail::store::decode_chunk(v, k.to_string());
        if (c.kind != expected) {
            throw error(errc::invalid_value, k.to_string() + ": chunk kind does not match its key");
        }
        return c;
    }

    void maybe_compact() {
        if constexpr (Policy::auto_compact) {
            const double limit = static_cast<double>(stats_.snapshot_bytes) * Policy::compact_ratio;
            if (stats_.delta_bytes > Policy::compact_min_bytes &&
                static_cast<double>(stats_.delta_bytes) > limit) {
                compact_locked();
            }
        }
    }

    void compact_locked() {
        save_unsaved();
        const auto version_bytes = crdt::encode(state_.version());
        std::vector<std::byte> bytes;
        if constexpr (native_snapshot<T>) {
            bytes = detail::store::encode_chunk(detail::store::chunk_kind::native_snapshot, nullptr,
                                                state_.snapshot());
        } else {
            bytes = detail::store::encode_chunk(detail::store::chunk_kind::snapshot, nullptr,
                                                crdt::encode(state_.delta_since({})));
        }
        const storage_key k = key("snapshot", detail::store::content_name(version_bytes));
        storage_->save(k, bytes);
        storage_->flush();
        unflushed_ = false;
        for (const auto& old : folded_) {
            if (old != k) {
                storage_->remove(old);
                ++stats_.chunks_removed;
            }
        }
        storage_->flush();
        folded_.clear();
        folded_.insert(k);
        ++stats_.compactions;
        stats_.delta_bytes = 0;
        stats_.snapshot_bytes = bytes.size();
    }

    S* storage_;
    Tr* transport_;
    std::string document_;
    mutable std::shared_mutex state_mutex_; // guards state_ (writers also hold io_mutex_)
    mutable std::mutex io_mutex_;           // guards everything else
    T state_;
    sync_session<T, typename Policy::sync_policy> session_;
    std::vector<pending> unsaved_;
    bool unflushed_ = false;             // a chunk was saved since the last flush()
    std::set<storage_key> folded_;       // chunks whose content is in state_
    std::set<storage_key> waiting_keys_; // chunks loaded whose base is not in state_ yet
    std::set<storage_key> bad_;          // corrupt chunks found after open (reported once)
    std::vector<waiting_chunk> waiting_;
    std::atomic<bool> storage_dirty_{false};
    std::mutex changed_mutex_; // guards changed_ (filled by the storage's watch)
    std::vector<storage_key> changed_;
    std::optional<watch_handle> watch_;
    change_handler on_change_;
    error_handler on_error_;
    replica_stats stats_;
    std::chrono::steady_clock::time_point last_tick_ = std::chrono::steady_clock::now();
};

} // namespace store

CRDT_END_NAMESPACE
