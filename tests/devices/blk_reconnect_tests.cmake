# A Linux guest (the assets' Debian kernel) under QEMU (TCG, the vhost-user frontend, with
# reconnect) keeps its disk while the test kills bulwark-dev-blk and starts a new one (issue 18).
# Skips without QEMU, the assets or cpio.
if(TARGET bulwark-dev-blk)
  find_program(BULWARK_QEMU_SYSTEM_X86_64 qemu-system-x86_64)
  if(NOT BULWARK_QEMU_SYSTEM_X86_64)
    set(BULWARK_QEMU_SYSTEM_X86_64 "")
  endif()
  add_executable(bulwark_blk_reconnect_tests
    ${PROJECT_SOURCE_DIR}/tests/integration/monitor_process.cc
    device_test_support.cc
    blk_socket_device.cc
    blk_reconnect_test.cc)
  target_include_directories(bulwark_blk_reconnect_tests PRIVATE ${PROJECT_SOURCE_DIR})
  target_link_libraries(bulwark_blk_reconnect_tests PRIVATE bulwark_common Threads::Threads GTest::gtest_main)
  target_compile_definitions(bulwark_blk_reconnect_tests PRIVATE
    BULWARK_DEV_BLK="$<TARGET_FILE:bulwark-dev-blk>"
    BULWARK_QEMU_SYSTEM="${BULWARK_QEMU_SYSTEM_X86_64}"
    BULWARK_LINUX_ASSETS_DIR="${PROJECT_SOURCE_DIR}/build/linux-assets"
    BULWARK_BLK_RECONNECT_INIT="${CMAKE_CURRENT_SOURCE_DIR}/blk_reconnect/init.sh")
  target_compile_options(bulwark_blk_reconnect_tests PRIVATE ${BULWARK_TEST_CODE_OPTIONS})
  add_dependencies(bulwark_blk_reconnect_tests bulwark-dev-blk)
  gtest_discover_tests(bulwark_blk_reconnect_tests
    PROPERTIES LABELS devices TIMEOUT 300
    DISCOVERY_TIMEOUT 60)
endif()
