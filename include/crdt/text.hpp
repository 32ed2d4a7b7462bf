// crdt/text.hpp -- crdt::text: a replicated plain-text CRDT, a
// crdt::sequence<char32_t> that speaks UTF-8 and converts positions between
// code points, UTF-8 bytes, UTF-16 code units and line/column.
//
// Every visible length in every unit is a hot summary field of the run tree,
// so each conversion is one O(log n) seek plus a scan of one run.
//
// Syncable like crdt::sequence (version, delta_since, merge, the sequence's
// delta type and codec), so crdt::store::replica<crdt::text, ...> carries it;
// insert() and erase() return what converts to the delta a mutator returns.
//
// Complexity (n runs): as crdt::sequence; conversions O(log n + run length).
// Thread safety: none (like a std::string). Exception safety: invalid input
// (bad UTF-8, positions past the end or inside a code point) throws
// crdt::error before anything changes (strong).
#pragma once

#include <crdt/codec/utf8.hpp>
#include <crdt/core/config.hpp>
#include <crdt/core/error.hpp>
#include <crdt/sequence.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

CRDT_BEGIN_NAMESPACE

template <class Policy = sequence_defaults>
class basic_text {
    using seq_t = crdt::sequence<char32_t, Policy>;
    using unit = detail::seq::unit;

public:
    using replica_type = typename Policy::replica_type;
    using op = typename seq_t::op;
    using insert_op = typename seq_t::insert_op;
    using erase_op = typename seq_t::erase_op;
    using dot_type = typename seq_t::dot_type;
    using version_type = typename seq_t::version_type;
    /// The underlying sequence's delta (a list of ops). insert() and erase()
    ///   return what converts to it, so they can be returned from
    ///   replica::change().
    using delta_type = typename seq_t::delta_type;
    /// Mutator deltas may be merged in any order (crdt/sync/concepts.hpp).
    static constexpr bool mutator_deltas_commute = true;

    /// A position as (line, column), both 0-based, the column in code points.
    struct line_column {
        std::size_t line = 0;
        std::size_t column = 0;
        friend bool operator==(const line_column&, const line_column&) = default;
    };

    /// Effects: an empty text edited locally as `self`.
    explicit basic_text(replica_type self) : seq_(std::move(self)) {}

    // ---- queries -----------------------------------------------------------

    /// Returns: the text as UTF-8. Complexity: O(n + bytes).
    std::string str() const {
        std::string out;
        out.reserve(size_utf8());
        for (const char32_t c : seq_.content()) {
            utf8::append(out, c);
        }
        return out;
    }
    /// Returns: the length in code points / UTF-8 bytes / UTF-16 units, and
    ///   the number of lines (newlines + 1). Complexity: O(1).
    std::size_t size() const noexcept { return seq_.size(); }
    std::size_t size_utf8() const noexcept { return sz(seq_.engine().summary().utf8); }
    std::size_t size_utf16() const noexcept { return sz(seq_.engine().summary().utf16); }
    std::size_t line_count() const noexcept { return sz(seq_.engine().summary().lines) + 1; }

    /// Returns: code point position `cp` as a UTF-8 byte offset / UTF-16
    ///   offset; and back. Throws: crdt::error(invalid_value) past the end or
    ///   (from bytes/units) inside a code point. Complexity: O(log n + run).
    std::size_t utf8_from_chars(std::size_t cp) const { return conv(cp, unit::chars, unit::utf8); }
    std::size_t chars_from_utf8(std::size_t b) const { return conv(b, unit::utf8, unit::chars); }
    std::size_t utf16_from_chars(std::size_t cp) const {
        return conv(cp, unit::chars, unit::utf16);
    }
    std::size_t chars_from_utf16(std::size_t u) const { return conv(u, unit::utf16, unit::chars); }
    /// Returns: the line and column of code point position `cp`.
    line_column line_column_from_chars(std::size_t cp) const {
        const std::size_t line = conv(cp, unit::chars, unit::lines);
        return {line, cp - sz(seq_.engine().line_start(line))};
    }
    /// Returns: the code point position of (line, column).
    /// Throws: crdt::error(invalid_value) if the line does not exist or the
    ///   column is past the end of the line.
    std::size_t chars_from_line_column(line_column lc) const {
        const std::size_t start = sz(seq_.engine().line_start(lc.line));
        const std::size_t end =
            lc.line + 1 < line_count() ? sz(seq_.engine().line_start(lc.line + 1)) - 1 : size();
        if (lc.column > end - start) {
            throw crdt::error(errc::invalid_value, "text: column " + std::to_string(lc.column) +
                                                       " is past the end of line " +
                                                       std::to_string(lc.line));
        }
        return start + lc.column;
    }

    /// Returns: the version (as sequence::version()).
    version_type version() const { return seq_.version(); }
    /// Returns: the ops a replica at `v` lacks (as sequence::delta_since).
    delta_type delta_since(const version_type& v) const { return seq_.delta_since(v); }
    /// Returns: the text as it was at version `v`, as UTF-8 (see
    ///   sequence::visit_at).
    std::string str_at(const version_type& v) const {
        std::string out;
        seq_.visit_at(v, [&](std::span<const char32_t> s) {
            for (const char32_t c : s) {
                utf8::append(out, c);
            }
        });
        return out;
    }

    /// Returns: the local replica id.
    const replica_type& self() const noexcept { return seq_.self(); }
    /// Returns: the underlying sequence of code points.
    const seq_t& as_sequence() const noexcept { return seq_; }
    std::size_t buffered() const noexcept { return seq_.buffered(); }
    void verify() const { seq_.verify(); }

    // ---- edits ---------------------------------------------------------------

    /// Effects: inserts the UTF-8 `text` at code point position `pos`.
    /// Returns: the op (nullopt for empty text).
    /// Throws: crdt::error(invalid_utf8) with the byte offset if `text` is not
    ///   UTF-8; crdt::error(invalid_value) if pos > size().
    std::optional<op> insert(std::size_t pos, std::string_view text) {
        const std::u32string cps = decode(text);
        return seq_.insert(pos, std::span<const char32_t>(cps.data(), cps.size()));
    }
    /// Effects: deletes `count` code points at `pos`. Returns: the ops made.
    /// Throws: crdt::error(invalid_value) past the end.
    std::vector<op> erase(std::size_t pos, std::size_t count) { return seq_.erase(pos, count); }
    /// Effects, Returns, Throws: as sequence::apply.
    bool apply(const op& o) { return seq_.apply(o); }
    /// Effects, Throws: as sequence::merge (strong for invalid ops).
    void merge(const delta_type& d) { seq_.merge(d); }

    // ---- snapshots -------------------------------------------------------------

    /// Returns: a snapshot of this text (as sequence::snapshot).
    std::vector<std::byte> snapshot() const { return seq_.snapshot(); }
    /// Returns: the text a snapshot() holds, edited as `self`; no op is
    ///   integrated. Throws: as sequence::load_snapshot.
    static basic_text load_snapshot(std::span<const std::byte> bytes, replica_type self,
                                    std::string_view what = "text snapshot") {
        return basic_text(seq_t::load_snapshot(bytes, std::move(self), what));
    }

    // ---- branches --------------------------------------------------------------

    /// Returns: a branch of this text edited as `self` (as sequence::fork:
    ///   O(1), sharing one op store). Throws: as sequence::fork.
    basic_text fork(replica_type self) const { return basic_text(seq_.fork(std::move(self))); }
    /// Returns: a branch holding the text as it was at `v`, edited as `self`
    ///   (as sequence::fork_at). Throws: as sequence::fork_at.
    basic_text fork_at(const version_type& v, replica_type self) const {
        return basic_text(seq_.fork_at(v, std::move(self)));
    }
    /// Effects: applies every op `other` has that this text lacks (as
    ///   sequence::merge(const sequence&)). Throws: as sequence::merge.
    void merge(const basic_text& other) { seq_.merge(other.seq_); }
    /// Effects: applies the ops `other` has that are in `up_to` and this text
    ///   lacks (as sequence::merge(other, up_to)).
    void merge(const basic_text& other, const version_type& up_to) {
        seq_.merge(other.seq_, up_to);
    }

    /// Returns: `text` decoded to code points.
    /// Throws: crdt::error(invalid_utf8) with the offset of the bad byte.
    static std::u32string decode(std::string_view text) {
        if (const auto bad = utf8::find_invalid(text)) {
            throw crdt::error(errc::invalid_utf8, "text: insert", *bad);
        }
        std::u32string out;
        out.reserve(text.size());
        detail::seq::append_code_points(text, out);
        return out;
    }

private:
    explicit basic_text(seq_t s) : seq_(std::move(s)) {}

    static std::size_t sz(std::uint64_t v) noexcept { return static_cast<std::size_t>(v); }
    std::size_t conv(std::size_t x, unit from, unit to) const {
        return sz(seq_.engine().convert(x, from, to));
    }
    seq_t seq_;
};

/// Plain text with the default policy.
using text = basic_text<>;

CRDT_END_NAMESPACE
