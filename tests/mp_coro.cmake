# Coroutines (issue 4): main and TERN_EP_COROUTINE methods on coroutines, suspension while
# the PE runs other messages (also for the same chare), pooled stacks, misuse outside a
# coroutine, stack overflow. Included from tests/CMakeLists.txt.
add_executable(mp_coro mp/mp_coro.c)
target_link_libraries(mp_coro PRIVATE tern)

foreach(np 1 2 3 4 8)
  math(EXPR last "${np} - 1")
  tern_mp_test(mp.coro.basic.np${np} ${np} CHECKS --code 0 ${LEAKS}
               ARGS $<TARGET_FILE:mp_coro> basic)
  # 10000 coroutines one after another and 2 rounds of 300 suspended at once, per PE.
  tern_mp_test(mp.coro.many.np${np} ${np} CHECKS --code 0 ${LEAKS}
               ARGS $<TARGET_FILE:mp_coro> many 10000 300 2)
  tern_mp_test(mp.coro.outside.np${np} ${np}
    CHECKS --code 0 ${LEAKS}
      --stderr "PE ${last}: error: tern_future_wait: called outside a coroutine"
      --stderr "tern_yield: called outside a coroutine"
      --stderr "tern_future_iter_next: called outside a coroutine"
      --stderr "tern_await_created: called outside a coroutine"
    ARGS $<TARGET_FILE:mp_coro> outside)
  # Small stacks still run a shallow program, and many coroutines on them.
  tern_mp_test(mp.coro.smallstack.np${np} ${np} CHECKS --code 0 ${LEAKS}
               ARGS $<TARGET_FILE:mp_coro> basic)
  set_property(TEST mp.coro.smallstack.np${np} APPEND PROPERTY ENVIRONMENT
               TERN_ULT_STACK_SIZE=64k)
  tern_mp_test(mp.coro.smallstack.many.np${np} ${np} CHECKS --code 0 ${LEAKS}
               ARGS $<TARGET_FILE:mp_coro> many 2000 200 1)
  set_property(TEST mp.coro.smallstack.many.np${np} APPEND PROPERTY ENVIRONMENT
               TERN_ULT_STACK_SIZE=64k)
  # (Also under AddressSanitizer: UCX's library replaces its SIGSEGV handler at load, and
  # Tern then resets UCX's, so the coroutine guard sees the fault.)
  tern_mp_test(mp.coro.overflow.np${np} ${np}
    CHECKS --nonzero --within 20
      --stderr "PE ${last}: abort: a coroutine overflowed its stack of 262144 bytes"
      --stderr "TERN_ULT_STACK_SIZE"
    ARGS $<TARGET_FILE:mp_coro> overflow)
  tern_mp_test(mp.coro.overflow.smallstack.np${np} ${np}
    CHECKS --nonzero --within 20
      --stderr "PE ${last}: abort: a coroutine overflowed its stack of 65536 bytes"
      --stderr "TERN_ULT_STACK_SIZE"
    ARGS $<TARGET_FILE:mp_coro> overflow)
  set_property(TEST mp.coro.overflow.smallstack.np${np} APPEND PROPERTY ENVIRONMENT
               TERN_ULT_STACK_SIZE=64k)
endforeach()

# A frame bigger than what is left of the stack jumps past the guard page: a 320 KB array
# in the main function or in a coroutine entry method (stacks of 256 KiB), whose lowest
# byte is stored first, far below the stack. Still Tern's message, naming the PE, the size
# and the option, with or without UCX (whose library holds SIGSEGV when loaded); and when
# only the stack pointer shows it (a 64 MiB frame, then a fault elsewhere).
set(CORO_TPS shm)
if(TERN_UCX_FOUND)
  list(APPEND CORO_TPS ucx)
endif()
foreach(tp ${CORO_TPS})
  foreach(np 1 2 4)
    math(EXPR last "${np} - 1")
    foreach(c "bigmain|0" "bigep|${last}" "spbelow|0")
      string(REPLACE "|" ";" c "${c}")
      list(GET c 0 mode)
      list(GET c 1 pe)
      set(name mp.coro.${mode}.${tp}.np${np})
      tern_mp_test(${name} ${np} CHECKS --nonzero --within 20
        --stderr "PE ${pe}: abort: a coroutine overflowed its stack of 262144 bytes .*TERN_ULT_STACK_SIZE"
        --forbid "Caught signal|backtrace|killed by signal"
        ARGS $<TARGET_FILE:mp_coro> ${mode})
      set_property(TEST ${name} APPEND PROPERTY ENVIRONMENT TERN_TRANSPORT=${tp})
    endforeach()
  endforeach()
endforeach()

# Many coroutines yielding at once (more than the scheduler runs in one round) must not
# starve the queued messages they wait for.
foreach(np 1 2 3 4 8)
  tern_mp_test(mp.coro.yieldmany.np${np} ${np} CHECKS --code 0 ${LEAKS} --within 20
               ARGS $<TARGET_FILE:mp_coro> yieldmany 40)
endforeach()
