# bulwark_fuzz_target(NAME SOURCES <files> LIBS <libs>)
# The fuzz preset builds a libFuzzer binary `fuzz_<NAME>`; every other build links the same
# target source with a replay driver and registers a CTest that runs fuzz/corpus/<NAME>.
#
# A fuzzing farm (fuzz/oss-fuzz/build.sh) sets BULWARK_FUZZ_ENGINE to its $LIB_FUZZING_ENGINE:
# each target then links that instead of -fsanitize=fuzzer (the farm may use another engine or
# a driver library), and the farm's $CFLAGS/$CXXFLAGS alone choose sanitizers and coverage
# instrumentation, so a coverage or engine-specific build gets exactly what the farm asked for.
set(BULWARK_FUZZ_ENGINE "" CACHE STRING
    "Link flags of a fuzzing farm's engine ($LIB_FUZZING_ENGINE); implies BULWARK_FUZZ; empty: -fsanitize=fuzzer")
if(BULWARK_FUZZ_ENGINE)
  set(BULWARK_FUZZ ON)
  separate_arguments(bulwark_fuzz_link_options UNIX_COMMAND "${BULWARK_FUZZ_ENGINE}")
  # The top level adds -fsanitize=fuzzer-no-link for the fuzz preset; the farm's flags already
  # say which instrumentation it wants (none, for a coverage build). -Werror goes too: the
  # farm's clang is newer than ours and a new warning there must not stop its build (our own
  # presets keep -Werror).
  get_property(bulwark_dir_options DIRECTORY PROPERTY COMPILE_OPTIONS)
  list(REMOVE_ITEM bulwark_dir_options -fsanitize=fuzzer-no-link -Werror)
  set_property(DIRECTORY PROPERTY COMPILE_OPTIONS ${bulwark_dir_options})
else()
  set(bulwark_fuzz_link_options -fsanitize=fuzzer)
endif()
if(BULWARK_FUZZ)
  # One target to build every fuzzer and only what they link (build.sh, scripts/fuzz.sh).
  add_custom_target(bulwark_fuzz_all)
endif()

function(bulwark_fuzz_target NAME)
  cmake_parse_arguments(F "" "" "SOURCES;LIBS" ${ARGN})
  set(corpus ${PROJECT_SOURCE_DIR}/fuzz/corpus/${NAME})
  # Every configured target, in order: fuzz/CMakeLists.txt writes them to fuzz_targets.txt.
  set_property(GLOBAL APPEND PROPERTY BULWARK_FUZZ_TARGETS ${NAME})
  if(BULWARK_FUZZ)
    add_executable(fuzz_${NAME} ${F_SOURCES})
    target_link_libraries(fuzz_${NAME} PRIVATE ${F_LIBS})
    target_link_options(fuzz_${NAME} PRIVATE ${bulwark_fuzz_link_options})
    add_dependencies(bulwark_fuzz_all fuzz_${NAME})
  else()
    # The replay driver is the same for every target: compiled once (it took ~3 s a target).
    if(NOT TARGET bulwark_fuzz_replay_main)
      add_library(bulwark_fuzz_replay_main OBJECT ${PROJECT_SOURCE_DIR}/cmake/fuzz_replay_main.cc)
      target_compile_options(bulwark_fuzz_replay_main PRIVATE ${BULWARK_TEST_CODE_OPTIONS})
    endif()
    add_executable(fuzz_${NAME}_replay ${F_SOURCES})
    target_link_libraries(fuzz_${NAME}_replay PRIVATE bulwark_fuzz_replay_main ${F_LIBS})
    # The harness is test code (it replays a few dozen seeds); the parser it links keeps the
    # build's flags.
    target_compile_options(fuzz_${NAME}_replay PRIVATE ${BULWARK_TEST_CODE_OPTIONS})
    add_test(NAME fuzz.replay.${NAME} COMMAND fuzz_${NAME}_replay ${corpus})
    set_tests_properties(fuzz.replay.${NAME} PROPERTIES LABELS "unit;fuzz" TIMEOUT 120)
  endif()
endfunction()
