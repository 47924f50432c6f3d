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

# The TPM 2.0 response parsers (attestation/tpm2_response, tpm2_quote_response): what a VM's
# swtpm answers the launcher's Startup, PCR_Extend, PCR_Read and the quote's CreatePrimary,
# Quote and FlushContext; swtpm serves the guest too, so hostile input.
if(TARGET bulwark_attestation)
  bulwark_fuzz_target(attestation_tpm2_response
    SOURCES ${PROJECT_SOURCE_DIR}/fuzz/attestation_tpm2_response_fuzzer.cc
    LIBS bulwark_attestation)
endif()

# What `bulwark attest verify` reads from a host the tenant does not trust: the AK's public area,
# the quote, its signature, a reference file, an event log's launch items
# (attestation/tpm2_quote_structures, launch_reference).
if(TARGET bulwark_attestation)
  bulwark_fuzz_target(attestation_quote
    SOURCES ${PROJECT_SOURCE_DIR}/fuzz/attestation_quote_fuzzer.cc
    LIBS bulwark_attestation)
endif()

# What `bulwark attest verify --report` reads from a host the tenant does not trust: the launch
# report, GET /attestation's body, the report's checks (attestation/launch_report, report_verify).
if(TARGET bulwark_attestation)
  bulwark_fuzz_target(attestation_report
    SOURCES ${PROJECT_SOURCE_DIR}/fuzz/attestation_report_fuzzer.cc
    LIBS bulwark_attestation)
  # The seed generator: build/default/fuzz/attestation_report_seeds fuzz/corpus/attestation_report
  if(NOT BULWARK_FUZZ)
    add_executable(attestation_report_seeds ${PROJECT_SOURCE_DIR}/fuzz/attestation_report_seeds.cc)
    target_link_libraries(attestation_report_seeds PRIVATE bulwark_attestation)
  endif()
endif()
