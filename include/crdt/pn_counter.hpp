// crdt/pn_counter.hpp -- a counter that goes up and down, as a delta-state
// dot store.
//
// Like g_counter, each replica owns one live dot; its payload is the pair of
// running totals (increments, decrements). The value is the sum of
// increments minus the sum of decrements, computed modulo 2^64 and returned
// as int64 (so it is exact while the true value fits in int64). Nests in
// or_map with the observed-reset semantics described in g_counter.hpp.
//
// Complexity: value() O(r); increment/decrement O(r); merge O(r + r').
// Thread safety: a value type, not synchronized.
// Exception safety: mutators are strong; merge is basic.
#pragma once

#include <crdt/codec/codec.hpp>
#include <crdt/core/config.hpp>
#include <crdt/core/error.hpp>
#include <crdt/core/replica_id.hpp>
#include <crdt/detail/dot_store/causal_base.hpp>
#include <crdt/detail/dot_store/codec.hpp>
#include <crdt/detail/dot_store/kernel.hpp>
#include <crdt/g_counter.hpp>

#include <cstdint>
#include <limits>

CRDT_BEGIN_NAMESPACE

/// One replica's running totals in a pn_counter.
struct pn_totals {
    std::uint64_t increments = 0;
    std::uint64_t decrements = 0;
    friend bool operator==(const pn_totals&, const pn_totals&) = default;
};

/// Encoding: increments then decrements, as varints.
template <>
struct codec<pn_totals> {
    static void encode(byte_writer& w, const pn_totals& t) {
        w.varint(t.increments);
        w.varint(t.decrements);
    }
    static pn_totals decode(byte_reader& r) {
        pn_totals t;
        t.increments = r.varint();
        t.decrements = r.varint();
        return t;
    }
};

/// A counter with increments and decrements.
template <class Policy = counter_defaults>
class basic_pn_counter : public detail::dot_store::causal_base<
                             basic_pn_counter<Policy>,
                             detail::dot_store::dot_fun<typename Policy::replica_id, pn_totals>,
                             typename Policy::replica_id, no_timestamps> {
    using base = detail::dot_store::causal_base<
        basic_pn_counter<Policy>,
        detail::dot_store::dot_fun<typename Policy::replica_id, pn_totals>,
        typename Policy::replica_id, no_timestamps>;
    friend base;
    friend struct detail::dot_store::access;

public:
    using replica_type = typename Policy::replica_id;
    using policy_type = Policy;

    /// Effects: an empty counter that cannot be mutated (a delta holder).
    basic_pn_counter() = default;
    /// Effects: an empty counter mutated by replica `id`.
    explicit basic_pn_counter(replica_type id) : base(std::move(id)) {}

    /// Requires: constructed with a replica id.
    /// Effects: adds `n`. Returns: the delta.
    /// Throws: crdt::error(errc::counter_overflow) if this replica's total of
    ///   increments would exceed 2^64-1; nothing changes then.
    basic_pn_counter increment(std::uint64_t n = 1) { return change(n, 0); }

    /// Requires: constructed with a replica id.
    /// Effects: subtracts `n`. Returns: the delta.
    /// Throws: crdt::error(errc::counter_overflow) as increment does.
    basic_pn_counter decrement(std::uint64_t n = 1) { return change(0, n); }

    /// Effects: resets what this replica has observed (used by or_map::erase).
    /// Returns: the delta.
    basic_pn_counter reset() {
        basic_pn_counter delta;
        this->state_.store.for_each_dot([&](const auto& d) { delta.state_.ctx.insert(d); });
        this->stamp_removal(delta);
        this->join(delta);
        return delta;
    }

    /// Returns: increments minus decrements (modulo 2^64, as int64).
    std::int64_t value() const noexcept {
        std::uint64_t p = 0;
        std::uint64_t n = 0;
        const auto& e = this->state_.store.entries();
        for (auto it = e.begin(); it != e.end(); ++it) {
            auto next = it + 1;
            if (next == e.end() || !(next->first.replica == it->first.replica)) {
                p += it->second.increments;
                n += it->second.decrements;
            }
        }
        return static_cast<std::int64_t>(p - n);
    }

    /// Effects: joins `other` (a state or a delta) into *this.
    void merge(const basic_pn_counter& other) { this->join(other); }

    static bool visibly_empty(const typename base::store_type& s) { return s.empty(); }

private:
    basic_pn_counter change(std::uint64_t up, std::uint64_t down) {
        const auto d = this->fresh_dot();
        pn_totals own;
        basic_pn_counter delta;
        for (const auto& e : this->state_.store.entries()) {
            if (e.first.replica == *this->id_) {
                own = e.second;
                delta.state_.ctx.insert(e.first);
            }
        }
        constexpr auto max = std::numeric_limits<std::uint64_t>::max();
        if (up > max - own.increments || down > max - own.decrements) {
            throw error(errc::counter_overflow, "pn_counter: a total would exceed 2^64-1");
        }
        own.increments += up;
        own.decrements += down;
        delta.state_.store.insert(d, own);
        delta.state_.ctx.insert(d);
        this->join(delta);
        return delta;
    }
};

/// The up-down counter over the default policy.
using pn_counter = basic_pn_counter<>;

/// Encoding: the causal state; each dot's payload is a pn_totals.
template <class Policy>
struct codec<basic_pn_counter<Policy>> : detail::dot_store::causal_codec<basic_pn_counter<Policy>> {
};

CRDT_END_NAMESPACE
