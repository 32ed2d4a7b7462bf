// The randomized network simulation of issue "sync": 3 to 8 replicas over a
// faulty loopback hub (drops, duplicates, reordering, delays, partitions),
// random edits, random crashes and restarts from storage. After healing,
// every replica must converge to the merge of every change that returned
// (nothing acknowledged is lost). Seeded and reproducible; the long version
// is tagged [.][soak].
#include <crdt/g_counter.hpp>
#include <crdt/lww_map.hpp>
#include <crdt/lww_register.hpp>
#include <crdt/mv_register.hpp>
#include <crdt/or_map.hpp>
#include <crdt/or_set.hpp>
#include <crdt/pn_counter.hpp>
#include <crdt/storage/memory_storage.hpp>
#include <crdt/store/replica.hpp>
#include <crdt/transport/loopback.hpp>

#include <catch2/catch.hpp>

#include <support/seed.hpp>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

namespace {

struct sim_policy : crdt::replica_defaults {
    static constexpr std::chrono::milliseconds tick_interval{std::chrono::hours(24)};
    static constexpr std::uint64_t compact_min_bytes = 2048;
    struct sync_policy : crdt::sync_defaults {
        static constexpr std::size_t max_part_bytes = 512; // exercise split deltas
        static constexpr std::uint64_t retransmit_ticks = 3;
    };
};

// A replicated value under test: how to make a random change.
struct map_model {
    using type = crdt::lww_map<std::string, std::int64_t>;
    static type change(type& m, std::mt19937_64& rng) {
        const std::string key = "k" + std::to_string(rng() % 12);
        if (rng() % 5 == 0) {
            return m.erase(key);
        }
        return m.set(key, static_cast<std::int64_t>(rng() % 1000));
    }
};

struct set_model {
    using type = crdt::or_set<int>;
    static type change(type& s, std::mt19937_64& rng) {
        const int e = static_cast<int>(rng() % 16);
        if (rng() % 3 == 0 && s.contains(e)) {
            return s.remove(e);
        }
        return s.add(e);
    }
};

template <class Model>
struct node {
    using type = typename Model::type;
    using replica_t =
        crdt::store::replica<type, crdt::memory_storage, crdt::loopback_transport, sim_policy>;
    std::string name;
    crdt::replica_id id;
    crdt::memory_storage storage;
    std::unique_ptr<crdt::loopback_transport> transport;
    std::unique_ptr<replica_t> replica;

    void start(crdt::loopback_hub& hub) {
        transport = std::make_unique<crdt::loopback_transport>(hub, name);
        replica = std::make_unique<replica_t>(storage, *transport, "doc", id);
        replica->on_error([](const crdt::error& e) {
            // Only replays are expected: the hub duplicates messages.
            REQUIRE(e.cause() == crdt::errc::replayed);
        });
    }
    void crash() {
        replica.reset();
        transport.reset();
        storage.simulate_crash();
    }
};

template <class Model>
void simulate(std::uint64_t seed, int steps) {
    CAPTURE(seed);
    std::mt19937_64 rng(seed);
    const int n = 3 + static_cast<int>(rng() % 6);
    CAPTURE(n);
    crdt::loopback_hub hub(
        seed, crdt::loopback_faults{
                  .drop = 0.1, .duplicate = 0.05, .reorder = 0.1, .min_delay = 0, .max_delay = 3});
    std::vector<node<Model>> nodes(static_cast<std::size_t>(n));
    for (int i = 0; i < n; ++i) {
        auto& nd = nodes[static_cast<std::size_t>(i)];
        nd.name = "r" + std::to_string(i);
        nd.id = crdt::replica_id{static_cast<std::uint64_t>(i + 1)};
        nd.storage = crdt::memory_storage(crdt::memory_storage::options{
            i % 2 == 0 ? crdt::durability::full : crdt::durability::normal});
        nd.start(hub);
    }
    typename Model::type expected; // the merge of every change that returned
    bool partitioned = false;
    for (int step = 0; step < steps; ++step) {
        auto& nd = nodes[rng() % nodes.size()];
        const auto action = rng() % 100;
        if (!nd.replica) {
            if (action < 30) {
                nd.start(hub);
            }
        } else if (action < 35) {
            expected.merge(
                nd.replica->change([&](typename Model::type& v) { return Model::change(v, rng); }));
        } else if (action < 70) {
            nd.replica->poll();
        } else if (action < 85) {
            hub.advance();
        } else if (action < 93) {
            nd.replica->tick();
        } else if (action < 96) {
            nd.crash();
        } else if (action < 98 && !partitioned) {
            std::vector<std::string> a, b;
            for (const auto& other : nodes) {
                (rng() % 2 == 0 ? a : b).push_back(other.name);
            }
            hub.partition(a, b, rng() % 2 == 0);
            partitioned = true;
        } else if (partitioned) {
            hub.heal();
            partitioned = false;
        }
    }
    // Heal everything and let the protocol finish without faults.
    hub.heal();
    hub.set_faults({});
    for (auto& nd : nodes) {
        if (!nd.replica) {
            nd.start(hub);
        }
    }
    bool done = false;
    for (int round = 0; round < 400 && !done; ++round) {
        for (auto& nd : nodes) {
            nd.replica->poll();
        }
        hub.advance();
        if (round % 3 == 0) {
            for (auto& nd : nodes) {
                nd.replica->tick();
            }
        }
        done = hub.pending() == 0;
        for (auto& nd : nodes) {
            done =
                done && nd.replica->settled() && nd.replica->state() == nodes[0].replica->state();
        }
    }
    if (!done) {
        for (auto& nd : nodes) {
            const auto st = nd.replica->state();
            std::string vv;
            for (const auto& e : st.version()) {
                vv += std::to_string(e.replica.value()) + ":" + std::to_string(e.counter) + " ";
            }
            if constexpr (std::is_same_v<Model, set_model>) {
                std::string dump;
                const auto& cs = crdt::detail::dot_store::access::state(st);
                for (const auto& [x, dots] : cs.store.map()) {
                    dump += std::to_string(x) + "{";
                    dots.for_each_dot([&](const auto& d) {
                        dump += std::to_string(d.replica.value()) + "." +
                                std::to_string(d.counter) + " ";
                    });
                    dump += "} ";
                }
                dump += " cloud=" + std::to_string(cs.ctx.cloud().size());
                std::fprintf(stderr, "%s %s\n", nd.name.c_str(), dump.c_str());
            }
            UNSCOPED_INFO(nd.name << " settled=" << nd.replica->settled()
                                  << " encoded=" << crdt::encode(st).size()
                                  << " eq0=" << (st == nodes[0].replica->state()) << " vv=" << vv
                                  << " waiting=" << nd.replica->stats().chunks_waiting);
        }
    }
    REQUIRE(done);
    for (auto& nd : nodes) {
        CAPTURE(nd.name);
        // Equal as values: every acknowledged change is there, and nothing else.
        CHECK(nd.replica->state() == expected);
    }
    // Everything converged is durable: a crash of all gives the same value back.
    for (auto& nd : nodes) {
        nd.crash();
        nd.start(hub);
        CHECK(nd.replica->state() == expected);
    }
}

} // namespace

TEST_CASE("simulation: lww_map replicas converge through faults, crashes and restarts") {
    for (std::uint64_t i = 0; i < 4; ++i) {
        simulate<map_model>(crdt_test::seed(100 + i), 600);
    }
}

TEST_CASE("simulation: or_set replicas converge through faults, crashes and restarts") {
    for (std::uint64_t i = 0; i < 4; ++i) {
        simulate<set_model>(crdt_test::seed(200 + i), 600);
    }
}

TEST_CASE("simulation: long run", "[.][soak]") {
    for (std::uint64_t i = 0; i < 200; ++i) {
        simulate<map_model>(crdt_test::seed(1000 + i), 5000);
        simulate<set_model>(crdt_test::seed(5000 + i), 5000);
    }
}

TEST_CASE("simulation: one run from CRDT_SIM_SEED / CRDT_SIM_STEPS / CRDT_SIM_MODEL",
          "[.][sim-one]") {
    const char* seed = std::getenv("CRDT_SIM_SEED");
    const char* steps = std::getenv("CRDT_SIM_STEPS");
    const char* model = std::getenv("CRDT_SIM_MODEL");
    REQUIRE(seed != nullptr);
    const auto s = std::stoull(seed);
    const int n = steps != nullptr ? std::stoi(steps) : 5000;
    if (model != nullptr && std::string(model) == "set") {
        simulate<set_model>(s, n);
    } else {
        simulate<map_model>(s, n);
    }
}

namespace {

struct counter_model {
    using type = crdt::pn_counter;
    static type change(type& c, std::mt19937_64& rng) {
        return rng() % 3 == 0 ? c.decrement(rng() % 5 + 1) : c.increment(rng() % 5 + 1);
    }
};

struct gcounter_model {
    using type = crdt::g_counter;
    static type change(type& c, std::mt19937_64& rng) { return c.increment(rng() % 5 + 1); }
};

struct lww_register_model {
    using type = crdt::lww_register<int>;
    static type change(type& r, std::mt19937_64& rng) {
        return rng() % 6 == 0 ? r.reset() : r.assign(static_cast<int>(rng() % 100));
    }
};

struct mv_register_model {
    using type = crdt::mv_register<int>;
    static type change(type& r, std::mt19937_64& rng) {
        return rng() % 6 == 0 ? r.reset() : r.assign(static_cast<int>(rng() % 100));
    }
};

struct or_map_model {
    using type = crdt::or_map<std::string, crdt::or_set<int>>;
    static type change(type& m, std::mt19937_64& rng) {
        const std::string key = "k" + std::to_string(rng() % 4);
        if (rng() % 5 == 0) {
            return m.erase(key);
        }
        const int e = static_cast<int>(rng() % 6);
        const bool add = rng() % 3 != 0;
        return m.update(key, [&](crdt::or_set<int>& s) { return add ? s.add(e) : s.remove(e); });
    }
};

} // namespace

TEMPLATE_TEST_CASE("simulation: every replicated type converges", "", counter_model, gcounter_model,
                   lww_register_model, mv_register_model, or_map_model) {
    static_assert(crdt::syncable<typename TestType::type>);
    for (std::uint64_t i = 0; i < 2; ++i) {
        simulate<TestType>(crdt_test::seed(300 + i), 400);
    }
}
