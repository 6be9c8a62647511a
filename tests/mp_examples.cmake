# The examples, as a newcomer runs them (examples/*.c). Each exits with 0 only when its
# results are right; the runtime logs an error for any call that fails, and no example
# expects one.
function(tern_example_test name np)
  tern_mp_test(example.${name}.np${np} ${np} CHECKS ${EXAMPLE_CHECKS} ARGS ${ARGN})
endfunction()

tern_example_test(hello 8 $<TARGET_FILE:hello>)
tern_example_test(pingpong 2 $<TARGET_FILE:pingpong> 1048576 200 3)
foreach(np 1 2 4)
  tern_example_test(hello ${np} $<TARGET_FILE:hello>)
  foreach(ex futures reduction jacobi2d master_worker qd_timers hosts sections channels pool)
    tern_example_test(${ex} ${np} $<TARGET_FILE:${ex}>)
  endforeach()
endforeach()
# Both pingpong chares on one PE, and on PEs 0 and 3.
tern_example_test(pingpong 1 $<TARGET_FILE:pingpong> 65536 100 3)
tern_example_test(pingpong 4 $<TARGET_FILE:pingpong> 65536 100 3)
# 9 blocks on 4 PEs, stopped by the iteration bound with a short last round.
tern_example_test(jacobi2d.uneven 4 $<TARGET_FILE:jacobi2d> 30 3 25 10)
# Fewer tasks than slots, one in flight per worker.
tern_example_test(master_worker.few 4 $<TARGET_FILE:master_worker> 1000 3 1)
# Several hosts on one machine; the argument makes a wrong host count fail the test.
foreach(k 2 3)
  tern_example_test(hosts.emulate${k} 4 $<TARGET_FILE:hosts> ${k})
  set_property(TEST example.hosts.emulate${k}.np4 APPEND PROPERTY ENVIRONMENT
               TERN_EMULATE_HOSTS=${k})
endforeach()
