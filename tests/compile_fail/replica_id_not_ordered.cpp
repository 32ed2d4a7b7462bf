// A version vector over a replica id type that is not a replica_identifier
// (here: no ordering, no hash, no codec) must be rejected by the concept.
#include <crdt/core/version_vector.hpp>

struct bad_id {
    int v;
};

int main() {
    crdt::basic_version_vector<bad_id> v;
    return static_cast<int>(v.size());
}
