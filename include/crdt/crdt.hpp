// crdt/crdt.hpp -- umbrella header: everything in crdt that needs no extra
// library. For users only; crdt's own headers never include it.
// (crdt/storage/sqlite_storage.hpp needs the crdt::sqlite target, and
// crdt/transport/tcp_transport.hpp pulls in Boost.Asio, and
// crdt/codec/compressed.hpp needs the crdt::zlib target: include them
// yourself.)
#pragma once

#include <crdt/btree/btree_map.hpp>
#include <crdt/btree/tree.hpp>
#include <crdt/codec/codec.hpp>
#include <crdt/codec/crc32c.hpp>
#include <crdt/codec/framing.hpp>
#include <crdt/codec/reader.hpp>
#include <crdt/codec/utf8.hpp>
#include <crdt/codec/varint.hpp>
#include <crdt/codec/writer.hpp>
#include <crdt/core/causal_context.hpp>
#include <crdt/core/concepts.hpp>
#include <crdt/core/config.hpp>
#include <crdt/core/dot.hpp>
#include <crdt/core/error.hpp>
#include <crdt/core/hybrid_logical_clock.hpp>
#include <crdt/core/lamport_clock.hpp>
#include <crdt/core/replica_id.hpp>
#include <crdt/core/version_vector.hpp>
#include <crdt/g_counter.hpp>
#include <crdt/lww_map.hpp>
#include <crdt/lww_register.hpp>
#include <crdt/mv_register.hpp>
#include <crdt/or_map.hpp>
#include <crdt/or_set.hpp>
#include <crdt/pn_counter.hpp>
#include <crdt/sequence.hpp>
#include <crdt/storage/cached_storage.hpp>
#include <crdt/storage/concepts.hpp>
#include <crdt/storage/durability.hpp>
#include <crdt/storage/file_storage.hpp>
#include <crdt/storage/key.hpp>
#include <crdt/storage/log_storage.hpp>
#include <crdt/storage/memory_storage.hpp>
#include <crdt/store/replica.hpp>
#include <crdt/sync/concepts.hpp>
#include <crdt/sync/message.hpp>
#include <crdt/sync/session.hpp>
#include <crdt/text.hpp>
#include <crdt/transport/concepts.hpp>
#include <crdt/transport/folder_transport.hpp>
#include <crdt/transport/loopback.hpp>
#include <crdt/transport/mux.hpp>
#include <crdt/value.hpp>
