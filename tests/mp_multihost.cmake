# Jobs spanning several hosts, emulated on this one machine (tests/multihost/): a test
# fixture starts 3 "hosts" (Linux namespaces: own hostname, /tmp, /dev/shm, System V IPC
# and network, joined by a bridge on 10.77.0.0/24) and one Slurm cluster over them, and
# stops them afterwards; `srun -N 3 -n 6 --mpi=pmix` then puts 2 tasks on each host.
# Here: the fixture, tests of the emulation itself, and tern_multihost_test() for the
# programs' tests, which other area files (included after this one) add.
#
# Needs root (namespaces, links), Slurm with munge, iproute2, util-linux and PMIx. Without
# them, tern_multihost_test() still exists and adds nothing.
find_program(TERN_MH_SRUN srun)
find_program(TERN_MH_SLURMCTLD slurmctld PATHS /usr/sbin /sbin)
find_program(TERN_MH_SLURMD slurmd PATHS /usr/sbin /sbin)
find_program(TERN_MH_MUNGED munged PATHS /usr/sbin /sbin)
find_program(TERN_MH_IP ip PATHS /usr/sbin /sbin)
find_program(TERN_MH_UNSHARE unshare)
find_program(TERN_MH_NSENTER nsenter)
execute_process(COMMAND id -u OUTPUT_VARIABLE tern_mh_uid OUTPUT_STRIP_TRAILING_WHITESPACE
                RESULT_VARIABLE tern_mh_id_rc)
set(TERN_MH_ENABLED OFF)
if(NOT TERN_PMIX_FOUND)
  message(STATUS "Tern: no PMIx: multi-host tests (emulated hosts) are left out")
  tern_skip_test(mh "this build has no PMIx bootstrap, which the multi-host tests need (srun --mpi=pmix)")
elseif(NOT tern_mh_id_rc EQUAL 0 OR NOT tern_mh_uid STREQUAL "0")
  message(STATUS "Tern: not root: multi-host tests (emulated hosts) are left out")
  tern_skip_test(mh "not root: emulated hosts need network namespaces")
elseif(NOT (TERN_MH_SRUN AND TERN_MH_SLURMCTLD AND TERN_MH_SLURMD AND TERN_MH_MUNGED
            AND TERN_MH_IP AND TERN_MH_UNSHARE AND TERN_MH_NSENTER))
  message(STATUS "Tern: multi-host tests (emulated hosts) are left out: they need srun, "
                 "slurmctld, slurmd, munged, ip, unshare and nsenter")
  tern_skip_test(mh "the multi-host tests need srun, slurmctld, slurmd, munged, ip, unshare and nsenter")
else()
  set(TERN_MH_ENABLED ON)
endif()

set(TERN_MH_SCRIPTS ${CMAKE_CURRENT_SOURCE_DIR}/multihost)
# One cluster per build tree, outside /tmp (private on each host) and short (munge's
# socket lives in it).
string(MD5 tern_mh_hash "${PROJECT_BINARY_DIR}")
string(SUBSTRING "${tern_mh_hash}" 0 8 tern_mh_hash)
set(TERN_MH_DIR /var/tmp/tern-mh-${tern_mh_hash})

# tern_multihost_test(NAME NNODES NP [ALLOW_SHM_LEFTOVERS] CHECKS ... ENV ... ARGS ...)
# A job of NP tasks over NNODES emulated hosts (block distribution: 2 per host for 3 6),
# started with tests/multihost/srun.sh through run_mp.sh: CHECKS are run_mp.sh's
# (--code N, --nonzero, --stderr RE, --forbid RE, --within S), ENV extra VAR=VALUE items
# (they reach every task), ARGS the program and its arguments. Anything a job leaves in a
# host's /dev/shm (which run_mp.sh cannot see) fails the test unless ALLOW_SHM_LEFTOVERS.
function(tern_multihost_test name nnodes np)
  if(NOT TERN_MH_ENABLED)
    return()
  endif()
  cmake_parse_arguments(T "ALLOW_SHM_LEFTOVERS" "" "CHECKS;ENV;ARGS" ${ARGN})
  set(checks ${T_CHECKS})
  if(NOT T_ALLOW_SHM_LEFTOVERS)
    list(APPEND checks --forbid "srun.sh: left in /dev/shm")
  endif()
  add_test(NAME ${name}
    COMMAND bash ${MP_RUN} ${checks} --
            bash ${TERN_MH_SCRIPTS}/srun.sh ${TERN_MH_DIR} ${nnodes} ${np} ${T_ARGS})
  set(env ${MP_ENV} ${T_ENV})
  set_tests_properties(${name} PROPERTIES TIMEOUT 150 LABELS multihost
    ENVIRONMENT "${env}" FIXTURES_REQUIRED multihost RESOURCE_LOCK multihost)
endfunction()

if(NOT TERN_MH_ENABLED)
  return()
endif()
message(STATUS "Tern: multi-host tests on 3 emulated hosts in ${TERN_MH_DIR}")

add_test(NAME multihost.start
  COMMAND bash ${TERN_MH_SCRIPTS}/start.sh ${TERN_MH_DIR} --hosts 3
          --share ${PROJECT_SOURCE_DIR} --share ${PROJECT_BINARY_DIR})
add_test(NAME multihost.stop COMMAND bash ${TERN_MH_SCRIPTS}/stop.sh ${TERN_MH_DIR})
set_tests_properties(multihost.start PROPERTIES FIXTURES_SETUP multihost TIMEOUT 120
                     LABELS multihost ENVIRONMENT TERN_SLURM_INSTALL=0 RESOURCE_LOCK multihost)
set_tests_properties(multihost.stop PROPERTIES FIXTURES_CLEANUP multihost TIMEOUT 120
                     LABELS multihost RESOURCE_LOCK multihost)

# The emulation itself: 3 hosts with 2 tasks each; nothing shared between hosts but
# the shared folders; every host reaching every other one over 10.77.0.x.
add_test(NAME multihost.hostname
  COMMAND bash ${TERN_MH_SCRIPTS}/selftest.sh hostname ${TERN_MH_DIR} 3 6)
add_test(NAME multihost.isolation
  COMMAND bash ${TERN_MH_SCRIPTS}/selftest.sh isolation ${TERN_MH_DIR})
set_tests_properties(multihost.hostname multihost.isolation PROPERTIES TIMEOUT 150
  LABELS multihost FIXTURES_REQUIRED multihost RESOURCE_LOCK multihost)

# The caller's TERN_*, UCX_* and FI_* variables reach every task on every host.
tern_multihost_test(multihost.env 3 6 CHECKS --code 0
  --stderr "probe: host=tn1 rank=0 TERN_MH_PROBE=t1 UCX_MH_PROBE=u2 FI_MH_PROBE=f3"
  --stderr "probe: host=tn2 rank=3 TERN_MH_PROBE=t1 UCX_MH_PROBE=u2 FI_MH_PROBE=f3"
  --stderr "probe: host=tn3 rank=5 TERN_MH_PROBE=t1 UCX_MH_PROBE=u2 FI_MH_PROBE=f3"
  ENV TERN_MH_PROBE=t1 UCX_MH_PROBE=u2 FI_MH_PROBE=f3
  ARGS bash ${TERN_MH_SCRIPTS}/selftest.sh probe)

# PMIx wire-up across hosts, without Tern: put, commit, fence, get between all tasks;
# every task's PMIX_HOSTNAME and PMIX_LOCAL_SIZE agree with where it runs.
add_executable(mh_pmix_probe multihost/pmix_probe.c)
target_link_libraries(mh_pmix_probe PRIVATE PkgConfig::TERN_PMIX)
tern_multihost_test(multihost.pmix.n3np6 3 6 CHECKS --code 0
  --stderr "pmix_probe: 6 ranks on 3 hosts: tn1=2 tn2=2 tn3=2"
  ARGS $<TARGET_FILE:mh_pmix_probe>)
tern_multihost_test(multihost.pmix.n2np5 2 5 CHECKS --code 0
  --stderr "pmix_probe: 5 ranks on 2 hosts: tn1=3 tn2=2"
  ARGS $<TARGET_FILE:mh_pmix_probe>)
