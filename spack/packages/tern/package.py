# Spack package for Tern.
#   spack repo add <tern checkout>/spack
#   spack install tern            (or tern+ucx+ofi+pmix+pmi2, tern~hwloc, ...)
# The package builds exactly what its variants say: every optional part is passed to CMake
# as TERN_WITH_<PART>=ON or OFF, never left to what happens to be on the system.
# spack/check.sh runs the whole check offline against a Spack checkout.
import os

from spack.package import *

try:  # Spack >= 1.0: the build systems live in the builtin repository
    from spack_repo.builtin.build_systems.cmake import CMakePackage
except ImportError:  # Spack 0.x: spack.package gave it
    pass


class Tern(CMakePackage):
    """Tern: a message-driven runtime of distributed objects (chares) for HPC machines.
    The Charm4py programming model in C - groups, N-d arrays, sections, futures,
    reductions over topology-aware trees, channels, a task pool, quiescence detection,
    migration and load balancing - on a pluggable transport layer (shared memory, UCX,
    libfabric), with a Python package on the same core."""

    homepage = "https://tern-hpc.github.io/tern"
    git = "https://github.com/tern-hpc/tern.git"

    maintainers("tern-hpc")
    license("BSD-3-Clause", checked_by="tern-hpc")

    version("main", branch="main")
    # 0.1.0: the first release, a commit of main (tagged v0.1.0).
    version("0.1.0", commit="1375ca81ce91c1693294e5186dbc31051cbbb4b1")

    # Transports are plugins (lib/tern/tern-ucx.so, tern-ofi.so) that libtern loads only
    # when a job selects them: a shm-only job never loads UCX or libfabric.
    variant("ucx", default=False, description="Build the UCX transport plugin")
    variant("ofi", default=False, description="Build the libfabric (OFI) transport plugin")
    variant("pmix", default=False, description="Start jobs through PMIx (srun --mpi=pmix, mpirun)")
    # PMI-1 (MPICH's mpiexec) needs no library and is always built.
    variant("pmi2", default=False,
            description="Start jobs through PMI-2 (srun --mpi=pmi2, Cray's aprun): Slurm's libpmi2")
    variant("hwloc", default=True, description="Discover the machine's topology with hwloc")
    variant("python", default=False, description="Build the Python package (the Charm4py API)")
    variant("examples", default=True, description="Build the example programs and mini-apps")
    variant("perf", default=False, description="Build the benchmarks under perf/")
    variant("mpi", default=False, when="+perf",
            description="Build the benchmarks' MPI baselines (with +perf)")

    depends_on("c", type="build")
    # C++ is built only for the Google Benchmark micro-benchmarks.
    depends_on("cxx", type="build", when="+perf")
    depends_on("cmake@3.18:", type="build")
    depends_on("pkgconfig", type="build")

    depends_on("ucx", when="+ucx", type=("build", "link"))
    depends_on("libfabric", when="+ofi", type=("build", "link"))
    depends_on("pmix", when="+pmix", type=("build", "link"))
    # Slurm's package installs libpmi2 and include/slurm/pmi2.h (contribs/pmi2).
    depends_on("slurm", when="+pmi2", type=("build", "link"))
    depends_on("hwloc", when="+hwloc", type=("build", "link"))

    with when("+python"):
        extends("python")
        depends_on("python@3.8:", type=("build", "link", "run"))
        depends_on("py-greenlet", type="run")
        # Optional at run time (numpy arrays travel without pickling; cloudpickle sends
        # lambdas to the pools), needed by the tests.
        depends_on("py-numpy", type=("run", "test"))
        depends_on("py-cloudpickle", type=("run", "test"))
        depends_on("py-pytest", type="test")

    with when("+perf"):
        depends_on("benchmark", type=("build", "link"))
        depends_on("mpi", when="+mpi", type=("build", "link", "run"))
        depends_on("python@3.8:", type="run")  # perf/run.py, the drivers

    # The tests: bash scripts with bc, a Python checker for the traces and counters.
    depends_on("bash", type="test")
    depends_on("bc", type="test")
    depends_on("python@3.8:", type="test")

    def cmake_args(self):
        spec = self.spec
        args = [
            self.define_from_variant("TERN_WITH_UCX", "ucx"),
            self.define_from_variant("TERN_WITH_OFI", "ofi"),
            self.define_from_variant("TERN_WITH_PMIX", "pmix"),
            self.define_from_variant("TERN_WITH_PMI2", "pmi2"),
            self.define_from_variant("TERN_WITH_HWLOC", "hwloc"),
            self.define_from_variant("TERN_WITH_PYTHON", "python"),
            self.define_from_variant("TERN_BUILD_EXAMPLES", "examples"),
            self.define_from_variant("TERN_BUILD_PERF", "perf"),
            self.define("TERN_WITH_BENCHMARK", spec.satisfies("+perf")),
            self.define("TERN_WITH_MPI", spec.satisfies("+perf+mpi")),
            self.define("TERN_BUILD_TESTS", self.run_tests),
            self.define("BUILD_TESTING", self.run_tests),
        ]
        if spec.satisfies("+python"):
            python = spec["python"]
            args.append(self.define("Python3_EXECUTABLE", python.command.path))
            # Where Spack puts extensions (and puts on PYTHONPATH when tern is loaded):
            # python_platlib, set for every extension; not the interpreter's own idea of
            # it (Debian's python3 says local/lib/python3.X/dist-packages).
            platlib = getattr(self.module, "python_platlib", None)
            if not platlib:
                venv = spec["python-venv"] if "python-venv" in spec else python
                platlib = join_path(self.prefix, venv.package.platlib)
            # Relative to the prefix: an install elsewhere (the install test's scratch
            # prefix) then stays out of this one.
            args.append(self.define("TERN_PYTHON_INSTALL_DIR",
                                    os.path.relpath(platlib, self.prefix)))
        return args

    def setup_run_environment(self, env):
        # Python modules that are externals (a system's python3-greenlet, say) have no
        # dependencies in Spack, so nothing puts them on PYTHONPATH for an extension that
        # needs them: tern does, for the ones it runs with.
        if not self.spec.satisfies("+python"):
            return
        spec = self.spec
        venv = spec["python-venv"] if "python-venv" in spec else spec["python"]
        paths = []
        for dep in spec.dependencies(deptype="run"):
            path = join_path(dep.prefix, venv.package.platlib)
            if dep.name.startswith("py-") and dep.external and path not in paths:
                paths.append(path)
                env.prepend_path("PYTHONPATH", path)

    def check(self):
        """The whole test suite of the build. ctest alone exits 0 when no test is found
        (a build configured without tests): --no-tests=error makes that a failure."""
        # One test at a time: the multi-process tests are time-bound and each runs
        # several PEs. TERN_CTEST_ARGS adds arguments (a label filter, say).
        extra = os.environ.get("TERN_CTEST_ARGS", "").split()
        builder = getattr(self, "builder", None)  # Spack >= 0.20: the build system's half
        build_dir = builder.build_directory if builder else self.build_directory
        with working_dir(build_dir):
            ctest = which("ctest", required=True)
            ctest("--output-on-failure", "--no-tests=error", "--timeout", "300", *extra)

    # ---- tests of the installed package: spack test run tern ----

    def _cc(self):
        for name in ("CC", "SPACK_CC"):
            if os.environ.get(name):
                return Executable(os.environ[name])
        try:
            return Executable(self.spec["c"].package.cc)  # Spack 1.x: compilers are deps
        except Exception:
            pass
        try:
            return Executable(self.compiler.cc)
        except Exception:
            return which("cc", "gcc", required=True)

    def _build_example(self, name):
        """Compile an installed example against the installed prefix, the way a user
        does (include and lib paths and an rpath: no LD_LIBRARY_PATH)."""
        src = join_path(self.prefix.share.tern.examples, name + ".c")
        if not os.path.exists(src):
            raise SkipTest("{0} is not installed".format(src))
        libdir = os.path.dirname(find_libraries("libtern", self.prefix, recursive=True)[0])
        self._cc()("-O2", "-o", name, src, "-I" + self.prefix.include, "-L" + libdir,
                   "-Wl,-rpath," + libdir, "-ltern", "-lm")
        return os.path.abspath(name)

    def test_hello(self):
        """build examples/hello.c against the installed Tern and run it on 3 PEs"""
        exe = self._build_example("hello")
        ternrun = which(self.prefix.bin.ternrun, required=True)
        out = ternrun("-n", "3", "--timeout", "60", exe, output=str.split, error=str.split)
        assert "All 19 greetings received; exiting." in out, out

    def test_transports(self):
        """run examples/pingpong on every transport plugin that was built"""
        plugins = {"ucx": "+ucx", "ofi": "+ofi"}
        exe = self._build_example("pingpong")
        ternrun = which(self.prefix.bin.ternrun, required=True)
        for name, when in [("shm", "")] + sorted(plugins.items()):
            if when and not self.spec.satisfies(when):
                continue
            env = {"TERN_TRANSPORT": name, "UCX_TLS": "sm,self", "TERN_OFI_PROVIDER": "shm",
                   "TERN_VERBOSE": "2"}
            with test_part(self, "test_transports_" + name, purpose="pingpong over " + name):
                os.environ.update(env)
                out = ternrun("-n", "2", "--timeout", "60", exe, output=str, error=str)
                if name != "shm":
                    assert "tern-{0}.so".format(name) in out, out
                else:
                    # A shm-only job loads neither UCX nor libfabric.
                    assert "tern-ucx.so" not in out and "tern-ofi.so" not in out, out

    def test_python(self):
        """import tern and run a group call under ternrun"""
        if not self.spec.satisfies("+python"):
            raise SkipTest("Package must be built with +python")
        script = "hi.py"
        with open(script, "w") as f:
            f.write(
                "from tern import charm, Chare, Group\n"
                "class Hi(Chare):\n"
                "    def who(self):\n"
                "        return charm.myPe()\n"
                "def main(args):\n"
                "    print('python pes', Group(Hi).who(ret=True).get())\n"
                "    charm.exit()\n"
                "charm.start(main)\n")
        ternrun = which(self.prefix.bin.ternrun, required=True)
        python = self.spec["python"].command
        out = ternrun("-n", "2", "--timeout", "60", python.path, script, output=str, error=str)
        assert "python pes [0, 1]" in out, out
