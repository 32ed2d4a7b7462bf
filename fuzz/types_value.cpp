// fuzz/types_value.cpp -- crdt::decode of crdt::value (the dynamic value of
// schema-less rows and index keys).
//
// Input: the encoding of one value. Oracles beyond the kit's
// (fuzz/support/harness.hpp): the order is reflexive and antisymmetric against
// a set of reference values, consistent with ==, and equal values hash equally
// (including a copy).
#include "support/harness.hpp"

#include <crdt/value.hpp>

#include <compare>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <vector>

namespace {

std::vector<crdt::value> references() {
    using crdt::value;
    return {value(),
            value(true),
            value(0),
            value(-0.0),
            value(std::numeric_limits<double>::quiet_NaN()),
            value(std::numeric_limits<std::int64_t>::max()),
            value(1e300),
            value("a"),
            value(value::bytes_type{std::byte{1}}),
            value::array({1, "x"}),
            value::object({{"k", 1}})};
}

void check_decoded(const crdt::value& v) {
    if (!(v == v) || (v <=> v) != 0) {
        crdt_fuzz::fail("a value is not equal to itself");
    }
    const crdt::value copy = v;
    if (!(copy == v) || copy.hash() != v.hash()) {
        crdt_fuzz::fail("a copy compares or hashes differently");
    }
    for (const auto& r : references()) {
        const auto a = v <=> r;
        const auto b = r <=> v;
        if ((a == 0) != (b == 0) || (a < 0) != (b > 0)) {
            crdt_fuzz::fail("the value order is not antisymmetric");
        }
        if ((a == 0) != (v == r) || ((v == r) && v.hash() != r.hash())) {
            crdt_fuzz::fail("order, equality and hash disagree");
        }
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    return crdt_fuzz::run(data, size, [](crdt_fuzz::input in) {
        if (auto v = crdt_fuzz::decode_checked<crdt::value>(in)) {
            check_decoded(*v);
        }
    });
}

std::vector<crdt_fuzz::bytes> crdt_fuzz::seeds() {
    std::vector<bytes> out;
    for (const auto& r : references()) {
        out.push_back(crdt::encode(r));
    }
    out.push_back(crdt::encode(crdt::value::object(
        {{"name", "Alice"}, {"age", 30}, {"tags", crdt::value::array({"a", nullptr, 1.5})}})));
    return out;
}
