#!/usr/bin/env bash
# The step functions below are only called through check(), not unreachable:
# shellcheck disable=SC2317
#
# tests/packaging/run.sh <source-dir> <work-dir>
#
# Checks that crdt can be consumed the ways docs/packaging.md promises, offline,
# with only cmake, a C++ compiler (CXX, default c++), ninja (optional) and python3:
#   1. install crdt with SQLite and zlib (tests, benchmarks, examples, fuzzers
#      off) into a prefix that is then moved (the config must be relocatable),
#      build and run the consumer test_package/ with find_package(crdt REQUIRED)
#      -> crdt::crdt (with SQLite and zlib disabled for the consumer: crdt::crdt
#      must not need them), with find_package(crdt REQUIRED COMPONENTS sqlite)
#      -> crdt::sqlite (a real in-memory SQLite database; zlib disabled), with
#      COMPONENTS zlib -> crdt::zlib (a real zlib round trip; SQLite disabled)
#      and with COMPONENTS sqlite zlib; COMPONENTS sqlite (zlib) on a machine
#      without SQLite3 (zlib) must fail at configure time naming it (the
#      directories the install found it in are hidden with CMAKE_IGNORE_PATH);
#   2. install with CRDT_WITH_SQLITE=OFF and CRDT_WITH_ZLIB=OFF: COMPONENTS
#      sqlite and COMPONENTS zlib must fail at configure time with crdt's
#      component-not-found messages; the core consumer still works;
#   3. consume crdt with add_subdirectory (tests/packaging/add_subdirectory): only
#      crdt::crdt, crdt::sqlite and crdt::zlib are defined, no dev target or dev
#      flag leaks;
#   4. the installed trees (also of two installs with only one of SQLite and
#      zlib): headers under include/crdt/, the three config files under
#      share/crdt/, nothing else but the license (no lib/), exactly the targets
#      of the options; the version file accepts 0.1 and rejects 1.0
#      (tests/packaging/version);
#   5. static checks of the Conan recipe and the vcpkg port (check_recipes.py),
#      against the four installs.
#
# Prints one PASS/FAIL line per check and exits non-zero if any failed. All
# files go to <work-dir> (created if missing; if it exists it must be empty or
# a previous work dir of this script); it is deleted on success and kept, with
# one log per check under <work-dir>/logs, on failure.
set -u -o pipefail

die() {
    echo "run.sh: $*" >&2
    exit 2
}

[[ $# -eq 2 ]] || die "usage: run.sh <source-dir> <work-dir>"
SRC=$(cd "$1" 2>/dev/null && pwd -P) || die "no source directory '$1'"
[[ -f $SRC/CMakeLists.txt && -f $SRC/test_package/CMakeLists.txt ]] ||
    die "'$SRC' is not a crdt checkout"
HERE=$SRC/tests/packaging

MARKER=.crdt-packaging-work
if [[ -e $2 ]]; then
    [[ -d $2 ]] || die "'$2' is not a directory"
    if [[ -n $(ls -A "$2") && ! -e $2/$MARKER ]]; then
        die "refusing to use '$2': not empty and not a work dir of this script"
    fi
fi
mkdir -p "$2" || die "cannot create '$2'"
WORK=$(cd "$2" && pwd -P)
case $WORK/ in
"$SRC"/*) die "the work dir must be outside the source tree" ;;
esac
find "$WORK" -mindepth 1 -delete
touch "$WORK/$MARKER"
mkdir -p "$WORK/logs" "$WORK/tmp"
export TMPDIR=$WORK/tmp

GENERATOR=()
if command -v ninja >/dev/null 2>&1; then
    GENERATOR=(-G Ninja)
fi
CMAKE_CONFIGURE=(cmake "${GENERATOR[@]}" -DCMAKE_BUILD_TYPE=Debug -Wno-dev)
FULL=$WORK/prefix/full               # crdt installed with SQLite and zlib (the default)
CORE=$WORK/prefix/core               # -DCRDT_WITH_SQLITE=OFF -DCRDT_WITH_ZLIB=OFF
SQLITE_ONLY=$WORK/prefix/sqlite-only # -DCRDT_WITH_SQLITE=ON -DCRDT_WITH_ZLIB=OFF
ZLIB_ONLY=$WORK/prefix/zlib-only     # -DCRDT_WITH_SQLITE=OFF -DCRDT_WITH_ZLIB=ON

FAILED=()
COUNT=0
START=$SECONDS

# check <name> <function> [args...]: runs the function in a `set -e` subshell,
# its output to a log; prints PASS/FAIL (and the log's tail on failure).
check() {
    local name=$1
    shift
    COUNT=$((COUNT + 1))
    local log
    log=$WORK/logs/$(printf '%02d' "$COUNT")-$1.log
    (
        set -e
        "$@"
    ) >"$log" 2>&1
    local rc=$?
    if [[ $rc -eq 0 ]]; then
        echo "PASS: $name"
    else
        echo "FAIL: $name"
        echo "      log: $log"
        tail -n 30 "$log" | sed 's/^/      | /'
        FAILED+=("$name")
    fi
    return $rc
}

# skip <name> <reason>: a check that could not run counts as failed.
skip() {
    COUNT=$((COUNT + 1))
    echo "FAIL: $1 (not run: $2)"
    FAILED+=("$1")
}

# --- steps -------------------------------------------------------------------

# install_crdt <prefix> <cmake args...>: configure, build and install crdt into a
# staging prefix, then move it to <prefix>: consumers only ever see a moved tree.
install_crdt() {
    local prefix=$1 name
    shift
    name=$(basename "$prefix")
    "${CMAKE_CONFIGURE[@]}" -S "$SRC" -B "$WORK/build/crdt-$name" \
        -DCMAKE_INSTALL_PREFIX="$WORK/stage/$name" \
        -DCRDT_INSTALL=ON -DCRDT_BUILD_TESTS=OFF -DCRDT_BUILD_BENCHMARKS=OFF \
        -DCRDT_BUILD_EXAMPLES=OFF -DCRDT_BUILD_FUZZERS=OFF "$@"
    cmake --build "$WORK/build/crdt-$name"
    cmake --install "$WORK/build/crdt-$name"
    # The headers the install had to copy (listed now: the tree may be edited meanwhile).
    (cd "$SRC/include" && find . -type f | sed 's|^\./||' | sort) >"$WORK/build/crdt-$name/source-headers.txt"
    mkdir -p "$(dirname "$prefix")"
    mv "$WORK/stage/$name" "$prefix"
}

# consumer <build-dir> <prefix> <expected output> <cmake args...>: configure,
# build and run test_package/ against an installed crdt.
consumer() {
    local build=$1 prefix=$2 expect=$3
    shift 3
    "${CMAKE_CONFIGURE[@]}" -S "$SRC/test_package" -B "$build" \
        -DCMAKE_PREFIX_PATH="$prefix" "$@"
    cmake --build "$build"
    "$build/test_package" | tee "$build/output.txt"
    grep -q "$expect" "$build/output.txt"
}

# must_fail_configure <build-dir> <message regex> <cmake configure args...>
must_fail_configure() {
    local build=$1 message=$2
    shift 2
    if "${CMAKE_CONFIGURE[@]}" -B "$build" "$@" >"$build.out" 2>&1; then
        cat "$build.out"
        echo "configure succeeded, but it must fail"
        return 1
    fi
    cat "$build.out"
    # Failed at configure time: no build system was generated.
    [[ ! -e $build/build.ninja && ! -e $build/Makefile ]]
    # CMake wraps long messages: compare with whitespace squeezed.
    tr -s ' \n' '  ' <"$build.out" | grep -Eq "$message" ||
        { echo "the output lacks /$message/"; return 1; }
}

# hidden_from_find <cache variable...>: prints -DCMAKE_IGNORE_PATH=<dirs> hiding,
# from find_path/find_library, the directories where crdt's full install found
# those variables' files (header dirs, library files), plus their twins under
# / for a merged /usr: a consumer configured with it is a machine without them.
hidden_from_find() {
    local cache=$WORK/build/crdt-full/CMakeCache.txt var value dir dirs=()
    for var in "$@"; do
        value=$(sed -n "s/^$var:[A-Z]*=//p" "$cache")
        [[ -n $value && $value != *NOTFOUND ]] || { echo "no $var in $cache" >&2; return 1; }
        if [[ -d $value ]]; then dir=$value; else dir=$(dirname "$value"); fi
        dirs+=("$dir")
        if [[ $dir == /usr/* ]]; then dirs+=("${dir#/usr}"); fi
    done
    local IFS=';'
    echo "-DCMAKE_IGNORE_PATH=${dirs[*]}"
}

# missing_dependency <build-dir> <test_package option> <package> <cache variables...>:
# the consumer with <option>=ON (COMPONENTS sqlite or zlib) on a machine
# without <package> fails at configure, saying so.
missing_dependency() {
    local build=$1 option=$2 package=$3 hide
    shift 3
    hide=$(hidden_from_find "$@")
    echo "hiding: $hide"
    mkdir -p "$build"
    must_fail_configure "$build" "Could NOT find $package" \
        -S "$SRC/test_package" -DCMAKE_PREFIX_PATH="$FULL" "-D$option=ON" "$hide"
}

subdirectory_consumer() {
    local build=$WORK/build/add_subdirectory
    "${CMAKE_CONFIGURE[@]}" -S "$HERE/add_subdirectory" -B "$build" -DCRDT_SOURCE_DIR="$SRC"
    cmake --build "$build"
    "$build/core_consumer" | tee "$build/core.txt"
    grep -q "OK.*(core only)" "$build/core.txt"
    "$build/sqlite_consumer" | tee "$build/sqlite.txt"
    grep -q "OK.*through SQLite" "$build/sqlite.txt"
    "$build/zlib_consumer" | tee "$build/zlib.txt"
    grep -q "OK.*through zlib" "$build/zlib.txt"
    "$build/leak_probe"
    # Nothing of crdt's own was built: the only executables are the consumer's.
    local built
    built=$(find "$build" -type f -perm -u+x ! -path '*/CMakeFiles/*' -printf '%f\n' | sort | tr '\n' ' ')
    echo "executables built: $built"
    [[ $built == "core_consumer leak_probe sqlite_consumer zlib_consumer " ]]
}

# installed_tree <prefix> <expected exported targets, e.g. "crdt::crdt crdt::zlib">
installed_tree() {
    local prefix=$1 expected=$2 bad=0
    cd "$prefix"
    find . -type f -o -type l | sed 's|^\./||' | sort >"$WORK/tmp/installed.txt"
    cat "$WORK/tmp/installed.txt"
    # Every file is a header under include/crdt/, a config file, or the license.
    local unexpected
    unexpected=$(grep -Ev '^include/crdt/.+\.hpp$|^share/crdt/crdt(Config|ConfigVersion|Targets)\.cmake$|^share/doc/crdt/LICENSE$' \
        "$WORK/tmp/installed.txt" || true)
    if [[ -n $unexpected ]]; then
        echo "unexpected installed files:"
        echo "$unexpected"
        bad=1
    fi
    for dir in lib lib64 bin share/cmake; do
        if [[ -e $dir ]]; then
            echo "$dir/ exists; a header-only install must not have it"
            bad=1
        fi
    done
    for f in crdtConfig.cmake crdtConfigVersion.cmake crdtTargets.cmake; do
        [[ -f share/crdt/$f ]] || { echo "missing share/crdt/$f"; bad=1; }
    done
    # Exactly the headers of the source tree.
    if ! diff "$WORK/build/crdt-$(basename "$prefix")/source-headers.txt" \
        <(cd include && find . -type f | sed 's|^\./||' | sort); then
        echo "include/ differs from the source tree's include/"
        bad=1
    fi
    # The config refers to nothing outside the prefix (no source or build path).
    if grep -n "$SRC\|$WORK" share/crdt/*.cmake; then
        echo "share/crdt/*.cmake contains absolute source/build paths"
        bad=1
    fi
    local targets
    targets=$(grep -o 'add_library(crdt::[a-z_]* INTERFACE IMPORTED)' share/crdt/crdtTargets.cmake |
        sort | tr '\n' ' ')
    echo "exported: $targets"
    local want="" target
    for target in $expected; do
        want+="add_library($target INTERFACE IMPORTED) "
    done
    if [[ $targets != "$want" ]]; then
        echo "expected: $want"
        bad=1
    fi
    return "$bad"
}

version_file() {
    "${CMAKE_CONFIGURE[@]}" -S "$HERE/version" -B "$WORK/build/version" -DCMAKE_PREFIX_PATH="$FULL"
    mkdir -p "$WORK/build/version-1.0"
    must_fail_configure "$WORK/build/version-1.0" \
        'Could not find a configuration file for package "crdt" that is compatible with requested version "1\.0"' \
        -S "$HERE/version" -DCMAKE_PREFIX_PATH="$FULL" -DCRDT_REQUIRE_VERSION=1.0
}

# --- the checks ----------------------------------------------------------------

echo "crdt packaging checks: source $SRC, work dir $WORK, compiler ${CXX:-c++}"

check "1. install crdt with SQLite and zlib (tests/benchmarks/examples/fuzzers off), then move the prefix" \
    install_crdt "$FULL" -DCRDT_WITH_SQLITE=ON -DCRDT_WITH_ZLIB=ON
have_full=$?
check "2. install crdt with -DCRDT_WITH_SQLITE=OFF -DCRDT_WITH_ZLIB=OFF, then move the prefix" \
    install_crdt "$CORE" -DCRDT_WITH_SQLITE=OFF -DCRDT_WITH_ZLIB=OFF
have_core=$?
check "4. install crdt with -DCRDT_WITH_SQLITE=ON -DCRDT_WITH_ZLIB=OFF (SQLite only, for checks 4 and 5)" \
    install_crdt "$SQLITE_ONLY" -DCRDT_WITH_SQLITE=ON -DCRDT_WITH_ZLIB=OFF
have_sqlite_only=$?
check "4. install crdt with -DCRDT_WITH_SQLITE=OFF -DCRDT_WITH_ZLIB=ON (zlib only, for checks 4 and 5)" \
    install_crdt "$ZLIB_ONLY" -DCRDT_WITH_SQLITE=OFF -DCRDT_WITH_ZLIB=ON
have_zlib_only=$?

name="1. find_package(crdt REQUIRED) + crdt::crdt builds and runs (consumer without SQLite or zlib)"
if [[ $have_full -eq 0 ]]; then
    check "$name" consumer "$WORK/build/core-on-full" "$FULL" "OK.*(core only)" \
        -DCRDT_TEST_SQLITE=OFF -DCRDT_TEST_ZLIB=OFF \
        -DCMAKE_DISABLE_FIND_PACKAGE_SQLite3=ON -DCMAKE_DISABLE_FIND_PACKAGE_ZLIB=ON
else skip "$name" "install failed"; fi

name="1. find_package(crdt REQUIRED COMPONENTS sqlite) + crdt::sqlite runs with SQLite :memory: (consumer without zlib)"
if [[ $have_full -eq 0 ]]; then
    check "$name" consumer "$WORK/build/sqlite-on-full" "$FULL" "OK.*through SQLite" \
        -DCRDT_TEST_SQLITE=ON -DCRDT_TEST_ZLIB=OFF -DCMAKE_DISABLE_FIND_PACKAGE_ZLIB=ON
else skip "$name" "install failed"; fi

name="1. find_package(crdt REQUIRED COMPONENTS zlib) + crdt::zlib compresses and decompresses (consumer without SQLite)"
if [[ $have_full -eq 0 ]]; then
    check "$name" consumer "$WORK/build/zlib-on-full" "$FULL" "OK.*through zlib" \
        -DCRDT_TEST_SQLITE=OFF -DCRDT_TEST_ZLIB=ON -DCMAKE_DISABLE_FIND_PACKAGE_SQLite3=ON
else skip "$name" "install failed"; fi

name="1. find_package(crdt REQUIRED COMPONENTS sqlite zlib) + crdt::sqlite crdt::zlib runs both"
if [[ $have_full -eq 0 ]]; then
    check "$name" consumer "$WORK/build/both-on-full" "$FULL" "OK.*through SQLite.*and through zlib" \
        -DCRDT_TEST_SQLITE=ON -DCRDT_TEST_ZLIB=ON
else skip "$name" "install failed"; fi

name="1. COMPONENTS sqlite without SQLite3 on the consumer's machine fails at configure: Could NOT find SQLite3"
if [[ $have_full -eq 0 ]]; then
    check "$name" missing_dependency "$WORK/build/sqlite-without-sqlite3" CRDT_TEST_SQLITE SQLite3 \
        SQLite3_INCLUDE_DIR SQLite3_LIBRARY
else skip "$name" "install failed"; fi

name="1. COMPONENTS zlib without zlib on the consumer's machine fails at configure: Could NOT find ZLIB"
if [[ $have_full -eq 0 ]]; then
    check "$name" missing_dependency "$WORK/build/zlib-without-zlib" CRDT_TEST_ZLIB ZLIB \
        ZLIB_INCLUDE_DIR ZLIB_LIBRARY_RELEASE
else skip "$name" "install failed"; fi

name="2. core-only install: find_package(crdt REQUIRED) + crdt::crdt still builds and runs"
if [[ $have_core -eq 0 ]]; then
    check "$name" consumer "$WORK/build/core-on-core" "$CORE" "OK.*(core only)" \
        -DCRDT_TEST_SQLITE=OFF -DCRDT_TEST_ZLIB=OFF
else skip "$name" "install failed"; fi

name="2. core-only install: COMPONENTS sqlite fails at configure with the component-not-found message"
if [[ $have_core -eq 0 ]]; then
    mkdir -p "$WORK/build/sqlite-on-core"
    check "$name" must_fail_configure "$WORK/build/sqlite-on-core" \
        "component 'sqlite' not found: crdt was installed without SQLite support" \
        -S "$SRC/test_package" -DCMAKE_PREFIX_PATH="$CORE" -DCRDT_TEST_SQLITE=ON
else skip "$name" "install failed"; fi

name="2. core-only install: COMPONENTS zlib fails at configure with the component-not-found message"
if [[ $have_core -eq 0 ]]; then
    mkdir -p "$WORK/build/zlib-on-core"
    check "$name" must_fail_configure "$WORK/build/zlib-on-core" \
        "component 'zlib' not found: crdt was installed without zlib support" \
        -S "$SRC/test_package" -DCMAKE_PREFIX_PATH="$CORE" -DCRDT_TEST_ZLIB=ON
else skip "$name" "install failed"; fi

check "3. add_subdirectory: crdt::crdt, crdt::sqlite, crdt::zlib consumers run, no crdt test/bench/example target, no dev flag leaks" \
    subdirectory_consumer

have_all=$((have_full || have_core || have_sqlite_only || have_zlib_only))
name="4. installed tree: include/crdt/*.hpp, share/crdt/{crdtConfig,crdtConfigVersion,crdtTargets}.cmake, no lib/"
if [[ $have_all -eq 0 ]]; then
    check "$name (with SQLite and zlib)" installed_tree "$FULL" "crdt::crdt crdt::sqlite crdt::zlib"
    check "$name (core only)" installed_tree "$CORE" "crdt::crdt"
    check "$name (SQLite only)" installed_tree "$SQLITE_ONLY" "crdt::crdt crdt::sqlite"
    check "$name (zlib only)" installed_tree "$ZLIB_ONLY" "crdt::crdt crdt::zlib"
else skip "$name" "install failed"; fi

name="4. version file: find_package(crdt 0.1) accepted, 1.0 / 0.2 / 0.0 rejected, arch-independent"
if [[ $have_full -eq 0 ]]; then
    check "$name" version_file
else skip "$name" "install failed"; fi

# 5. Static checks: check_recipes.py prints its own PASS/FAIL lines.
if [[ $have_all -eq 0 ]]; then
    recipe_log=$WORK/logs/static-recipes.log
    python3 "$HERE/check_recipes.py" "$SRC" "$FULL" "$CORE" "$SQLITE_ONLY" "$ZLIB_ONLY" 2>&1 |
        tee "$recipe_log" |
        sed 's/^\(PASS\|FAIL\): /\1: 5. /'
    while IFS= read -r line; do
        COUNT=$((COUNT + 1))
        [[ $line == FAIL:* ]] && FAILED+=("5. ${line#FAIL: }")
    done < <(grep -E '^(PASS|FAIL): ' "$recipe_log")
    if ! grep -qE '^(PASS|FAIL): ' "$recipe_log" || grep -q Traceback "$recipe_log"; then
        echo "FAIL: 5. check_recipes.py did not run to completion (log: $recipe_log)"
        FAILED+=("5. check_recipes.py")
    fi
else skip "5. static checks of conanfile.py and ports/crdt" "install failed"; fi

elapsed=$((SECONDS - START))
if [[ ${#FAILED[@]} -eq 0 ]]; then
    echo "packaging: all $COUNT checks passed in ${elapsed}s"
    find "$WORK" -mindepth 1 -delete
    rmdir "$WORK" 2>/dev/null || true
    exit 0
fi
echo "packaging: ${#FAILED[@]} of $COUNT checks FAILED in ${elapsed}s (logs kept in $WORK/logs):"
printf '  - %s\n' "${FAILED[@]}"
exit 1
