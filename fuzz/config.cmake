bulwark_fuzz_target(vm_config_json
  SOURCES ${PROJECT_SOURCE_DIR}/fuzz/vm_config_json_fuzzer.cc
  LIBS bulwark_config)
