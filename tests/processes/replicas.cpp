// Replicas in real processes: 2 and 3 processes, each with its own
// crdt::file_storage, sync a crdt::lww_map through crdt::store::replica over
// crdt::tcp_transport on 127.0.0.1 (one process listens, the others dial it)
// and over crdt::folder_transport on a shared directory. In the crash cases
// one process is killed with SIGKILL while it is writing, and a new process
// reopens its storage: every write whose change() had returned must be there,
// and everyone converges with it.
//
// Every replica r<i> writes keys_per_replica keys of its own and, half-way,
// the key "contested" (which every replica writes: last writer wins). The
// parent forks every child before it creates any Asio object or thread (it
// creates none), and talks with them through pipes:
//
//   child -> parent  "port <n>"       the listener's port (TCP, replica 0)
//                    "recovered <n>"  how many of its own writes it found
//                                     in its storage at open
//                    "wrote <j>"      change() returned for its write j
//                    "converged"      it has every write of every replica,
//                                     its peers acknowledged it, and its
//                                     state is in dump-r<i>.txt
//   parent -> child  closing the pipe: exit now.
//
// Children keep serving their peers after converging until the parent lets
// them go: a replica that left early could keep another waiting for an
// acknowledgement (over the folder transport an exited replica is still a
// peer: its outbox stays). Exit status of a child: 0 ok, 2 its 30 s deadline
// passed, 3 an exception, 4 its storage lacked a write it had saved. The
// deadlines only guard against hangs; a case normally takes under a second.
#include <crdt/lww_map.hpp>
#include <crdt/storage/file_storage.hpp>
#include <crdt/store/replica.hpp>
#include <crdt/transport/folder_transport.hpp>
#include <crdt/transport/tcp_transport.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <fcntl.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

using map = crdt::lww_map<std::string, std::string>;

// Ticks (and so retransmissions) every 20 ms instead of 100.
struct fast_replica : crdt::replica_defaults {
    static constexpr std::chrono::milliseconds tick_interval{20};
};

// Lists the directory on changes (and every 200 ms); looks at the files
// every 5 ms while waiting.
struct fast_folder : crdt::folder_transport_defaults {
    static constexpr std::chrono::milliseconds rescan_interval{200};
    static constexpr std::chrono::milliseconds wait_granularity{5};
};
using folder_transport = crdt::basic_folder_transport<fast_folder>;

enum class network { tcp, folder };

constexpr int keys_per_replica = 8;
constexpr int writes_per_replica = keys_per_replica + 1; // + "contested"
constexpr auto child_deadline = 30s;
constexpr auto parent_deadline = 40s;

std::string name_of(int who) {
    return "r" + std::to_string(who);
}

crdt::replica_id id_of(int who) {
    return crdt::replica_id(static_cast<std::uint64_t>(who) + 1);
}

// Write `j` of replica `who`: {key, value}.
std::pair<std::string, std::string> write_of(int who, int j) {
    if (j == keys_per_replica / 2) {
        return {"contested", name_of(who)};
    }
    return {name_of(who) + "-k" + std::to_string(j),
            "v" + std::to_string(who) + "." + std::to_string(j)};
}

// Whether `m` holds the first `count` writes of replica `who` (for
// "contested": some replica's write).
bool holds(const map& m, int who, int count) {
    for (int j = 0; j < count; ++j) {
        const auto [key, value] = write_of(who, j);
        const std::string* got = m.get(key);
        if (got == nullptr || (key != "contested" && *got != value)) {
            return false;
        }
    }
    return true;
}

// The state as sorted "key = value" lines.
std::string dump(const map& m) {
    std::map<std::string, std::string> sorted;
    for (const auto& [k, v] : m.entries()) {
        sorted.emplace(k, v);
    }
    std::string out;
    for (const auto& [k, v] : sorted) {
        out += k + " = " + v + "\n";
    }
    return out;
}

bool write_all(int fd, const std::string& s) {
    std::size_t done = 0;
    while (done < s.size()) {
        const ssize_t n = ::write(fd, s.data() + done, s.size() - done);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return false;
        }
        done += static_cast<std::size_t>(n);
    }
    return true;
}

// ---------------------------------------------------------------------------
// The child side.
// ---------------------------------------------------------------------------

struct scenario {
    network net = network::tcp;
    fs::path root;    // storages, the shared folder and the dumps
    int replicas = 2; // r0 .. r<replicas - 1>
};

struct child_args {
    int who = 0;
    std::uint16_t port = 0; // TCP: r0's port; r0 listens on it (0: any)
    bool pace = false;      // pause between writes (the one to be killed)
    int up = -1;            // lines to the parent
    int down = -1;          // closed by the parent: exit
};

// Whether the parent closed `fd` (non-blocking).
bool parent_closed(int fd) {
    char c = 0;
    const ssize_t n = ::read(fd, &c, 1);
    return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
}

template <class Transport>
int serve(const scenario& s, const child_args& a, crdt::file_storage& storage, Transport& net) {
    crdt::store::replica<map, crdt::file_storage, Transport, fast_replica> r(storage, net, "doc",
                                                                             id_of(a.who));
    const auto deadline = clock_type::now() + child_deadline;
    auto pump = [&] {
        net.wait(5ms);
        r.poll();
    };

    // change() saves a write before it returns and the next write starts
    // after it, so the writes an earlier life of this replica saved are a
    // prefix of its writes: continue after them.
    const std::uint64_t saved = r.version().get(id_of(a.who));
    if (!r.read([&](const map& m) { return holds(m, a.who, static_cast<int>(saved)); })) {
        return 4;
    }
    write_all(a.up, "recovered " + std::to_string(saved) + "\n");
    for (auto j = static_cast<int>(saved); j < writes_per_replica; ++j) {
        const auto [key, value] = write_of(a.who, j);
        r.change([&, &k = key, &v = value](map& m) { return m.set(k, v); });
        write_all(a.up, "wrote " + std::to_string(j) + "\n");
        if (a.pace) {
            for (int i = 0; i < 3; ++i) {
                pump();
            }
        }
    }

    auto has_everything = [&](const map& m) {
        for (int who = 0; who < s.replicas; ++who) {
            if (m.version().get(id_of(who)) < writes_per_replica) {
                return false;
            }
            if (!holds(m, who, writes_per_replica)) {
                return false;
            }
        }
        return true;
    };
    auto converged = [&] {
        if (!r.read(has_everything) || !r.settled()) {
            return false;
        }
        if constexpr (std::is_same_v<Transport, crdt::tcp_transport>) {
            return net.unsent_bytes() == 0;
        }
        return true;
    };
    while (!converged()) {
        if (clock_type::now() > deadline) {
            return 2;
        }
        pump();
    }
    std::ofstream(s.root / ("dump-" + name_of(a.who) + ".txt")) << r.read(dump);
    write_all(a.up, "converged\n");

    // Keep answering the peers until the parent says everyone converged.
    while (!parent_closed(a.down)) {
        if (clock_type::now() > deadline) {
            return 2;
        }
        pump();
    }
    return 0;
}

int child_main(const scenario& s, const child_args& a) {
    crdt::file_storage storage(s.root / ("store-" + name_of(a.who)));
    if (s.net == network::tcp) {
        crdt::tcp_transport net(name_of(a.who));
        net.on_error([](const crdt::error&) {}); // e.g. a frame cut by a SIGKILL
        if (a.who == 0) {
            const std::uint16_t port = net.listen("127.0.0.1", a.port);
            write_all(a.up, "port " + std::to_string(port) + "\n");
        } else {
            net.connect("127.0.0.1", a.port);
        }
        return serve(s, a, storage, net);
    }
    folder_transport net(s.root / "net", name_of(a.who));
    return serve(s, a, storage, net);
}

// ---------------------------------------------------------------------------
// The parent side.
// ---------------------------------------------------------------------------

struct child_proc {
    int who = 0;
    pid_t pid = -1;
    int up = -1;   // read end of the child's lines
    int down = -1; // write end; closing it lets the child exit
    std::string partial;
    std::vector<std::string> lines;
    bool eof = false;
    int status = -1; // exit status once reaped (-1: killed or not reaped)
};

// The children of one test; kills and reaps whatever is left at the end.
class family {
public:
    family() { kids_.reserve(16); } // spawn() returns references into kids_
    family(const family&) = delete;
    family& operator=(const family&) = delete;
    ~family() {
        for (auto& c : kids_) {
            kill(c);
        }
    }

    // Forks a child running child_main(s, a) (a's pipes are filled in).
    child_proc& spawn(const scenario& s, child_args a) {
        int up[2];
        int down[2];
        if (::pipe(up) != 0 || ::pipe(down) != 0) {
            throw std::runtime_error("pipe failed");
        }
        const pid_t pid = ::fork();
        if (pid < 0) {
            throw std::runtime_error("fork failed");
        }
        if (pid == 0) {
            for (const auto& c : kids_) { // the other children's pipes are not ours
                ::close(c.up);
                ::close(c.down);
            }
            ::close(up[0]);
            ::close(down[1]);
            ::fcntl(down[0], F_SETFL, O_NONBLOCK);
            a.up = up[1];
            a.down = down[0];
            int status = 3;
            try {
                status = child_main(s, a);
            } catch (...) {
                status = 3;
            }
            ::_exit(status);
        }
        ::close(up[1]);
        ::close(down[0]);
        child_proc c;
        c.who = a.who;
        c.pid = pid;
        c.up = up[0];
        c.down = down[1];
        kids_.push_back(std::move(c));
        return kids_.back();
    }

    // Waits until `pred()` holds. Returns false at the deadline or as soon
    // as a running child closes its pipe (it exited: a failure).
    template <class Pred>
    bool wait_until(Pred pred, clock_type::time_point deadline) {
        for (;;) {
            if (pred()) {
                return true;
            }
            for (const auto& c : kids_) {
                if (c.pid > 0 && c.eof) {
                    return false;
                }
            }
            if (clock_type::now() > deadline) {
                return false;
            }
            read_lines(50ms);
        }
    }

    // Kills `c` with SIGKILL, reaps it, and reads the lines it left.
    void kill(child_proc& c) {
        if (c.pid > 0) {
            ::kill(c.pid, SIGKILL);
            ::waitpid(c.pid, nullptr, 0);
            c.pid = -1;
        }
        if (c.down >= 0) {
            ::close(c.down);
            c.down = -1;
        }
        while (c.up >= 0 && !c.eof) {
            read_from(c);
        }
        if (c.up >= 0) {
            ::close(c.up);
            c.up = -1;
        }
    }

    // Lets every running child exit and reaps it (until the deadline).
    void finish(clock_type::time_point deadline) {
        for (auto& c : kids_) {
            if (c.down >= 0) {
                ::close(c.down);
                c.down = -1;
            }
        }
        for (auto& c : kids_) {
            while (c.pid > 0 && clock_type::now() < deadline) {
                int status = 0;
                if (::waitpid(c.pid, &status, WNOHANG) == c.pid) {
                    c.pid = -1;
                    c.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
                } else {
                    ::usleep(5'000);
                }
            }
        }
    }

    std::vector<child_proc>& kids() { return kids_; }

private:
    // Reads what the children wrote, waiting up to `timeout` for something.
    void read_lines(std::chrono::milliseconds timeout) {
        std::vector<pollfd> fds;
        for (const auto& c : kids_) {
            if (c.up >= 0 && !c.eof) {
                fds.push_back(pollfd{c.up, POLLIN, 0});
            }
        }
        if (::poll(fds.data(), fds.size(), static_cast<int>(timeout.count())) <= 0) {
            return;
        }
        for (auto& c : kids_) {
            for (const auto& p : fds) {
                if (p.fd == c.up && p.revents != 0) {
                    read_from(c);
                }
            }
        }
    }

    static void read_from(child_proc& c) {
        char buf[512];
        const ssize_t n = ::read(c.up, buf, sizeof buf);
        if (n < 0 && errno == EINTR) {
            return;
        }
        if (n <= 0) {
            c.eof = true;
            return;
        }
        c.partial.append(buf, static_cast<std::size_t>(n));
        for (auto nl = c.partial.find('\n'); nl != std::string::npos; nl = c.partial.find('\n')) {
            c.lines.push_back(c.partial.substr(0, nl));
            c.partial.erase(0, nl + 1);
        }
    }

    std::vector<child_proc> kids_;
};

// Returns: the lines of `c` that start with `prefix`, without it.
std::vector<std::string> lines_of(const child_proc& c, const std::string& prefix) {
    std::vector<std::string> out;
    for (const auto& l : c.lines) {
        if (l.rfind(prefix, 0) == 0) {
            out.push_back(l.substr(prefix.size()));
        }
    }
    return out;
}

std::string read_file(const fs::path& p) {
    std::ifstream in(p);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

// A fresh directory under the build tree, removed at the end.
class temp_dir {
public:
    temp_dir() {
        fs::path base = fs::path(CRDT_TEST_BINARY_DIR) / "processes-tmp";
        std::error_code ec;
        fs::create_directories(base, ec);
        if (ec) {
            base = fs::temp_directory_path();
        }
        std::string tmpl = (base / "crdt-XXXXXX").string();
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

// Runs `replicas` processes over `net` until they converge. With a victim,
// that replica writes slowly, is killed with SIGKILL once `kill_after` of
// its writes returned, and a new process reopens its storage and finishes.
void run(network net, int replicas, std::optional<int> victim = std::nullopt,
         std::size_t kill_after = 3) {
    temp_dir dir;
    const scenario s{net, dir.path(), replicas};
    const auto deadline = clock_type::now() + parent_deadline;
    family fam;
    auto args = [&](int who, std::uint16_t port) {
        child_args a;
        a.who = who;
        a.port = port;
        a.pace = victim == who;
        return a;
    };

    // r0 first: over TCP it listens on a port of its choice and tells us.
    std::uint16_t port = 0;
    fam.spawn(s, args(0, 0));
    if (net == network::tcp) {
        REQUIRE(
            fam.wait_until([&] { return !lines_of(fam.kids()[0], "port ").empty(); }, deadline));
        port = static_cast<std::uint16_t>(std::stoi(lines_of(fam.kids()[0], "port ")[0]));
    }
    for (int who = 1; who < replicas; ++who) {
        fam.spawn(s, args(who, port));
    }

    // Kill the victim while it writes, then start a new process on its
    // storage: it must find at least every write whose change() returned.
    if (victim) {
        auto& first = fam.kids()[static_cast<std::size_t>(*victim)];
        REQUIRE(fam.wait_until([&] { return lines_of(first, "wrote ").size() >= kill_after; },
                               deadline));
        fam.kill(first);
        const auto returned = lines_of(first, "wrote ").size();
        CAPTURE(returned);
        auto& second = fam.spawn(s, args(*victim, port)); // r0: the same port again
        REQUIRE(fam.wait_until([&] { return !lines_of(second, "recovered ").empty(); }, deadline));
        const auto recovered = std::stoul(lines_of(second, "recovered ")[0]);
        CAPTURE(recovered);
        CHECK(recovered >= returned);
    }

    // Everyone converges; then they may exit.
    auto all_converged = [&] {
        return std::all_of(fam.kids().begin(), fam.kids().end(), [](const child_proc& c) {
            return c.pid < 0 || !lines_of(c, "converged").empty();
        });
    };
    const bool converged = fam.wait_until(all_converged, deadline);
    fam.finish(deadline);
    for (const auto& c : fam.kids()) {
        if (c.status != -1 || c.pid > 0) { // not a killed victim
            CAPTURE(c.who, c.lines);
            CHECK(c.status == 0);
        }
    }
    REQUIRE(converged);

    // Identical states, holding every write (and one of the contested ones).
    const std::string first = read_file(dir.path() / "dump-r0.txt");
    for (int who = 1; who < replicas; ++who) {
        CAPTURE(who);
        CHECK(read_file(dir.path() / ("dump-" + name_of(who) + ".txt")) == first);
    }
    CAPTURE(first);
    for (int who = 0; who < replicas; ++who) {
        for (int j = 0; j < writes_per_replica; ++j) {
            const auto [key, value] = write_of(who, j);
            if (key != "contested") {
                CHECK(first.find(key + " = " + value + "\n") != std::string::npos);
            }
        }
    }
    bool contested = false;
    for (int who = 0; who < replicas; ++who) {
        contested |= first.find("contested = " + name_of(who) + "\n") != std::string::npos;
    }
    CHECK(contested);
    std::size_t lines = static_cast<std::size_t>(std::count(first.begin(), first.end(), '\n'));
    CHECK(lines == static_cast<std::size_t>(replicas * keys_per_replica + 1));
}

} // namespace

TEST_CASE("replicas: two processes converge over TCP", "[processes][tcp]") {
    run(network::tcp, 2);
}

TEST_CASE("replicas: three processes converge over TCP", "[processes][tcp]") {
    run(network::tcp, 3);
}

TEST_CASE("replicas: two processes converge over a shared folder", "[processes][folder]") {
    run(network::folder, 2);
}

TEST_CASE("replicas: three processes converge over a shared folder", "[processes][folder]") {
    run(network::folder, 3);
}

TEST_CASE("replicas: a replica killed mid-way restarts from its storage (TCP)",
          "[processes][tcp][crash]") {
    run(network::tcp, 3, 2);
}

TEST_CASE("replicas: the listening replica killed mid-way restarts on its port (TCP)",
          "[processes][tcp][crash]") {
    run(network::tcp, 3, 0);
}

TEST_CASE("replicas: a replica killed mid-way restarts from its storage (folder)",
          "[processes][folder][crash]") {
    run(network::folder, 3, 1);
}
