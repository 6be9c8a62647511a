# Debian packages of Tern, one a component (cpack -G DEB in a build configured with
# -DCMAKE_INSTALL_PREFIX=/usr; tests/deb_test.sh builds, installs and uses them):
#   libtern0            libtern.so.0 (lib)
#   libtern-dev         headers, libtern.a, libtern.so, pkg-config and CMake files, the
#                       example sources with their Makefile (dev)
#   tern-run            ternrun, the launcher (run)
#   tern-transport-ucx  the UCX transport plugin (plugin_ucx): a job that selects UCX
#   tern-transport-ofi  the libfabric transport plugin (plugin_ofi)
#   python3-tern        the Python package (python)
# The plugins are packages of their own: installing libtern0 alone pulls in neither UCX
# nor libfabric. Library dependencies come from dpkg-shlibdeps.
set(CPACK_PACKAGE_NAME tern)
set(CPACK_PACKAGE_VENDOR "The Tern developers")
set(CPACK_PACKAGE_CONTACT "The Tern developers <tern@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "message-driven runtime of distributed objects for HPC")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_RESOURCE_FILE_LICENSE ${PROJECT_SOURCE_DIR}/LICENSE)
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGING_INSTALL_PREFIX ${CMAKE_INSTALL_PREFIX})
set(CPACK_PACKAGE_DIRECTORY ${PROJECT_BINARY_DIR}/packages)
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION libs)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_ENABLE_COMPONENT_DEPENDS ON)
# libtern.so.0 is found in the staging folder, for the packages whose programs link it.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS_PRIVATE_DIRS ${PROJECT_BINARY_DIR})
set(CPACK_DEBIAN_PACKAGE_HOMEPAGE "https://tern-hpc.github.io/tern")

set(CPACK_COMPONENTS_ALL lib dev run)
set(CPACK_DEBIAN_LIB_PACKAGE_NAME libtern0)
set(CPACK_DEBIAN_LIB_PACKAGE_GENERATE_SHLIBS ON)
set(CPACK_COMPONENT_LIB_DESCRIPTION "Tern runtime library
 The shared library of Tern: chares, groups, arrays, sections, futures, reductions,
 channels, the task pool, quiescence detection, migration and load balancing, on the
 shared-memory transport. Network transports come as plugin packages.")
set(CPACK_DEBIAN_DEV_PACKAGE_NAME libtern-dev)
set(CPACK_DEBIAN_DEV_PACKAGE_SECTION libdevel)
set(CPACK_COMPONENT_DEV_DEPENDS lib)
set(CPACK_COMPONENT_DEV_DESCRIPTION "Tern runtime library: development files
 Headers, the static library, pkg-config and CMake package files, and the C examples
 with a Makefile that builds them against the installed library.")
set(CPACK_DEBIAN_DEV_PACKAGE_DEPENDS "pkg-config")
# Static linking pulls in the libraries libtern.a uses.
if(TERN_PMIX_FOUND)
  string(APPEND CPACK_DEBIAN_DEV_PACKAGE_DEPENDS ", libpmix-dev")
endif()
if(TERN_PMI2_FOUND)
  string(APPEND CPACK_DEBIAN_DEV_PACKAGE_DEPENDS ", libpmi2-0-dev")
endif()
if(TERN_HWLOC_FOUND)
  string(APPEND CPACK_DEBIAN_DEV_PACKAGE_DEPENDS ", libhwloc-dev")
endif()
set(CPACK_DEBIAN_RUN_PACKAGE_NAME tern-run)
set(CPACK_DEBIAN_RUN_PACKAGE_SECTION utils)
set(CPACK_COMPONENT_RUN_DESCRIPTION "Tern job launcher
 ternrun starts a Tern job's processes on one machine (or on hosts given to it),
 serves their start-up and ends the job when one of them fails.")
foreach(t ucx ofi)
  if(TARGET tern_tp_${t})
    string(TOUPPER ${t} T)
    list(APPEND CPACK_COMPONENTS_ALL plugin_${t})
    set(CPACK_DEBIAN_PLUGIN_${T}_PACKAGE_NAME tern-transport-${t})
    set(CPACK_COMPONENT_PLUGIN_${T}_DEPENDS lib)
  endif()
endforeach()
set(CPACK_COMPONENT_PLUGIN_UCX_DESCRIPTION "Tern transport plugin for UCX
 Loaded by libtern when a job selects the UCX transport (TERN_TRANSPORT=ucx).")
set(CPACK_COMPONENT_PLUGIN_OFI_DESCRIPTION "Tern transport plugin for libfabric
 Loaded by libtern when a job selects the OFI transport (TERN_TRANSPORT=ofi).")
if(TERN_PYTHON_BUILT)
  list(APPEND CPACK_COMPONENTS_ALL python)
  set(CPACK_DEBIAN_PYTHON_PACKAGE_NAME python3-tern)
  set(CPACK_DEBIAN_PYTHON_PACKAGE_SECTION python)
  set(CPACK_COMPONENT_PYTHON_DEPENDS lib)
  set(CPACK_DEBIAN_PYTHON_PACKAGE_DEPENDS "python3, python3-greenlet")
  set(CPACK_DEBIAN_PYTHON_PACKAGE_RECOMMENDS "python3-numpy, python3-cloudpickle")
  set(CPACK_COMPONENT_PYTHON_DESCRIPTION "Tern for Python: the Charm4py API
 Chares, groups, arrays, futures, channels, reductions and the pools
 (tern.pool.Pool, tern.futures.PoolExecutor) on the Tern runtime.")
endif()
include(CPack)
