// crdt/sequence/snapshot.hpp -- the column form of a sequence snapshot: the
// op store and the run tree of one branch written as columns over local
// versions, read back without materializing a single op (see "Snapshots" in
// docs/sequence.md for the layout).
//
// Local versions are written as ranks: the index of an LV among the
// branch's applied LVs, which is the LV a fresh engine gives it when it
// stores the ops in that order. Columns, in order:
//
//   ops      N
//   agents   count, codec<Replica> each (in order of first use)
//   ids      count, (agent index, length)*: the ids of ranks 0..N-1; each
//            agent's seqs continue from first_counter without gaps
//   kinds    first kind (1 insert, 0 delete), count, length*: alternating
//   content  the inserted elements in rank order: for char32_t a byte
//            length and UTF-8, else codec<T> each
//   deletes  count, (zigzag(target - end of previous span), 2 * length +
//            descending)*: the targets of the delete ranks in order
//   runs     count, (zigzag(start - end of previous run), length,
//            origin-left code, origin-right code)*: the document order;
//            code 0 is the start / end, else 1 + zigzag(start - 1 - origin)
//
// Decoding reads and checks every column before it fills the op store, and
// every count against the bytes left before it allocates for it: a refused
// input costs memory in proportion to its size (a bit per claimed op, at
// most 8 bytes per input byte, and its decoded columns), not to the op
// count it claims.
//
// Complexity: encode O(N log k + n) for N ops, k applied intervals, n runs;
// decode O(N + n log n). Thread safety: none. Exception safety: decode
// throws crdt::error (the engine it filled is to be discarded).
#pragma once

#include <crdt/codec/codec.hpp>
#include <crdt/codec/reader.hpp>
#include <crdt/codec/utf8.hpp>
#include <crdt/codec/varint.hpp>
#include <crdt/codec/writer.hpp>
#include <crdt/core/config.hpp>
#include <crdt/core/error.hpp>
#include <crdt/sequence/core.hpp>
#include <crdt/sequence/delta.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

CRDT_BEGIN_NAMESPACE
namespace detail::seq {

template <class T, class Replica>
struct snapshot_codec {
    using engine_t = engine<T, Replica>;
    using run_t = run;

    /// Effects: writes the columns of branch `e` to `w`.
    static void encode(byte_writer& w, const engine_t& e) {
        const auto& st = *e.s_;
        const auto& iv = e.applied_.intervals();
        std::vector<lv_t> base; // rank of each interval's first LV
        lv_t total = 0;
        for (const auto& [lo, hi] : iv) {
            base.push_back(total);
            total += hi - lo;
        }
        const auto rank = [&](lv_t x) {
            const auto it = std::upper_bound(iv.begin(), iv.end(), x,
                                             [](lv_t v, const auto& p) { return v < p.second; });
            return base[static_cast<std::size_t>(it - iv.begin())] + (x - it->first);
        };
        w.varint(total);

        // ids: walk the store's LV spans over the applied intervals.
        std::vector<std::pair<std::uint32_t, lv_t>> ids; // (store agent, length)
        std::uint64_t prev_seq_end = 0;
        for (const auto& [lo, hi] : iv) {
            for (lv_t x = lo; x < hi;) {
                auto sp = std::upper_bound(st.lv_spans.begin(), st.lv_spans.end(), x,
                                           [](lv_t v, const auto& s) { return v < s.lv; });
                const lv_t end =
                    sp == st.lv_spans.end() ? static_cast<lv_t>(st.inserts.size()) : sp->lv;
                --sp;
                const lv_t n = std::min(hi, end) - x;
                const std::uint64_t seq = sp->seq + (x - sp->lv);
                if (!ids.empty() && ids.back().first == sp->agent && prev_seq_end == seq) {
                    ids.back().second += n;
                } else {
                    ids.emplace_back(sp->agent, n);
                }
                prev_seq_end = seq + n;
                x += n;
            }
        }
        std::map<std::uint32_t, std::uint32_t> agent_map; // store index -> snapshot index
        std::vector<std::uint32_t> agents;
        for (const auto& [a, n] : ids) {
            if (agent_map.emplace(a, static_cast<std::uint32_t>(agents.size())).second) {
                agents.push_back(a);
            }
        }
        w.varint(agents.size());
        for (const std::uint32_t a : agents) {
            codec<Replica>::encode(w, st.agents[a].name);
        }
        w.varint(ids.size());
        for (const auto& [a, n] : ids) {
            w.varint(agent_map[a]);
            w.varint(n);
        }

        // kinds, content, delete targets: one pass in rank order.
        std::vector<lv_t> kinds;
        std::uint8_t first_kind = 1;
        std::uint8_t kind = 2;
        byte_writer content;
        std::size_t utf8_bytes = 0;
        struct del_span {
            std::int64_t t0;
            std::uint64_t len;
            bool down;
        };
        std::vector<del_span> deletes;
        for (const auto& [lo, hi] : iv) {
            for (lv_t x = lo; x < hi; ++x) {
                const std::uint8_t k = st.inserts[x] ? 1 : 0;
                if (k != kind) {
                    if (kind == 2) {
                        first_kind = k;
                    }
                    kinds.push_back(0);
                    kind = k;
                }
                ++kinds.back();
                if (k == 1) {
                    if constexpr (std::is_same_v<T, char32_t>) {
                        const char32_t c = st.content.get(x);
                        put_utf8(content, c);
                        utf8_bytes += utf8_len(c);
                    } else {
                        codec<T>::encode(content, st.content.get(x));
                    }
                    continue;
                }
                const auto d = std::upper_bound(st.delete_spans.begin(), st.delete_spans.end(), x,
                                                [](lv_t v, const auto& s) { return v < s.del; }) -
                               1;
                const auto t = static_cast<std::int64_t>(rank(d->target_of(x)));
                del_span* last = deletes.empty() ? nullptr : &deletes.back();
                const auto len = last ? static_cast<std::int64_t>(last->len) : 0;
                if (last != nullptr && last->len == 1 && (t == last->t0 + 1 || t == last->t0 - 1)) {
                    last->down = t < last->t0;
                    last->len = 2;
                } else if (last != nullptr && last->len > 1 &&
                           t == (last->down ? last->t0 - len : last->t0 + len)) {
                    ++last->len;
                } else {
                    deletes.push_back({t, 1, false});
                }
            }
        }
        w.byte(first_kind);
        w.varint(kinds.size());
        for (const lv_t n : kinds) {
            w.varint(n);
        }
        if constexpr (std::is_same_v<T, char32_t>) {
            w.varint(utf8_bytes);
        }
        w.raw(content.view());
        w.varint(deletes.size());
        std::int64_t prev_end = 0;
        for (const del_span& d : deletes) {
            w.zigzag(d.t0 - prev_end);
            w.varint(2 * d.len + (d.down ? 1 : 0));
            const auto n = static_cast<std::int64_t>(d.len);
            prev_end = d.down ? d.t0 - n : d.t0 + n;
        }

        // runs, in document order, joined where they continue each other.
        struct rec {
            lv_t start, len, left, right;
        };
        std::vector<rec> runs;
        lv_t prev_last = no_lv; // the engine LV ending the previous run
        e.tree_.for_each([&](const run_t& r) {
            const lv_t s = rank(r.lv);
            const lv_t left = r.origin_left == no_lv ? no_lv : rank(r.origin_left);
            const lv_t right = r.origin_right == no_lv ? no_lv : rank(r.origin_right);
            const bool joins = !runs.empty() && runs.back().start + runs.back().len == s &&
                               left == s - 1 && runs.back().right == right &&
                               e.continues(prev_last, r.lv); // one agent's consecutive ids
            prev_last = r.lv + r.len - 1;
            if (joins) {
                runs.back().len += r.len;
                return;
            }
            runs.push_back({s, r.len, left, right});
        });
        w.varint(runs.size());
        std::int64_t prev = 0;
        const auto origin = [&](lv_t s, lv_t o) {
            w.varint(o == no_lv ? 0
                                : 1 + varint::zigzag_encode(static_cast<std::int64_t>(s) - 1 -
                                                            static_cast<std::int64_t>(o)));
        };
        for (const rec& r : runs) {
            w.zigzag(static_cast<std::int64_t>(r.start) - prev);
            w.varint(r.len);
            origin(r.start, r.left);
            origin(r.start, r.right);
            prev = static_cast<std::int64_t>(r.start) + r.len;
        }
    }

    /// Reads a column's varints from the bytes of `r` without a call per
    /// value; commit() gives the bytes read back to `r`. Errors are those
    /// of byte_reader (truncated, overlong_varint, at the value's offset).
    class varint_cursor {
    public:
        explicit varint_cursor(byte_reader& r) : r_(r) {
            byte_reader ahead = r; // a copy: r moves on at commit()
            const auto rest = ahead.raw(ahead.remaining());
            first_ = rest.data();
            pos_ = first_;
            last_ = first_ + rest.size();
        }
        std::size_t offset() const noexcept {
            return r_.offset() + static_cast<std::size_t>(pos_ - first_);
        }
        std::uint64_t varint() {
            if (pos_ != last_ && static_cast<std::uint8_t>(*pos_) < 0x80) [[likely]] {
                return static_cast<std::uint8_t>(*pos_++);
            }
            return long_varint();
        }
        std::int64_t zigzag() { return varint::zigzag_decode(varint()); }
        /// Effects: advances `r` past the bytes read.
        void commit() { r_.raw(static_cast<std::size_t>(pos_ - first_)); }

    private:
        std::uint64_t long_varint() {
            const std::byte* start = pos_;
            std::uint64_t v = 0;
            const auto st = varint::decode(pos_, last_, v);
            if (st != varint::decode_status::ok) {
                pos_ = start;
                throw crdt::error(st == varint::decode_status::truncated ? errc::truncated
                                                                         : errc::overlong_varint,
                                  "decoding " + std::string(r_.what()) + ": varint", offset());
            }
            return v;
        }

        byte_reader& r_;
        const std::byte* first_;
        const std::byte* pos_;
        const std::byte* last_;
    };

    /// Throws: crdt::error(invalid_value): "<what>: <item> <i> <why>" at
    ///   byte `at` (kept out of line: the decoding loops stay small).
    [[noreturn]] static void bad_item(std::string_view what, const char* item, std::size_t i,
                                      const char* why, std::size_t at) {
        throw crdt::error(errc::invalid_value,
                          std::string(what) + ": " + item + " " + std::to_string(i) + " " + why,
                          at);
    }
    [[noreturn]] static void bad_field(std::string_view what, const char* field, std::size_t at) {
        throw crdt::error(errc::invalid_value,
                          std::string(what) + ": " + field + " is out of range", at);
    }

    /// Effects: sets the bits [lo, hi) of `b`.
    static void set_bits(std::vector<std::uint64_t>& b, lv_t lo, lv_t hi) noexcept {
        for (lv_t x = lo; x < hi;) {
            const lv_t k = std::min<lv_t>(hi - x, 64 - (x & 63));
            const std::uint64_t ones = k == 64 ? ~std::uint64_t{0} : (std::uint64_t{1} << k) - 1;
            b[x >> 6] |= ones << (x & 63);
            x += k;
        }
    }
    /// Returns: whether the bits [lo, hi) of `b` are all set.
    static bool all_bits(const std::vector<std::uint64_t>& b, lv_t lo, lv_t hi) noexcept {
        for (lv_t x = lo; x < hi;) {
            const lv_t k = std::min<lv_t>(hi - x, 64 - (x & 63));
            const std::uint64_t ones = k == 64 ? ~std::uint64_t{0} : (std::uint64_t{1} << k) - 1;
            if (((b[x >> 6] >> (x & 63)) & ones) != ones) {
                return false;
            }
            x += k;
        }
        return true;
    }

    /// Returns: a count of items that take at least `min_bytes` bytes each,
    ///   checked against the bytes left in `r`: a count the input cannot
    ///   hold is refused before anything is allocated for it.
    /// Throws: crdt::error(length_out_of_range) naming `field`, at the
    ///   count's offset; the errors of byte_reader::length.
    static std::size_t read_count(byte_reader& r, std::string_view what, const char* field,
                                  std::size_t min_bytes) {
        const std::size_t at = r.offset();
        const std::size_t n = r.length(field);
        if (n > r.remaining() / min_bytes) [[unlikely]] {
            throw crdt::error(errc::length_out_of_range,
                              std::string(what) + ": " + field + ": " + std::to_string(n) +
                                  " of at least " + std::to_string(min_bytes) +
                                  " bytes each, but only " + std::to_string(r.remaining()) +
                                  " bytes remain",
                              at);
        }
        return n;
    }

    /// Returns: a signed gap between ranks, read before any arithmetic on
    ///   it: ranks are below 2^32, so a larger gap is out of range (and
    ///   adding it could overflow). Throws: crdt::error naming `field`.
    static std::int64_t read_gap(varint_cursor& in, std::string_view what, const char* field) {
        constexpr std::int64_t max_gap = std::int64_t{1} << 40;
        const std::size_t field_at = in.offset();
        const std::int64_t g = in.zigzag();
        if (g > max_gap || g < -max_gap) [[unlikely]] {
            bad_field(what, field, field_at);
        }
        return g;
    }

    /// Returns: the delete targets, in the order of the delete ops, in
    ///   pieces: a span of targets cut where its delete LVs stop being
    ///   consecutive (at the end of a stretch of deletes, `del_spans`).
    /// Throws: crdt::error for a target out of range, not an earlier
    ///   insert, or a delete op left without a target.
    static std::vector<typename engine_t::loaded_delete>
    read_deletes(byte_reader& r, std::string_view what, lv_t n_ops,
                 const std::vector<typename engine_t::loaded_span>& del_spans,
                 const std::vector<std::uint64_t>& ins_bits) {
        const std::size_t del_count = read_count(r, what, "delete span count", 2);
        std::size_t dk = 0;                                      // stretch of the next delete
        lv_t dnext = del_spans.empty() ? 0 : del_spans[0].first; // the next delete
        std::int64_t prev_end = 0;
        std::vector<typename engine_t::loaded_delete> deletes;
        // A piece ends its delete span or its stretch of deletes.
        deletes.reserve(del_count + del_spans.size());
        varint_cursor din(r);
        for (std::size_t i = 0; i < del_count; ++i) {
            const std::size_t at = din.offset();
            const std::int64_t t0 = prev_end + read_gap(din, what, "a delete span's target");
            const std::uint64_t bits = din.varint();
            const std::uint64_t n = bits >> 1;
            const bool down = (bits & 1) != 0;
            if (n == 0 || n > n_ops || t0 < 0 || t0 >= n_ops ||
                (down ? static_cast<std::uint64_t>(t0) + 1 < n
                      : static_cast<std::uint64_t>(t0) + n > n_ops)) {
                bad_item(what, "delete span", i, "is out of range", at);
            }
            for (lv_t k = 0; k < n;) {
                const lv_t d = dnext;
                const lv_t m = dk == del_spans.size()
                                   ? 0
                                   : std::min(static_cast<lv_t>(n) - k, del_spans[dk].second - d);
                const auto t = static_cast<lv_t>(down ? t0 - static_cast<std::int64_t>(k)
                                                      : t0 + static_cast<std::int64_t>(k));
                // Deletes ascend and targets move by one: t < d bounds them
                // all. Each delete LV is used once, so these checks of the
                // targets [lo, lo + m) take O(N) in all.
                const lv_t lo = down ? t - (m - 1) : t;
                if (m == 0 || t >= d || !all_bits(ins_bits, lo, lo + m)) {
                    bad_item(what, "delete span", i,
                             "targets a later op, a delete, or there is no delete op left", at);
                }
                deletes.push_back({d, t, m, down});
                k += m;
                dnext = d + m;
                if (dnext == del_spans[dk].second && ++dk < del_spans.size()) {
                    dnext = del_spans[dk].first;
                }
            }
            prev_end = down ? t0 - static_cast<std::int64_t>(n) : t0 + static_cast<std::int64_t>(n);
        }
        din.commit();
        if (dk != del_spans.size()) {
            throw crdt::error(errc::invalid_value,
                              std::string(what) + ": a delete op has no target", r.offset());
        }
        return deletes;
    }

    /// Returns: the records of the document order.
    /// Throws: crdt::error for a record out of range or an origin that is
    ///   not an earlier insert.
    static std::vector<typename engine_t::loaded_insert>
    read_runs(byte_reader& r, std::string_view what, lv_t n_ops,
              const std::vector<std::uint64_t>& ins_bits) {
        const std::size_t run_count = read_count(r, what, "run count", 4);
        std::vector<typename engine_t::loaded_insert> ins;
        ins.reserve(run_count);
        std::int64_t prev = 0;
        varint_cursor rin(r);
        for (std::size_t i = 0; i < run_count; ++i) {
            const std::size_t at = rin.offset();
            const std::int64_t s = prev + read_gap(rin, what, "a run's start");
            const std::uint64_t n = rin.varint();
            const std::uint64_t lc = rin.varint();
            const std::uint64_t rc = rin.varint();
            if (s < 0 || s >= n_ops || n == 0 || n > n_ops - static_cast<std::uint64_t>(s)) {
                bad_item(what, "run", i, "is out of range", at);
            }
            const auto origin = [&](std::uint64_t code) {
                if (code == 0) {
                    return no_lv;
                }
                const std::int64_t back = varint::zigzag_decode(code - 1);
                if (back < 0 || back >= s) {
                    bad_item(what, "run", i, "has an origin out of range", at);
                }
                const auto o = static_cast<lv_t>(s - 1 - back);
                if (((ins_bits[o >> 6] >> (o & 63)) & 1) == 0) {
                    bad_item(what, "run", i, "has an origin that is not an earlier insert", at);
                }
                return o;
            };
            const lv_t left = origin(lc);
            const lv_t right = origin(rc);
            ins.push_back({static_cast<lv_t>(s), static_cast<lv_t>(n), left, right});
            prev = s + static_cast<std::int64_t>(n);
        }
        rin.commit();
        return ins;
    }

    /// Effects: fills the empty engine `e` from the columns in `r` (to its
    ///   end): every op stored and applied, the run tree built bottom-up.
    ///   Every column is read and checked before the op store is filled,
    ///   and every count before anything is allocated for it: a refused
    ///   input costs memory in proportion to its bytes (a bit per claimed
    ///   op, at most 8 bytes per input byte, and the decoded columns), not
    ///   to the op count it claims.
    /// Throws: crdt::error naming `what` for anything inconsistent, and
    ///   trailing_bytes for bytes after the document order.
    static void decode(byte_reader& r, engine_t& e, std::string_view what,
                       std::uint64_t first_counter, std::size_t input_size) {
        const auto bad = [&](const std::string& why, std::size_t at) {
            throw crdt::error(errc::invalid_value, std::string(what) + ": " + why, at);
        };
        std::size_t at = r.offset();
        const std::uint64_t total = r.varint();
        if (total >= no_lv || total > 64 * std::uint64_t{input_size} + 1024) {
            bad("claims " + std::to_string(total) + " ops, more than its size allows", at);
        }
        const auto n_ops = static_cast<lv_t>(total);

        const std::size_t agent_count = r.length("agent count");
        for (std::size_t i = 0; i < agent_count; ++i) {
            at = r.offset();
            if (e.intern(codec<Replica>::decode(r)) != i) {
                bad("an agent is listed twice", at);
            }
        }
        const std::size_t id_count = read_count(r, what, "id span count", 2);
        std::vector<std::pair<std::uint32_t, lv_t>> ids;
        ids.reserve(id_count);
        std::uint64_t sum = 0;
        for (std::size_t i = 0; i < id_count; ++i) {
            at = r.offset();
            const std::uint64_t a = r.varint();
            const std::uint64_t n = r.varint();
            if (a >= agent_count || n == 0 || n > n_ops - sum) {
                bad_item(what, "id span", i, "is out of range", at);
            }
            sum += n;
            ids.emplace_back(static_cast<std::uint32_t>(a), static_cast<lv_t>(n));
        }
        if (sum != n_ops) {
            bad("the id spans do not cover every op", r.offset());
        }

        // The kinds, as the stretches of insert and of delete LVs in LV
        // order.
        at = r.offset();
        std::uint8_t kind = r.byte();
        if (kind > 1) {
            bad("bad first kind", at);
        }
        const std::size_t kind_count = r.length("kind run count");
        std::vector<typename engine_t::loaded_span> ins_spans;
        std::vector<typename engine_t::loaded_span> del_spans;
        ins_spans.reserve(kind_count / 2 + 1);
        del_spans.reserve(kind_count / 2 + 1);
        sum = 0;
        varint_cursor kin(r);
        for (std::size_t i = 0; i < kind_count; ++i) {
            at = kin.offset();
            const std::uint64_t n = kin.varint();
            if (n == 0 || n > n_ops - sum) {
                bad_item(what, "kind run", i, "is out of range", at);
            }
            const auto lv = static_cast<lv_t>(sum);
            (kind == 1 ? ins_spans : del_spans).emplace_back(lv, lv + static_cast<lv_t>(n));
            sum += n;
            kind ^= 1;
        }
        kin.commit();
        if (sum != n_ops) {
            bad("the kind runs do not cover every op", r.offset());
        }
        std::uint64_t inserts = 0;
        for (const auto& [lo, hi] : ins_spans) {
            inserts += hi - lo;
        }
        // A bit per LV (1: an insert) for the checks of the deletes and the
        // document order: N / 8 bytes, at most 8 per input byte.
        std::vector<std::uint64_t> ins_bits(static_cast<std::size_t>(n_ops / 64 + 1));
        for (const auto& [lo, hi] : ins_spans) {
            set_bits(ins_bits, lo, hi);
        }

        // The content: checked here, stored once every column is checked.
        at = r.offset();
        [[maybe_unused]] std::string_view text;
        [[maybe_unused]] unsigned width = 1;
        [[maybe_unused]] bool ascii = true;
        [[maybe_unused]] std::vector<T> content;
        if constexpr (std::is_same_v<T, char32_t>) {
            // Decoded later straight into the element arena at its final
            // width (the widest code point: known from the largest byte).
            const std::size_t len = r.length("content byte length");
            const auto bytes = r.raw(len);
            text = std::string_view(reinterpret_cast<const char*>(bytes.data()), len);
            const auto* u = reinterpret_cast<const unsigned char*>(text.data());
            unsigned char top = 0;
            for (std::size_t i = 0; i < len; ++i) {
                top = std::max(top, u[i]);
            }
            std::size_t count = len;
            if (top >= 0x80) {
                if (const auto b = utf8::find_invalid(text)) {
                    throw crdt::error(errc::invalid_utf8,
                                      std::string(what) + ": inserted text is not UTF-8", at + *b);
                }
                count = 0;
                for (std::size_t i = 0; i < len; ++i) {
                    count += (u[i] & 0xC0u) != 0x80u ? 1u : 0u;
                }
            }
            if (count != inserts) {
                bad("the content holds " + std::to_string(count) + " elements for " +
                        std::to_string(inserts) + " inserts",
                    at);
            }
            // Lead bytes up to 0xC3 start code points below 0x100; below 0xF0,
            // below 0x10000.
            width = top < 0xC4 ? 1u : top < 0xF0 ? 2u : 4u;
            ascii = top < 0x80;
        } else {
            if (inserts > r.remaining() + 1024) {
                bad("more inserts than content bytes", at);
            }
            content.reserve(static_cast<std::size_t>(inserts));
            for (std::uint64_t i = 0; i < inserts; ++i) {
                content.push_back(codec<T>::decode(r));
            }
        }

        const auto deletes = read_deletes(r, what, n_ops, del_spans, ins_bits);
        const std::size_t runs_at = r.offset();
        const auto ins = read_runs(r, what, n_ops, ins_bits);
        if (!r.empty()) {
            throw crdt::error(errc::trailing_bytes,
                              std::string(what) + ": bytes after the document order", r.offset());
        }
        const auto order = engine_t::order_loaded_runs(ins, ins_spans, n_ops, what, runs_at);
        ins_bits = std::vector<std::uint64_t>();

        // Every column is checked: the op store is filled, nothing throws
        // but allocation.
        e.load_ops(ids, ins_spans, first_counter);
        if constexpr (std::is_same_v<T, char32_t>) {
            e.load_text(text, width, ascii, ins_spans);
        } else {
            e.load_elements(content.data(), ins_spans);
            content = std::vector<T>(); // the arena holds them now: one copy at the peak
        }
        e.build_runs(ins, order, e.load_deletes(deletes));
    }
};

} // namespace detail::seq
CRDT_END_NAMESPACE
