# The multi-process suite over each network transport of this build, on this one host:
# UCX over its shared-memory and its TCP paths, libfabric over its tcp (tcp;ofi_rxm) and shm
# providers. Delivery and broadcasts (groups, arrays), payloads from 0 B to 64 MiB checked
# byte for byte, all-to-all stress, futures over broadcasts, reductions, exit under load, a
# PE dying; the start-up line naming the transport; and forced transports that cannot
# serve the job failing at start with a clear message.
set(tp_variants "")
if(TERN_UCX_FOUND)
  list(APPEND tp_variants ucx.sm ucx.tcp)
else()
  tern_skip_test(tp.ucx "this build has no UCX transport (libucx-dev not found, or TERN_WITH_UCX=OFF)")
endif()
if(TERN_LIBFABRIC_FOUND)
  list(APPEND tp_variants ofi.tcp ofi.shm)
else()
  tern_skip_test(tp.ofi "this build has no OFI transport (libfabric-dev not found, or TERN_WITH_OFI=OFF)")
endif()
message(STATUS "Tern: transport test variants: ${tp_variants}")

# Environment of a variant: transport.path -> TERN_TRANSPORT and the library's own knob.
function(tern_tp_env variant out)
  string(REPLACE "." ";" parts ${variant})
  list(GET parts 0 tp)
  list(GET parts 1 path)
  set(env TERN_TRANSPORT=${tp})
  if(tp STREQUAL "ucx")
    list(APPEND env UCX_TLS=${path})
  else()
    # "tcp" selects libfabric's tcp;ofi_rxm (a ';' cannot pass through a CMake list).
    list(APPEND env TERN_OFI_PROVIDER=${path})
  endif()
  set(${out} ${env} PARENT_SCOPE)
endfunction()

# A multi-process test with extra environment: NAME NP ENV ... CHECKS ... ARGS ...
function(tern_tp_test name np)
  cmake_parse_arguments(T "" "" "ENV;CHECKS;ARGS" ${ARGN})
  tern_mp_test(${name} ${np} CHECKS ${T_CHECKS} ARGS ${T_ARGS})
  set_property(TEST ${name} APPEND PROPERTY ENVIRONMENT ${T_ENV})
  set_property(TEST ${name} APPEND PROPERTY LABELS transport)
  # libfabric's tcp provider takes the first interface it lists, which may be the bridge
  # of the emulated hosts: not while the multi-host fixture builds or removes it.
  set_property(TEST ${name} APPEND PROPERTY RESOURCE_LOCK multihost)
endfunction()

foreach(v ${tp_variants})
  tern_tp_env(${v} env)
  set(p tp.${v})
  foreach(np 2 4)
    tern_tp_test(${p}.create.np${np} ${np} ENV ${env} CHECKS --code 0 ${LEAKS}
                 ARGS $<TARGET_FILE:mp_create>)
    tern_tp_test(${p}.payload.np${np} ${np} ENV ${env} CHECKS --code 0 ${LEAKS}
                 ARGS $<TARGET_FILE:mp_payload>)
  endforeach()
  tern_tp_test(${p}.stress.np4 4 ENV ${env} CHECKS --code 0 ${LEAKS}
               ARGS $<TARGET_FILE:mp_stress> 20000)
  # Elements moving under load, 1,000,000 messages each time. Over TCP a message takes
  # long enough to chase an element that moves every 24 messages from PE to PE for many
  # hops: there the elements move every 256.
  if(v MATCHES "tcp")
    set(every 256)
  else()
    set(every 24)
  endif()
  foreach(np 2 4 8)
    tern_tp_test(${p}.migstress.np${np} ${np} ENV ${env} CHECKS --code 0 ${LEAKS} --within 60
                 ARGS $<TARGET_FILE:mp_migstress> 1000000 ${every})
  endforeach()
  # Load balancing steps over the path, with every strategy (Rotate moves every element
  # every step).
  foreach(s ${TERN_LB_STRATEGIES})
    foreach(mode atsync periodic)
      tern_tp_test(${p}.lb.${mode}.${s}.np3 3 ENV ${env} TERN_LB=${s}
                   CHECKS --code 0 ${LEAKS} --within 60 ARGS $<TARGET_FILE:mp_lb> ${mode})
    endforeach()
  endforeach()
  # Sections over the path: random sections, and members that move.
  foreach(mode random migrate)
    tern_tp_test(${p}.sect.${mode}.np4 4 ENV ${env} CHECKS --code 0 ${LEAKS} --within 60
                 ARGS $<TARGET_FILE:mp_sect> ${mode})
  endforeach()
  # Channels over the path: a stream each way, and ends that move.
  foreach(mode stress migrate)
    tern_tp_test(${p}.chan.${mode}.np3 3 ENV ${env} CHECKS --code 0 ${LEAKS} --within 60
                 ARGS $<TARGET_FILE:mp_chan> ${mode})
  endforeach()
  tern_tp_test(${p}.migrate.state.np4 4 ENV ${env} CHECKS --code 0 ${LEAKS}
               ARGS $<TARGET_FILE:mp_migrate> state)
  tern_tp_test(${p}.migrate.bcast.np3 3 ENV ${env} CHECKS --code 0 ${LEAKS}
               ARGS $<TARGET_FILE:mp_migrate> bcast)
  tern_tp_test(${p}.migrate.insert.np4 4 ENV ${env} CHECKS --code 0 ${LEAKS}
               ARGS $<TARGET_FILE:mp_migrate> insert)
  tern_tp_test(${p}.future.bcast.np4 4 ENV ${env} CHECKS --code 0 ${LEAKS}
               ARGS $<TARGET_FILE:mp_future> bcast)
  tern_tp_test(${p}.reduce.ops.np3 3 ENV ${env} CHECKS --code 0 ${LEAKS}
               ARGS $<TARGET_FILE:mp_reduce> ops)
  tern_tp_test(${p}.exit.flood.np3 3 ENV ${env} CHECKS --code 4 --within 10
               ARGS $<TARGET_FILE:mp_exit> 4 flood)
  tern_tp_test(${p}.idle.np3 3 ENV ${env} CHECKS --code 0
               ARGS $<TARGET_FILE:mp_idle> 1)
  # Flow control: a flood toward a slow PE waits at the sender, packed (see mp.flood).
  tern_tp_test(${p}.flood.np2 2 ENV ${env} CHECKS --code 0 ${LEAKS} --within 60
               ARGS $<TARGET_FILE:mp_flood> 1000000 16 2 200)
  tern_tp_test(${p}.flood.np4 4 ENV ${env} CHECKS --code 0 ${LEAKS} --within 60
               ARGS $<TARGET_FILE:mp_flood> 200000 16 2 40)
  tern_tp_test(${p}.selfbusy.np2 2 ENV ${env} CHECKS --code 0 ${LEAKS} --within 30
               ARGS $<TARGET_FILE:mp_selfbusy> 4096)
  # A PE still inside an entry method while the exit goes round sends to every PE when
  # it returns: none may have left (UCX over TCP failed such sends with "Endpoint timeout").
  tern_tp_test(${p}.exit.late.np4 4 ENV ${env} CHECKS --code 3 --within 30
               --forbid "failed" ARGS $<TARGET_FILE:mp_exit> 3 late)
  tern_tp_test(${p}.crash.kill.np4 4 ENV ${env} CHECKS --nonzero --within 10
               --stderr "PE 2 .*killed by signal 9|to PE 2 .*connection to that process broke"
               ARGS $<TARGET_FILE:mp_crash> kill 2)
  # Dying of a signal with the library loaded and open: that signal, none of its text.
  foreach(c "segv|11" "cabort|6" "term|15" "int|2")
    string(REPLACE "|" ";" c "${c}")
    list(GET c 0 how)
    list(GET c 1 sig)
    tern_tp_test(${p}.crash.${how}.np3 3 ENV ${env} CHECKS --nonzero --within 10
                 --stderr "PE 2 .*killed by signal ${sig} " ${FOREIGN_SIGNAL_TEXT}
                 ARGS $<TARGET_FILE:mp_crash> ${how} 2)
  endforeach()
  # The start line names the library's path: "ucx (UCX_TLS=sm)", "ofi (tcp;ofi_rxm)".
  string(REGEX REPLACE "^ucx\\.(.*)$" "ucx .UCX_TLS=\\1." desc ${v})
  string(REGEX REPLACE "^ofi\\.tcp$" "ofi .tcp.ofi_rxm." desc ${desc})
  string(REGEX REPLACE "^ofi\\.shm$" "ofi .shm." desc ${desc})
  tern_tp_test(${p}.startline.np3 3 ENV ${env} TERN_VERBOSE=1 CHECKS --code 0
               --stderr "transports: ${desc} for the 3 pairs within the host"
               ARGS $<TARGET_FILE:mp_create>)
endforeach()
if(TERN_UCX_FOUND)
  # The user's case: 16 PEs over UCX's TCP path, the exit reaching a PE busy in a method.
  tern_tp_test(tp.ucx.tcp.exit.late.np16 16 ENV TERN_TRANSPORT=ucx UCX_TLS=tcp CHECKS --code 3
               --within 60 --forbid "failed" ARGS $<TARGET_FILE:mp_exit> 3 late)
endif()
# TERN_TRANSPORT itself: unknown names and repeated ones are errors at start.
tern_tp_test(tp.select.unknown.np2 2 ENV TERN_TRANSPORT=carrier-pigeon CHECKS --code 1
             --stderr "TERN_TRANSPORT=carrier-pigeon: no transport .carrier-pigeon. in this build"
             ARGS $<TARGET_FILE:mp_create>)
tern_tp_test(tp.select.repeated.np2 2 ENV TERN_TRANSPORT=shm,shm CHECKS --code 1
             --stderr "expected auto, a transport name or a comma-separated list"
             ARGS $<TARGET_FILE:mp_create>)
# A list (of the transports this build has): the first that reaches a pair serves it
# (shm here; the others are not opened).
set(tp_list shm)
if(TERN_UCX_FOUND)
  string(APPEND tp_list ",ucx")
endif()
if(TERN_LIBFABRIC_FOUND)
  string(APPEND tp_list ",ofi")
endif()
tern_tp_test(tp.select.list.np3 3 ENV TERN_TRANSPORT=${tp_list} TERN_VERBOSE=1 CHECKS --code 0
             --stderr "transports: shm for the 3 pairs within the host"
             --forbid "ucx|ofi \\(" ARGS $<TARGET_FILE:mp_create>)
if(TERN_UCX_FOUND)
  # UCX with only a path that carries no active messages: unreachable, said at start.
  tern_tp_test(tp.ucx.unreachable.np2 2 ENV TERN_TRANSPORT=ucx UCX_TLS=cma CHECKS --code 1
               --within 20 --stderr "ucx transport: no path to PE"
               --stderr "no transport of TERN_TRANSPORT=ucx reaches PE"
               ARGS $<TARGET_FILE:mp_create>)
  # ucx first in the list: it serves every pair and shm is not opened.
  tern_tp_test(tp.select.ucxfirst.np3 3 ENV TERN_TRANSPORT=ucx,shm UCX_TLS=sm TERN_VERBOSE=1
               CHECKS --code 0 --stderr "transports: ucx .UCX_TLS=sm. for the 3 pairs within the host"
               --forbid "shm for" ARGS $<TARGET_FILE:mp_create>)
endif()

# Across three emulated hosts (tests/multihost, srun -N 3 --mpi=pmix, 2 PEs per host): by
# default shm inside each host and UCX between hosts; UCX for everything; shm inside and
# OFI over tcp between; OFI over tcp for everything. Then what cannot work: shm alone, or
# OFI's shm provider alone, must stop at start naming the hosts (libfabric's shm provider
# between hosts would hang).
set(mh_ways "")
if(TERN_UCX_FOUND)
  list(APPEND mh_ways "auto|TERN_TRANSPORT=auto|shm for the 3 pairs within hosts, ucx for the 12 pairs across hosts"
                      "ucx|TERN_TRANSPORT=ucx|ucx for the 15 pairs within and across hosts")
endif()
if(TERN_LIBFABRIC_FOUND)
  list(APPEND mh_ways "shm-ofi|TERN_TRANSPORT=shm,ofi TERN_OFI_PROVIDER=tcp|shm for the 3 pairs within hosts, ofi .tcp.ofi_rxm. for the 12 pairs across hosts"
                      "ofi|TERN_TRANSPORT=ofi TERN_OFI_PROVIDER=tcp|ofi .tcp.ofi_rxm. for the 15 pairs within and across hosts")
endif()
foreach(way ${mh_ways})
  string(REPLACE "|" ";" way "${way}")
  list(GET way 0 w)
  list(GET way 1 env)
  list(GET way 2 line)
  separate_arguments(env)
  set(p mh.${w})
  tern_multihost_test(${p}.hello 3 6 CHECKS --code 0 --stderr "6 PEs on 3 hosts"
                      --stderr "transports: ${line}" ENV ${env} TERN_VERBOSE=1
                      ARGS $<TARGET_FILE:hello>)
  tern_multihost_test(${p}.reduction 3 6 CHECKS --code 0 ENV ${env} ARGS $<TARGET_FILE:reduction>)
  tern_multihost_test(${p}.create 3 6 CHECKS --code 0 ${LEAKS} ENV ${env}
                      ARGS $<TARGET_FILE:mp_create>)
  tern_multihost_test(${p}.payload 3 6 CHECKS --code 0 ${LEAKS} ENV ${env}
                      ARGS $<TARGET_FILE:mp_payload>)
  tern_multihost_test(${p}.stress 3 6 CHECKS --code 0 ${LEAKS} ENV ${env}
                      ARGS $<TARGET_FILE:mp_stress> 20000)
  tern_multihost_test(${p}.idle 3 6 CHECKS --code 0 ENV ${env} ARGS $<TARGET_FILE:mp_idle> 1)
endforeach()
if(TERN_UCX_FOUND)
  tern_multihost_test(mh.auto.future.bcast 3 6 CHECKS --code 0 ${LEAKS}
                      ARGS $<TARGET_FILE:mp_future> bcast)
  tern_multihost_test(mh.auto.reduce.ops 3 6 CHECKS --code 0 ${LEAKS}
                      ARGS $<TARGET_FILE:mp_reduce> ops)
  tern_multihost_test(mh.auto.hosts 3 6 CHECKS --code 0 ARGS $<TARGET_FILE:mp_hosts> 3)
  tern_multihost_test(mh.auto.crash.kill 3 6 CHECKS --nonzero --within 30
                      ARGS $<TARGET_FILE:mp_crash> kill 3)
endif()
# The same across hosts under srun --mpi=pmi2 (issue 23): the process mapping Slurm hands
# over through PMI-2 places the PEs, block (2 per host; 3 + 2 on 2 hosts) and cyclic.
if(TERN_UCX_FOUND OR TERN_LIBFABRIC_FOUND)
  set(pmi2_env TERN_MH_MPI=pmi2)
  tern_multihost_test(mh.pmi2.hello 3 6 CHECKS ${EXAMPLE_CHECKS}
    --stderr "6 PEs on 3 hosts. bootstrap ${boot_srun_pmi2}"
    --stderr "host 1 \\(tn2\\): PE 2 .*, PE 3 " --stderr "host 2 \\(tn3\\): PE 4 .*, PE 5 "
    ENV ${pmi2_env} TERN_VERBOSE=1 ARGS $<TARGET_FILE:hello>)
  tern_multihost_test(mh.pmi2.n2np5.hello 2 5 CHECKS ${EXAMPLE_CHECKS}
    --stderr "host 0 \\(tn1\\): PE 0 .*, PE 1 .*, PE 2 " --stderr "host 1 \\(tn2\\): PE 3 .*, PE 4 "
    ENV ${pmi2_env} TERN_VERBOSE=1 ARGS $<TARGET_FILE:hello>)
  tern_multihost_test(mh.pmi2.cyclic.reduce.ops 3 6 CHECKS --code 0 ${LEAKS}
    --stderr "host 0 \\(tn1\\): PE 0 .*, PE 3 " --stderr "host 1 \\(tn2\\): PE 1 .*, PE 4 "
    ENV ${pmi2_env} TERN_MH_DIST=cyclic TERN_VERBOSE=1 ARGS $<TARGET_FILE:mp_reduce> ops)
  tern_multihost_test(mh.pmi2.create 3 6 CHECKS --code 0 ${LEAKS} ENV ${pmi2_env}
                      ARGS $<TARGET_FILE:mp_create>)
  tern_multihost_test(mh.pmi2.stress 3 6 CHECKS --code 0 ${LEAKS} ENV ${pmi2_env}
                      ARGS $<TARGET_FILE:mp_stress> 20000)
  tern_multihost_test(mh.pmi2.future.bcast 3 6 CHECKS --code 0 ${LEAKS} ENV ${pmi2_env}
                      ARGS $<TARGET_FILE:mp_future> bcast)
  tern_multihost_test(mh.pmi2.reduce.ops 3 6 CHECKS --code 0 ${LEAKS} ENV ${pmi2_env}
                      ARGS $<TARGET_FILE:mp_reduce> ops)
  tern_multihost_test(mh.pmi2.hosts 3 6 CHECKS --code 0 ENV ${pmi2_env}
                      ARGS $<TARGET_FILE:mp_hosts> 3)
  tern_multihost_test(mh.pmi2.reduction 3 6 CHECKS ${EXAMPLE_CHECKS} ENV ${pmi2_env}
                      ARGS $<TARGET_FILE:reduction>)
  foreach(mpi pmix pmi2)
    set(boot ${mpi})
    if(mpi STREQUAL "pmi2")
      set(boot ${boot_srun_pmi2})
    endif()
    tern_multihost_test(mh.${mpi}.boot 3 6 CHECKS --code 0
      --stderr "mp_boot: rank 5 of 6 .local 1 of 2, host tn3, bootstrap ${boot}.: ok"
      ENV TERN_MH_MPI=${mpi} ARGS $<TARGET_FILE:mp_boot>)
  endforeach()
  tern_multihost_test(mh.pmi2.crash.kill 3 6 CHECKS --nonzero --within 30
                      --stderr "task 3: Killed" ENV ${pmi2_env} ARGS $<TARGET_FILE:mp_crash> kill 3)
endif()
tern_multihost_test(mh.shm.only 3 6 CHECKS --nonzero --within 30
  --stderr "TERN_TRANSPORT=shm reaches only the PEs of one host, and PE [0-9]+ is on host tn"
  ENV TERN_TRANSPORT=shm ARGS $<TARGET_FILE:hello>)
if(TERN_LIBFABRIC_FOUND)
  # (libfabric's shm provider leaves its files in /dev/shm when a process is killed.)
  tern_multihost_test(mh.ofi.shm.only 3 6 ALLOW_SHM_LEFTOVERS CHECKS --nonzero --within 30
    --stderr "TERN_TRANSPORT=ofi reaches only the PEs of one host"
    ENV TERN_TRANSPORT=ofi TERN_OFI_PROVIDER=shm ARGS $<TARGET_FILE:hello>)
endif()
