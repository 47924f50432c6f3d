#include "jailer/jail_config.h"

#include <gtest/gtest.h>

#include <string>

namespace bulwark::jail {
namespace {

const std::string kJail = R"("jail": {"id": "vm-1", "uid": 10001, "gid": 10002})";

std::string config_with(const std::string& jail_fields, const std::string& vm_fields = "") {
  return R"({"kernel": "/k", )" + vm_fields + R"("jail": {"id": "vm-1", "uid": 10001, "gid": 10002)" +
         jail_fields + "}}";
}

std::string error_of(const std::string& text) {
  auto parsed = parse_launch_config(text);
  return parsed.ok() ? "<accepted>" : parsed.error().message();
}

TEST(JailConfigTest, MinimalConfigGetsDefaults) {
  auto parsed = parse_launch_config(config_with(""));
  ASSERT_TRUE(parsed.ok()) << parsed.error().message();
  EXPECT_EQ(parsed->jail.id, "vm-1");
  EXPECT_EQ(parsed->jail.uid, 10001u);
  EXPECT_EQ(parsed->jail.gid, 10002u);
  EXPECT_EQ(parsed->jail.base_dir, "/srv/bulwark");
  EXPECT_EQ(parsed->jail.cgroup_parent, "bulwark");
  EXPECT_EQ(parsed->jail.memory_overhead_mib, 64u);
  EXPECT_EQ(parsed->jail.pids_max, 64u);
  EXPECT_EQ(parsed->jail.cpu_quota_percent, 100u);
  EXPECT_EQ(parsed->jail.cpuset, "");
  EXPECT_EQ(parsed->jail.netns, "");
  EXPECT_EQ(parsed->vm.kernel, "/k");
  EXPECT_EQ(parsed->vm.memory_mib, 256u);
}

TEST(JailConfigTest, EveryFieldIsRead) {
  auto parsed = parse_launch_config(config_with(
      R"(, "base_dir": "/var/lib/b", "cgroup_parent": "a/b", "memory_overhead_mib": 128,
         "pids_max": 10, "cpu_quota_percent": 250, "cpuset": "0-1,3", "netns": "tenant-a")",
      R"("memory_mib": 512, "vcpus": 2, "initrd": "/i", )"));
  ASSERT_TRUE(parsed.ok()) << parsed.error().message();
  EXPECT_EQ(parsed->jail.base_dir, "/var/lib/b");
  EXPECT_EQ(parsed->jail.cgroup_parent, "a/b");
  EXPECT_EQ(parsed->jail.memory_overhead_mib, 128u);
  EXPECT_EQ(parsed->jail.pids_max, 10u);
  EXPECT_EQ(parsed->jail.cpu_quota_percent, 250u);
  EXPECT_EQ(parsed->jail.cpuset, "0-1,3");
  EXPECT_EQ(parsed->jail.netns, "tenant-a");
  EXPECT_EQ(parsed->vm.memory_mib, 512u);
  EXPECT_EQ(parsed->vm.vcpus, 2u);
  EXPECT_EQ(parsed->vm.initrd, "/i");
}

TEST(JailConfigTest, ErrorsNameTheJsonPath) {
  EXPECT_EQ(error_of(R"({"kernel": "/k"})"), "config: /jail: required");
  EXPECT_EQ(error_of(R"({"kernel": "/k", "jail": 3})"), "config: /jail: expected an object, got 3");
  EXPECT_EQ(error_of(R"({"kernel": "/k", "jail": {"uid": 1, "gid": 1}})"), "config: /jail/id: required");
  EXPECT_EQ(error_of(R"({"kernel": "/k", "jail": {"id": "a", "gid": 1}})"),
            "config: /jail/uid: required when /jail/gid is given");
  EXPECT_EQ(error_of(R"({"kernel": "/k", "jail": {"id": "a", "uid": 1}})"),
            "config: /jail/gid: required when /jail/uid is given");
  EXPECT_EQ(error_of(config_with(R"(, "extra": 1)")), "config: /jail/extra: unknown field");
  EXPECT_EQ(error_of(config_with("", R"("bogus": 1, )")), "config: /bogus: unknown field");
  EXPECT_EQ(error_of(config_with("", R"("vcpus": "two", )")),
            "config: /vcpus: expected an integer from 1 to 64, got \"two\"");
  EXPECT_EQ(error_of("[1]"), "config: top level: expected an object, got an array");
  EXPECT_NE(error_of("{").find("config: invalid JSON"), std::string::npos) << error_of("{");
  EXPECT_NE(error_of(config_with(R"(, "id": "x")")).find("duplicate"), std::string::npos);
}

TEST(JailConfigTest, RootIdsAreRefused) {
  EXPECT_EQ(error_of(R"({"kernel": "/k", "jail": {"id": "a", "uid": 0, "gid": 1}})"),
            "config: /jail/uid: expected an integer from 1 to 2147483646, got 0");
  EXPECT_EQ(error_of(R"({"kernel": "/k", "jail": {"id": "a", "uid": 1, "gid": -1}})"),
            "config: /jail/gid: expected an integer from 1 to 2147483646, got -1");
  EXPECT_NE(error_of(R"({"kernel": "/k", "jail": {"id": "a", "uid": 4294967295, "gid": 1}})")
                .find("/jail/uid"),
            std::string::npos);
}

TEST(JailConfigTest, PathLikeFieldsCannotEscape) {
  EXPECT_NE(error_of(config_with(R"(, "id": "../x")")), "<accepted>");
  for (const char* dir : {"relative", "/", "/a/../b", "/a//b", "/a/", "/a/./b"}) {
    EXPECT_NE(error_of(config_with(std::string(R"(, "base_dir": ")") + dir + "\"")).find("/jail/base_dir: "),
              std::string::npos)
        << dir;
  }
  for (const char* parent : {"", "/abs", "a/../b", "..", "a//b", "a b"}) {
    EXPECT_NE(error_of(config_with(std::string(R"(, "cgroup_parent": ")") + parent + "\""))
                  .find("/jail/cgroup_parent: "),
              std::string::npos)
        << parent;
  }
  for (const char* netns : {"a/b", "..", "."}) {
    EXPECT_NE(error_of(config_with(std::string(R"(, "netns": ")") + netns + "\"")).find("/jail/netns: "),
              std::string::npos)
        << netns;
  }
}

TEST(JailConfigTest, CpusetSyntax) {
  for (const char* good : {"", "0", "0-3", "0-1,4,6-7"}) {
    EXPECT_EQ(error_of(config_with(std::string(R"(, "cpuset": ")") + good + "\"")), "<accepted>") << good;
  }
  for (const char* bad : {",", "0,", "-1", "1-", "a", "0-1-2", "0;rm", "123456"}) {
    EXPECT_NE(error_of(config_with(std::string(R"(, "cpuset": ")") + bad + "\"")).find("/jail/cpuset: "),
              std::string::npos)
        << bad;
  }
}

TEST(JailConfigTest, LimitsAreBounded) {
  EXPECT_NE(error_of(config_with(R"(, "pids_max": 0)")).find("/jail/pids_max"), std::string::npos);
  EXPECT_NE(error_of(config_with(R"(, "pids_max": 65537)")).find("/jail/pids_max"), std::string::npos);
  EXPECT_NE(error_of(config_with(R"(, "cpu_quota_percent": 6401)")).find("/jail/cpu_quota_percent"),
            std::string::npos);
  EXPECT_NE(error_of(config_with(R"(, "memory_overhead_mib": 1.5)")).find("/jail/memory_overhead_mib"),
            std::string::npos);
}

TEST(JailConfigTest, MonitorSettingsTheJailDoesNotAllow) {
  EXPECT_EQ(error_of(config_with("", R"("serial": {"kind": "file", "path": "/tmp/x"}, )")),
            "config: /serial/kind: \"file\" is not available under bulwark run (use \"stdout\")");
  EXPECT_EQ(error_of(config_with("", R"("seccomp": "off", )")),
            "config: /seccomp: bulwark run always enforces the monitor's seccomp policy");
  EXPECT_NE(error_of(config_with("", R"("seccomp_policy_dir": "/tmp", )")).find("/seccomp_policy_dir"),
            std::string::npos);
  EXPECT_EQ(error_of(config_with("", R"("serial": {"kind": "none"}, )")), "<accepted>");
}

TEST(JailConfigTest, IdsAreAllocatedWhenAbsentFromTheirRange) {
  auto parsed = parse_launch_config(R"({"kernel": "/k", "jail": {"id": "a"}})");
  ASSERT_TRUE(parsed.ok()) << parsed.error().message();
  EXPECT_EQ(parsed->jail.uid, 0u);  // 0: allocate
  EXPECT_EQ(parsed->jail.gid, 0u);
  EXPECT_EQ(parsed->jail.id_range_first, 200000u);
  EXPECT_EQ(parsed->jail.id_range_last, 265535u);
  EXPECT_EQ(parsed->jail.selinux, "auto");
  parsed = parse_launch_config(
      R"({"kernel": "/k", "jail": {"id": "a", "id_range": [300000, 300009], "selinux": "off"}})");
  ASSERT_TRUE(parsed.ok()) << parsed.error().message();
  EXPECT_EQ(parsed->jail.id_range_first, 300000u);
  EXPECT_EQ(parsed->jail.id_range_last, 300009u);
  EXPECT_EQ(parsed->jail.selinux, "off");
}

TEST(JailConfigTest, BadIdRangeAndSelinuxModeNameTheirPath) {
  auto jail = [](const std::string& fields) {
    return error_of(R"({"kernel": "/k", "jail": {"id": "a", )" + fields + "}}");
  };
  EXPECT_EQ(jail(R"("id_range": [5])"), "config: /jail/id_range: expected [first, last], got an array");
  EXPECT_EQ(jail(R"("id_range": "1-2")"),
            "config: /jail/id_range: expected [first, last], got \"1-2\"");
  EXPECT_EQ(jail(R"("id_range": [0, 10])"),
            "config: /jail/id_range/0: expected an integer from 1 to 2147483646, got 0");
  EXPECT_EQ(jail(R"("id_range": [1, 4294967295])"),
            "config: /jail/id_range/1: expected an integer from 1 to 2147483646, got 4294967295");
  EXPECT_EQ(jail(R"("id_range": [10, 9])"), "config: /jail/id_range: first is larger than last");
  EXPECT_EQ(jail(R"("selinux": "permissive")"),
            "config: /jail/selinux: expected \"enforce\", \"auto\" or \"off\", got \"permissive\"");
  EXPECT_EQ(jail(R"("selinux": true)"), "config: /jail/selinux: expected a string, got true");
  EXPECT_EQ(jail(R"("selinux": "enforce")"), "<accepted>");
}

TEST(JailConfigTest, ValidateCatchesHandMadeSettings) {
  LaunchConfig config;
  config.vm.kernel = "/k";
  config.jail.id = "vm";
  config.jail.uid = 5;
  config.jail.gid = 5;
  EXPECT_TRUE(validate_launch_config(config).ok());
  config.jail.uid = 0;  // root gid-less: refused; both 0 means "allocate"
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
  config.jail.uid = 5;
  config.jail.gid = 5;
  config.jail.id = "a/b";
  EXPECT_FALSE(validate_launch_config(config).ok());
}

}  // namespace
}  // namespace bulwark::jail

namespace bulwark::jail {
namespace {

TEST(JailConfigDevicesTest, DisksAndRngAreReadAndNotPassedToTheMonitor) {
  auto parsed = parse_launch_config(config_with(
      "", R"("disks": [{"path": "/img/a.raw"}, {"path": "/img/b.raw", "read_only": true,
             "serial": "disk-b_1.0", "queues": 4}], "rng": true, )"));
  ASSERT_TRUE(parsed.ok()) << parsed.error().message();
  ASSERT_EQ(parsed->disks.size(), 2u);
  EXPECT_EQ(parsed->disks[0], (DiskSettings{"/img/a.raw", false, "", 1}));
  EXPECT_EQ(parsed->disks[1], (DiskSettings{"/img/b.raw", true, "disk-b_1.0", 4}));
  EXPECT_TRUE(parsed->rng);
}

TEST(JailConfigDevicesTest, BadDevicesAreRefusedWithTheirPath) {
  EXPECT_EQ(error_of(config_with("", R"("disks": {}, )")), "config: /disks: expected an array, got an object");
  EXPECT_EQ(error_of(config_with("", R"("disks": [{}], )")), "config: /disks/0/path: required");
  EXPECT_EQ(error_of(config_with("", R"("disks": [{"path": "rel.raw"}], )")),
            "config: /disks/0/path: expected an absolute path");
  EXPECT_EQ(error_of(config_with("", R"("disks": [{"path": "/a", "size": 1}], )")),
            "config: /disks/0/size: unknown field");
  EXPECT_EQ(error_of(config_with("", R"("disks": [{"path": "/a", "queues": 9}], )")),
            "config: /disks/0/queues: expected an integer from 1 to 8, got 9");
  EXPECT_EQ(error_of(config_with("", R"("disks": [{"path": "/a", "serial": "has space"}], )")),
            "config: /disks/0/serial: expected [A-Za-z0-9_.-], got \"has space\"");
  EXPECT_EQ(error_of(config_with("", R"("disks": [{"path": "/a", "serial": "123456789012345678901"}], )")),
            "config: /disks/0/serial: longer than 20 bytes (virtio-blk GET_ID)");
  EXPECT_EQ(error_of(config_with("", R"("rng": 1, )")), "config: /rng: expected true or false, got 1");
  // The monitor's own device list names sockets: only the launcher writes it.
  EXPECT_EQ(error_of(config_with("", R"("devices": [{"type": "vhost-user-rng", "socket": "/run/x.sock"}], )")),
            "config: /devices: chosen by the launcher (use \"disks\" and \"rng\")");
  std::string nine = R"("disks": [)";
  for (int i = 0; i < 9; ++i) nine += std::string(i ? "," : "") + R"({"path": "/a"})";
  EXPECT_EQ(error_of(config_with("", nine + "], ")), "config: /disks: at most 8 disks");
}

TEST(JailConfigDevicesTest, AVmWithDevicesNeedsRoomInItsIdForTheDeviceJails) {
  const std::string id59(59, 'a'), id60(60, 'a');
  auto config = [](const std::string& id) {
    return R"({"kernel": "/k", "rng": true, "jail": {"id": ")" + id + R"("}})";
  };
  EXPECT_EQ(error_of(config(id59)), "<accepted>");
  EXPECT_EQ(error_of(config(id60)),
            "config: /jail/id: at most 59 characters for a VM with devices (their jails are <id>.blkN)");
}

}  // namespace
}  // namespace bulwark::jail
