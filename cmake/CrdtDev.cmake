# crdt_dev: the flags crdt's own tests, examples, benchmarks and fuzzers build
# with. This target is never installed or exported; users of crdt::crdt get
# none of it.
add_library(crdt_dev INTERFACE)
add_library(crdt::dev ALIAS crdt_dev)
target_link_libraries(crdt_dev INTERFACE crdt)
# Tests, benchmarks and fuzzers of compressed encodings (crdt::zlib).
if(TARGET crdt_zlib)
    target_link_libraries(crdt_dev INTERFACE crdt_zlib)
endif()

if(CMAKE_CXX_COMPILER_ID MATCHES "GNU|Clang")
    target_compile_options(crdt_dev INTERFACE
        -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wsign-conversion
        -Wnon-virtual-dtor -Wold-style-cast -Wcast-align -Woverloaded-virtual
        -Wnull-dereference -Wimplicit-fallthrough)
    if(CRDT_WARNINGS_AS_ERRORS)
        target_compile_options(crdt_dev INTERFACE -Werror)
    endif()
endif()

# Library assertions (CRDT_ASSERT) stay on in every build of our own targets.
target_compile_definitions(crdt_dev INTERFACE CRDT_ENABLE_ASSERTS=1)

if(CRDT_SANITIZE)
    target_compile_options(crdt_dev INTERFACE
        -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer)
    target_link_options(crdt_dev INTERFACE -fsanitize=address,undefined)
endif()

# Helper: register a test that needs ../shared/ data. When the directory is
# missing (a user's own clone), the test is still registered but reports
# itself skipped with the reason, so `ctest` passes.
function(crdt_shared_data_available out_var)
    if(EXISTS "${CRDT_SHARED_DIR}/traces" AND EXISTS "${CRDT_SHARED_DIR}/conformance")
        set(${out_var} TRUE PARENT_SCOPE)
    else()
        set(${out_var} FALSE PARENT_SCOPE)
    endif()
endfunction()

function(crdt_add_skipped_test name reason)
    add_test(NAME ${name} COMMAND ${CMAKE_COMMAND} -E echo "CRDT_SKIPPED: ${reason}")
    set_tests_properties(${name} PROPERTIES SKIP_REGULAR_EXPRESSION "CRDT_SKIPPED:")
endfunction()
