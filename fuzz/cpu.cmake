bulwark_fuzz_target(guest_page_walk SOURCES ${PROJECT_SOURCE_DIR}/fuzz/guest_page_walk_fuzzer.cc LIBS bulwark_cpu)
