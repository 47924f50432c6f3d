# The in-flight record a replacement device process reads (devices/inflight), written by a
# predecessor that may have been compromised, and the GET/SET_INFLIGHT_FD payload.
if(TARGET bulwark_inflight)
  bulwark_fuzz_target(inflight_record
    SOURCES ${PROJECT_SOURCE_DIR}/fuzz/inflight_record_fuzzer.cc
    LIBS bulwark_inflight bulwark_vhost_user)
endif()
