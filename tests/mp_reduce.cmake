# Reductions (tests/mp/mp_reduce.c): every built-in reducer and type, gather, custom
# reducers, empty reductions, many in flight, every kind of callback, allreduce and barrier
# from coroutines, on a group and on arrays with more and fewer elements than PEs and 2-D;
# bad input that fails without aborting; mismatched contributions that abort.
add_executable(mp_reduce mp/mp_reduce.c)
target_link_libraries(mp_reduce PRIVATE tern)

foreach(np 1 2 3 4 8)
  foreach(mode ops gather custom sync inflight callbacks coro)
    tern_mp_test(mp.reduce.${mode}.np${np} ${np} CHECKS --code 0 ${LEAKS} --within 10
                 ARGS $<TARGET_FILE:mp_reduce> ${mode})
  endforeach()
  tern_mp_test(mp.reduce.badinput.np${np} ${np}
    CHECKS --code 0 ${LEAKS} --within 10
      --stderr "tern_contribute: reducer 0x9999 with 8 bytes: unknown reducer"
      --stderr "tern_contribute: reducer 0x105 with 8 bytes: unknown reducer"
      --stderr "tern_contribute: reducer 0x501 with 8 bytes: unknown reducer"
      --stderr "tern_contribute: reducer 0x901 with 8 bytes: unknown reducer"
      --stderr "tern_contribute: reducer 0x1[0-9a-f]{4} with 8 bytes: no such custom reducer"
      --stderr "tern_contribute: reducer 0x101 with 6 bytes: the data is not a whole number of elements of the reducer's type"
      --stderr "tern_contribute: reducer 0x304 with 12 bytes: the data is not a whole number of elements"
      --stderr "tern_contribute: reducer 0 with 4 bytes: the nop reducer takes no data"
      --stderr "tern_contribute: data is NULL with length 8"
      --stderr "tern_contribute: self is NULL"
      --stderr "tern_contribute: self is not the state of a chare"
      --stderr "tern_contribute: only members of groups and arrays contribute \\(this is a single chare of type 'Sink'\\)"
      --stderr "tern_contribute: the callback is NULL"
      --stderr "tern_contribute: the callback names no future or method"
      --stderr "tern_allreduce: called outside a coroutine"
      --stderr "tern_barrier: called outside a coroutine"
      --stderr "tern_reducer_register: reducer 'absmax.int32' is already registered"
      --stderr "tern_reducer_register\\('nullfn'\\): the function is NULL"
      --stderr "tern_reducer_register\\('late'\\): registration is closed once tern_run has started"
      --stderr "tern_cb_send: entry method 'Sink.got' is not a method of chare type 'Red'"
      --forbid "abort"
    ARGS $<TARGET_FILE:mp_reduce> badinput)
endforeach()

# Mismatched contributions to reduction 2 (the last member differs): the job aborts with
# a message naming the reduction, the collection and its chare type.
set(RED_MM_HEAD "abort: reduction 2 of")
set(RED_MM_COLL "0x[0-9a-f]+ \\(chare type 'Red'\\): contributions")
foreach(case "array;1" "array;3" "array;8" "group;2" "group;4")
  list(GET case 0 shape)
  list(GET case 1 np)
  tern_mp_test(mp.reduce.mismatch_size.${shape}.np${np} ${np}
    CHECKS --nonzero --within 10
      --stderr "${RED_MM_HEAD} ${shape} ${RED_MM_COLL} of different sizes \\((8 and 12|12 and 8) bytes, reducer sum\\.int32\\)"
    ARGS $<TARGET_FILE:mp_reduce> mismatch_size ${shape})
endforeach()
foreach(case "array;1" "array;2" "array;8" "group;3" "group;8")
  list(GET case 0 shape)
  list(GET case 1 np)
  tern_mp_test(mp.reduce.mismatch_reducer.${shape}.np${np} ${np}
    CHECKS --nonzero --within 10
      --stderr "${RED_MM_HEAD} ${shape} ${RED_MM_COLL} with different reducers \\((sum\\.int32 and max\\.int32|max\\.int32 and sum\\.int32)\\)"
    ARGS $<TARGET_FILE:mp_reduce> mismatch_reducer ${shape})
endforeach()
foreach(case "array;1" "array;4" "group;2" "group;8")
  list(GET case 0 shape)
  list(GET case 1 np)
  tern_mp_test(mp.reduce.mismatch_callback.${shape}.np${np} ${np}
    CHECKS --nonzero --within 10
      --stderr "${RED_MM_HEAD} ${shape} ${RED_MM_COLL} with different callbacks \\(future [0-9]+ of PE 0 and future [0-9]+ of PE 0\\)"
    ARGS $<TARGET_FILE:mp_reduce> mismatch_callback ${shape})
endforeach()
foreach(case "array;4" "group;2")
  list(GET case 0 shape)
  list(GET case 1 np)
  tern_mp_test(mp.reduce.mismatch_custom.${shape}.np${np} ${np}
    CHECKS --nonzero --within 10
      --stderr "${RED_MM_HEAD} ${shape} ${RED_MM_COLL} with different reducers \\((sum\\.int32 and custom 'absmax\\.int32'|custom 'absmax\\.int32' and sum\\.int32)\\)"
    ARGS $<TARGET_FILE:mp_reduce> mismatch_custom ${shape})
endforeach()
