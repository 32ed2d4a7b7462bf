// crdt/or_map.hpp -- an observed-remove map whose values are replicated
// types of this family (registers, counters, or_set, lww_map, or_map), as a
// delta-state dot store.
//
// The map is a dot_map<K, V's store>: every value's dots live in the map's
// one causal context (nested values share it, as in Riak's parent clock).
//   * update(k, fn) lends fn a V holding k's value, the map's context,
//     replica id and clock; fn calls V's mutators and returns V's delta,
//     which update wraps into a map delta for key k.
//   * erase(k) is Riak's reset-remove: it calls V's reset(), which removes
//     exactly the dots this replica has seen in k's value (or, for lww_map
//     values, writes a tombstone for each field seen). A concurrent update
//     made elsewhere has dots the eraser never saw, so it survives and the
//     key reappears holding just that update (add-wins keys).
//   * a key is present while its value is not visibly empty (V's notion:
//     an lww_map of only tombstones, an or_set with no element).
//
// The table DB's authoritative rows are
//     or_map<row_key, lww_map<field, value>>
// (examples/types_tour.cpp): fields are LWW with tombstones, rows add-wins.
//
// Containers: flat_containers (default) or hashed_containers, through the
// `containers` member of the policy.
//
// Complexity: update/erase O(log n) flat or O(1) hashed to find the key,
// plus V's mutator; merge O(n + m) (a removal is recorded only in the
// context, so a full state's merge visits every key), but a delta touching
// k <= n / 8 keys visits only those, through a dot -> key index built on
// first use (kernel.hpp): O(k log n) plus the value joins; get() copies
// the value.
// Thread safety: a value type. Exception safety: update gives the basic
// guarantee (the lent value is always returned to the map); merge is strong
// when a clock policy rejects a timestamp, basic otherwise.
#pragma once

#include <crdt/codec/codec.hpp>
#include <crdt/core/config.hpp>
#include <crdt/core/version_vector.hpp>
#include <crdt/detail/dot_store/causal_base.hpp>
#include <crdt/detail/dot_store/codec.hpp>
#include <crdt/detail/dot_store/kernel.hpp>
#include <crdt/detail/dot_store/policies.hpp>

#include <range/v3/view/filter.hpp>
#include <range/v3/view/transform.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <type_traits>
#include <utility>

CRDT_BEGIN_NAMESPACE

/// Policy of or_map; derive and override a member. The replica id and the
/// clock are those of the value type V.
struct or_map_defaults {
    /// flat_containers or hashed_containers.
    using containers = flat_containers;
    template <class T>
    using allocator = std::allocator<T>;
};

namespace detail::dot_store {
template <class K, class V, class P>
using or_map_store = dot_map<typename V::replica_type, K, typename V::store_type,
                             typename P::containers, typename P::template allocator<K>>;
} // namespace detail::dot_store

/// An observed-remove map of replicated values.
template <class K, class V, class Policy = or_map_defaults>
class or_map
    : public detail::dot_store::causal_base<or_map<K, V, Policy>,
                                            detail::dot_store::or_map_store<K, V, Policy>,
                                            typename V::replica_type, typename V::clock_policy> {
    using base = detail::dot_store::causal_base<or_map<K, V, Policy>,
                                                detail::dot_store::or_map_store<K, V, Policy>,
                                                typename V::replica_type, typename V::clock_policy>;
    friend base;
    friend struct detail::dot_store::access;
    using R = typename V::replica_type;
    using value_store = typename V::store_type;
    using access = detail::dot_store::access;

    static constexpr bool value_purgeable =
        requires(value_store & s, const typename base::version_type& v) {
        V::purge_store(s, v);
    };

public:
    using key_type = K;
    using mapped_type = V;
    using replica_type = R;
    using policy_type = Policy;

    /// Effects: an empty map that cannot be mutated (a delta holder).
    or_map() = default;
    /// Effects: an empty map mutated by replica `id`.
    explicit or_map(R id) : base(std::move(id)) {}
    /// Effects: as above, with the clock `c` its timestamped values use.
    or_map(R id, typename base::clock_type c) : base(std::move(id), std::move(c)) {}

    /// Requires: a replica id; `fn(V&)` calls mutators of its argument and
    ///   returns the V delta they produced (e.g. `return v.set(f, x);`; to
    ///   apply several, merge their deltas into one V and return it).
    /// Effects: applies fn to k's value (an empty V if k is absent).
    /// Returns: the map delta for key k.
    /// Throws: what fn throws (the value is returned to the map first).
    template <class F>
    or_map update(const K& k, F&& fn) {
        V scratch;
        lent_marks marks = mark();
        lend(k, scratch);
        struct give_back_guard {
            or_map* self;
            const K& key;
            V& value;
            const lent_marks& marks;
            ~give_back_guard() { self->give_back(key, value, marks); }
        };
        V vdelta;
        {
            give_back_guard guard{this, k, scratch, marks};
            vdelta = std::forward<F>(fn)(scratch);
        }
        or_map delta;
        auto& vs = access::state(vdelta);
        delta.state_.ctx = std::move(vs.ctx);
        delta.state_.store.put(k, std::move(vs.store));
        return delta;
    }

    /// Requires: a replica id.
    /// Effects: resets k's value as far as this replica has seen it (see the
    ///   file comment); nothing if k is absent.
    /// Returns: the map delta.
    or_map erase(const K& k) {
        if (this->state_.store.find(k) == nullptr) {
            return or_map();
        }
        return update(k, [](V& v) { return v.reset(); });
    }

    /// Requires: a replica id.
    /// Effects: erases every key (what or_map::erase does, for each).
    /// Returns: the delta.
    or_map reset() {
        std::vector<K> keys;
        for (const auto& e : this->state_.store.map()) {
            keys.push_back(e.first);
        }
        or_map delta;
        for (const auto& k : keys) {
            delta.join(erase(k));
        }
        return delta;
    }

    /// Returns: a copy of k's value (no replica id: read it, or merge it),
    ///   or nullopt if k is absent. Complexity: copies the value's store.
    std::optional<V> get(const K& k) const {
        const auto* s = this->state_.store.find(k);
        if (s == nullptr || V::visibly_empty(*s)) {
            return std::nullopt;
        }
        V v;
        access::state(v).store = *s;
        access::state(v).ctx = this->state_.ctx;
        return v;
    }

    /// Returns: whether k is present (its value is not visibly empty).
    bool contains(const K& k) const {
        const auto* s = this->state_.store.find(k);
        return s != nullptr && !V::visibly_empty(*s);
    }

    /// Returns: a view (range-v3) of the present keys; in key order for
    ///   flat containers.
    auto keys() const {
        return this->state_.store.map() |
               ranges::views::filter([](const auto& e) { return !V::visibly_empty(e.second); }) |
               ranges::views::transform([](const auto& e) -> const K& { return e.first; });
    }

    /// Returns: the number of present keys. Complexity: O(n).
    std::size_t size() const {
        std::size_t n = 0;
        for (const auto& e : this->state_.store.map()) {
            n += V::visibly_empty(e.second) ? std::size_t{0} : std::size_t{1};
        }
        return n;
    }

    /// Returns: whether no key is present.
    bool empty() const { return size() == 0; }

    /// Effects: lets the clock observe the timestamps of `other`'s values,
    ///   then joins `other` (a state or a delta) into *this.
    /// Throws: crdt::error(errc::clock_skew) from an HLC clock policy, or
    ///   crdt::error(errc::causality_gap) for a delta_since(v) delta when this
    ///   replica has not reached v; the state is then unchanged.
    void merge(const or_map& other) {
        observe_all(this->clock_, this->state_, other.state_.store);
        this->join(other);
    }

    /// Requires: V has purge_tombstones (lww_map, or an or_map of them); the
    ///   precondition of lww_map::purge_tombstones.
    /// Effects: purges the stable tombstones of every value; a key left
    ///   with an empty value disappears.
    /// Returns: the number of tombstones removed.
    /// (A template so that explicit instantiation of or_map skips it when V
    /// has no tombstones; clang 14 instantiates constrained members.)
    template <bool Purgeable = value_purgeable>
    requires Purgeable std::size_t purge_tombstones(const typename base::version_type& stable) {
        return purge_store(this->state_.store, stable);
    }

    template <class Store>
    static std::size_t
    purge_store(Store& s, const typename base::version_type& stable) requires value_purgeable {
        std::size_t n = 0;
        s.modify_each([&](const K&, value_store& vs) { n += V::purge_store(vs, stable); });
        return n;
    }

    template <class Store>
    static bool visibly_empty(const Store& s) {
        for (const auto& e : s.map()) {
            if (!V::visibly_empty(e.second)) {
                return false;
            }
        }
        return true;
    }

    template <class State, class Store>
    static void observe_all(typename base::clock_type& clock, const State& state, const Store& s) {
        if constexpr (requires(const value_store& vs) { V::observe_all(clock, state, vs); }) {
            for (const auto& e : s.map()) {
                V::observe_all(clock, state, e.second);
            }
        }
    }

private:
    void lend(const K& k, V& v) {
        auto& vs = access::state(v);
        if (auto* s = this->state_.store.find_mutable(k)) {
            vs.store = std::move(*s);
        }
        vs.ctx = std::move(this->state_.ctx);
        access::id(v) = this->id_;
        access::clock(v) = std::move(this->clock_);
    }

    std::uint64_t own_counter() const noexcept {
        return this->id_.has_value() ? this->state_.ctx.version().get(*this->id_) : 0;
    }

    // What the merge index needs to learn the dots a lent value gained: the
    // first fresh counter of this replica and, when the index is built, the
    // context's other replicas (fn may also merge into the value).
    struct lent_marks {
        std::uint64_t first_new = 0;
        std::optional<typename base::version_type> version;
        std::size_t cloud = 0;
    };

    lent_marks mark() const {
        lent_marks m;
        m.first_new = own_counter() + 1;
        if (this->state_.index.enabled()) {
            m.version = this->state_.ctx.version();
            m.cloud = this->state_.ctx.cloud().size();
        }
        return m;
    }

    // Returns: whether the context gained a dot of another replica since
    // `m` (fn merged something into the value). A merge either moves another
    // replica's version entry or grows the cloud (the cloud shrinks only by
    // moving into a version entry).
    bool foreign_dots_since(const lent_marks& m) const noexcept {
        const auto& now = this->state_.ctx.version();
        if (this->state_.ctx.cloud().size() != m.cloud) {
            return true;
        }
        auto a = now.begin();
        auto b = m.version->begin();
        for (;;) {
            while (a != now.end() && this->id_.has_value() && a->replica == *this->id_) {
                ++a;
            }
            while (b != m.version->end() && this->id_.has_value() && b->replica == *this->id_) {
                ++b;
            }
            if (a == now.end() || b == m.version->end()) {
                return a != now.end() || b != m.version->end();
            }
            if (!(*a == *b)) {
                return true;
            }
            ++a;
            ++b;
        }
    }

    // Returns the lent value's store, context and clock to the map. If the
    // key was absent and the value is now non-empty, it is added; if the
    // value became empty, the key is erased. Then the merge index learns the
    // dots the value gained, all under k: the value's mutators made the
    // fresh dots [first_new, own_counter()]; if fn also merged something into
    // the value, every dot of k is noted.
    void give_back(const K& k, V& v, const lent_marks& marks) noexcept {
        auto& vs = access::state(v);
        this->state_.ctx = std::move(vs.ctx);
        this->clock_ = std::move(access::clock(v));
        if (auto* s = this->state_.store.find_mutable(k)) {
            *s = std::move(vs.store);
            if (s->empty()) {
                this->state_.store.put(k, value_store{}); // erases k; does not allocate
            }
        } else if (!vs.store.empty()) {
            try {
                this->state_.store.put(k, std::move(vs.store));
            } catch (...) {
                // Out of memory while adding the key: the new value is lost
                // (its dots stay in the context); the basic guarantee.
            }
        }
        if (!marks.version || !this->state_.index.enabled()) {
            return; // no index: nothing to learn
        }
        if (foreign_dots_since(marks)) {
            if (const auto* s = this->state_.store.find(k)) {
                s->for_each_dot([&](const auto& d) { this->state_.note(d, k); });
            }
        } else if (this->id_.has_value()) {
            for (std::uint64_t c = marks.first_new; c <= own_counter() && c != 0; ++c) {
                this->state_.note(typename base::dot_type{*this->id_, c}, k);
            }
        }
    }
};

/// Encoding: the causal state; keys in increasing order, each with its
/// value's store.
template <class K, class V, class Policy>
struct codec<or_map<K, V, Policy>> : detail::dot_store::causal_codec<or_map<K, V, Policy>> {};

CRDT_END_NAMESPACE
