// crdt/detail/dot_store/kernel.hpp -- the dot-store kernel of the delta-state
// replicated types (Almeida, Shoker, Baquero: "Delta state replicated data
// types", 2018; the reference C++ design is CBaquero/delta-enabled-crdts).
//
// A causal state is a pair (store, context). The context (a
// basic_causal_context) is every dot the replica has seen; the store holds
// the dots that are still alive, with their payloads:
//
//   dot_set<R>           a set of dots (or_set elements, flags);
//   dot_fun<R, V>        dot -> immutable V (registers, counters);
//   dot_map<K, S, Map>   K -> non-empty store S (or_set, or_map, nested maps).
//
// Invariants: every dot in the store is in the context; a dot appears once
// in the whole store (never under two keys); a dot_map never holds an empty
// substore. A dot in the context but not in the store was removed: there is
// no per-element tombstone.
//
// THE join (one rule, applied by every store kind): a dot survives the join
// of (s1, c1) and (s2, c2) iff it is in both stores, or it is in one store
// and the other side's context does not cover it. A dot_map joins per key,
// and a key whose joined substore is empty disappears. Nested stores share
// the enclosing context: the same c1/c2 flow down into every substore. The
// join is commutative, associative and idempotent; since a dot's removal is
// recorded only by the context, it is safe in any delivery order -- a delta
// whose causal predecessors are missing is simply joined (its dots and
// context are a valid state on their own), so no buffering is needed.
//
// Deltas computed by `since(version)` for a peer at `version` carry the full
// context (so the peer learns removals of dots it holds) and, instead of
// re-sending the payloads the peer already has, a `keep` set: the alive dots
// inside `version`. A context "covers" a dot when it contains it and the keep
// set does not (ctx_view::covers). A state that has seen every kept dot ends
// the join with an empty keep set; two such deltas join into one whose keep
// set is what both still describe as alive (see causal).
//
// lww_store.hpp adds a fourth store kind for lww_map (per key, the largest
// timestamped write wins; removal is a timestamped tombstone), joined by the
// same causal::merge with the same context union. Its deltas say what they
// leave out by a base version instead of a keep set (causal::base), which is
// encoded after the keep set for that kind only.
//
// Complexity: dot_set/dot_fun join O(n + m); dot_map join O(n + m) with flat
// maps, O(n + m) expected with hashed maps; join_key O(log n) / O(1) plus the
// substore join. causal::merge of a delta touching k keys (stored, or holding
// a dot its context covers) into a state of n >= 64 keys, k <= n / 8, visits
// only those k keys through a dot -> key index (dot_index.hpp): O(k log n)
// plus the substore joins, after an O(n log n) build on first use.
// Thread safety: values. Exception safety: basic for joins (the state stays
// valid but may be partially joined if an allocation fails).
#pragma once

#include <crdt/codec/codec.hpp>
#include <crdt/core/causal_context.hpp>
#include <crdt/core/config.hpp>
#include <crdt/core/dot.hpp>
#include <crdt/core/error.hpp>
#include <crdt/core/version_vector.hpp>
#include <crdt/detail/dot_store/dot_index.hpp>

#include <boost/container/flat_map.hpp>
#include <boost/container/flat_set.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

CRDT_BEGIN_NAMESPACE
namespace detail::dot_store {

template <class R>
using keep_set = boost::container::flat_set<basic_dot<R>>;

/// The other side of a join: its context minus its keep set (and minus its
/// base, for the LWW kind: see causal).
template <class R>
struct ctx_view {
    const basic_causal_context<R>& ctx;
    const keep_set<R>& keep;
    const basic_version_vector<R>* base = nullptr;

    /// Returns: whether this side saw `d` and did not keep it (so, if it is
    ///   not in this side's store, this side removed it; for the LWW kind:
    ///   this side holds d's write or one that beats it).
    bool covers(const basic_dot<R>& d) const {
        return ctx.contains(d) && (keep.empty() || keep.find(d) == keep.end()) &&
               (base == nullptr || base->empty() || !base->contains(d));
    }
};

/// Returns: whether store kind S describes what a delta leaves out by a
///   base version rather than a keep set (lww_store).
template <class S>
inline constexpr bool uses_base = requires {
    requires S::uses_base;
};

/// Returns: whether the set in `[first, last)` is strictly increasing.
template <class It>
bool strictly_increasing(It first, It last) {
    return std::adjacent_find(first, last, [](const auto& a, const auto& b) { return !(a < b); }) ==
           last;
}

// --- dot_set ------------------------------------------------------------------

/// A set of dots.
template <class R>
class dot_set {
public:
    using dot_type = basic_dot<R>;
    using container = boost::container::flat_set<dot_type>;

    dot_set() = default;
    explicit dot_set(dot_type d) { dots_.insert(d); }

    bool empty() const noexcept { return dots_.empty(); }
    std::size_t size() const noexcept { return dots_.size(); }
    const container& dots() const noexcept { return dots_; }
    bool contains(const dot_type& d) const { return dots_.find(d) != dots_.end(); }
    void insert(const dot_type& d) { dots_.insert(d); }

    template <class F>
    void for_each_dot(F&& f) const {
        for (const auto& d : dots_) {
            f(d);
        }
    }

    /// Effects: the dot-store join with `other` (nullptr: an empty store).
    void join(const dot_set* other, const ctx_view<R>& mine, const ctx_view<R>& theirs) {
        typename container::sequence_type out;
        out.reserve(dots_.size() + (other ? other->dots_.size() : 0));
        auto a = dots_.begin();
        const auto ae = dots_.end();
        if (other != nullptr) {
            auto b = other->dots_.begin();
            const auto be = other->dots_.end();
            while (a != ae || b != be) {
                if (b == be || (a != ae && *a < *b)) {
                    if (!theirs.covers(*a)) {
                        out.push_back(*a);
                    }
                    ++a;
                } else if (a == ae || *b < *a) {
                    if (!mine.covers(*b)) {
                        out.push_back(*b);
                    }
                    ++b;
                } else {
                    out.push_back(*a);
                    ++a;
                    ++b;
                }
            }
        } else {
            for (; a != ae; ++a) {
                if (!theirs.covers(*a)) {
                    out.push_back(*a);
                }
            }
        }
        dots_.adopt_sequence(boost::container::ordered_unique_range, std::move(out));
    }

    /// Returns: the dots not in `v`; appends the others to `keep`.
    dot_set since(const basic_version_vector<R>& v, std::vector<dot_type>& keep) const {
        dot_set out;
        for (const auto& d : dots_) {
            if (v.contains(d)) {
                keep.push_back(d);
            } else {
                out.dots_.insert(out.dots_.end(), d);
            }
        }
        return out;
    }

    void encode(byte_writer& w) const {
        w.varint(dots_.size());
        for (const auto& d : dots_) {
            codec<dot_type>::encode(w, d);
        }
    }

    static dot_set decode(byte_reader& r) {
        const std::size_t n = r.length("dot_set size");
        typename container::sequence_type seq;
        seq.reserve(n);
        for (std::size_t i = 0; i < n; ++i) {
            const std::size_t at = r.offset();
            seq.push_back(codec<dot_type>::decode(r));
            if (seq.back().counter == 0 || (i > 0 && !(seq[i - 1] < seq[i]))) {
                r.fail_at(errc::invalid_value, "dot_set (dots must be >= 1 and increasing)", at);
            }
        }
        dot_set s;
        s.dots_.adopt_sequence(boost::container::ordered_unique_range, std::move(seq));
        return s;
    }

    friend bool operator==(const dot_set&, const dot_set&) = default;

private:
    container dots_;
};

// --- dot_fun ------------------------------------------------------------------

/// A map dot -> V. The value written under a dot never changes, so when both
/// sides of a join hold a dot they hold the same value.
template <class R, class V>
class dot_fun {
public:
    using dot_type = basic_dot<R>;
    using container = boost::container::flat_map<dot_type, V>;
    using value_type = typename container::value_type;

    dot_fun() = default;
    dot_fun(dot_type d, V v) { entries_.emplace(d, std::move(v)); }

    bool empty() const noexcept { return entries_.empty(); }
    std::size_t size() const noexcept { return entries_.size(); }
    const container& entries() const noexcept { return entries_; }
    auto begin() const noexcept { return entries_.begin(); }
    auto end() const noexcept { return entries_.end(); }
    void insert(const dot_type& d, V v) { entries_.insert_or_assign(d, std::move(v)); }
    void clear() noexcept { entries_.clear(); }

    template <class F>
    void for_each_dot(F&& f) const {
        for (const auto& e : entries_) {
            f(e.first);
        }
    }

    /// Effects: the dot-store join with `other` (nullptr: an empty store).
    void join(const dot_fun* other, const ctx_view<R>& mine, const ctx_view<R>& theirs) {
        container out;
        out.reserve(entries_.size() + (other ? other->entries_.size() : 0));
        auto a = entries_.begin();
        const auto ae = entries_.end();
        auto b = other ? other->entries_.begin() : ae;
        const auto be = other ? other->entries_.end() : ae;
        while (a != ae || b != be) {
            if (b == be || (a != ae && a->first < b->first)) {
                if (!theirs.covers(a->first)) {
                    out.emplace_hint(out.end(), a->first, std::move(a->second));
                }
                ++a;
            } else if (a == ae || b->first < a->first) {
                if (!mine.covers(b->first)) {
                    out.emplace_hint(out.end(), b->first, b->second);
                }
                ++b;
            } else {
                out.emplace_hint(out.end(), a->first, std::move(a->second));
                ++a;
                ++b;
            }
        }
        entries_ = std::move(out);
    }

    dot_fun since(const basic_version_vector<R>& v, std::vector<dot_type>& keep) const {
        dot_fun out;
        for (const auto& e : entries_) {
            if (v.contains(e.first)) {
                keep.push_back(e.first);
            } else {
                out.entries_.emplace_hint(out.entries_.end(), e.first, e.second);
            }
        }
        return out;
    }

    void encode(byte_writer& w) const {
        w.varint(entries_.size());
        for (const auto& e : entries_) {
            codec<dot_type>::encode(w, e.first);
            codec<V>::encode(w, e.second);
        }
    }

    static dot_fun decode(byte_reader& r) {
        const std::size_t n = r.length("dot_fun size");
        dot_fun s;
        s.entries_.reserve(n);
        for (std::size_t i = 0; i < n; ++i) {
            const std::size_t at = r.offset();
            dot_type d = codec<dot_type>::decode(r);
            if (d.counter == 0 || (!s.entries_.empty() && !((s.entries_.end() - 1)->first < d))) {
                r.fail_at(errc::invalid_value, "dot_fun (dots must be >= 1 and increasing)", at);
            }
            V v = codec<V>::decode(r);
            s.entries_.emplace_hint(s.entries_.end(), d, std::move(v));
        }
        return s;
    }

    friend bool operator==(const dot_fun&, const dot_fun&) = default;

private:
    container entries_;
};

// --- dot_map ------------------------------------------------------------------

/// A map K -> S of non-empty substores sharing the enclosing context.
/// `Containers` is flat_containers or hashed_containers (policies.hpp).
template <class R, class K, class S, class Containers, class Alloc>
class dot_map {
public:
    using dot_type = basic_dot<R>;
    using key_type = K;
    using container = typename Containers::template map<K, S, Alloc>;
    static constexpr bool ordered = Containers::ordered;
    /// A causal state over a dot_map keeps a dot -> key index (dot_index.hpp).
    using index_type = dot_index<R, K>;
    /// Maps of LWW values describe what their deltas leave out by a base.
    static constexpr bool uses_base = dot_store::uses_base<S>;

    bool empty() const noexcept { return map_.empty(); }
    std::size_t size() const noexcept { return map_.size(); }
    const container& map() const noexcept { return map_; }
    auto begin() const noexcept { return map_.begin(); }
    auto end() const noexcept { return map_.end(); }

    /// Returns: the substore of `k`, or nullptr.
    const S* find(const K& k) const {
        auto it = map_.find(k);
        return it == map_.end() ? nullptr : &it->second;
    }

    /// Effects: stores `s` under `k` (replacing); an empty `s` erases `k`.
    void put(const K& k, S s) {
        if (s.empty()) {
            map_.erase(k);
        } else {
            map_.insert_or_assign(k, std::move(s));
        }
    }

    /// Returns: the substore of `k` for in-place mutation, or nullptr.
    S* find_mutable(const K& k) {
        auto it = map_.find(k);
        return it == map_.end() ? nullptr : &it->second;
    }

    /// Effects: calls f(key, substore&) for every entry, then erases the
    ///   entries whose substore became empty.
    template <class F>
    void modify_each(F&& f) {
        for (auto it = map_.begin(); it != map_.end();) {
            f(it->first, it->second);
            it = it->second.empty() ? map_.erase(it) : std::next(it);
        }
    }

    template <class F>
    void for_each_dot(F&& f) const {
        for (const auto& e : map_) {
            e.second.for_each_dot(f);
        }
    }

    /// Effects: joins the substore of `k` with `other` (nullptr: empty)
    ///   and nothing else. Used by local mutators, whose deltas touch one key.
    void join_key(const K& k, const S* other, const ctx_view<R>& mine, const ctx_view<R>& theirs) {
        auto it = map_.find(k);
        if (it == map_.end()) {
            if (other == nullptr) {
                return;
            }
            S s;
            s.join(other, mine, theirs);
            if (!s.empty()) {
                map_.emplace(k, std::move(s));
            }
            return;
        }
        it->second.join(other, mine, theirs);
        if (it->second.empty()) {
            map_.erase(it);
        }
    }

    /// Effects: the dot-store join with `other` (nullptr: an empty store).
    void join(const dot_map* other, const ctx_view<R>& mine, const ctx_view<R>& theirs) {
        if constexpr (ordered) {
            container out;
            out.reserve(map_.size() + (other ? other->map_.size() : 0));
            auto a = map_.begin();
            const auto ae = map_.end();
            auto b = other ? other->map_.begin() : typename container::const_iterator{};
            const auto be = other ? other->map_.end() : b;
            while (a != ae || b != be) {
                if (b == be || (a != ae && a->first < b->first)) {
                    a->second.join(nullptr, mine, theirs);
                    if (!a->second.empty()) {
                        out.emplace_hint(out.end(), std::move(a->first), std::move(a->second));
                    }
                    ++a;
                } else if (a == ae || b->first < a->first) {
                    S s;
                    s.join(&b->second, mine, theirs);
                    if (!s.empty()) {
                        out.emplace_hint(out.end(), b->first, std::move(s));
                    }
                    ++b;
                } else {
                    a->second.join(&b->second, mine, theirs);
                    if (!a->second.empty()) {
                        out.emplace_hint(out.end(), std::move(a->first), std::move(a->second));
                    }
                    ++a;
                    ++b;
                }
            }
            map_ = std::move(out);
        } else {
            for (auto it = map_.begin(); it != map_.end();) {
                const S* sub = nullptr;
                if (other != nullptr) {
                    sub = other->find(it->first);
                }
                it->second.join(sub, mine, theirs);
                it = it->second.empty() ? map_.erase(it) : std::next(it);
            }
            if (other != nullptr) {
                for (const auto& e : other->map_) {
                    if (map_.find(e.first) == map_.end()) {
                        S s;
                        s.join(&e.second, mine, theirs);
                        if (!s.empty()) {
                            map_.emplace(e.first, std::move(s));
                        }
                    }
                }
            }
        }
    }

    dot_map since(const basic_version_vector<R>& v, std::vector<dot_type>& keep) const {
        dot_map out;
        for (const auto& e : map_) {
            S sub = e.second.since(v, keep);
            if (!sub.empty()) {
                out.map_.emplace_hint(out.map_.end(), e.first, std::move(sub));
            }
        }
        return out;
    }

    /// Returns: pointers to the entries in increasing key order.
    std::vector<const typename container::value_type*> sorted_entries() const {
        std::vector<const typename container::value_type*> v;
        v.reserve(map_.size());
        for (const auto& e : map_) {
            v.push_back(&e);
        }
        if constexpr (!ordered) {
            std::sort(v.begin(), v.end(), [](auto* x, auto* y) { return x->first < y->first; });
        }
        return v;
    }

    void encode(byte_writer& w) const {
        w.varint(map_.size());
        for (const auto* e : sorted_entries()) {
            codec<K>::encode(w, e->first);
            e->second.encode(w);
        }
    }

    static dot_map decode(byte_reader& r) {
        const std::size_t n = r.length("dot_map size");
        dot_map s;
        if constexpr (ordered) {
            s.map_.reserve(n);
        }
        const K* previous = nullptr;
        for (std::size_t i = 0; i < n; ++i) {
            const std::size_t at = r.offset();
            K key = codec<K>::decode(r);
            if (previous != nullptr && !(*previous < key)) {
                r.fail_at(errc::invalid_value, "dot_map (keys must be strictly increasing)", at);
            }
            const std::size_t sub_at = r.offset();
            S sub = S::decode(r);
            if (sub.empty()) {
                r.fail_at(errc::invalid_value, "dot_map (empty value store)", sub_at);
            }
            auto it = s.map_.emplace_hint(s.map_.end(), std::move(key), std::move(sub));
            previous = &it->first;
        }
        return s;
    }

    friend bool operator==(const dot_map&, const dot_map&) = default;

private:
    container map_;
};

// --- causal -------------------------------------------------------------------

/// The index a causal state keeps for store S: S::index_type, or nothing.
struct no_index {
    static constexpr bool enabled() noexcept { return false; }
};
template <class S>
struct index_of {
    using type = no_index;
};
template <class S>
requires requires {
    typename S::index_type;
}
struct index_of<S> {
    using type = typename S::index_type;
};

/// A causal state or delta: a store, the context it was made in, and (only in
/// deltas computed by `since`, and joins of them) the keep set.
///
/// A keep set describes dots that are alive at the sender but whose payload
/// the delta leaves out. Per dot, a causal value says one of: stored (alive,
/// with its payload), kept (alive, payload elsewhere), removed (in the
/// context, neither stored nor kept) or unseen. The join keeps a dot alive
/// iff both sides have it alive or one has it alive and the other has not
/// seen it; it is stored if either side stores it, else kept. So the keep set
/// of a join is: the dots one side keeps that the other keeps or has not
/// seen. The join is then commutative, associative and idempotent on deltas
/// with keep sets too. (A state merging a delta whose kept dots it has all
/// seen ends with an empty keep set; causal_base refuses, for a replica, a
/// delta that would leave one.)
template <class S, class R>
struct causal {
    using dot_type = basic_dot<R>;
    using context_type = basic_causal_context<R>;
    using version_type = basic_version_vector<R>;
    using index_type = typename index_of<S>::type;
    static constexpr bool indexed = !std::is_same_v<index_type, no_index>;

    S store;
    context_type ctx;
    keep_set<R> keep;
    /// LWW kind only: the version a delta_since delta was made for; the
    ///   store may lack writes inside it (empty for states and mutator
    ///   deltas, which hold every write their context covers, or one beating
    ///   it). Joins keep it as small as they can (joined_base).
    version_type base;
    /// Not part of the value (ignored by ==, not encoded): see dot_index.hpp.
    [[no_unique_address]] index_type index;

    ctx_view<R> view() const noexcept { return {ctx, keep, &base}; }

    /// Effects: *this becomes the join of *this and `o`.
    void merge(const causal& o) {
        if (&o == this) {
            return; // idempotent; and a join must not read what it moves
        }
        keep_set<R> joined = joined_keep(o); // reads the contexts before they merge
        version_type joined_b;
        if constexpr (uses_base<S>) {
            joined_b = joined_base(o);
        }
        if constexpr (indexed) {
            // The dots `o` adds to our store: those we had not seen, or kept
            // without storing (view().covers is false for both). Read before
            // the contexts merge.
            std::vector<std::pair<dot_type, const typename S::key_type*>> added;
            try {
                if (!sparse_join(o)) {
                    store.join(&o.store, view(), o.view());
                }
                if (index.enabled()) {
                    const ctx_view<R> mine = view();
                    for (const auto& e : o.store.map()) {
                        e.second.for_each_dot([&](const dot_type& d) {
                            // An LWW side with a base skips nothing it has
                            // seen (lww_store::join): any of o's dots may
                            // become stored.
                            if (!mine.covers(d) || (uses_base<S> && !base.empty())) {
                                added.emplace_back(d, &e.first);
                            }
                        });
                    }
                }
            } catch (...) {
                index.disable(); // it may now miss dots the partial join stored
                throw;
            }
            if (index.enabled()) {
                if (added.size() > index.entries() / 8 + 64) {
                    rebuild_index(); // cheaper than many out-of-order adds
                } else {
                    std::sort(added.begin(), added.end(),
                              [](const auto& a, const auto& b) { return a.first < b.first; });
                    for (const auto& [d, k] : added) {
                        note(d, *k);
                    }
                }
            }
        } else {
            store.join(&o.store, view(), o.view());
        }
        ctx.merge(o.ctx);
        keep = std::move(joined);
        if constexpr (uses_base<S>) {
            base = std::move(joined_b);
        }
    }

    /// Effects: if the index is built, records that key `k` holds dot `d`
    ///   (mutators that change the store without merge() call this for each
    ///   dot they add). Should that fail, drops the index instead: an index
    ///   missing a dot would make a later merge skip a key.
    ///   Requires: the store is whole (every key's substore in place): the
    ///   index may be rebuilt from it here, once it has doubled.
    template <class Key>
    void note(const dot_type& d, const Key& k) noexcept {
        if constexpr (indexed) {
            if (index.enabled()) {
                try {
                    index.add(d, k);
                } catch (...) {
                    index.disable();
                    return;
                }
                if (index.wants_rebuild()) {
                    rebuild_index();
                }
            }
        }
    }

    /// Effects: drops the index (a caller whose change to the store may have
    ///   failed halfway; the next merge that can use the index rebuilds it).
    void drop_index() noexcept {
        if constexpr (indexed) {
            index.disable();
        }
    }

    /// Returns: what a peer at `v` lacks: the store parts with dots outside
    ///   `v`, the whole context, and as the keep set the alive dots inside
    ///   `v` (plus this value's own keep set: dots alive elsewhere).
    causal since(const version_type& v) const {
        std::vector<dot_type> kept(keep.begin(), keep.end());
        causal out;
        out.store = store.since(v, kept);
        out.ctx = ctx;
        std::sort(kept.begin(), kept.end());
        kept.erase(std::unique(kept.begin(), kept.end()), kept.end());
        out.keep.adopt_sequence(boost::container::ordered_unique_range,
                                typename keep_set<R>::sequence_type(kept.begin(), kept.end()));
        if constexpr (uses_base<S>) {
            out.base = v;
            out.base.merge(base); // our own gaps stay gaps
        }
        return out;
    }

    friend bool operator==(const causal& a, const causal& b) {
        return a.store == b.store && a.ctx == b.ctx && a.keep == b.keep && a.base == b.base;
    }

    /// Effects: checks the kernel invariants (every stored dot in the context
    ///   and not kept, no dot twice, every kept dot in the context) and that
    ///   the index, when built, records every stored dot under its key.
    ///   CRDT_ASSERT fails if one is broken.
    void verify() const {
        ctx.verify();
        std::vector<dot_type> dots;
        store.for_each_dot([&](const dot_type& d) {
            dots.push_back(d);
            CRDT_ASSERT(ctx.contains(d));
            CRDT_ASSERT(keep.find(d) == keep.end());
        });
        std::sort(dots.begin(), dots.end());
        CRDT_ASSERT(std::adjacent_find(dots.begin(), dots.end()) == dots.end());
        for (const auto& d : keep) {
            CRDT_ASSERT(ctx.contains(d));
        }
        CRDT_ASSERT(uses_base<S> || base.empty());
        if constexpr (indexed) {
            if (index.enabled()) {
                for (const auto& e : store.map()) {
                    e.second.for_each_dot([&](const dot_type& d) {
                        const auto* k = index.find(d);
                        CRDT_ASSERT(k != nullptr && *k == e.first);
                    });
                }
            }
        }
    }

    void encode(byte_writer& w) const {
        codec<context_type>::encode(w, ctx);
        w.varint(keep.size());
        for (const auto& d : keep) {
            codec<dot_type>::encode(w, d);
        }
        if constexpr (uses_base<S>) {
            codec<version_type>::encode(w, base);
        }
        store.encode(w);
    }

    static causal decode(byte_reader& r) {
        causal c;
        c.ctx = codec<context_type>::decode(r);
        const std::size_t n = r.length("keep set size");
        typename keep_set<R>::sequence_type seq;
        seq.reserve(n);
        for (std::size_t i = 0; i < n; ++i) {
            const std::size_t at = r.offset();
            seq.push_back(codec<dot_type>::decode(r));
            if ((i > 0 && !(seq[i - 1] < seq[i])) || !c.ctx.contains(seq[i])) {
                r.fail_at(errc::invalid_value,
                          "keep set (dots must be increasing and in the context)", at);
            }
        }
        c.keep.adopt_sequence(boost::container::ordered_unique_range, std::move(seq));
        if constexpr (uses_base<S>) {
            c.base = codec<version_type>::decode(r);
        }
        const std::size_t store_at = r.offset();
        c.store = S::decode(r);
        std::vector<dot_type> dots;
        bool outside = false;
        c.store.for_each_dot([&](const dot_type& d) {
            dots.push_back(d);
            outside = outside || !c.ctx.contains(d) || c.keep.find(d) != c.keep.end();
        });
        std::sort(dots.begin(), dots.end());
        if (outside || std::adjacent_find(dots.begin(), dots.end()) != dots.end()) {
            r.fail_at(errc::invalid_value,
                      "store (a dot outside the context, in the keep set, or repeated)", store_at);
        }
        return c;
    }

private:
    // Builds the index from the store; on failure leaves it disabled.
    void rebuild_index() noexcept {
        try {
            index.rebuild(store.map());
        } catch (...) {
            index.disable();
        }
    }

    // The join for a delta much smaller than the store: only the keys `o`
    // stores and the keys holding a dot `o`'s context covers can change
    // (every other key keeps all its dots), so join just those. Builds the
    // index the first time it pays. Returns: whether it joined (false: the
    // caller does the full join; nothing has changed).
    bool sparse_join(const causal& o) {
        using K = typename S::key_type;
        const std::size_t n = store.size();
        if (n < 64) {
            return false;
        }
        const std::size_t budget = n / 8; // keys we may visit instead of n
        if (o.store.size() > budget) {
            return false;
        }
        if (index.enabled()) {
            if (index.covered_count(o.ctx) > budget - o.store.size()) {
                return false;
            }
        } else {
            // At most this many of our dots are in o's context.
            std::size_t dots = o.ctx.cloud().size() + o.store.size();
            for (const auto& e : o.ctx.version()) {
                if (e.counter > budget || (dots += static_cast<std::size_t>(e.counter)) > budget) {
                    return false;
                }
            }
            if (dots > budget) {
                return false;
            }
            rebuild_index();
            if (!index.enabled()) {
                return false;
            }
        }
        std::vector<const K*> keys;
        keys.reserve(o.store.size() + 4);
        const ctx_view<R> theirs = o.view();
        index.for_each_covered(o.ctx, [&](const dot_type& d, const K& k) {
            if (theirs.covers(d)) {
                keys.push_back(&k);
            }
        });
        for (const auto& e : o.store.map()) {
            keys.push_back(&e.first);
        }
        if constexpr (requires(const K& a) { a < a; }) {
            std::sort(keys.begin(), keys.end(), [](const K* a, const K* b) { return *a < *b; });
            keys.erase(std::unique(keys.begin(), keys.end(),
                                   [](const K* a, const K* b) { return *a == *b; }),
                       keys.end());
        } // else a key may be joined twice: join_key is idempotent
        const ctx_view<R> mine = view();
        for (const K* k : keys) {
            store.join_key(*k, o.store.find(*k), mine, theirs);
        }
        return true;
    }

    // The base of the join with `o` (LWW kind). A side with an empty base
    // is complete: it holds every write its context covers, or one beating
    // it. A side with a base may lack any write its base covers, and also a
    // write outside its base that a write inside it beats; so only a complete
    // side can vouch for writes: an entry (r, c) of one side's base drops
    // out when the other side is complete and has seen r's writes up to c.
    // What stays may over-state what the join lacks (a version vector cannot
    // say exactly), which only makes a later join compare writes instead of
    // skipping them. Symmetric in the two sides; a replica (complete) that
    // includes the other's base ends complete.
    version_type joined_base(const causal& o) const {
        version_type out;
        if (base.empty() && o.base.empty()) {
            return out;
        }
        const auto add = [&out](const version_type& b, const causal& other) {
            for (const auto& e : b) {
                if (other.base.empty() && other.ctx.version().get(e.replica) >= e.counter) {
                    continue;
                }
                out.advance(e.replica, e.counter);
            }
        };
        add(base, o);
        add(o.base, *this);
        return out;
    }

    // The keep set of the join with `o` (see the struct comment), from the
    // contexts before they merge. No dot of it is stored by either side (a
    // side never stores a dot it keeps, nor one it has not seen).
    keep_set<R> joined_keep(const causal& o) const {
        keep_set<R> out;
        if (keep.empty() && o.keep.empty()) {
            return out;
        }
        typename keep_set<R>::sequence_type seq;
        auto a = keep.begin();
        auto b = o.keep.begin();
        while (a != keep.end() || b != o.keep.end()) {
            if (b == o.keep.end() || (a != keep.end() && *a < *b)) {
                if (!o.ctx.contains(*a)) {
                    seq.push_back(*a);
                }
                ++a;
            } else if (a == keep.end() || *b < *a) {
                if (!ctx.contains(*b)) {
                    seq.push_back(*b);
                }
                ++b;
            } else {
                seq.push_back(*a);
                ++a;
                ++b;
            }
        }
        out.adopt_sequence(boost::container::ordered_unique_range, std::move(seq));
        return out;
    }
};

} // namespace detail::dot_store
CRDT_END_NAMESPACE
