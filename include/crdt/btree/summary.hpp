// crdt/btree/summary.hpp -- the vocabulary of the summarized B-tree: item,
// summary, dimension, seek target, bias, visit.
//
// A `crdt::btree::tree<Traits>` stores items in order. Every item has a
// *summary*, and summaries form a monoid under a left-to-right fold; every
// internal node keeps the folded summary of each child next to the child
// pointer. A *dimension* is any value folded from summaries (an item count, a
// UTF-16 length, the last key); a cursor can seek by any dimension with a
// *seek target*, and `bias` breaks ties at item boundaries.
//
// Traits (no inheritance; a plain struct, see summary_traits below):
//
//   struct run_traits {
//       using item_type = run;
//       using summary_type = run_summary;
//       static run_summary summarize(const run&);
//       static run_summary zero();
//       static void combine(run_summary& acc, const run_summary& rhs); // acc = acc (+) rhs
//   };
//
// Laws (checked by crdt/testing/summary_laws.hpp, not by the compiler):
//   combine is associative, zero() is its two-sided identity. Commutativity is
//   NOT required: the tree always folds left to right, so "last key" summaries
//   are fine. Summaries should be bounded in size (no vectors that grow with
//   the subtree): every internal slot stores one.
//
// Dimensions are values, not types with a static zero: the cursor starts from
// the value you pass (a default-constructed one by default), so a dimension
// may carry query state (a version pointer) for version-relative positions.
//   dimension:          void add(const summary_type&)
//   partial_dimension:  bool try_add(const summary_type&); false means "unknown
//                       over this subtree" and leaves the value unchanged; the
//                       tree then descends into that subtree. Over a single
//                       item try_add must succeed.
//
// Optionally, Traits add a *cold* summary (has_cold_summary below): a second
// monoid stored once per node instead of in every parent slot, for bulky data
// that only some queries read (version bounds). Cold-aware dimensions take
// (hot, cold) in add/try_add; walk classifiers may take (hot, cold) too.
//
// Bias: a seek target t that equals the boundary between items a and b lands
// on a with bias::left and on b with bias::right. Precisely, a seek skips an
// item (or subtree) whose end position e satisfies t > e, or t == e with
// bias::right; it stops at the first item it does not skip. So bias::left
// seeks give `start < t <= end` ("the item that contains the unit before t"),
// bias::right seeks give `start <= t < end`.
//
// Complexity: everything here is O(1) vocabulary. Thread safety: none needed.
// Exception safety: none of these helpers throw unless the user's add throws.
#pragma once

#include <crdt/core/config.hpp>

#include <compare>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <tuple>
#include <type_traits>
#include <utility>

CRDT_BEGIN_NAMESPACE
namespace btree {

/// Which side of an item boundary a seek lands on (see the file comment).
enum class bias : std::uint8_t { left, right };

/// A classifier's verdict on a subtree (or item) during tree::walk:
/// skip it (advance positions, emit nothing), take it whole (advance positions,
/// emit it as part of a run), or descend into it (classify its children).
/// Descending on a single item hands the item to the walk's item callback.
enum class visit : std::uint8_t { skip, take_whole, descend };

/// Traits name an item type and a summary type.
template <class Tr>
concept has_item_and_summary = requires {
    typename Tr::item_type;
    typename Tr::summary_type;
}
&&std::copyable<typename Tr::item_type>&& std::copyable<typename Tr::summary_type>;

/// Traits summarize one item.
template <class Tr>
concept summarizes = requires(const typename Tr::item_type& item) {
    { Tr::summarize(item) } -> std::same_as<typename Tr::summary_type>;
};

/// Traits give the summaries a monoid: zero() and an in-place, left-to-right
/// combine. Laws: associative, zero() is the identity.
template <class Tr>
concept summary_monoid = requires(typename Tr::summary_type& acc,
                                  const typename Tr::summary_type& rhs) {
    { Tr::zero() } -> std::same_as<typename Tr::summary_type>;
    Tr::combine(acc, rhs);
};

/// The umbrella concept for tree<Traits>: an item, a summary, and the monoid.
template <class Tr>
concept summary_traits = has_item_and_summary<Tr> && summarizes<Tr> && summary_monoid<Tr>;

/// Optional: traits with a *cold* summary, a second monoid kept once per node
/// (in the node's header) instead of in every parent slot. Seeks and
/// dimensions see only the hot summary_type; walk classifiers see both. Use it
/// for bulky data that only some queries need (the sequence's version bounds),
/// so that seeks read dense, light parent slots.
///   using cold_summary_type = ...;            // default-constructible
///   static cold_summary_type summarize_cold(const item_type&);
///   static cold_summary_type zero_cold();
///   static void combine_cold(cold_summary_type& acc, const cold_summary_type& rhs);
template <class Tr>
concept has_cold_summary = requires(const typename Tr::item_type& item,
                                    typename Tr::cold_summary_type& acc,
                                    const typename Tr::cold_summary_type& rhs) {
    { Tr::summarize_cold(item) } -> std::same_as<typename Tr::cold_summary_type>;
    { Tr::zero_cold() } -> std::same_as<typename Tr::cold_summary_type>;
    Tr::combine_cold(acc, rhs);
}
&&std::default_initializable<typename Tr::cold_summary_type>&&
    std::copyable<typename Tr::cold_summary_type>;

/// Optional: traits that patch a fold in O(1) when one item changes, so that
/// replace() and update() refresh the summaries above an item in O(h)
/// instead of refolding every node on the path (O(B h)):
///   static bool patch(summary_type& acc, const summary_type& old_item,
///                     const summary_type& new_item);
/// Effects: when it can, turns `acc`, the fold of any sequence of item
/// summaries that holds `old_item` at some position, into the fold of the
/// same sequence with `new_item` at that position, and returns true;
/// otherwise returns false and leaves `acc` unchanged (the tree then refolds).
/// Law (checked by crdt/testing/summary_laws.hpp, check_patch_laws): a
/// patch that returns true gives exactly that fold. Additive fields patch by
/// adding new - old (unsigned wrap-around is fine); order-dependent fields
/// (a "last key") patch only when they do not change.
template <class Tr>
concept has_patch = requires(typename Tr::summary_type& acc, const typename Tr::summary_type& s) {
    { Tr::patch(acc, s, s) } -> std::same_as<bool>;
};

/// Optional, for traits with a cold summary: the same for the cold one.
///   static bool patch_cold(cold_summary_type& acc, const cold_summary_type& old_item,
///                          const cold_summary_type& new_item);
template <class Tr>
concept has_cold_patch = has_cold_summary<Tr> &&
    requires(typename Tr::cold_summary_type& acc, const typename Tr::cold_summary_type& c) {
    { Tr::patch_cold(acc, c, c) } -> std::same_as<bool>;
};

/// A dimension folds summaries: `d.add(s)` sets d to d (+) s.
template <class D, class S>
concept dimension = std::copyable<D> && requires(D& d, const S& s) {
    d.add(s);
};

/// A partial dimension may be unknown over a subtree: `d.try_add(s)` returns
/// false and leaves d unchanged; the tree then descends into that subtree.
template <class D, class S>
concept partial_dimension = std::copyable<D> && requires(D& d, const S& s) {
    { d.try_add(s) } -> std::same_as<bool>;
};

/// A seek target compares itself against a position: `t.compare(pos)` or
/// `t <=> pos` gives the order of the target relative to the position.
template <class T, class D>
concept seek_target = requires(const T& t, const D& pos) {
    { t.compare(pos) } -> std::convertible_to<std::weak_ordering>;
}
|| requires(const T& t, const D& pos) {
    { t <=> pos } -> std::convertible_to<std::weak_ordering>;
};

/// Adds `s` to a total or partial dimension. Returns: false when a partial
/// dimension is unknown over `s` (d unchanged).
template <class D, class S>
requires dimension<D, S> || partial_dimension<D, S>
constexpr bool try_add(D& d, const S& s) {
    if constexpr (partial_dimension<D, S>) {
        return d.try_add(s);
    } else {
        d.add(s);
        return true;
    }
}

/// A dimension that also reads the cold summary (traits with a cold summary):
/// `d.add(hot, cold)`, or partial: `bool d.try_add(hot, cold)`. Seeks hand it
/// the cold fold of each subtree they weigh (one indirection to the child's
/// header) and summarize_cold(item) for items. The sequence's "offset at
/// version V" is one: it needs the insertion bounds, which are cold.
template <class D, class S, class C>
concept cold_dimension = std::copyable<D> && requires(D& d, const S& s, const C& c) {
    d.add(s, c);
};
template <class D, class S, class C>
concept partial_cold_dimension = std::copyable<D> && requires(D& d, const S& s, const C& c) {
    { d.try_add(s, c) } -> std::same_as<bool>;
};

/// Adds (hot s, cold c) to any kind of dimension: the cold-aware forms when D
/// has them, otherwise the hot-only ones. Returns: false when unknown.
template <class D, class S, class C>
requires partial_cold_dimension<D, S, C> || cold_dimension<D, S, C> || dimension<D, S> ||
    partial_dimension<D, S>
constexpr bool try_add(D& d, const S& s, const C& c) {
    if constexpr (partial_cold_dimension<D, S, C>) {
        return d.try_add(s, c);
    } else if constexpr (cold_dimension<D, S, C>) {
        d.add(s, c);
        return true;
    } else {
        return btree::try_add(d, s);
    }
}

// ---------------------------------------------------------------------------
// Ready-made dimensions.
// ---------------------------------------------------------------------------

/// The dimension that tracks nothing (iteration without positions).
struct no_dimension {
    template <class S>
    constexpr void add(const S&) noexcept {}
    friend constexpr bool operator==(no_dimension, no_dimension) noexcept { return true; }
};

/// The summary itself as a dimension: add = Traits::combine.
template <class Tr>
struct summary_dimension {
    typename Tr::summary_type value = Tr::zero();
    void add(const typename Tr::summary_type& s) { Tr::combine(value, s); }
};

/// A dimension that sums one member of the summary, e.g.
/// `sum_of<&run_summary::utf16>`. Seek with a plain number of the member's
/// type: `c.seek(std::uint64_t{42}, bias::right)`.
template <auto Member>
struct sum_of;

template <class S, class V, V S::*Member>
struct sum_of<Member> {
    using value_type = V;
    V value{};
    constexpr void add(const S& s) noexcept { value += s.*Member; }
    friend constexpr auto operator<=>(const sum_of& a, const sum_of& b) noexcept {
        return std::weak_order(a.value, b.value);
    }
    friend constexpr bool operator==(const sum_of& a, const sum_of& b) noexcept {
        return a.value == b.value;
    }
    friend constexpr std::weak_ordering operator<=>(const sum_of& a, const V& b) noexcept {
        return std::weak_order(a.value, b);
    }
    friend constexpr bool operator==(const sum_of& a, const V& b) noexcept { return a.value == b; }
};

/// Several dimensions folded in one pass. A seek target for the first
/// component also seeks on the tuple (only the first component is compared);
/// a target that compares against the whole tuple is used as is.
/// try_add is all-or-nothing: if one component is unknown, none changes.
template <class... Ds>
struct dims {
    static_assert(sizeof...(Ds) >= 1, "crdt::btree::dims needs at least one dimension");
    std::tuple<Ds...> values;

    constexpr dims() = default;
    constexpr explicit dims(Ds... ds) : values(std::move(ds)...) {}

    template <std::size_t I>
    constexpr const auto& get() const noexcept {
        return std::get<I>(values);
    }
    template <std::size_t I>
    constexpr auto& get() noexcept {
        return std::get<I>(values);
    }
    template <class D>
    constexpr const D& get() const noexcept {
        return std::get<D>(values);
    }

    friend constexpr bool operator==(const dims&, const dims&) = default;

    template <class S>
    requires(dimension<Ds, S>&&...) constexpr void add(const S& s) {
        std::apply([&](auto&... d) { (d.add(s), ...); }, values);
    }

    /// Cold-aware form, present when a component reads the cold summary.
    template <class S, class C>
    requires((partial_cold_dimension<Ds, S, C> || cold_dimension<Ds, S, C>) ||
             ...) constexpr bool try_add(const S& s, const C& c) {
        std::tuple<Ds...> next = values;
        bool ok = std::apply([&](auto&... d) { return (btree::try_add(d, s, c) && ...); }, next);
        if (ok) {
            values = std::move(next);
        }
        return ok;
    }

    template <class S>
    requires((partial_dimension<Ds, S> || dimension<Ds, S>)&&...) &&
        (partial_dimension<Ds, S> || ...) constexpr bool try_add(const S& s) {
        std::tuple<Ds...> next = values;
        bool ok = std::apply([&](auto&... d) { return (btree::try_add(d, s) && ...); }, next);
        if (ok) {
            values = std::move(next);
        }
        return ok;
    }
};

namespace detail_dims {
template <class D>
struct first_of {
    using type = void;
};
template <class D0, class... Ds>
struct first_of<dims<D0, Ds...>> {
    using type = D0;
};
} // namespace detail_dims

/// A target usable to seek over positions of type D: either directly, or
/// through the first component of a dims<...>.
template <class T, class D>
concept seek_target_for = seek_target<T, D> ||
    (!std::is_void_v<typename detail_dims::first_of<D>::type> &&
     seek_target<T, typename detail_dims::first_of<D>::type>);

/// Returns: the order of target `t` relative to position `pos`.
template <class T, class D>
requires seek_target_for<T, D>
constexpr std::weak_ordering compare_target(const T& t, const D& pos) {
    if constexpr (seek_target<T, D>) {
        if constexpr (requires { t.compare(pos); }) {
            return t.compare(pos);
        } else {
            return t <=> pos;
        }
    } else {
        return compare_target(t, pos.template get<0>());
    }
}

} // namespace btree
CRDT_END_NAMESPACE
