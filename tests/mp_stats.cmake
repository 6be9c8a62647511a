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
# The timeline (TERN_TRACE), joined by ternrun, checked by tests/trace_check.py; with
# emulated hosts too.
if(EXISTS /usr/bin/python3)
  foreach(cfg "1;1" "3;1" "4;2" "6;3")
    list(GET cfg 0 np)
    list(GET cfg 1 hosts)
    set(name mp.trace.np${np}.hosts${hosts})
    add_test(NAME ${name}
      COMMAND bash -c "rm -f trace${np}_${hosts}.json* && $<TARGET_FILE:ternrun> -n ${np} --timeout 60 $<TARGET_FILE:mp_stats> > /dev/null && test ! -e trace${np}_${hosts}.json.0.json && /usr/bin/python3 ${CMAKE_CURRENT_SOURCE_DIR}/trace_check.py trace${np}_${hosts}.json ${np} ${hosts}")
    set_tests_properties(${name} PROPERTIES TIMEOUT 60 LABELS mp ENVIRONMENT
      "${MP_ENV};TERN_STATS=1;TERN_TRACE=trace${np}_${hosts}.json;TERN_EMULATE_HOSTS=${hosts}")
  endforeach()
endif()
# tools/ternprof draws a timeline as PNG (skipped without matplotlib).
if(EXISTS /usr/bin/python3)
  add_test(NAME tool.ternprof
    COMMAND bash -c "/usr/bin/python3 -c 'import matplotlib' 2>/dev/null || { echo 'skipped: no matplotlib (python3-matplotlib)'; exit 77; }; rm -f prof.json* prof.png && $<TARGET_FILE:ternrun> -n 2 --timeout 60 $<TARGET_FILE:mp_stats> > /dev/null && /usr/bin/python3 ${PROJECT_SOURCE_DIR}/tools/ternprof prof.json -o prof.png && test -s prof.png")
  set_tests_properties(tool.ternprof PROPERTIES TIMEOUT 120 LABELS tool SKIP_RETURN_CODE 77
                       ENVIRONMENT "${MP_ENV};TERN_STATS=1;TERN_TRACE=prof.json")
endif()
