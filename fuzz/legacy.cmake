# Legacy port-I/O device models (monitor/legacy): each driven by a hostile guest's accesses.
foreach(device uart i8042 cmos)
  bulwark_fuzz_target(${device}
    SOURCES ${PROJECT_SOURCE_DIR}/fuzz/${device}_fuzzer.cc
    LIBS bulwark_legacy)
endforeach()
