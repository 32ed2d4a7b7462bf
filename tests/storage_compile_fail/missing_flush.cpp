// Wrapping an adapter without flush() in cached_storage must name flush().
#include <crdt/storage/cached_storage.hpp>

struct no_flush {
    std::optional<crdt::storage_bytes> load(const crdt::storage_key&);
    void save(const crdt::storage_key&, std::span<const std::byte>);
    void remove(const crdt::storage_key&);
    std::vector<crdt::key_value> load_range(const crdt::storage_key&);
    void remove_range(const crdt::storage_key&);
};

int main() {
    crdt::cached_storage<no_flush> s({});
    return static_cast<int>(s.list_keys({}).size());
}
