// The README quickstart: version vectors, causal contexts and the codec.
#include <crdt/crdt.hpp>

int main() {
    crdt::replica_id me = crdt::replica_id::random(), peer = crdt::replica_id::random();

    crdt::causal_context mine, theirs;
    crdt::dot op = mine.next_dot(me); // (me, 1): identifies my first operation
    theirs.next_dot(peer);

    // What does the peer lack? Send exactly that, as bytes.
    auto lacking = mine.version().missing_from(theirs.version()); // [(me, 1..1)]
    std::vector<std::byte> wire = crdt::encode(mine);

    // The peer decodes (untrusted bytes: a bad message throws crdt::error) and joins.
    theirs.merge(crdt::decode<crdt::causal_context>(wire, "message from peer"));
    bool ok = theirs.contains(op) && lacking.size() == 1 &&
              mine.version().compare(theirs.version()) == crdt::causal_order::before;
    return ok ? 0 : 1;
}
