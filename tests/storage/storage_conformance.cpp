// The conformance suite must catch broken adapters, not only pass good ones.
#include <crdt/storage/memory_storage.hpp>
#include <crdt/testing/storage_conformance.hpp>

#include <catch2/catch.hpp>

#include "helpers.hpp"

#include <memory>
#include <string>

using crdt::storage_key;
using crdt::testing::law_violation;

namespace {

enum class flaw {
    none,
    string_prefix,
    unsorted,
    throws_on_missing_remove,
    drops_empty,
    stale_cas,
    lossy_reopen
};

// A memory store with one deliberate flaw.
class flawed {
public:
    flawed(crdt::memory_storage s, flaw f) : s_(std::move(s)), f_(f) {}
    std::optional<crdt::storage_bytes> load(const storage_key& k) const {
        auto v = s_.load(k);
        if (f_ == flaw::drops_empty && v && v->empty()) {
            return std::nullopt;
        }
        return v;
    }
    void save(const storage_key& k, std::span<const std::byte> b) { s_.save(k, b); }
    void remove(const storage_key& k) {
        if (f_ == flaw::throws_on_missing_remove && !s_.load(k)) {
            throw std::runtime_error("no such key");
        }
        s_.remove(k);
    }
    std::vector<crdt::key_value> load_range(const storage_key& p) const {
        if (f_ == flaw::string_prefix && p.size() == 1) {
            std::vector<crdt::key_value> out;
            for (auto& kv : s_.load_range({})) {
                if (!kv.key.empty() && kv.key[0].starts_with(p[0])) {
                    out.push_back(kv);
                }
            }
            return out;
        }
        auto out = s_.load_range(p);
        if (f_ == flaw::unsorted) {
            std::reverse(out.begin(), out.end());
        }
        return out;
    }
    void remove_range(const storage_key& p) { s_.remove_range(p); }
    void flush() {
        if (f_ != flaw::lossy_reopen) {
            s_.flush();
        }
    }
    std::optional<crdt::versioned_value> load_versioned(const storage_key& k) const {
        return s_.load_versioned(k);
    }
    std::optional<std::uint64_t> cas(const storage_key& k, std::uint64_t expected,
                                     std::span<const std::byte> b) {
        if (f_ == flaw::stale_cas) {
            s_.save(k, b);
            return s_.load_versioned(k)->version;
        }
        return s_.cas(k, expected, b);
    }
    crdt::memory_storage& inner() { return s_; }

private:
    crdt::memory_storage s_;
    flaw f_;
};

void check_flaw(flaw f, const std::string& law_part) {
    crdt::memory_storage mem({crdt::durability::normal});
    auto open = [&] {
        if (f == flaw::lossy_reopen) {
            mem.simulate_crash(); // "reopen" = restart after power loss
        }
        return std::make_unique<flawed>(mem.share(), f);
    };
    try {
        crdt::testing::check_storage_laws(open);
    } catch (const law_violation& e) {
        CHECK_THAT(e.what(), Catch::Matchers::Contains(law_part));
        return;
    } catch (const std::exception& e) {
        if (f == flaw::throws_on_missing_remove) {
            SUCCEED("the adapter's own exception surfaced");
            return;
        }
        FAIL(e.what());
    }
    FAIL("the suite missed the flaw");
}

} // namespace

TEST_CASE("the conformance suite passes a correct adapter") {
    crdt::memory_storage mem({crdt::durability::normal});
    auto open = [&] { return std::make_unique<flawed>(mem.share(), flaw::none); };
    REQUIRE_NOTHROW(crdt::testing::check_storage_laws(open));
}

TEST_CASE("the conformance suite catches broken adapters") {
    check_flaw(flaw::string_prefix, "L4");
    check_flaw(flaw::unsorted, "L4");
    check_flaw(flaw::throws_on_missing_remove, "L2");
    check_flaw(flaw::drops_empty, "L3");
    check_flaw(flaw::stale_cas, "cas");
    check_flaw(flaw::lossy_reopen, "L6");
}

TEST_CASE("the conformance suite's process checks catch a CAS without mutual exclusion") {
    // memory_storage is per process: every child has its own copy, so every
    // child wins every round -- exactly what a broken shared CAS looks like.
    auto open = [] { return std::make_unique<crdt::memory_storage>(); };
    CHECK_THROWS_AS(crdt::testing::check_cas_race_processes(open, 3, 2), law_violation);
}
