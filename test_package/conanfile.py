# Conan 2 test_package for crdt: builds test_package.cpp against the package
# through CMakeDeps, with the same CMakeLists.txt tests/packaging/run.sh builds
# against crdt's own `cmake --install` tree.
import os

from conan import ConanFile
from conan.tools.build import can_run
from conan.tools.cmake import CMake, CMakeDeps, CMakeToolchain, cmake_layout


class CrdtTestPackageConan(ConanFile):
    settings = "os", "arch", "compiler", "build_type"
    generators = "VirtualRunEnv"
    test_type = "explicit"

    def requirements(self):
        self.requires(self.tested_reference_str)

    def layout(self):
        cmake_layout(self)

    def generate(self):
        deps = CMakeDeps(self)
        deps.generate()
        toolchain = CMakeToolchain(self)
        options = self.dependencies[self.tested_reference_str].options
        toolchain.cache_variables["CRDT_TEST_SQLITE"] = bool(options.with_sqlite)
        toolchain.cache_variables["CRDT_TEST_ZLIB"] = bool(options.with_zlib)
        toolchain.generate()

    def build(self):
        cmake = CMake(self)
        cmake.configure()
        cmake.build()

    def test(self):
        if can_run(self):
            binary = os.path.join(self.cpp.build.bindir, "test_package")
            self.run(binary, env="conanrun")
