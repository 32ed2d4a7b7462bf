// fuzz/reader.cpp -- crdt::byte_reader driven by a program in the input,
// checked against the naive reference decoders (fuzz/support/reference.hpp)
// and against crdt::byte_writer.
//
// Input: byte 0 is the program length L (capped at what is there), bytes
// 1..L the program, the rest the data the reader reads. Each program byte
// picks a reader method (op % op_count); `raw` takes its length from the
// next program byte. The program stops at the first crdt::error.
// Oracles, per step:
//   * the method succeeds exactly when the reference decoder does, with the
//     same value, consuming the same bytes; byte_writer writes exactly
//     those bytes back for the value (canonical encodings);
//   * on failure, crdt::error has the reference's cause and byte offset
//     (where the bad value starts; for bad UTF-8, where the bad sequence
//     starts) and its message names the input;
//   * offset() + remaining() == input size; spans are borrowed from the
//     input; crdt::varint::decode agrees with the reference too.
#include "support/harness.hpp"
#include "support/reference.hpp"

#include <crdt/codec/reader.hpp>
#include <crdt/codec/varint.hpp>
#include <crdt/codec/writer.hpp>

#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace {

namespace ref = crdt_fuzz::reference;
using crdt::errc;

enum op : std::uint8_t {
    op_varint,
    op_varint_u8,
    op_varint_u16,
    op_varint_u32,
    op_varint_u64,
    op_zigzag,
    op_zigzag_i8,
    op_zigzag_i16,
    op_zigzag_i32,
    op_zigzag_i64,
    op_fixed_u8,
    op_fixed_u16,
    op_fixed_u32,
    op_fixed_u64,
    op_fixed_i16,
    op_fixed_i64,
    op_fixed_float,
    op_fixed_double,
    op_fixed_bool,
    op_byte,
    op_raw,
    op_bytes,
    op_string,
    op_length,
    op_expect_end,
    op_raw_varint_decode,
    op_count,
};

constexpr const char* op_names[op_count] = {
    "varint()",
    "varint_as<uint8_t>()",
    "varint_as<uint16_t>()",
    "varint_as<uint32_t>()",
    "varint_as<uint64_t>()",
    "zigzag()",
    "zigzag_as<int8_t>()",
    "zigzag_as<int16_t>()",
    "zigzag_as<int32_t>()",
    "zigzag_as<int64_t>()",
    "fixed<uint8_t>()",
    "fixed<uint16_t>()",
    "fixed<uint32_t>()",
    "fixed<uint64_t>()",
    "fixed<int16_t>()",
    "fixed<int64_t>()",
    "fixed<float>()",
    "fixed<double>()",
    "fixed<bool>()",
    "byte()",
    "raw(n)",
    "bytes()",
    "string()",
    "length()",
    "expect_end()",
    "varint::decode",
};

constexpr std::string_view input_name = "fuzz reader";

// What the reference decoders say a step does.
struct expectation {
    bool ok = false;
    std::size_t end = 0; // offset after the value, when ok
    errc cause{};        // when not ok
    std::size_t at = 0;  // error offset, when not ok
};

expectation failure(errc cause, std::size_t at) {
    return {false, 0, cause, at};
}

// A varint at `start`, as the reference reads it.
struct ref_varint {
    expectation e;
    std::uint64_t value = 0;
};

ref_varint read_ref_varint(crdt_fuzz::input data, std::size_t start) {
    const auto r = ref::varint(data.subspan(start));
    switch (r.status) {
    case ref::varint_result::ok: return {{true, start + r.length}, r.value};
    case ref::varint_result::truncated: return {failure(errc::truncated, start)};
    default: return {failure(errc::overlong_varint, start)};
    }
}

class stepper {
public:
    explicit stepper(crdt_fuzz::input data) : data_(data), r_(data, input_name) {}

    // Runs one op; returns false once the reader has thrown.
    bool step(std::uint8_t which, std::uint8_t param) {
        start_ = r_.offset();
        op_ = which;
        switch (which) {
        case op_varint: return unsigned_varint<std::uint64_t>([&] { return r_.varint(); });
        case op_varint_u8:
            return unsigned_varint<std::uint8_t>([&] { return r_.varint_as<std::uint8_t>(); });
        case op_varint_u16:
            return unsigned_varint<std::uint16_t>([&] { return r_.varint_as<std::uint16_t>(); });
        case op_varint_u32:
            return unsigned_varint<std::uint32_t>([&] { return r_.varint_as<std::uint32_t>(); });
        case op_varint_u64:
            return unsigned_varint<std::uint64_t>([&] { return r_.varint_as<std::uint64_t>(); });
        case op_zigzag: return signed_varint<std::int64_t>([&] { return r_.zigzag(); });
        case op_zigzag_i8:
            return signed_varint<std::int8_t>([&] { return r_.zigzag_as<std::int8_t>(); });
        case op_zigzag_i16:
            return signed_varint<std::int16_t>([&] { return r_.zigzag_as<std::int16_t>(); });
        case op_zigzag_i32:
            return signed_varint<std::int32_t>([&] { return r_.zigzag_as<std::int32_t>(); });
        case op_zigzag_i64:
            return signed_varint<std::int64_t>([&] { return r_.zigzag_as<std::int64_t>(); });
        case op_fixed_u8: return fixed<std::uint8_t>();
        case op_fixed_u16: return fixed<std::uint16_t>();
        case op_fixed_u32: return fixed<std::uint32_t>();
        case op_fixed_u64: return fixed<std::uint64_t>();
        case op_fixed_i16: return fixed<std::int16_t>();
        case op_fixed_i64: return fixed<std::int64_t>();
        case op_fixed_float: return fixed<float>();
        case op_fixed_double: return fixed<double>();
        case op_fixed_bool: return fixed<bool>();
        case op_byte: return single_byte();
        case op_raw: return raw(param);
        case op_bytes: return prefixed(false);
        case op_string: return prefixed(true);
        case op_length: return length();
        case op_expect_end: return expect_end();
        default: raw_varint_decode(); return true;
        }
    }

private:
    // Runs `call`; checks the outcome against `want`. On success
    // `check_value(value, writer)` checks the value and writes it back,
    // which must give exactly the bytes consumed. Returns whether `call`
    // succeeded.
    template <class Call, class Check>
    bool run(const expectation& want, Call&& call, Check&& check_value) {
        try {
            auto value = call();
            if (!want.ok) {
                crdt_fuzz::fail(std::string(op_names[op_]) +
                                " succeeded where the reference fails");
            }
            if (r_.offset() != want.end) {
                crdt_fuzz::fail(std::string(op_names[op_]) +
                                " consumed a different number of bytes than the reference");
            }
            crdt::byte_writer w;
            check_value(value, w);
            const auto consumed = data_.subspan(start_, want.end - start_);
            if (!std::ranges::equal(w.view(), consumed)) {
                crdt_fuzz::fail(std::string(op_names[op_]) +
                                ": byte_writer does not write back the bytes read");
            }
        } catch (const crdt::error& e) {
            if (want.ok) {
                crdt_fuzz::fail(std::string(op_names[op_]) +
                                " failed where the reference succeeds: " + e.what());
            }
            if (e.cause() != want.cause || e.offset() != want.at) {
                crdt_fuzz::fail(std::string(op_names[op_]) +
                                ": wrong cause or offset (expected cause " +
                                std::to_string(static_cast<int>(want.cause)) + " at byte " +
                                std::to_string(want.at) + "), got: " + e.what());
            }
            if (std::string_view(e.what()).find(input_name) == std::string_view::npos) {
                crdt_fuzz::fail(std::string("error message does not name the input: ") + e.what());
            }
            check_position();
            return false;
        }
        check_position();
        return true;
    }

    void check_position() const {
        if (r_.offset() + r_.remaining() != data_.size() || r_.empty() != (r_.remaining() == 0)) {
            crdt_fuzz::fail("offset() + remaining() != input size");
        }
    }

    template <class T, class Call>
    bool unsigned_varint(Call&& call) {
        ref_varint want = read_ref_varint(data_, start_);
        if (want.e.ok && want.value > std::numeric_limits<T>::max()) {
            want.e = failure(errc::overlong_varint, start_);
        }
        return run(want.e, call, [&](T v, crdt::byte_writer& w) {
            if (v != want.value) {
                crdt_fuzz::fail("varint value differs from the reference");
            }
            w.varint(v);
        });
    }

    template <class T, class Call>
    bool signed_varint(Call&& call) {
        ref_varint want = read_ref_varint(data_, start_);
        const std::int64_t v = ref::unzigzag(want.value);
        if (want.e.ok && (v < std::numeric_limits<T>::min() || v > std::numeric_limits<T>::max())) {
            want.e = failure(errc::overlong_varint, start_);
        }
        return run(want.e, call, [&](T got, crdt::byte_writer& w) {
            if (got != v) {
                crdt_fuzz::fail("zigzag value differs from the reference");
            }
            w.zigzag(got);
        });
    }

    template <class T>
    bool fixed() {
        expectation want = data_.size() - start_ >= sizeof(T)
                               ? expectation{true, start_ + sizeof(T)}
                               : failure(errc::truncated, start_);
        if constexpr (std::is_same_v<T, bool>) {
            if (want.ok && std::to_integer<unsigned>(data_[start_]) > 1) {
                want = failure(errc::invalid_value, start_); // not a bool's representation
            }
        }
        return run(
            want, [&] { return r_.fixed<T>(); },
            [&](T got, crdt::byte_writer& w) {
                const std::uint64_t bits = ref::little_endian<sizeof(T)>(data_.subspan(start_));
                std::uint64_t got_bits = 0;
                std::memcpy(&got_bits, &got, sizeof(T)); // little-endian host
                if (got_bits != bits) {
                    crdt_fuzz::fail("fixed-width value differs from the reference");
                }
                w.fixed(got);
            });
    }

    bool single_byte() {
        const expectation want = start_ < data_.size() ? expectation{true, start_ + 1}
                                                       : failure(errc::truncated, start_);
        return run(
            want, [&] { return r_.byte(); },
            [&](std::uint8_t got, crdt::byte_writer& w) { w.byte(got); });
    }

    void check_borrowed(std::span<const std::byte> s, std::size_t at) const {
        if (s.data() != data_.data() + at) {
            crdt_fuzz::fail("a returned span is not borrowed from the input at the value");
        }
    }

    bool raw(std::size_t n) {
        const expectation want = data_.size() - start_ >= n ? expectation{true, start_ + n}
                                                            : failure(errc::truncated, start_);
        return run(
            want, [&] { return r_.raw(n); },
            [&](std::span<const std::byte> got, crdt::byte_writer& w) {
                if (got.size() != n) {
                    crdt_fuzz::fail("raw(n) returned a span of another size");
                }
                check_borrowed(got, start_);
                w.raw(got);
            });
    }

    // A varint length, then that many bytes (text: valid UTF-8).
    expectation expect_prefixed(bool text, std::size_t& body_at) const {
        const ref_varint len = read_ref_varint(data_, start_);
        if (!len.e.ok) {
            return len.e;
        }
        body_at = len.e.end;
        if (len.value > data_.size() - body_at) {
            return failure(errc::length_out_of_range, start_);
        }
        const auto n = static_cast<std::size_t>(len.value);
        if (text) {
            const std::string_view s(reinterpret_cast<const char*>(data_.data() + body_at), n);
            if (const auto bad = ref::first_invalid_utf8(s)) {
                return failure(errc::invalid_utf8, body_at + *bad);
            }
        }
        return {true, body_at + n};
    }

    bool prefixed(bool text) {
        std::size_t body_at = 0;
        const expectation want = expect_prefixed(text, body_at);
        if (text) {
            return run(
                want, [&] { return r_.string(); },
                [&](std::string_view got, crdt::byte_writer& w) {
                    check_borrowed(std::as_bytes(std::span<const char>(got.data(), got.size())),
                                   body_at);
                    w.string(got);
                });
        }
        return run(
            want, [&] { return r_.bytes(); },
            [&](std::span<const std::byte> got, crdt::byte_writer& w) {
                check_borrowed(got, body_at);
                w.bytes(got);
            });
    }

    bool length() {
        std::size_t body_at = 0;
        expectation want = expect_prefixed(false, body_at);
        if (want.ok) {
            want.end = body_at; // length() reads only the prefix
        }
        return run(
            want, [&] { return r_.length(); },
            [&](std::size_t got, crdt::byte_writer& w) {
                if (got > r_.remaining()) {
                    crdt_fuzz::fail("length() returned more than remains");
                }
                w.varint(got);
            });
    }

    bool expect_end() {
        const expectation want = start_ == data_.size() ? expectation{true, start_}
                                                        : failure(errc::trailing_bytes, start_);
        return run(
            want,
            [&] {
                r_.expect_end();
                return 0;
            },
            [](int, crdt::byte_writer&) {});
    }

    // crdt::varint::decode on the unread bytes, without moving the reader.
    void raw_varint_decode() const {
        const auto tail = data_.subspan(start_);
        const auto want = ref::varint(tail);
        const std::byte* first = tail.data();
        std::uint64_t value = 0;
        const auto status = crdt::varint::decode(first, tail.data() + tail.size(), value);
        const bool agree =
            (status == crdt::varint::decode_status::ok && want.status == ref::varint_result::ok &&
             value == want.value && first == tail.data() + want.length &&
             crdt::varint::encoded_length(value) == want.length) ||
            (status == crdt::varint::decode_status::truncated &&
             want.status == ref::varint_result::truncated) ||
            (status == crdt::varint::decode_status::overlong &&
             want.status == ref::varint_result::overlong);
        if (!agree) {
            crdt_fuzz::fail("crdt::varint::decode disagrees with the reference");
        }
    }

    crdt_fuzz::input data_;
    crdt::byte_reader r_;
    std::size_t start_ = 0;
    std::uint8_t op_ = 0; // the op being run, for messages
};

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    return crdt_fuzz::run(data, size, [](crdt_fuzz::input in) {
        if (in.empty()) {
            return;
        }
        const std::size_t len = std::min(std::to_integer<std::size_t>(in[0]), in.size() - 1);
        const crdt_fuzz::input program = in.subspan(1, len);
        stepper s(in.subspan(1 + len));
        for (std::size_t pc = 0; pc < program.size(); ++pc) {
            const auto which =
                static_cast<std::uint8_t>(std::to_integer<unsigned>(program[pc]) % op_count);
            std::uint8_t param = 0;
            if (which == op_raw && pc + 1 < program.size()) {
                param = std::to_integer<std::uint8_t>(program[++pc]);
            }
            if (!s.step(which, param)) {
                break;
            }
        }
    });
}

std::vector<crdt_fuzz::bytes> crdt_fuzz::seeds() {
    // One program per seed, with data that makes every step succeed.
    struct builder {
        bytes program;
        crdt::byte_writer data;
        bytes finish() const {
            bytes out{static_cast<std::byte>(program.size())};
            out.insert(out.end(), program.begin(), program.end());
            out.insert(out.end(), data.view().begin(), data.view().end());
            return out;
        }
        void add(op o) { program.push_back(static_cast<std::byte>(o)); }
    };
    std::vector<bytes> out;

    builder all;
    all.add(op_varint);
    all.data.varint(300);
    all.add(op_varint_u8);
    all.data.varint(255);
    all.add(op_varint_u16);
    all.data.varint(65535);
    all.add(op_varint_u32);
    all.data.varint(0xffffffffu);
    all.add(op_varint_u64);
    all.data.varint(~0ull);
    all.add(op_zigzag);
    all.data.zigzag(-1);
    all.add(op_zigzag_i8);
    all.data.zigzag(-128);
    all.add(op_zigzag_i16);
    all.data.zigzag(32767);
    all.add(op_zigzag_i32);
    all.data.zigzag(-2147483647 - 1);
    all.add(op_zigzag_i64);
    all.data.zigzag(std::numeric_limits<std::int64_t>::min());
    all.add(op_fixed_u8);
    all.data.fixed(std::uint8_t{7});
    all.add(op_fixed_u16);
    all.data.fixed(std::uint16_t{0x1234});
    all.add(op_fixed_u32);
    all.data.fixed(std::uint32_t{0xdeadbeef});
    all.add(op_fixed_u64);
    all.data.fixed(std::uint64_t{0x0123456789abcdef});
    all.add(op_fixed_i16);
    all.data.fixed(std::int16_t{-2});
    all.add(op_fixed_i64);
    all.data.fixed(std::int64_t{-3});
    all.add(op_fixed_float);
    all.data.fixed(1.5f);
    all.add(op_fixed_double);
    all.data.fixed(-2.25);
    all.add(op_fixed_bool);
    all.data.fixed(true);
    all.add(op_byte);
    all.data.byte(0x80);
    all.add(op_raw);
    all.program.push_back(std::byte{3});
    all.data.raw(std::as_bytes(std::span<const char>("abc", 3)));
    all.add(op_bytes);
    all.data.bytes(std::as_bytes(std::span<const char>("\0\x01\xff", 3)));
    all.add(op_string);
    all.data.string("h\xc3\xa9llo \xf0\x9f\x98\x80");
    all.add(op_raw_varint_decode);
    all.add(op_length);
    all.data.varint(2);
    all.add(op_raw);
    all.program.push_back(std::byte{2});
    all.data.raw(std::as_bytes(std::span<const char>("zz", 2)));
    all.add(op_expect_end);
    out.push_back(all.finish());

    builder varints;
    for (const std::uint64_t v : {0ull, 127ull, 128ull, 16383ull, 16384ull, 1ull << 35, ~0ull}) {
        varints.add(op_varint);
        varints.data.varint(v);
    }
    varints.add(op_expect_end);
    out.push_back(varints.finish());

    builder strings;
    for (const char* s :
         {"", "a", "\xc2\x80", "\xe0\xa0\x80", "\xef\xbf\xbf", "\xf4\x8f\xbf\xbf"}) {
        strings.add(op_string);
        strings.data.string(s);
    }
    out.push_back(strings.finish());
    return out;
}
