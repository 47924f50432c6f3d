# The guest's TPM (monitor/tpm): the CRB register/buffer model driven by a hostile guest and a
# hostile swtpm, and swtpm's response header parser on its own.
bulwark_fuzz_target(tpm_crb
  SOURCES ${PROJECT_SOURCE_DIR}/fuzz/tpm_crb_fuzzer.cc
  LIBS bulwark_tpm_crb)
bulwark_fuzz_target(swtpm_response
  SOURCES ${PROJECT_SOURCE_DIR}/fuzz/swtpm_response_fuzzer.cc
  LIBS bulwark_tpm_crb)
