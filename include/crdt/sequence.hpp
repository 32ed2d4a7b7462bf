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
// Branches: fork(replica) is a branch sharing the document's op store (O(1)),
// fork_at(version, replica) a branch at any past version (rebuilt bottom-up,
// no op replayed), merge(other) unions the ops. snapshot() / load_snapshot()
// save and load a document with its whole history without integrating ops.
//
// A sequence is syncable (crdt/sync/concepts.hpp): delta_since(v) rebuilds
// the ops a replica at `v` lacks from the engine, merge(d) applies a delta
// (a list of ops, crdt/sequence/delta.hpp, with a compact binary codec), so
// crdt::store::replica can carry it.
//
// Complexity (n runs): insert/erase at a position O(log n) per run touched;
// apply O(log n) plus the runs between the op's origins (concurrent inserts
// only) plus O(log b) per buffered op (each is retried when the op it misses
// arrives); content() O(n + elements).
// A moved-from sequence may only be assigned to or destroyed. Copies are
// deep (their own op store); fork() makes branches that share one.
// Thread safety: none (like a std::vector); branches of one document share
// mutable state, so use them from one thread at a time. Exception safety:
// apply and the local edits validate before changing anything (strong)
// except for allocation failure during an edit (basic).
#pragma once

#include <crdt/codec/crc32c.hpp>
#include <crdt/codec/reader.hpp>
#include <crdt/codec/writer.hpp>
#include <crdt/core/config.hpp>
#include <crdt/core/dot.hpp>
#include <crdt/core/error.hpp>
#include <crdt/core/replica_id.hpp>
#include <crdt/core/version_vector.hpp>
#include <crdt/sequence/core.hpp>
#include <crdt/sequence/delta.hpp>
#include <crdt/sequence/snapshot.hpp>

#include <algorithm>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <limits>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
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
    using insert_op = sequence_insert_op<T, replica_type>;
    /// Delete the elements inserted as (target.replica, target.counter + k),
    /// k in [0, count), as the ops (id.replica, id.counter + k).
    using erase_op = sequence_erase_op<replica_type>;
    using op = std::variant<insert_op, erase_op>;
    using version_type = basic_version_vector<replica_type>;
    /// A list of ops (crdt/sequence/delta.hpp): what delta_since returns,
    ///   merge takes and the sync protocol carries. The local edits' results
    ///   convert to it.
    using delta_type = sequence_delta<T, Policy>;
    /// Deltas of local edits may be merged in any order (law S3 of
    ///   crdt/sync/concepts.hpp): ops whose predecessors are missing are
    ///   buffered, and version() counts only applied ops.
    static constexpr bool mutator_deltas_commute = true;

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

    /// Copies deep-copy the op store (a copy shares nothing; fork() makes a
    /// branch that shares it). Copy assignment gives the strong guarantee:
    /// if it throws (std::bad_alloc), the target is unchanged.
    sequence(const sequence&) = default;
    sequence(sequence&&) noexcept = default;
    sequence& operator=(const sequence& o) {
        if (this != &o) {
            sequence copy(o);
            *this = std::move(copy);
        }
        return *this;
    }
    sequence& operator=(sequence&&) noexcept = default;
    ~sequence() = default;

    // ---- queries -----------------------------------------------------------

    /// Returns: the number of visible elements. Complexity: O(1).
    std::size_t size() const noexcept { return static_cast<std::size_t>(engine_.summary().chars); }
    bool empty() const noexcept { return size() == 0; }
    /// Returns: the visible elements in order. Complexity: O(n + size()).
    std::vector<T> content() const { return engine_.content(); }
    /// Returns: the local replica id.
    const replica_type& self() const noexcept { return self_; }
    /// Returns: how many received ops wait for missing predecessors.
    std::size_t buffered() const noexcept { return waiting_count_ + ready_.size(); }
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
        engine_.append_at(to_lvs(v), out);
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

    // ---- deltas --------------------------------------------------------------

    /// Returns: every op applied here that is not in `v`, in LV order (the
    ///   order this replica applied them, which is causal), run-length: the
    ///   consecutive elements of one insertion as one insert_op (with the
    ///   origins they were inserted with), consecutive deletes of
    ///   consecutive elements as one erase_op; an op partly in `v` gives its
    ///   part not in `v`. delta_since({}) is the whole history. A replica
    ///   at `v` (or a fresh one, for `{}`) that merges it has this replica's
    ///   content and version. Buffered ops are not included: version() does
    ///   not claim them, so their sender sends them again (and a bad one
    ///   cannot spoil this replica's deltas).
    /// Complexity: O(k B log n) for k ops (spans) not in v, plus O(a log r)
    ///   for the a replicas the document knows and the r of `v`: it does not
    ///   grow with the history, so catching a peer up by a few ops is cheap.
    delta_type delta_since(const version_type& v) const { return ops_between(v, nullptr); }

    /// Returns: the ops of delta_since(v) that are in `up_to` (parts of ops
    ///   that straddle it: their part inside), in the same order.
    /// Complexity: as delta_since.
    delta_type delta_between(const version_type& v, const version_type& up_to) const {
        return ops_between(v, &up_to);
    }

private:
    delta_type ops_between(const version_type& v, const version_type* up_to) const {
        delta_type out;
        const auto emit = [&](lv_t lo, lv_t hi) {
            engine_.for_each_op(
                lo, hi,
                [&](lv_t lv, lv_t n, lv_t left, lv_t right) {
                    out.ops.emplace_back(insert_op{dot_of(lv), origin(left), origin(right),
                                                   engine_.elements(lv, n)});
                },
                [&](lv_t lv, lv_t n, lv_t target) {
                    const dot_type id = dot_of(lv);
                    const dot_type t = dot_of(target);
                    // Targets not consecutive here may be consecutive ids.
                    auto* last = out.ops.empty() ? nullptr : std::get_if<erase_op>(&out.ops.back());
                    if (last != nullptr && last->id.replica == id.replica &&
                        last->id.counter + last->count == id.counter &&
                        last->target.replica == t.replica &&
                        last->target.counter + last->count == t.counter) {
                        last->count += n;
                    } else {
                        out.ops.emplace_back(erase_op{id, t, n});
                    }
                });
        };
        // Per agent, the seqs this branch applied past v's counter: the ops
        // it lacks (an agent's applied seqs are a prefix), in LV order.
        std::vector<std::pair<lv_t, lv_t>> lacking;
        for (std::uint32_t a = 0; a < engine_.agent_count(); ++a) {
            std::uint64_t next = engine_.next_seq(a, Policy::first_counter);
            if (up_to != nullptr) {
                next = std::min(next, up_to->get(engine_.agent_name(a)) + 1);
            }
            const std::uint64_t from =
                std::max(Policy::first_counter, v.get(engine_.agent_name(a)) + 1);
            if (from < next) {
                engine_.lv_ranges(a, from, next,
                                  [&](lv_t lo, lv_t hi) { lacking.emplace_back(lo, hi); });
            }
        }
        std::sort(lacking.begin(), lacking.end());
        for (const auto& [lo, hi] : lacking) {
            emit(lo, hi);
        }
        return out;
    }

public:
    /// Effects: applies every op of `d` as apply() does: ops (or parts)
    ///   already applied are ignored (idempotent), ops whose predecessors
    ///   are missing are buffered until they arrive. Merging deltas in any
    ///   order gives the same state (laws S1-S3 of crdt/sync/concepts.hpp).
    /// Throws: crdt::error(invalid_value) if an op of `d` is invalid: empty,
    ///   its counters overflow, or an origin or erase target is a delete
    ///   (known here or in `d`), or an id is both an insert and a delete in
    ///   `d`. The whole of `d` is checked before any op is applied, so
    ///   nothing changes then (strong guarantee). A buffered op (from an
    ///   earlier merge or apply) that turns out invalid once its
    ///   predecessors arrive is dropped without an error. Resource limits
    ///   (std::bad_alloc, crdt::error(counter_overflow) past 2^32 - 2 ops)
    ///   leave the ops before the failing one applied (basic guarantee).
    /// Complexity: as apply() per op, plus O(m log m) for the check of the
    ///   m ops of `d`.
    void merge(const delta_type& d) {
        validate(d);
        bool applied = false;
        for (const op& o : d.ops) {
            status s = status::duplicate;
            try {
                s = try_apply(o);
            } catch (const crdt::error& e) {
                if (e.cause() != errc::invalid_value) {
                    throw;
                }
                continue; // contradicts a buffered op applied meanwhile: dropped
            }
            if (s == status::missing) {
                buffer(o);
            } else if (s == status::applied) {
                release(o);
                applied = true;
            }
        }
        if (applied || !ready_.empty()) {
            drain(true); // ops in causal order never wait
        }
    }

    // ---- snapshots -------------------------------------------------------------

    /// Returns: a snapshot of this document (branch): its whole history
    ///   (ids, kinds, elements, delete targets) and the document order of
    ///   its elements as columns (crdt/sequence/snapshot.hpp), so that
    ///   load_snapshot rebuilds the document without integrating or even
    ///   materializing a single op. Buffered ops are not included. Format
    ///   (docs/sequence.md): magic "CSQS", format version 2, the columns,
    ///   CRC-32C.
    /// Requires: the delta is encodable (T is char32_t or encodable, and so
    ///   is the replica type).
    /// Complexity: O(k B log n) for the k ops (as delta_since) plus O(n).
    std::vector<std::byte> snapshot() const requires detail::seq::delta_encodable_v<T, Policy> {
        byte_writer w;
        w.raw(std::as_bytes(std::span<const char>(snapshot_magic, 4)));
        w.varint(snapshot_format);
        detail::seq::snapshot_codec<T, replica_type>::encode(w, engine_);
        w.fixed<std::uint32_t>(crc32c(w.view()));
        return w.take();
    }

    /// Returns: the document `bytes` (a snapshot()) holds, edited as `self`:
    ///   its ops are stored and its run tree is built bottom-up in the
    ///   stored document order; no op is integrated.
    /// Throws: crdt::error naming `what` and the byte offset where it
    ///   applies: bad_magic, unsupported_version, checksum_mismatch,
    ///   truncated and the other decoding errors, trailing_bytes;
    ///   invalid_value for columns that disagree (counts, ranges), an
    ///   origin or delete target that is not an earlier insert, and a
    ///   document order that does not hold every inserted element exactly
    ///   once. The CRC catches corruption, not forgery: a well-formed
    ///   snapshot with a wrong order loads as a document with that order.
    /// Complexity: O(N + n log n) for N ops and n runs.
    static sequence load_snapshot(std::span<const std::byte> bytes, replica_type self,
                                  std::string_view what = "sequence snapshot") requires
        detail::seq::delta_encodable_v<T, Policy> {
        if (bytes.size() < 4 + 1 + 4) {
            throw crdt::error(errc::truncated,
                              std::string(what) + ": " + std::to_string(bytes.size()) +
                                  " bytes is shorter than any snapshot",
                              bytes.size());
        }
        const auto body = bytes.first(bytes.size() - 4);
        byte_reader trailer(bytes.last(4), what);
        if (trailer.fixed<std::uint32_t>() != crc32c(body)) {
            throw crdt::error(errc::checksum_mismatch,
                              std::string(what) + ": CRC-32C of the snapshot does not match",
                              body.size());
        }
        byte_reader r(body, what);
        const auto magic = r.raw(4);
        if (!std::equal(magic.begin(), magic.end(),
                        std::as_bytes(std::span<const char>(snapshot_magic, 4)).begin())) {
            throw crdt::error(errc::bad_magic,
                              std::string(what) + ": not a sequence snapshot (magic)", 0);
        }
        const std::size_t at = r.offset();
        if (const auto f = r.varint(); f != snapshot_format) {
            throw crdt::error(errc::unsupported_version,
                              std::string(what) + ": format version " + std::to_string(f) +
                                  " (this build reads " + std::to_string(snapshot_format) + ")",
                              at);
        }
        sequence out(std::move(self));
        detail::seq::snapshot_codec<T, replica_type>::decode(r, out.engine_, what,
                                                             Policy::first_counter, bytes.size());
        return out;
    }

    // ---- branches --------------------------------------------------------------

    /// Returns: a branch of this document: the same elements, version and
    ///   buffered ops, edited as `self` from now on. Both share one op store
    ///   (elements, ids, deletes): neither copies the history, and merge()
    ///   between them applies ops by id without copying elements into the
    ///   store again. Edits on either branch never change the other.
    /// Throws: crdt::error(invalid_value) if `self` has made ops in this
    ///   document that this branch has not applied. A branch may edit as a
    ///   replica only while it holds every op that replica made (on any
    ///   branch): two branches editing as one replica would give two ops one
    ///   id, so the second one's edit throws (see insert()).
    /// Complexity: O(1) for the history (the run tree and its index are
    ///   persistent), O(replicas + buffered ops) for the rest.
    /// Thread safety: branches of one document share mutable state; use
    ///   them from one thread at a time (a copy made with the copy
    ///   constructor shares nothing).
    sequence fork(replica_type self) const {
        sequence out(std::move(self), engine_.branch());
        out.check_own_replica("sequence::fork");
        out.waiting_ = waiting_;
        out.waiting_count_ = waiting_count_;
        out.ready_ = ready_;
        return out;
    }
    /// Returns: a branch of this document as it was at version `v` (ops of
    ///   `v` not applied here are ignored; buffered ops are not carried),
    ///   edited as `self`: content() equals content_at(v), version() is
    ///   `v` restricted to the ops applied here, and local positions resolve
    ///   against that content. Shares the op store as fork() does.
    /// Throws: crdt::error(invalid_value) if `self` has made ops in this
    ///   document that are not in `v` (see fork), or if `v` is not causally
    ///   closed (it holds an op but not
    ///   an op it depends on; every version() ever returned is closed).
    /// Complexity: O(n + e log k) for n runs and e elements at `v` (the run
    ///   tree is rebuilt bottom-up from this one, no op is replayed); O(1)
    ///   when v is this document's version (it is then fork(self)).
    sequence fork_at(const version_type& v, replica_type self) const {
        sequence out(std::move(self),
                     v == version() ? engine_.branch() : engine_.branch_at(to_lvs(v)));
        out.check_own_replica("sequence::fork_at");
        return out;
    }
    /// Effects: applies every op `other` has applied that this one has not
    ///   (other's buffered ops excluded): merge(other.delta_since(version())).
    ///   `other` may be a branch of this document (fork) or any replica of
    ///   it; merging is idempotent and commutative like merge(delta).
    /// Throws: as merge(const delta_type&).
    /// Complexity: as merge of the delta of k ops: O(k (log n + B)).
    void merge(const sequence& other) {
        if (&other != this) {
            merge(other.delta_since(version()));
        }
    }
    /// Effects: applies the ops `other` has applied that are in `up_to` and
    ///   that this one lacks: merge(other.delta_between(version(), up_to)).
    ///   Brings a branch to exactly `up_to` when its version is within
    ///   `up_to` and `other` holds all of `up_to` (e.g. an editor's branch
    ///   catching up to the version a remote edit was made at).
    /// Throws, Complexity: as merge(other).
    void merge(const sequence& other, const version_type& up_to) {
        if (&other != this) {
            merge(other.delta_between(version(), up_to));
        }
    }
    /// Returns: whether this and `other` are branches of one document (they
    ///   share an op store).
    bool shares_history(const sequence& other) const noexcept {
        return engine_.shares_store(other.engine_);
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
        std::optional<op> out(std::in_place, std::in_place_type<insert_op>);
        insert_local(pos, values, std::get<insert_op>(*out));
        return out;
    }
    /// Effects: inserts one element. Returns, Throws: as above.
    op insert(std::size_t pos, const T& value) {
        check_pos(pos, "insert");
        op out(std::in_place_type<insert_op>);
        insert_local(pos, std::span<const T>(&value, 1), std::get<insert_op>(out));
        return out;
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
        const std::uint32_t a = own_agent();
        while (count > 0) {
            const std::uint64_t seq = engine_.next_seq(a, Policy::first_counter);
            const auto [target, k] = engine_.local_erase(pos, count, [&](std::size_t n) {
                const auto got = engine_.acquire(a, seq, n, false, nullptr);
                CRDT_ASSERT(got.fresh && got.n == n); // own_agent(): this branch is its tip
                return got.lv;
            });
            // Filled in place: each replica name copied once, nothing moved.
            auto& e = std::get<erase_op>(out.emplace_back(std::in_place_type<erase_op>));
            e.id.replica = self_;
            e.id.counter = seq;
            fill_dot(e.target, target);
            e.count = k;
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
            buffer(o);
            return true;
        }
        release(o);
        drain(false);
        return true;
    }

private:
    enum class status { applied, duplicate, missing };

    static constexpr char snapshot_magic[4] = {'C', 'S', 'Q', 'S'};
    static constexpr std::uint64_t snapshot_format = 2;

    sequence(replica_type self, engine_t e) : self_(std::move(self)), engine_(std::move(e)) {}

    /// Throws: crdt::error(invalid_value) naming `what` if another branch
    ///   of this document has made ops as self_ that this branch has not
    ///   applied (two branches editing as one replica would give two ops one
    ///   id).
    void check_own_replica(const char* what) const {
        const auto a = engine_.find_agent(self_);
        if (a && engine_.store_next_seq(*a, Policy::first_counter) !=
                     engine_.next_seq(*a, Policy::first_counter)) {
            throw crdt::error(errc::invalid_value,
                              std::string(what) +
                                  ": another branch of this document has edited as this "
                                  "replica beyond this branch's version; give each branch "
                                  "its own replica id");
        }
    }

    /// Effects: the local insert of non-empty `values` at `pos` (checked);
    ///   fills `io` in place (each name copied once, nothing moved).
    void insert_local(std::size_t pos, std::span<const T> values, insert_op& io) {
        const std::uint32_t a = own_agent();
        const std::uint64_t seq = engine_.next_seq(a, Policy::first_counter);
        const auto got = engine_.acquire(a, seq, values.size(), true, values.data());
        CRDT_ASSERT(got.fresh && got.n == values.size()); // own_agent(): this branch is its tip
        const auto [left, right] = engine_.local_insert(pos, got.lv, values.size());
        io.id.replica = self_;
        io.id.counter = seq;
        set_origin(io.origin_left, left);
        set_origin(io.origin_right, right);
        io.content.assign(values.begin(), values.end());
    }

    /// Returns: the agent index of self_ (interned on the first local edit,
    ///   then cached: agent indices never change in an op store, and the
    ///   cache moves and copies with engine_). Throws: as check_own_replica.
    std::uint32_t own_agent() {
        if (own_ == no_agent) {
            check_own_replica("sequence: local edit");
            own_ = engine_.intern(self_);
        } else if (engine_.store_next_seq(own_, Policy::first_counter) !=
                   engine_.next_seq(own_, Policy::first_counter)) {
            check_own_replica("sequence: local edit"); // throws
        }
        return own_;
    }

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
                engine_.lv_ranges(*a, 0, e.counter + 1, [&](lv_t lo, lv_t hi) { set.add(lo, hi); });
            }
        }
        set.normalize();
        return set.intersect(engine_.applied());
    }

    /// Effects: makes `d` the dot of element `lv` (the name copied once).
    void fill_dot(dot_type& d, lv_t lv) const {
        const auto [a, seq] = engine_.id_of(lv);
        d.replica = engine_.agent_name(a);
        d.counter = seq;
    }
    dot_type dot_of(lv_t lv) const {
        dot_type d;
        fill_dot(d, lv);
        return d;
    }
    /// Effects: makes `o` the dot of element `lv` (nullopt for no_lv).
    void set_origin(std::optional<dot_type>& o, lv_t lv) const {
        if (lv != detail::seq::no_lv) {
            fill_dot(o.emplace(), lv);
        }
    }
    std::optional<dot_type> origin(lv_t lv) const {
        std::optional<dot_type> o;
        set_origin(o, lv);
        return o;
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

    /// Effects: buffers `o`, which try_apply found missing the op `missing_`,
    ///   under that id, unless an equal op waits there already (when T has
    ///   ==). Complexity: O(log b).
    void buffer(const op& o) {
        auto& mine = waiting_[missing_.replica];
        if constexpr (std::equality_comparable<T>) {
            const auto [lo, hi] = mine.equal_range(missing_.counter);
            for (auto it = lo; it != hi; ++it) {
                if (it->second == o) {
                    return;
                }
            }
        }
        mine.emplace(missing_.counter, o);
        ++waiting_count_;
    }

    /// Effects: moves the buffered ops that wait for an op of the replica of
    ///   `applied` that is now applied to the ready queue. Complexity: O(log
    ///   b) plus the ops moved.
    void release(const op& applied) {
        const replica_type& r = extent(applied).first.replica;
        const auto it = waiting_.find(r);
        if (it == waiting_.end()) {
            return;
        }
        const auto a = engine_.find_agent(r);
        const std::uint64_t next = a ? engine_.next_seq(*a, Policy::first_counter) : 0;
        auto& mine = it->second;
        const auto end = mine.lower_bound(next);
        for (auto w = mine.begin(); w != end; ++w) {
            ready_.push_back(std::move(w->second));
        }
        waiting_count_ -= static_cast<std::size_t>(std::distance(mine.begin(), end));
        mine.erase(mine.begin(), end);
        if (mine.empty()) {
            waiting_.erase(it);
        }
    }

    /// Effects: records that the op being tried misses the op `d`.
    /// Returns: status::missing.
    status missing(const dot_type& d) {
        missing_ = d;
        return status::missing;
    }

    /// Returns: the first id of `o` and how many ids it spans.
    static std::pair<dot_type, std::uint64_t> extent(const op& o) {
        if (const auto* ins = std::get_if<insert_op>(&o)) {
            return {ins->id, ins->content.size()};
        }
        const auto& del = std::get<erase_op>(o);
        return {del.id, del.count};
    }

    /// Effects: checks the ops of `d` as merge() documents, changing nothing.
    /// Throws: crdt::error(invalid_value) naming the op.
    void validate(const delta_type& d) const {
        struct own_range {
            const replica_type* replica;
            std::uint64_t first;
            std::uint64_t last;
            bool insert;
        };
        const auto fail = [](std::size_t i, const std::string& why) {
            throw crdt::error(errc::invalid_value,
                              "sequence::merge: op " + std::to_string(i) + ": " + why);
        };
        std::vector<own_range> own;
        own.reserve(d.ops.size());
        for (std::size_t i = 0; i < d.ops.size(); ++i) {
            const auto [id, n] = extent(d.ops[i]);
            if (n == 0) {
                fail(i, "empty op");
            }
            if (!detail::seq::valid_range(id.counter, n, Policy::first_counter)) {
                fail(i, "counter range out of bounds");
            }
            if (const auto* del = std::get_if<erase_op>(&d.ops[i])) {
                if (!detail::seq::valid_range(del->target.counter, n, Policy::first_counter)) {
                    fail(i, "target counter range out of bounds");
                }
            }
            const auto* ins = std::get_if<insert_op>(&d.ops[i]);
            const replica_type& r = ins ? ins->id.replica : std::get<erase_op>(d.ops[i]).id.replica;
            own.push_back({&r, id.counter, id.counter + n - 1, ins != nullptr});
        }
        std::sort(own.begin(), own.end(), [](const own_range& a, const own_range& b) {
            if (*a.replica != *b.replica) {
                return *a.replica < *b.replica;
            }
            return a.first < b.first;
        });
        // Merge overlapping ranges of one replica; their kinds must agree.
        std::size_t m = 0;
        for (std::size_t i = 0; i < own.size(); ++i) {
            if (m > 0 && *own[m - 1].replica == *own[i].replica &&
                own[i].first <= own[m - 1].last) {
                if (own[m - 1].insert != own[i].insert) {
                    throw crdt::error(errc::invalid_value,
                                      "sequence::merge: an id is both an insert and a delete");
                }
                own[m - 1].last = std::max(own[m - 1].last, own[i].last);
            } else {
                own[m++] = own[i];
            }
        }
        own.resize(m);
        // The range of `own` holding (r, c), or nullptr.
        const auto find_own = [&](const replica_type& r, std::uint64_t c) -> const own_range* {
            auto it = std::upper_bound(own.begin(), own.end(),
                                       std::pair<const replica_type*, std::uint64_t>(&r, c),
                                       [](const auto& key, const own_range& x) {
                                           if (*key.first != *x.replica) {
                                               return *key.first < *x.replica;
                                           }
                                           return key.second < x.first;
                                       });
            if (it == own.begin()) {
                return nullptr;
            }
            --it;
            return *it->replica == r && c <= it->last ? &*it : nullptr;
        };
        // Checks that the elements (r, c + k), k < n, are inserts as far as
        // they are known (here, then in `d`).
        const auto check_elements = [&](std::size_t i, const dot_type& start, std::uint64_t n,
                                        const char* what) {
            std::uint64_t c = start.counter;
            const std::uint64_t end = start.counter + n; // valid_range: no overflow
            if (const auto a = engine_.find_agent(start.replica)) {
                const std::uint64_t known =
                    std::min(end, engine_.next_seq(*a, Policy::first_counter));
                for (; c < known; ++c) {
                    if (!engine_.is_insert(engine_.lv_of(*a, c))) {
                        fail(i, std::string(what) + " is a delete");
                    }
                }
            }
            while (c < end) {
                const own_range* x = find_own(start.replica, c);
                if (x == nullptr) {
                    return; // unknown: the op waits for it
                }
                if (!x->insert) {
                    fail(i, std::string(what) + " is a delete in the same delta");
                }
                if (x->last >= end - 1) {
                    return;
                }
                c = x->last + 1;
            }
        };
        for (std::size_t i = 0; i < d.ops.size(); ++i) {
            const auto [id, n] = extent(d.ops[i]);
            if (const auto a = engine_.find_agent(id.replica);
                a && id.counter + n <= engine_.next_seq(*a, Policy::first_counter)) {
                continue; // applied already: ignored
            }
            if (const auto a = engine_.find_agent(id.replica)) {
                // The ids not applied here may be another branch's already.
                const std::uint64_t from = std::max(id.counter, engine_.next_seq(*a, 0));
                if (!engine_.store_kind_matches(*a, from, id.counter + n - from,
                                                std::holds_alternative<insert_op>(d.ops[i]))) {
                    fail(i, "an id is an insert on one branch of this document and a delete "
                            "on another");
                }
            }
            if (const auto* ins = std::get_if<insert_op>(&d.ops[i])) {
                if (ins->origin_left) {
                    if (ins->origin_left->counter < Policy::first_counter) {
                        fail(i, "origin_left counter out of bounds");
                    }
                    check_elements(i, *ins->origin_left, 1, "origin_left");
                }
                if (ins->origin_right) {
                    if (ins->origin_right->counter < Policy::first_counter) {
                        fail(i, "origin_right counter out of bounds");
                    }
                    check_elements(i, *ins->origin_right, 1, "origin_right");
                }
            } else {
                const auto& del = std::get<erase_op>(d.ops[i]);
                check_elements(i, del.target, del.count, "an erase target");
            }
        }
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
                return missing(dot_type{ins->id.replica, s - 1});
            }
            const std::uint64_t k = next - s; // elements already applied
            std::optional<lv_t> left;
            if (k > 0) {
                left = resolve(dot_type{ins->id.replica, s + k - 1});
            } else if (ins->origin_left) {
                left = resolve(*ins->origin_left);
                if (!left) {
                    return missing(*ins->origin_left);
                }
            } else {
                left = detail::seq::no_lv;
            }
            lv_t right = detail::seq::no_lv;
            if (ins->origin_right) {
                const auto r = resolve(*ins->origin_right);
                if (!r) {
                    return missing(*ins->origin_right);
                }
                right = *r;
            }
            const std::uint32_t a = engine_.intern(ins->id.replica);
            if (!engine_.store_kind_matches(a, next, n - k, true)) {
                throw crdt::error(errc::invalid_value,
                                  "sequence::apply: an insert's id is a delete on another branch");
            }
            // Ids another branch applied keep their LVs, which need not be
            // consecutive: the op is integrated piece by piece, each after
            // the previous one (as the op's own elements are).
            lv_t prev = *left;
            for (std::uint64_t done = k; done < n;) {
                const auto piece = engine_.acquire(a, s + done, static_cast<std::size_t>(n - done),
                                                   true, ins->content.data() + done);
                engine_.remote_insert(piece.lv, piece.n, prev, right);
                prev = piece.lv + static_cast<lv_t>(piece.n) - 1;
                done += piece.n;
            }
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
            return missing(dot_type{del.id.replica, s - 1});
        }
        const std::uint64_t k = next - s;
        std::vector<lv_t> targets;
        targets.reserve(
            static_cast<std::size_t>(std::min<std::uint64_t>(del.count - k, engine_.op_count())));
        for (std::uint64_t j = k; j < del.count; ++j) {
            const dot_type target{del.target.replica, del.target.counter + j};
            const auto t = resolve(target);
            if (!t) {
                return missing(target);
            }
            targets.push_back(*t);
        }
        const std::uint32_t a = engine_.intern(del.id.replica);
        if (!engine_.store_kind_matches(a, next, targets.size(), false)) {
            throw crdt::error(errc::invalid_value,
                              "sequence::apply: an erase's id is an insert on another branch");
        }
        for (std::size_t i = 0; i < targets.size();) {
            const auto piece = engine_.acquire(a, next + i, targets.size() - i, false, nullptr);
            for (std::size_t p = i; p < i + piece.n;) {
                std::size_t q = p + 1;
                while (q < i + piece.n && targets[q] == targets[q - 1] + 1) {
                    ++q;
                }
                engine_.erase_elements(piece.lv + static_cast<lv_t>(p - i), targets[p], q - p,
                                       piece.fresh);
                p = q;
            }
            i += piece.n;
        }
        return status::applied;
    }

    /// Effects: applies the ready ops (buffered ops whose missing op
    ///   arrived), and the ops each one releases in turn; an op that misses
    ///   another op now is buffered again under it. A ready op found invalid
    ///   is dropped, then its error is thrown (quiet: not thrown, and
    ///   draining continues); the other ready ops stay ready for the next
    ///   drain. Complexity: O(log b) per op tried: each buffered op is tried
    ///   once per op it waited for, not once per arrival.
    void drain(bool quiet) {
        while (!ready_.empty()) {
            op o = std::move(ready_.back());
            ready_.pop_back();
            status s = status::missing;
            try {
                s = try_apply(o);
            } catch (const crdt::error& e) {
                if (!quiet || e.cause() != errc::invalid_value) {
                    throw; // o is dropped
                }
                continue;
            }
            if (s == status::missing) {
                buffer(o);
            } else if (s == status::applied) {
                release(o);
            }
        }
    }

    static constexpr std::uint32_t no_agent = std::numeric_limits<std::uint32_t>::max();

    replica_type self_;
    engine_t engine_;
    std::uint32_t own_ = no_agent; ///< self_'s agent index in engine_'s store, once known
    /// Buffered ops by the id of the op each misses: replica, then counter.
    std::map<replica_type, std::multimap<std::uint64_t, op>> waiting_;
    std::size_t waiting_count_ = 0;
    std::vector<op> ready_; ///< buffered ops whose missing op arrived
    dot_type missing_{};    ///< what the last try_apply found missing
};

CRDT_END_NAMESPACE
