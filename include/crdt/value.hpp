// crdt/value.hpp -- a dynamic, schema-less value: null, bool, int64, double,
// string, bytes, array or object; totally ordered, hashable and encodable,
// so it can be an lww_map value (the table DB's fields) and an index key.
//
// Total order (the same on every machine), first by kind rank, then within:
//   null < bool < number < string < bytes < array < object
//   bool:    false < true.
//   number:  int64 and double compare by exact numeric value (no rounding:
//            2^53 + 1 (int) > 2^53 (double)). A number held both ways
//            (int 1 and double 1.0) orders the int first. Doubles follow
//            IEEE totalOrder for zeros: -0.0 < +0.0 (they are different
//            values). -inf is below every int, +inf above; NaN is above
//            +inf, and every NaN is one value (encoded canonically).
//   string:  byte-wise (UTF-8 code point order); bytes: byte-wise.
//   array:   lexicographic by elements; object: lexicographic by
//            (key, value) pairs in key order.
// Equality is "neither orders before the other": so 1 != 1.0, -0.0 != 0.0,
// NaN == NaN. hash() agrees with equality.
//
// Objects keep their members sorted by key (unique keys). Strings must be
// UTF-8 (checked when encoding and decoding).
//
// Encoding: a kind byte (0 null, 1 false, 2 true, 3 int as zigzag varint,
// 4 double as 8 little-endian bytes, 5 string, 6 bytes, 7 array: count then
// elements, 8 object: count then (key, value) in increasing key order).
// Decoding rejects a non-canonical NaN, unsorted or repeated object keys and
// nesting deeper than `max_depth` with crdt::error(errc::invalid_value).
//
// Complexity: comparison and hashing O(size); copies allocate.
// Thread safety: a value type. Exception safety: strong.
#pragma once

#include <crdt/codec/codec.hpp>
#include <crdt/core/config.hpp>
#include <crdt/core/error.hpp>
#include <crdt/detail/hash.hpp>

#include <algorithm>
#include <bit>
#include <cmath>
#include <compare>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <limits>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

CRDT_BEGIN_NAMESPACE

/// A dynamic value.
class value {
public:
    /// The kinds, in their cross-kind order (int and real share one rank).
    enum class kind : std::uint8_t { null, boolean, integer, real, string, bytes, array, object };

    using bytes_type = std::vector<std::byte>;
    using array_type = std::vector<value>;
    using member = std::pair<std::string, value>;
    using object_type = std::vector<member>; ///< sorted by key, keys unique

    /// The deepest nesting of arrays/objects decode accepts.
    static constexpr std::size_t max_depth = 64;

    /// Effects: null.
    value() noexcept = default;
    value(std::nullptr_t) noexcept {}
    value(bool b) noexcept : v_(b) {}
    /// Effects: an integer (any integer type that fits in int64).
    template <std::integral I>
    requires(!std::same_as<I, bool>) value(I i)
    noexcept : v_(static_cast<std::int64_t>(i)) {
        static_assert(sizeof(I) < 8 || std::is_signed_v<I>,
                      "crdt::value holds int64: convert a uint64 explicitly");
    }
    value(double d) noexcept : v_(d) {}
    value(std::string s) : v_(std::move(s)) {}
    value(std::string_view s) : v_(std::string(s)) {}
    value(const char* s) : v_(std::string(s)) {}
    value(bytes_type b) : v_(std::move(b)) {}
    value(array_type a) : v_(std::move(a)) {}

    /// Returns: an object with the given members, sorted by key; for a
    ///   repeated key the last one is kept.
    static value object(std::vector<member> members) {
        std::stable_sort(members.begin(), members.end(),
                         [](const member& a, const member& b) { return a.first < b.first; });
        object_type out;
        for (auto& m : members) {
            if (!out.empty() && out.back().first == m.first) {
                out.back().second = std::move(m.second);
            } else {
                out.push_back(std::move(m));
            }
        }
        value v;
        v.v_ = std::move(out);
        return v;
    }
    static value object(std::initializer_list<member> members) {
        return object(std::vector<member>(members));
    }
    /// Returns: an array of the given elements.
    static value array(std::initializer_list<value> elements) {
        return value(array_type(elements));
    }

    /// Returns: the kind.
    kind type() const noexcept { return static_cast<kind>(v_.index()); }
    bool is_null() const noexcept { return type() == kind::null; }

    /// Returns: a pointer to the payload if the value is of that kind, else nullptr.
    const bool* if_bool() const noexcept { return std::get_if<bool>(&v_); }
    const std::int64_t* if_int() const noexcept { return std::get_if<std::int64_t>(&v_); }
    const double* if_double() const noexcept { return std::get_if<double>(&v_); }
    const std::string* if_string() const noexcept { return std::get_if<std::string>(&v_); }
    const bytes_type* if_bytes() const noexcept { return std::get_if<bytes_type>(&v_); }
    const array_type* if_array() const noexcept { return std::get_if<array_type>(&v_); }
    const object_type* if_object() const noexcept { return std::get_if<object_type>(&v_); }

    /// Returns: the member `key` of an object, or nullptr (also for non-objects).
    /// Complexity: O(log n).
    const value* find(std::string_view key) const noexcept {
        const auto* o = if_object();
        if (o == nullptr) {
            return nullptr;
        }
        auto it = std::lower_bound(o->begin(), o->end(), key,
                                   [](const member& m, std::string_view k) { return m.first < k; });
        return it != o->end() && it->first == key ? &it->second : nullptr;
    }

    /// Returns: the total order described in the file comment.
    friend std::strong_ordering operator<=>(const value& a, const value& b) noexcept {
        return compare(a, b);
    }
    friend bool operator==(const value& a, const value& b) noexcept {
        return compare(a, b) == std::strong_ordering::equal;
    }

    /// Returns: a hash consistent with ==.
    std::size_t hash() const noexcept { return static_cast<std::size_t>(hash64(*this)); }

private:
    friend struct codec<value>;

    static constexpr std::uint64_t canonical_nan = 0x7ff8000000000000ull;

    static int rank(const value& v) noexcept {
        switch (v.type()) {
        case kind::null: return 0;
        case kind::boolean: return 1;
        case kind::integer:
        case kind::real: return 2;
        case kind::string: return 3;
        case kind::bytes: return 4;
        case kind::array: return 5;
        case kind::object: return 6;
        }
        return 7;
    }

    // Orders an int against a double by exact value; at equal value the
    // int comes first.
    static std::strong_ordering compare_int_double(std::int64_t i, double d) noexcept {
        if (std::isnan(d) || d >= 9223372036854775808.0) {
            return std::strong_ordering::less;
        }
        if (d < -9223372036854775808.0) {
            return std::strong_ordering::greater;
        }
        const double f = std::floor(d);
        const auto t = static_cast<std::int64_t>(f); // exact: f is integral and in range
        if (i != t) {
            return i < t ? std::strong_ordering::less : std::strong_ordering::greater;
        }
        return std::strong_ordering::less; // d == t + fraction (>= 0), int first at equality
    }

    static std::strong_ordering compare_doubles(double a, double b) noexcept {
        const bool na = std::isnan(a);
        const bool nb = std::isnan(b);
        if (na || nb) {
            return na && nb ? std::strong_ordering::equal
                            : (na ? std::strong_ordering::greater : std::strong_ordering::less);
        }
        if (a < b) {
            return std::strong_ordering::less;
        }
        if (b < a) {
            return std::strong_ordering::greater;
        }
        // Equal numerically: only zeros of opposite sign differ.
        const bool sa = std::signbit(a);
        const bool sb = std::signbit(b);
        if (sa == sb) {
            return std::strong_ordering::equal;
        }
        return sa ? std::strong_ordering::less : std::strong_ordering::greater;
    }

    template <class Seq>
    static std::strong_ordering compare_bytes(const Seq& a, const Seq& b) noexcept {
        const std::size_t n = std::min(a.size(), b.size());
        for (std::size_t i = 0; i < n; ++i) {
            const auto x = static_cast<unsigned char>(a[i]);
            const auto y = static_cast<unsigned char>(b[i]);
            if (x != y) {
                return x < y ? std::strong_ordering::less : std::strong_ordering::greater;
            }
        }
        return a.size() <=> b.size();
    }

    static std::strong_ordering compare(const value& a, const value& b) noexcept {
        const int ra = rank(a);
        const int rb = rank(b);
        if (ra != rb) {
            return ra <=> rb;
        }
        switch (a.type()) {
        case kind::null: return std::strong_ordering::equal;
        case kind::boolean: return *a.if_bool() <=> *b.if_bool();
        case kind::integer:
            if (const auto* bi = b.if_int()) {
                return *a.if_int() <=> *bi;
            }
            return compare_int_double(*a.if_int(), *b.if_double());
        case kind::real:
            if (const auto* bi = b.if_int()) {
                return 0 <=> compare_int_double(*bi, *a.if_double());
            }
            return compare_doubles(*a.if_double(), *b.if_double());
        case kind::string: return compare_bytes(*a.if_string(), *b.if_string());
        case kind::bytes: return compare_bytes(*a.if_bytes(), *b.if_bytes());
        case kind::array: {
            const auto& x = *a.if_array();
            const auto& y = *b.if_array();
            const std::size_t n = std::min(x.size(), y.size());
            for (std::size_t i = 0; i < n; ++i) {
                if (auto c = compare(x[i], y[i]); c != 0) {
                    return c;
                }
            }
            return x.size() <=> y.size();
        }
        case kind::object: {
            const auto& x = *a.if_object();
            const auto& y = *b.if_object();
            const std::size_t n = std::min(x.size(), y.size());
            for (std::size_t i = 0; i < n; ++i) {
                if (auto c = compare_bytes(x[i].first, y[i].first); c != 0) {
                    return c;
                }
                if (auto c = compare(x[i].second, y[i].second); c != 0) {
                    return c;
                }
            }
            return x.size() <=> y.size();
        }
        }
        return std::strong_ordering::equal;
    }

    static std::uint64_t hash_bytes(const unsigned char* p, std::size_t n) noexcept {
        std::uint64_t h = 0xcbf29ce484222325ull ^ n;
        for (std::size_t i = 0; i < n; ++i) {
            h = (h ^ p[i]) * 0x100000001b3ull;
        }
        return detail::mix64(h);
    }

    static std::uint64_t hash64(const value& v) noexcept {
        const auto k = static_cast<std::uint64_t>(v.type());
        switch (v.type()) {
        case kind::null: return detail::mix64(k);
        case kind::boolean: return detail::mix64(k * 31 + (*v.if_bool() ? 1u : 0u));
        case kind::integer:
            return detail::mix64(k ^ detail::mix64(static_cast<std::uint64_t>(*v.if_int())));
        case kind::real: {
            const double d = *v.if_double();
            const std::uint64_t bits =
                std::isnan(d) ? canonical_nan : std::bit_cast<std::uint64_t>(d);
            return detail::mix64(k ^ detail::mix64(bits));
        }
        case kind::string: {
            const auto& s = *v.if_string();
            return k ^ hash_bytes(reinterpret_cast<const unsigned char*>(s.data()), s.size());
        }
        case kind::bytes: {
            const auto& b = *v.if_bytes();
            return k ^ hash_bytes(reinterpret_cast<const unsigned char*>(b.data()), b.size());
        }
        case kind::array: {
            std::uint64_t h = detail::mix64(k);
            for (const auto& e : *v.if_array()) {
                h = detail::mix64(h ^ hash64(e));
            }
            return h;
        }
        case kind::object: {
            std::uint64_t h = detail::mix64(k + 1);
            for (const auto& m : *v.if_object()) {
                h = detail::mix64(h ^
                                  hash_bytes(reinterpret_cast<const unsigned char*>(m.first.data()),
                                             m.first.size()));
                h = detail::mix64(h ^ hash64(m.second));
            }
            return h;
        }
        }
        return 0;
    }

    std::variant<std::monostate, bool, std::int64_t, double, std::string, bytes_type, array_type,
                 object_type>
        v_;
};

/// Encoding: see the file comment.
template <>
struct codec<value> {
    static void encode(byte_writer& w, const value& v) {
        switch (v.type()) {
        case value::kind::null: w.byte(0); return;
        case value::kind::boolean: w.byte(*v.if_bool() ? 2 : 1); return;
        case value::kind::integer:
            w.byte(3);
            w.zigzag(*v.if_int());
            return;
        case value::kind::real: {
            w.byte(4);
            const double d = *v.if_double();
            w.fixed(std::isnan(d) ? value::canonical_nan : std::bit_cast<std::uint64_t>(d));
            return;
        }
        case value::kind::string:
            w.byte(5);
            w.string(*v.if_string());
            return;
        case value::kind::bytes:
            w.byte(6);
            w.bytes(*v.if_bytes());
            return;
        case value::kind::array:
            w.byte(7);
            w.varint(v.if_array()->size());
            for (const auto& e : *v.if_array()) {
                encode(w, e);
            }
            return;
        case value::kind::object:
            w.byte(8);
            w.varint(v.if_object()->size());
            for (const auto& m : *v.if_object()) {
                w.string(m.first);
                encode(w, m.second);
            }
            return;
        }
    }

    static value decode(byte_reader& r) { return decode_at(r, 0); }

private:
    static value decode_at(byte_reader& r, std::size_t depth) {
        const std::size_t at = r.offset();
        const std::uint8_t tag = r.byte();
        switch (tag) {
        case 0: return value();
        case 1: return value(false);
        case 2: return value(true);
        case 3: return value(r.zigzag());
        case 4: {
            const auto bits = r.fixed<std::uint64_t>();
            const double d = std::bit_cast<double>(bits);
            if (std::isnan(d) && bits != value::canonical_nan) {
                r.fail_at(errc::invalid_value, "value (non-canonical NaN)", at);
            }
            return value(d);
        }
        case 5: return value(std::string(r.string()));
        case 6: {
            auto b = r.bytes();
            return value(value::bytes_type(b.begin(), b.end()));
        }
        case 7:
        case 8: {
            if (depth >= value::max_depth) {
                r.fail_at(errc::invalid_value, "value (nested deeper than 64)", at);
            }
            const std::size_t n = r.length(tag == 7 ? "value array size" : "value object size");
            if (tag == 7) {
                value::array_type a;
                a.reserve(n);
                for (std::size_t i = 0; i < n; ++i) {
                    a.push_back(decode_at(r, depth + 1));
                }
                return value(std::move(a));
            }
            value::object_type o;
            o.reserve(n);
            for (std::size_t i = 0; i < n; ++i) {
                const std::size_t key_at = r.offset();
                std::string key(r.string());
                if (!o.empty() && !(o.back().first < key)) {
                    r.fail_at(errc::invalid_value,
                              "value object (keys must be strictly increasing)", key_at);
                }
                value m = decode_at(r, depth + 1);
                o.emplace_back(std::move(key), std::move(m));
            }
            value v;
            v.v_ = std::move(o);
            return v;
        }
        default: r.fail_at(errc::invalid_value, "value kind byte (must be 0..8)", at);
        }
    }
};

CRDT_END_NAMESPACE

template <>
struct std::hash<crdt::value> {
    std::size_t operator()(const crdt::value& v) const noexcept { return v.hash(); }
};
