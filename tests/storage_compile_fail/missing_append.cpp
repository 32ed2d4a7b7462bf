// Requiring the append log of an adapter without it must name the members.
#include <crdt/storage/concepts.hpp>

struct plain {
    std::optional<crdt::storage_bytes> load(const crdt::storage_key&);
    void save(const crdt::storage_key&, std::span<const std::byte>);
    void remove(const crdt::storage_key&);
    std::vector<crdt::key_value> load_range(const crdt::storage_key&);
    void remove_range(const crdt::storage_key&);
    void flush();
    std::uint64_t append(std::span<const std::byte>);
};

static_assert(crdt::check_append_log_storage<plain>());

int main() {
    return 0;
}
