// fuzz/replica_ids.cpp -- decoders of replica identifiers: crdt::decode of
// replica_id, replica_id128 and agent_id, and the text parsers
// replica_id::parse, replica_id128::parse and agent_id's constructor.
//
// Input: one selector byte, then the encoding (or the text). Oracles, beyond
// the kit's (fuzz/support/harness.hpp):
//   * a decoded id survives to_string() / parse(); an agent name is valid
//     UTF-8 of at most agent_id::max_length bytes;
//   * parse accepts exactly 16 (32) hex digits, either case, and then
//     to_string() is the text lowercased; otherwise crdt::error(invalid_value);
//   * agent_id(text) accepts exactly valid UTF-8 of at most 255 bytes.
#include "support/harness.hpp"
#include "support/reference.hpp"

#include <crdt/core/replica_id.hpp>

#include <cctype>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace {

using codecs = crdt_fuzz::type_list<crdt::replica_id, crdt::replica_id128, crdt::agent_id>;

enum mode : std::size_t {
    parse_replica_id = codecs::size,
    parse_replica_id128,
    make_agent_id,
    mode_count,
};

void check_decoded(const crdt::replica_id& id) {
    if (crdt::replica_id::parse(id.to_string()) != id) {
        crdt_fuzz::fail("replica_id does not survive to_string/parse");
    }
}

void check_decoded(const crdt::replica_id128& id) {
    if (crdt::replica_id128::parse(id.to_string()) != id) {
        crdt_fuzz::fail("replica_id128 does not survive to_string/parse");
    }
}

void check_decoded(const crdt::agent_id& id) {
    if (id.name().size() > crdt::agent_id::max_length ||
        crdt_fuzz::reference::first_invalid_utf8(id.name())) {
        crdt_fuzz::fail("decoded agent_id name is too long or not UTF-8");
    }
    if (crdt::agent_id(id.name()) != id) {
        crdt_fuzz::fail("agent_id does not survive name()/agent_id(name)");
    }
}

template <class Id>
void check_parse(std::string_view text, std::size_t digits) {
    bool hex = text.size() == digits;
    for (const char c : text) {
        hex = hex && std::isxdigit(static_cast<unsigned char>(c)) != 0;
    }
    std::optional<Id> id;
    try {
        id = Id::parse(text);
    } catch (const crdt::error& e) {
        if (e.cause() != crdt::errc::invalid_value) {
            crdt_fuzz::fail(std::string("parse threw an unexpected cause: ") + e.what());
        }
        if (hex) {
            crdt_fuzz::fail(std::string("parse rejected valid hex: ") + e.what());
        }
        return;
    }
    if (!hex) {
        crdt_fuzz::fail("parse accepted text that is not " + std::to_string(digits) +
                        " hex digits");
    }
    std::string lower(text);
    for (char& c : lower) {
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    if (id->to_string() != lower) {
        crdt_fuzz::fail("to_string(parse(text)) is not the text lowercased");
    }
}

void check_agent_name(std::string_view text) {
    const bool valid = text.size() <= crdt::agent_id::max_length &&
                       !crdt_fuzz::reference::first_invalid_utf8(text);
    try {
        const crdt::agent_id id(text);
        if (!valid) {
            crdt_fuzz::fail("agent_id accepted an invalid name");
        }
        if (id.name() != text) {
            crdt_fuzz::fail("agent_id changed the name");
        }
    } catch (const crdt::error& e) {
        if (valid) {
            crdt_fuzz::fail(std::string("agent_id rejected a valid name: ") + e.what());
        }
        if (e.cause() != crdt::errc::invalid_value && e.cause() != crdt::errc::invalid_utf8) {
            crdt_fuzz::fail(std::string("agent_id threw an unexpected cause: ") + e.what());
        }
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    return crdt_fuzz::run(data, size, [](crdt_fuzz::input in) {
        if (in.empty()) {
            return;
        }
        const crdt_fuzz::input rest = in.subspan(1);
        const std::string_view text(reinterpret_cast<const char*>(rest.data()), rest.size());
        const std::size_t pick = std::to_integer<std::size_t>(in[0]) % mode_count;
        switch (pick) {
        case parse_replica_id: check_parse<crdt::replica_id>(text, 16); break;
        case parse_replica_id128: check_parse<crdt::replica_id128>(text, 32); break;
        case make_agent_id: check_agent_name(text); break;
        default:
            crdt_fuzz::visit_type<codecs>(pick, [&]<class T>() {
                if (auto v = crdt_fuzz::decode_checked<T>(rest)) {
                    check_decoded(*v);
                }
            });
        }
    });
}

std::vector<crdt_fuzz::bytes> crdt_fuzz::seeds() {
    std::vector<bytes> out;
    auto add = [&](const auto& v) { out.push_back(seed_for<codecs>(v)); };
    add(crdt::replica_id());
    add(crdt::replica_id(0x0123456789abcdefull));
    add(crdt::replica_id(~0ull));
    add(crdt::replica_id128());
    add(crdt::replica_id128(0x0123456789abcdefull, 0xfedcba9876543210ull));
    add(crdt::agent_id());
    add(crdt::agent_id("alice"));
    add(crdt::agent_id("laptop-2 \xc3\xa9\xe2\x82\xac"));
    add(crdt::agent_id(std::string(255, 'z')));
    auto text = [&](std::size_t selector, std::string_view s) {
        bytes b{static_cast<std::byte>(selector)};
        for (const char c : s) {
            b.push_back(static_cast<std::byte>(c));
        }
        out.push_back(std::move(b));
    };
    text(parse_replica_id, "0123456789abcdef");
    text(parse_replica_id, "0123456789ABCDEF");
    text(parse_replica_id128, "0123456789abcdeffedcba9876543210");
    text(make_agent_id, "bob");
    text(make_agent_id, "\xf0\x9f\x98\x80 agent");
    return out;
}
