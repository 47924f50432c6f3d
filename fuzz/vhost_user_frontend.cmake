# The monitor's vhost-user frontend against a scripted hostile backend.
if(TARGET bulwark_vhost_user_frontend)
  bulwark_fuzz_target(vhost_user_frontend_session
    SOURCES ${PROJECT_SOURCE_DIR}/fuzz/vhost_user_frontend_session_fuzzer.cc
    LIBS bulwark_vhost_user_frontend Threads::Threads)
endif()
