# Migratable elements (tests/mp/mp_migrate.c): state that survives moves byte for byte,
# broadcasts and reductions while elements move, placement maps, insertion into empty and
# sparse arrays, destruction, and the errors of each. The stress test
# (tests/mp/mp_migstress.c) moves elements at random under all-to-all traffic and
# reductions and checks that every message arrives exactly once.
add_executable(mp_migrate mp/mp_migrate.c)
target_link_libraries(mp_migrate PRIVATE tern)
add_executable(mp_migstress mp/mp_migstress.c)
target_link_libraries(mp_migstress PRIVATE tern)

foreach(np 1 2 3 4 8)
  foreach(mode state bcast reduce maps insert sparse)
    set(extra "")
    if(mode STREQUAL "insert")
      set(extra --stderr "message to 'ping' for element .11. of array 0x[0-9a-f]+ .type 'Cell'.: the element was destroyed")
    endif()
    tern_mp_test(mp.migrate.${mode}.np${np} ${np} CHECKS --code 0 ${LEAKS} --within 30 ${extra}
                 ARGS $<TARGET_FILE:mp_migrate> ${mode})
  endforeach()
  tern_mp_test(mp.migrate.errors.np${np} ${np} CHECKS --code 0 ${LEAKS} --within 30
    --stderr "tern_migrate: element .1. of array 0x[0-9a-f]+ cannot move: chare type 'Fixed' is not migratable"
    --stderr "tern_migrate: only array elements move .this is a group member of chare type 'Grp'."
    --stderr "tern_migrate: PE ${np} is out of range"
    --stderr "tern_array_create_opts: TERN_MAP_BLOCK needs an array with bounds"
    --stderr "tern_array_create_opts: 0x12345 is not a placement map"
    --stderr "tern_array_create_opts: unknown flags 0x80"
    ARGS $<TARGET_FILE:mp_migrate> errors)
endforeach()

# The stress test: 1,000,000 messages, elements moving every 24 they receive.
foreach(np 1 2 3 4 8)
  tern_mp_test(mp.migstress.np${np} ${np} CHECKS --code 0 ${LEAKS} --within 60
               ARGS $<TARGET_FILE:mp_migstress> 1000000 24)
endforeach()
