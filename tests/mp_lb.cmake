# Load balancing (tests/mp/mp_lb.c): AtSync and periodic steps with every strategy, state
# and messages checked through the moves, the report of each step; and the errors.
add_executable(mp_lb mp/mp_lb.c)
target_link_libraries(mp_lb PRIVATE tern)

set(TERN_LB_STRATEGIES GreedyRefine Greedy Refine HostGreedyRefine Rotate Dummy)
foreach(np 1 2 3 4 8)
  foreach(s ${TERN_LB_STRATEGIES})
    foreach(mode atsync periodic)
      tern_mp_test(mp.lb.${mode}.${s}.np${np} ${np} CHECKS --code 0 ${LEAKS} --within 30
                   --stderr "tern: lb: array 0x[0-9a-f]+ step 1 .${s}."
                   ARGS $<TARGET_FILE:mp_lb> ${mode})
      set_property(TEST mp.lb.${mode}.${s}.np${np} APPEND PROPERTY ENVIRONMENT TERN_LB=${s})
    endforeach()
  endforeach()
  # A type that cannot move: measured and reported, never moved.
  tern_mp_test(mp.lb.fixed.np${np} ${np} CHECKS --code 0 ${LEAKS} --within 30
               --stderr "step 3 .GreedyRefine.: [0-9]+ objects on ${np} PEs, .*, 0 moves"
               ARGS $<TARGET_FILE:mp_lb> fixed)
  set_property(TEST mp.lb.fixed.np${np} APPEND PROPERTY ENVIRONMENT TERN_LB=GreedyRefine)
  # No strategy: tern_at_sync resumes at once, nothing is measured or moved.
  tern_mp_test(mp.lb.atsync.none.np${np} ${np} CHECKS --code 0 ${LEAKS} --within 30
               --forbid "tern: lb:"
               ARGS $<TARGET_FILE:mp_lb> atsync)
endforeach()
# Charm++'s spelling on the command line, removed before the program sees its arguments.
tern_mp_test(mp.lb.atsync.argv.np4 4 CHECKS --code 0 ${LEAKS} --within 30
             --stderr "step 3 .GreedyRefine."
             ARGS $<TARGET_FILE:mp_lb> +balancer GreedyRefineLB atsync)
tern_mp_test(mp.lb.atsync.argv2.np2 2 CHECKS --code 0 ${LEAKS} --within 30
             --stderr "step 3 .Rotate."
             ARGS $<TARGET_FILE:mp_lb> atsync --balancer=rotate)
tern_mp_test(mp.lb.unknown.np2 2 CHECKS --code 1 --within 10
             --stderr "unknown load balancing strategy 'Nonesuch' .known: GreedyRefine, Greedy"
             ARGS $<TARGET_FILE:mp_lb> +balancer Nonesuch atsync)
set(LB_ERRORS
  --stderr "tern_type_resume: the entry method is not one of the type's"
  --stderr "tern_at_sync: the caller is not an element of an array created with TERN_ARRAY_AT_SYNC"
  --stderr "tern_set_load: the caller is not an element"
  --stderr "an array balances at sync points .TERN_ARRAY_AT_SYNC. or periodically"
  --stderr "lb_period must be in .0, 1e6. seconds")
foreach(np 1 3)
  tern_mp_test(mp.lb.errors.np${np} ${np} CHECKS --code 0 ${LEAKS} --within 30 ${LB_ERRORS}
               ARGS $<TARGET_FILE:mp_lb> errors)
  tern_mp_test(mp.lb.errors.GreedyRefine.np${np} ${np} CHECKS --code 0 ${LEAKS} --within 30
    ${LB_ERRORS}
    --stderr "tern_at_sync: called twice before the element was resumed"
    --stderr "tern_migrate: element .0. of array 0x[0-9a-f]+ waits for load balancing .tern_at_sync.: the balancer places it"
    ARGS $<TARGET_FILE:mp_lb> errors)
  set_property(TEST mp.lb.errors.GreedyRefine.np${np} APPEND PROPERTY ENVIRONMENT
               TERN_LB=GreedyRefine)
endforeach()
# Loads in CPU time (TERN_LB_CLOCK=cpu), and a clock that does not exist.
tern_mp_test(mp.lb.atsync.cpuclock.np3 3 CHECKS --code 0 ${LEAKS} --within 30
             --stderr "step 3 .GreedyRefine."
             ARGS $<TARGET_FILE:mp_lb> atsync)
set_property(TEST mp.lb.atsync.cpuclock.np3 APPEND PROPERTY ENVIRONMENT TERN_LB=GreedyRefine
             TERN_LB_CLOCK=cpu)
tern_mp_test(mp.lb.badclock.np2 2 CHECKS --code 1 --within 10
             --stderr "TERN_LB_CLOCK=sundial: wall or cpu" ARGS $<TARGET_FILE:mp_lb> atsync)
set_property(TEST mp.lb.badclock.np2 APPEND PROPERTY ENVIRONMENT TERN_LB=GreedyRefine
             TERN_LB_CLOCK=sundial)
