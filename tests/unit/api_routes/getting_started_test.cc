// Firecracker's getting-started guide (docs/getting-started.md), request by request, as its curl
// commands send them: the JSON bodies after the shell expands them, and curl --data's default
// Content-Type. A client following that guide against Bulwark must get the same commands.
#include <gtest/gtest.h>

#include "api/routes/router.h"
#include "route_test_util.h"

namespace bulwark::api {
namespace {

using test::request;
using test::routed_command;

constexpr const char* kCurlDataContentType = "application/x-www-form-urlencoded";

TEST(ApiRoutesGettingStarted, Logger) {
  const auto c = routed_command<PutLogger>(request("PUT", "/logger", R"({
        "log_path": "./firecracker.log",
        "level": "Debug",
        "show_level": true,
        "show_log_origin": true
    })", kCurlDataContentType));
  EXPECT_EQ(c.log_path, "./firecracker.log");
  EXPECT_EQ(c.level, "Debug");
  EXPECT_TRUE(c.show_level);
  EXPECT_TRUE(c.show_log_origin);
}

TEST(ApiRoutesGettingStarted, BootSource) {
  const auto c = routed_command<PutBootSource>(request("PUT", "/boot-source", R"({
        "kernel_image_path": "./vmlinux-6.1.102",
        "boot_args": "console=ttyS0 reboot=k panic=1"
    })", kCurlDataContentType));
  EXPECT_EQ(c.kernel_image_path, "./vmlinux-6.1.102");
  EXPECT_EQ(c.initrd_path, "");
  EXPECT_EQ(c.boot_args, "console=ttyS0 reboot=k panic=1");
}

TEST(ApiRoutesGettingStarted, Rootfs) {
  const auto c = routed_command<PutDrive>(request("PUT", "/drives/rootfs", R"({
        "drive_id": "rootfs",
        "path_on_host": "./ubuntu-24.04.ext4",
        "is_root_device": true,
        "is_read_only": false
    })", kCurlDataContentType));
  EXPECT_EQ(c.drive_id, "rootfs");
  EXPECT_EQ(c.path_on_host, "./ubuntu-24.04.ext4");
  EXPECT_TRUE(c.is_root_device);
  EXPECT_FALSE(c.is_read_only);
  EXPECT_EQ(c.format, "");
  EXPECT_EQ(c.rate_limiter, RateLimiter{});
}

TEST(ApiRoutesGettingStarted, NetworkInterface) {
  const auto c = routed_command<PutNetworkInterface>(request("PUT", "/network-interfaces/net1", R"({
        "iface_id": "net1",
        "guest_mac": "06:00:AC:10:00:02",
        "host_dev_name": "tap0"
    })", kCurlDataContentType));
  EXPECT_EQ(c.iface_id, "net1");
  EXPECT_EQ(c.guest_mac, "06:00:AC:10:00:02");
  EXPECT_EQ(c.host_dev_name, "tap0");
}

TEST(ApiRoutesGettingStarted, InstanceStart) {
  routed_command<InstanceStart>(request("PUT", "/actions", R"({
        "action_type": "InstanceStart"
    })", kCurlDataContentType));
}

// The machine configuration from Firecracker's README-style examples (curl with an explicit
// JSON Content-Type header).
TEST(ApiRoutesGettingStarted, MachineConfig) {
  const auto c = routed_command<PutMachineConfig>(request("PUT", "/machine-config", R"({
        "vcpu_count": 2,
        "mem_size_mib": 1024
    })", "application/json"));
  EXPECT_EQ(c.vcpu_count, 2u);
  EXPECT_EQ(c.mem_size_mib, 1024u);
  EXPECT_FALSE(c.smt);
  EXPECT_EQ(c.cpu_template, "");
}

}  // namespace
}  // namespace bulwark::api
