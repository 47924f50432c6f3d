# The vhost-user codec (devices/vhost_user) both ways: messages a backend receives from a
# frontend, and replies a frontend receives from a backend.
if(TARGET bulwark_vhost_user)
  bulwark_fuzz_target(vhost_user_frontend_message
    SOURCES ${PROJECT_SOURCE_DIR}/fuzz/vhost_user_frontend_message_fuzzer.cc
    LIBS bulwark_vhost_user)
  bulwark_fuzz_target(vhost_user_backend_reply
    SOURCES ${PROJECT_SOURCE_DIR}/fuzz/vhost_user_backend_reply_fuzzer.cc
    LIBS bulwark_vhost_user)
endif()
