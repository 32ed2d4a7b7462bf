# The trace_replay and conformance_check executables (docs/tools.md).
#
# Included by benchmarks/CMakeLists.txt and by tests/tools/CMakeLists.txt;
# whichever comes first defines the targets, so a build with tests but no
# benchmarks (the sanitizer build in .ci/run) still builds and tests them.
# Either way they land in <build>/benchmarks/.
include_guard(GLOBAL)

find_package(ZLIB REQUIRED)
find_package(nlohmann_json 3 REQUIRED)

# The trace loaders (tests/support/traces.*, shared with the tests) and
# telling trace kinds apart. Always optimized, like the tests' copy: parsing
# a 16 MB trace with nlohmann::json at -O0 takes seconds, and none of this is
# code under test (sanitizers still instrument it).
add_library(crdt_tool_traces STATIC
    "${PROJECT_SOURCE_DIR}/tests/support/traces.cpp"
    "${CMAKE_CURRENT_LIST_DIR}/trace_files.cpp")
target_include_directories(crdt_tool_traces PUBLIC
    "${PROJECT_SOURCE_DIR}/tests" "${CMAKE_CURRENT_LIST_DIR}")
target_link_libraries(crdt_tool_traces PUBLIC crdt_dev ZLIB::ZLIB nlohmann_json::nlohmann_json)
target_compile_definitions(crdt_tool_traces PRIVATE CRDT_SHARED_DIR="${CRDT_SHARED_DIR}")
if(CMAKE_CXX_COMPILER_ID MATCHES "GNU|Clang")
    target_compile_options(crdt_tool_traces PRIVATE -O2)
endif()

foreach(crdt_tool IN ITEMS trace_replay conformance_check)
    add_executable(${crdt_tool} "${CMAKE_CURRENT_LIST_DIR}/${crdt_tool}.cpp")
    target_link_libraries(${crdt_tool} PRIVATE crdt_tool_traces)
    set_target_properties(${crdt_tool} PROPERTIES
        RUNTIME_OUTPUT_DIRECTORY "${PROJECT_BINARY_DIR}/benchmarks")
endforeach()
