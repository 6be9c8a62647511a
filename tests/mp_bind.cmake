# What bindings need (tests/mp/mp_bind.c): data kept with types, entry methods and
# reducers and handed back, the entry method of a message (sends, broadcasts, section
# multicasts), the version, the log hook, a placement map registered with data.
add_executable(mp_bind mp/mp_bind.c)
target_link_libraries(mp_bind PRIVATE tern)
foreach(np 1 2 4)
  tern_mp_test(mp.bind.np${np} ${np} CHECKS --code 0 ${LEAKS} --within 30
               --stderr "tern_type_set_data: 777 is not a registered chare type"
               --forbid "PE [0-9]+: error: " ARGS $<TARGET_FILE:mp_bind>)
endforeach()
