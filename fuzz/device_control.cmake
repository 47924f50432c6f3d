# The device control channel's messages (devices/control): what a device process decodes from
# the launcher's --control-fd, and what the launcher decodes from the device's answer.
if(TARGET bulwark_device_control)
  bulwark_fuzz_target(device_control_message
    SOURCES ${PROJECT_SOURCE_DIR}/fuzz/device_control_message_fuzzer.cc
    LIBS bulwark_device_control)
endif()
