// crdt/detail/dot_store/dot_index.hpp -- which key of a dot_map holds a dot,
// so that merging a small delta visits only the keys it concerns.
//
// A delta removes through its context: a key of ours changes in a join only
// if the delta stores that key or its context covers one of the key's dots.
// Without an index the join must look at every key (O(n) for a one-element
// delta into an n-element set). A dot never moves between keys (a mutator
// creates it under one key, and it stays there until removed), so a map
// dot -> key answers "which keys does this context touch" exactly, and stays
// correct when it holds extra entries: an entry for a removed dot, or for a
// key gone from the map, only makes the join look at a key that does not
// change. It must never miss a dot that is in the store; every path that
// adds dots to an indexed store records them (kernel.hpp, causal).
//
// Layout: per replica, a vector of (counter, key) sorted by counter. Dots of
// one replica mostly arrive in increasing order, so adding is usually a
// push_back; a context's version entry (r, n) covers a prefix of r's vector.
// About sizeof(counter) + sizeof(K) bytes per indexed dot, plus growth slack.
// Entries of removed dots are dropped by a rebuild once the index has grown
// to twice its size at the last rebuild.
//
// The index is built on demand (the first merge it would speed up) and is
// not part of the state: copies carry it, equality and encoding ignore it.
//
// Complexity: add O(1) amortized in order, O(entries of the replica) out of
// order; rebuild O(n log n). Thread safety: a value. Exception safety:
// add and rebuild are strong (a failed rebuild leaves the index disabled).
#pragma once

#include <crdt/core/causal_context.hpp>
#include <crdt/core/config.hpp>
#include <crdt/core/dot.hpp>

#include <boost/container/flat_map.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

CRDT_BEGIN_NAMESPACE
namespace detail::dot_store {

/// The dot -> key index of one dot_map (see the file comment).
template <class R, class K>
class dot_index {
public:
    using dot_type = basic_dot<R>;
    using context_type = basic_causal_context<R>;

    /// Returns: whether the index is built (and so kept up to date).
    bool enabled() const noexcept { return enabled_; }

    /// Returns: the number of entries (live or stale).
    std::size_t entries() const noexcept { return entries_; }

    /// Effects: drops the index; enabled() becomes false.
    void disable() noexcept {
        by_replica_.clear();
        entries_ = 0;
        enabled_ = false;
    }

    /// Effects: rebuilds the index from `map` (key -> store with for_each_dot).
    template <class Map>
    void rebuild(const Map& map) {
        disable();
        replicas fresh;
        std::size_t n = 0;
        for (const auto& e : map) {
            e.second.for_each_dot([&](const dot_type& d) {
                fresh[d.replica].emplace_back(d.counter, e.first);
                ++n;
            });
        }
        for (auto& r : fresh) {
            std::sort(r.second.begin(), r.second.end(),
                      [](const entry& a, const entry& b) { return a.first < b.first; });
        }
        by_replica_ = std::move(fresh);
        entries_ = n;
        limit_ = 2 * n + 1024;
        enabled_ = true;
    }

    /// Requires: enabled().
    /// Effects: records that key `k` holds dot `d`.
    void add(const dot_type& d, const K& k) {
        auto& v = by_replica_[d.replica];
        if (v.empty() || v.back().first < d.counter) {
            v.emplace_back(d.counter, k);
        } else {
            auto it = std::lower_bound(v.begin(), v.end(), d.counter,
                                       [](const entry& e, std::uint64_t c) { return e.first < c; });
            if (it != v.end() && it->first == d.counter) {
                it->second = k; // the same dot: the same key (dots never move)
                return;
            }
            v.emplace(it, d.counter, k);
        }
        ++entries_;
    }

    /// Returns: whether stale entries may now outnumber live ones (the owner
    ///   then calls rebuild()).
    bool wants_rebuild() const noexcept { return entries_ > limit_; }

    /// Returns: the number of entries whose dots `c` contains.
    std::size_t covered_count(const context_type& c) const {
        std::size_t n = 0;
        for (const auto& e : c.version()) {
            auto it = by_replica_.find(e.replica);
            if (it != by_replica_.end()) {
                n += static_cast<std::size_t>(prefix_end(it->second, e.counter) -
                                              it->second.begin());
            }
        }
        for (const auto& d : c.cloud()) {
            n += find(d) != nullptr ? std::size_t{1} : std::size_t{0};
        }
        return n;
    }

    /// Effects: calls f(dot, key) for every entry whose dot `c` contains.
    template <class F>
    void for_each_covered(const context_type& c, F&& f) const {
        for (const auto& e : c.version()) {
            auto it = by_replica_.find(e.replica);
            if (it != by_replica_.end()) {
                const auto end = prefix_end(it->second, e.counter);
                for (auto x = it->second.begin(); x != end; ++x) {
                    f(dot_type{e.replica, x->first}, x->second);
                }
            }
        }
        for (const auto& d : c.cloud()) {
            if (const K* k = find(d)) {
                f(d, *k);
            }
        }
    }

    /// Returns: the key recorded for `d`, or nullptr.
    const K* find(const dot_type& d) const {
        auto it = by_replica_.find(d.replica);
        if (it == by_replica_.end()) {
            return nullptr;
        }
        const auto& v = it->second;
        auto x = std::lower_bound(v.begin(), v.end(), d.counter,
                                  [](const entry& e, std::uint64_t c) { return e.first < c; });
        return x != v.end() && x->first == d.counter ? &x->second : nullptr;
    }

private:
    using entry = std::pair<std::uint64_t, K>;
    using replicas = boost::container::flat_map<R, std::vector<entry>>;

    static typename std::vector<entry>::const_iterator prefix_end(const std::vector<entry>& v,
                                                                  std::uint64_t counter) {
        return std::upper_bound(v.begin(), v.end(), counter,
                                [](std::uint64_t c, const entry& e) { return c < e.first; });
    }

    replicas by_replica_;
    std::size_t entries_ = 0;
    std::size_t limit_ = 0;
    bool enabled_ = false;
};

} // namespace detail::dot_store
CRDT_END_NAMESPACE
