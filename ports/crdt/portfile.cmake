# vcpkg overlay port for crdt (header-only):
#   vcpkg install crdt --overlay-ports=<checkout>/ports            # with SQLite and zlib
#   vcpkg install "crdt[core]" --overlay-ports=<checkout>/ports    # without either
#   vcpkg install "crdt[core,zlib]" --overlay-ports=<checkout>/ports   # zlib only
#
# The port builds the checkout it lives in (<checkout>/ports/crdt/../..), so it
# needs no download, REF or SHA512. vcpkg's binary cache keys on the port files,
# not on that checkout: after changing crdt itself, reinstall with
# --no-binarycaching. A port for a curated registry replaces SOURCE_PATH with
# vcpkg_from_github(OUT_SOURCE_PATH SOURCE_PATH REPO crdt-cpp/crdt
# REF "v${VERSION}" SHA512 <sha512 of that tarball> HEAD_REF main).
set(VCPKG_BUILD_TYPE release) # header-only: one configuration is all there is

get_filename_component(SOURCE_PATH "${CURRENT_PORT_DIR}/../.." ABSOLUTE)
if(NOT EXISTS "${SOURCE_PATH}/include/crdt/crdt.hpp")
    message(FATAL_ERROR "crdt overlay port: ${SOURCE_PATH} is not a crdt checkout "
                        "(use the port from <checkout>/ports)")
endif()

vcpkg_check_features(OUT_FEATURE_OPTIONS FEATURE_OPTIONS
    FEATURES
        sqlite CRDT_WITH_SQLITE
        zlib CRDT_WITH_ZLIB
)

vcpkg_cmake_configure(
    SOURCE_PATH "${SOURCE_PATH}"
    OPTIONS
        ${FEATURE_OPTIONS}
        -DCRDT_INSTALL=ON
        -DCRDT_BUILD_TESTS=OFF
        -DCRDT_BUILD_BENCHMARKS=OFF
        -DCRDT_BUILD_EXAMPLES=OFF
        -DCRDT_BUILD_FUZZERS=OFF
        -DCRDT_SANITIZE=OFF
)
vcpkg_cmake_install()
vcpkg_cmake_config_fixup(PACKAGE_NAME crdt CONFIG_PATH share/crdt)

# Nothing is compiled: no lib/, and the license goes to share/crdt/copyright.
file(REMOVE_RECURSE
    "${CURRENT_PACKAGES_DIR}/lib"
    "${CURRENT_PACKAGES_DIR}/debug"
    "${CURRENT_PACKAGES_DIR}/share/doc")

file(INSTALL "${CMAKE_CURRENT_LIST_DIR}/usage" DESTINATION "${CURRENT_PACKAGES_DIR}/share/${PORT}")
vcpkg_install_copyright(FILE_LIST "${SOURCE_PATH}/LICENSE")
