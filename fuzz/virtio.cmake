if(TARGET bulwark_virtqueue)
  bulwark_fuzz_target(virtqueue
    SOURCES ${PROJECT_SOURCE_DIR}/fuzz/virtqueue_fuzzer.cc
    LIBS bulwark_virtqueue)
endif()
