// An adapter whose load_range returns the wrong type must name load_range.
#include <crdt/storage/concepts.hpp>

struct wrong_range {
    std::optional<crdt::storage_bytes> load(const crdt::storage_key&);
    void save(const crdt::storage_key&, std::span<const std::byte>);
    void remove(const crdt::storage_key&);
    int load_range(const crdt::storage_key&);
    void remove_range(const crdt::storage_key&);
    void flush();
};

static_assert(crdt::check_storage<wrong_range>());

int main() {
    return 0;
}
