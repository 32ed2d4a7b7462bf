#!/usr/bin/env python3
"""Static checks of crdt's Conan recipe and vcpkg overlay port (stdlib only).

Conan and vcpkg cannot run here (their registries are unreachable), so this
checks what can be checked without them, against a real `cmake --install` of
crdt:

  * conanfile.py and test_package/conanfile.py compile (py_compile);
  * the version in conanfile.py, ports/crdt/vcpkg.json and CMakeLists.txt agree;
  * the recipe, executed under a small stub of the `conan` module, declares the
    CMake file name and target names the install exports (read from the
    installed crdtConfig.cmake / crdtTargets.cmake), the same compile
    definitions and the dependencies matching the exported link libraries,
    for every combination of with_sqlite and with_zlib (each against an
    install with the same CRDT_WITH_SQLITE / CRDT_WITH_ZLIB), requires SQLite
    exactly when with_sqlite is on and zlib exactly when with_zlib is on, names
    CMakeDeps' global target so that it adds nothing to a component's target,
    clears its package id, validates C++20, and packages every file under
    include/ (what the CMake install copies) plus LICENSE;
  * vcpkg.json is valid, with the sqlite and zlib features and the host
    dependencies;
  * portfile.cmake maps the features to -DCRDT_WITH_SQLITE / -DCRDT_WITH_ZLIB,
    only sets options CMakeLists.txt declares, fixes up share/crdt and
    installs usage/copyright;
  * the usage file names find_package(crdt CONFIG REQUIRED) and the targets.

Usage: check_recipes.py <source-dir> <full-install-prefix> <core-only-install-prefix>
                        <sqlite-only-install-prefix> <zlib-only-install-prefix>
  (full: CRDT_WITH_SQLITE=ON CRDT_WITH_ZLIB=ON; core-only: both OFF; the others
  one of them ON)
Prints one PASS/FAIL line per check; exits 1 if any check failed.
"""

import ast
import contextlib
import fnmatch
import importlib.util
import json
import os
import py_compile
import re
import shutil
import sys
import tempfile
import types

FAILURES = []
sys.dont_write_bytecode = True  # leave no __pycache__ in the source tree


def report(name, problems):
    """Prints PASS/FAIL for one check; `problems` is a list of strings."""
    if problems:
        FAILURES.append(name)
        print(f"FAIL: {name}")
        for problem in problems:
            print(f"      - {problem}")
    else:
        print(f"PASS: {name}")


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


# --------------------------------------------------------------------------
# What the CMake install exports.
# --------------------------------------------------------------------------


def cmake_exports(prefix):
    """Returns (file_name, {target: {"defines": [...], "links": [...]}}) of an install."""
    config_dir = os.path.join(prefix, "share", "crdt")
    configs = [f for f in os.listdir(config_dir) if f.endswith("Config.cmake")]
    if len(configs) != 1:
        raise RuntimeError(f"expected one *Config.cmake in {config_dir}, found {configs}")
    file_name = configs[0][: -len("Config.cmake")]
    text = read(os.path.join(config_dir, "crdtTargets.cmake"))
    targets = {}
    for target in re.findall(r"add_library\((\S+) INTERFACE IMPORTED\)", text):
        props = re.search(
            r"set_target_properties\(" + re.escape(target) + r" PROPERTIES(.*?)\n\)", text, re.S
        )
        body = props.group(1) if props else ""

        def prop(name, body=body):
            m = re.search(name + r' "([^"]*)"', body)
            return [v for v in m.group(1).split(";") if v] if m else []

        targets[target] = {
            "defines": prop("INTERFACE_COMPILE_DEFINITIONS"),
            "links": prop("INTERFACE_LINK_LIBRARIES"),
        }
    return file_name, targets


# --------------------------------------------------------------------------
# A stub of the parts of the `conan` module the recipes import.
# --------------------------------------------------------------------------


class StubInvalidConfiguration(Exception):
    pass


class StubOption:
    def __init__(self, value):
        self.value = value

    def __bool__(self):
        return str(self.value).lower() in ("true", "1", "on")

    def __eq__(self, other):
        return str(self.value) == str(other)

    def __str__(self):
        return str(self.value)


class StubOptions:
    def __init__(self, values):
        for key, value in values.items():
            setattr(self, key, StubOption(value))


class StubCompiler:
    def __init__(self, name, version, cppstd):
        self.name, self.version, self.cppstd = name, version, cppstd

    def get_safe(self, key):
        return getattr(self, key, None)

    def __str__(self):
        return self.name

    def __eq__(self, other):
        return self.name == str(other)


class StubSettings:
    def __init__(self, compiler, version, cppstd):
        self.compiler = StubCompiler(compiler, version, cppstd)
        self.os, self.arch, self.build_type = "Linux", "x86_64", "Release"

    def get_safe(self, key):
        obj = self
        for part in key.split("."):
            obj = getattr(obj, part, None)
        return obj


class StubComponent:
    def __init__(self):
        self.properties = {}
        self.requires = []
        self.defines = []
        self.bindirs = ["bin"]
        self.libdirs = ["lib"]
        self.libs = []

    def set_property(self, key, value):
        self.properties[key] = value


class StubComponents:
    """cpp_info.components[...] creates a component on first use, as in Conan."""

    def __init__(self):
        self.store = {}

    def __getitem__(self, key):
        return self.store.setdefault(key, StubComponent())


class StubCppInfo(StubComponent):
    def __init__(self):
        super().__init__()
        self.components = StubComponents()


class StubInfo:
    def __init__(self):
        self.cleared = False

    def clear(self):
        self.cleared = True


class StubVersion:
    def __init__(self, text):
        self.parts = [int(p) for p in re.findall(r"\d+", str(text))]

    def _cmp(self, other):
        a, b = self.parts, StubVersion(other).parts
        n = max(len(a), len(b))
        a, b = a + [0] * (n - len(a)), b + [0] * (n - len(b))
        return (a > b) - (a < b)

    def __lt__(self, other):
        return self._cmp(other) < 0

    def __ge__(self, other):
        return self._cmp(other) >= 0


class StubConanFile:
    """Only what the recipes use; the test sets attributes before each call."""

    def __init__(self):
        self.calls = []
        self.requirements_seen = []
        self.cpp_info = StubCppInfo()
        self.info = StubInfo()
        self.ref = "crdt/stub"

    def requires(self, ref, **traits):
        self.requirements_seen.append((ref, traits))


def stub_copy(conanfile, pattern, src, dst, keep_path=True, excludes=None):
    """Conan 2's copy(): fnmatch on paths relative to src, recursively."""
    copied = []
    for root, _, files in os.walk(src):
        for name in files:
            rel = os.path.relpath(os.path.join(root, name), src).replace(os.sep, "/")
            if fnmatch.fnmatch(rel, pattern):
                target = os.path.join(dst, rel if keep_path else name)
                os.makedirs(os.path.dirname(target), exist_ok=True)
                shutil.copy2(os.path.join(root, name), target)
                copied.append(target)
    return copied


def stub_check_min_cppstd(conanfile, cppstd):
    conanfile.calls.append(("check_min_cppstd", int(cppstd)))
    actual = conanfile.settings.compiler.get_safe("cppstd")
    if actual and int(str(actual).replace("gnu", "")) < int(cppstd):
        raise StubInvalidConfiguration(f"needs C++{cppstd}, got {actual}")


def make_conan_stub():
    """Returns {module name: module} for `conan` and the submodules used."""
    mods = {}
    for name in ("conan", "conan.errors", "conan.tools", "conan.tools.build",
                 "conan.tools.files", "conan.tools.layout", "conan.tools.scm",
                 "conan.tools.cmake"):
        mods[name] = types.ModuleType(name)
    mods["conan"].ConanFile = StubConanFile
    mods["conan.errors"].ConanInvalidConfiguration = StubInvalidConfiguration
    mods["conan.errors"].ConanException = StubInvalidConfiguration
    mods["conan.tools.build"].check_min_cppstd = stub_check_min_cppstd
    mods["conan.tools.build"].can_run = lambda conanfile: True
    mods["conan.tools.files"].copy = stub_copy
    mods["conan.tools.layout"].basic_layout = (
        lambda conanfile, src_folder=".": conanfile.calls.append(("basic_layout", src_folder))
    )
    mods["conan.tools.scm"].Version = StubVersion

    class CMakeToolchain:
        instances = []

        def __init__(self, conanfile):
            self.variables, self.cache_variables = {}, {}
            CMakeToolchain.instances.append(self)

        def generate(self):
            pass

    class CMakeDeps:
        def __init__(self, conanfile):
            pass

        def generate(self):
            pass

    mods["conan.tools.cmake"].CMakeToolchain = CMakeToolchain
    mods["conan.tools.cmake"].CMakeDeps = CMakeDeps
    mods["conan.tools.cmake"].CMake = object
    mods["conan.tools.cmake"].cmake_layout = lambda conanfile, **kw: None
    return mods


@contextlib.contextmanager
def conan_stub_installed():
    saved = {k: v for k, v in sys.modules.items() if k == "conan" or k.startswith("conan.")}
    for k in saved:
        del sys.modules[k]
    sys.modules.update(make_conan_stub())
    try:
        yield sys.modules
    finally:
        for k in [k for k in sys.modules if k == "conan" or k.startswith("conan.")]:
            del sys.modules[k]
        sys.modules.update(saved)


def load_module(path, name):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def recipe_class(module):
    classes = [v for v in vars(module).values()
               if isinstance(v, type) and issubclass(v, StubConanFile) and v is not StubConanFile]
    if len(classes) != 1:
        raise RuntimeError(f"expected one ConanFile subclass, found {classes}")
    return classes[0]


# Conan-center names of crdt's dependencies -> the CMake targets the install links.
CONAN_TO_CMAKE = {
    "boost::headers": "Boost::headers",
    "range-v3::range-v3": "range-v3::range-v3",
    "sqlite3::sqlite3": "SQLite::SQLite3",
    "zlib::zlib": "ZLIB::ZLIB",
}

# The optional components: Conan option -> (Conan package, vcpkg feature, its vcpkg
# port, CMake option, CMake target).
OPTIONAL = {
    "with_sqlite": ("sqlite3", "sqlite", "sqlite3", "CRDT_WITH_SQLITE", "crdt::sqlite"),
    "with_zlib": ("zlib", "zlib", "zlib", "CRDT_WITH_ZLIB", "crdt::zlib"),
}


def component_closure(comps, name):
    """The names of `name` and of every component it requires, transitively."""
    seen, todo = set(), [name]
    while todo:
        current = todo.pop()
        if current in seen or current not in comps:
            continue
        seen.add(current)
        todo.extend(r for r in comps[current].requires if "::" not in r)
    return seen


def check_conan_recipe(src, exports_by_option):
    problems = []
    with conan_stub_installed():
        try:
            module = load_module(os.path.join(src, "conanfile.py"), "crdt_conanfile_under_test")
            cls = recipe_class(module)
        except Exception as e:  # noqa: BLE001 -- report any import problem
            return [f"loading conanfile.py under the conan stub: {e!r}"]

        if cls.name != "crdt":
            problems.append(f"name is {cls.name!r}, expected 'crdt'")
        if cls.package_type != "header-library":
            problems.append(f"package_type is {cls.package_type!r}")
        for option in OPTIONAL:
            if option not in getattr(cls, "options", {}):
                problems.append(f"no {option} option")
            elif getattr(cls, "default_options", {}).get(option) is not True:
                problems.append(f"{option} does not default to True (as CMakeLists.txt's "
                                f"{OPTIONAL[option][3]} defaults to ON)")
        exported = set(getattr(cls, "exports_sources", ()))
        for needed in ("include/*", "LICENSE"):
            if needed not in exported:
                problems.append(f"exports_sources lacks {needed!r}")

        for option_values, (file_name, targets) in exports_by_option.items():
            options = dict(zip(OPTIONAL, option_values))
            tag = ", ".join(f"{k}={v}" for k, v in options.items())
            recipe = cls()
            recipe.options = StubOptions(options)
            recipe.settings = StubSettings("gcc", "12", "20")

            recipe.layout()
            if ("basic_layout", ".") not in recipe.calls:
                problems.append(f"{tag}: layout() must be basic_layout(self) (sources at the root)")

            recipe.requirements()
            required = {ref.split("/")[0] for ref, _ in recipe.requirements_seen}
            want = {"boost", "range-v3"} | {OPTIONAL[k][0] for k, v in options.items() if v}
            if required != want:
                problems.append(f"{tag}: requires {sorted(required)}, expected {sorted(want)}")

            recipe.package_id()
            if not recipe.info.cleared:
                problems.append(f"{tag}: package_id() does not call self.info.clear()")

            recipe.validate()
            if ("check_min_cppstd", 20) not in recipe.calls:
                problems.append(f"{tag}: validate() does not check C++20")
            for compiler, version, cppstd in (("gcc", "12", "17"), ("gcc", "11", None)):
                recipe.settings = StubSettings(compiler, version, cppstd)
                try:
                    recipe.validate()
                    problems.append(f"{tag}: validate() accepts {compiler} {version} "
                                    f"cppstd={cppstd}")
                except StubInvalidConfiguration:
                    pass

            recipe.package_info()
            info = recipe.cpp_info
            root_file = info.properties.get("cmake_file_name")
            if root_file != file_name:
                problems.append(f"{tag}: cmake_file_name {root_file!r} != installed {file_name!r}")
            comps = info.components.store
            comp_targets = {c.properties.get("cmake_target_name"): n for n, c in comps.items()}
            if set(comp_targets) != set(targets):
                problems.append(f"{tag}: component targets {sorted(map(str, comp_targets))} != "
                                f"installed targets {sorted(targets)}")
            # CMakeDeps' global target links every component: it may be a
            # component's own target only if that component already requires
            # all the others (else that target would get more than the
            # install's); it may be a target of its own only if no component
            # does (else it would be a target the install lacks, for nothing).
            root_target = info.properties.get("cmake_target_name")
            largest = sorted(str(t) for t, n in comp_targets.items()
                             if component_closure(comps, n) == set(comps))
            if root_target in comp_targets:
                if root_target not in largest:
                    problems.append(f"{tag}: global target {root_target!r} is a component's "
                                    f"target, but CMakeDeps would link every component "
                                    f"({sorted(comps)}) into it")
            elif largest:
                problems.append(f"{tag}: global target {root_target!r} is not an installed "
                                f"target, so CMakeDeps would add a target the install lacks "
                                f"(name it {largest[0]})")
            elif not str(root_target).startswith("crdt::"):
                problems.append(f"{tag}: global target {root_target!r} is not in crdt::")
            if info.bindirs or info.libdirs:
                problems.append(f"{tag}: root bindirs/libdirs not empty")
            for target, comp_name in comp_targets.items():
                comp = comps[comp_name]
                if target not in targets:
                    continue
                if comp.bindirs or comp.libdirs or comp.libs:
                    problems.append(f"{tag}: component {comp_name} has bindirs/libdirs/libs")
                if sorted(comp.defines) != sorted(targets[target]["defines"]):
                    problems.append(f"{tag}: {target} defines {comp.defines} != installed "
                                    f"{targets[target]['defines']}")
                links = []
                for req in comp.requires:
                    if "::" in req:
                        if req.split("::")[0] not in required:
                            problems.append(f"{tag}: {comp_name} requires {req} but the recipe "
                                            f"does not require that package")
                        links.append(CONAN_TO_CMAKE.get(req, f"<unknown {req}>"))
                    elif req in comps:
                        links.append(comps[req].properties.get("cmake_target_name"))
                    else:
                        problems.append(f"{tag}: {comp_name} requires unknown component {req}")
                if sorted(map(str, links)) != sorted(targets[target]["links"]):
                    problems.append(f"{tag}: {target} links {sorted(map(str, links))} != "
                                    f"installed {sorted(targets[target]['links'])}")
            used = {r.split("::")[0] for c in comps.values() for r in c.requires if "::" in r}
            if used != required:
                problems.append(f"{tag}: requirements {sorted(required)} not all used by "
                                f"components ({sorted(used)}); Conan 2 rejects that")

        # package(): every file under include/ (what the CMake install copies;
        # run.sh checks the install against the same listing), plus the license.
        source_headers = sorted(
            os.path.relpath(os.path.join(r, f), os.path.join(src, "include"))
            for r, _, fs in os.walk(os.path.join(src, "include")) for f in fs)
        with tempfile.TemporaryDirectory(prefix="crdt-conan-package-") as package_folder:
            recipe = cls()
            recipe.options = StubOptions({option: True for option in OPTIONAL})
            recipe.settings = StubSettings("gcc", "12", "20")
            recipe.source_folder = src
            recipe.package_folder = package_folder
            recipe.package()
            packaged = set()
            for root, _, files in os.walk(package_folder):
                for name in files:
                    packaged.add(os.path.relpath(os.path.join(root, name), package_folder))
            want = {os.path.join("include", h) for h in source_headers}
            want.add(os.path.join("licenses", "LICENSE"))
            if packaged != want:
                extra, missing = sorted(packaged - want), sorted(want - packaged)
                problems.append(f"package() output differs from include/ + LICENSE: "
                                f"extra {extra[:5]}, missing {missing[:5]}")

        # test_package: CRDT_TEST_SQLITE / CRDT_TEST_ZLIB follow the tested
        # package's options.
        test_variables = {"with_sqlite": "CRDT_TEST_SQLITE", "with_zlib": "CRDT_TEST_ZLIB"}
        try:
            tp_module = load_module(os.path.join(src, "test_package", "conanfile.py"),
                                    "crdt_test_package_under_test")
            tp_cls = recipe_class(tp_module)
            toolchain_cls = sys.modules["conan.tools.cmake"].CMakeToolchain
            for option_values in exports_by_option:
                options = dict(zip(OPTIONAL, option_values))
                tp = tp_cls()
                tp.tested_reference_str = "crdt/0.1.0"
                dep = types.SimpleNamespace(options=StubOptions(options))
                tp.dependencies = {"crdt/0.1.0": dep}
                tp.requirements()
                if [r for r, _ in tp.requirements_seen] != ["crdt/0.1.0"]:
                    problems.append("test_package must require exactly tested_reference_str")
                toolchain_cls.instances.clear()
                tp.generate()
                for option, variable in test_variables.items():
                    values = [t.cache_variables.get(variable) for t in toolchain_cls.instances]
                    if values != [options[option]]:
                        problems.append(f"test_package sets {variable}={values} for "
                                        f"{option}={options[option]}")
        except Exception as e:  # noqa: BLE001
            problems.append(f"running test_package/conanfile.py under the stub: {e!r}")
    return problems


# --------------------------------------------------------------------------
# CMake-ish parsing for the portfile and CMakeLists.txt.
# --------------------------------------------------------------------------


def cmake_commands(text):
    """Yields (name, [arguments]) for each command call; comments dropped."""
    text = re.sub(r"#\[(=*)\[.*?\]\1\]", "", text, flags=re.S)
    text = "\n".join(re.sub(r'(^|\s)#.*$', "", line) for line in text.splitlines())
    for m in re.finditer(r"\b([A-Za-z_][A-Za-z0-9_]*)\s*\(", text):
        depth, i = 1, m.end()
        while i < len(text) and depth:
            depth += {"(": 1, ")": -1}.get(text[i], 0)
            i += 1
        args = re.findall(r'"(?:[^"\\]|\\.)*"|[^\s()]+', text[m.end(): i - 1])
        yield m.group(1).lower(), [a.strip('"') for a in args]


def cmake_project_version(cmakelists):
    for name, args in cmake_commands(cmakelists):
        if name == "project" and "VERSION" in args:
            return args[args.index("VERSION") + 1]
    return None


def cmake_options(cmakelists_text):
    declared = set()
    for name, args in cmake_commands(cmakelists_text):
        if name in ("option", "cmake_dependent_option") and args:
            declared.add(args[0])
        if name == "set" and "CACHE" in args:
            declared.add(args[0])
    return declared


def main(argv):
    if len(argv) != 6:
        print(__doc__)
        return 2
    src, full_prefix, core_prefix, sqlite_prefix, zlib_prefix = (
        os.path.abspath(a) for a in argv[1:])
    cmakelists = read(os.path.join(src, "CMakeLists.txt"))

    # 1. The recipes compile.
    problems = []
    with tempfile.TemporaryDirectory(prefix="crdt-pycompile-") as tmp:
        for rel in ("conanfile.py", os.path.join("test_package", "conanfile.py")):
            try:
                py_compile.compile(os.path.join(src, rel), cfile=os.path.join(tmp, "x.pyc"),
                                   doraise=True)
            except py_compile.PyCompileError as e:
                problems.append(f"{rel}: {e.msg}")
    report("conan: conanfile.py and test_package/conanfile.py compile (py_compile)", problems)

    # 2. Versions agree.
    problems = []
    cmake_version = cmake_project_version(cmakelists)
    conan_version = None
    tree = ast.parse(read(os.path.join(src, "conanfile.py")))
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == "version" for t in node.targets):
            if isinstance(node.value, ast.Constant):
                conan_version = node.value.value
    try:
        manifest = json.loads(read(os.path.join(src, "ports", "crdt", "vcpkg.json")))
    except (OSError, json.JSONDecodeError) as e:
        manifest = {}
        problems.append(f"ports/crdt/vcpkg.json: {e}")
    vcpkg_version = manifest.get("version") or manifest.get("version-semver")
    if not cmake_version or len({cmake_version, conan_version, vcpkg_version}) != 1:
        problems.append(f"CMakeLists.txt {cmake_version}, conanfile.py {conan_version}, "
                        f"vcpkg.json {vcpkg_version}")
    report(f"versions agree (CMakeLists.txt, conanfile.py, vcpkg.json: {cmake_version})",
           problems)

    # 3. The Conan recipe matches the CMake install.
    full = None
    try:
        full = cmake_exports(full_prefix)
        # Keyed by (with_sqlite, with_zlib), the order of OPTIONAL.
        installs = {
            (True, True): full,
            (False, False): cmake_exports(core_prefix),
            (True, False): cmake_exports(sqlite_prefix),
            (False, True): cmake_exports(zlib_prefix),
        }
        names = f"{full[0]}: {', '.join(sorted(full[1]))}"
        problems = check_conan_recipe(src, installs)
    except (OSError, RuntimeError) as e:
        names, problems = "?", [f"reading the installs: {e}"]
    report(f"conan: recipe file/target names, defines, requirements match the install; package() "
           f"ships include/ + LICENSE "
           f"({names})", problems)

    # 4. vcpkg.json.
    problems = []
    if manifest.get("name") != "crdt":
        problems.append(f"name is {manifest.get('name')!r}")
    deps = manifest.get("dependencies", [])
    hosts = {d["name"] for d in deps if isinstance(d, dict) and d.get("host")}
    for host in ("vcpkg-cmake", "vcpkg-cmake-config"):
        if host not in hosts:
            problems.append(f"no host dependency {host}")
    plain = {d if isinstance(d, str) else d.get("name") for d in deps}
    for dep in ("boost-asio", "boost-container", "boost-headers", "range-v3"):
        if dep not in plain:
            problems.append(f"no dependency {dep}")
    for _, feature_name, port, _, _ in OPTIONAL.values():
        if port in plain:
            problems.append(f"{port} must be a dependency of the {feature_name} feature only")
        feature = manifest.get("features", {}).get(feature_name)
        if not feature:
            problems.append(f"no '{feature_name}' feature")
            continue
        fdeps = {d if isinstance(d, str) else d.get("name")
                 for d in feature.get("dependencies", [])}
        if port not in fdeps:
            problems.append(f"the {feature_name} feature does not depend on {port}")
        if not feature.get("description"):
            problems.append(f"the {feature_name} feature has no description")
    # Default features: the ones CMakeLists.txt turns on by default (both).
    defaults = {d if isinstance(d, str) else d.get("name")
                for d in manifest.get("default-features", [])}
    for default in sorted(defaults - set(manifest.get("features", {}))):
        problems.append(f"default feature {default!r} is not a feature")
    want_defaults = {feature_name for _, feature_name, _, _, _ in OPTIONAL.values()}
    if defaults != want_defaults:
        problems.append(f"default-features {sorted(defaults)} != {sorted(want_defaults)} "
                        f"(CRDT_WITH_SQLITE and CRDT_WITH_ZLIB default to ON)")
    for field in ("description", "homepage", "license"):
        if not manifest.get(field):
            problems.append(f"no {field}")
    report("vcpkg: vcpkg.json (name crdt, default features sqlite -> sqlite3 and zlib -> zlib,"
           " host vcpkg-cmake and vcpkg-cmake-config)", problems)

    # 5. portfile.cmake.
    problems = []
    portfile = read(os.path.join(src, "ports", "crdt", "portfile.cmake"))
    commands = list(cmake_commands(portfile))
    by_name = {}
    for name, args in commands:
        by_name.setdefault(name, []).append(args)
    features = by_name.get("vcpkg_check_features", [])
    if not features:
        problems.append("no vcpkg_check_features")
    else:
        args = features[0]
        out = args[args.index("OUT_FEATURE_OPTIONS") + 1] if "OUT_FEATURE_OPTIONS" in args else None
        pairs = args[args.index("FEATURES") + 1:] if "FEATURES" in args else []
        mapped = dict(zip(pairs[0::2], pairs[1::2])) if len(pairs) % 2 == 0 else {}
        want = {feature: option for _, feature, _, option, _ in OPTIONAL.values()}
        if mapped != want:
            problems.append(f"vcpkg_check_features maps {pairs}, expected "
                            f"{' '.join(f'{k} {v}' for k, v in want.items())}")
        configure = by_name.get("vcpkg_cmake_configure", [[]])[0]
        if out is None or "${" + out + "}" not in configure:
            problems.append("the feature options are not passed to vcpkg_cmake_configure")
        declared = cmake_options(cmakelists)
        for arg in configure:
            m = re.match(r"-D([A-Za-z0-9_]+)=", arg)
            if m and m.group(1) not in declared:
                problems.append(f"portfile sets -D{m.group(1)}, which CMakeLists.txt does not "
                                f"declare")
        for needed in ("-DCRDT_INSTALL=ON", "-DCRDT_BUILD_TESTS=OFF",
                       "-DCRDT_BUILD_BENCHMARKS=OFF", "-DCRDT_BUILD_EXAMPLES=OFF",
                       "-DCRDT_BUILD_FUZZERS=OFF"):
            if needed not in configure:
                problems.append(f"vcpkg_cmake_configure lacks {needed}")
    fixups = by_name.get("vcpkg_cmake_config_fixup", [])
    if not any(a[a.index("PACKAGE_NAME") + 1:a.index("PACKAGE_NAME") + 2] == ["crdt"]
               and a[a.index("CONFIG_PATH") + 1:a.index("CONFIG_PATH") + 2] == ["share/crdt"]
               for a in fixups if "PACKAGE_NAME" in a and "CONFIG_PATH" in a):
        problems.append("no vcpkg_cmake_config_fixup(PACKAGE_NAME crdt CONFIG_PATH share/crdt)")
    for command in ("vcpkg_cmake_install", "vcpkg_install_copyright"):
        if command not in by_name:
            problems.append(f"no {command}()")
    if ["VCPKG_BUILD_TYPE", "release"] not in by_name.get("set", []):
        problems.append("no set(VCPKG_BUILD_TYPE release) for a header-only port")
    if not any("${CURRENT_PACKAGES_DIR}/lib" in a for a in by_name.get("file", [])):
        problems.append("lib/ is not removed")
    if not any("usage" in " ".join(a) for a in by_name.get("file", [])):
        problems.append("the usage file is not installed")
    report("vcpkg: portfile.cmake (features -> -DCRDT_WITH_SQLITE/-DCRDT_WITH_ZLIB, "
           "vcpkg_cmake_config_fixup("
           "PACKAGE_NAME crdt CONFIG_PATH share/crdt))", problems)

    # 6. usage.
    problems = []
    usage = read(os.path.join(src, "ports", "crdt", "usage"))
    for needed in ("find_package(crdt CONFIG REQUIRED)",
                   "find_package(crdt CONFIG REQUIRED COMPONENTS sqlite)",
                   "find_package(crdt CONFIG REQUIRED COMPONENTS zlib)",
                   "crdt::crdt", "crdt::sqlite", "crdt::zlib"):
        if needed not in usage:
            problems.append(f"usage does not mention {needed}")
    targets = set(full[1]) if full else set()
    for target in re.findall(r"\bcrdt::\w+", usage):
        if targets and target not in targets:
            problems.append(f"usage names {target}, which the install does not export")
    report("vcpkg: usage names find_package(crdt CONFIG REQUIRED) and "
           "crdt::crdt/crdt::sqlite/crdt::zlib",
           problems)

    return 1 if FAILURES else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
