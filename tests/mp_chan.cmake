# Channels (tests/mp/mp_chan.c): rings of channels, channels between moving elements, a
# 100,000-message stream each way, waiting on many channels, group-array channels, errors.
add_executable(mp_chan mp/mp_chan.c)
target_link_libraries(mp_chan PRIVATE tern)
foreach(np 1 2 3 4 8)
  foreach(mode ring migrate stress iwait group)
    tern_mp_test(mp.chan.${mode}.np${np} ${np} CHECKS --code 0 ${LEAKS} --within 60
                 ARGS $<TARGET_FILE:mp_chan> ${mode})
  endforeach()
endforeach()
foreach(np 1 3)
  tern_mp_test(mp.chan.errors.np${np} ${np} CHECKS --code 0 ${LEAKS} --within 30
    --stderr "tern_channel_recv: called outside a coroutine|tern_channel_recv: .*coroutine"
    --stderr "tern_channel_send: this chare has no such channel"
    --stderr "tern_channel_open: the remote end must be a single chare, a group member or an array element"
    --stderr "tern_channel_recv: the message has 16 bytes, the buffer 4 .it stays in the channel."
    ARGS $<TARGET_FILE:mp_chan> errors)
endforeach()
