// The README demo: two replicas, their version vectors, and an encoding
// round trip. (A richer demo with replicated types, storage and sync replaces
// this one as those parts land.)
#include <crdt/codec/codec.hpp>
#include <crdt/core/causal_context.hpp>
#include <crdt/core/version_vector.hpp>

#include <cstdio>
#include <string>

namespace {

const crdt::replica_id alice(0xa11ce), bob(0xb0b);

std::string show(const crdt::version_vector& v) {
    std::string s = "{";
    for (const auto& e : v) {
        if (s.size() > 1) {
            s += ", ";
        }
        s += e.replica == alice ? "alice" : (e.replica == bob ? "bob" : e.replica.to_string());
        s += ":" + std::to_string(e.counter);
    }
    return s + "}";
}

const char* show(crdt::causal_order o) {
    switch (o) {
    case crdt::causal_order::equal: return "equal";
    case crdt::causal_order::before: return "before";
    case crdt::causal_order::after: return "after";
    case crdt::causal_order::concurrent: return "concurrent";
    }
    return "?";
}

} // namespace

int main() {
    crdt::causal_context a, b; // what each replica has seen

    // Each replica makes its own operations: dots (replica, 1), (replica, 2), ...
    for (int i = 0; i < 3; ++i) {
        a.next_dot(alice);
    }
    b.next_dot(bob);
    std::printf("alice %s  bob %s  -> %s\n", show(a.version()).c_str(), show(b.version()).c_str(),
                show(a.version().compare(b.version())));

    // Bob hears about alice's first two operations only: a gap-free prefix.
    b.insert({alice, 1});
    b.insert({alice, 2});
    for (const auto& r : a.version().missing_from(b.version())) {
        std::printf("bob still lacks alice's ops %llu..%llu\n",
                    static_cast<unsigned long long>(r.first),
                    static_cast<unsigned long long>(r.last));
    }

    // Alice's state goes over the wire as bytes, and bob merges it.
    const auto bytes = crdt::encode(a);
    std::printf("alice's context encodes to %zu bytes:", bytes.size());
    for (std::byte x : bytes) {
        std::printf(" %02x", static_cast<unsigned>(x));
    }
    std::printf("\n");
    b.merge(crdt::decode<crdt::causal_context>(bytes, "alice's context"));
    a.merge(b);
    std::printf("after exchange: alice %s  bob %s  -> %s\n", show(a.version()).c_str(),
                show(b.version()).c_str(), show(a.version().compare(b.version())));

    // Bytes from outside are checked: a truncated message is a crdt::error.
    try {
        (void)crdt::decode<crdt::causal_context>(std::span(bytes).first(bytes.size() - 1),
                                                 "truncated message");
    } catch (const crdt::error& e) {
        std::printf("truncated input rejected: %s\n", e.what());
    }
    return a == b ? 0 : 1;
}
