bulwark_fuzz_target(jail_config
  SOURCES ${PROJECT_SOURCE_DIR}/fuzz/jail_config_fuzzer.cc
  LIBS bulwark_jail_config)
bulwark_fuzz_target(host_config
  SOURCES ${PROJECT_SOURCE_DIR}/fuzz/host_config_fuzzer.cc
  LIBS bulwark_jail_config)
bulwark_fuzz_target(launch_record
  SOURCES ${PROJECT_SOURCE_DIR}/fuzz/launch_record_fuzzer.cc
  LIBS bulwark_jail_config)
# The record parser alone (jailer/seccomp_audit_record.cc, in the config library): the target
# links nothing that reads /dev/kmsg or touches the system.
bulwark_fuzz_target(seccomp_audit_record
  SOURCES ${PROJECT_SOURCE_DIR}/fuzz/seccomp_audit_record_fuzzer.cc
  LIBS bulwark_jail_config)
# The launcher's records of its VM processes' stderr lines (jailer/log_line.h, line_splitter.h):
# pure code in the config library, no relay process.
bulwark_fuzz_target(log_line
  SOURCES ${PROJECT_SOURCE_DIR}/fuzz/log_line_fuzzer.cc
  LIBS bulwark_jail_config)
