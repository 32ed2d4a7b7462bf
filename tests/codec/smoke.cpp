#include <crdt/codec/codec.hpp>
#include <crdt/codec/crc32c.hpp>
#include <catch2/catch.hpp>

TEST_CASE("codec smoke") {
    REQUIRE(crdt::crc32c(std::string_view("123456789")) == 0xE3069283u);
    auto v = std::tuple<int, std::string, std::optional<double>>{-5, "hé", 2.5};
    REQUIRE(crdt::decode<decltype(v)>(crdt::encode(v)) == v);
}
