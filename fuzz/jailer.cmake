bulwark_fuzz_target(jail_config
  SOURCES ${PROJECT_SOURCE_DIR}/fuzz/jail_config_fuzzer.cc
  LIBS bulwark_jail_config)
