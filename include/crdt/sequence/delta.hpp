// crdt/sequence/delta.hpp -- the ops of crdt::sequence and crdt::text, their
// delta (a list of ops, what the sync protocol carries) and its compact,
// canonical binary codec.
//
// sequence_delta<T, Policy> is sequence<T, Policy>::delta_type: a plain list
// of insert and erase ops. A local edit's op (or ops) converts to a delta
// implicitly, so a mutator's result can be returned from replica::change().
//
// Encoding (codec<sequence_delta<T, Policy>>, all integers LEB128 varints):
//
//   delta  := agent_count agent* op_count op*
//   agent  := codec<replica_type>     each agent once, in order of first use
//   op     := header [agent] [counter] fields
//
// Agents are referred to by their index in the table; a reference must be to
// an agent already used or to the next new one, so the table order is fixed
// by the ops. The coder keeps, per agent, `next` (the counter after its last
// op, first_counter initially) and `ref` (the last counter of it referred to
// or inserted, first_counter initially). The header's bit 0 is the kind
// (0 insert, 1 erase); bit 1 says the op's agent index is given (else it
// is the previous op's; the first op's agent is the table's first, never
// given); bit 2 says the counter is given, as zigzag(counter - next)
// (else it is `next`). Counters referred to are written as zigzag(counter -
// ref[agent]), with wrap-around arithmetic so that every value has one
// encoding.
//
//   insert: bits 3-4 origin-left: 0 none (document start), 1 the op's agent,
//           2 an agent index follows; then zigzag(counter - ref);
//           bits 5-6 origin-right: 0 none (document end), 1 the element after
//           origin-left (same agent, counter + 1; nothing follows), 2 the op's
//           agent, 3 an agent index follows; then zigzag(counter - ref);
//           bit 7 one element (else a count follows: for char32_t the UTF-8
//           byte length of the run, for other T the element count - 2);
//           then the elements: for char32_t their UTF-8 bytes (validated),
//           else codec<T> of each.
//   erase:  bit 3 count is 1 (else count - 2 follows); bit 4 the target's
//           agent index follows (else it is the op's agent); bits 5-6 the
//           target counter: 1 ref - 1 (a backspace), 2 ref + 1 (a forward
//           delete), 0 zigzag(counter - ref) follows; bit 7 is zero. After
//           an erase, ref[target agent] is its last target.
//
// Every choice above is forced by the value (the shortest form must be
// used), so the encoding is canonical: decode(bytes) re-encodes to bytes.
//
// Complexity: encoding and decoding are linear in the ops and elements
// (plus O(log a) per agent reference for a agents). Decoding never reserves
// more than the bytes left justify. Thread safety: none needed (values).
// Exception safety: decoding throws crdt::error naming the field and the
// byte offset (truncated, overlong_varint, length_out_of_range,
// invalid_utf8, invalid_value) and has no other effect; encoding throws
// crdt::error(invalid_value) for an op apply() would reject (empty, counters
// out of range) or a char32_t that is not a Unicode scalar value.
#pragma once

#include <crdt/codec/codec.hpp>
#include <crdt/codec/utf8.hpp>
#include <crdt/core/config.hpp>
#include <crdt/core/dot.hpp>
#include <crdt/core/error.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

CRDT_BEGIN_NAMESPACE

/// Insert the elements `content` with counters [id.counter, id.counter +
/// size): the first goes right after `origin_left` (nullopt: the start),
/// each next one right after the previous one, all before `origin_right`
/// (nullopt: the end). (sequence<T, Policy>::insert_op.)
template <class T, class Replica>
struct sequence_insert_op {
    basic_dot<Replica> id;
    std::optional<basic_dot<Replica>> origin_left;
    std::optional<basic_dot<Replica>> origin_right;
    std::vector<T> content;
    friend bool operator==(const sequence_insert_op&, const sequence_insert_op&) = default;
};

/// Delete the elements inserted as (target.replica, target.counter + k),
/// k in [0, count), as the ops (id.replica, id.counter + k).
/// (sequence<T, Policy>::erase_op.)
template <class Replica>
struct sequence_erase_op {
    basic_dot<Replica> id;
    basic_dot<Replica> target;
    std::uint64_t count = 0;
    friend bool operator==(const sequence_erase_op&, const sequence_erase_op&) = default;
};

/// A delta of sequence<T, Policy>: ops to apply, in an order in which a
/// replica can apply them (apply buffers the others). Merging a delta is
/// idempotent. It converts implicitly from one op, an optional op and a
/// vector of ops (what the local edits return).
template <class T, class Policy>
class sequence_delta {
public:
    using replica_type = typename Policy::replica_type;
    using dot_type = basic_dot<replica_type>;
    using insert_op = sequence_insert_op<T, replica_type>;
    using erase_op = sequence_erase_op<replica_type>;
    using op = std::variant<insert_op, erase_op>;

    /// The ops, in order.
    std::vector<op> ops;

    /// Effects: an empty delta.
    sequence_delta() = default;
    /// Effects: the delta of one op.
    sequence_delta(op o) { ops.push_back(std::move(o)); }
    sequence_delta(insert_op o) { ops.emplace_back(std::move(o)); }
    sequence_delta(erase_op o) { ops.emplace_back(std::move(o)); }
    /// Effects: the delta of `o`'s op, empty if `o` is nullopt.
    sequence_delta(std::optional<op> o) {
        if (o) {
            ops.push_back(std::move(*o));
        }
    }
    /// Effects: the delta of the ops `v`.
    sequence_delta(std::vector<op> v) : ops(std::move(v)) {}

    /// Returns: whether there are no ops.
    bool empty() const noexcept { return ops.empty(); }
    /// Returns: the number of ops.
    std::size_t size() const noexcept { return ops.size(); }
    /// Effects: appends the ops of `other` (the delta of both changes).
    void merge(const sequence_delta& other) {
        ops.insert(ops.end(), other.ops.begin(), other.ops.end());
    }
    /// Effects: appends `o`.
    void push_back(op o) { ops.push_back(std::move(o)); }

    friend bool operator==(const sequence_delta&, const sequence_delta&) = default;
};

namespace detail::seq {

/// Returns: whether [first, first + n) is a valid, non-empty counter range
///   (first >= first_counter, no overflow) -- what apply() accepts.
inline bool valid_range(std::uint64_t first, std::uint64_t n,
                        std::uint64_t first_counter) noexcept {
    return n > 0 && first >= first_counter &&
           n <= std::numeric_limits<std::uint64_t>::max() - first;
}

inline bool is_scalar(char32_t c) noexcept {
    return c < 0x110000 && (c < 0xD800 || c > 0xDFFF);
}

inline void put_utf8(byte_writer& w, char32_t c) {
    const auto u = static_cast<std::uint32_t>(c);
    if (u < 0x80) {
        w.byte(static_cast<std::uint8_t>(u));
    } else if (u < 0x800) {
        w.byte(static_cast<std::uint8_t>(0xC0u | (u >> 6)));
        w.byte(static_cast<std::uint8_t>(0x80u | (u & 0x3Fu)));
    } else if (u < 0x10000) {
        w.byte(static_cast<std::uint8_t>(0xE0u | (u >> 12)));
        w.byte(static_cast<std::uint8_t>(0x80u | ((u >> 6) & 0x3Fu)));
        w.byte(static_cast<std::uint8_t>(0x80u | (u & 0x3Fu)));
    } else {
        w.byte(static_cast<std::uint8_t>(0xF0u | (u >> 18)));
        w.byte(static_cast<std::uint8_t>(0x80u | ((u >> 12) & 0x3Fu)));
        w.byte(static_cast<std::uint8_t>(0x80u | ((u >> 6) & 0x3Fu)));
        w.byte(static_cast<std::uint8_t>(0x80u | (u & 0x3Fu)));
    }
}

inline std::size_t utf8_len(char32_t c) noexcept {
    return c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4;
}

/// Requires: `s` is valid UTF-8. Effects: appends its code points to `out`
///   (a std::vector<char32_t> or std::u32string).
template <class Out>
void append_code_points(std::string_view s, Out& out) {
    for (std::size_t i = 0; i < s.size();) {
        const auto b = static_cast<unsigned char>(s[i]);
        const std::size_t n = b < 0x80 ? 1 : b < 0xE0 ? 2 : b < 0xF0 ? 3 : 4;
        char32_t c = n == 1 ? b : n == 2 ? (b & 0x1Fu) : n == 3 ? (b & 0x0Fu) : (b & 0x07u);
        for (std::size_t k = 1; k < n; ++k) {
            c = (c << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3Fu);
        }
        out.push_back(c);
        i += n;
    }
}

/// The per-agent state both sides of the codec keep (see the file comment).
struct delta_coder_state {
    static constexpr std::uint32_t none = std::numeric_limits<std::uint32_t>::max();
    std::vector<std::uint64_t> next;
    std::vector<std::uint64_t> ref;
    std::uint32_t prev = none;

    void grow(std::size_t agents, std::uint64_t first) {
        next.resize(agents, first);
        ref.resize(agents, first);
    }
    /// The signed distance of `c` from `base`, modulo 2^64.
    static std::int64_t diff(std::uint64_t c, std::uint64_t base) noexcept {
        return static_cast<std::int64_t>(c - base);
    }
    static std::uint64_t add(std::uint64_t base, std::int64_t d) noexcept {
        return base + static_cast<std::uint64_t>(d);
    }
};

// Header bits.
inline constexpr std::uint8_t hdr_erase = 0x01;
inline constexpr std::uint8_t hdr_agent = 0x02;
inline constexpr std::uint8_t hdr_counter = 0x04;
inline constexpr std::uint8_t hdr_single = 0x80;       // insert: one element
inline constexpr std::uint8_t hdr_count_one = 0x08;    // erase: count 1
inline constexpr std::uint8_t hdr_target_agent = 0x10; // erase: target agent given
inline constexpr unsigned left_shift = 3;
inline constexpr unsigned right_shift = 5;
inline constexpr std::uint8_t left_none = 0;
inline constexpr std::uint8_t left_own = 1;
inline constexpr std::uint8_t left_agent = 2;
inline constexpr std::uint8_t right_none = 0;
inline constexpr std::uint8_t right_next = 1;
inline constexpr std::uint8_t right_own = 2;
inline constexpr std::uint8_t right_agent = 3;
inline constexpr unsigned target_shift = 5; // erase: target form
inline constexpr unsigned target_given = 0;
inline constexpr unsigned target_back = 1;
inline constexpr unsigned target_forward = 2;

/// Whether sequence_delta<T, Policy> has a codec: encodable replicas, and
/// char32_t (as UTF-8) or encodable elements.
template <class T, class Policy>
inline constexpr bool delta_encodable_v = encodable<typename Policy::replica_type> &&
                                          (std::is_same_v<T, char32_t> || encodable<T>);
} // namespace detail::seq

/// The codec of sequence deltas (see the file comment for the format).
template <class T, class Policy>
struct codec<sequence_delta<T, Policy>,
             std::enable_if_t<detail::seq::delta_encodable_v<T, Policy>>> {
    using delta_type = sequence_delta<T, Policy>;
    using replica_type = typename Policy::replica_type;
    using dot_type = basic_dot<replica_type>;
    using insert_op = typename delta_type::insert_op;
    using erase_op = typename delta_type::erase_op;
    using state = detail::seq::delta_coder_state;
    static constexpr std::uint64_t first = Policy::first_counter;

    static void encode(byte_writer& w, const delta_type& d) {
        namespace ds = detail::seq;
        // The agent table, in order of first use.
        std::vector<const replica_type*> table;
        std::map<replica_type, std::uint32_t> index;
        const auto note = [&](const replica_type& r) {
            if (index.try_emplace(r, static_cast<std::uint32_t>(table.size())).second) {
                table.push_back(&r);
            }
        };
        for (std::size_t i = 0; i < d.ops.size(); ++i) {
            check(d.ops[i], i);
            if (const auto* ins = std::get_if<insert_op>(&d.ops[i])) {
                note(ins->id.replica);
                if (ins->origin_left) {
                    note(ins->origin_left->replica);
                }
                if (ins->origin_right) {
                    note(ins->origin_right->replica);
                }
            } else {
                const auto& del = std::get<erase_op>(d.ops[i]);
                note(del.id.replica);
                note(del.target.replica);
            }
        }
        w.varint(table.size());
        for (const replica_type* r : table) {
            codec<replica_type>::encode(w, *r);
        }
        state st;
        st.grow(table.size(), first);
        st.prev = 0; // the first op's agent is the first in the table
        w.varint(d.ops.size());
        const auto ref = [&](std::uint32_t b, std::uint64_t c) {
            w.zigzag(state::diff(c, st.ref[b]));
            st.ref[b] = c;
        };
        for (const auto& o : d.ops) {
            if (const auto* ins = std::get_if<insert_op>(&o)) {
                const std::uint32_t a = index.find(ins->id.replica)->second;
                const std::uint8_t lf = left_form(*ins);
                const std::uint8_t rf = right_form(*ins);
                unsigned h = (unsigned{lf} << ds::left_shift) | (unsigned{rf} << ds::right_shift);
                h |= a != st.prev ? ds::hdr_agent : 0u;
                h |= ins->id.counter != st.next[a] ? ds::hdr_counter : 0u;
                h |= ins->content.size() == 1 ? ds::hdr_single : 0u;
                w.byte(static_cast<std::uint8_t>(h));
                if ((h & ds::hdr_agent) != 0) {
                    w.varint(a);
                }
                if ((h & ds::hdr_counter) != 0) {
                    w.zigzag(state::diff(ins->id.counter, st.next[a]));
                }
                if (lf == ds::left_agent) {
                    w.varint(index.find(ins->origin_left->replica)->second);
                }
                if (lf != ds::left_none) {
                    ref(index.find(ins->origin_left->replica)->second, ins->origin_left->counter);
                }
                if (rf == ds::right_agent) {
                    w.varint(index.find(ins->origin_right->replica)->second);
                }
                if (rf == ds::right_own || rf == ds::right_agent) {
                    ref(index.find(ins->origin_right->replica)->second, ins->origin_right->counter);
                } else if (rf == ds::right_next) {
                    st.ref[index.find(ins->origin_right->replica)->second] =
                        ins->origin_right->counter;
                }
                encode_content(w, ins->content);
                const std::uint64_t n = ins->content.size();
                st.next[a] = ins->id.counter + n;
                st.ref[a] = ins->id.counter + n - 1;
                st.prev = a;
            } else {
                const auto& del = std::get<erase_op>(o);
                const std::uint32_t a = index.find(del.id.replica)->second;
                unsigned h = ds::hdr_erase;
                h |= a != st.prev ? ds::hdr_agent : 0u;
                h |= del.id.counter != st.next[a] ? ds::hdr_counter : 0u;
                h |= del.count == 1 ? ds::hdr_count_one : 0u;
                h |= del.target.replica != del.id.replica ? ds::hdr_target_agent : 0u;
                const std::uint32_t b = index.find(del.target.replica)->second;
                const std::int64_t dt = state::diff(del.target.counter, st.ref[b]);
                const unsigned tf = dt == -1  ? ds::target_back
                                    : dt == 1 ? ds::target_forward
                                              : ds::target_given;
                h |= tf << ds::target_shift;
                w.byte(static_cast<std::uint8_t>(h));
                if ((h & ds::hdr_agent) != 0) {
                    w.varint(a);
                }
                if ((h & ds::hdr_counter) != 0) {
                    w.zigzag(state::diff(del.id.counter, st.next[a]));
                }
                if (del.count != 1) {
                    w.varint(del.count - 2);
                }
                if ((h & ds::hdr_target_agent) != 0) {
                    w.varint(b);
                }
                if (tf == ds::target_given) {
                    w.zigzag(dt);
                }
                st.ref[b] = del.target.counter + del.count - 1;
                st.next[a] = del.id.counter + del.count;
                st.prev = a;
            }
        }
    }

    static delta_type decode(byte_reader& r) {
        namespace ds = detail::seq;
        const std::size_t table_at = r.offset();
        const std::size_t agents = r.length("sequence delta: agent count");
        std::vector<replica_type> table;
        table.reserve(agents);
        for (std::size_t i = 0; i < agents; ++i) {
            table.push_back(codec<replica_type>::decode(r));
        }
        {
            std::vector<const replica_type*> sorted;
            sorted.reserve(table.size());
            for (const auto& x : table) {
                sorted.push_back(&x);
            }
            std::sort(sorted.begin(), sorted.end(),
                      [](const replica_type* x, const replica_type* y) { return *x < *y; });
            for (std::size_t i = 1; i < sorted.size(); ++i) {
                if (*sorted[i - 1] == *sorted[i]) {
                    r.fail_at(errc::invalid_value, "sequence delta: agent table (a duplicate name)",
                              table_at);
                }
            }
        }
        const std::size_t n_ops = r.length("sequence delta: op count");
        delta_type d;
        // Each op takes at least two bytes; a vector element is ~100-200
        // bytes, so cap the reservation and let the vector grow.
        d.ops.reserve(std::min<std::size_t>(n_ops, 4096));
        if (n_ops == 0 && !table.empty()) {
            r.fail_at(errc::invalid_value, "sequence delta: agent table (agents but no ops)",
                      table_at);
        }
        state st;
        st.grow(table.size(), first);
        // The first op's agent is the first in the table, implied.
        st.prev = table.empty() ? state::none : 0;
        std::size_t seen = table.empty() ? 0 : 1; // agents used so far
        const auto read_agent = [&](const char* field) -> std::uint32_t {
            const std::size_t at = r.offset();
            const std::uint64_t i = r.varint();
            if (i > seen || i >= table.size()) {
                r.fail_at(errc::invalid_value,
                          std::string("sequence delta: ") + field +
                              " (agent index not in the table, or not in order of first use)",
                          at);
            }
            if (i == seen) {
                ++seen;
            }
            return static_cast<std::uint32_t>(i);
        };
        const auto read_ref = [&](std::uint32_t b) {
            const std::uint64_t c = state::add(st.ref[b], r.zigzag());
            st.ref[b] = c;
            return c;
        };
        for (std::size_t i = 0; i < n_ops; ++i) {
            const std::size_t at = r.offset();
            const auto fail = [&](const std::string& why, std::size_t where) {
                r.fail_at(errc::invalid_value,
                          "sequence delta: op " + std::to_string(i) + ": " + why, where);
            };
            const std::uint8_t h = r.byte();
            std::uint32_t a = st.prev;
            if ((h & ds::hdr_agent) != 0) {
                if (i == 0) {
                    fail("agent given in the first op (it is the table's first)", at);
                }
                a = read_agent("op agent");
                if (a == st.prev) {
                    fail("agent given but equal to the previous op's", at);
                }
            }
            if (a == state::none) {
                fail("no agent table", at);
            }
            std::uint64_t counter = st.next[a];
            if ((h & ds::hdr_counter) != 0) {
                const std::size_t c_at = r.offset();
                const std::int64_t dc = r.zigzag();
                if (dc == 0) {
                    fail("counter given but equal to the expected one", c_at);
                }
                counter = state::add(st.next[a], dc);
            }
            if ((h & ds::hdr_erase) == 0) {
                insert_op ins;
                ins.id = dot_type{table[a], counter};
                const auto lf = static_cast<std::uint8_t>((h >> ds::left_shift) & 3u);
                const auto rf = static_cast<std::uint8_t>((h >> ds::right_shift) & 3u);
                if (lf == 3) {
                    fail("bad origin_left form", at);
                }
                std::uint32_t bl = a; // origin-left's agent
                if (lf != ds::left_none) {
                    const std::size_t f_at = r.offset();
                    bl = lf == ds::left_agent ? read_agent("origin_left") : a;
                    if (lf == ds::left_agent && bl == a) {
                        fail("origin_left agent given but equal to the op's", f_at);
                    }
                    ins.origin_left = dot_type{table[bl], read_ref(bl)};
                }
                if (rf != ds::right_none) {
                    const std::size_t f_at = r.offset();
                    if (rf == ds::right_next) {
                        if (!ins.origin_left) {
                            fail("origin_right after origin_left without origin_left", f_at);
                        }
                        ins.origin_right =
                            dot_type{ins.origin_left->replica, ins.origin_left->counter + 1};
                        st.ref[bl] = ins.origin_right->counter;
                    } else {
                        const std::uint32_t b =
                            rf == ds::right_agent ? read_agent("origin_right") : a;
                        if (rf == ds::right_agent && b == a) {
                            fail("origin_right agent given but equal to the op's", f_at);
                        }
                        ins.origin_right = dot_type{table[b], read_ref(b)};
                        if (right_form(ins) != rf) {
                            fail("origin_right not in its shortest form", f_at);
                        }
                    }
                }
                decode_content(r, h, ins.content, i);
                const std::uint64_t n = ins.content.size();
                if (!ds::valid_range(counter, n, first)) {
                    fail("counter range out of bounds", at);
                }
                if ((ins.origin_left && ins.origin_left->counter < first) ||
                    (ins.origin_right && ins.origin_right->counter < first)) {
                    fail("origin counter below the first counter", at);
                }
                st.next[a] = counter + n;
                st.ref[a] = counter + n - 1;
                st.prev = a;
                d.ops.emplace_back(std::move(ins));
            } else {
                const unsigned tf = (h >> ds::target_shift) & 3u;
                if ((h & 0x80u) != 0 || tf == 3) {
                    fail("reserved header bits set", at);
                }
                std::uint64_t count = 1;
                if ((h & ds::hdr_count_one) == 0) {
                    const std::size_t c_at = r.offset();
                    const std::uint64_t k = r.varint();
                    if (k > std::numeric_limits<std::uint64_t>::max() - 2) {
                        fail("count out of range", c_at);
                    }
                    count = k + 2;
                }
                std::uint32_t b = a;
                if ((h & ds::hdr_target_agent) != 0) {
                    const std::size_t f_at = r.offset();
                    b = read_agent("target");
                    if (b == a) {
                        fail("target agent given but equal to the op's", f_at);
                    }
                }
                std::int64_t dt = tf == ds::target_back ? -1 : 1;
                if (tf == ds::target_given) {
                    const std::size_t t_at = r.offset();
                    dt = r.zigzag();
                    if (dt == -1 || dt == 1) {
                        fail("target not in its shortest form", t_at);
                    }
                }
                const std::uint64_t target = state::add(st.ref[b], dt);
                if (!ds::valid_range(counter, count, first) ||
                    !ds::valid_range(target, count, first)) {
                    fail("counter range out of bounds", at);
                }
                st.ref[b] = target + count - 1;
                st.next[a] = counter + count;
                st.prev = a;
                d.ops.emplace_back(
                    erase_op{dot_type{table[a], counter}, dot_type{table[b], target}, count});
            }
        }
        if (seen != table.size()) {
            r.fail_at(errc::invalid_value, "sequence delta: agent table (an agent no op uses)",
                      table_at);
        }
        return d;
    }

private:
    static std::uint8_t left_form(const insert_op& o) {
        namespace ds = detail::seq;
        if (!o.origin_left) {
            return ds::left_none;
        }
        return o.origin_left->replica == o.id.replica ? ds::left_own : ds::left_agent;
    }
    static std::uint8_t right_form(const insert_op& o) {
        namespace ds = detail::seq;
        if (!o.origin_right) {
            return ds::right_none;
        }
        if (o.origin_left && o.origin_right->replica == o.origin_left->replica &&
            o.origin_right->counter == o.origin_left->counter + 1) {
            return ds::right_next;
        }
        return o.origin_right->replica == o.id.replica ? ds::right_own : ds::right_agent;
    }

    static void check(const typename delta_type::op& o, std::size_t i) {
        const auto bad = [&](const char* why) {
            throw error(errc::invalid_value,
                        "encoding sequence delta: op " + std::to_string(i) + ": " + why);
        };
        if (const auto* ins = std::get_if<insert_op>(&o)) {
            if (!detail::seq::valid_range(ins->id.counter, ins->content.size(), first)) {
                bad("empty, or counter range out of bounds");
            }
            if ((ins->origin_left && ins->origin_left->counter < first) ||
                (ins->origin_right && ins->origin_right->counter < first)) {
                bad("origin counter below the first counter");
            }
            if constexpr (std::is_same_v<T, char32_t>) {
                for (const char32_t c : ins->content) {
                    if (!detail::seq::is_scalar(c)) {
                        bad("an element is not a Unicode scalar value");
                    }
                }
            }
        } else {
            const auto& del = std::get<erase_op>(o);
            if (!detail::seq::valid_range(del.id.counter, del.count, first) ||
                !detail::seq::valid_range(del.target.counter, del.count, first)) {
                bad("empty, or counter range out of bounds");
            }
        }
    }

    static void encode_content(byte_writer& w, const std::vector<T>& content) {
        if constexpr (std::is_same_v<T, char32_t>) {
            if (content.size() != 1) {
                std::size_t bytes = 0;
                for (const char32_t c : content) {
                    bytes += detail::seq::utf8_len(c);
                }
                w.varint(bytes);
            }
            for (const char32_t c : content) {
                detail::seq::put_utf8(w, c);
            }
        } else {
            if (content.size() != 1) {
                w.varint(content.size() - 2);
            }
            for (const T& x : content) {
                codec<T>::encode(w, x);
            }
        }
    }

    static void decode_content(byte_reader& r, std::uint8_t h, std::vector<T>& out, std::size_t i) {
        const bool single = (h & detail::seq::hdr_single) != 0;
        if constexpr (std::is_same_v<T, char32_t>) {
            const std::size_t at = r.offset();
            std::string_view text;
            if (single) {
                // One code point: its lead byte gives its length.
                const auto lead = r.raw(1);
                const auto b = std::to_integer<unsigned>(lead[0]);
                const std::size_t len = b < 0x80 ? 1 : b < 0xE0 ? 2 : b < 0xF0 ? 3 : 4;
                (void)r.raw(len - 1); // contiguous with `lead`
                text = std::string_view(reinterpret_cast<const char*>(lead.data()), len);
            } else {
                const std::size_t len = r.length("sequence delta: insert byte length");
                const auto bytes = r.raw(len);
                text = std::string_view(reinterpret_cast<const char*>(bytes.data()), len);
            }
            const std::size_t text_at = r.offset() - text.size();
            if (const auto bad = utf8::find_invalid(text)) {
                throw error(errc::invalid_utf8,
                            "decoding " + std::string(r.what()) + ": sequence delta: op " +
                                std::to_string(i) + ": inserted text is not UTF-8",
                            text_at + *bad);
            }
            out.reserve(text.size());
            detail::seq::append_code_points(text, out);
            if (!single && out.size() < 2) {
                r.fail_at(errc::invalid_value,
                          "sequence delta: op " + std::to_string(i) +
                              ": fewer than two code points not in the one-element form",
                          at);
            }
        } else {
            std::size_t n = 1;
            if (!single) {
                const std::size_t at = r.offset();
                const std::uint64_t k = r.varint();
                if (r.remaining() < 2 || k > r.remaining() - 2) {
                    r.fail_at(errc::length_out_of_range,
                              "sequence delta: op " + std::to_string(i) + ": element count", at);
                }
                n = static_cast<std::size_t>(k) + 2;
            }
            out.reserve(std::min<std::size_t>(n, 1 + 65536 / sizeof(T)));
            for (std::size_t k = 0; k < n; ++k) {
                out.push_back(codec<T>::decode(r));
            }
        }
    }
};

CRDT_END_NAMESPACE
