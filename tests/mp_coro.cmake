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
  # AddressSanitizer takes SIGSEGV for itself: the guard page's message is not ours there.
  if(NOT TERN_SANITIZE)
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
  endif()
endforeach()

# Many coroutines yielding at once (more than the scheduler runs in one round) must not
# starve the queued messages they wait for.
foreach(np 1 2 3 4 8)
  tern_mp_test(mp.coro.yieldmany.np${np} ${np} CHECKS --code 0 ${LEAKS} --within 20
               ARGS $<TARGET_FILE:mp_coro> yieldmany 40)
endforeach()
