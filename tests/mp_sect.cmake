# Sections (tests/mp/mp_sect.c): random sections of arrays and groups (lists, slices,
# splits, combines, across arrays) checked against a serial model by multicasts, calls,
# sums and gathers; multicasts to moving members; allreduce; errors.
add_executable(mp_sect mp/mp_sect.c)
target_link_libraries(mp_sect PRIVATE tern)
foreach(np 1 2 3 4 8)
  foreach(mode random migrate allreduce constrained)
    tern_mp_test(mp.sect.${mode}.np${np} ${np} CHECKS --code 0 ${LEAKS} --within 60
                 ARGS $<TARGET_FILE:mp_sect> ${mode})
  endforeach()
endforeach()
foreach(np 1 3)
  tern_mp_test(mp.sect.errors.np${np} ${np} CHECKS --code 0 ${LEAKS} --within 30
    --stderr "tern_section_create: index .[0-9]+, 0. is outside"
    --stderr "tern_section_slice: step 0 of dimension 0"
    --stderr "tern_section_slice: the section would have no member"
    --stderr "tern_section_split: the function put member"
    --stderr "tern_section_combine: proxy 1 has another chare type"
    --stderr "tern_call: a call to a section answers completion only"
    --stderr "tern_section_slice: sections are made of groups, arrays with bounds, or sections"
    ARGS $<TARGET_FILE:mp_sect> errors)
endforeach()
