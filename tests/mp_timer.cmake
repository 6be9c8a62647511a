# Timers and sleeps (tests/mp/mp_timer.c).
add_executable(mp_timer mp/mp_timer.c)
target_link_libraries(mp_timer PRIVATE tern m)

foreach(np 1 2 3 4 8)
  tern_mp_test(mp.timer.np${np} ${np} CHECKS --code 0 ${LEAKS}
    --stderr "tern_timer_after: the runtime is not running"
    --stderr "tern_sleep: the runtime is not running"
    --stderr "tern_sleep: called outside a coroutine"
    --stderr "tern_sleep: seconds must be in"
    --stderr "tern_timer_after: seconds must be in"
    --stderr "tern_timer_after: fn is NULL"
    ARGS $<TARGET_FILE:mp_timer>)
endforeach()
