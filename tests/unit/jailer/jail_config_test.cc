#include "jailer/jail_config.h"

#include <gtest/gtest.h>

#include <string>

namespace bulwark::jail {
namespace {

std::string config_with(const std::string& vm_fields = "") {
  return R"({)" + vm_fields + R"("kernel": "/k"})";
}

std::string error_of(const std::string& text) {
  auto parsed = parse_launch_config(text);
  return parsed.ok() ? "<accepted>" : parsed.error().message();
}

// The tenant's file applied under `host` as VM `id`: "" when accepted, else the error.
std::string applied_error(const std::string& text, const HostConfig& host = HostConfig{},
                          const std::string& id = "vm-1", const std::string& netns = "") {
  auto parsed = parse_launch_config(text);
  if (!parsed.ok()) return parsed.error().message();
  Status s = apply_operator_settings(host, OperatorChoices{id, netns, {}}, *parsed);
  return s.ok() ? "" : s.error().message();
}

TEST(JailConfigTest, TenantFieldsAreRead) {
  auto parsed = parse_launch_config(config_with(R"("memory_mib": 512, "vcpus": 2, "initrd": "/i", )"));
  ASSERT_TRUE(parsed.ok()) << parsed.error().message();
  EXPECT_EQ(parsed->vm.kernel, "/k");
  EXPECT_EQ(parsed->vm.memory_mib, 512u);
  EXPECT_EQ(parsed->vm.vcpus, 2u);
  EXPECT_EQ(parsed->vm.initrd, "/i");
}

// Case 1-3 of issue 9: every operator setting a tenant's file names is refused by name.
TEST(JailConfigTest, EveryOperatorSettingIsRefusedByName) {
  for (const char* field :
       {"jail", "id", "uid", "gid", "id_range", "selinux", "base_dir", "run_dir", "cgroup_root",
        "cgroup_parent", "memory_overhead_mib", "pids_max", "cpu_quota_percent", "cpuset", "netns",
        "seccomp", "seccomp_policy_dir", "devices", "allow_device_files", "monitor",
        "shared_image_dirs", "control_fd", "blk_poll_us", "tpm_fd"}) {
    const std::string text = std::string(R"({"kernel": "/k", ")") + field + R"(": 1})";
    EXPECT_EQ(error_of(text), std::string("config: /") + field +
                                  ": an operator setting; a VM config may not set it (the host "
                                  "config /etc/bulwark/host.json and bulwark run's flags do)")
        << field;
  }
  // The old nested form too, whatever it holds.
  EXPECT_NE(error_of(R"({"kernel": "/k", "jail": {"id": "lib", "base_dir": "/var"}})")
                .find("config: /jail: an operator setting"),
            std::string::npos);
}

// The monitor's control channel is the launcher's to give: a tenant naming an fd there could
// point the monitor at any socket the launcher happens to pass it.
TEST(JailConfigTest, ControlFdIsRefusedInATenantFile) {
  EXPECT_EQ(error_of(config_with(R"("control_fd": 3, )")),
            "config: /control_fd: an operator setting; a VM config may not set it (the host config "
            "/etc/bulwark/host.json and bulwark run's flags do)");
}

TEST(JailConfigTest, ErrorsNameTheJsonPath) {
  EXPECT_EQ(error_of(config_with(R"("bogus": 1, )")), "config: /bogus: unknown field");
  EXPECT_EQ(error_of(config_with(R"("vcpus": "two", )")),
            "config: /vcpus: expected an integer from 1 to 64, got \"two\"");
  EXPECT_EQ(error_of("[1]"), "config: top level: expected an object, got an array");
  EXPECT_NE(error_of("{").find("config: invalid JSON"), std::string::npos) << error_of("{");
  EXPECT_EQ(error_of(config_with(R"("serial": {"kind": "file", "path": "/tmp/x"}, )")),
            "config: /serial/kind: \"file\" is not available under bulwark run (use \"stdout\")");
  EXPECT_EQ(error_of(config_with(R"("serial": {"kind": "none"}, )")), "<accepted>");
}

TEST(JailConfigTest, OperatorSettingsFillTheJail) {
  HostConfig host;
  host.base_dir = "/var/lib/b";
  host.cgroup_parent = "a/b";
  host.id_range_first = 300000;
  host.id_range_last = 300009;
  host.selinux = "off";
  host.network_namespaces = {"tenant-a"};
  host.allow_device_files = true;
  host.vm_limits.memory_overhead_mib = 128;
  host.vm_limits.pids_max = 10;
  host.vm_limits.cpu_quota_percent = 250;
  host.vm_limits.cpuset = "0-1,3";
  auto parsed = parse_launch_config(config_with());
  ASSERT_TRUE(parsed.ok());
  ASSERT_TRUE(apply_operator_settings(host, {"vm-7", "tenant-a", {}}, *parsed).ok());
  const JailSettings& jail = parsed->jail;
  EXPECT_EQ(jail.id, "vm-7");
  EXPECT_EQ(jail.uid, 0u);  // allocated later, from the range
  EXPECT_EQ(jail.id_range_first, 300000u);
  EXPECT_EQ(jail.id_range_last, 300009u);
  EXPECT_EQ(jail.selinux, "off");
  EXPECT_EQ(jail.base_dir, "/var/lib/b");
  EXPECT_EQ(jail.cgroup_parent, "a/b");
  EXPECT_EQ(jail.memory_overhead_mib, 128u);
  EXPECT_EQ(jail.pids_max, 10u);
  EXPECT_EQ(jail.cpu_quota_percent, 250u);
  EXPECT_EQ(jail.cpuset, "0-1,3");
  EXPECT_EQ(jail.netns, "tenant-a");
  EXPECT_TRUE(jail.allow_device_files);
}

TEST(JailConfigTest, RequestsAboveTheOperatorsCeilingsAreRefused) {
  HostConfig host;
  host.vm_limits.max_vcpus = 2;
  host.vm_limits.max_memory_mib = 1024;
  host.vm_limits.max_disks = 1;
  EXPECT_EQ(applied_error(config_with(R"("vcpus": 2, "memory_mib": 1024, )"), host), "");
  EXPECT_EQ(applied_error(config_with(R"("vcpus": 3, )"), host),
            "config: /vcpus: 3 is above the operator's ceiling 2 (vm_limits.max_vcpus)");
  EXPECT_EQ(applied_error(config_with(R"("memory_mib": 1025, )"), host),
            "config: /memory_mib: 1025 is above the operator's ceiling 1024 (vm_limits.max_memory_mib)");
  EXPECT_EQ(applied_error(config_with(R"("disks": [{"path": "/a"}, {"path": "/b"}], )"), host),
            "config: /disks: 2 disks is above the operator's ceiling 1 (vm_limits.max_disks)");
}

TEST(JailConfigTest, TheVmIdAndNetnsAreTheOperatorsAndChecked) {
  EXPECT_NE(applied_error(config_with(), HostConfig{}, "../x").find("--id: "), std::string::npos);
  EXPECT_NE(applied_error(config_with(), HostConfig{}, "").find("--id: "), std::string::npos);
  // No network namespace may be joined unless the host config lists it.
  EXPECT_EQ(applied_error(config_with(), HostConfig{}, "vm-1", "host-net"),
            "--netns: \"host-net\" is not among the host config's network_namespaces");
  HostConfig host;
  host.network_namespaces = {"tenant-a"};
  EXPECT_EQ(applied_error(config_with(), host, "vm-1", "tenant-a"), "");
}

TEST(JailConfigTest, ValidateCatchesHandMadeSettings) {
  LaunchConfig config;
  config.vm.kernel = "/k";
  config.jail.id = "vm";
  config.jail.uid = 5;
  config.jail.gid = 5;
  EXPECT_TRUE(validate_launch_config(config).ok());
  config.jail.uid = kMaxVmUid + 1;  // past the last VM uid (2147483647 is nobody's, -1 is "none")
  EXPECT_FALSE(validate_launch_config(config).ok());
  config.jail.uid = kMaxVmUid;
  config.jail.gid = kMaxVmUid + 1;
  EXPECT_FALSE(validate_launch_config(config).ok());
  config.jail.gid = 5;
  config.jail.uid = 0;  // root gid-less: refused; both 0 means "not allocated yet"
  EXPECT_FALSE(validate_launch_config(config).ok());
  config.jail.gid = 0;
  EXPECT_TRUE(validate_launch_config(config).ok());
  config.jail.id_range_first = 10;
  config.jail.id_range_last = 9;
  EXPECT_FALSE(validate_launch_config(config).ok());
  config.jail.id_range_last = 10;
  config.jail.selinux = "on";
  EXPECT_FALSE(validate_launch_config(config).ok());
  config.jail.selinux = "off";
  config.jail.id = "a/b";
  EXPECT_FALSE(validate_launch_config(config).ok());
}

// validate_launch_config() is the last word on settings built in code (not parsed): each limit
// at its boundary, each refusal on its own.
TEST(JailConfigTest, ValidateRefusesEachLimitJustPastItsBoundary) {
  LaunchConfig config;
  config.vm.kernel = "/k";
  config.jail.id = "vm";
  ASSERT_TRUE(validate_launch_config(config).ok());
  config.jail.pids_max = kMaxPidsMax + 1;
  EXPECT_EQ(validate_launch_config(config).error().message(), "host config /vm_limits/pids_max: out of range");
  config.jail.pids_max = kMaxPidsMax;
  EXPECT_TRUE(validate_launch_config(config).ok());

  config.vm.seccomp = config::SeccompMode::kOff;
  EXPECT_EQ(validate_launch_config(config).error().message(),
            "/seccomp: bulwark run always enforces the monitor's seccomp policy");
  config.vm.seccomp = config::SeccompMode::kEnforce;

  config.disks.assign(kMaxDisks + 1, DiskSettings{"/img/a.raw", false, "", 1, DiskFormat::kRaw, {}, {}, {}});
  EXPECT_EQ(validate_launch_config(config).error().message(), "/disks: at most 8 disks");
  config.disks.resize(kMaxDisks);
  EXPECT_TRUE(validate_launch_config(config).ok()) << validate_launch_config(config).error().message();
}

TEST(JailConfigDevicesTest, DisksAndRngAreReadAndNotPassedToTheMonitor) {
  auto parsed = parse_launch_config(config_with(
      R"("disks": [{"path": "/img/a.raw"}, {"path": "/img/b.raw", "read_only": true,
             "serial": "disk-b_1.0", "queues": 4}], "rng": true, )"));
  ASSERT_TRUE(parsed.ok()) << parsed.error().message();
  ASSERT_EQ(parsed->disks.size(), 2u);
  EXPECT_EQ(parsed->disks[0], (DiskSettings{"/img/a.raw", false, "", 1, DiskFormat::kRaw, {}, {}, {}}));
  EXPECT_EQ(parsed->disks[1], (DiskSettings{"/img/b.raw", true, "disk-b_1.0", 4, DiskFormat::kRaw, {}, {}, {}}));
  EXPECT_TRUE(parsed->rng);
  EXPECT_TRUE(parsed->vm.devices.empty());
}

TEST(JailConfigDevicesTest, BadDevicesAreRefusedWithTheirPath) {
  EXPECT_EQ(error_of(config_with(R"("disks": {}, )")), "config: /disks: expected an array, got an object");
  EXPECT_EQ(error_of(config_with(R"("disks": [{}], )")), "config: /disks/0/path: required");
  EXPECT_EQ(error_of(config_with(R"("disks": [{"path": "rel.raw"}], )")),
            "config: /disks/0/path: expected an absolute path");
  EXPECT_EQ(error_of(config_with(R"("disks": [{"path": "/a", "size": 1}], )")),
            "config: /disks/0/size: unknown field");
  EXPECT_EQ(error_of(config_with(R"("disks": [{"path": "/a", "queues": 9}], )")),
            "config: /disks/0/queues: expected an integer from 1 to 8, got 9");
  EXPECT_EQ(error_of(config_with(R"("disks": [{"path": "/a", "serial": "has space"}], )")),
            "config: /disks/0/serial: expected [A-Za-z0-9_.-], got \"has space\"");
  EXPECT_EQ(error_of(config_with(R"("disks": [{"path": "/a", "serial": "123456789012345678901"}], )")),
            "config: /disks/0/serial: longer than 20 bytes (virtio-blk GET_ID)");
  EXPECT_EQ(error_of(config_with(R"("rng": 1, )")), "config: /rng: expected true or false, got 1");
  std::string nine = R"("disks": [)";
  for (int i = 0; i < 9; ++i) nine += std::string(i ? "," : "") + R"({"path": "/a"})";
  EXPECT_EQ(error_of(config_with(nine + "], ")), "config: /disks: at most 8 disks");
}

TEST(JailConfigDevicesTest, AVmWithDevicesNeedsRoomInItsIdForTheDeviceJails) {
  const std::string with_rng = config_with(R"("rng": true, )");
  EXPECT_EQ(applied_error(with_rng, HostConfig{}, std::string(59, 'a')), "");
  EXPECT_EQ(applied_error(with_rng, HostConfig{}, std::string(60, 'a')),
            "config: --id: at most 59 characters for a VM with devices (their jails are <id>.blkN, <id>.netN)");
}

}  // namespace
}  // namespace bulwark::jail
