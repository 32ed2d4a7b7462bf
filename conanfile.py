# Conan 2 recipe for crdt, a header-only C++20 library of CRDTs.
#
#   conan create . -o "crdt/*:with_sqlite=True" -o "crdt/*:with_zlib=True"   # from a checkout
#
# Consumers get exactly the names of crdt's own CMake install (CMakeDeps):
#   find_package(crdt REQUIRED)                     -> crdt::crdt
#   find_package(crdt REQUIRED COMPONENTS sqlite)   -> crdt::sqlite (with_sqlite=True)
#   find_package(crdt REQUIRED COMPONENTS zlib)     -> crdt::zlib (with_zlib=True)
# tests/packaging/check_recipes.py checks these names against the installed
# crdtTargets.cmake and runs this recipe's methods under a stub of the `conan`
# module; see docs/packaging.md for what has, and has not, been run for real.
import os

from conan import ConanFile
from conan.errors import ConanInvalidConfiguration
from conan.tools.build import check_min_cppstd
from conan.tools.files import copy
from conan.tools.layout import basic_layout
from conan.tools.scm import Version

required_conan_version = ">=2.0"


class CrdtConan(ConanFile):
    name = "crdt"
    version = "0.1.0"
    description = "Header-only C++20 library of conflict-free replicated data types"
    license = "MIT"
    homepage = "https://github.com/crdt-cpp/crdt"
    url = "https://github.com/crdt-cpp/crdt"
    topics = ("crdt", "replication", "distributed-systems", "header-only")

    package_type = "header-library"
    # Settings only feed validate(); package_id() clears them.
    settings = "os", "arch", "compiler", "build_type"
    options = {"with_sqlite": [True, False], "with_zlib": [True, False]}
    default_options = {
        "with_sqlite": True,
        "with_zlib": True,
        # crdt needs Boost's headers only (Boost.Container); never build Boost's libraries.
        "boost/*:header_only": True,
    }
    exports_sources = "include/*", "LICENSE"
    no_copy_source = True

    @property
    def _min_cppstd(self):
        return 20

    @property
    def _compilers_minimum_version(self):
        # The compilers crdt is built and tested with; older ones are refused,
        # unknown ones are let through.
        return {"gcc": "12", "clang": "14"}

    def layout(self):
        basic_layout(self)

    def requirements(self):
        # A header-library's requirements are transitive (headers and libs)
        # by default in Conan 2: consumers see Boost, range-v3, SQLite and zlib.
        self.requires("boost/[>=1.74 <2]")
        self.requires("range-v3/0.12.0")
        if self.options.with_sqlite:
            self.requires("sqlite3/[>=3.40 <4]")
        if self.options.with_zlib:
            self.requires("zlib/[>=1.2.11 <2]")

    def package_id(self):
        # One package for every configuration: the packaged headers are the
        # same for every setting and option; with_sqlite and with_zlib only
        # change the requirements and package_info().
        self.info.clear()

    def validate(self):
        if self.settings.compiler.get_safe("cppstd"):
            check_min_cppstd(self, self._min_cppstd)
        compiler = str(self.settings.compiler)
        minimum = self._compilers_minimum_version.get(compiler)
        if minimum and Version(self.settings.compiler.version) < minimum:
            raise ConanInvalidConfiguration(
                f"{self.ref} needs C++{self._min_cppstd}: {compiler} >= {minimum}, "
                f"got {self.settings.compiler.version}"
            )

    def package(self):
        copy(self, "LICENSE", src=self.source_folder,
             dst=os.path.join(self.package_folder, "licenses"))
        copy(self, "*.hpp", src=os.path.join(self.source_folder, "include"),
             dst=os.path.join(self.package_folder, "include"))

    def package_info(self):
        self.cpp_info.bindirs = []
        self.cpp_info.libdirs = []
        self.cpp_info.set_property("cmake_file_name", "crdt")
        # CMakeDeps' global target links every component. With at most one of
        # sqlite and zlib, name it after the largest component (as
        # conan-center's Catch2 does) so that no target exists beyond the ones
        # the CMake install exports, and crdt::crdt never drags in SQLite or
        # zlib. With both, no component contains the other: the global target
        # gets a name of its own, crdt::conan_all (Conan only, not for use), so
        # that crdt::sqlite never drags in zlib nor crdt::zlib SQLite.
        if self.options.with_sqlite and self.options.with_zlib:
            global_target = "crdt::conan_all"
        elif self.options.with_sqlite:
            global_target = "crdt::sqlite"
        elif self.options.with_zlib:
            global_target = "crdt::zlib"
        else:
            global_target = "crdt::crdt"
        self.cpp_info.set_property("cmake_target_name", global_target)

        core = self.cpp_info.components["core"]
        core.set_property("cmake_target_name", "crdt::crdt")
        core.bindirs = []
        core.libdirs = []
        core.requires = ["boost::headers", "range-v3::range-v3"]

        if self.options.with_sqlite:
            sqlite = self.cpp_info.components["sqlite"]
            sqlite.set_property("cmake_target_name", "crdt::sqlite")
            sqlite.bindirs = []
            sqlite.libdirs = []
            sqlite.requires = ["core", "sqlite3::sqlite3"]
            sqlite.defines = ["CRDT_WITH_SQLITE=1"]

        if self.options.with_zlib:
            zlib = self.cpp_info.components["zlib"]
            zlib.set_property("cmake_target_name", "crdt::zlib")
            zlib.bindirs = []
            zlib.libdirs = []
            zlib.requires = ["core", "zlib::zlib"]
            zlib.defines = ["CRDT_WITH_ZLIB=1"]
