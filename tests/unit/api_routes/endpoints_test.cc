// Every endpoint's accepted request and the command it becomes, field by field.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "api/routes/route_table.h"
#include "api/routes/router.h"
#include "route_test_util.h"

namespace bulwark::api {
namespace {

using test::request;
using test::routed_command;

constexpr const char* kJson = "application/json";

TEST(ApiRoutes, GetRootAsksForInstanceInfo) {
  routed_command<GetInstanceInfo>(request("GET", "/"));
}

TEST(ApiRoutes, GetVersionIsAnsweredWithoutTheLauncher) {
  const Routed routed = route(request("GET", "/version"));
  ASSERT_FALSE(routed.command);
  ASSERT_TRUE(routed.response);
  EXPECT_EQ(routed.response->status, 200);
  EXPECT_EQ(routed.response->content_type, "application/json");
  const auto body = nlohmann::json::parse(routed.response->body);
  EXPECT_EQ(body, nlohmann::json({{"firecracker_version", "0.1.0"}, {"bulwark_version", "0.1.0"}}));
  EXPECT_STREQ(bulwark_version(), "0.1.0");
}

TEST(ApiRoutes, PutBootSourceWithEveryField) {
  const auto c = routed_command<PutBootSource>(request(
      "PUT", "/boot-source",
      R"({"kernel_image_path": "vmlinux", "initrd_path": "initrd.img", "boot_args": "console=ttyS0 reboot=k"})",
      kJson));
  EXPECT_EQ(c.kernel_image_path, "vmlinux");
  EXPECT_EQ(c.initrd_path, "initrd.img");
  EXPECT_EQ(c.boot_args, "console=ttyS0 reboot=k");
}

TEST(ApiRoutes, PutBootSourceWithOnlyTheKernel) {
  const auto c = routed_command<PutBootSource>(
      request("PUT", "/boot-source", R"({"kernel_image_path": "/images/vmlinux.bin"})"));
  EXPECT_EQ(c.kernel_image_path, "/images/vmlinux.bin");
  EXPECT_EQ(c.initrd_path, "");
  EXPECT_EQ(c.boot_args, "");
}

TEST(ApiRoutes, PutMachineConfigWithEveryField) {
  const auto c = routed_command<PutMachineConfig>(request(
      "PUT", "/machine-config",
      R"({"vcpu_count": 32, "mem_size_mib": 1048576, "smt": false, "track_dirty_pages": true, "cpu_template": "T2"})",
      kJson));
  EXPECT_EQ(c.vcpu_count, 32u);
  EXPECT_EQ(c.mem_size_mib, 1048576u);
  EXPECT_FALSE(c.smt);
  EXPECT_TRUE(c.track_dirty_pages);
  EXPECT_EQ(c.cpu_template, "T2");
}

TEST(ApiRoutes, PutMachineConfigTemplateNoneIsNoTemplate) {
  const auto c = routed_command<PutMachineConfig>(request(
      "PUT", "/machine-config", R"({"vcpu_count": 1, "mem_size_mib": 1, "cpu_template": "None"})"));
  EXPECT_EQ(c.vcpu_count, 1u);
  EXPECT_EQ(c.mem_size_mib, 1u);
  EXPECT_FALSE(c.track_dirty_pages);
  EXPECT_EQ(c.cpu_template, "");
}

TEST(ApiRoutes, GetMachineConfig) {
  routed_command<GetMachineConfig>(request("GET", "/machine-config"));
}

TEST(ApiRoutes, PutDriveWithEveryField) {
  const auto c = routed_command<PutDrive>(request("PUT", "/drives/data_1-x", R"({
      "drive_id": "data_1-x", "path_on_host": "disks/data.qcow2", "is_root_device": false,
      "is_read_only": true, "partuuid": "", "cache_type": "Writeback", "io_engine": "Sync",
      "format": "qcow2",
      "rate_limiter": {"bandwidth": {"size": 1048576, "refill_time": 1000, "one_time_burst": 4096},
                       "ops": {"size": 100, "refill_time": 10}}})",
                                                  kJson));
  EXPECT_EQ(c.drive_id, "data_1-x");
  EXPECT_EQ(c.path_on_host, "disks/data.qcow2");
  EXPECT_FALSE(c.is_root_device);
  EXPECT_TRUE(c.is_read_only);
  EXPECT_EQ(c.format, "qcow2");
  ASSERT_TRUE(c.rate_limiter.bandwidth);
  EXPECT_EQ(c.rate_limiter.bandwidth->size, 1048576u);
  EXPECT_EQ(c.rate_limiter.bandwidth->refill_time_ms, 1000u);
  EXPECT_EQ(c.rate_limiter.bandwidth->one_time_burst, 4096u);
  ASSERT_TRUE(c.rate_limiter.ops);
  EXPECT_EQ(c.rate_limiter.ops->size, 100u);
  EXPECT_EQ(c.rate_limiter.ops->refill_time_ms, 10u);
  EXPECT_EQ(c.rate_limiter.ops->one_time_burst, 0u);
}

TEST(ApiRoutes, PutDriveDefaults) {
  // is_root_device is required by Firecracker; Bulwark reads its absence as false.
  const auto c = routed_command<PutDrive>(
      request("PUT", "/drives/d", R"({"drive_id": "d", "path_on_host": "d.img", "cache_type": "Unsafe"})"));
  EXPECT_EQ(c.drive_id, "d");
  EXPECT_EQ(c.path_on_host, "d.img");
  EXPECT_FALSE(c.is_root_device);
  EXPECT_FALSE(c.is_read_only);
  EXPECT_EQ(c.format, "");
  EXPECT_EQ(c.rate_limiter, RateLimiter{});
}

TEST(ApiRoutes, PutDriveNullOptionalFieldsAreAbsent) {
  const auto c = routed_command<PutDrive>(request(
      "PUT", "/drives/d",
      R"({"drive_id": "d", "path_on_host": "d.img", "is_read_only": null, "rate_limiter": null, "partuuid": null})"));
  EXPECT_FALSE(c.is_read_only);
  EXPECT_EQ(c.rate_limiter, RateLimiter{});
}

TEST(ApiRoutes, PatchDriveRateLimiter) {
  const auto c = routed_command<PatchDrive>(request(
      "PATCH", "/drives/rootfs",
      R"({"drive_id": "rootfs", "rate_limiter": {"ops": {"size": 0, "refill_time": 0}}})", kJson));
  EXPECT_EQ(c.drive_id, "rootfs");
  EXPECT_FALSE(c.rate_limiter.bandwidth);
  ASSERT_TRUE(c.rate_limiter.ops);
  EXPECT_EQ(*c.rate_limiter.ops, TokenBucket{});
}

TEST(ApiRoutes, PutNetworkInterfaceWithEveryField) {
  const auto c = routed_command<PutNetworkInterface>(request("PUT", "/network-interfaces/eth0", R"({
      "iface_id": "eth0", "host_dev_name": "tap0", "guest_mac": "06:00:AC:10:00:02",
      "rx_rate_limiter": {"bandwidth": {"size": 9007199254740992, "refill_time": 3600000}},
      "tx_rate_limiter": {"ops": {"size": 5, "refill_time": 1, "one_time_burst": 7}}})"));
  EXPECT_EQ(c.iface_id, "eth0");
  EXPECT_EQ(c.host_dev_name, "tap0");
  EXPECT_EQ(c.guest_mac, "06:00:AC:10:00:02");
  ASSERT_TRUE(c.rx_rate_limiter.bandwidth);
  EXPECT_EQ(c.rx_rate_limiter.bandwidth->size, uint64_t{1} << 53);
  EXPECT_EQ(c.rx_rate_limiter.bandwidth->refill_time_ms, 3600000u);
  EXPECT_FALSE(c.rx_rate_limiter.ops);
  EXPECT_FALSE(c.tx_rate_limiter.bandwidth);
  ASSERT_TRUE(c.tx_rate_limiter.ops);
  EXPECT_EQ(*c.tx_rate_limiter.ops, (TokenBucket{5, 1, 7}));
}

TEST(ApiRoutes, PutNetworkInterfaceMinimal) {
  const auto c = routed_command<PutNetworkInterface>(
      request("PUT", "/network-interfaces/abcdefghijklmno", R"({"iface_id": "abcdefghijklmno"})"));
  EXPECT_EQ(c.iface_id, "abcdefghijklmno");
  EXPECT_EQ(c.host_dev_name, "");
  EXPECT_EQ(c.guest_mac, "");
}

TEST(ApiRoutes, PatchNetworkInterface) {
  const auto c = routed_command<PatchNetworkInterface>(request(
      "PATCH", "/network-interfaces/net1",
      R"({"iface_id": "net1", "tx_rate_limiter": {"bandwidth": {"size": 100, "refill_time": 100}}})"));
  EXPECT_EQ(c.iface_id, "net1");
  EXPECT_EQ(c.rx_rate_limiter, RateLimiter{});
  ASSERT_TRUE(c.tx_rate_limiter.bandwidth);
  EXPECT_EQ(*c.tx_rate_limiter.bandwidth, (TokenBucket{100, 100, 0}));
}

TEST(ApiRoutes, PutEntropy) {
  const auto limited = routed_command<PutEntropy>(request(
      "PUT", "/entropy", R"({"rate_limiter": {"bandwidth": {"size": 1000, "refill_time": 100}}})"));
  ASSERT_TRUE(limited.rate_limiter.bandwidth);
  EXPECT_EQ(*limited.rate_limiter.bandwidth, (TokenBucket{1000, 100, 0}));
  const auto plain = routed_command<PutEntropy>(request("PUT", "/entropy", "{}"));
  EXPECT_EQ(plain.rate_limiter, RateLimiter{});
}

TEST(ApiRoutes, PutActions) {
  routed_command<InstanceStart>(request("PUT", "/actions", R"({"action_type": "InstanceStart"})"));
  routed_command<SendCtrlAltDel>(request("PUT", "/actions", R"({"action_type": "SendCtrlAltDel"})"));
  routed_command<FlushMetrics>(request("PUT", "/actions", R"({"action_type": "FlushMetrics"})"));
  EXPECT_EQ(routed_command<Shutdown>(request("PUT", "/actions", R"({"action_type": "Shutdown"})"))
                .timeout_s,
            10u);
  EXPECT_EQ(routed_command<Shutdown>(
                request("PUT", "/actions", R"({"action_type": "Shutdown", "timeout_s": 3600})"))
                .timeout_s,
            3600u);
}

TEST(ApiRoutes, GetVmConfig) { routed_command<GetVmConfig>(request("GET", "/vm/config")); }

TEST(ApiRoutes, PatchVm) {
  EXPECT_TRUE(routed_command<SetVmState>(request("PATCH", "/vm", R"({"state": "Paused"})")).paused);
  EXPECT_FALSE(routed_command<SetVmState>(request("PATCH", "/vm", R"({"state": "Resumed"})")).paused);
}

TEST(ApiRoutes, PutLogger) {
  const auto c = routed_command<PutLogger>(request(
      "PUT", "/logger",
      R"({"log_path": "vm.log", "level": "warn", "show_level": true, "show_log_origin": false})"));
  EXPECT_EQ(c.log_path, "vm.log");
  EXPECT_EQ(c.level, "Warning");
  EXPECT_TRUE(c.show_level);
  EXPECT_FALSE(c.show_log_origin);
  const auto fifo = routed_command<PutLogger>(
      request("PUT", "/logger", R"({"log_fifo": "logs.fifo", "level": "Info"})"));
  EXPECT_EQ(fifo.log_path, "logs.fifo");
  EXPECT_EQ(fifo.level, "Info");
  EXPECT_FALSE(fifo.show_level);
  // Firecracker's Trace and Off, any case; module carried for the launcher to judge.
  const auto off = routed_command<PutLogger>(
      request("PUT", "/logger", R"({"log_path": "l", "level": "oFF", "module": "vmm::devices"})"));
  EXPECT_EQ(off.level, "Off");
  EXPECT_EQ(off.module, "vmm::devices");
  EXPECT_EQ(routed_command<PutLogger>(request("PUT", "/logger", R"({"log_path": "l", "level": "TRACE"})")).level,
            "Trace");
}

TEST(ApiRoutes, PutMetrics) {
  EXPECT_EQ(routed_command<PutMetrics>(request("PUT", "/metrics", R"({"metrics_path": "m.json"})"))
                .metrics_path,
            "m.json");
  EXPECT_EQ(routed_command<PutMetrics>(request("PUT", "/metrics", R"({"metrics_fifo": "m.fifo"})"))
                .metrics_path,
            "m.fifo");
}

TEST(ApiRoutes, GetMetricsAndPolicy) {
  routed_command<GetMetrics>(request("GET", "/metrics"));
  routed_command<GetPolicy>(request("GET", "/policy"));
}

TEST(ApiRoutes, PutVsockFirecrackersShape) {
  const auto c = routed_command<PutVsock>(
      request("PUT", "/vsock", R"({"vsock_id": "vsock0", "guest_cid": 3, "uds_path": "./v.sock"})", kJson));
  EXPECT_EQ(c.vsock_id, "vsock0");
  EXPECT_EQ(c.guest_cid, 3u);
  EXPECT_EQ(c.uds_path, "./v.sock") << "the launcher, not the router, applies the name rule";
  const auto highest = routed_command<PutVsock>(
      request("PUT", "/vsock", R"({"guest_cid": 4294967294, "uds_path": "v"})"));
  EXPECT_EQ(highest.vsock_id, "") << "vsock_id is optional";
  EXPECT_EQ(highest.guest_cid, 4294967294u);
  EXPECT_EQ(highest.uds_path, "v");
}

TEST(ApiRoutes, PutTpm) {
  EXPECT_TRUE(routed_command<PutTpm>(request("PUT", "/tpm", R"({"enabled": true})", kJson)).enabled);
  EXPECT_FALSE(routed_command<PutTpm>(request("PUT", "/tpm", R"({"enabled": false})")).enabled);
}

TEST(ApiRoutes, ContentTypeWithParametersIsJson) {
  routed_command<SetVmState>(
      request("PATCH", "/vm", R"({"state": "Paused"})", "Application/JSON; charset=utf-8"));
}

// Every command route() can make must be one the launcher's decoder takes back unchanged.
TEST(ApiRoutes, EveryHappyCommandRoundTripsTheCodec) {
  const HttpRequest requests[] = {
      request("PUT", "/drives/d",
              R"({"drive_id": "d", "path_on_host": "p", "rate_limiter": {"bandwidth": {"size": 9007199254740992, "refill_time": 3600000, "one_time_burst": 9007199254740992}}})"),
      request("PUT", "/machine-config", R"({"vcpu_count": 2, "mem_size_mib": 256})"),
      request("PUT", "/actions", R"({"action_type": "Shutdown", "timeout_s": 1})"),
      request("PUT", "/logger", R"({"log_path": "l"})"),
      request("GET", "/policy"),
      request("PUT", "/vsock", R"({"vsock_id": "v0", "guest_cid": 4294967294, "uds_path": "v.sock"})"),
      request("PUT", "/vsock", R"({"guest_cid": 3, "uds_path": ")" + std::string(4096, 'u') + R"("})"),
      request("PUT", "/tpm", R"({"enabled": true})"),
  };
  for (const HttpRequest& r : requests) {
    const Routed routed = route(r);
    ASSERT_TRUE(routed.command) << r.path;
    const auto decoded = decode_command(encode_command(*routed.command));
    ASSERT_TRUE(decoded.ok()) << r.path << ": " << decoded.error().message();
    EXPECT_EQ(*decoded, *routed.command) << r.path;
  }
}

}  // namespace
}  // namespace bulwark::api
