// Tests of crdt/core/error.hpp: crdt::error, crdt::errc and error_category().
#include <crdt/codec/codec.hpp>
#include <crdt/core/error.hpp>

#include "helpers.hpp"

#include <catch2/catch.hpp>

#include <cstddef>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <system_error>
#include <type_traits>
#include <vector>

namespace {

constexpr crdt::errc all_errc[] = {
    crdt::errc::truncated,         crdt::errc::overlong_varint, crdt::errc::length_out_of_range,
    crdt::errc::invalid_utf8,      crdt::errc::bad_magic,       crdt::errc::unsupported_version,
    crdt::errc::checksum_mismatch, crdt::errc::causality_gap,   crdt::errc::clock_skew,
    crdt::errc::invalid_value,     crdt::errc::trailing_bytes,  crdt::errc::io_error,
    crdt::errc::conflict,          crdt::errc::not_found,       crdt::errc::counter_overflow,
    crdt::errc::replayed,          crdt::errc::too_large,
};

} // namespace

static_assert(std::is_base_of_v<std::system_error, crdt::error>);
static_assert(std::is_error_code_enum_v<crdt::errc>);
static_assert(std::is_nothrow_copy_constructible_v<crdt::error>);

TEST_CASE("error: is a std::system_error in the crdt category") {
    const crdt::error e(crdt::errc::checksum_mismatch, "decoding log.bin: record 3");
    const std::system_error& as_system = e;
    CHECK(as_system.code().category() == crdt::error_category());
    CHECK(std::string(e.code().category().name()) == "crdt");
    CHECK(e.code().value() == static_cast<int>(crdt::errc::checksum_mismatch));
    CHECK(e.cause() == crdt::errc::checksum_mismatch);
    CHECK_FALSE(e.offset().has_value());
    const std::string what = e.what();
    CHECK(what.find("decoding log.bin: record 3") != std::string::npos);
    CHECK(what.find(crdt::error_category().message(static_cast<int>(e.cause()))) !=
          std::string::npos);
    CHECK(what.find("at byte") == std::string::npos);

    // Catchable through every base.
    try {
        throw crdt::error(crdt::errc::not_found, "snapshot");
    } catch (const std::system_error& caught) {
        CHECK(caught.code() == crdt::errc::not_found);
    }
    try {
        throw crdt::error(crdt::errc::io_error, "fsync");
    } catch (const std::exception& caught) {
        CHECK(std::string(caught.what()).find("fsync") != std::string::npos);
    }
}

TEST_CASE("error: offset is kept and named in the message") {
    const crdt::error e(crdt::errc::truncated, "decoding version_vector: varint", 42);
    REQUIRE(e.offset().has_value());
    CHECK(*e.offset() == 42u);
    CHECK(e.cause() == crdt::errc::truncated);
    const std::string what = e.what();
    CHECK(what.find("decoding version_vector: varint") != std::string::npos);
    CHECK(what.find("(at byte 42)") != std::string::npos);

    const crdt::error zero(crdt::errc::bad_magic, "header", 0);
    REQUIRE(zero.offset().has_value());
    CHECK(*zero.offset() == 0u);
    CHECK(std::string(zero.what()).find("(at byte 0)") != std::string::npos);

    // A real decode failure carries the offset of the bad value.
    const std::vector<std::byte> bytes = core_test::bytes_of([](crdt::byte_writer& w) {
        w.varint(7);
        w.byte(0x80); // a varint that never ends
    });
    const crdt::error e2 = core_test::caught_error(
        [&] { (void)crdt::decode<std::pair<std::uint64_t, std::uint64_t>>(bytes); });
    CHECK(e2.cause() == crdt::errc::truncated);
    REQUIRE(e2.offset().has_value());
    CHECK(*e2.offset() == 1u);
    CHECK(std::string(e2.what()).find("(at byte 1)") != std::string::npos);
}

TEST_CASE("error: std::error_code comparisons with crdt::errc") {
    const std::error_code skew = crdt::errc::clock_skew; // implicit: is_error_code_enum
    CHECK(skew == crdt::errc::clock_skew);
    CHECK(skew != crdt::errc::truncated);
    CHECK(skew == crdt::make_error_code(crdt::errc::clock_skew));
    CHECK(skew.category() == crdt::error_category());
    CHECK(skew.message() == "clock skew too large");
    CHECK(static_cast<bool>(skew));

    // errc{} (zero) means "no error".
    const std::error_code none = crdt::make_error_code(crdt::errc{});
    CHECK_FALSE(static_cast<bool>(none));

    // Same value, different category: not equal to the std errors.
    const std::error_code io = crdt::errc::io_error;
    CHECK(io != std::make_error_code(std::errc::io_error));
    CHECK(io.value() == 12);

    const crdt::error e(crdt::errc::conflict, "root pointer");
    CHECK(e.code() == crdt::errc::conflict);
    CHECK(e.code() != crdt::errc::not_found);
}

TEST_CASE("error: every errc has its own message and a stable value") {
    std::set<std::string> messages;
    int expected_value = 1;
    for (const crdt::errc e : all_errc) {
        CAPTURE(static_cast<int>(e));
        // Values are stable (they may be stored): 1, 2, ... in declaration order.
        CHECK(static_cast<int>(e) == expected_value);
        ++expected_value;
        const std::string m = crdt::error_category().message(static_cast<int>(e));
        CHECK(m != "unknown crdt error");
        CHECK_FALSE(m.empty());
        messages.insert(m);
        CHECK(crdt::error(e, "ctx").cause() == e);
    }
    CHECK(messages.size() == std::size(all_errc));
    CHECK(crdt::error_category().message(0) == "unknown crdt error");
    CHECK(crdt::error_category().message(9999) == "unknown crdt error");
    CHECK(&crdt::error_category() == &crdt::error_category());
}
