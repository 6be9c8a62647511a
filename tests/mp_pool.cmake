# The task pool (tests/mp/mp_pool.c): maps of 0 to 1,000,000 tasks against serial results,
# fib by spawning, uneven tasks, failing tasks, maps from every PE at once, ncores, exit
# with a map under way, and a map of 10,000,000 inputs in bounded memory; at 1 to 8 PEs,
# with emulated hosts, on every transport.
add_executable(mp_pool mp/mp_pool.c)
target_link_libraries(mp_pool PRIVATE tern)
set(POOL_MODES maps fib uneven errors concurrent ncores exit)
foreach(np 1 2 3 4 8)
  foreach(mode ${POOL_MODES})
    tern_mp_test(mp.pool.${mode}.np${np} ${np} CHECKS --code 0 ${LEAKS} --within 90
                 ARGS $<TARGET_FILE:mp_pool> ${mode})
  endforeach()
endforeach()
tern_mp_test(mp.pool.fib25.np2 2 CHECKS --code 0 ${LEAKS} --within 90
             ARGS $<TARGET_FILE:mp_pool> fib 25)
if(NOT TERN_SANITIZE)
  tern_mp_test(mp.pool.big.np2 2 CHECKS --code 0 ${LEAKS} --within 90
               ARGS $<TARGET_FILE:mp_pool> big)
endif()
foreach(mode maps uneven fib)
  tern_mp_test(mp.pool.${mode}.hosts2.np4 4 CHECKS --code 0 ${LEAKS} --within 90
               ARGS $<TARGET_FILE:mp_pool> ${mode})
  set_property(TEST mp.pool.${mode}.hosts2.np4 APPEND PROPERTY ENVIRONMENT TERN_EMULATE_HOSTS=2)
endforeach()
# Every network transport of this build.
foreach(v ${tp_variants})
  tern_tp_env(${v} env)
  foreach(mode maps fib uneven errors)
    tern_tp_test(tp.${v}.pool.${mode}.np3 3 ENV ${env} CHECKS --code 0 ${LEAKS} --within 90
                 ARGS $<TARGET_FILE:mp_pool> ${mode})
  endforeach()
endforeach()
# Pool tasks in the timeline: every square task of the maps mode in a pool.square event.
if(EXISTS /usr/bin/python3)
  add_test(NAME mp.pool.trace.np2
    COMMAND bash -c "rm -f pooltrace.json* && $<TARGET_FILE:ternrun> -n 2 --timeout 60 $<TARGET_FILE:mp_pool> maps > /dev/null && /usr/bin/python3 -c 'import json, sys; ev = json.load(open(\"pooltrace.json\")); n = sum(e[\"args\"][\"tasks\"] for e in ev if e.get(\"cat\") == \"pool\" and e[\"name\"] == \"pool.square\"); sys.exit(0 if n == 1102001 else \"pool.square tasks in the timeline: %d, not 1102001\" % n)'")
  set_tests_properties(mp.pool.trace.np2 PROPERTIES TIMEOUT 90 LABELS mp
                       ENVIRONMENT "${MP_ENV};TERN_TRACE=pooltrace.json")
endif()
