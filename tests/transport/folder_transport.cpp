// Tests of crdt/transport/folder_transport.hpp: peers and messages through
// a shared directory, restarts, rotation, what file-sync services do to the
// files (torn tails, replaced, shortened and garbled files, conflict
// copies), and several real processes on one directory.
//
// The file-sync cases give each replica its own directory (its "device")
// and play the sync service by copying bytes between them by hand.
#include <crdt/transport/folder_transport.hpp>

#include <crdt/core/error.hpp>
#include <crdt/detail/transport/folder.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <sys/wait.h>
#include <unistd.h>

namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using kind = crdt::transport_event::kind;

// Lists the directory at every poll and naps briefly in wait().
struct fast_policy : crdt::folder_transport_defaults {
    static constexpr std::chrono::milliseconds rescan_interval{0};
    static constexpr std::chrono::milliseconds wait_granularity{1};
};
using transport = crdt::basic_folder_transport<fast_policy>;

// For the child processes: lists on directory changes, naps 2 ms.
struct process_policy : crdt::folder_transport_defaults {
    static constexpr std::chrono::milliseconds rescan_interval{200};
    static constexpr std::chrono::milliseconds wait_granularity{2};
};

struct small_rotation : fast_policy {
    static constexpr std::uint64_t rotate_bytes = 512;
};

struct synced : fast_policy {
    static constexpr bool sync_appends = true;
};

// A policy object with a member set at run time.
struct runtime_policy : fast_policy {
    std::uint64_t rotate_bytes = fast_policy::rotate_bytes;
};

struct small_messages : fast_policy {
    static constexpr std::size_t max_message_bytes = 1024;
};

// A fresh directory under the system's temporary directory, removed at the end.
class temp_dir {
public:
    temp_dir() {
        std::string tmpl = (fs::temp_directory_path() / "crdt-folder-XXXXXX").string();
        if (::mkdtemp(tmpl.data()) == nullptr) {
            throw std::runtime_error("mkdtemp failed");
        }
        path_ = tmpl;
    }
    temp_dir(const temp_dir&) = delete;
    temp_dir& operator=(const temp_dir&) = delete;
    ~temp_dir() {
        std::error_code ec;
        fs::remove_all(path_, ec);
    }
    const fs::path& path() const noexcept { return path_; }

private:
    fs::path path_;
};

std::vector<std::byte> bytes(std::string_view s) {
    std::vector<std::byte> out(s.size());
    std::transform(s.begin(), s.end(), out.begin(),
                   [](char c) { return static_cast<std::byte>(c); });
    return out;
}

std::string text(const std::vector<std::byte>& b) {
    std::string out(b.size(), '\0');
    std::transform(b.begin(), b.end(), out.begin(),
                   [](std::byte c) { return static_cast<char>(c); });
    return out;
}

std::vector<std::byte> read_all(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    const std::string s((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    return bytes(s);
}

void write_all(const fs::path& p, std::span<const std::byte> b, bool append = false) {
    std::ofstream out(p, std::ios::binary | (append ? std::ios::app : std::ios::trunc));
    out.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
    REQUIRE(out.good());
}

// What a sync service does best: a new complete copy, via temp + rename.
void replace_with(const fs::path& p, std::span<const std::byte> b) {
    const auto tmp = p.parent_path() / ".sync-tmp";
    write_all(tmp, b);
    fs::rename(tmp, p);
}

std::span<const std::byte> prefix(const std::vector<std::byte>& b, std::uintmax_t n) {
    return std::span<const std::byte>(b).first(static_cast<std::size_t>(n));
}

// Every event one transport received, and the errors reported to its sink.
struct recorder {
    std::vector<crdt::transport_event> events;
    std::vector<crdt::error> errors;

    template <class T>
    std::size_t pump(T& t) {
        return t.poll([&](crdt::transport_event&& e) { events.push_back(std::move(e)); });
    }
    template <class T>
    void attach(T& t) {
        t.on_error([this](const crdt::error& e) { errors.push_back(e); });
    }
    std::optional<crdt::peer_id> joined(std::string_view name) const {
        std::optional<crdt::peer_id> out;
        for (const auto& e : events) {
            if (e.what == kind::joined && e.name == name) {
                out = e.peer;
            }
        }
        return out;
    }
    std::vector<std::string> messages_from(crdt::peer_id p) const {
        std::vector<std::string> out;
        for (const auto& e : events) {
            if (e.what == kind::message && e.peer == p) {
                out.push_back(text(e.bytes));
            }
        }
        return out;
    }
    std::vector<std::string> messages() const {
        std::vector<std::string> out;
        for (const auto& e : events) {
            if (e.what == kind::message) {
                out.push_back(text(e.bytes));
            }
        }
        return out;
    }
    std::size_t count(kind k) const {
        return static_cast<std::size_t>(std::count_if(events.begin(), events.end(),
                                                      [&](const auto& e) { return e.what == k; }));
    }
};

// Polls `step` until `done` or a generous guard (never reached on success).
bool eventually(const std::function<void()>& step, const std::function<bool()>& done) {
    const auto deadline = std::chrono::steady_clock::now() + 20s;
    while (std::chrono::steady_clock::now() < deadline) {
        step();
        if (done()) {
            return true;
        }
        ::usleep(1000);
    }
    return false;
}

std::vector<fs::path> outboxes_of(const fs::path& dir, std::string_view escaped) {
    std::vector<fs::path> out;
    for (const auto& e : fs::directory_iterator(dir)) {
        const auto name = e.path().filename().string();
        if (name.starts_with(std::string(escaped) + ".") && name.ends_with(".outbox")) {
            out.push_back(e.path());
        }
    }
    return out;
}

std::vector<std::string> numbered(std::string_view stem, int n) {
    std::vector<std::string> out;
    for (int i = 0; i < n; ++i) {
        out.push_back(std::string(stem) + std::to_string(i));
    }
    return out;
}

// Two devices: alice writes in `x`, bob in `y`; the test copies files.
struct two_devices {
    temp_dir x, y;
    std::optional<transport> alice{std::in_place, x.path(), "alice"};
    transport bob{y.path(), "bob"};
    recorder at_alice, at_bob;
    fs::path alice_in_y;
    crdt::peer_id bob_at_alice, alice_at_bob;

    two_devices() {
        at_alice.attach(*alice);
        at_bob.attach(bob);
        write_all(x.path() / bob.outbox_path().filename(), read_all(bob.outbox_path()));
        alice_in_y = y.path() / alice->outbox_path().filename();
        write_all(alice_in_y, read_all(alice->outbox_path()));
        REQUIRE(eventually(
            [&] {
                at_alice.pump(*alice);
                at_bob.pump(bob);
            },
            [&] { return at_alice.joined("bob") && at_bob.joined("alice"); }));
        bob_at_alice = *at_alice.joined("bob");
        alice_at_bob = *at_bob.joined("alice");
    }

    // Alice sends each message to bob; returns her outbox size after each.
    std::vector<std::uintmax_t> send(const std::vector<std::string>& msgs) {
        std::vector<std::uintmax_t> sizes{fs::file_size(alice->outbox_path())};
        for (const auto& m : msgs) {
            REQUIRE(alice->send(bob_at_alice, bytes(m)) == crdt::send_status::accepted);
            sizes.push_back(fs::file_size(alice->outbox_path()));
        }
        return sizes;
    }

    // Polls bob a few times (nothing may be pending: the result must not
    // depend on how many polls run).
    void settle() {
        for (int i = 0; i < 3; ++i) {
            at_bob.pump(bob);
        }
    }
};

} // namespace

TEST_CASE("two folder transports exchange messages in order", "[transport][folder]") {
    temp_dir dir;
    transport a(dir.path(), "alice");
    transport b(dir.path(), "bob");
    CHECK(a.self() == "alice");
    recorder la, lb;
    la.attach(a);
    lb.attach(b);
    REQUIRE(eventually(
        [&] {
            la.pump(a);
            lb.pump(b);
        },
        [&] { return la.joined("bob") && lb.joined("alice"); }));
    const auto to_b = *la.joined("bob");
    const auto to_a = *lb.joined("alice");
    CHECK(a.peers() == std::map<crdt::peer_id, std::string>{{to_b, "bob"}});
    CHECK(b.peers() == std::map<crdt::peer_id, std::string>{{to_a, "alice"}});

    std::vector<std::string> ab = numbered("a->b #", 20);
    ab.push_back("");                         // empty message
    ab.push_back(std::string("\0\1\2\0", 4)); // binary
    ab.push_back(std::string(200000, 'x'));   // 200 kB
    const auto ba = numbered("b->a #", 25);
    for (const auto& m : ab) {
        REQUIRE(a.send(to_b, bytes(m)) == crdt::send_status::accepted);
    }
    for (const auto& m : ba) {
        REQUIRE(b.send(to_a, bytes(m)) == crdt::send_status::accepted);
    }
    REQUIRE(eventually(
        [&] {
            la.pump(a);
            lb.pump(b);
        },
        [&] {
            return lb.messages_from(to_a).size() >= ab.size() &&
                   la.messages_from(to_b).size() >= ba.size();
        }));
    for (int i = 0; i < 3; ++i) {
        la.pump(a);
        lb.pump(b);
    }
    CHECK(lb.messages_from(to_a) == ab);
    CHECK(la.messages_from(to_b) == ba);
    CHECK(la.count(kind::joined) == 1);
    CHECK(lb.count(kind::joined) == 1);
    CHECK(la.count(kind::left) == 0);
    CHECK(la.errors.empty());
    CHECK(lb.errors.empty());
    CHECK(a.stats().sent == ab.size());
    CHECK(b.stats().received == ab.size());
    CHECK(outboxes_of(dir.path(), "alice").size() == 1);

    // A message larger than a read chunk (1 MiB) arrives whole.
    const std::string big(3 << 20, 'y');
    REQUIRE(a.send(to_b, bytes(big)) == crdt::send_status::accepted);
    REQUIRE(eventually([&] { lb.pump(b); },
                       [&] { return lb.messages_from(to_a).size() == ab.size() + 1; }));
    CHECK(lb.messages_from(to_a).back() == big);
}

TEST_CASE("three folder transports: addressed delivery and closed peers", "[transport][folder]") {
    temp_dir dir;
    transport a(dir.path(), "alice");
    transport b(dir.path(), "bob");
    transport c(dir.path(), "Carol \xc3\xa9/x"); // escaped in the file name
    recorder la, lb, lc;
    auto pump_all = [&] {
        la.pump(a);
        lb.pump(b);
        lc.pump(c);
    };
    REQUIRE(eventually(pump_all, [&] {
        return la.joined("bob") && la.joined("Carol \xc3\xa9/x") && lb.joined("alice") &&
               lb.joined("Carol \xc3\xa9/x") && lc.joined("alice") && lc.joined("bob");
    }));
    const auto a_to_b = *la.joined("bob");
    const auto a_to_c = *la.joined("Carol \xc3\xa9/x");
    CHECK(a_to_b != a_to_c);

    const auto for_b = numbered("for bob ", 10);
    for (const auto& m : for_b) {
        REQUIRE(a.send(a_to_b, bytes(m)) == crdt::send_status::accepted);
    }
    REQUIRE(a.send(a_to_c, bytes("for carol")) == crdt::send_status::accepted);
    REQUIRE(eventually(
        pump_all, [&] { return lb.messages().size() >= for_b.size() && !lc.messages().empty(); }));
    for (int i = 0; i < 3; ++i) {
        pump_all();
    }
    CHECK(lb.messages_from(*lb.joined("alice")) == for_b);
    CHECK(lc.messages() == std::vector<std::string>{"for carol"});
    CHECK(la.messages().empty());

    // Unknown peers answer closed and write nothing.
    const auto before = fs::file_size(a.outbox_path());
    CHECK(a.send(crdt::peer_id{987654}, bytes("lost")) == crdt::send_status::closed);
    CHECK(a.send(crdt::peer_id{}, bytes("lost")) == crdt::send_status::closed);
    CHECK(fs::file_size(a.outbox_path()) == before);
    CHECK(la.count(kind::joined) == 2);
}

TEST_CASE("folder transport refuses a name already open in the directory", "[transport][folder]") {
    temp_dir dir;
    std::optional<transport> first;
    first.emplace(dir.path(), "alice");
    try {
        transport second(dir.path(), "alice");
        FAIL("a second object with the same name was opened");
    } catch (const crdt::error& e) {
        CHECK(e.cause() == crdt::errc::conflict);
        CHECK(std::string(e.what()).find(dir.path().string()) != std::string::npos);
    }
    CHECK(fs::exists(first->outbox_path()));
    // Another name, or another directory, is fine.
    transport other_name(dir.path(), "bob");
    temp_dir dir2;
    transport other_dir(dir2.path(), "alice");
    // Once closed, the name can be opened again.
    first.reset();
    transport again(dir.path(), "alice");
    CHECK(outboxes_of(dir.path(), "alice").size() == 1);

    // Bad names.
    CHECK_THROWS_AS(transport(dir.path(), ""), crdt::error);
    CHECK_THROWS_AS(transport(dir.path(), std::string(2000, 'n')), crdt::error);
    CHECK_THROWS_AS(transport(dir.path(), "\xff\xfe"), crdt::error);
}

TEST_CASE("folder transport restart: left, then joined with a new peer id", "[transport][folder]") {
    temp_dir dir;
    transport a(dir.path(), "alice");
    std::optional<transport> b;
    b.emplace(dir.path(), "bob");
    recorder la, lb;
    REQUIRE(eventually(
        [&] {
            la.pump(a);
            lb.pump(*b);
        },
        [&] { return la.joined("bob") && lb.joined("alice"); }));
    const auto old_b = *la.joined("bob");
    const auto old_file = b->outbox_path();
    const auto a_at_b = *lb.joined("alice");

    // Bob sends, then restarts before alice reads: alice still reads the
    // messages through the file she has open, then sees left and joined.
    REQUIRE(b->send(a_at_b, bytes("last words 1")) == crdt::send_status::accepted);
    REQUIRE(b->send(a_at_b, bytes("last words 2")) == crdt::send_status::accepted);
    // Alice sends to the old bob, who never reads it.
    REQUIRE(a.send(old_b, bytes("to the old bob")) == crdt::send_status::accepted);
    b.reset();
    CHECK(fs::exists(old_file)); // closing keeps the outbox
    b.emplace(dir.path(), "bob");
    CHECK_FALSE(fs::exists(old_file)); // the new generation deletes it
    CHECK(b->outbox_path() != old_file);
    CHECK(outboxes_of(dir.path(), "bob").size() == 1);

    recorder lb2;
    REQUIRE(eventually(
        [&] {
            la.pump(a);
            lb2.pump(*b);
        },
        [&] { return la.count(kind::joined) == 2 && lb2.joined("alice"); }));
    std::vector<kind> seq;
    for (const auto& e : la.events) {
        seq.push_back(e.what);
    }
    CHECK(seq ==
          std::vector<kind>{kind::joined, kind::message, kind::message, kind::left, kind::joined});
    CHECK(la.messages_from(old_b) == std::vector<std::string>{"last words 1", "last words 2"});
    CHECK(la.events[3].peer == old_b);
    const auto new_b = la.events[4].peer;
    CHECK(new_b != old_b);
    CHECK(la.events[4].name == "bob");
    CHECK(a.send(old_b, bytes("x")) == crdt::send_status::closed);

    // The new bob gets what is sent to it, not what was sent to the old one.
    REQUIRE(a.send(new_b, bytes("hello new bob")) == crdt::send_status::accepted);
    REQUIRE(eventually([&] { lb2.pump(*b); }, [&] { return !lb2.messages().empty(); }));
    for (int i = 0; i < 3; ++i) {
        lb2.pump(*b);
    }
    CHECK(lb2.messages() == std::vector<std::string>{"hello new bob"});
}

TEST_CASE("folder transport: a torn tail is delivered once complete", "[transport][folder]") {
    two_devices d;
    const auto sizes = d.send({"m1", "m2", "m3"});
    const auto full = read_all(d.alice->outbox_path());
    // The sync service has written m1 and half of m2.
    const auto cut = sizes[1] + (sizes[2] - sizes[1]) / 2;
    write_all(d.alice_in_y, std::span<const std::byte>(full).subspan(sizes[0], cut - sizes[0]),
              true);
    d.settle();
    CHECK(d.at_bob.messages() == std::vector<std::string>{"m1"});
    // Then the header of m3 only.
    write_all(d.alice_in_y, std::span<const std::byte>(full).subspan(cut, sizes[2] + 4 - cut),
              true);
    d.settle();
    CHECK(d.at_bob.messages() == std::vector<std::string>{"m1", "m2"});
    // Then the rest.
    write_all(d.alice_in_y, std::span<const std::byte>(full).subspan(sizes[2] + 4), true);
    d.settle();
    CHECK(d.at_bob.messages() == std::vector<std::string>{"m1", "m2", "m3"});
    CHECK(d.at_bob.errors.empty());
    CHECK(d.at_bob.count(kind::joined) == 1);
    CHECK(d.at_bob.count(kind::left) == 0);
}

TEST_CASE("folder transport: a file replaced by a longer copy continues", "[transport][folder]") {
    two_devices d;
    const auto sizes = d.send({"m1", "m2"});
    replace_with(d.alice_in_y, read_all(d.alice->outbox_path()));
    d.settle();
    CHECK(d.at_bob.messages() == std::vector<std::string>{"m1", "m2"});
    d.send({"m3", "m4"});
    // The same content plus more frames, under a new inode.
    replace_with(d.alice_in_y, read_all(d.alice->outbox_path()));
    d.settle();
    CHECK(d.at_bob.messages() == std::vector<std::string>{"m1", "m2", "m3", "m4"});
    // The same content again: nothing new.
    replace_with(d.alice_in_y, read_all(d.alice->outbox_path()));
    d.settle();
    CHECK(d.at_bob.messages().size() == 4);
    CHECK(d.at_bob.errors.empty());
    CHECK(d.at_bob.count(kind::joined) == 1);
    CHECK(d.at_bob.count(kind::left) == 0);
    CHECK(sizes.size() == 3);
}

TEST_CASE("folder transport: a garbled byte is reported, never delivered", "[transport][folder]") {
    two_devices d;
    const auto sizes = d.send({"m1", "m2 is a longer message", "m3"});
    auto bad = read_all(d.alice->outbox_path());
    bad[static_cast<std::size_t>(sizes[1]) + 12] ^= std::byte{0x20}; // inside m2's payload
    replace_with(d.alice_in_y, bad);
    d.settle();
    CHECK(d.at_bob.messages() == std::vector<std::string>{"m1"});
    REQUIRE(d.at_bob.errors.size() == 1);
    const auto& e = d.at_bob.errors.front();
    CHECK(e.cause() == crdt::errc::checksum_mismatch);
    CHECK(std::string(e.what()).find(d.alice_in_y.string()) != std::string::npos);
    CHECK(e.offset() == sizes[1]);
    // Unchanged file: skipped, not reported again.
    d.settle();
    CHECK(d.at_bob.errors.size() == 1);
    CHECK(d.bob.stats().errors == 1);
    // More frames after the bad one: still stuck there, reported once.
    const auto more = d.send({"m4"});
    auto bad_longer = read_all(d.alice->outbox_path());
    bad_longer[static_cast<std::size_t>(sizes[1]) + 12] ^= std::byte{0x20};
    replace_with(d.alice_in_y, bad_longer);
    d.settle();
    CHECK(d.at_bob.messages() == std::vector<std::string>{"m1"});
    CHECK(d.at_bob.errors.size() == 1);
    // The sync service fixes it: reading resumes at the bad frame.
    replace_with(d.alice_in_y, read_all(d.alice->outbox_path()));
    d.settle();
    CHECK(d.at_bob.messages() ==
          std::vector<std::string>{"m1", "m2 is a longer message", "m3", "m4"});
    CHECK(d.at_bob.errors.size() == 1);
    CHECK(more.size() == 2);

    // A garbled header: bad magic.
    auto bad_header = read_all(d.alice->outbox_path());
    bad_header[0] = std::byte{'X'};
    replace_with(d.alice_in_y, bad_header);
    d.settle();
    REQUIRE(d.at_bob.errors.size() == 2);
    CHECK(d.at_bob.errors.back().cause() == crdt::errc::bad_magic);
    CHECK(d.at_bob.messages().size() == 4);
}

TEST_CASE("folder transport: a shortened file is reported and resumes", "[transport][folder]") {
    two_devices d;
    const auto sizes = d.send({"m1", "m2", "m3"});
    const auto full = read_all(d.alice->outbox_path());
    replace_with(d.alice_in_y, full);
    d.settle();
    CHECK(d.at_bob.messages() == std::vector<std::string>{"m1", "m2", "m3"});
    // An older, shorter copy arrives.
    replace_with(d.alice_in_y, prefix(full, sizes[1]));
    d.settle();
    REQUIRE(d.at_bob.errors.size() == 1);
    CHECK(d.at_bob.errors.front().cause() == crdt::errc::truncated);
    CHECK(std::string(d.at_bob.errors.front().what()).find(d.alice_in_y.string()) !=
          std::string::npos);
    CHECK(d.at_bob.messages().size() == 3);
    // Shortened in place to inside the header.
    REQUIRE(::truncate(d.alice_in_y.c_str(), 10) == 0);
    d.settle();
    CHECK(d.at_bob.errors.size() == 2);
    CHECK(d.at_bob.messages().size() == 3);
    // The full file with one more message: only the new one is delivered.
    d.send({"m4"});
    replace_with(d.alice_in_y, read_all(d.alice->outbox_path()));
    d.settle();
    CHECK(d.at_bob.messages() == std::vector<std::string>{"m1", "m2", "m3", "m4"});
    CHECK(d.at_bob.count(kind::joined) == 1);
}

TEST_CASE("folder transport: a file deleted and restored resumes", "[transport][folder]") {
    two_devices d;
    d.send({"m1", "m2"});
    replace_with(d.alice_in_y, read_all(d.alice->outbox_path()));
    d.settle();
    REQUIRE(d.at_bob.messages().size() == 2);
    // The sync service deletes the file, then brings it back with more.
    fs::remove(d.alice_in_y);
    d.settle();
    CHECK(d.at_bob.count(kind::left) == 1);
    CHECK(d.bob.peers().empty());
    CHECK(d.bob.send(d.alice_at_bob, bytes("x")) == crdt::send_status::closed);
    d.send({"m3"});
    replace_with(d.alice_in_y, read_all(d.alice->outbox_path()));
    d.settle();
    CHECK(d.at_bob.count(kind::joined) == 2);
    CHECK(d.at_bob.messages() == std::vector<std::string>{"m1", "m2", "m3"});
    const auto again = *d.at_bob.joined("alice");
    CHECK(again != d.alice_at_bob);
    CHECK(d.at_bob.messages_from(again) == std::vector<std::string>{"m3"});
    CHECK(d.at_bob.errors.empty());
}

TEST_CASE("folder transport: another generation under the same file name", "[transport][folder]") {
    two_devices d;
    d.send({"m1"});
    replace_with(d.alice_in_y, read_all(d.alice->outbox_path()));
    d.settle();
    REQUIRE(d.at_bob.messages().size() == 1);
    // Same name and generation, another salt: a new generation of the file.
    namespace ff = crdt::detail::transport::folder_format;
    const auto name = ff::parse_outbox_name(d.alice_in_y.filename().string());
    REQUIRE(name);
    replace_with(d.alice_in_y, ff::make_header(name->generation, 12345, "alice"));
    d.settle();
    std::vector<kind> seq;
    for (const auto& e : d.at_bob.events) {
        seq.push_back(e.what);
    }
    CHECK(seq == std::vector<kind>{kind::joined, kind::message, kind::left, kind::joined});
    CHECK(d.at_bob.events.back().peer != d.alice_at_bob);
    CHECK(d.at_bob.events.back().name == "alice");
    CHECK(d.at_bob.errors.empty());
    // A header whose name does not match the file name is refused.
    replace_with(d.alice_in_y, ff::make_header(name->generation, 12345, "mallory"));
    d.settle();
    REQUIRE(d.at_bob.errors.size() == 1);
    CHECK(d.at_bob.errors.front().cause() == crdt::errc::invalid_value);
}

TEST_CASE("folder transport: a restarted writer on another device", "[transport][folder]") {
    two_devices d;
    d.send({"m1"});
    replace_with(d.alice_in_y, read_all(d.alice->outbox_path()));
    d.settle();
    // Alice restarts on her device; the sync service brings the new file,
    // then deletes the old one.
    d.alice.reset();
    d.alice.emplace(d.x.path(), "alice");
    const auto new_in_y = d.y.path() / d.alice->outbox_path().filename();
    write_all(new_in_y, read_all(d.alice->outbox_path()));
    d.settle();
    fs::remove(d.alice_in_y);
    d.settle();
    CHECK(d.at_bob.count(kind::joined) == 2);
    CHECK(d.at_bob.count(kind::left) == 1);
    CHECK(d.at_bob.errors.empty());
    CHECK(d.bob.peers().size() == 1);
    CHECK(d.bob.peers().begin()->second == "alice");
    CHECK(d.bob.peers().begin()->first != d.alice_at_bob);
}

TEST_CASE("folder transport ignores junk and conflict copies", "[transport][folder]") {
    two_devices d;
    d.send({"m1"});
    const auto content = read_all(d.alice->outbox_path());
    replace_with(d.alice_in_y, content);
    const auto y = d.y.path();
    const auto stem = d.alice_in_y.stem().string(); // "alice.<gen>"
    write_all(y / (stem + " (conflicted copy).outbox"), content);
    write_all(y / "alice (Bob's conflicted copy 2024-05-01).outbox", content);
    write_all(y / (stem + ".sync-conflict-20240501-101010-ABCDEFG.outbox"), content);
    write_all(y / "Alice.0123456789abcdef.outbox", content); // upper case never escapes to itself
    write_all(y / "notes.txt", bytes("not an outbox"));
    write_all(y / "junk.0123456789abcdef.outbox", bytes("garbage garbage garbage"));
    write_all(y / "empty.0123456789abcdef.outbox", {});
    fs::create_directory(y / "folder.0123456789abcdef.outbox");
    d.settle();
    CHECK(d.at_bob.messages() == std::vector<std::string>{"m1"});
    CHECK(d.at_bob.count(kind::joined) == 1);
    CHECK(d.bob.peers().size() == 1);
    REQUIRE(d.at_bob.errors.size() == 1); // the junk with a valid name
    CHECK(d.at_bob.errors.front().cause() == crdt::errc::bad_magic);
    CHECK(std::string(d.at_bob.errors.front().what()).find("junk.0123456789abcdef.outbox") !=
          std::string::npos);
    // The empty file becomes a peer once a header arrives.
    namespace ff = crdt::detail::transport::folder_format;
    write_all(y / "empty.0123456789abcdef.outbox", ff::make_header(0x0123456789abcdef, 7, "empty"));
    d.settle();
    CHECK(d.at_bob.joined("empty"));
    CHECK(d.at_bob.errors.size() == 1);
}

TEST_CASE("folder transport: frames above max_message_bytes", "[transport][folder]") {
    temp_dir dir;
    transport a(dir.path(), "alice");
    crdt::basic_folder_transport<small_messages> b(dir.path(), "bob");
    recorder la, lb;
    lb.attach(b);
    REQUIRE(eventually(
        [&] {
            la.pump(a);
            lb.pump(b);
        },
        [&] { return la.joined("bob") && lb.joined("alice"); }));
    REQUIRE(a.send(*la.joined("bob"), bytes("small")) == crdt::send_status::accepted);
    REQUIRE(a.send(*la.joined("bob"), bytes(std::string(4096, 'z'))) ==
            crdt::send_status::accepted);
    REQUIRE(a.send(*la.joined("bob"), bytes("after")) == crdt::send_status::accepted);
    REQUIRE(eventually([&] { lb.pump(b); }, [&] { return !lb.errors.empty(); }));
    lb.pump(b);
    CHECK(lb.messages() == std::vector<std::string>{"small"});
    REQUIRE(lb.errors.size() == 1);
    CHECK(lb.errors.front().cause() == crdt::errc::too_large);
    CHECK(std::string(lb.errors.front().what()).find(a.outbox_path().string()) !=
          std::string::npos);
    // send() refuses what the policy does not allow.
    try {
        (void)b.send(*lb.joined("alice"), bytes(std::string(1025, 'z')));
        FAIL("an oversized message was accepted");
    } catch (const crdt::error& e) {
        CHECK(e.cause() == crdt::errc::too_large);
    }
    CHECK(b.send(*lb.joined("alice"), bytes(std::string(1024, 'z'))) ==
          crdt::send_status::accepted);
}

TEST_CASE("folder transport rotates its outbox", "[transport][folder]") {
    temp_dir dir;
    crdt::basic_folder_transport<small_rotation> a(dir.path(), "alice");
    crdt::basic_folder_transport<small_rotation> b(dir.path(), "bob");
    recorder la, lb;
    la.attach(a);
    lb.attach(b);
    REQUIRE(eventually(
        [&] {
            la.pump(a);
            lb.pump(b);
        },
        [&] { return la.joined("bob") && lb.joined("alice"); }));
    const auto to_b = *la.joined("bob");

    // Bob reads after every send: nothing is lost across rotations.
    const auto paced = numbered("paced message number ", 60);
    for (const auto& m : paced) {
        REQUIRE(a.send(to_b, bytes(m)) == crdt::send_status::accepted);
        REQUIRE(eventually([&] { lb.pump(b); },
                           [&] { return !lb.messages().empty() && lb.messages().back() == m; }));
    }
    CHECK(lb.messages() == paced);
    CHECK(a.stats().rotations >= 3);
    CHECK(lb.count(kind::joined) == a.stats().rotations + 1);
    CHECK(lb.count(kind::left) == a.stats().rotations);
    CHECK(outboxes_of(dir.path(), "alice") == std::vector<fs::path>{a.outbox_path()});
    CHECK(fs::file_size(a.outbox_path()) <= 512 + 64);

    // A burst without reading: what arrives is exact and in order; the tail
    // of a generation deleted before bob opened it may be lost.
    const auto burst = numbered("burst message number ", 60);
    for (const auto& m : burst) {
        REQUIRE(a.send(to_b, bytes(m)) == crdt::send_status::accepted);
    }
    REQUIRE(eventually(
        [&] {
            (void)a.send(to_b, bytes("end"));
            lb.pump(b);
        },
        [&] { return lb.messages().back() == "end"; }));
    auto got = lb.messages();
    got.erase(got.begin(), got.begin() + static_cast<std::ptrdiff_t>(paced.size()));
    const auto first_end = std::find(got.begin(), got.end(), "end");
    CHECK(std::all_of(first_end, got.end(), [](const auto& s) { return s == "end"; }));
    got.erase(first_end, got.end());
    CHECK(std::includes(burst.begin(), burst.end(), got.begin(), got.end(),
                        [](const std::string& x, const std::string& y) {
                            return std::stoi(x.substr(x.rfind(' ') + 1)) <
                                   std::stoi(y.substr(y.rfind(' ') + 1));
                        }));
    CHECK(lb.errors.empty());

    // Messages addressed to a generation the reader has since rotated away
    // are still its own.
    const auto to_a = *lb.joined("alice");
    lb.pump(b);
    la.pump(a);
    REQUIRE(a.send(to_b, bytes("to bob before his rotation")) == crdt::send_status::accepted);
    const auto rotations = b.stats().rotations;
    while (b.stats().rotations == rotations) {
        (void)b.send(to_a, bytes(std::string(100, 'r')));
    }
    REQUIRE(eventually([&] { lb.pump(b); },
                       [&] { return lb.messages().back() == "to bob before his rotation"; }));
}

namespace {

// The body of a child process: opens `self` in `dir`, waits for `others`,
// sends `n` messages to each, checks what it receives. Returns the exit
// status (0: all good).
int child(const fs::path& dir, const std::string& self, const std::vector<std::string>& others,
          int n) {
    try {
        crdt::basic_folder_transport<process_policy> t(dir, self);
        int errors = 0;
        t.on_error([&](const crdt::error&) { ++errors; });
        std::map<std::string, crdt::peer_id> peer_of;
        std::map<std::string, std::vector<std::string>> got;
        std::map<crdt::peer_id, std::string> name_of;
        auto pump = [&] {
            t.poll([&](crdt::transport_event&& e) {
                if (e.what == kind::joined) {
                    peer_of[e.name] = e.peer;
                    name_of[e.peer] = e.name;
                } else if (e.what == kind::message) {
                    got[name_of.at(e.peer)].push_back(text(e.bytes));
                }
            });
        };
        const auto deadline = std::chrono::steady_clock::now() + 30s;
        auto all = [&](auto pred) { return std::all_of(others.begin(), others.end(), pred); };
        while (!all([&](const auto& o) { return peer_of.count(o) != 0; })) {
            if (std::chrono::steady_clock::now() > deadline) {
                return 3;
            }
            pump();
            t.wait(5ms);
        }
        for (int i = 0; i < n; ++i) {
            for (const auto& o : others) {
                const auto m = self + " to " + o + " #" + std::to_string(i);
                if (t.send(peer_of.at(o), bytes(m)) != crdt::send_status::accepted) {
                    return 4;
                }
            }
        }
        while (!all([&](const auto& o) { return got[o].size() >= static_cast<std::size_t>(n); })) {
            if (std::chrono::steady_clock::now() > deadline) {
                return 5;
            }
            pump();
            t.wait(5ms);
        }
        for (const auto& o : others) {
            std::vector<std::string> want;
            for (int i = 0; i < n; ++i) {
                want.push_back(o + " to " + self + " #" + std::to_string(i));
            }
            if (got[o] != want) {
                return 6;
            }
        }
        return errors == 0 ? 0 : 7;
    } catch (...) {
        return 2;
    }
}

void run_processes(int count) {
    temp_dir dir;
    std::vector<std::string> names;
    for (int i = 0; i < count; ++i) {
        names.push_back("proc-" + std::to_string(i));
    }
    std::vector<pid_t> pids;
    for (const auto& self : names) {
        std::vector<std::string> others;
        std::copy_if(names.begin(), names.end(), std::back_inserter(others),
                     [&](const auto& o) { return o != self; });
        const pid_t pid = ::fork();
        REQUIRE(pid >= 0);
        if (pid == 0) {
            ::_exit(child(dir.path(), self, others, 50));
        }
        pids.push_back(pid);
    }
    for (const auto pid : pids) {
        int status = 0;
        REQUIRE(::waitpid(pid, &status, 0) == pid);
        CAPTURE(status);
        REQUIRE(WIFEXITED(status));
        CHECK(WEXITSTATUS(status) == 0);
    }
    for (const auto& n : names) {
        CHECK(outboxes_of(dir.path(), n).size() == 1);
    }
}

} // namespace

TEST_CASE("folder transport between two processes", "[transport][folder][process]") {
    run_processes(2);
}

TEST_CASE("folder transport between three processes", "[transport][folder][process]") {
    run_processes(3);
}

TEST_CASE("folder transport: long names and the default policy", "[transport][folder]") {
    temp_dir dir;
    const std::string long_name(300, 'n'); // its file name is a hash
    crdt::folder_transport a(dir.path(), long_name);
    crdt::folder_transport b(dir.path(), "bob");
    CHECK(a.outbox_path().filename().string().size() < 64);
    recorder la, lb;
    REQUIRE(eventually(
        [&] {
            la.pump(a);
            lb.pump(b);
            a.wait(1ms);
        },
        [&] { return la.joined("bob") && lb.joined(long_name); }));
    REQUIRE(a.send(*la.joined("bob"), bytes("from the long name")) == crdt::send_status::accepted);
    REQUIRE(eventually(
        [&] {
            lb.pump(b);
            b.wait(1ms);
        },
        [&] { return !lb.messages().empty(); }));
    CHECK(lb.messages_from(*lb.joined(long_name)) ==
          std::vector<std::string>{"from the long name"});
    CHECK_THROWS_AS(crdt::folder_transport(dir.path(), long_name), crdt::error);
}

TEST_CASE("folder transport: a throwing event callback loses nothing", "[transport][folder]") {
    temp_dir dir;
    crdt::basic_folder_transport<synced> a(dir.path(), "alice");
    transport b(dir.path(), "bob");
    recorder la, lb;
    REQUIRE(eventually(
        [&] {
            la.pump(a);
            lb.pump(b);
        },
        [&] { return la.joined("bob") && lb.joined("alice"); }));
    const auto msgs = numbered("m", 5);
    for (const auto& m : msgs) {
        REQUIRE(a.send(*la.joined("bob"), bytes(m)) == crdt::send_status::accepted);
    }
    struct boom {};
    int seen = 0;
    auto throwing = [&](crdt::transport_event&& e) {
        lb.events.push_back(std::move(e));
        if (++seen == 2) {
            throw boom{};
        }
    };
    CHECK_THROWS_AS(b.poll(throwing), boom);
    REQUIRE(eventually([&] { lb.pump(b); }, [&] { return lb.messages().size() >= msgs.size(); }));
    lb.pump(b);
    CHECK(lb.messages() == msgs);
}

TEST_CASE("folder transport: its own outbox deleted by hand", "[transport][folder]") {
    temp_dir dir;
    transport a(dir.path(), "alice");
    transport b(dir.path(), "bob");
    recorder la, lb;
    REQUIRE(eventually(
        [&] {
            la.pump(a);
            lb.pump(b);
        },
        [&] { return la.joined("bob") && lb.joined("alice"); }));
    const auto old = a.outbox_path();
    fs::remove(old);
    la.pump(a); // notices and starts a new generation
    CHECK(a.stats().rotations == 1);
    CHECK(a.outbox_path() != old);
    CHECK(fs::exists(a.outbox_path()));
    REQUIRE(a.send(*la.joined("bob"), bytes("still here")) == crdt::send_status::accepted);
    REQUIRE(eventually([&] { lb.pump(b); }, [&] { return !lb.messages().empty(); }));
    CHECK(lb.messages() == std::vector<std::string>{"still here"});
    CHECK(lb.count(kind::left) == 1);
    CHECK(lb.count(kind::joined) == 2);
}

TEST_CASE("folder transport wait() returns", "[transport][folder]") {
    temp_dir dir;
    transport a(dir.path(), "alice");
    a.wait(0ms);
    a.wait(2ms);
    recorder la;
    CHECK(la.pump(a) == 0);
    CHECK(a.directory() == fs::absolute(dir.path()));

    runtime_policy p;
    p.rotate_bytes = 100;
    crdt::basic_folder_transport<runtime_policy> r(dir.path(), "rotating", p);
    recorder lr;
    REQUIRE(eventually([&] { lr.pump(r); }, [&] { return lr.joined("alice").has_value(); }));
    REQUIRE(r.send(*lr.joined("alice"), bytes(std::string(200, 'r'))) ==
            crdt::send_status::accepted);
    CHECK(r.stats().rotations == 1);
    p.rotate_bytes = 0;
    CHECK_THROWS_AS(crdt::basic_folder_transport<runtime_policy>(dir.path(), "zero", p),
                    crdt::error);
    static_assert(crdt::waitable_transport<transport>);
    static_assert(crdt::check_transport<crdt::folder_transport>());
}
