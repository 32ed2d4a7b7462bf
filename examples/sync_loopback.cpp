// examples/sync_loopback.cpp -- two replicas of a map kept in sync by
// crdt::store::replica over the in-process loopback hub, which loses,
// duplicates and reorders messages on purpose. Each replica saves every
// change in its own storage before announcing it; one is closed and opened
// again from its storage half-way through. (docs/sync.md)
#include <crdt/lww_map.hpp>
#include <crdt/storage/memory_storage.hpp>
#include <crdt/store/replica.hpp>
#include <crdt/transport/loopback.hpp>

#include <cstdio>
#include <optional>
#include <string>

using map = crdt::lww_map<std::string, std::string>;
using replica = crdt::store::replica<map, crdt::memory_storage, crdt::loopback_transport>;

int main() {
    // A network that drops 20% of messages, duplicates 10% and reorders some.
    crdt::loopback_hub net(
        42, crdt::loopback_faults{
                .drop = 0.2, .duplicate = 0.1, .reorder = 0.2, .min_delay = 0, .max_delay = 2});
    crdt::memory_storage disk_a, disk_b;
    crdt::loopback_transport link_a(net, "a");
    std::optional<crdt::loopback_transport> link_b(std::in_place, net, "b");
    replica a(disk_a, link_a, "settings", crdt::replica_id{1});
    std::optional<replica> b(std::in_place, disk_b, *link_b, "settings", crdt::replica_id{2});

    a.change([](map& m) { return m.set("theme", "dark"); });
    b->change([](map& m) { return m.set("font", "mono"); });

    // Drive the protocol: poll delivers, tick retransmits what was lost.
    auto run = [&](int rounds) {
        for (int i = 0; i < rounds; ++i) {
            a.poll();
            b->poll();
            a.tick();
            b->tick();
            net.advance();
        }
    };
    run(30);

    // b closes (its process ends) and opens again from its storage.
    b.reset();
    link_b.reset();
    a.change([](map& m) { return m.set("theme", "light"); });
    link_b.emplace(net, "b");
    b.emplace(disk_b, *link_b, "settings", crdt::replica_id{2});
    run(60);

    const map seen_by_b = b->state(); // a copy: state() is safe from any thread
    const bool same = a.state() == seen_by_b;
    for (const auto& [key, value] : seen_by_b.entries()) {
        std::printf("%s = %s\n", key.c_str(), value.c_str());
    }
    std::printf("%s\n", same ? "a and b agree" : "a and b differ");
    return same && seen_by_b.size() == 2 && *seen_by_b.get("theme") == "light" ? 0 : 1;
}
