# The Python package (python/tern, tests/python with pytest): Charm4py programs under
# ternrun at 1, 2 and 4 PEs, on shared memory and on every network transport of the build.
if(NOT TERN_PYTHON_BUILT)
  tern_skip_test(python "the Python package was not built (no python3-dev, TERN_WITH_PYTHON=OFF, or a sanitizer build)")
  return()
endif()
function(tern_pytest name)
  add_test(NAME ${name}
    COMMAND bash -c "/usr/bin/python3 -c 'import pytest, greenlet, numpy' 2>/dev/null || { echo 'skipped: python3-pytest, python3-greenlet or python3-numpy is missing'; exit 77; }; exec /usr/bin/python3 -m pytest -q -p no:cacheprovider ${CMAKE_CURRENT_SOURCE_DIR}/python")
  set_tests_properties(${name} PROPERTIES TIMEOUT 300 LABELS python SKIP_RETURN_CODE 77
                       ENVIRONMENT "TERN_BUILD=${PROJECT_BINARY_DIR};PYTHONDONTWRITEBYTECODE=1;${ARGN}")
endfunction()
tern_pytest(python.pytest)
foreach(v ${tp_variants})
  tern_tp_env(${v} env)
  tern_pytest(python.pytest.${v} ${env})
  set_property(TEST python.pytest.${v} APPEND PROPERTY RESOURCE_LOCK multihost)
endforeach()
