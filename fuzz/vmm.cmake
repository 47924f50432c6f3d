# The monitor's run-time control channel (monitor/vmm, library bulwark_vmm_control): a datagram
# from the launcher to the monitor's reply.
if(TARGET bulwark_vmm_control)
  bulwark_fuzz_target(monitor_control
    SOURCES ${PROJECT_SOURCE_DIR}/fuzz/monitor_control_fuzzer.cc
    LIBS bulwark_vmm_control)
endif()
