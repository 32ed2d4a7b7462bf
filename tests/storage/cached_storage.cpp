#include <crdt/storage/cached_storage.hpp>
#include <crdt/storage/file_storage.hpp>
#include <crdt/storage/log_storage.hpp>
#include <crdt/storage/memory_storage.hpp>
#include <crdt/testing/storage_conformance.hpp>

#include <catch2/catch.hpp>
#include <rapidcheck.h>
#include <rapidcheck/catch.h>

#include "helpers.hpp"
#include "support/seed.hpp"

#include <map>
#include <memory>
#include <random>

using namespace storage_test;
using crdt::storage_key;

namespace {

// A memory store that counts loads, to see what the cache saves.
class counting_storage {
public:
    explicit counting_storage(crdt::memory_storage s) : s_(std::move(s)) {}
    std::optional<crdt::storage_bytes> load(const storage_key& k) {
        ++loads;
        return s_.load(k);
    }
    void save(const storage_key& k, std::span<const std::byte> b) { s_.save(k, b); }
    void remove(const storage_key& k) { s_.remove(k); }
    std::vector<crdt::key_value> load_range(const storage_key& p) {
        ++range_loads;
        return s_.load_range(p);
    }
    void remove_range(const storage_key& p) { s_.remove_range(p); }
    void flush() { s_.flush(); }
    int loads = 0;
    int range_loads = 0;

private:
    crdt::memory_storage s_;
};

} // namespace

TEST_CASE("cached_storage passes the conformance suite over every adapter") {
    SECTION("memory") {
        crdt::memory_storage mem;
        auto open = [&] {
            return std::make_unique<crdt::cached_storage<crdt::memory_storage>>(
                crdt::cached_storage<crdt::memory_storage>::options{4096}, mem.share());
        };
        REQUIRE_NOTHROW(crdt::testing::check_storage_laws(open));
        REQUIRE_NOTHROW(crdt::testing::check_storage_threads(open));
        REQUIRE_NOTHROW(crdt::testing::check_cas_race_threads(open));
    }
    SECTION("log") {
        temp_dir dir;
        using C = crdt::cached_storage<crdt::log_storage>;
        auto open = [&] {
            return std::make_unique<C>(C::options{1 << 16}, dir.path(),
                                       crdt::log_storage::options{crdt::durability::none});
        };
        REQUIRE_NOTHROW(crdt::testing::check_storage_laws(open));
    }
    SECTION("file (no batches, no append log)") {
        temp_dir dir;
        using C = crdt::cached_storage<crdt::file_storage>;
        auto open = [&] {
            return std::make_unique<C>(C::options{1 << 16}, dir.path(),
                                       crdt::file_storage::options{crdt::durability::none});
        };
        REQUIRE_NOTHROW(crdt::testing::check_storage_laws(open));
    }
}

TEST_CASE("cached_storage loads lazily and bounds the cache in bytes") {
    crdt::memory_storage mem;
    for (int i = 0; i < 100; ++i) {
        mem.save(storage_key{"doc", std::to_string(i)}, bytes(std::string(100, 'x')));
    }
    using C = crdt::cached_storage<counting_storage>;
    C c(C::options{2000}, mem.share());
    CHECK(c.inner().range_loads == 1); // the index, read once (no list_keys)
    CHECK(c.stats().keys == 100);
    CHECK(c.inner().loads == 0); // nothing loaded yet
    CHECK_FALSE(c.load(storage_key{"doc", "nope"}));
    CHECK(c.inner().loads == 0); // absent keys cost no I/O
    CHECK(c.load(storage_key{"doc", "1"}) == bytes(std::string(100, 'x')));
    CHECK(c.load(storage_key{"doc", "1"}));
    CHECK(c.inner().loads == 1);
    CHECK(c.stats().hits == 1);
    for (int i = 0; i < 100; ++i) {
        (void)c.load(storage_key{"doc", std::to_string(i)});
    }
    const auto st = c.stats();
    CHECK(st.cached_bytes <= 2000);
    CHECK(st.cached_values > 0);
    CHECK(st.cached_values < 100);
    // The most recent values are the cached ones.
    const int before = c.inner().loads;
    (void)c.load(storage_key{"doc", "99"});
    CHECK(c.inner().loads == before);
    (void)c.load(storage_key{"doc", "0"});
    CHECK(c.inner().loads == before + 1);
    // A value larger than the cache is served but not cached.
    c.save(storage_key{"big"}, bytes(std::string(5000, 'b')));
    CHECK(c.stats().cached_bytes <= 2000);
    CHECK(c.load(storage_key{"big"})->size() == 5000);
}

TEST_CASE("cached_storage agrees with a model under random operations") {
    const auto seed = crdt_test::seed(61);
    CAPTURE(seed);
    std::mt19937_64 rng(seed);
    crdt::memory_storage mem;
    using C = crdt::cached_storage<crdt::memory_storage>;
    C c(C::options{1500}, mem.share());
    std::map<storage_key, crdt::storage_bytes> model;
    for (int step = 0; step < 3000; ++step) {
        const storage_key k{"d" + std::to_string(rng() % 3), std::to_string(rng() % 20)};
        switch (rng() % 6) {
        case 0:
        case 1: {
            const auto v = bytes(std::string(rng() % 300, static_cast<char>('a' + rng() % 26)));
            c.save(k, v);
            model[k] = v;
            break;
        }
        case 2:
            c.remove(k);
            model.erase(k);
            break;
        case 3: {
            const auto got = c.load(k);
            const auto it = model.find(k);
            REQUIRE(got.has_value() == (it != model.end()));
            if (got) {
                REQUIRE(*got == it->second);
            }
            break;
        }
        case 4: {
            const storage_key p{k[0]};
            std::vector<crdt::key_value> want;
            for (const auto& [mk, mv] : model) {
                if (mk.starts_with(p)) {
                    want.push_back({mk, mv});
                }
            }
            REQUIRE(c.load_range(p) == want);
            break;
        }
        default:
            if (rng() % 10 == 0) {
                c.remove_range(storage_key{k[0]});
                for (auto it = model.begin(); it != model.end();) {
                    it = it->first.starts_with(storage_key{k[0]}) ? model.erase(it) : std::next(it);
                }
            }
        }
        REQUIRE(c.stats().cached_bytes <= 1500);
    }
    // The wrapped store holds exactly the model.
    REQUIRE(mem.load_range({}).size() == model.size());
}

TEST_CASE("cached_storage refresh sees writes made behind its back") {
    crdt::memory_storage mem;
    using C = crdt::cached_storage<crdt::memory_storage>;
    C c(C::options{1 << 20}, mem.share());
    mem.save(storage_key{"x"}, bytes("1"));
    CHECK_FALSE(c.load(storage_key{"x"}));
    c.refresh();
    CHECK(c.load(storage_key{"x"}) == bytes("1"));
    mem.remove(storage_key{"x"});
    mem.save(storage_key{"y"}, bytes("2"));
    c.refresh();
    CHECK_FALSE(c.load(storage_key{"x"}));
    CHECK(c.list_keys({}) == std::vector<storage_key>{storage_key{"y"}});
}
