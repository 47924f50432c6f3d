# The snapshot state parser (snapshot/, library bulwark_snapshot): the body checks behind the
# state file's MAC (the harness signs each input with a fixed test key).
if(TARGET bulwark_snapshot)
  bulwark_fuzz_target(snapshot_state
    SOURCES ${PROJECT_SOURCE_DIR}/fuzz/snapshot_state_fuzzer.cc
    LIBS bulwark_snapshot)
  # The seed generator (writes fuzz/corpus/snapshot_state/ from the writer):
  #   build/default/fuzz/snapshot_state_seeds fuzz/corpus/snapshot_state
  if(NOT BULWARK_FUZZ)
    add_executable(snapshot_state_seeds ${PROJECT_SOURCE_DIR}/fuzz/snapshot_state_seeds.cc)
    target_link_libraries(snapshot_state_seeds PRIVATE bulwark_snapshot)
  endif()
endif()
