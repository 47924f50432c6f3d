# bulwark-dev-vsock (label "devices"): dev-vsock.policy applied in forked children, and a real
# Linux guest (the assets' Debian kernel, the vsock modules from the same package) with QEMU
# (TCG) as the vhost-user frontend (vhost-user-vsock-pci) of the device under its policy: the
# vsock end-to-end check. The QEMU test skips without QEMU, the assets or a static libc.
if(TARGET bulwark-dev-vsock AND TARGET bulwark_seccomp_policy)
  if(NOT TARGET bulwark_test_support)
    add_subdirectory(${PROJECT_SOURCE_DIR}/tests/support ${CMAKE_BINARY_DIR}/tests/support)
  endif()
  add_executable(bulwark_vsock_policy_tests vsock_policy_death_test.cc)
  target_include_directories(bulwark_vsock_policy_tests PRIVATE ${PROJECT_SOURCE_DIR})
  target_link_libraries(bulwark_vsock_policy_tests PRIVATE bulwark_test_support bulwark_common GTest::gtest_main)
  gtest_discover_tests(bulwark_vsock_policy_tests
    PROPERTIES LABELS devices TIMEOUT 60
    DISCOVERY_TIMEOUT 60)

  find_program(BULWARK_QEMU_SYSTEM_X86_64 qemu-system-x86_64)
  if(NOT BULWARK_QEMU_SYSTEM_X86_64)
    set(BULWARK_QEMU_SYSTEM_X86_64 "")
  endif()
  add_executable(bulwark_vsock_qemu_linux_tests
    ${PROJECT_SOURCE_DIR}/tests/integration/monitor_process.cc
    vsock_qemu_linux_test.cc)
  target_include_directories(bulwark_vsock_qemu_linux_tests PRIVATE ${PROJECT_SOURCE_DIR})
  target_link_libraries(bulwark_vsock_qemu_linux_tests PRIVATE bulwark_common Threads::Threads GTest::gtest_main)
  target_compile_definitions(bulwark_vsock_qemu_linux_tests PRIVATE
    BULWARK_DEV_VSOCK="$<TARGET_FILE:bulwark-dev-vsock>"
    BULWARK_QEMU_SYSTEM="${BULWARK_QEMU_SYSTEM_X86_64}"
    BULWARK_LINUX_ASSETS_DIR="${PROJECT_SOURCE_DIR}/build/linux-assets"
    BULWARK_VSOCK_GUEST_BUILDER="${CMAKE_CURRENT_SOURCE_DIR}/vsock_guest/build_initramfs.sh"
    BULWARK_VSOCK_GUEST_CACHE="${CMAKE_CURRENT_BINARY_DIR}/vsock_guest"
    BULWARK_NET_GUEST_CACHE="${CMAKE_CURRENT_BINARY_DIR}/net_guest")
  add_dependencies(bulwark_vsock_qemu_linux_tests bulwark-dev-vsock)
  gtest_discover_tests(bulwark_vsock_qemu_linux_tests
    PROPERTIES LABELS devices TIMEOUT 120
    DISCOVERY_TIMEOUT 60)
endif()

# The device process under its policy, driven by a raw test guest (RawVsockGuest over the
# guest-less TestFrontend) and real host unix sockets: the hostile-guest cases and a stuck
# host peer.
if(TARGET bulwark-dev-vsock AND TARGET bulwark_vhost_user)
  add_executable(bulwark_vsock_device_tests
    ${PROJECT_SOURCE_DIR}/tests/unit/blk/test_frontend.cc
    vsock_raw_guest.cc
    vsock_device_test.cc)
  target_include_directories(bulwark_vsock_device_tests PRIVATE ${PROJECT_SOURCE_DIR})
  target_link_libraries(bulwark_vsock_device_tests PRIVATE bulwark_vsock_proto bulwark_vhost_user bulwark_common
    Threads::Threads GTest::gtest_main)
  target_compile_definitions(bulwark_vsock_device_tests PRIVATE
    BULWARK_DEV_VSOCK="$<TARGET_FILE:bulwark-dev-vsock>")
  add_dependencies(bulwark_vsock_device_tests bulwark-dev-vsock)
  gtest_discover_tests(bulwark_vsock_device_tests
    PROPERTIES LABELS devices TIMEOUT 60
    DISCOVERY_TIMEOUT 60)
endif()
