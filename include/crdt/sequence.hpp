// crdt/sequence.hpp -- crdt::sequence<T, Policy>: a replicated sequence
// (list) CRDT ordered by FugueMax (yjsmod): concurrent inserts at the same
// place never interleave; ties go to the smaller replica id.
//
// Every inserted or deleted element is an op identified by a dot (replica,
// counter); a replica's counters start at Policy::first_counter and have no
// gaps. Local edits return the ops they made; apply(op) integrates a remote
// op by id, idempotently, in any order: an op whose predecessors (earlier
// counters of its replica, its origins, its delete targets) are missing is
// buffered and applied once they arrive. Storage is run-length (see
// crdt/sequence/core.hpp).
//
// Complexity (n runs): insert/erase at a position O(log n) per run touched;
// apply O(log n) plus the runs between the op's origins (concurrent inserts
// only) plus O(b) per buffered op retried; content() O(n + elements).
// Thread safety: none (like a std::vector). Exception safety: apply and the
// local edits validate before changing anything (strong) except for
// allocation failure during an edit (basic).
#pragma once

#include <crdt/core/config.hpp>
#include <crdt/core/dot.hpp>
#include <crdt/core/error.hpp>
#include <crdt/core/replica_id.hpp>
#include <crdt/core/version_vector.hpp>
#include <crdt/sequence/core.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

CRDT_BEGIN_NAMESPACE

/// Which neighbour an anchor sticks to: `left` stays after the element
/// before it, `right` stays before the element after it.
enum class anchor_bias : std::uint8_t { left, right };

/// The default policy: agents named by strings (byte-wise tie order),
/// counters starting at 1.
struct sequence_defaults {
    using replica_type = agent_id;
    static constexpr std::uint64_t first_counter = 1;
};

template <class T, class Policy = sequence_defaults>
class sequence {
    using engine_t = detail::seq::engine<T, typename Policy::replica_type>;
    using lv_t = detail::seq::lv_t;

public:
    using value_type = T;
    using replica_type = typename Policy::replica_type;
    using dot_type = basic_dot<replica_type>;

    /// Insert the elements `content` with counters [id.counter, id.counter +
    /// size): the first goes right after `origin_left` (nullopt: the start),
    /// each next one right after the previous one, all before
    /// `origin_right` (nullopt: the end).
    struct insert_op {
        dot_type id;
        std::optional<dot_type> origin_left;
        std::optional<dot_type> origin_right;
        std::vector<T> content;
    };
    /// Delete the elements inserted as (target.replica, target.counter + k),
    /// k in [0, count), as the ops (id.replica, id.counter + k).
    struct erase_op {
        dot_type id;
        dot_type target;
        std::uint64_t count = 0;
    };
    using op = std::variant<insert_op, erase_op>;
    using version_type = basic_version_vector<replica_type>;

    /// A stable position: the element `id` (an insertion's id plus the
    /// element's offset in it, which is the insertion's counter + offset) and
    /// a bias. An anchor with no id is the start (left bias) or the end
    /// (right bias) of the document. Anchors survive every concurrent edit:
    /// they name an element, not an offset.
    struct anchor {
        std::optional<dot_type> id;
        anchor_bias bias = anchor_bias::left;
        friend bool operator==(const anchor&, const anchor&) = default;
    };

    /// One span of a diff: `values` are kept (retain), inserted, or erased.
    enum class edit_kind : std::uint8_t { retain, insert, erase };
    struct edit {
        edit_kind kind = edit_kind::retain;
        std::vector<T> values;
        friend bool operator==(const edit&, const edit&) = default;
    };

    /// Effects: an empty sequence edited locally as `self`.
    explicit sequence(replica_type self) : self_(std::move(self)) {}

    // ---- queries -----------------------------------------------------------

    /// Returns: the number of visible elements. Complexity: O(1).
    std::size_t size() const noexcept { return static_cast<std::size_t>(engine_.summary().chars); }
    bool empty() const noexcept { return size() == 0; }
    /// Returns: the visible elements in order. Complexity: O(n + size()).
    std::vector<T> content() const { return engine_.content(); }
    /// Returns: the local replica id.
    const replica_type& self() const noexcept { return self_; }
    /// Returns: how many received ops wait for missing predecessors.
    std::size_t buffered() const noexcept { return pending_.size(); }
    /// Returns: whether the op `d` has been applied.
    bool contains(const dot_type& d) const {
        const auto a = engine_.find_agent(d.replica);
        return a && engine_.lv_of(*a, d.counter) != detail::seq::no_lv;
    }
    /// Returns: the next counter `r` would use.
    std::uint64_t next_counter(const replica_type& r) const {
        const auto a = engine_.find_agent(r);
        return a ? engine_.next_seq(*a, Policy::first_counter) : Policy::first_counter;
    }
    /// Returns: the id of the visible element at `pos`.
    /// Throws: crdt::error(invalid_value) if pos >= size().
    dot_type id_at(std::size_t pos) const {
        check_pos(pos + 1, "id_at");
        return dot_of(engine_.lv_at(pos));
    }
    /// Returns: the heap bytes held by the document (approximate: the id
    ///   map of agents and the op buffer are not counted). Complexity: O(n / B).
    std::size_t memory_bytes() const { return engine_.memory_bytes(); }
    // ---- anchors -----------------------------------------------------------

    /// Returns: an anchor at position `pos`: with anchor_bias::left it
    ///   follows the element before `pos` (the start if pos == 0), with
    ///   anchor_bias::right the element at `pos` (the end if pos == size()).
    /// Throws: crdt::error(invalid_value) if pos > size().
    anchor anchor_at(std::size_t pos, anchor_bias b) const {
        check_pos(pos, "anchor_at");
        if (b == anchor_bias::left) {
            return pos == 0 ? anchor{std::nullopt, b} : anchor{dot_of(engine_.lv_at(pos - 1)), b};
        }
        return pos == size() ? anchor{std::nullopt, b} : anchor{dot_of(engine_.lv_at(pos)), b};
    }
    /// Returns: the position of `a` now: just after its element (left bias)
    ///   or at it (right bias); where the element was, if it is deleted.
    /// Throws: crdt::error(invalid_value) if the element is unknown here.
    std::size_t position(const anchor& a) const {
        if (!a.id) {
            return a.bias == anchor_bias::left ? 0 : size();
        }
        const auto lv = resolve(*a.id);
        if (!lv) {
            throw crdt::error(errc::invalid_value, "sequence::position: unknown anchor element");
        }
        const auto [pos, visible] = engine_.position_of(*lv);
        const auto p = static_cast<std::size_t>(pos);
        return visible && a.bias == anchor_bias::left ? p + 1 : p;
    }

    // ---- versions ----------------------------------------------------------

    /// Returns: the version: for each replica, the highest counter applied
    ///   (buffered ops excluded). Complexity: O(replicas log replicas).
    version_type version() const {
        version_type v;
        for (std::uint32_t a = 0; a < engine_.agent_count(); ++a) {
            const std::uint64_t next = engine_.next_seq(a, Policy::first_counter);
            if (next > Policy::first_counter) {
                v.set(engine_.agent_name(a), next - 1);
            }
        }
        return v;
    }

    /// Effects: calls out(std::span<const T>) for the elements of the
    ///   document as it was at version `v`, in order, span by span (the
    ///   cursor form: out may return false to stop, e.g. past a viewport).
    ///   Ops of `v` this replica has not applied are ignored.
    /// Complexity: the three-way walk of research/zed-sumtree.md 5.8: O(B (c
    ///   log(n/c) + 1)) node visits for c runs changed since v, plus the
    ///   output; subtrees with no insertion in v or wholly deleted at v are
    ///   skipped, subtrees unchanged since v are taken whole.
    template <class Out>
    void visit_at(const version_type& v, Out out) const {
        const detail::seq::lv_set set = to_lvs(v);
        engine_.visit_at(set, [&](const T* p, std::size_t n) {
            if constexpr (std::is_same_v<decltype(out(std::span<const T>(p, n))), bool>) {
                return out(std::span<const T>(p, n));
            } else {
                out(std::span<const T>(p, n));
                return true;
            }
        });
    }
    /// Returns: the document at version `v` (see visit_at).
    std::vector<T> content_at(const version_type& v) const {
        std::vector<T> out;
        visit_at(v, [&](std::span<const T> s) { out.insert(out.end(), s.begin(), s.end()); });
        return out;
    }
    /// Returns: the edits that turn content_at(v1) into content_at(v2):
    ///   maximal spans, adjacent spans of one kind merged. Complexity: the
    ///   walk as in visit_at, against both versions.
    std::vector<edit> diff(const version_type& v1, const version_type& v2) const {
        const detail::seq::lv_set a = to_lvs(v1);
        const detail::seq::lv_set b = to_lvs(v2);
        std::vector<edit> out;
        engine_.diff(a, b, [&](auto kind, const T* p, std::size_t n) {
            const auto k = static_cast<edit_kind>(kind);
            if (out.empty() || out.back().kind != k) {
                out.push_back(edit{k, {}});
            }
            out.back().values.insert(out.back().values.end(), p, p + n);
        });
        return out;
    }

    /// Effects: checks every internal invariant. Throws: std::logic_error.
    void verify() const { engine_.verify(); }
    /// Returns: the engine (for the text facade and tests).
    const engine_t& engine() const noexcept { return engine_; }

    // ---- local edits -----------------------------------------------------------

    /// Effects: inserts `values` before position `pos`.
    /// Returns: the op to send to other replicas (nullopt if values is empty).
    /// Throws: crdt::error(invalid_value) if pos > size().
    std::optional<op> insert(std::size_t pos, std::span<const T> values) {
        check_pos(pos, "insert");
        if (values.empty()) {
            return std::nullopt;
        }
        const std::uint32_t a = engine_.intern(self_);
        const std::uint64_t seq = engine_.next_seq(a, Policy::first_counter);
        const lv_t lv = engine_.allocate(a, seq, values.size(), true);
        const auto [left, right] = engine_.local_insert(pos, lv, values.data(), values.size());
        return op(insert_op{dot_type{self_, seq}, origin(left), origin(right),
                            std::vector<T>(values.begin(), values.end())});
    }
    /// Effects: inserts one element. Returns, Throws: as above.
    op insert(std::size_t pos, const T& value) {
        return *insert(pos, std::span<const T>(&value, 1));
    }

    /// Effects: deletes `count` elements starting at `pos`.
    /// Returns: the ops made (one per run of consecutive targets).
    /// Throws: crdt::error(invalid_value) if pos + count > size().
    std::vector<op> erase(std::size_t pos, std::size_t count) {
        if (pos > size() || count > size() - pos) {
            throw crdt::error(errc::invalid_value,
                              "sequence::erase: range [" + std::to_string(pos) + ", " +
                                  std::to_string(pos + count) + ") is past the end (size " +
                                  std::to_string(size()) + ")");
        }
        std::vector<op> out;
        const std::uint32_t a = engine_.intern(self_);
        while (count > 0) {
            const auto [target, k] = engine_.local_erase_some(pos, count);
            const std::uint64_t seq = engine_.next_seq(a, Policy::first_counter);
            const lv_t del = engine_.allocate(a, seq, k, false);
            engine_.record_deletes(del, target, k);
            out.push_back(erase_op{dot_type{self_, seq}, dot_of(target), k});
            count -= k;
        }
        return out;
    }

    // ---- remote ops --------------------------------------------------------------

    /// Effects: applies `o` (and then every buffered op it unblocks), or
    ///   buffers it if a predecessor is missing. Parts already applied are
    ///   ignored (idempotent).
    /// Returns: false if every element of `o` was already applied or buffered.
    /// Throws: crdt::error(invalid_value) if `o` is empty, its counters
    ///   overflow, or it refers to a delete as an element; nothing changes
    ///   then. If a buffered op that `o` unblocked is invalid, `o` stays
    ///   applied, the bad op is dropped and its error is thrown.
    bool apply(const op& o) {
        const status s = try_apply(o);
        if (s == status::duplicate) {
            return false;
        }
        if (s == status::missing) {
            pending_.push_back(o);
            return true;
        }
        drain();
        return true;
    }

private:
    enum class status { applied, duplicate, missing };

    static void throw_empty() {
        throw crdt::error(errc::invalid_value, "sequence::apply: empty op");
    }
    static void check_range(std::uint64_t first, std::uint64_t n) {
        if (first < Policy::first_counter ||
            n > std::numeric_limits<std::uint64_t>::max() - first) {
            throw crdt::error(errc::invalid_value,
                              "sequence::apply: counter range out of bounds (first " +
                                  std::to_string(first) + ", count " + std::to_string(n) + ")");
        }
    }

    void check_pos(std::size_t pos, const char* what) const {
        if (pos > size()) {
            throw crdt::error(errc::invalid_value, std::string("sequence::") + what +
                                                       ": position " + std::to_string(pos) +
                                                       " is past the end (size " +
                                                       std::to_string(size()) + ")");
        }
    }

    detail::seq::lv_set to_lvs(const version_type& v) const {
        static_assert(Policy::first_counter == 1, "versions need counters that start at 1");
        detail::seq::lv_set set;
        for (const auto& e : v) {
            const auto a = engine_.find_agent(e.replica);
            if (a) {
                engine_.lv_ranges(*a, e.counter + 1, [&](lv_t lo, lv_t hi) { set.add(lo, hi); });
            }
        }
        set.normalize();
        return set;
    }

    dot_type dot_of(lv_t lv) const {
        const auto [a, seq] = engine_.id_of(lv);
        return dot_type{engine_.agent_name(a), seq};
    }
    std::optional<dot_type> origin(lv_t lv) const {
        return lv == detail::seq::no_lv ? std::nullopt : std::optional<dot_type>(dot_of(lv));
    }

    /// Returns: the LV of the insert `d`; nullopt if unknown.
    /// Throws: crdt::error(invalid_value) if `d` is a delete.
    std::optional<lv_t> resolve(const dot_type& d) const {
        const auto a = engine_.find_agent(d.replica);
        if (!a) {
            return std::nullopt;
        }
        const lv_t lv = engine_.lv_of(*a, d.counter);
        if (lv == detail::seq::no_lv) {
            return std::nullopt;
        }
        if (!engine_.is_insert(lv)) {
            throw crdt::error(errc::invalid_value,
                              "sequence::apply: an op refers to a delete as an element");
        }
        return lv;
    }

    status try_apply(const op& o) {
        if (const auto* ins = std::get_if<insert_op>(&o)) {
            const std::uint64_t n = ins->content.size();
            if (n == 0) {
                throw_empty();
            }
            check_range(ins->id.counter, n);
            const auto a0 = engine_.find_agent(ins->id.replica);
            const std::uint64_t next =
                a0 ? engine_.next_seq(*a0, Policy::first_counter) : Policy::first_counter;
            const std::uint64_t s = ins->id.counter;
            if (s + n <= next) {
                return status::duplicate;
            }
            if (s > next) {
                return status::missing;
            }
            const std::uint64_t k = next - s; // elements already applied
            std::optional<lv_t> left;
            if (k > 0) {
                left = resolve(dot_type{ins->id.replica, s + k - 1});
            } else if (ins->origin_left) {
                left = resolve(*ins->origin_left);
                if (!left) {
                    return status::missing;
                }
            } else {
                left = detail::seq::no_lv;
            }
            lv_t right = detail::seq::no_lv;
            if (ins->origin_right) {
                const auto r = resolve(*ins->origin_right);
                if (!r) {
                    return status::missing;
                }
                right = *r;
            }
            const std::uint32_t a = engine_.intern(ins->id.replica);
            const lv_t lv = engine_.allocate(a, next, static_cast<std::size_t>(n - k), true);
            engine_.remote_insert(lv, ins->content.data() + k, static_cast<std::size_t>(n - k),
                                  *left, right);
            return status::applied;
        }
        const auto& del = std::get<erase_op>(o);
        if (del.count == 0) {
            throw_empty();
        }
        check_range(del.id.counter, del.count);
        check_range(del.target.counter, del.count);
        const auto a0 = engine_.find_agent(del.id.replica);
        const std::uint64_t next =
            a0 ? engine_.next_seq(*a0, Policy::first_counter) : Policy::first_counter;
        const std::uint64_t s = del.id.counter;
        if (s + del.count <= next) {
            return status::duplicate;
        }
        if (s > next) {
            return status::missing;
        }
        const std::uint64_t k = next - s;
        std::vector<lv_t> targets;
        targets.reserve(
            static_cast<std::size_t>(std::min<std::uint64_t>(del.count - k, engine_.op_count())));
        for (std::uint64_t j = k; j < del.count; ++j) {
            const auto t = resolve(dot_type{del.target.replica, del.target.counter + j});
            if (!t) {
                return status::missing;
            }
            targets.push_back(*t);
        }
        const std::uint32_t a = engine_.intern(del.id.replica);
        const lv_t first_del = engine_.allocate(a, next, targets.size(), false);
        for (std::size_t i = 0; i < targets.size();) {
            std::size_t j = i + 1;
            while (j < targets.size() && targets[j] == targets[j - 1] + 1) {
                ++j;
            }
            engine_.remote_erase(targets[i], j - i);
            engine_.record_deletes(first_del + static_cast<lv_t>(i), targets[i], j - i);
            i = j;
        }
        return status::applied;
    }

    void drain() {
        bool progress = true;
        while (progress && !pending_.empty()) {
            progress = false;
            for (std::size_t i = 0; i < pending_.size();) {
                status s = status::missing;
                try {
                    s = try_apply(pending_[i]);
                } catch (const crdt::error&) {
                    // A buffered op turned out invalid: drop it, then report.
                    pending_.erase(pending_.begin() + static_cast<std::ptrdiff_t>(i));
                    throw;
                }
                if (s == status::missing) {
                    ++i;
                    continue;
                }
                progress = progress || s == status::applied;
                pending_.erase(pending_.begin() + static_cast<std::ptrdiff_t>(i));
            }
        }
    }

    replica_type self_;
    engine_t engine_;
    std::vector<op> pending_;
};

CRDT_END_NAMESPACE
