// crdt/fwd.hpp -- forward declarations of crdt's public templates.
//
// The only place where default template arguments are written. Include it
// instead of a full header where a declaration is enough.
#pragma once

#include <crdt/core/config.hpp>

CRDT_BEGIN_NAMESPACE

// core/
class replica_id;
class replica_id128;
class agent_id;
template <class T, class Enable = void>
struct codec;
class byte_writer;
class byte_reader;
class error;
enum class errc : int;
enum class causal_order;
class lamport_clock;
struct hlc_timestamp;
struct system_wall_clock;

CRDT_END_NAMESPACE
