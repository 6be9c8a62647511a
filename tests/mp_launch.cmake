# Jobs started by cluster launchers (issues 5 and 23): Open MPI's mpirun and Slurm's
# srun --mpi=pmix through PMIx, srun --mpi=pmi2 through PMI-2 (or PMI-1, which Slurm's pmi2
# plugin also speaks, in a build without libpmi2), and MPICH's Hydra mpiexec through PMI-1;
# the Slurm ones on a private one-host Slurm cluster that a test fixture starts and stops
# (tests/slurm/). The same programs as under ternrun, unchanged: creation of groups and
# arrays with broadcasts, delivery under stress, payloads, futures over broadcasts,
# reductions, host queries, the examples; and a crashed PE ending the job.
find_program(TERN_MPIRUN mpirun)
find_program(TERN_SRUN srun)
find_program(TERN_SLURMCTLD slurmctld PATHS /usr/sbin /sbin)
find_program(TERN_MUNGED munged PATHS /usr/sbin /sbin)
find_program(TERN_HYDRA mpiexec.hydra)
set(LAUNCH ${CMAKE_CURRENT_SOURCE_DIR}/launch.sh)
set(launchers "")
if(NOT TERN_PMIX_FOUND)
  message(STATUS "Tern: no PMIx: launch tests under mpirun and srun --mpi=pmix are left out")
  tern_skip_test(launch.pmix "this build has no PMIx bootstrap (libpmix-dev not found, or TERN_WITH_PMIX=OFF): no tests under mpirun and srun --mpi=pmix")
elseif(TERN_MPIRUN)
  list(APPEND launchers mpirun)
else()
  tern_skip_test(launch.mpirun "mpirun is not installed (openmpi-bin)")
endif()
if(TERN_SRUN AND TERN_SLURMCTLD AND TERN_MUNGED)
  if(TERN_PMIX_FOUND)
    list(APPEND launchers srun)
  endif()
  list(APPEND launchers srun_pmi2)
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
else()
  tern_skip_test(launch.srun "Slurm is not installed (slurm-wlm and munge)")
endif()
if(TERN_HYDRA)
  list(APPEND launchers hydra)
else()
  tern_skip_test(launch.hydra "MPICH's mpiexec.hydra is not installed (mpich)")
endif()
message(STATUS "Tern: launch tests under: ${launchers}")
# PE counts of the programs under each launcher: 1, 2 and 4; a build without PMIx (the
# minimal one) runs its launchers (srun --mpi=pmi2 and Hydra, both over PMI-1 there) at 4
# only: the full builds run the same PMI-1 code at every count.
if(TERN_PMIX_FOUND)
  set(LAUNCH_NPS 1 2 4)
else()
  set(LAUNCH_NPS 4)
endif()
# The bootstrap each launcher leads to.
set(boot_mpirun pmix)
set(boot_srun pmix)
set(boot_hydra pmi1)
if(TERN_PMI2_FOUND)
  set(boot_srun_pmi2 pmi2)
else()
  set(boot_srun_pmi2 pmi1)
endif()

# name, launcher, PE count, checks for run_mp.sh; then ARGS program and arguments.
function(tern_launch_test name launcher np)
  cmake_parse_arguments(T "" "" "CHECKS;ARGS" ${ARGN})
  set(how ${launcher})
  if(launcher MATCHES "^srun")
    set(how ${launcher} ${SLURM_DIR})
  endif()
  add_test(NAME ${name} COMMAND bash ${MP_RUN} ${T_CHECKS} -- bash ${LAUNCH} ${how} ${np} ${T_ARGS})
  set_tests_properties(${name} PROPERTIES TIMEOUT 120 ENVIRONMENT "${MP_ENV}" LABELS launch)
  if(launcher MATCHES "^srun")
    set_tests_properties(${name} PROPERTIES FIXTURES_REQUIRED slurm RESOURCE_LOCK slurm)
  endif()
endfunction()

foreach(l ${launchers})
  foreach(np ${LAUNCH_NPS})
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
  # The bootstrap's exchange, values up to 64 KiB (many chunks under PMI-1 and PMI-2).
  tern_launch_test(launch.${l}.np4.boot ${l} 4 CHECKS --code 0
    --stderr "mp_boot: rank 3 of 4 .local 3 of 4, host [^,]*, bootstrap ${boot_${l}}.: ok"
    ARGS $<TARGET_FILE:mp_boot>)
  # Two emulated hosts under the launcher, with the start-up lines that show them.
  tern_launch_test(launch.${l}.np4.hosts2 ${l} 4 CHECKS --code 0 ${LEAKS} ${HOST_ERRORS}
    --stderr "4 PEs on 2 hosts \\(2 emulated per real host\\). bootstrap ${boot_${l}}"
    --stderr "host 1 \\([^)]*\\): PE 2 .*, PE 3 "
    ARGS $<TARGET_FILE:mp_hosts> 2)
  set_property(TEST launch.${l}.np4.hosts2 APPEND PROPERTY ENVIRONMENT
               TERN_EMULATE_HOSTS=2 TERN_VERBOSE=1)
endforeach()

# Every example under the launchers of issue 23 (srun --mpi=pmi2, Hydra), as under ternrun
# (hello and reduction above; the mini-apps in mp_miniapps.cmake).
foreach(l srun_pmi2 hydra)
  if(NOT l IN_LIST launchers)
    continue()
  endif()
  foreach(np ${LAUNCH_NPS})
    foreach(ex futures jacobi2d master_worker qd_timers hosts sections channels pool)
      tern_launch_test(launch.${l}.np${np}.example.${ex} ${l} ${np} CHECKS ${EXAMPLE_CHECKS}
                       ARGS $<TARGET_FILE:${ex}>)
    endforeach()
    tern_launch_test(launch.${l}.np${np}.example.pingpong ${l} ${np} CHECKS ${EXAMPLE_CHECKS}
                     ARGS $<TARGET_FILE:pingpong> 65536 100 3)
  endforeach()
endforeach()

# A PE that dies ends the job within seconds, and the launcher names it: Open MPI by rank,
# Slurm by task (under --mpi=pmi2 thanks to KillOnBadExit=1, which the test cluster sets:
# Slurm's pmi2 plugin, unlike its PMIx one, does not end a step whose task died). Hydra
# names the signal, and a PID that is not always the failed one's (it reports the first
# process it saw end, which may be one it killed itself).
foreach(l ${launchers})
  if(l STREQUAL "hydra")
    set(kill_re "EXIT STRING: Killed \\(signal 9\\)")
    set(segv_re "EXIT STRING: Segmentation fault \\(signal 11\\)")
    set(cabort_re "BAD TERMINATION OF ONE OF YOUR APPLICATION PROCESSES")
    # A plain exit(3): Hydra ends the job with 3, mostly after its banner, but not always
    # (once in an ASan run, nothing at all was printed): only the end is checked.
    set(exit_check "")
  else()
    set(kill_re "(rank|task) 2.*(signal 9|Killed)")
    set(segv_re "(rank|task) 2.*(signal 11|Segmentation fault)")
    set(cabort_re "(rank|task) 3.*(signal 6|Aborted)")
    # No '[' in these regexes: CMake lists keep bracketed text whole.
    set(exit_check --stderr "(Process name: ..[0-9]+,1.,1.|task 1)")
  endif()
  tern_launch_test(launch.${l}.np4.crash.kill ${l} 4 CHECKS --nonzero --within 15
    --stderr "${kill_re}" ARGS $<TARGET_FILE:mp_crash> kill 2)
  # Signals reach the launcher as signals: no transport library turns them into exit 1.
  tern_launch_test(launch.${l}.np4.crash.segv ${l} 4 CHECKS --nonzero --within 15
    --stderr "${segv_re}" ${FOREIGN_SIGNAL_TEXT} ARGS $<TARGET_FILE:mp_crash> segv 2)
  tern_launch_test(launch.${l}.np4.crash.cabort ${l} 4 CHECKS --nonzero --within 15
    --stderr "${cabort_re}" ${FOREIGN_SIGNAL_TEXT} ARGS $<TARGET_FILE:mp_crash> cabort 3)
  tern_launch_test(launch.${l}.np4.crash.abort ${l} 4 CHECKS --nonzero --within 15
    --stderr "tern: PE 3: abort: mp_crash asked PE 3 to abort" ARGS $<TARGET_FILE:mp_crash> abort 3)
  # Leaving behind the runtime's back; under srun --mpi=pmix even with kill-on-bad-exit
  # off (the PMIx plugin cancels the step).
  tern_launch_test(launch.${l}.np4.crash.exit ${l} 4 CHECKS --nonzero --within 15
    ${exit_check} ARGS $<TARGET_FILE:mp_crash> exit 1)
  if(l STREQUAL "srun")
    set_property(TEST launch.${l}.np4.crash.exit APPEND PROPERTY ENVIRONMENT SLURM_KILL_BAD_EXIT=0)
  endif()
endforeach()

# A PE stuck in an entry method (or stopped) while the others exit with tern_exit(9): every
# launcher ends the job because the others exit non-zero (mpirun returns 9, srun 143, the
# stuck task's SIGTERM; under PMI-1 and PMI-2 those PEs abort the job through the server).
# With tern_exit(0) the PEs that leave the stuck one behind abort the job themselves.
foreach(l ${launchers})
  foreach(how spin stop)
    tern_launch_test(launch.${l}.np4.exit.stuck.${how} ${l} 4 CHECKS --nonzero --within 20
      ARGS $<TARGET_FILE:mp_stuck> ${how} 3 1 9)
    set_property(TEST launch.${l}.np4.exit.stuck.${how} APPEND PROPERTY ENVIRONMENT
                 TERN_EXIT_GRACE=2)
    # Under PMI-2 the PEs that leave the stuck one behind abort the job: Slurm's pmi2 plugin
    # would otherwise wait for the stuck one (the test cluster's KillOnBadExit=1 off here).
    if(l STREQUAL "srun_pmi2")
      set_property(TEST launch.${l}.np4.exit.stuck.${how} APPEND PROPERTY ENVIRONMENT
                   SLURM_KILL_BAD_EXIT=0)
    endif()
  endforeach()
  # With tern_exit(0) too (as under ternrun), the job ends: the PEs that leave abort it
  # through the launcher. srun reports the stuck task killed (exit 137); mpirun and Hydra
  # mostly return 0, but not always.
  if(l MATCHES "^srun")
    tern_launch_test(launch.${l}.np4.exit0.stuck.spin ${l} 4 CHECKS --nonzero --within 20
      --stderr "leaving without it" --stderr "srun: error: .*Killed"
      ARGS $<TARGET_FILE:mp_stuck> spin 3 1 0)
    set_property(TEST launch.${l}.np4.exit0.stuck.spin APPEND PROPERTY ENVIRONMENT
                 SLURM_KILL_BAD_EXIT=0)
  else()
    tern_launch_test(launch.${l}.np4.exit0.stuck.spin ${l} 4 CHECKS --anycode --within 20
      --stderr "leaving without it" ARGS $<TARGET_FILE:mp_stuck> spin 3 1 0)
  endif()
  set_property(TEST launch.${l}.np4.exit0.stuck.spin APPEND PROPERTY ENVIRONMENT
               TERN_EXIT_GRACE=2)
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
if(TERN_PMIX_FOUND)
  add_test(NAME launch.pmix.alone
    COMMAND bash ${MP_RUN} --code 0 -- $<TARGET_FILE:mp_hosts> 1)
  set_tests_properties(launch.pmix.alone PROPERTIES TIMEOUT 60 LABELS launch
                       ENVIRONMENT "${MP_ENV};TERN_BOOT=pmix")
endif()

# Bootstrap choice and failures without a launcher (no fixture): each a start-up error that
# names the cause. name, environment, the error; the program is hello.
set(boot_cases
  "pmi1.alone|TERN_BOOT=pmi1|neither PMI_FD nor PMI_PORT is set. this process was not started by a PMI-1 launcher"
  "pmi1.badfd|PMI_FD=97,PMI_RANK=0,PMI_SIZE=2|PMI_FD=97 is not an open descriptor"
  "pmi1.badrank|PMI_FD=0,PMI_RANK=2,PMI_SIZE=2|PMI_RANK=.2. is not a number from 0 to 1"
  "pmi1.badport|PMI_PORT=nowhere,PMI_ID=0|PMI_PORT=.nowhere. is not host:port"
  "bad|TERN_BOOT=bogus|TERN_BOOT=.bogus. is not a bootstrap. accepted values: auto, ternrun, pmix, pmi2, pmi1, single")
if(TERN_PMI2_FOUND)
  list(APPEND boot_cases
    "pmi2.badfd|PMI_FD=97,PMI_JOBID=1.0,PMI_RANK=0,PMI_SIZE=2|PMI2_Init with PMI_FD=97 in job 1.0: .*the launcher's PMI-2 server cannot be reached"
    "pmi2.alone|TERN_BOOT=pmi2|PMI_FD is not set: was this process started by a PMI-2 launcher")
else()
  list(APPEND boot_cases
    "pmi2.cray|ALPS_APP_PE=0|started by aprun .ALPS_APP_PE is set., but this build of Tern has no PMI-2 support")
endif()
foreach(case ${boot_cases})
  string(REPLACE "|" ";" case "${case}")
  list(GET case 0 name)
  list(GET case 1 env)
  list(GET case 2 re)
  string(REPLACE "," ";" env "${env}")
  add_test(NAME launch.boot.${name}
    COMMAND bash ${MP_RUN} --nonzero --within 30 --stderr "${re}" -- timeout 30 $<TARGET_FILE:hello>)
  set_tests_properties(launch.boot.${name} PROPERTIES TIMEOUT 60 LABELS launch
                       ENVIRONMENT "${MP_ENV};${env}")
endforeach()
# A PMI-1 server that is gone: the descriptor is open, but not to a server.
add_test(NAME launch.boot.pmi1.noserver
  COMMAND bash ${MP_RUN} --nonzero --within 30
    --stderr "boot: cannot write to the PMI-1 server .PMI_FD=5. during init"
    -- bash -c "exec 5</dev/null; PMI_FD=5 PMI_RANK=0 PMI_SIZE=2 exec timeout 30 $<TARGET_FILE:hello>")
set_tests_properties(launch.boot.pmi1.noserver PROPERTIES TIMEOUT 60 LABELS launch ENVIRONMENT "${MP_ENV}")

# srun without PMIx or PMI-2 would start separate 1-PE jobs: an error that says what to do.
if(srun_pmi2 IN_LIST launchers)
  add_test(NAME launch.srun.nopmi
    COMMAND bash ${MP_RUN} --nonzero --within 30
      --stderr "boot: started by srun as one of 2 tasks, but without a PMIx or PMI-2 server. run it with srun --mpi=pmi"
      -- bash -c "source ${SLURM_DIR}/env && exec timeout 30 srun --mpi=none -n 2 -O $<TARGET_FILE:hello>")
  set_tests_properties(launch.srun.nopmi PROPERTIES TIMEOUT 60 LABELS launch ENVIRONMENT "${MP_ENV}"
                       FIXTURES_REQUIRED slurm RESOURCE_LOCK slurm)
  # PMI-1 forced under srun --mpi=pmi2: Slurm's plugin answers it (what a build without
  # libpmi2 does by itself).
  tern_launch_test(launch.srun_pmi2.np4.as_pmi1 srun_pmi2 4 CHECKS --code 0 ${LEAKS}
    --stderr "4 PEs on 1 host. bootstrap pmi1" ARGS $<TARGET_FILE:mp_reduce> ops)
  set_property(TEST launch.srun_pmi2.np4.as_pmi1 APPEND PROPERTY ENVIRONMENT
               TERN_BOOT=pmi1 TERN_VERBOSE=1)
  # Its exchange with long values: Slurm's server holds PMI-1 requests to 1024 bytes.
  tern_launch_test(launch.srun_pmi2.np4.as_pmi1.boot srun_pmi2 4 CHECKS --code 0
    --stderr "mp_boot: rank 3 of 4 .local 3 of 4, host [^,]*, bootstrap pmi1.: ok"
    ARGS $<TARGET_FILE:mp_boot>)
  set_property(TEST launch.srun_pmi2.np4.as_pmi1.boot APPEND PROPERTY ENVIRONMENT TERN_BOOT=pmi1)
endif()
# Hydra's other way in: an address to connect to (PMI_PORT) instead of a socket.
if(hydra IN_LIST launchers)
  add_test(NAME launch.hydra.np3.pmi_port
    COMMAND bash ${MP_RUN} --code 0 ${LEAKS} --stderr "3 PEs on 1 host. bootstrap pmi1"
      -- timeout -k 5 90 ${TERN_HYDRA} -pmi-port -n 3 $<TARGET_FILE:mp_reduce> ops)
  set_tests_properties(launch.hydra.np3.pmi_port PROPERTIES TIMEOUT 120 LABELS launch
                       ENVIRONMENT "${MP_ENV};TERN_VERBOSE=1")
endif()
