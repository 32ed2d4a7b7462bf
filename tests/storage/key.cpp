#include <crdt/storage/key.hpp>

#include <catch2/catch.hpp>
#include <rapidcheck.h>
#include <rapidcheck/catch.h>

#include <algorithm>
#include <string>
#include <vector>

using crdt::storage_key;

namespace {
storage_key make(const std::vector<std::string>& segs) {
    return storage_key(segs);
}
} // namespace

TEST_CASE("storage_key orders byte-wise, segment by segment") {
    CHECK(storage_key{"a"} < storage_key{"a", ""});
    CHECK(storage_key{"a", "z"} < storage_key{"ab"});
    CHECK(storage_key{"a"} < storage_key{"\xff"});
    CHECK(storage_key{std::string_view("a\0", 2)} > storage_key{"a", "zzz"});
    CHECK(storage_key{} < storage_key{""});
    CHECK(storage_key{"x", "y"}.starts_with(storage_key{"x"}));
    CHECK_FALSE(storage_key{"xy"}.starts_with(storage_key{"x"}));
    CHECK(storage_key{"x"}.starts_with(storage_key{}));
    CHECK((storage_key{"a"} / "b") == storage_key{"a", "b"});
    CHECK(storage_key{"a", std::string_view("\0\"", 2)}.to_string() == "[\"a\", \"\\x00\\x22\"]");
}

TEST_CASE("encode_key preserves order and prefixes") {
    rc::prop("memcmp order of encodings equals key order; prefix = byte prefix",
             [](const std::vector<std::string>& a, const std::vector<std::string>& b) {
                 const auto ka = make(a);
                 const auto kb = make(b);
                 const auto ea = crdt::encode_key(ka);
                 const auto eb = crdt::encode_key(kb);
                 RC_ASSERT((ea < eb) == (ka < kb));
                 RC_ASSERT((ea == eb) == (ka == kb));
                 RC_ASSERT(eb.starts_with(ea) == kb.starts_with(ka));
                 RC_ASSERT(crdt::decode_key(ea) == ka);
                 const auto succ = crdt::prefix_successor(ea);
                 if (succ) {
                     RC_ASSERT(kb.starts_with(ka) == (eb >= ea && eb < *succ));
                 } else {
                     RC_ASSERT(ka.empty());
                 }
             });
}

TEST_CASE("decode_key rejects malformed encodings with an offset") {
    using Catch::Matchers::Contains;
    CHECK_THROWS_WITH(crdt::decode_key(std::string("ab\0\x02", 4)), Contains("bad escape"));
    CHECK_THROWS_WITH(crdt::decode_key("abc"), Contains("no terminator"));
    CHECK_THROWS_WITH(crdt::decode_key(std::string("a\0", 2)), Contains("cut short"));
    try {
        crdt::decode_key(std::string("a\0\x01x\0\x07", 6));
        FAIL("no throw");
    } catch (const crdt::error& e) {
        CHECK(e.cause() == crdt::errc::invalid_value);
        CHECK(e.offset() == 5u);
    }
    CHECK(crdt::decode_key("") == storage_key{});
    CHECK_FALSE(crdt::prefix_successor("").has_value());
    CHECK(crdt::prefix_successor(std::string("a\xff\xff")) == std::string("b"));
}
