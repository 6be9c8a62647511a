# The mini-apps (examples/leanmd, examples/stencil3d) at small sizes: LeanMD's energy
# bound and its comparison with the serial O(N^2) run (-check), stencil3d's checksum
# against the serial grid; with and without load balancing, with elements moving during
# the run (Rotate moves every one at every step), on every transport, under mpirun and
# srun, across the emulated hosts. Each program exits 1 on a wrong result.
set(MINI_CHECKS --code 0 ${LEAKS} --forbid "tern: (PE [0-9]+: )?error: " --forbid "WRONG")
set(LEANMD $<TARGET_FILE:leanmd> 2 2 1 12 -energy 4 -migrate 3 -lb 4 -check)
set(LEANMD_X1 $<TARGET_FILE:leanmd> 1 2 1 8 -energy 4 -migrate 2 -lb 2 -check)
set(STENCIL $<TARGET_FILE:stencil3d> 24 6 -iters 12 -lb 3 -check)
foreach(np 1 2 3 4 8)
  tern_mp_test(app.leanmd.np${np} ${np} CHECKS ${MINI_CHECKS} ARGS ${LEANMD})
  tern_mp_test(app.stencil3d.np${np} ${np} CHECKS ${MINI_CHECKS} ARGS ${STENCIL})
  foreach(lb GreedyRefine Rotate)
    tern_mp_test(app.leanmd.${lb}.np${np} ${np} CHECKS ${MINI_CHECKS} ARGS ${LEANMD} --balancer ${lb})
    tern_mp_test(app.stencil3d.${lb}.np${np} ${np} CHECKS ${MINI_CHECKS} ARGS ${STENCIL} --balancer ${lb})
  endforeach()
endforeach()
# A box one cell wide: cells meet their own periodic images.
tern_mp_test(app.leanmd.thin.Rotate.np3 3 CHECKS ${MINI_CHECKS} ARGS ${LEANMD_X1} --balancer Rotate)
# Without imbalance; and host-aware balancing over 2 emulated hosts.
tern_mp_test(app.stencil3d.even.np4 4 CHECKS ${MINI_CHECKS} ARGS ${STENCIL} -imbalance 0 -work 2)
tern_mp_test(app.leanmd.hosts2.np4 4 CHECKS ${MINI_CHECKS} ARGS ${LEANMD} --balancer HostGreedyRefine)
tern_mp_test(app.stencil3d.hosts2.np4 4 CHECKS ${MINI_CHECKS} ARGS ${STENCIL} --balancer HostGreedyRefine)
set_property(TEST app.leanmd.hosts2.np4 app.stencil3d.hosts2.np4 APPEND PROPERTY ENVIRONMENT
             TERN_EMULATE_HOSTS=2)
# The MPI twin against the same serial checksum.
find_program(TERN_MPIRUN mpirun)
if(TARGET stencil3d_mpi AND TERN_MPIRUN AND NOT TERN_SANITIZE)
  foreach(np 1 2 4)
    add_test(NAME app.stencil3d_mpi.np${np}
      COMMAND bash ${MP_RUN} --code 0 --forbid WRONG -- timeout 100 ${TERN_MPIRUN}
              --allow-run-as-root --oversubscribe -np ${np} $<TARGET_FILE:stencil3d_mpi> 24 6 -iters 12 -check)
    set_tests_properties(app.stencil3d_mpi.np${np} PROPERTIES TIMEOUT 120 LABELS mp)
  endforeach()
endif()
# Every network transport of this build.
foreach(v ${tp_variants})
  tern_tp_env(${v} env)
  tern_tp_test(tp.${v}.leanmd.np3 3 ENV ${env} CHECKS ${MINI_CHECKS} ARGS ${LEANMD} --balancer Rotate)
  tern_tp_test(tp.${v}.stencil3d.np3 3 ENV ${env} CHECKS ${MINI_CHECKS} ARGS ${STENCIL} --balancer Rotate)
endforeach()
# Under the cluster launchers, and across the 3 emulated hosts.
if(COMMAND tern_launch_test AND launchers)
  foreach(l ${launchers})
    foreach(np ${LAUNCH_NPS})
      tern_launch_test(launch.${l}.np${np}.leanmd ${l} ${np} CHECKS ${MINI_CHECKS}
                       ARGS ${LEANMD} --balancer GreedyRefine)
      tern_launch_test(launch.${l}.np${np}.stencil3d ${l} ${np} CHECKS ${MINI_CHECKS}
                       ARGS ${STENCIL} --balancer GreedyRefine)
    endforeach()
  endforeach()
endif()
if(COMMAND tern_multihost_test)
  tern_multihost_test(multihost.leanmd.n3np6 3 6 CHECKS ${MINI_CHECKS} ARGS ${LEANMD} --balancer HostGreedyRefine)
  tern_multihost_test(multihost.stencil3d.n3np6 3 6 CHECKS ${MINI_CHECKS} ARGS ${STENCIL} --balancer Rotate)
endif()
