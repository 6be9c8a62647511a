# Spack package for Tern. Use with: spack repo add <tern>/spack && spack install tern
from spack.package import *


class Tern(CMakePackage):
    """Tern: a message-driven runtime of distributed objects (chares) for HPC machines,
    with the Charm4py programming model in C and a pluggable transport layer."""

    homepage = "https://example.invalid/tern"
    git = "https://example.invalid/tern.git"

    version("main", branch="main")

    variant("ucx", default=False, description="Build the UCX transport (when available)")
    variant("ofi", default=False, description="Build the libfabric transport (when available)")
    variant("pmix", default=False, description="Bootstrap through PMIx (srun, mpirun)")
    variant("hwloc", default=True, description="Discover the topology with hwloc")

    depends_on("cmake@3.18:", type="build")
    depends_on("pkgconfig", type="build")
    depends_on("ucx", when="+ucx")
    depends_on("libfabric", when="+ofi")
    depends_on("pmix", when="+pmix")
    depends_on("hwloc", when="+hwloc")

    def cmake_args(self):
        return [self.define("TERN_BUILD_TESTS", self.run_tests)]
