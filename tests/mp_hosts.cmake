# Host queries with emulated hosts (tests/mp/mp_hosts.c), and the collective tests again
# with the PEs split into hosts, so that broadcasts, reductions and QD waves run over
# host-aware trees whose host level is not trivial.
add_executable(mp_hosts mp/mp_hosts.c)
target_link_libraries(mp_hosts PRIVATE tern)

set(HOST_ERRORS
  --stderr "tern_host_num_pes: host -1 is out of range \\(the job has [0-9]+ hosts?\\)"
  --stderr "tern_host_first_pe: host [0-9]+ is out of range"
  --stderr "tern_host_pes: host [0-9]+ is out of range"
  --stderr "tern_host_pes: no room given for the PEs"
  --stderr "tern_pe_host: PE [0-9]+ is out of range \\(the job has [0-9]+ PEs?\\)"
  --stderr "tern_pe_host_rank: PE -2 is out of range")
foreach(np 1 2 3 4 8)
  foreach(k 1 2 3)
    tern_mp_test(mp.hosts.k${k}.np${np} ${np} CHECKS --code 0 ${LEAKS} --within 10
                 ${HOST_ERRORS} ARGS $<TARGET_FILE:mp_hosts> ${k})
    set_property(TEST mp.hosts.k${k}.np${np} APPEND PROPERTY ENVIRONMENT TERN_EMULATE_HOSTS=${k})
  endforeach()
endforeach()

# name, PE count, emulated hosts, branching factor, program and arguments
function(tern_hosts_test name np k fanout)
  tern_mp_test(${name}.hosts${k}.k${fanout}.np${np} ${np} CHECKS --code 0 ${LEAKS} --within 20
               ARGS ${ARGN})
  set_property(TEST ${name}.hosts${k}.k${fanout}.np${np} APPEND PROPERTY ENVIRONMENT
               TERN_EMULATE_HOSTS=${k} TERN_BCAST_FANOUT=${fanout})
endfunction()
foreach(cfg "4;2;2" "8;3;2" "8;4;1" "7;3;3")
  list(GET cfg 0 np)
  list(GET cfg 1 k)
  list(GET cfg 2 fanout)
  tern_hosts_test(mp.create ${np} ${k} ${fanout} $<TARGET_FILE:mp_create>)
  tern_hosts_test(mp.future.bcast ${np} ${k} ${fanout} $<TARGET_FILE:mp_future> bcast)
  tern_hosts_test(mp.qd ${np} ${k} ${fanout} $<TARGET_FILE:mp_qd>)
  foreach(mode ops gather sync inflight callbacks coro)
    tern_hosts_test(mp.reduce.${mode} ${np} ${k} ${fanout} $<TARGET_FILE:mp_reduce> ${mode})
  endforeach()
  foreach(mode bcast reduce insert sparse)
    tern_hosts_test(mp.migrate.${mode} ${np} ${k} ${fanout} $<TARGET_FILE:mp_migrate> ${mode})
  endforeach()
  tern_hosts_test(mp.migstress ${np} ${k} ${fanout} $<TARGET_FILE:mp_migstress> 300000)
  foreach(mode random migrate allreduce)
    tern_hosts_test(mp.sect.${mode} ${np} ${k} ${fanout} $<TARGET_FILE:mp_sect> ${mode})
  endforeach()
  foreach(mode ring migrate iwait)
    tern_hosts_test(mp.chan.${mode} ${np} ${k} ${fanout} $<TARGET_FILE:mp_chan> ${mode})
  endforeach()
  foreach(mode atsync periodic)
    tern_hosts_test(mp.lb.${mode} ${np} ${k} ${fanout} $<TARGET_FILE:mp_lb> ${mode})
    set_property(TEST mp.lb.${mode}.hosts${k}.k${fanout}.np${np} APPEND PROPERTY ENVIRONMENT
                 TERN_LB=HostGreedyRefine)
  endforeach()
endforeach()

# Binding (TERN_BIND), as the verbose start-up lines report it. This machine has at least
# 2 cores: 2 PEs get one each under core and auto; 3 PEs on 2 cores are not bound.
function(tern_bind_test name np policy)
  tern_mp_test(mp.bind.${name}.np${np} ${np} CHECKS --code 0 ${ARGN} ARGS $<TARGET_FILE:hello>)
  set_property(TEST mp.bind.${name}.np${np} APPEND PROPERTY ENVIRONMENT
               TERN_BIND=${policy} TERN_VERBOSE=1)
endfunction()
cmake_host_system_information(RESULT ncores QUERY NUMBER_OF_PHYSICAL_CORES)
if(ncores GREATER_EQUAL 2)
  tern_bind_test(core 2 core --stderr "PE 0 core 0 \\(cpus [0-9,-]+, core\\), PE 1 core 1 \\(cpus [0-9,-]+, core\\)")
  tern_bind_test(auto 2 auto --stderr "PE 0 core 0 \\(cpus [0-9,-]+, core\\), PE 1 core 1 ")
  tern_bind_test(numa 2 numa --stderr "PE 0 NUMA domain 0 \\(cpus [0-9,-]+, numa\\)")
endif()
tern_bind_test(none 2 none --stderr "PE 1 unbound \\(cpus [0-9,-]+, none\\)")
math(EXPR over "${ncores} + 1")
tern_bind_test(auto ${over} auto --stderr "PE 0 unbound \\(cpus [0-9,-]+, none\\)"
               --forbid "not binding")
tern_bind_test(core ${over} core --stderr "warning: TERN_BIND=core: ${over} PEs on this host but [0-9]+ cores. not binding")
tern_mp_test(mp.bind.bogus.np2 2 CHECKS --nonzero
  --stderr "TERN_BIND=bogus: expected auto, core, numa or none" ARGS $<TARGET_FILE:hello>)
set_property(TEST mp.bind.bogus.np2 APPEND PROPERTY ENVIRONMENT TERN_BIND=bogus)
