# Seccomp policy text: the parser decides what a sandboxed process may do, so no text may
# crash it or make it accept something other than what it says.
if(NOT TARGET bulwark_seccomp_policy_text)
  # Until the top-level CMakeLists.txt adds policy/ itself (see policy/CMakeLists.txt).
  add_subdirectory(${PROJECT_SOURCE_DIR}/policy ${PROJECT_BINARY_DIR}/policy-via-fuzz)
endif()
bulwark_fuzz_target(seccomp_policy
  SOURCES ${PROJECT_SOURCE_DIR}/fuzz/seccomp_policy_fuzzer.cc
  LIBS bulwark_seccomp_policy_text)
