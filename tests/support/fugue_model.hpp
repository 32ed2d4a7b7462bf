// tests/support/fugue_model.hpp -- a slow, obviously correct reference model of
// a FugueMax (yjsmod) sequence CRDT, the oracle for crdt::sequence / crdt::text.
//
// The model is a plain std::vector of items in document order, one item per
// inserted code point, never removed (deleted items stay as tombstones). Each
// item records its id (agent, seq), its origin-left and origin-right and
// whether it is deleted now. As in Eg-walker and diamond-types, origin-left
// is the nearest item to the left that is visible at the version the insert
// was made at, and origin-right the next item after it that exists at that
// version (deleted or not); std::nullopt stands for the start / the end.
// Concurrent inserts are placed by the yjsmod "integrate" rule of the
// Eg-walker reference implementation, which orders them exactly as FugueMax
// (Weidner and Kleppmann, "The Art of the Fugue"): runs typed concurrently at
// one place never interleave, and ties go to the smaller agent name,
// byte-wise (then the smaller seq, for an agent concurrent with itself).
//
// Versions are sets of op ids (fugue::version). An item is visible at a
// version V iff its insert is in V and no delete in V targets it; every query
// at a version decides this item by item (brute force, no summaries).
//
// Operations: local insert/delete by code point position, against the
// current state or against any past version (as on a branch forked there);
// remote apply of ops by id, in causal order, idempotently; fork = copy;
// merge = apply the other model's ops that are missing, in its log order
// (which is causal).
//
// Complexity: every operation is O(n) in the number of items (a scan of the
// vector and an insert into it); integrating a concurrent insert is O(n^2)
// in the worst case (it looks up the origins of the items it scans over).
// Local edits start their scan from the last local edit when they are made at
// the version that edit produced (a "position hint"), so typing does not
// rescan the document; any other change drops the hint.
// Thread safety: none (like a std::vector). Exception safety: strong for
// every mutation (state is only changed once the op has been validated).
#pragma once

#include <crdt/core/error.hpp>

#include <cstddef>
#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace crdt_test::fugue {

/// The id of one op (one inserted or one deleted code point). Ordered by
/// agent name (byte-wise, as std::string compares) then seq.
struct op_id {
    std::string agent;
    std::uint64_t seq = 0;

    friend auto operator<=>(const op_id&, const op_id&) = default;
    friend bool operator==(const op_id&, const op_id&) = default;
};

/// Insert one code point between the items `origin_left` and `origin_right`
/// (std::nullopt: the start / the end of the document).
struct insert_op {
    op_id id;
    std::optional<op_id> origin_left;
    std::optional<op_id> origin_right;
    char32_t content = 0;
};

/// Delete the item inserted by `target`.
struct delete_op {
    op_id id;
    op_id target;
};

using op = std::variant<insert_op, delete_op>;

/// Returns: the id of `o`.
inline const op_id& id_of(const op& o) {
    return std::visit([](const auto& x) -> const op_id& { return x.id; }, o);
}

/// A set of op ids, stored per agent as "every seq below `prefix`" plus the
/// seqs above it, so the usual versions (per-agent prefixes) stay small.
class version {
public:
    struct agent_set {
        std::uint64_t prefix = 0;        ///< every seq < prefix is in the set
        std::set<std::uint64_t> extra{}; ///< further seqs, all > prefix

        bool contains(std::uint64_t seq) const {
            return seq < prefix || (!extra.empty() && extra.count(seq) != 0);
        }
        void insert(std::uint64_t seq) {
            if (seq >= prefix) {
                extra.insert(seq);
            }
            normalize();
        }
        /// Moves extras that continue the prefix into it.
        void normalize() {
            while (!extra.empty() && *extra.begin() <= prefix) {
                if (*extra.begin() == prefix) {
                    ++prefix;
                }
                extra.erase(extra.begin());
            }
        }
        friend bool operator==(const agent_set&, const agent_set&) = default;
    };

    /// Returns: whether `id` is in the set.
    bool contains(const op_id& id) const {
        const agent_set* a = find(id.agent);
        return a != nullptr && a->contains(id.seq);
    }
    /// Effects: adds `id`.
    void insert(const op_id& id) { agents_[id.agent].insert(id.seq); }
    /// Effects: adds every id of `other` (set union).
    void merge(const version& other) {
        for (const auto& [agent, set] : other.agents_) {
            agent_set& mine = agents_[agent];
            if (set.prefix > mine.prefix) {
                mine.prefix = set.prefix;
                mine.normalize();
            }
            for (const std::uint64_t s : set.extra) {
                mine.insert(s);
            }
        }
    }
    /// Returns: the ids of `agent`, or nullptr if there are none.
    const agent_set* find(std::string_view agent) const {
        const auto it = agents_.find(agent);
        return it == agents_.end() ? nullptr : &it->second;
    }
    /// Returns: the number of ids in the set.
    std::size_t size() const {
        std::size_t n = 0;
        for (const auto& entry : agents_) {
            n += static_cast<std::size_t>(entry.second.prefix) + entry.second.extra.size();
        }
        return n;
    }
    friend bool operator==(const version&, const version&) = default;

private:
    std::map<std::string, agent_set, std::less<>> agents_;
};

/// One item of the model, as seen from outside (ids spelled out).
struct item {
    op_id id;
    std::optional<op_id> origin_left;
    std::optional<op_id> origin_right;
    char32_t content = 0;
    bool deleted = false;
};

class model {
public:
    // ---- queries ---------------------------------------------------------

    /// Returns: the document now (every op applied).
    std::u32string content() const {
        std::u32string out;
        for (const slot& s : items_) {
            if (!s.deleted) {
                out.push_back(s.content);
            }
        }
        return out;
    }

    /// Requires: `v` is causally closed (it contains the origins and the
    ///   targets of its ops); ids of `v` the model does not hold are ignored.
    /// Returns: the document at `v`: the items whose insert is in `v` and that
    ///   no delete in `v` targets, in document order.
    std::u32string content_at(const version& v) const {
        const view at = make_view(&v, /*may_be_current=*/false);
        std::u32string out;
        for (const slot& s : items_) {
            if (at.visible(s, *this)) {
                out.push_back(s.content);
            }
        }
        return out;
    }

    /// Returns: the ids of every op the model holds.
    version current_version() const {
        version v;
        for (const op& o : log_) {
            v.insert(id_of(o));
        }
        return v;
    }

    /// Returns: whether the model holds the op `id`.
    bool contains(const op_id& id) const {
        const auto it = agent_index_.find(id.agent);
        return it != agent_index_.end() && kind_of({it->second, id.seq}) != kind::unknown;
    }

    /// Returns: one more than the largest seq of `agent` the model holds (0
    ///   if none): a fresh seq for a local op.
    std::uint64_t next_seq(std::string_view agent) const {
        const auto it = agent_index_.find(agent);
        return it == agent_index_.end() ? 0 : kinds_[it->second].size();
    }

    /// Returns: every op the model holds, in the (causal) order it got them.
    const std::vector<op>& log() const { return log_; }

    /// Returns: the items in document order, tombstones included.
    std::vector<item> items() const {
        std::vector<item> out;
        for (const slot& s : items_) {
            out.push_back({public_id(s.id), public_origin(s.left), public_origin(s.right),
                           s.content, s.deleted});
        }
        return out;
    }

    // ---- local edits -------------------------------------------------------

    /// Requires: `at` is causally closed and contained in current_version()
    ///   (nullptr: the current version).
    /// Effects: inserts `c` at code point `pos` of content_at(*at), as op `id`
    ///   made on a branch at `at`: its origins are its neighbours there, and it
    ///   is integrated among the items concurrent to it.
    /// Returns: the new op (to send to other replicas).
    /// Throws: crdt::error(invalid_value) if `id` is already used or `pos` is
    ///   past the end; nothing changes then.
    const op& local_insert(const op_id& id, std::size_t pos, char32_t c,
                           const version* at = nullptr) {
        check_fresh(id);
        const view v = make_view(at);
        const std::size_t left_end = boundary_after(v, pos); // index after the origin-left
        std::size_t right = left_end;                        // first item that exists in `at`
        while (right < items_.size() && !v.exists(items_[right])) {
            ++right;
        }
        slot s{};
        s.first_delete = no_delete;
        s.id = intern(id);
        s.left = left_end == 0 ? no_id : items_[left_end - 1].id;
        s.right = right == items_.size() ? no_id : items_[right].id;
        s.content = c;
        const std::size_t dest = integrate(s, left_end, right);
        set_kind(s.id, kind::insert);
        log_.push_back(insert_op{id, public_origin(s.left), public_origin(s.right), c});
        // The items between left_end and dest are not in `at`, so pos + 1
        // items visible at the new version lie up to the new one.
        remember(v, id, dest + 1, pos + 1);
        return log_.back();
    }

    /// Requires: as local_insert.
    /// Effects: deletes the code point at `pos` of content_at(*at), as op `id`.
    /// Returns: the new op.
    /// Throws: crdt::error(invalid_value) if `id` is already used or there is
    ///   no code point at `pos`; nothing changes then.
    const op& local_erase(const op_id& id, std::size_t pos, const version* at = nullptr) {
        check_fresh(id);
        const view v = make_view(at);
        std::size_t index = boundary_after(v, pos);
        while (index < items_.size() && !v.visible(items_[index], *this)) {
            ++index;
        }
        if (index == items_.size()) {
            throw crdt::error(crdt::errc::invalid_value,
                              "fugue model: no code point to delete at position " +
                                  std::to_string(pos));
        }
        const lid self = intern(id);
        mark_deleted(self, index);
        log_.push_back(delete_op{id, public_id(items_[index].id)});
        remember(v, id, index, pos);
        return log_.back();
    }

    /// Effects: inserts `text` at `pos` of the current content, one op per
    ///   code point, with fresh seqs of `agent`.
    /// Throws: as local_insert.
    void insert(std::string_view agent, std::size_t pos, std::u32string_view text) {
        for (std::size_t k = 0; k < text.size(); ++k) {
            local_insert({std::string(agent), next_seq(agent)}, pos + k, text[k]);
        }
    }

    /// Effects: deletes `count` code points at `pos` of the current content.
    /// Throws: as local_erase (the deletes before the failing one stay).
    void erase(std::string_view agent, std::size_t pos, std::size_t count) {
        for (std::size_t k = 0; k < count; ++k) {
            local_erase({std::string(agent), next_seq(agent)}, pos);
        }
    }

    // ---- remote ops, branches ------------------------------------------------

    /// Effects: applies `o` if the model does not hold it yet.
    /// Returns: whether `o` was new.
    /// Throws: crdt::error(causality_gap) if an origin or the target of `o` is
    ///   missing (ops must arrive in causal order); crdt::error(invalid_value)
    ///   if the target is not an insert. Nothing changes then.
    bool apply(const op& o) {
        if (contains(id_of(o))) {
            return false;
        }
        if (const auto* ins = std::get_if<insert_op>(&o)) {
            const std::optional<std::size_t> left = find_required(ins->origin_left, ins->id);
            const std::optional<std::size_t> right = find_required(ins->origin_right, ins->id);
            slot s{};
            s.first_delete = no_delete;
            s.id = intern(ins->id);
            s.left = left ? items_[*left].id : no_id;
            s.right = right ? items_[*right].id : no_id;
            s.content = ins->content;
            integrate(s, left ? *left + 1 : 0, right ? *right : items_.size());
            set_kind(s.id, kind::insert);
        } else {
            const auto& del = std::get<delete_op>(o);
            const std::optional<std::size_t> target = find_required(del.target, del.id);
            mark_deleted(intern(del.id), *target);
        }
        log_.push_back(o);
        hint_ = {};
        return true;
    }

    /// Returns: a copy (a branch at the current version).
    model fork() const { return *this; }

    /// Requires: `v` is causally closed.
    /// Returns: a model holding exactly the ops of this one that are in `v`.
    model fork_at(const version& v) const {
        model out;
        out.log_.reserve(log_.size());
        for (const op& o : log_) {
            if (v.contains(id_of(o))) {
                out.apply(o);
            }
        }
        return out;
    }

    /// Effects: applies every op of `other` this model does not hold, in
    ///   `other`'s log order (a causal order).
    void merge(const model& other) {
        for (const op& o : other.log_) {
            apply(o);
        }
    }

private:
    /// An op id with the agent interned as an index into agent_names_.
    struct lid {
        std::uint32_t agent = 0;
        std::uint64_t seq = 0;
        friend bool operator==(const lid&, const lid&) = default;
        friend auto operator<=>(const lid&, const lid&) = default;
    };
    static constexpr lid no_id{std::numeric_limits<std::uint32_t>::max(), 0};

    static constexpr std::size_t no_delete = std::numeric_limits<std::size_t>::max();

    /// One item. `left`/`right` are the origins (no_id: start / end).
    /// `first_delete` starts the list of the deletes targeting it (an index
    /// into deletes_, no_delete if none); `deleted` says whether it has any.
    struct slot {
        lid id;
        lid left;
        lid right;
        char32_t content;
        bool deleted;
        std::size_t first_delete;
    };

    /// A delete op: its id and the next delete of the same target.
    struct delete_link {
        lid id;
        std::size_t next;
    };

    enum class kind : std::uint8_t { unknown, insert, erase };

    /// A version resolved against this model's agent table; `all` means the
    /// current version (every item exists; visible iff not deleted).
    struct view {
        bool all = true;
        const version* source = nullptr; ///< the version, when not `all`
        std::vector<const version::agent_set*> agents;

        bool has(lid id) const {
            if (all) {
                return true;
            }
            const version::agent_set* a = id.agent < agents.size() ? agents[id.agent] : nullptr;
            return a != nullptr && a->contains(id.seq);
        }
        bool exists(const slot& s) const { return has(s.id); }
        bool visible(const slot& s, const model& m) const {
            if (!has(s.id)) {
                return false;
            }
            if (!s.deleted) {
                return true;
            }
            if (all) {
                return false;
            }
            for (std::size_t d = s.first_delete; d != no_delete; d = m.deletes_[d].next) {
                if (has(m.deletes_[d].id)) {
                    return false;
                }
            }
            return true;
        }
    };

    /// `pos` items visible at `at` (nullopt: at the current version) lie
    /// before index `index`. The default (nothing before index 0) holds for
    /// every version.
    struct position_hint {
        std::size_t index = 0;
        std::size_t pos = 0;
        std::optional<version> at;
    };

    bool hint_applies(const view& v) const {
        return hint_.index == 0 ||
               (v.all ? !hint_.at.has_value() : hint_.at.has_value() && *hint_.at == *v.source);
    }

    /// Effects: records that `pos` items visible at the version after local op
    ///   `id` (made at `v`) lie before `index`.
    void remember(const view& v, const op_id& id, std::size_t index, std::size_t pos) {
        hint_ = {};
        if (v.all) {
            hint_ = {index, pos, std::nullopt};
        } else {
            version next = *v.source;
            next.insert(id);
            hint_ = {index, pos, std::move(next)};
        }
    }

    /// Returns: `v` resolved (nullptr: the current version). If
    ///   `may_be_current`, `v` must be a subset of the current version, and
    ///   is taken as the current one when it has as many ids.
    view make_view(const version* v, bool may_be_current = true) const {
        view out;
        if (v == nullptr || (may_be_current && v->size() == log_.size())) {
            // The current version (`v` is a subset of it, so equal sizes mean
            // equal sets): take the fast path, which also uses hint_.
            return out;
        }
        out.all = false;
        out.source = v;
        out.agents.resize(agent_names_.size(), nullptr);
        for (std::size_t a = 0; a < agent_names_.size(); ++a) {
            out.agents[a] = v->find(agent_names_[a]);
        }
        return out;
    }

    /// Returns: the index just after the pos-th item visible in `v` (0 for
    ///   pos == 0): where an insert at `pos` starts looking for its place.
    /// Throws: crdt::error(invalid_value) if fewer than `pos` items are visible.
    std::size_t boundary_after(const view& v, std::size_t pos) const {
        if (pos == 0) {
            return 0;
        }
        std::size_t index = 0;
        std::size_t seen = 0;
        if (hint_applies(v)) {
            // Typing: start from the last edit at this version, walking back if needed.
            index = hint_.index;
            seen = hint_.pos;
            while (seen > pos) {
                --index;
                if (v.visible(items_[index], *this)) {
                    --seen;
                }
            }
            if (seen == pos) {
                // Back up to just after the visible item that makes the count.
                while (index > 0 && !v.visible(items_[index - 1], *this)) {
                    --index;
                }
                return index;
            }
        }
        for (; index < items_.size(); ++index) {
            if (v.visible(items_[index], *this) && ++seen == pos) {
                return index + 1;
            }
        }
        throw crdt::error(crdt::errc::invalid_value, "fugue model: position " +
                                                         std::to_string(pos) +
                                                         " is past the end of a document of " +
                                                         std::to_string(seen) + " code points");
    }

    /// The yjsmod / FugueMax integrate rule. `s` goes somewhere in the gap
    /// [left_end, right): after its origin-left (index left_end - 1) and before
    /// its origin-right (index right). The items already in that gap are all
    /// concurrent with `s` (its origins were adjacent when it was made).
    ///
    /// Think of the items as a tree (Fugue): an item is a child of its
    /// origin-left, and everything typed after it (whose origin-left is the
    /// item or one of its descendants) is its subtree, which lies contiguously
    /// right after it. The scan walks the gap from the left:
    ///  - an item whose origin-left is left of ours (oleft < left) is not a
    ///    descendant of our origin-left: the siblings of `s` and their
    ///    subtrees end here, so stop, we go before it;
    ///  - an item whose origin-left lies inside the gap (oleft > left) belongs
    ///    to the subtree of a sibling we are passing: pass it too;
    ///  - a sibling (oleft == left) with the same origin-right is a true tie:
    ///    the smaller (agent, seq) goes first, so stop if we are smaller;
    ///  - a sibling whose origin-right is nearer (oright < right) was inserted
    ///    in front of an item of the gap (its origin-right, which we never
    ///    saw) and belongs with that item; we pass it only if we also pass the
    ///    sibling that item belongs with, so keep the candidate position
    ///    (`scanning`) and let that later sibling decide;
    ///  - a sibling whose origin-right is further right (oright > right) goes
    ///    before us: move the candidate position past it.
    /// Why runs do not interleave: if A types a1 a2 a3 and B concurrently types
    /// b1 b2 b3 at the same place, a2's origin-left is a1 and a3's is a2, so
    /// a2 and a3 sit in a1's subtree. When b1 meets a1 as a sibling and loses
    /// the tie, the scan skips a2 and a3 as part of a1's subtree and places b1
    /// after the whole of A's run; b2, b3 then chain after b1. Runs typed
    /// backwards (each char before the previous one) have the previous char as
    /// origin-right instead; the `oright` comparisons keep such a run on one
    /// side of a concurrent run in the same way (FugueMax's right children).
    /// Returns: the index where `s` was inserted.
    std::size_t integrate(const slot& s, std::size_t left_end, std::size_t right) {
        std::size_t dest = left_end;
        bool scanning = false;
        for (std::size_t i = left_end;; ++i) {
            if (!scanning) {
                dest = i;
            }
            if (i == items_.size() || i == right) {
                break;
            }
            const slot& other = items_[i];
            const std::size_t oleft_end = other.left == no_id ? 0 : index_of(other.left) + 1;
            const std::size_t oright = other.right == no_id ? items_.size() : index_of(other.right);
            if (oleft_end < left_end) {
                break;
            }
            if (oleft_end == left_end) {
                if (oright == right && goes_before(s.id, other.id)) {
                    break;
                }
                scanning = oright < right;
            }
        }
        items_.insert(items_.begin() + static_cast<std::ptrdiff_t>(dest), s);
        return dest;
    }

    /// The tie-break between concurrent siblings: agent name byte-wise, then seq.
    bool goes_before(lid a, lid b) const {
        const std::string& na = agent_names_[a.agent];
        const std::string& nb = agent_names_[b.agent];
        return na != nb ? na < nb : a.seq < b.seq;
    }

    std::size_t index_of(lid id) const {
        for (std::size_t i = 0; i < items_.size(); ++i) {
            if (items_[i].id == id) {
                return i;
            }
        }
        throw crdt::error(crdt::errc::causality_gap, "fugue model: unknown item");
    }

    /// Returns: the index of the item inserted by `id` (nullopt for nullopt).
    /// Throws: crdt::error if the model does not hold that insert.
    std::optional<std::size_t> find_required(const std::optional<op_id>& id,
                                             const op_id& user) const {
        if (!id) {
            return std::nullopt;
        }
        const auto it = agent_index_.find(id->agent);
        const kind k = it == agent_index_.end() ? kind::unknown : kind_of({it->second, id->seq});
        if (k == kind::unknown) {
            throw crdt::error(crdt::errc::causality_gap,
                              "fugue model: op (" + user.agent + ", " + std::to_string(user.seq) +
                                  ") refers to missing op (" + id->agent + ", " +
                                  std::to_string(id->seq) + ")");
        }
        if (k != kind::insert) {
            throw crdt::error(crdt::errc::invalid_value, "fugue model: op (" + user.agent + ", " +
                                                             std::to_string(user.seq) +
                                                             ") refers to a delete as an item");
        }
        return index_of({it->second, id->seq});
    }

    void check_fresh(const op_id& id) const {
        if (contains(id)) {
            throw crdt::error(crdt::errc::invalid_value, "fugue model: op id (" + id.agent + ", " +
                                                             std::to_string(id.seq) +
                                                             ") is already used");
        }
    }

    void mark_deleted(lid deleter, std::size_t index) {
        slot& target = items_[index];
        deletes_.push_back({deleter, target.first_delete});
        target.first_delete = deletes_.size() - 1;
        target.deleted = true;
        set_kind(deleter, kind::erase);
    }

    lid intern(const op_id& id) {
        auto it = agent_index_.find(id.agent);
        if (it == agent_index_.end()) {
            it = agent_index_.emplace(id.agent, static_cast<std::uint32_t>(agent_names_.size()))
                     .first;
            agent_names_.push_back(id.agent);
            kinds_.emplace_back();
        }
        return {it->second, id.seq};
    }

    kind kind_of(lid id) const {
        const std::vector<kind>& k = kinds_[id.agent];
        return id.seq < k.size() ? k[static_cast<std::size_t>(id.seq)] : kind::unknown;
    }

    void set_kind(lid id, kind k) {
        std::vector<kind>& ks = kinds_[id.agent];
        if (id.seq >= ks.size()) {
            ks.resize(static_cast<std::size_t>(id.seq) + 1, kind::unknown);
        }
        ks[static_cast<std::size_t>(id.seq)] = k;
    }

    op_id public_id(lid id) const { return {agent_names_[id.agent], id.seq}; }
    std::optional<op_id> public_origin(lid id) const {
        return id == no_id ? std::nullopt : std::optional<op_id>(public_id(id));
    }

    std::vector<slot> items_;              ///< every item, in document order
    std::vector<delete_link> deletes_;     ///< every delete, linked per target
    std::vector<op> log_;                  ///< every op, in the order applied
    std::vector<std::string> agent_names_; ///< agent index -> name
    std::map<std::string, std::uint32_t, std::less<>> agent_index_; ///< name -> index
    std::vector<std::vector<kind>> kinds_; ///< agent index -> seq -> what the op is
    position_hint hint_;                   ///< where the last local edit was
};

} // namespace crdt_test::fugue
