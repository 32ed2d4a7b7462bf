// examples/types_tour.cpp -- a tour of crdt's replicated types, ending with
// the two seed scenarios they were designed for: the PARStore dictionary
// (lww_map) and the table DB's authoritative rows
// (or_map<row_key, lww_map<field, value>>). docs/types.md quotes it.
#include <crdt/g_counter.hpp>
#include <crdt/lww_map.hpp>
#include <crdt/lww_register.hpp>
#include <crdt/mv_register.hpp>
#include <crdt/or_map.hpp>
#include <crdt/or_set.hpp>
#include <crdt/pn_counter.hpp>
#include <crdt/value.hpp>

#include <cstdio>
#include <string>
#include <vector>

namespace {

int failures = 0;

void check(bool ok, const char* what) {
    std::printf("%s %s\n", ok ? "ok  " : "FAIL", what);
    failures += ok ? 0 : 1;
}

void counters_and_registers() {
    // Every mutator returns the delta it produced; ship it, merge it anywhere.
    crdt::pn_counter a(crdt::replica_id(1));
    crdt::pn_counter b(crdt::replica_id(2));
    const auto d1 = a.increment(5);
    const auto d2 = b.decrement(2);
    a.merge(d2);
    b.merge(d1);
    b.merge(d1); // duplicates are harmless
    check(a == b && a.value() == 3, "pn_counter: 5 - 2 on two replicas");

    crdt::mv_register<std::string> ra(crdt::replica_id(1));
    crdt::mv_register<std::string> rb(crdt::replica_id(2));
    const auto wa = ra.assign("blue");
    const auto wb = rb.assign("green");
    ra.merge(wb);
    rb.merge(wa);
    std::vector<std::string> both(ra.values().begin(), ra.values().end());
    check(both.size() == 2, "mv_register keeps both concurrent writes");
    rb.merge(ra.resolve([](auto values) { return *values.begin(); }));
    check(std::distance(rb.values().begin(), rb.values().end()) == 1, "resolve() collapses them");

    crdt::lww_register<std::string> la(crdt::replica_id(1));
    crdt::lww_register<std::string> lb(crdt::replica_id(2));
    la.merge(lb.assign("first"));
    lb.merge(la.assign("second")); // la saw "first": its Lamport time is later
    check(*lb.get() == "second", "lww_register: a write that saw another wins");
}

void sets() {
    crdt::or_set<std::string> a(crdt::replica_id(1));
    crdt::or_set<std::string> b(crdt::replica_id(2));
    b.merge(a.add("milk"));
    const auto removed = b.remove("milk"); // b saw a's add
    const auto readded = a.add("milk");    // concurrently
    a.merge(removed);
    b.merge(readded);
    check(a.contains("milk") && b.contains("milk"), "or_set: a concurrent add wins");
}

// PARStore: each device writes its own log; the dictionary is an lww_map.
// A log row is one delta (key, value, timestamp, device); reading another
// device's log incrementally is merging its new rows, in any order.
void parstore_dictionary() {
    using dictionary = crdt::lww_map<std::string, std::string>;
    dictionary laptop(crdt::replica_id(0x1a));
    dictionary phone(crdt::replica_id(0x2b));
    std::vector<dictionary> laptop_log;
    std::vector<dictionary> phone_log;

    laptop_log.push_back(laptop.set("theme", "dark"));
    laptop_log.push_back(laptop.set("font", "mono"));
    phone_log.push_back(phone.set("theme", "light"));
    phone_log.push_back(phone.erase("font"));

    // Sync: each reads the other's rows it has not read yet.
    for (const auto& row : phone_log) {
        laptop.merge(row);
    }
    for (const auto& row : laptop_log) {
        phone.merge(row);
    }
    check(laptop == phone, "PARStore: both devices hold the same dictionary");
    // Equal Lamport times (1 and 2 on each device): the larger device id wins.
    check(*laptop.get("theme") == "light" && !laptop.contains("font"),
          "PARStore: latest write per key wins, deterministically");

    // A device that was offline catches up from one version vector.
    dictionary tablet(crdt::replica_id(0x3c));
    tablet.merge(laptop.delta_since(tablet.version()));
    check(tablet == laptop, "PARStore: delta_since brings a new device up to date");

    // Once every device has seen the erase, its tombstone can go.
    const auto stable = laptop.version();
    for (auto* d : {&laptop, &phone, &tablet}) {
        d->purge_tombstones(stable);
    }
    laptop.merge(phone_log[1]); // a late copy of the erase changes nothing
    check(laptop.tombstones() == 0 && !laptop.contains("font"), "PARStore: purge is safe");
}

// The table DB's crdt_rows: rows add-wins, fields last-writer-wins.
void table_rows() {
    using row = crdt::lww_map<std::string, crdt::value>;
    using crdt_rows = crdt::or_map<std::string, row>; // key: "users/user_123"
    crdt_rows a(crdt::replica_id(1));
    crdt_rows b(crdt::replica_id(2));

    b.merge(a.update("users/user_123", [](row& r) {
        auto d = r.set("name", "Alice");
        d.merge(r.set("age", 30));
        return d;
    }));
    // b deletes the row while a concurrently records a visit.
    const auto del = b.erase("users/user_123");
    const auto visit = a.update("users/user_123", [](row& r) { return r.set("visits", 1); });
    a.merge(del);
    b.merge(visit);
    const auto user = a.get("users/user_123");
    check(a == b && user && !user->contains("name") && *user->get("visits") == crdt::value(1),
          "table: a delete keeps the fields the deleter never saw");

    // Values order totally, across kinds, so they can be index keys.
    check(crdt::value(nullptr) < crdt::value(false) && crdt::value(2) < crdt::value(2.5) &&
              crdt::value(2.5) < crdt::value("2"),
          "value: null < bool < number < string");
}

} // namespace

int main() {
    counters_and_registers();
    sets();
    parstore_dictionary();
    table_rows();
    std::printf("%s\n", failures == 0 ? "all checks passed" : "some checks FAILED");
    return failures == 0 ? 0 : 1;
}
