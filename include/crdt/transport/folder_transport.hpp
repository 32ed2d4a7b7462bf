// crdt/transport/folder_transport.hpp -- a transport through a shared
// directory: for devices that sync through a file-sync service (Dropbox,
// iCloud Drive, Syncthing) or processes on one machine.
//
// Each replica appends the messages it sends to its own outbox file in the
// directory and reads the other replicas' outboxes from where it stopped
// last time. Nothing but the directory is shared: no server, no socket, no
// thread. The layout and the file format are in
// crdt/detail/transport/folder.hpp; docs/transports.md tells what a sync
// service may do to the files and how each case is handled.
//
//   crdt::folder_transport t("/Users/me/Dropbox/notes.crdt", "laptop");
//   t.on_error([](const crdt::error& e) { log(e.what()); });
//   for (;;) {
//       t.poll([&](crdt::transport_event&& e) { session.handle(e); });
//       t.wait(std::chrono::milliseconds(500));
//   }
//
// Peers: every outbox file with a valid header is a peer (a replica that is
// not running is still one: its file stays, and its messages are read when
// the file arrives). A file disappearing, or its header changing, is left;
// a writer that restarts or rotates starts a new outbox generation, which
// its readers see as left, then joined with a fresh peer_id.
// Messages: send() appends one frame addressed to the peer's name and
// generation; each reader delivers only the frames addressed to itself.
// Delivery is in order per sender, each frame once (unless a file is
// restored after 64 others vanished: it is read again); a message can be lost (a rotated or
// replaced file whose tail was not read yet, a file a sync service garbled), never torn (frames are
// checksummed with a per-file salt). Closing does not delete the outbox: the next object with the
// same name deletes it.
//
// Differences from a socket transport: presence means "has an outbox in the
// directory", not "is running"; send() never answers would_block (there is
// no bound to wait on: the outbox rotates at rotate_bytes).
//
// Complexity: send() is one write(); poll() one stat() per peer plus the new
// bytes, and a directory listing when the directory changed or every
// rescan_interval. Thread safety: one object is used by one thread at a
// time; any number of objects (with distinct names) and processes may share
// the directory. Exception safety: poll() never throws for bad files (they
// go to the on_error sink); send() throws crdt::error only for its own
// outbox's I/O failures and oversized messages, leaving the outbox intact.
#pragma once

#include <crdt/core/config.hpp>
#include <crdt/core/error.hpp>
#include <crdt/detail/transport/folder.hpp>
#include <crdt/transport/concepts.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <type_traits>
#include <utility>

CRDT_BEGIN_NAMESPACE

/// Policy of folder_transport; derive from it and override a member. Members
/// may be static constants (as here) or data members of a policy object
/// passed to the constructor.
struct folder_transport_defaults {
    /// Largest message send() accepts and poll() reads; a frame above it in
    /// another replica's outbox is reported (errc::too_large) and the file is
    /// skipped until it changes. Use the same value on every replica.
    static constexpr std::size_t max_message_bytes = std::size_t{64} << 20;
    /// When an append makes the outbox larger than this, the writer starts a
    /// new generation and deletes the old file.
    static constexpr std::uint64_t rotate_bytes = std::uint64_t{16} << 20;
    /// Longest time between two listings of the directory. poll() also lists
    /// it when its modification time changed (a file created, deleted or
    /// renamed) and during the 3 s after such a change, so the interval only
    /// matters on file systems and sync clients that do not keep it.
    static constexpr std::chrono::milliseconds rescan_interval{1000};
    /// Whether each append (and each new outbox) is fsynced. Off by default:
    /// the sync protocol on top recovers lost messages.
    static constexpr bool sync_appends = false;
    /// How often wait() looks at the files while it sleeps.
    static constexpr std::chrono::milliseconds wait_granularity{50};
};

/// Counters of one folder_transport object.
struct folder_transport_stats {
    std::uint64_t sent = 0;           ///< messages appended by send()
    std::uint64_t received = 0;       ///< messages delivered by poll()
    std::uint64_t bytes_sent = 0;     ///< message bytes appended (without framing)
    std::uint64_t bytes_received = 0; ///< message bytes delivered
    std::uint64_t rotations = 0;      ///< new outbox generations after the first
    std::uint64_t errors = 0;         ///< errors reported (to the sink, if any)
};

/// A transport over a shared directory (see the file comment); satisfies
/// crdt::transport and crdt::waitable_transport.
template <class Policy = folder_transport_defaults>
class basic_folder_transport {
public:
    using policy_type = Policy;

    /// Effects: opens the transport of replica `self_name` in `dir`
    ///   (creating the directory if needed): locks the name, deletes the
    ///   name's older outbox generations and creates a new one. Reads
    ///   nothing: the first poll() announces the peers.
    /// Throws: crdt::error: conflict when another live object or process has
    ///   `self_name` open in `dir` (the message names the lock file);
    ///   invalid_value / invalid_utf8 for an empty, longer than 1024 bytes or
    ///   non-UTF-8 name, or a policy with max_message_bytes or rotate_bytes
    ///   out of range; io_error when the directory or the files cannot be
    ///   created (the message names the path).
    /// Complexity: one directory listing.
    basic_folder_transport(std::filesystem::path dir, std::string self_name, Policy policy = {})
        : impl_(std::move(dir), std::move(self_name), params_of(policy)) {}

    basic_folder_transport(const basic_folder_transport&) = delete;
    basic_folder_transport& operator=(const basic_folder_transport&) = delete;
    /// Effects: moves the open transport; the source may only be destroyed
    ///   or assigned to.
    basic_folder_transport(basic_folder_transport&&) = default;
    basic_folder_transport& operator=(basic_folder_transport&&) = default;

    /// Effects: closes the files and releases the name; the outbox stays
    ///   (peers keep reading it; the next object with this name deletes it).
    ~basic_folder_transport() = default;

    /// Returns: this replica's name.
    const std::string& self() const noexcept { return impl_.self(); }

    /// Effects: if `peer` is a joined peer, appends `bytes` to this
    ///   replica's outbox addressed to it. Starts a new outbox generation
    ///   when the outbox grows beyond rotate_bytes (a failure to do so is
    ///   reported to the error sink and retried by the next send).
    /// Returns: accepted, or closed (nothing written) when `peer` is unknown
    ///   or has left. Never would_block.
    /// Throws: crdt::error: too_large if `bytes` is longer than
    ///   max_message_bytes; io_error if the outbox cannot be written (the
    ///   outbox is left without a partial frame). Never for a closed peer.
    /// Complexity: one write() of the message plus 9 + 8 + the peer's name
    ///   + 1..2 bytes; an fdatasync with sync_appends.
    send_status send(peer_id peer, std::span<const std::byte> bytes) {
        return impl_.send(peer, bytes);
    }

    /// Requires: `on_event` does not call poll() or wait() of this object
    ///   (it may call send()).
    /// Effects: without blocking, lists the directory if it changed or
    ///   rescan_interval passed, then hands `on_event` (as
    ///   transport_event&&) what happened since the last call, in order:
    ///   left for vanished outboxes (after the messages their open
    ///   descriptors still held), joined for new ones (with the name from
    ///   the header), the new complete frames addressed to this replica.
    ///   Bad files are reported to the error sink and skipped until they
    ///   change (see docs/transports.md).
    /// Returns: the number of events handed over.
    /// Throws: what `on_event` or the error sink throw (the events already
    ///   handed over are consumed; the rest are delivered by the next
    ///   poll()); std::bad_alloc.
    /// Complexity: one stat() per peer, a listing when due, linear in the
    ///   new bytes.
    template <class F>
    std::size_t poll(F&& on_event) {
        using fn = std::remove_reference_t<F>;
        detail::transport::event_sink sink;
        sink.context = const_cast<void*>(static_cast<const void*>(std::addressof(on_event)));
        sink.call = [](void* c, transport_event&& e) { (*static_cast<fn*>(c))(std::move(e)); };
        return impl_.poll(sink);
    }

    /// Effects: sleeps until an outbox or the directory changed, a listing
    ///   is due, or `d` has passed (looking every wait_granularity).
    /// Throws: nothing but std::bad_alloc.
    void wait(std::chrono::milliseconds d) { impl_.wait(d); }

    /// Effects: `sink` receives every problem found while reading (a bad
    ///   header, a checksum mismatch, an oversized frame, a shortened file,
    ///   an I/O error), as a crdt::error naming the file and the offset. An
    ///   empty function (the default) drops them; stats().errors counts them.
    void on_error(std::function<void(const error&)> sink) { impl_.on_error(std::move(sink)); }

    /// Returns: the joined peers and their names.
    /// Complexity: linear in the number of peers.
    std::map<peer_id, std::string> peers() const { return impl_.peers(); }

    /// Returns: the shared directory (absolute).
    const std::filesystem::path& directory() const noexcept { return impl_.directory(); }

    /// Returns: the path of the current outbox generation.
    const std::filesystem::path& outbox_path() const noexcept { return impl_.outbox_path(); }

    /// Returns: the counters so far.
    folder_transport_stats stats() const noexcept {
        const auto& c = impl_.counters();
        folder_transport_stats s;
        s.sent = c.sent;
        s.received = c.received;
        s.bytes_sent = c.bytes_sent;
        s.bytes_received = c.bytes_received;
        s.rotations = c.rotations;
        s.errors = c.errors;
        return s;
    }

private:
    static detail::transport::folder_params params_of(const Policy& p) {
        detail::transport::folder_params out;
        out.max_message_bytes = p.max_message_bytes;
        out.rotate_bytes = p.rotate_bytes;
        out.rescan_interval =
            std::chrono::duration_cast<std::chrono::milliseconds>(p.rescan_interval);
        out.sync_appends = p.sync_appends;
        out.wait_granularity =
            std::chrono::duration_cast<std::chrono::milliseconds>(p.wait_granularity);
        return out;
    }

    detail::transport::folder_engine impl_;
};

/// The folder transport with the default policy.
using folder_transport = basic_folder_transport<>;

static_assert(waitable_transport<folder_transport>);

CRDT_END_NAMESPACE
