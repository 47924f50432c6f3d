# The virtio-blk request parser (devices/blk/blk_request) on arbitrary descriptor chains.
if(TARGET bulwark_blk_request)
  bulwark_fuzz_target(blk_request
    SOURCES ${PROJECT_SOURCE_DIR}/fuzz/blk_request_fuzzer.cc
    LIBS bulwark_blk_request)
endif()
