# Boot-image parsers: tenant kernels and initrds are hostile input.
bulwark_fuzz_target(elf_kernel SOURCES ${PROJECT_SOURCE_DIR}/fuzz/elf_kernel_fuzzer.cc LIBS bulwark_boot)
bulwark_fuzz_target(bzimage SOURCES ${PROJECT_SOURCE_DIR}/fuzz/bzimage_fuzzer.cc LIBS bulwark_boot)
bulwark_fuzz_target(boot_plan SOURCES ${PROJECT_SOURCE_DIR}/fuzz/boot_plan_fuzzer.cc LIBS bulwark_boot)
