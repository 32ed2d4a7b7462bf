// crdt/core/causal_context.hpp -- causal contexts: the set of operations a
// replica has seen, as a version vector plus out-of-order dots.
//
// Delta-state CRDTs (Almeida, Shoker, Baquero) track what a state has seen
// in a causal context. Most of it is contiguous per replica and lives in a
// version vector; dots received ahead of a gap (from deltas delivered out of
// order) wait in a small sorted "dot cloud". Whenever a dot closes a gap the
// context compacts: cloud dots that became contiguous move into the vector.
//
// Invariant (checked by `verify()`): no cloud dot is included in the vector
// or immediately follows it; i.e. for every cloud dot d,
// d.counter > version().get(d.replica) + 1 (computed without overflow: a
// replica at counter 2^64-1 has no cloud dots).
//
// Complexity: contains O(log n + log c); insert and next_dot O(n + c) worst
// case, O(log n) amortized for in-order dots; merge O(n + m + (c + c') log(n + m)).
//
// Thread safety: a value type. Exception safety: strong.
#pragma once

#include <crdt/codec/codec.hpp>
#include <crdt/core/concepts.hpp>
#include <crdt/core/config.hpp>
#include <crdt/core/dot.hpp>
#include <crdt/core/error.hpp>
#include <crdt/core/version_vector.hpp>

#include <boost/container/flat_set.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <iterator>

CRDT_BEGIN_NAMESPACE

namespace detail {
/// Returns: whether counter <= top + 1, i.e. a replica whose contiguous
///   prefix ends at `top` includes `counter` or is extended by it. Exact for
///   top == 2^64-1, where `top + 1` would wrap to 0.
constexpr bool covers_or_adjoins(std::uint64_t top, std::uint64_t counter) noexcept {
    return counter <= top || counter - top == 1;
}
} // namespace detail

/// A set of dots: a version vector plus a compacted cloud of dots past gaps.
template <replica_identifier ReplicaId>
class basic_causal_context {
public:
    using replica_type = ReplicaId;
    using dot_type = basic_dot<ReplicaId>;
    using version_type = basic_version_vector<ReplicaId>;
    using cloud_type = boost::container::flat_set<dot_type>;

    /// Effects: the empty context.
    basic_causal_context() = default;

    /// Effects: the context holding exactly the operations of `version`.
    explicit basic_causal_context(version_type version) : version_(std::move(version)) {}

    /// Returns: whether `d` is in the context.
    bool contains(const dot_type& d) const noexcept {
        return version_.contains(d) || cloud_.find(d) != cloud_.end();
    }

    /// Effects: adds `d` to the context; compacts.
    /// Returns: whether `d` was new.
    /// Throws: crdt::error(errc::invalid_value) if d.counter is 0 (no
    ///   operation has counter 0; the dot may come from outside).
    bool insert(const dot_type& d) {
        if (d.counter == 0) {
            throw error(errc::invalid_value, "causal_context::insert: dot counter must be >= 1");
        }
        if (contains(d)) {
            return false;
        }
        if (d.counter == version_.get(d.replica) + 1) {
            version_.advance(d);
            absorb(d.replica);
        } else {
            cloud_.insert(dot_type(d)); // copy first: the insertion itself only moves
        }
        return true;
    }

    /// Effects: takes the next dot of `replica` after its contiguous prefix
    ///   and adds it to the context.
    /// Returns: the dot, (replica, version().get(replica) + 1).
    /// Requires: `replica` is the local replica (whose dots are never
    ///   created elsewhere), so no cloud dot of `replica` exists.
    dot_type next_dot(const ReplicaId& replica) {
        dot_type d = version_.increment(replica);
        absorb(replica);
        return d;
    }

    /// Effects: *this becomes the union of *this and `other`; compacts.
    /// Complexity: O(n + m + (c + c') log(n + m)) for versions of n and m
    ///   replicas and clouds of c and c' dots.
    void merge(const basic_causal_context& other) {
        if (other.cloud_.empty()) {
            merge(other.version_);
            return;
        }
        // Everything that may throw (allocating, copying dots) happens before
        // *this changes; the version merge is strong and the rest only moves.
        typename cloud_type::sequence_type dots;
        dots.reserve(cloud_.size() + other.cloud_.size());
        std::set_union(cloud_.begin(), cloud_.end(), other.cloud_.begin(), other.cloud_.end(),
                       std::back_inserter(dots));
        version_.merge(other.version_);
        cloud_.adopt_sequence(boost::container::ordered_unique_range, std::move(dots));
        compact();
    }

    /// Effects: adds every operation of `version`; compacts.
    /// Complexity: O(n + m + c).
    void merge(const version_type& version) {
        version_.merge(version);
        compact();
    }

    /// Returns: the contiguous part of the context.
    const version_type& version() const noexcept { return version_; }

    /// Returns: the dots past gaps, in (replica, counter) order.
    const cloud_type& cloud() const noexcept { return cloud_; }

    /// Returns: whether the context is exactly a version vector (no gaps).
    bool is_compact() const noexcept { return cloud_.empty(); }

    /// Returns: whether the context holds no dot.
    bool empty() const noexcept { return version_.empty() && cloud_.empty(); }

    /// Effects: checks the compaction invariant; CRDT_ASSERT fails if broken.
    void verify() const {
        for (const auto& d : cloud_) {
            CRDT_ASSERT(!detail::covers_or_adjoins(version_.get(d.replica), d.counter));
        }
    }

    friend bool operator==(const basic_causal_context&, const basic_causal_context&) = default;

private:
    friend struct codec<basic_causal_context>;

    // Moves the cloud dots of `replica` that now extend its contiguous prefix.
    // Requires: `replica` has an entry in the version. Throws: nothing (no
    // replica id is copied, no entry inserted), so callers stay strong.
    void absorb(const ReplicaId& replica) {
        auto it =
            std::lower_bound(cloud_.begin(), cloud_.end(), replica,
                             [](const dot_type& d, const ReplicaId& r) { return d.replica < r; });
        std::uint64_t top = version_.get(replica);
        auto first = it;
        while (it != cloud_.end() && it->replica == replica &&
               detail::covers_or_adjoins(top, it->counter)) {
            top = std::max(top, it->counter);
            ++it;
        }
        if (it != first) {
            version_.advance(replica, top);
            cloud_.erase(first, it);
        }
    }

    // Restores the invariant for every replica in one pass over the cloud,
    // in place. Throws: nothing: it only moves dots and raises counters of
    // replicas already in the version (a cloud dot's counter is at least 2,
    // so the prefix it extends is not empty).
    void compact() {
        if (cloud_.empty()) {
            return;
        }
        auto seq = cloud_.extract_sequence();
        std::size_t kept = 0;
        for (std::size_t i = 0; i < seq.size(); ++i) {
            const std::uint64_t top = version_.get(seq[i].replica);
            if (seq[i].counter <= top) {
                continue;
            }
            if (seq[i].counter - top == 1) {
                CRDT_ASSERT(top >= 1);
                version_.advance(seq[i]);
                continue;
            }
            if (kept != i) {
                seq[kept] = std::move(seq[i]);
            }
            ++kept;
        }
        // The pass visits each replica's dots in increasing counter order, so
        // once one dot is kept (past a gap) every later dot of that replica
        // is past the same gap.
        seq.erase(seq.begin() + static_cast<std::ptrdiff_t>(kept), seq.end());
        cloud_.adopt_sequence(boost::container::ordered_unique_range, std::move(seq));
    }

    version_type version_;
    cloud_type cloud_;
};

/// The causal context over the default replica id.
using causal_context = basic_causal_context<replica_id>;

/// Encoding: the version vector, the cloud size as a varint, then each cloud
/// dot in order.
/// Throws on decode: crdt::error(errc::invalid_value) if the cloud is not
///   strictly increasing or a cloud dot is included in or adjacent to the
///   version vector (the encoding is canonical).
template <replica_identifier ReplicaId>
struct codec<basic_causal_context<ReplicaId>> {
    using context = basic_causal_context<ReplicaId>;

    static void encode(byte_writer& w, const context& c) {
        codec<typename context::version_type>::encode(w, c.version_);
        w.varint(c.cloud_.size());
        for (const auto& d : c.cloud_) {
            codec<typename context::dot_type>::encode(w, d);
        }
    }

    static context decode(byte_reader& r) {
        context c;
        c.version_ = codec<typename context::version_type>::decode(r);
        const std::size_t n = r.length("causal_context cloud size");
        typename context::cloud_type::sequence_type seq;
        seq.reserve(std::min(n, std::size_t{4096})); // n is bounded by bytes, not by dots
        for (std::size_t i = 0; i < n; ++i) {
            const std::size_t at = r.offset();
            auto d = codec<typename context::dot_type>::decode(r);
            if (!seq.empty() && !(seq.back() < d)) {
                r.fail_at(errc::invalid_value,
                          "causal_context cloud (dots must be strictly increasing)", at);
            }
            if (detail::covers_or_adjoins(c.version_.get(d.replica), d.counter)) {
                r.fail_at(errc::invalid_value,
                          "causal_context cloud (dot included in or adjacent to the version)", at);
            }
            seq.push_back(d);
        }
        c.cloud_.adopt_sequence(boost::container::ordered_unique_range, std::move(seq));
        return c;
    }
};

CRDT_END_NAMESPACE
