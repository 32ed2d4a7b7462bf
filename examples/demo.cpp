// The README demo: a grocery list shared by three processes.
//
// Three replicas -- alice, bob and carol -- each run in their own process,
// keep their own copy of the list in their own storage directory, and sync
// over TCP on 127.0.0.1:
//
//   alice  listens (the operating system picks the port);
//   bob    connects to alice;
//   carol  connects to alice. Once her edits are saved she is killed with
//          SIGKILL, then restarted from her storage, and edits again.
//
// They edit at the same time -- all three set "dinner", each to something
// else -- and end up with the same list: crdt::lww_map keeps, per key, the
// write with the largest (Lamport time, replica id). They also each append a
// line to a shared note (crdt::text, a second document on the same
// connection) at the same moment. Each replica prints its final list and
// note; this process (which only starts, kills and watches the others)
// checks that the three copies are identical and exits 0 only then.
//
// Run it with no arguments. It finishes in a second or two, removes its
// temporary directory, and gives up (killing what is left) after 30 s.
#include <crdt/lww_map.hpp>
#include <crdt/storage/file_storage.hpp>
#include <crdt/store/replica.hpp>
#include <crdt/text.hpp>
#include <crdt/transport/mux.hpp>
#include <crdt/transport/tcp_transport.hpp>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

// ---------------------------------------------------------------------------
// The replicated value and how it is stored and synced.
// ---------------------------------------------------------------------------

// The shared value: item -> what to buy. Any replicated type of the library
// works the same way.
using grocery_list = crdt::lww_map<std::string, std::string>;

// Retransmit after ~100 ms instead of the default ~400 ms: a demo should be
// quick. Everything else keeps the library's defaults.
struct demo_policy : crdt::replica_defaults {
    static constexpr std::chrono::milliseconds tick_interval{25};
};

// A second document, a shared text note, travels over the same TCP
// connection: a transport_mux gives each document a channel of its own.
using note_text = crdt::text;
using channel = crdt::transport_mux<crdt::tcp_transport>::channel;

// One replica of the list: its value, its storage (a directory of files,
// crash-safe) and its network (TCP). change() saves an edit before it tells
// any peer; poll() exchanges what the peers lack.
using replica = crdt::store::replica<grocery_list, crdt::file_storage, channel, demo_policy>;
using note_replica = crdt::store::replica<note_text, crdt::file_storage, channel, demo_policy>;

// The line each replica adds to the note (carol adds a second one after her
// restart). A text's version counts characters, so the note has every line
// once its version has each author's characters.
std::string line_of(const std::string& name, bool restarted) {
    return restarted ? name + " is back\n" : name + " was here\n";
}
bool has_every_line(const note_replica& note) {
    const auto v = note.version();
    auto chars = [](const std::string& s) { return static_cast<std::uint64_t>(s.size()); };
    return v.get(crdt::agent_id("alice")) >= chars(line_of("alice", false)) &&
           v.get(crdt::agent_id("bob")) >= chars(line_of("bob", false)) &&
           v.get(crdt::agent_id("carol")) >=
               chars(line_of("carol", false)) + chars(line_of("carol", true));
}

// Every replica needs its own id; the id also breaks ties between writes
// made at the same Lamport time (the larger id wins).
crdt::replica_id id_of(const std::string& name) {
    return crdt::replica_id(name == "alice" ? 1 : name == "bob" ? 2 : 3);
}

// Each edit takes one "dot" (replica, counter), and version() counts them:
// a replica has seen every edit of the demo once its version has alice's 2,
// bob's 3 and carol's 3 (2 before she is killed, 1 after her restart).
bool has_every_edit(const replica& list) {
    const auto v = list.version();
    return v.get(id_of("alice")) >= 2 && v.get(id_of("bob")) >= 3 && v.get(id_of("carol")) >= 3;
}

// ---------------------------------------------------------------------------
// Small helpers.
// ---------------------------------------------------------------------------

// Writes `text` to stdout in one write(), so that lines of different
// processes do not mix.
void say(const std::string& text) {
    std::size_t done = 0;
    while (done < text.size()) {
        const ssize_t n = ::write(STDOUT_FILENO, text.data() + done, text.size() - done);
        if (n <= 0) {
            return;
        }
        done += static_cast<std::size_t>(n);
    }
}

// The list as sorted "key = value" lines (lww_map iterates in insertion order).
std::string to_text(const grocery_list& list) {
    std::map<std::string, std::string> sorted;
    for (const auto& [item, what] : list.entries()) {
        sorted.emplace(item, what);
    }
    std::string out;
    for (const auto& [item, what] : sorted) {
        out += item + " = " + what + "\n";
    }
    return out;
}

// The note as "note |" lines.
std::string note_to_text(const note_text& note) {
    std::istringstream in(note.str());
    std::string out;
    for (std::string line; std::getline(in, line);) {
        out += "note | " + line + "\n";
    }
    return out;
}

// Every line of `text`, prefixed with "name: ".
std::string prefixed(const std::string& name, const std::string& text) {
    std::istringstream in(text);
    std::string out;
    for (std::string line; std::getline(in, line);) {
        out += name + ": " + line + "\n";
    }
    return out;
}

// ---------------------------------------------------------------------------
// A replica process.
// ---------------------------------------------------------------------------

struct replica_args {
    std::string name;   // alice, bob or carol
    bool restarted;     // carol's second life
    fs::path dir;       // the demo's temporary directory
    std::uint16_t port; // alice's port (bob and carol connect to it)
    int to_parent;      // a pipe for short messages to the parent
};

// Polls the network until `done()` holds. Returns false after `deadline`.
template <class Done>
bool sync_until(replica& list, note_replica& note, crdt::tcp_transport& net,
                std::chrono::steady_clock::time_point deadline, Done done) {
    while (!done()) {
        if (std::chrono::steady_clock::now() > deadline) {
            return false;
        }
        net.wait(10ms); // sleep until bytes arrive (or 10 ms pass)
        list.poll();    // handle them: merge, save, acknowledge, retransmit
        note.poll();
    }
    return true;
}

int run_replica(const replica_args& a) {
    const auto deadline = std::chrono::steady_clock::now() + 20s;
    auto tell_parent = [&](const std::string& line) {
        const std::string msg = line + "\n";
        (void)!::write(a.to_parent, msg.data(), msg.size());
    };

    // 1. This replica's own storage: a directory of files that survives a
    //    crash (every saved edit is fsynced). A restart reopens it.
    crdt::file_storage storage(a.dir / a.name);

    // 2. Its network endpoint. alice listens; bob and carol dial her, and
    //    redial by themselves if the connection drops.
    crdt::tcp_transport net(a.name);
    net.on_error([&](const crdt::error& e) { say(a.name + ": network: " + e.what() + "\n"); });
    if (a.name == "alice") {
        tell_parent(std::to_string(net.listen("127.0.0.1", 0)));
    } else {
        net.connect("127.0.0.1", a.port);
    }

    // 3. The replicas: each loads whatever the storage holds (nothing on a
    //    first start) and syncs its document with the peers, both over the
    //    one connection.
    crdt::transport_mux documents(net);
    replica list(storage, documents.open("groceries"), "groceries", id_of(a.name));
    note_replica note(storage, documents.open("note"), "note", crdt::agent_id(a.name));

    // 4. The edits. Each change() returns once the edit is on disk.
    auto set = [&](const std::string& item, const std::string& what) {
        list.change([&](grocery_list& m) { return m.set(item, what); });
    };
    // Everyone appends a line to the note at the same moment: the text CRDT
    // keeps each line whole (concurrent inserts never interleave).
    note.change([&](note_text& t) { return t.insert(t.size(), line_of(a.name, a.restarted)); });
    if (a.name == "alice") {
        set("milk", "2 liters");
        set("dinner", "pizza");
    } else if (a.name == "bob") {
        set("bread", "sourdough");
        set("dinner", "sushi");
        // bob waits for alice's milk, then changes it: a write made after
        // seeing another one always wins over it, whatever the replica ids.
        if (!sync_until(list, note, net, deadline, [&] {
                return list.read([](const grocery_list& m) { return m.contains("milk"); });
            })) {
            return 2;
        }
        say("bob: got alice's milk, makes it oat milk\n");
        set("milk", "oat milk");
    } else if (!a.restarted) {
        set("eggs", "a dozen");
        set("dinner", "tacos");
        tell_parent("saved"); // the parent kills carol now, wherever she is
    } else {
        say(prefixed("carol (restarted, from her storage)", list.read(to_text)));
        set("coffee", "beans");
    }

    // 5. Sync until this replica has every edit, its connected peers have
    //    acknowledged everything it has (settled()), and its last bytes are
    //    on the wire. A replica that exits after that leaves the others'
    //    peer lists (a TCP disconnect), so nobody waits for it.
    if (!sync_until(list, note, net, deadline, [&] {
            return has_every_edit(list) && has_every_line(note) && list.settled() &&
                   note.settled() && net.unsent_bytes() == 0;
        })) {
        say(a.name + ": gave up waiting for the others\n");
        return 2;
    }

    // 6. Print the final list and note, and leave a copy for the parent to
    //    compare.
    const std::string text = list.read(to_text) + note.read(note_to_text);
    say(prefixed(a.name, text));
    std::ofstream(a.dir / (a.name + ".txt")) << text;
    return 0;
}

// ---------------------------------------------------------------------------
// The parent: starts, kills and watches the replica processes.
// ---------------------------------------------------------------------------

struct child {
    std::string name;
    pid_t pid = -1;
    int from_child = -1; // read end of the child's pipe
};

// Forks a process that runs one replica.
child start(replica_args a) {
    int fds[2];
    if (::pipe(fds) != 0) {
        throw std::runtime_error("pipe failed");
    }
    const pid_t pid = ::fork();
    if (pid < 0) {
        throw std::runtime_error("fork failed");
    }
    if (pid == 0) { // the child
        ::close(fds[0]);
        a.to_parent = fds[1];
        int status = 1;
        try {
            status = run_replica(a);
        } catch (const std::exception& e) {
            say(a.name + ": " + e.what() + "\n");
        }
        std::_Exit(status); // not exit(): the parent's atexit handlers are not ours
    }
    ::close(fds[1]);
    return child{a.name, pid, fds[0]};
}

// Reads one line from `c`, waiting at most until `deadline`. Returns "" if
// the child died or the deadline passed.
std::string read_line(const child& c, std::chrono::steady_clock::time_point deadline) {
    std::string line;
    for (;;) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        pollfd p{c.from_child, POLLIN, 0};
        if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) <= 0) {
            return "";
        }
        char ch = 0;
        if (::read(c.from_child, &ch, 1) != 1) {
            return ""; // the child closed the pipe: it exited
        }
        if (ch == '\n') {
            return line;
        }
        line += ch;
    }
}

// Waits for `c` to exit. Returns whether it exited with status 0 before
// `deadline`.
bool wait_exit(child& c, std::chrono::steady_clock::time_point deadline) {
    while (std::chrono::steady_clock::now() < deadline) {
        int status = 0;
        if (::waitpid(c.pid, &status, WNOHANG) == c.pid) {
            c.pid = -1;
            return WIFEXITED(status) && WEXITSTATUS(status) == 0;
        }
        ::usleep(10'000);
    }
    return false;
}

void stop(child& c) {
    if (c.pid > 0) {
        ::kill(c.pid, SIGKILL);
        ::waitpid(c.pid, nullptr, 0);
        c.pid = -1;
    }
    if (c.from_child >= 0) {
        ::close(c.from_child);
        c.from_child = -1;
    }
}

std::string read_file(const fs::path& p) {
    std::ifstream in(p);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

// The demo's steps. Returns whether the three replicas converged.
bool run_demo(const fs::path& dir, std::vector<child>& children) {
    const auto deadline = std::chrono::steady_clock::now() + 30s;
    say("crdt demo: a grocery list shared by three processes\n"
        "  value    crdt::lww_map<std::string, std::string> (last writer wins, per key)\n"
        "  note     crdt::text (a second document on the same connection)\n"
        "  storage  crdt::file_storage, one directory per replica under " +
        dir.string() +
        "\n"
        "  network  crdt::tcp_transport on 127.0.0.1\n\n");

    // alice listens on a port the system picks, and tells us which.
    children.push_back(start({"alice", false, dir, 0, -1}));
    const std::string port = read_line(children[0], deadline);
    if (port.empty()) {
        say("alice did not start\n");
        return false;
    }
    say("[1] alice (pid " + std::to_string(children[0].pid) + ") listens on 127.0.0.1:" + port +
        "\n");

    // bob and carol connect to her. All three edit at once: each adds an
    // item, and each sets "dinner" -- three concurrent writes to one key.
    const auto p = static_cast<std::uint16_t>(std::stoi(port));
    children.push_back(start({"bob", false, dir, p, -1}));
    children.push_back(start({"carol", false, dir, p, -1}));
    say("[2] bob (pid " + std::to_string(children[1].pid) + ") and carol (pid " +
        std::to_string(children[2].pid) +
        ") connect to alice; each adds an item and sets \"dinner\"\n"
        "    (alice: pizza, bob: sushi, carol: tacos), all at the same time\n");

    // As soon as carol's edits are on disk, kill her: no goodbye, no flush.
    child& carol = children[2];
    if (read_line(carol, deadline) != "saved") {
        say("carol did not get to save her edits\n");
        return false;
    }
    say("[3] carol's edits are saved; killing her with SIGKILL\n");
    stop(carol);

    // Restart her from her storage directory. She gets back what she had
    // saved, adds coffee, and catches up with the others.
    carol = start({"carol", true, dir, p, -1});
    say("[4] carol restarts (pid " + std::to_string(carol.pid) +
        ") from her storage and adds coffee\n");

    // Every replica exits once it has every edit and its peers have its own.
    say("[5] everyone syncs until they have every edit...\n");
    bool ok = true;
    for (auto& c : children) {
        if (!wait_exit(c, deadline)) {
            say(c.name + " failed or did not finish in time\n");
            ok = false;
        }
    }
    if (!ok) {
        return false;
    }

    // Compare the three final lists.
    const std::string alice = read_file(dir / "alice.txt");
    const std::string bob = read_file(dir / "bob.txt");
    const std::string carols = read_file(dir / "carol.txt");
    if (alice.empty() || alice != bob || alice != carols) {
        say("\nthe replicas differ: NOT converged\n");
        return false;
    }
    say("\n[6] alice, bob and carol hold the same list: converged.\n");
    if (alice.find("dinner = tacos\n") != std::string::npos) {
        say("    - dinner = tacos: of the three concurrent writes, every replica kept\n"
            "      carol's (same Lamport time, so the largest replica id wins); she made\n"
            "      it just before she was killed, and her storage kept it\n");
    }
    if (alice.find("milk = oat milk\n") != std::string::npos) {
        say("    - milk = oat milk: bob wrote it after seeing alice's milk, so it wins\n");
    }
    if (alice.find("note | carol is back\n") != std::string::npos) {
        say("    - the note: three lines typed at the same moment at the same place\n"
            "      (the end), each kept whole and in one order everywhere; carol's\n"
            "      line after her restart too. The note is a second document\n"
            "      (crdt::text) on the same TCP connection (crdt::transport_mux).\n");
    }
    if (alice.find("coffee = beans\n") != std::string::npos) {
        say("    - coffee = beans: carol's edit after her restart reached everyone\n");
    }
    return true;
}

} // namespace

int main() {
    // A fresh temporary directory for the three storages and final lists.
    std::string tmpl = (fs::temp_directory_path() / "crdt-demo-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) {
        std::perror("mkdtemp");
        return 1;
    }
    const fs::path dir = tmpl;

    std::vector<child> children;
    bool ok = false;
    try {
        ok = run_demo(dir, children);
    } catch (const std::exception& e) {
        say(std::string("demo failed: ") + e.what() + "\n");
    }
    for (auto& c : children) {
        stop(c); // kills what a failure left running; closes the pipes
    }
    std::error_code ec;
    fs::remove_all(dir, ec);
    return ok ? 0 : 1;
}
