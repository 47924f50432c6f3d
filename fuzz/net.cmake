# virtio-net's guest-facing parsers (devices/net, library bulwark_net_parsers): the TX vnet
# header + frame, the control-queue commands, the anti-spoofing filter.
if(TARGET bulwark_net_parsers)
  bulwark_fuzz_target(net_tx_frame
    SOURCES ${PROJECT_SOURCE_DIR}/fuzz/net_tx_frame_fuzzer.cc
    LIBS bulwark_net_parsers)
  bulwark_fuzz_target(net_control_command
    SOURCES ${PROJECT_SOURCE_DIR}/fuzz/net_control_command_fuzzer.cc
    LIBS bulwark_net_parsers)
  bulwark_fuzz_target(net_frame_filter
    SOURCES ${PROJECT_SOURCE_DIR}/fuzz/net_frame_filter_fuzzer.cc
    LIBS bulwark_net_parsers)
endif()
