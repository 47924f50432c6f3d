# The attestation event log parser (attestation/, library bulwark_attestation): a TCG
# crypto-agile event log as a verifier reads it, hostile input.
if(TARGET bulwark_attestation)
  bulwark_fuzz_target(attestation_event_log
    SOURCES ${PROJECT_SOURCE_DIR}/fuzz/attestation_event_log_fuzzer.cc
    LIBS bulwark_attestation)
  # The seed generator (writes fuzz/corpus/attestation_event_log/ from the writer):
  #   build/default/fuzz/attestation_event_log_seeds fuzz/corpus/attestation_event_log
  if(NOT BULWARK_FUZZ)
    add_executable(attestation_event_log_seeds ${PROJECT_SOURCE_DIR}/fuzz/attestation_event_log_seeds.cc)
    target_link_libraries(attestation_event_log_seeds PRIVATE bulwark_attestation)
  endif()
endif()
