# bulwark-dev-net (label "devices"): the real device process under its seccomp policy on a TAP
# in a network namespace each test creates, driven by a guest-less vhost-user frontend (the
# unit tests' TestFrontend, and the monitor's own VhostUserFrontend); and dev-net.policy applied
# in forked children. Needs root (netns, TAP) and bulwark-dev-net.
if(TARGET bulwark-dev-net AND TARGET bulwark_seccomp_policy)
  if(NOT TARGET bulwark_test_support)
    add_subdirectory(${PROJECT_SOURCE_DIR}/tests/support ${CMAKE_BINARY_DIR}/tests/support)
  endif()
  add_executable(bulwark_net_device_tests
    ${PROJECT_SOURCE_DIR}/tests/integration/monitor_process.cc
    ${PROJECT_SOURCE_DIR}/tests/unit/blk/test_frontend.cc
    net_namespace.cc
    net_test_guest.cc
    net_device_test.cc
    net_rx_placement_test.cc
    net_policy_death_test.cc)
  target_include_directories(bulwark_net_device_tests PRIVATE ${PROJECT_SOURCE_DIR})
  target_link_libraries(bulwark_net_device_tests PRIVATE bulwark_dev_net bulwark_vhost_user bulwark_test_support bulwark_common
    Threads::Threads GTest::gtest_main)
  target_compile_definitions(bulwark_net_device_tests PRIVATE
    BULWARK_DEV_NET="$<TARGET_FILE:bulwark-dev-net>")
  add_dependencies(bulwark_net_device_tests bulwark-dev-net)
  # The monitor's vhost-user frontend (VhostUserFrontend, no KVM needed) against bulwark-dev-net.
  if(TARGET bulwark_vhost_user_frontend)
    target_sources(bulwark_net_device_tests PRIVATE split_ring_driver.cc net_monitor_frontend_test.cc)
    target_link_libraries(bulwark_net_device_tests PRIVATE bulwark_vhost_user_frontend)
  endif()
  gtest_discover_tests(bulwark_net_device_tests
    PROPERTIES LABELS devices TIMEOUT 120
    DISCOVERY_TIMEOUT 60)

  # A real Linux guest (the assets' Debian kernel, virtio_net from the same package) with QEMU
  # (TCG) as the vhost-user frontend of bulwark-dev-net. Skips without QEMU or the assets.
  find_program(BULWARK_QEMU_SYSTEM_X86_64 qemu-system-x86_64)
  if(NOT BULWARK_QEMU_SYSTEM_X86_64)
    set(BULWARK_QEMU_SYSTEM_X86_64 "")
  endif()
  add_executable(bulwark_net_qemu_linux_tests
    ${PROJECT_SOURCE_DIR}/tests/integration/monitor_process.cc
    net_namespace.cc
    net_test_guest.cc
    ${PROJECT_SOURCE_DIR}/tests/unit/blk/test_frontend.cc
    net_qemu_linux_test.cc)
  target_include_directories(bulwark_net_qemu_linux_tests PRIVATE ${PROJECT_SOURCE_DIR})
  target_link_libraries(bulwark_net_qemu_linux_tests PRIVATE bulwark_vhost_user bulwark_common Threads::Threads
    GTest::gtest_main)
  target_compile_definitions(bulwark_net_qemu_linux_tests PRIVATE
    BULWARK_DEV_NET="$<TARGET_FILE:bulwark-dev-net>"
    BULWARK_QEMU_SYSTEM="${BULWARK_QEMU_SYSTEM_X86_64}"
    BULWARK_LINUX_ASSETS_DIR="${PROJECT_SOURCE_DIR}/build/linux-assets"
    BULWARK_NET_GUEST_BUILDER="${CMAKE_CURRENT_SOURCE_DIR}/net_guest/build_initramfs.sh"
    BULWARK_NET_GUEST_CACHE="${CMAKE_CURRENT_BINARY_DIR}/net_guest")
  add_dependencies(bulwark_net_qemu_linux_tests bulwark-dev-net)
  gtest_discover_tests(bulwark_net_qemu_linux_tests
    PROPERTIES LABELS devices TIMEOUT 300
    DISCOVERY_TIMEOUT 60)
endif()

# DPDK's virtio_user (dpdk-testpmd, Debian's dpdk-dev) as the vhost-user frontend of
# bulwark-dev-net on a TAP in a test-made namespace, and the monitor's frontend against DPDK's
# vhost-user backend (net_vhost forwarding to net_af_packet on a veth): frames checked at the
# far side both ways. Skips without root, dpdk-testpmd or its drivers. No hugepages (testpmd
# runs --no-huge).
if(TARGET bulwark-dev-net AND TARGET bulwark_seccomp_policy)
  add_executable(bulwark_net_dpdk_interop_tests
    ${PROJECT_SOURCE_DIR}/tests/integration/monitor_process.cc
    ${PROJECT_SOURCE_DIR}/tests/unit/blk/test_frontend.cc
    net_namespace.cc
    net_test_guest.cc
    net_dpdk_interop_test.cc)
  target_include_directories(bulwark_net_dpdk_interop_tests PRIVATE ${PROJECT_SOURCE_DIR})
  target_link_libraries(bulwark_net_dpdk_interop_tests PRIVATE bulwark_vhost_user bulwark_common Threads::Threads
    GTest::gtest_main)
  target_compile_definitions(bulwark_net_dpdk_interop_tests PRIVATE
    BULWARK_DEV_NET="$<TARGET_FILE:bulwark-dev-net>")
  add_dependencies(bulwark_net_dpdk_interop_tests bulwark-dev-net)
  # The monitor's vhost-user frontend against DPDK's vhost-user backend (net_vhost in testpmd).
  if(TARGET bulwark_vhost_user_frontend)
    target_sources(bulwark_net_dpdk_interop_tests PRIVATE split_ring_driver.cc)
    target_link_libraries(bulwark_net_dpdk_interop_tests PRIVATE bulwark_vhost_user_frontend)
    target_compile_definitions(bulwark_net_dpdk_interop_tests PRIVATE BULWARK_HAVE_VHOST_USER_FRONTEND=1)
  endif()
  gtest_discover_tests(bulwark_net_dpdk_interop_tests
    PROPERTIES LABELS devices TIMEOUT 60
    DISCOVERY_TIMEOUT 60)
endif()
