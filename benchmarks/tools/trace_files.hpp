// benchmarks/tools/trace_files.hpp -- reading a shared editing trace of
// either kind (../shared/traces/FORMAT.md) for the trace_replay tool.
//
// The loaders are tests/support/traces.hpp's; this adds telling the two
// kinds apart. Compiled with optimization in every build type (like the
// tests' trace library): nlohmann::json at -O0 takes seconds on a 16 MB
// trace, and none of this is code under test.
//
// Complexity: linear in the file size (the file is read twice: once to
// find its kind, once to load it). Thread safety: no shared state.
// Exception safety: strong (throws before returning anything).
#pragma once

#include "support/traces.hpp"

#include <string>
#include <variant>

namespace crdt_tools {

/// A trace of either kind, as tests/support/traces.hpp loads it.
using any_trace =
    std::variant<crdt_test::traces::sequential_trace, crdt_test::traces::concurrent_trace>;

/// Returns: the trace stored at `path` (`.json` or `.json.gz`): concurrent
///   if its top-level object has the key "numAgents" or "kind": "concurrent",
///   sequential otherwise.
/// Throws: crdt::error as crdt_test::traces::load_sequential_trace and
///   load_concurrent_trace do; every message starts with `path`.
any_trace load_trace(const std::string& path);

} // namespace crdt_tools
