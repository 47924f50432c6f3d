# The project's libraries compiled as unity builds, in batches: each batch of a library's .cc
# files is one translation unit, so the headers every file includes (nlohmann-json, the
# standard library, bulwark/common) are parsed and their templates instantiated once per batch
# instead of once per file. About 1,200 of CI's 1,850 s were compiling, most of it these
# headers, three times over (the gcc build, the asan build, the farm's fuzz build).
# Test programs have their own unity build (tests/CMakeLists.txt, BULWARK_TEST_UNITY_BUILD).
#
# A batch shares one anonymous namespace: two files of a library must not define helpers of
# the same name there (give each a name that says what it is for), or a file that cannot be
# renamed is kept out of its batch with set_source_files_properties(FILE PROPERTIES
# SKIP_UNITY_BUILD_INCLUSION ON). Files with their own COMPILE_OPTIONS / COMPILE_DEFINITIONS
# stay separate by CMake's rule. OFF compiles every file on its own (which also shows a file
# that lacks an #include its batch happened to provide).
option(BULWARK_LIBRARY_UNITY_BUILD "Compile the project's libraries as batched unity builds" ON)
set(BULWARK_LIBRARY_UNITY_BATCH_SIZE 8 CACHE STRING "Source files per unity batch of a library")

# Kept out of their batches: TARGET FILE pairs, each with the reason (none at present: a
# collision is mended by renaming, and only a file that cannot be renamed is listed here).
set(bulwark_unity_excluded)
function(bulwark_unity_exclude_listed)
  set(pairs ${bulwark_unity_excluded})
  while(pairs)
    list(POP_FRONT pairs target file)
    if(TARGET ${target})
      set_property(SOURCE ${PROJECT_SOURCE_DIR}/${file} TARGET_DIRECTORY ${target}
                   PROPERTY SKIP_UNITY_BUILD_INCLUSION ON)
    endif()
  endwhile()
endfunction()

# Called once, at the end of the top-level CMakeLists.txt: every static library defined outside
# tests/ (whose programs decide for themselves) that has not chosen already.
function(bulwark_library_unity_build dir)
  if(NOT BULWARK_LIBRARY_UNITY_BUILD)
    return()
  endif()
  if(dir STREQUAL PROJECT_SOURCE_DIR)
    bulwark_unity_exclude_listed()
  endif()
  string(FIND "${dir}/" "${PROJECT_SOURCE_DIR}/tests/" in_tests)
  if(in_tests EQUAL 0)
    return()
  endif()
  get_property(targets DIRECTORY "${dir}" PROPERTY BUILDSYSTEM_TARGETS)
  foreach(target ${targets})
    get_target_property(type ${target} TYPE)
    get_target_property(chosen ${target} UNITY_BUILD)
    if(type STREQUAL "STATIC_LIBRARY" AND NOT chosen)
      set_target_properties(${target} PROPERTIES UNITY_BUILD ON UNITY_BUILD_MODE BATCH
                            UNITY_BUILD_BATCH_SIZE ${BULWARK_LIBRARY_UNITY_BATCH_SIZE})
    endif()
  endforeach()
  get_property(subdirs DIRECTORY "${dir}" PROPERTY SUBDIRECTORIES)
  foreach(subdir ${subdirs})
    bulwark_library_unity_build("${subdir}")
  endforeach()
endfunction()
