bulwark_fuzz_target(jail_config
  SOURCES ${PROJECT_SOURCE_DIR}/fuzz/jail_config_fuzzer.cc
  LIBS bulwark_jail_config)
if(TARGET bulwark_jail)
  bulwark_fuzz_target(seccomp_audit_record
    SOURCES ${PROJECT_SOURCE_DIR}/fuzz/seccomp_audit_record_fuzzer.cc
    LIBS bulwark_jail)
endif()
