#include <crdt/storage/concepts.hpp>
#include <crdt/storage/durability.hpp>

#include <catch2/catch.hpp>

#include "helpers.hpp"

#include <map>

using crdt::storage_key;

namespace {

// The smallest user adapter: a std::map.
class map_storage {
public:
    std::optional<crdt::storage_bytes> load(const storage_key& k) const {
        const auto it = m_.find(k);
        return it == m_.end() ? std::nullopt : std::optional(it->second);
    }
    void save(const storage_key& k, std::span<const std::byte> b) {
        m_[k] = crdt::storage_bytes(b.begin(), b.end());
    }
    void remove(const storage_key& k) { m_.erase(k); }
    std::vector<crdt::key_value> load_range(const storage_key& p) const {
        std::vector<crdt::key_value> out;
        for (auto it = m_.lower_bound(p); it != m_.end() && it->first.starts_with(p); ++it) {
            out.push_back({it->first, it->second});
        }
        return out;
    }
    void remove_range(const storage_key& p) {
        for (auto it = m_.lower_bound(p); it != m_.end() && it->first.starts_with(p);) {
            it = m_.erase(it);
        }
    }
    void flush() {}

private:
    std::map<storage_key, crdt::storage_bytes> m_;
};

struct no_flush {
    std::optional<crdt::storage_bytes> load(const storage_key&);
    void save(const storage_key&, std::span<const std::byte>);
    void remove(const storage_key&);
    std::vector<crdt::key_value> load_range(const storage_key&);
    void remove_range(const storage_key&);
};

} // namespace

TEST_CASE("storage concepts recognize adapters and their capabilities") {
    STATIC_REQUIRE(crdt::storage<map_storage>);
    STATIC_REQUIRE(crdt::check_storage<map_storage>());
    STATIC_REQUIRE_FALSE(crdt::batch_storage<map_storage>);
    STATIC_REQUIRE_FALSE(crdt::append_log_storage<map_storage>);
    STATIC_REQUIRE_FALSE(crdt::cas_storage<map_storage>);
    STATIC_REQUIRE_FALSE(crdt::watchable_storage<map_storage>);
    STATIC_REQUIRE_FALSE(crdt::key_listing_storage<map_storage>);
    STATIC_REQUIRE_FALSE(crdt::storage<no_flush>);
    STATIC_REQUIRE(crdt::storage_loads<no_flush>);
    STATIC_REQUIRE_FALSE(crdt::storage_flushes<no_flush>);
    STATIC_REQUIRE_FALSE(crdt::storage<int>);
}

TEST_CASE("write_batch keeps operations in order") {
    crdt::write_batch b;
    CHECK(b.empty());
    b.save(storage_key{"a"}, storage_test::bytes("1")).remove(storage_key{"b"});
    REQUIRE(b.size() == 2);
    CHECK(b.operations()[0].value == storage_test::bytes("1"));
    CHECK_FALSE(b.operations()[1].value.has_value());
    CHECK(b.operations()[1].key == storage_key{"b"});
    b.clear();
    CHECK(b.empty());
}

TEST_CASE("durability levels name what a returned write survives") {
    STATIC_REQUIRE(crdt::syncs_each_write(crdt::durability::full));
    STATIC_REQUIRE_FALSE(crdt::syncs_each_write(crdt::durability::normal));
    STATIC_REQUIRE(crdt::syncs_on_flush(crdt::durability::normal));
    STATIC_REQUIRE_FALSE(crdt::syncs_on_flush(crdt::durability::none));
    CHECK(crdt::to_string(crdt::durability::full) == "full");
    CHECK(crdt::to_string(crdt::durability::none) == "none");
    CHECK(crdt::durability{} == crdt::durability::full);
}
