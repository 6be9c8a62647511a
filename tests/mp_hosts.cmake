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
  foreach(mode ops gather sync inflight callbacks)
    tern_hosts_test(mp.reduce.${mode} ${np} ${k} ${fanout} $<TARGET_FILE:mp_reduce> ${mode})
  endforeach()
endforeach()
