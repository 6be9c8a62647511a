# Quiescence detection (tests/mp/mp_qd.c).
add_executable(mp_qd mp/mp_qd.c)
target_link_libraries(mp_qd PRIVATE tern)

foreach(np 1 2 3 4 8)
  tern_mp_test(mp.qd.np${np} ${np} CHECKS --code 0 ${LEAKS}
    --stderr "tern_qd_wait: called outside a coroutine"
    --stderr "tern_qd_start: the callback is NULL"
    --stderr "tern_qd_start: the callback names no future or method"
    ARGS $<TARGET_FILE:mp_qd>)
endforeach()
# An idle PE that does not poll at all still runs the coroutine a wave woke.
tern_mp_test(mp.qd.nospin.np2 2 CHECKS --code 0 ${LEAKS} --within 60 ARGS $<TARGET_FILE:mp_qd>)
set_property(TEST mp.qd.nospin.np2 APPEND PROPERTY ENVIRONMENT TERN_SPIN_US=0)
