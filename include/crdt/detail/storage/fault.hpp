// crdt/detail/storage/fault.hpp -- a fault-injecting hook under the file
// helpers, for crash tests: it crashes the helpers at a chosen I/O step and
// then makes the disk look as a power loss would leave it.
//
// Every I/O step of crdt/detail/storage/file.hpp (open, write, sync,
// truncate, rename, unlink, mkdir, directory sync, lock-file open) first asks
// the active fault_plan, if any, whether it may run. A plan counts steps
// down; the step that reaches zero "crashes": a write first writes half of
// its bytes (a torn write), any other step does nothing; then
// simulated_crash is thrown and every later step also throws, so the adapter
// unwinds without touching the disk again. drop_unsynced() then applies the
// power-loss model:
//
//   file content   every file is truncated to its size at its last fsync
//                  (appended data that was never synced is lost);
//   directories    every change to a directory entry (a file created by
//                  open with O_CREAT of a name that did not exist, a rename,
//                  an unlink, a mkdir) that was not followed by a sync of its
//                  directory (for a rename between directories: of both) is
//                  undone, newest first, with directory_changes::lose (the
//                  default, adversarial case): a created file or directory
//                  disappears (a directory with everything in it), a renamed
//                  file goes back to its old name and a target it replaced
//                  comes back with its old content, an unlinked file comes
//                  back. directory_changes::keep keeps every change instead
//                  (what a file system that happened to write its journal
//                  does). Content truncation runs after the rollback, so a
//                  restored file has the size it had at its last sync.
//
// A change becomes durable at the sync of its directory (fsync of a directory
// makes every earlier change in it durable), and the plan forgets it then.
// To undo a rename over an existing target or an unlink, the plan keeps the
// old inode alive under a hidden hard link ".crdt-fault.<pid>.<n>" in the
// same directory, made just before the step and removed once the change is
// durable, by drop_unsynced(), or by the plan's destructor. Those names are
// visible in directory listings while a plan is active: they contain neither
// ".tmp." nor an adapter's file suffix, so adapters ignore them. A renamed or
// unlinked directory is not restored (no file helper does that).
//
// Directories created behind the helpers' back (std::filesystem::
// create_directories in adapter code) are found when watch_tree() named a
// tree to watch: a directory under it that the plan did not know counts as
// created just before the first step that touches a path inside it, or a sync
// of its parent, whichever comes first.
//
// Invariants: `files_` maps a (normalized, absolute) path to {current size,
// synced size}, following its inode through renames and into backups;
// `open_` maps a descriptor to its path; `changes_` holds the directory
// changes that are not durable yet, oldest first; every backup named in
// `changes_` exists. One plan is active at a time (install()/uninstall(),
// and the destructor uninstalls); steps from any thread are serialized by
// `mutex_` (a step's "before" and "after" hooks are two critical sections).
// While a plan is active, syncs are only recorded, not performed (see
// real_syncs()). Not for production use; it costs one relaxed atomic load per
// I/O step when no plan is installed.
//
// Complexity: a step costs O(log n) in the tracked files (a rename or an
// unlink also a hard link, a directory sync O(pending changes) and, inside a
// watched tree, a listing of the directory); drop_unsynced() is linear in the
// pending changes and tracked files. Exception safety: hooks throw
// simulated_crash (or std::bad_alloc) before changing anything;
// drop_unsynced() and the destructor ignore file-system errors.
#pragma once

#include <crdt/core/config.hpp>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <filesystem>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <system_error>
#include <vector>

#include <sys/stat.h>
#include <unistd.h>

CRDT_BEGIN_NAMESPACE
namespace detail::storage {

/// Thrown by an I/O step that a fault_plan crashed.
struct simulated_crash : std::exception {
    const char* what() const noexcept override { return "simulated crash"; }
};

/// What a simulated power loss does to directory changes that were not
/// followed by a sync of their directory.
enum class directory_changes : unsigned char {
    lose, ///< undo them all, newest first (the adversarial case)
    keep, ///< keep them all
};

class fault_plan {
public:
    /// Effects: a plan that crashes at I/O step number `crash_at` (0-based);
    ///   a negative value never crashes (it only counts steps).
    explicit fault_plan(long crash_at) : left_(crash_at) {}

    fault_plan(const fault_plan&) = delete;
    fault_plan& operator=(const fault_plan&) = delete;

    /// Effects: uninstalls the plan if it is active, and removes the hidden
    ///   backups of changes still pending (as directory_changes::keep would).
    ~fault_plan() {
        fault_plan* self = this;
        active().compare_exchange_strong(self, nullptr);
        for (const auto& c : changes_) {
            if (!c.backup.empty()) {
                ::unlink(c.backup.c_str());
            }
        }
    }

    /// Returns: whether sync steps also reach the disk. They do not by
    ///   default: the plan itself tracks what was synced, and skipping the
    ///   real fsync keeps crash tests fast.
    bool real_syncs() const noexcept { return real_syncs_; }
    void set_real_syncs(bool on) noexcept { real_syncs_ = on; }

    /// Effects: makes this plan the active one.
    void install() noexcept { active().store(this); }
    /// Effects: no plan is active any more.
    static void uninstall() noexcept { active().store(nullptr); }

    static std::atomic<fault_plan*>& active() noexcept {
        static std::atomic<fault_plan*> plan{nullptr};
        return plan;
    }

    /// Returns: whether the plan has crashed.
    bool crashed() const {
        std::lock_guard lock(mutex_);
        return crashed_;
    }

    /// Returns: the number of steps seen so far.
    long steps() const {
        std::lock_guard lock(mutex_);
        return steps_;
    }

    /// Returns: the number of directory changes not yet made durable by a
    ///   directory sync.
    std::size_t pending_directory_changes() const {
        std::lock_guard lock(mutex_);
        return changes_.size();
    }

    /// Effects: remembers every directory under `root` (included) as
    ///   existing; a directory that appears under `root` later without
    ///   passing through the file helpers is treated as created (see the
    ///   file comment). Call before the workload, typically before install().
    /// Complexity: a walk of the directories under `root`.
    void watch_tree(const std::filesystem::path& root) {
        const auto r = normalize(root);
        std::lock_guard lock(mutex_);
        roots_.push_back(r);
        known_dirs_.insert(r);
        std::error_code ec;
        for (auto it = std::filesystem::recursive_directory_iterator(r, ec);
             !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
            std::error_code dec;
            if (it->is_directory(dec)) {
                known_dirs_.insert(normalize(it->path()));
            }
        }
    }

    /// Effects: simulates a power loss: with directory_changes::lose, undoes
    ///   every directory change that no directory sync made durable, newest
    ///   first; with ::keep, keeps them; then truncates every tracked file
    ///   to its size at its last sync, and removes every hidden backup.
    ///   Errors of the file system calls are ignored (a file may be gone).
    void drop_unsynced(directory_changes dirs = directory_changes::lose) {
        std::lock_guard lock(mutex_);
        if (dirs == directory_changes::lose) {
            for (auto it = changes_.rbegin(); it != changes_.rend(); ++it) {
                undo_locked(*it);
            }
        } else {
            for (const auto& c : changes_) {
                commit_locked(c);
            }
        }
        changes_.clear();
        for (auto& [path, f] : files_) {
            if (f.size > f.synced) {
                if (::truncate(path.c_str(), static_cast<off_t>(f.synced)) != 0) {
                    // The file may be gone (e.g. inside a directory that was
                    // rolled back); nothing to drop then.
                }
                f.size = f.synced;
            }
        }
    }

    // --- hooks called by file.hpp --------------------------------------------
    //
    // A step that changes a directory entry has two hooks: before_*() counts
    // the step (and may throw simulated_crash, in which case the caller does
    // nothing) and prepares the rollback; on_*() records the change once the
    // system call succeeded; abandon() discards the preparation when it
    // failed.

    /// Counts an open step. Returns: whether `path` is a new name (only
    ///   asked when `may_create`).
    bool before_open(const std::string& path, bool may_create) {
        const auto p = normalize(path);
        std::lock_guard lock(mutex_);
        step_locked();
        discover_locked(parent_of(p));
        if (!may_create) {
            return false;
        }
        struct stat st {};
        return ::lstat(p.c_str(), &st) != 0 && errno == ENOENT;
    }
    /// Records an open descriptor (and the creation of its name when `created`).
    void on_open(int fd, const std::string& path, std::uint64_t size, bool created) {
        const auto p = normalize(path);
        std::lock_guard lock(mutex_);
        open_[fd] = p;
        if (created) {
            files_[p] = file{size, 0};
            changes_.push_back(change{change::create, p, {}, {}, parent_of(p), {}});
            return;
        }
        auto [it, inserted] = files_.try_emplace(p, file{size, size});
        if (!inserted && it->second.size != size) {
            it->second.size = size;
            if (it->second.synced > size) {
                it->second.synced = size;
            }
        }
    }
    // Returns how many of `n` bytes the write may write; a torn write then
    // calls after_torn_write().
    std::size_t on_write(int fd, std::size_t n) {
        std::lock_guard lock(mutex_);
        if (crashed_) {
            throw simulated_crash{};
        }
        const bool hit = left_ >= 0 && steps_ == left_;
        ++steps_;
        if (hit) {
            crashed_ = true;
            return n / 2; // the caller writes this much, then calls after_torn_write()
        }
        if (auto it = open_.find(fd); it != open_.end()) {
            files_[it->second].size += n;
        }
        return n;
    }
    void after_torn_write(int fd, std::size_t written) {
        {
            std::lock_guard lock(mutex_);
            if (auto it = open_.find(fd); it != open_.end()) {
                files_[it->second].size += written;
            }
        }
        throw simulated_crash{};
    }
    void on_sync(int fd) {
        std::lock_guard lock(mutex_);
        step_locked();
        if (auto it = open_.find(fd); it != open_.end()) {
            auto& f = files_[it->second];
            f.synced = f.size;
        }
    }
    /// A directory sync: every earlier change in `dir` becomes durable.
    void on_sync_dir(const std::string& dir) {
        const auto d = normalize(dir);
        std::lock_guard lock(mutex_);
        step_locked();
        discover_locked(d);
        if (under_root_locked(d)) {
            // Subdirectories created behind our back became durable now.
            std::error_code ec;
            for (auto it = std::filesystem::directory_iterator(d, ec);
                 !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
                std::error_code dec;
                if (it->is_directory(dec)) {
                    note_directory_locked(normalize(it->path()));
                }
            }
        }
        std::vector<change> keep;
        for (auto& c : changes_) {
            c.dir_synced = c.dir_synced || c.dir == d;
            c.dir2_synced = c.dir2_synced || c.dir2 == d;
            if (c.dir_synced && (c.dir2.empty() || c.dir2_synced)) {
                commit_locked(c);
            } else {
                keep.push_back(std::move(c));
            }
        }
        changes_ = std::move(keep);
    }
    void on_truncate(int fd, std::uint64_t size) {
        std::lock_guard lock(mutex_);
        step_locked();
        if (auto it = open_.find(fd); it != open_.end()) {
            auto& f = files_[it->second];
            f.size = size;
            if (f.synced > size) {
                f.synced = size;
            }
        }
    }
    /// Counts a rename step. Returns: the hidden backup of the existing
    ///   target, or "" when there is none.
    std::string before_rename(const std::string& from, const std::string& to) {
        const auto f = normalize(from);
        const auto t = normalize(to);
        std::lock_guard lock(mutex_);
        step_locked();
        discover_locked(parent_of(f));
        discover_locked(parent_of(t));
        return f == t ? std::string() : backup_locked(t);
    }
    void on_rename(const std::string& from, const std::string& to, const std::string& backup) {
        const auto f = normalize(from);
        const auto t = normalize(to);
        std::lock_guard lock(mutex_);
        if (f == t) {
            return; // renaming a name to itself changes nothing
        }
        if (backup.empty()) {
            forget_locked(t);
        } else {
            move_locked(t, backup);
        }
        move_locked(f, t);
        change c{change::rename, t, f, backup, parent_of(t), parent_of(f)};
        if (c.dir2 == c.dir) {
            c.dir2.clear();
        }
        changes_.push_back(std::move(c));
    }
    /// Counts an unlink step. Returns: the hidden backup of the file, or ""
    ///   when it does not exist.
    std::string before_unlink(const std::string& path) {
        const auto p = normalize(path);
        std::lock_guard lock(mutex_);
        step_locked();
        discover_locked(parent_of(p));
        return backup_locked(p);
    }
    void on_unlink(const std::string& path, const std::string& backup) {
        const auto p = normalize(path);
        std::lock_guard lock(mutex_);
        if (backup.empty()) {
            forget_locked(p);
        } else {
            move_locked(p, backup);
        }
        changes_.push_back(change{change::unlink, p, {}, backup, parent_of(p), {}});
    }
    /// Discards a backup made by before_rename() or before_unlink() whose
    /// system call failed.
    void abandon(const std::string& backup) noexcept {
        if (!backup.empty()) {
            ::unlink(backup.c_str());
        }
    }
    /// Counts a mkdir step.
    void before_mkdir(const std::string& path) {
        const auto p = normalize(path);
        std::lock_guard lock(mutex_);
        step_locked();
        discover_locked(parent_of(p));
    }
    void on_mkdir(const std::string& path) {
        const auto p = normalize(path);
        std::lock_guard lock(mutex_);
        known_dirs_.insert(p);
        changes_.push_back(change{change::mkdir, p, {}, {}, parent_of(p), {}});
    }
    void on_step() {
        std::lock_guard lock(mutex_);
        step_locked();
    }
    void on_close(int fd) noexcept {
        std::lock_guard lock(mutex_);
        open_.erase(fd);
    }

private:
    struct file {
        std::uint64_t size = 0;
        std::uint64_t synced = 0;
    };

    // One directory change that no directory sync made durable yet.
    struct change {
        enum kind_t { create, rename, unlink, mkdir } kind;
        std::string path;   // the name created, unlinked, or renamed to
        std::string from;   // rename: the old name
        std::string backup; // rename: the replaced target; unlink: the file
        std::string dir;    // the directory of `path`
        std::string dir2;   // rename between directories: the directory of `from`
        bool dir_synced = false;
        bool dir2_synced = false;
    };

    static std::string normalize(const std::filesystem::path& p) {
        std::error_code ec;
        auto a = std::filesystem::absolute(p, ec);
        auto s = (ec ? p : a).lexically_normal().string();
        while (s.size() > 1 && s.back() == '/') {
            s.pop_back();
        }
        return s;
    }

    static std::string parent_of(const std::string& p) {
        return std::filesystem::path(p).parent_path().string();
    }

    static bool inside(const std::string& path, const std::string& dir) {
        return path.size() > dir.size() && path.compare(0, dir.size(), dir) == 0 &&
               (path[dir.size()] == '/' || dir == "/");
    }

    void step_locked() {
        if (crashed_) {
            throw simulated_crash{};
        }
        const bool hit = left_ >= 0 && steps_ == left_;
        ++steps_;
        if (hit) {
            crashed_ = true;
            throw simulated_crash{};
        }
    }

    // Links the existing file `p` to a fresh hidden name in its directory.
    std::string backup_locked(const std::string& p) {
        struct stat st {};
        if (::lstat(p.c_str(), &st) != 0 || S_ISDIR(st.st_mode)) {
            return {};
        }
        const auto b = parent_of(p) + "/.crdt-fault." + std::to_string(::getpid()) + "." +
                       std::to_string(next_backup_++);
        if (::link(p.c_str(), b.c_str()) == 0) {
            return b;
        }
        std::error_code ec; // no hard links here: copy instead
        std::filesystem::copy_file(p, b, std::filesystem::copy_options::overwrite_existing, ec);
        return ec ? std::string() : b;
    }

    // Moves the record of `from`, and every descriptor on it, to `to`.
    void move_locked(const std::string& from, const std::string& to) {
        auto node = files_.extract(from);
        files_.erase(to);
        if (node) {
            node.key() = to;
            files_.insert(std::move(node));
        }
        for (auto& [fd, path] : open_) {
            if (path == from) {
                path = to;
            }
        }
    }

    // Stops tracking `p` (and, with `tree`, everything under it).
    void forget_locked(const std::string& p, bool tree = false) {
        auto gone = [&](const std::string& q) { return q == p || (tree && inside(q, p)); };
        std::erase_if(files_, [&](const auto& kv) { return gone(kv.first); });
        std::erase_if(open_, [&](const auto& kv) { return gone(kv.second); });
        if (tree) {
            std::erase_if(known_dirs_, gone);
        }
    }

    // The change is durable (or kept): its backup is no longer needed.
    void commit_locked(const change& c) {
        if (!c.backup.empty()) {
            ::unlink(c.backup.c_str());
            forget_locked(c.backup);
        }
    }

    void undo_locked(const change& c) {
        struct stat st {};
        switch (c.kind) {
        case change::create:
            ::unlink(c.path.c_str());
            forget_locked(c.path);
            break;
        case change::mkdir: {
            std::error_code ec;
            std::filesystem::remove_all(c.path, ec);
            forget_locked(c.path, true);
            break;
        }
        case change::rename:
            if (::lstat(c.from.c_str(), &st) == 0) {
                // The old name was taken again by a change that is durable
                // (possible only between directories): the renamed file is lost.
                ::unlink(c.path.c_str());
                forget_locked(c.path);
            } else if (::rename(c.path.c_str(), c.from.c_str()) == 0) {
                move_locked(c.path, c.from);
            }
            if (!c.backup.empty() && ::rename(c.backup.c_str(), c.path.c_str()) == 0) {
                move_locked(c.backup, c.path);
            }
            break;
        case change::unlink:
            if (!c.backup.empty() && ::rename(c.backup.c_str(), c.path.c_str()) == 0) {
                move_locked(c.backup, c.path);
            }
            break;
        }
    }

    bool under_root_locked(const std::string& d) const {
        return std::any_of(roots_.begin(), roots_.end(),
                           [&](const std::string& r) { return d == r || inside(d, r); });
    }

    // Records directory `d` as created now if it exists and is unknown.
    void note_directory_locked(const std::string& d) {
        if (known_dirs_.insert(d).second) {
            changes_.push_back(change{change::mkdir, d, {}, {}, parent_of(d), {}});
        }
    }

    // Finds the directories on the way from a watched root to `dir` that
    // appeared behind the helpers' back, outermost first.
    void discover_locked(const std::string& dir) {
        if (roots_.empty() || known_dirs_.count(dir) != 0) {
            return;
        }
        for (const auto& r : roots_) {
            if (!inside(dir, r)) {
                continue;
            }
            std::string cur = r;
            for (const auto& part : std::filesystem::path(dir.substr(r.size()))) {
                if (part == "/" || part.empty()) {
                    continue;
                }
                if (cur != "/") {
                    cur += '/';
                }
                cur += part.string();
                struct stat st {};
                if (::stat(cur.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
                    return;
                }
                note_directory_locked(cur);
            }
            return;
        }
    }

    mutable std::mutex mutex_;
    long left_;
    bool real_syncs_ = false;
    long steps_ = 0;
    bool crashed_ = false;
    std::uint64_t next_backup_ = 0;
    std::map<std::string, file> files_;
    std::map<int, std::string> open_;
    std::vector<change> changes_;
    std::vector<std::string> roots_;
    std::set<std::string> known_dirs_;
};

inline fault_plan* active_fault_plan() noexcept {
    return fault_plan::active().load(std::memory_order_relaxed);
}

} // namespace detail::storage
CRDT_END_NAMESPACE
