# Jobs started by cluster launchers through PMIx (issue 5): Open MPI's mpirun and Slurm's
# srun --mpi=pmix, each on a private one-host Slurm cluster that a test fixture starts and
# stops (tests/slurm/). The same programs as under ternrun, unchanged: creation of groups
# and arrays with broadcasts, delivery under stress, payloads, futures over broadcasts,
# reductions, host queries, the examples; and a crashed PE ending the job.
if(NOT TERN_PMIX_FOUND)
  message(STATUS "Tern: no PMIx: launch tests under mpirun and srun are left out")
  tern_skip_test(launch "this build has no PMIx bootstrap (libpmix-dev not found, or TERN_WITH_PMIX=OFF): no tests under mpirun and srun")
  return()
endif()
find_program(TERN_MPIRUN mpirun)
find_program(TERN_SRUN srun)
find_program(TERN_SLURMCTLD slurmctld PATHS /usr/sbin /sbin)
find_program(TERN_MUNGED munged PATHS /usr/sbin /sbin)
set(LAUNCH ${CMAKE_CURRENT_SOURCE_DIR}/launch.sh)
set(launchers "")
if(TERN_MPIRUN)
  list(APPEND launchers mpirun)
endif()
if(TERN_SRUN AND TERN_SLURMCTLD AND TERN_MUNGED)
  list(APPEND launchers srun)
  # One private cluster per build tree (short path: munge's socket lives in it).
  string(MD5 tree_hash "${PROJECT_BINARY_DIR}")
  string(SUBSTRING "${tree_hash}" 0 8 tree_hash)
  set(SLURM_DIR /tmp/tern-slurm-${tree_hash})
  add_test(NAME launch.slurm.start
           COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/slurm/start.sh ${SLURM_DIR})
  add_test(NAME launch.slurm.stop
           COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/slurm/stop.sh ${SLURM_DIR})
  set_tests_properties(launch.slurm.start PROPERTIES FIXTURES_SETUP slurm TIMEOUT 120 LABELS launch
                       ENVIRONMENT TERN_SLURM_INSTALL=0)
  set_tests_properties(launch.slurm.stop PROPERTIES FIXTURES_CLEANUP slurm TIMEOUT 60 LABELS launch)
endif()
message(STATUS "Tern: launch tests under: ${launchers}")
if(NOT TERN_MPIRUN)
  tern_skip_test(launch.mpirun "mpirun is not installed (openmpi-bin)")
endif()
if(NOT "srun" IN_LIST launchers)
  tern_skip_test(launch.srun "Slurm is not installed (slurm-wlm and munge)")
endif()

# name, launcher, PE count, checks for run_mp.sh; then ARGS program and arguments.
function(tern_launch_test name launcher np)
  cmake_parse_arguments(T "" "" "CHECKS;ARGS" ${ARGN})
  set(how ${launcher})
  if(launcher STREQUAL "srun")
    set(how srun ${SLURM_DIR})
  endif()
  add_test(NAME ${name} COMMAND bash ${MP_RUN} ${T_CHECKS} -- bash ${LAUNCH} ${how} ${np} ${T_ARGS})
  set_tests_properties(${name} PROPERTIES TIMEOUT 120 ENVIRONMENT "${MP_ENV}" LABELS launch)
  if(launcher STREQUAL "srun")
    set_tests_properties(${name} PROPERTIES FIXTURES_REQUIRED slurm RESOURCE_LOCK slurm)
  endif()
endfunction()

foreach(l ${launchers})
  foreach(np 1 2 4)
    set(p launch.${l}.np${np})
    tern_launch_test(${p}.create ${l} ${np} CHECKS --code 0 ${LEAKS} ARGS $<TARGET_FILE:mp_create>)
    tern_launch_test(${p}.stress ${l} ${np} CHECKS --code 0 ${LEAKS} ARGS $<TARGET_FILE:mp_stress> 20000)
    tern_launch_test(${p}.payload ${l} ${np} CHECKS --code 0 ${LEAKS} ARGS $<TARGET_FILE:mp_payload>)
    tern_launch_test(${p}.future.bcast ${l} ${np} CHECKS --code 0 ${LEAKS}
                     ARGS $<TARGET_FILE:mp_future> bcast)
    foreach(mode ops gather sync)
      tern_launch_test(${p}.reduce.${mode} ${l} ${np} CHECKS --code 0 ${LEAKS}
                       ARGS $<TARGET_FILE:mp_reduce> ${mode})
    endforeach()
    tern_launch_test(${p}.hosts ${l} ${np} CHECKS --code 0 ${LEAKS} ${HOST_ERRORS}
                     ARGS $<TARGET_FILE:mp_hosts> 1)
    tern_launch_test(${p}.hello ${l} ${np} CHECKS --code 0 ARGS $<TARGET_FILE:hello>)
    tern_launch_test(${p}.reduction ${l} ${np} CHECKS --code 0 ARGS $<TARGET_FILE:reduction>)
  endforeach()
  # Two emulated hosts under the launcher, with the start-up lines that show them.
  tern_launch_test(launch.${l}.np4.hosts2 ${l} 4 CHECKS --code 0 ${LEAKS} ${HOST_ERRORS}
    --stderr "4 PEs on 2 hosts \\(2 emulated per real host\\). bootstrap pmix"
    --stderr "host 1 \\([^)]*\\): PE 2 .*, PE 3 "
    ARGS $<TARGET_FILE:mp_hosts> 2)
  set_property(TEST launch.${l}.np4.hosts2 APPEND PROPERTY ENVIRONMENT
               TERN_EMULATE_HOSTS=2 TERN_VERBOSE=1)
endforeach()

# A PE that dies ends the job within seconds, and the launcher names it.
foreach(l ${launchers})
  tern_launch_test(launch.${l}.np4.crash.kill ${l} 4 CHECKS --nonzero --within 15
    --stderr "(rank|task) 2.*(signal 9|Killed)" ARGS $<TARGET_FILE:mp_crash> kill 2)
  # Signals reach the launcher as signals: no transport library turns them into exit 1.
  tern_launch_test(launch.${l}.np4.crash.segv ${l} 4 CHECKS --nonzero --within 15
    --stderr "(rank|task) 2.*(signal 11|Segmentation fault)" ${FOREIGN_SIGNAL_TEXT}
    ARGS $<TARGET_FILE:mp_crash> segv 2)
  tern_launch_test(launch.${l}.np4.crash.cabort ${l} 4 CHECKS --nonzero --within 15
    --stderr "(rank|task) 3.*(signal 6|Aborted)" ${FOREIGN_SIGNAL_TEXT}
    ARGS $<TARGET_FILE:mp_crash> cabort 3)
  tern_launch_test(launch.${l}.np4.crash.abort ${l} 4 CHECKS --nonzero --within 15
    --stderr "tern: PE 3: abort: mp_crash asked PE 3 to abort" ARGS $<TARGET_FILE:mp_crash> abort 3)
  # Leaving behind the runtime's back (no '[' in these regexes: CMake lists keep
  # bracketed text whole); under srun even with kill-on-bad-exit off (the
  # PMIx plugin cancels the step).
  tern_launch_test(launch.${l}.np4.crash.exit ${l} 4 CHECKS --nonzero --within 15
    --stderr "(Process name: ..[0-9]+,1.,1.|task 1)" ARGS $<TARGET_FILE:mp_crash> exit 1)
  set_property(TEST launch.${l}.np4.crash.exit APPEND PROPERTY ENVIRONMENT SLURM_KILL_BAD_EXIT=0)
endforeach()

# A PE stuck in an entry method (or stopped) while the others exit with tern_exit(9): both
# launchers end the job because the others exit non-zero (mpirun returns 9, srun 143, the
# stuck task's SIGTERM). (With tern_exit(0) neither does: they wait for the stuck PE, until
# srun's --time; srun -W SEC would bound it.)
foreach(l ${launchers})
  foreach(how spin stop)
    tern_launch_test(launch.${l}.np4.exit.stuck.${how} ${l} 4 CHECKS --nonzero --within 20
      ARGS $<TARGET_FILE:mp_stuck> ${how} 3 1 9)
  endforeach()
endforeach()

# Options that shape the trees must agree on every PE (mpirun can give each process its own).
if(mpirun IN_LIST launchers)
  add_test(NAME launch.mpirun.optmismatch
    COMMAND bash ${MP_RUN} --nonzero --within 30
      --stderr "TERN_EMULATE_HOSTS is 1 here but 2 on PE 0. every process must see the same value"
      -- timeout 30 ${TERN_MPIRUN} --allow-run-as-root --oversubscribe
         -np 1 -x TERN_EMULATE_HOSTS=2 $<TARGET_FILE:hello> : -np 1 -x TERN_EMULATE_HOSTS=1 $<TARGET_FILE:hello>)
  set_tests_properties(launch.mpirun.optmismatch PROPERTIES TIMEOUT 60 LABELS launch ENVIRONMENT "${MP_ENV}")
endif()

# Forced PMIx without a launcher: PMIx makes the process a singleton, a 1-PE job.
add_test(NAME launch.pmix.alone
  COMMAND bash ${MP_RUN} --code 0 -- $<TARGET_FILE:mp_hosts> 1)
set_tests_properties(launch.pmix.alone PROPERTIES TIMEOUT 60 LABELS launch
                     ENVIRONMENT "${MP_ENV};TERN_BOOT=pmix")
# srun without PMIx would start separate 1-PE jobs: an error that says what to do.
if(srun IN_LIST launchers)
  add_test(NAME launch.srun.nopmix
    COMMAND bash ${MP_RUN} --nonzero --within 30
      --stderr "boot: started by srun as one of 2 tasks, but without a PMIx server. run it with srun --mpi=pmix"
      -- bash -c "source ${SLURM_DIR}/env && exec timeout 30 srun --mpi=none -n 2 -O $<TARGET_FILE:hello>")
  set_tests_properties(launch.srun.nopmix PROPERTIES TIMEOUT 60 LABELS launch ENVIRONMENT "${MP_ENV}"
                       FIXTURES_REQUIRED slurm RESOURCE_LOCK slurm)
endif()
