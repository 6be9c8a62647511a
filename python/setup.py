"""Build the tern package against an installed libtern (found with pkg-config, or under
TERN_PREFIX), for `pip install --no-build-isolation ./python` with Debian's python3,
python3-dev, python3-setuptools and python3-pip; no package index is needed. The CMake
build makes the same package in BUILD/python without this file."""
import os
import shlex
import subprocess

from setuptools import Extension, setup


def tern_flags():
    prefix = os.environ.get("TERN_PREFIX")
    if prefix:
        libdirs = [d for d in (os.path.join(prefix, "lib"),
                               os.path.join(prefix, "lib", "x86_64-linux-gnu"),
                               os.path.join(prefix, "lib64")) if os.path.isdir(d)]
        return [os.path.join(prefix, "include")], libdirs
    try:
        cflags = subprocess.check_output(["pkg-config", "--cflags", "tern"], text=True)
        libs = subprocess.check_output(["pkg-config", "--libs-only-L", "tern"], text=True)
    except (OSError, subprocess.CalledProcessError):
        raise SystemExit("tern: libtern not found: install Tern (cmake --install) and set "
                         "PKG_CONFIG_PATH to its lib/pkgconfig, or TERN_PREFIX to its prefix")
    incs = [f[2:] for f in shlex.split(cflags) if f.startswith("-I")]
    libdirs = [f[2:] for f in shlex.split(libs) if f.startswith("-L")]
    return incs, libdirs


incs, libdirs = tern_flags()
here = os.path.dirname(os.path.abspath(__file__))
setup(
    name="tern",
    version="0.1.0",
    description="The Charm4py programming model on Tern's C runtime",
    packages=["tern"],
    package_dir={"tern": os.path.relpath(os.path.join(here, "tern"))},
    ext_modules=[Extension("tern._core",
                           ["tern/_core.c", "tern/_coll.c", "tern/_reduce.c", "tern/_pool.c",
                            "tern/_sys.c", "tern/_util.c"],
                           include_dirs=incs, library_dirs=libdirs, libraries=["tern"],
                           runtime_library_dirs=libdirs)],
    python_requires=">=3.9",
)
