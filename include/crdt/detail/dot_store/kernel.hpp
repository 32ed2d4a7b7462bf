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
// set does not (ctx_view::covers). A state merging such a delta consumes the
// keep set (it only shields the state's dots during that join).
//
// lww_store.hpp adds a fourth store kind for lww_map (per key, the largest
// timestamped write wins; removal is a timestamped tombstone), joined by the
// same causal::merge with the same context union.
//
// Complexity: dot_set/dot_fun join O(n + m); dot_map join O(n + m) with flat
// maps, O(n + m) expected with hashed maps; join_key O(log n) / O(1) plus the
// substore join.
// Thread safety: values. Exception safety: basic for joins (the state stays
// valid but may be partially joined if an allocation fails).
#pragma once

#include <crdt/codec/codec.hpp>
#include <crdt/core/causal_context.hpp>
#include <crdt/core/config.hpp>
#include <crdt/core/dot.hpp>
#include <crdt/core/error.hpp>
#include <crdt/core/version_vector.hpp>

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

/// The other side of a join: its context minus its keep set.
template <class R>
struct ctx_view {
    const basic_causal_context<R>& ctx;
    const keep_set<R>& keep;

    /// Returns: whether this side saw `d` and did not keep it (so, if it is
    ///   not in this side's store, this side removed it).
    bool covers(const basic_dot<R>& d) const {
        return ctx.contains(d) && (keep.empty() || keep.find(d) == keep.end());
    }
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
    using container = typename Containers::template map<K, S, Alloc>;
    static constexpr bool ordered = Containers::ordered;

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

/// A causal state or delta: a store, the context it was made in, and (only in
/// deltas computed by `since`) the keep set.
template <class S, class R>
struct causal {
    using dot_type = basic_dot<R>;
    using context_type = basic_causal_context<R>;
    using version_type = basic_version_vector<R>;

    S store;
    context_type ctx;
    keep_set<R> keep;

    ctx_view<R> view() const noexcept { return {ctx, keep}; }

    /// Effects: *this becomes the join of *this and `o`.
    void merge(const causal& o) {
        if (&o == this) {
            return; // idempotent; and a join must not read what it moves
        }
        store.join(&o.store, view(), o.view());
        ctx.merge(o.ctx);
        merge_keep(o);
    }

    /// Returns: what a peer at `v` lacks: the store parts with dots outside
    ///   `v`, the whole context, and the alive dots inside `v` as the keep set.
    causal since(const version_type& v) const {
        std::vector<dot_type> kept;
        causal out;
        out.store = store.since(v, kept);
        out.ctx = ctx;
        std::sort(kept.begin(), kept.end());
        out.keep.adopt_sequence(boost::container::ordered_unique_range,
                                typename keep_set<R>::sequence_type(kept.begin(), kept.end()));
        return out;
    }

    friend bool operator==(const causal&, const causal&) = default;

    void encode(byte_writer& w) const {
        codec<context_type>::encode(w, ctx);
        w.varint(keep.size());
        for (const auto& d : keep) {
            codec<dot_type>::encode(w, d);
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
    // A state (empty keep set) consumes a delta's keep set: the kept dots
    // only shield this side's own dots during the join. Two deltas with
    // keep sets compose by union, minus the dots now stored explicitly.
    void merge_keep(const causal& o) {
        if (keep.empty()) {
            return;
        }
        keep.insert(o.keep.begin(), o.keep.end());
        store.for_each_dot([&](const dot_type& d) { keep.erase(d); });
    }
};

} // namespace detail::dot_store
CRDT_END_NAMESPACE
