# Statistics (tests/mp/mp_stats.c, tests/stats_check.py): counts that add up, the table,
# the JSON files.
add_executable(mp_stats mp/mp_stats.c)
target_link_libraries(mp_stats PRIVATE tern)
foreach(np 1 2 4)
  tern_mp_test(mp.stats.np${np} ${np} CHECKS --code 0 ${LEAKS} --within 30
               --stderr "tern: stats: PE 0: entry method +calls +total ms"
               --stderr "tern: stats: PE [0-9]+: El.ping +1000 "
               ARGS $<TARGET_FILE:mp_stats>)
  set_property(TEST mp.stats.np${np} APPEND PROPERTY ENVIRONMENT TERN_STATS=1)
endforeach()
if(EXISTS /usr/bin/python3)
  foreach(np 1 3)
    add_test(NAME mp.stats.json.np${np}
      COMMAND bash -c "rm -f stats_json${np}.*.json && $<TARGET_FILE:ternrun> -n ${np} --timeout 60 $<TARGET_FILE:mp_stats> > /dev/null && /usr/bin/python3 ${CMAKE_CURRENT_SOURCE_DIR}/stats_check.py stats_json${np} ${np}")
    set_tests_properties(mp.stats.json.np${np} PROPERTIES TIMEOUT 60 LABELS mp
                         ENVIRONMENT "${MP_ENV};TERN_STATS_FILE=stats_json${np}")
  endforeach()
endif()
