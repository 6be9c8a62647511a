# Futures and invocations that answer (issue 4): values from every PE, tern_call to one
# element and to broadcasts (answers in element order), failures, nested waits across
# PEs, wait_all and iteration, awaiting creation, misuse. Included from tests/CMakeLists.txt.
add_executable(mp_future mp/mp_future.c)
target_link_libraries(mp_future PRIVATE tern)

foreach(np 1 2 3 4 8)
  math(EXPR last "${np} - 1")
  foreach(mode call bcast error nested iter created)
    tern_mp_test(mp.future.${mode}.np${np} ${np} CHECKS --code 0 ${LEAKS}
                 ARGS $<TARGET_FILE:mp_future> ${mode})
  endforeach()
  tern_mp_test(mp.future.values.np${np} ${np} CHECKS --code 0 ${LEAKS}
    --stderr "tern_future_get: future [0-9]+.s value has [0-9]+ bytes, more than the 5 the buffer takes. nothing was copied"
    ARGS $<TARGET_FILE:mp_future> values)
  # Misuse is logged where it happens: another PE's future (the last PE's, or a made-up
  # PE 1 when alone), a value too many set here (refused) and from another PE (logged on
  # the future's PE).
  if(np GREATER 1)
    set(other ${last})
    set(remote_extra --stderr "PE 0: error: future [0-9]+ of PE 0: a value beyond the 1 it expects")
  else()
    set(other 1)
    set(remote_extra)
  endif()
  tern_mp_test(mp.future.errors.np${np} ${np}
    CHECKS --code 0 ${LEAKS}
      --stderr "tern_future_create: nvalues must be at least 1"
      --stderr "tern_future_create: out is NULL"
      --stderr "PE 0: error: tern_future_wait: future [0-9]+ belongs to PE ${other}. only the PE that created it"
      --stderr "tern_future_count: future [0-9]+ belongs to PE ${other}"
      --stderr "tern_future_set: future [0-9]+ already has its 1 values"
      ${remote_extra}
      --stderr "tern_future_wait: future [0-9]+ was released"
      --stderr "tern_future_set: future [0-9]+ was released .freed, or its value taken.. nothing was set"
      --stderr "tern_future_set_error: future [0-9]+ was released"
      --stderr "tern_future_set: future [0-9]+ was never created on this PE"
      --stderr "tern_future_set_error: the future is malformed .PE -3"
      --stderr "tern_future_create: a future for 2147483647 values is more than"
      --stderr "tern_future_set: the future is malformed"
      --stderr "tern_call: want must be TERN_CALL_DONE or TERN_CALL_RET"
      --stderr "tern_call: out is NULL"
    ARGS $<TARGET_FILE:mp_future> errors)
endforeach()
