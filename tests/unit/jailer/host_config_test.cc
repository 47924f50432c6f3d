#include "jailer/host_config.h"

#include <gtest/gtest.h>

#include <string>

namespace bulwark::jail {
namespace {

std::string error_of(const std::string& text) {
  auto parsed = parse_host_config(text);
  return parsed.ok() ? "<accepted>" : parsed.error().message();
}

TEST(HostConfigTest, EmptyObjectKeepsTheSafeDefaults) {
  auto parsed = parse_host_config("{}");
  ASSERT_TRUE(parsed.ok()) << parsed.error().message();
  EXPECT_EQ(*parsed, HostConfig{});
  EXPECT_TRUE(parsed->network_namespaces.empty());
  EXPECT_FALSE(parsed->allow_device_files);
  EXPECT_EQ(parsed->base_dir, "/srv/bulwark");
  EXPECT_EQ(parsed->run_dir, "/run/bulwark");
}

TEST(HostConfigTest, EveryFieldIsRead) {
  auto parsed = parse_host_config(R"({
    "base_dir": "/var/lib/bulwark", "run_dir": "/run/b", "cgroup_root": "/sys/fs/cgroup",
    "cgroup_parent": "machine/bulwark", "id_range": [300000, 300099], "mcs_range": [10, 99],
    "selinux": "enforce", "selinux_types": {"vm": "a_t", "image": "b_t", "content": "c_t", "jail": "d_t"},
    "network_namespaces": ["tenant-a", "tenant-b"], "shared_image_dirs": ["/srv/images/base", "/srv/iso"],
    "monitor": "/usr/libexec/m", "dev_blk": "/x/b",
    "dev_rng": "/x/r", "seccomp_policy_dir": "/etc/bulwark/seccomp", "allow_device_files": true,
    "stop_grace_seconds": 30,
    "vm_limits": {"max_vcpus": 4, "max_memory_mib": 2048, "max_disks": 2, "max_disk_size_mib": 10240,
                  "memory_overhead_mib": 96, "pids_max": 32, "cpu_quota_percent": 200, "cpuset": "0-1"}})");
  ASSERT_TRUE(parsed.ok()) << parsed.error().message();
  EXPECT_EQ(parsed->base_dir, "/var/lib/bulwark");
  EXPECT_EQ(parsed->run_dir, "/run/b");
  EXPECT_EQ(parsed->cgroup_parent, "machine/bulwark");
  EXPECT_EQ(parsed->id_range_first, 300000u);
  EXPECT_EQ(parsed->id_range_last, 300099u);
  EXPECT_EQ(parsed->mcs_first, 10u);
  EXPECT_EQ(parsed->mcs_last, 99u);
  EXPECT_EQ(parsed->selinux, "enforce");
  EXPECT_EQ(parsed->selinux_vm_type, "a_t");
  EXPECT_EQ(parsed->selinux_jail_type, "d_t");
  EXPECT_EQ(parsed->network_namespaces, (std::vector<std::string>{"tenant-a", "tenant-b"}));
  EXPECT_EQ(parsed->shared_image_dirs, (std::vector<std::string>{"/srv/images/base", "/srv/iso"}));
  EXPECT_NE(describe_host_config(*parsed).find("shared_image_dirs = /srv/images/base, /srv/iso"),
            std::string::npos);
  EXPECT_EQ(parsed->monitor, "/usr/libexec/m");
  EXPECT_TRUE(parsed->allow_device_files);
  EXPECT_EQ(parsed->stop_grace_seconds, 30u);
  EXPECT_EQ(parsed->vm_limits.max_vcpus, 4u);
  EXPECT_EQ(parsed->vm_limits.max_memory_mib, 2048u);
  EXPECT_EQ(parsed->vm_limits.max_disks, 2u);
  EXPECT_EQ(parsed->vm_limits.max_disk_size_mib, 10240u);
  EXPECT_EQ(parsed->vm_limits.memory_overhead_mib, 96u);
  EXPECT_EQ(parsed->vm_limits.pids_max, 32u);
  EXPECT_EQ(parsed->vm_limits.cpu_quota_percent, 200u);
  EXPECT_EQ(parsed->vm_limits.cpuset, "0-1");
  EXPECT_NE(describe_host_config(*parsed).find("vm_limits.max_memory_mib = 2048"), std::string::npos);
}

TEST(HostConfigTest, ErrorsNameTheJsonPath) {
  EXPECT_EQ(error_of(R"({"bogus": 1})"), "host config: /bogus: unknown field");
  EXPECT_EQ(error_of(R"({"vm_limits": {"max_vcpus": 0}})"),
            "host config: /vm_limits/max_vcpus: expected an integer from 1 to 64, got 0");
  EXPECT_EQ(error_of(R"({"vm_limits": {"bogus": 0}})"), "host config: /vm_limits/bogus: unknown field");
  EXPECT_EQ(error_of(R"({"id_range": [0, 10]})"),
            "host config: /id_range/0: expected an integer from 1 to 2147483646, got 0");
  EXPECT_EQ(error_of(R"({"id_range": [10, 9]})"), "host config: /id_range: first is larger than last");
  EXPECT_EQ(error_of(R"({"mcs_range": [5, 5]})"), "host config: /mcs_range: needs at least two categories");
  EXPECT_EQ(error_of(R"({"selinux": "permissive"})"),
            "host config: /selinux: expected \"enforce\", \"auto\" or \"off\", got \"permissive\"");
  EXPECT_EQ(error_of(R"({"selinux_types": {"vm": "a:b"}})").rfind("host config: /selinux_types/vm: ", 0), 0u);
  EXPECT_EQ(error_of(R"({"network_namespaces": ["../x"]})").rfind("host config: /network_namespaces/0: ", 0), 0u);
  EXPECT_EQ(error_of(R"({"network_namespaces": [""]})"), "host config: /network_namespaces/0: expected a name, got \"\"");
  // Absolute plain directories only; "/" would share every image on the host.
  for (const char* bad : {R"({"shared_image_dirs": ["/"]})", R"({"shared_image_dirs": ["images"]})",
                          R"({"shared_image_dirs": ["/srv/../etc"]})", R"({"shared_image_dirs": ["/srv//x"]})",
                          R"({"shared_image_dirs": ["/srv/"]})", R"({"shared_image_dirs": [1]})"}) {
    EXPECT_EQ(error_of(bad).rfind("host config: /shared_image_dirs/0: ", 0), 0u) << bad << ": " << error_of(bad);
  }
  EXPECT_EQ(error_of(R"({"shared_image_dirs": "/srv"})"),
            "host config: /shared_image_dirs: expected an array of absolute directories, got \"/srv\"");
  EXPECT_EQ(error_of(R"({"monitor": "relative"})"),
            "host config: /monitor: expected an absolute path, got \"relative\"");
  EXPECT_EQ(error_of(R"({"allow_device_files": 1})"), "host config: /allow_device_files: expected true or false, got 1");
  EXPECT_EQ(error_of("[]"), "host config: top level: expected an object, got an array");
  EXPECT_NE(error_of(R"({"run_dir": "/a", "run_dir": "/b"})").find("duplicate"), std::string::npos);
}

TEST(HostConfigTest, BlkPollUsIsReadWithinDevBlksOwnBounds) {
  auto parsed = parse_host_config("{}");
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->blk_poll_us, 32u) << "bulwark-dev-blk's own default";
  for (uint64_t value : {0u, 7u, 1000u}) {
    parsed = parse_host_config(R"({"blk_poll_us": )" + std::to_string(value) + "}");
    ASSERT_TRUE(parsed.ok()) << value << ": " << parsed.error().message();
    EXPECT_EQ(parsed->blk_poll_us, value);
  }
  EXPECT_EQ(error_of(R"({"blk_poll_us": 1001})").rfind("host config: /blk_poll_us: ", 0), 0u)
      << error_of(R"({"blk_poll_us": 1001})");
  EXPECT_EQ(error_of(R"({"blk_poll_us": -1})").rfind("host config: /blk_poll_us: ", 0), 0u);
  EXPECT_EQ(error_of(R"({"blk_poll_us": "32"})").rfind("host config: /blk_poll_us: ", 0), 0u);
  EXPECT_NE(describe_host_config(*parse_host_config(R"({"blk_poll_us": 7})")).find("  blk_poll_us = 7\n"),
            std::string::npos);
}

TEST(HostConfigTest, PathLikeFieldsCannotEscape) {
  for (const char* dir : {"relative", "/", "/a/../b", "/a//b", "/a/", "/a/./b"}) {
    EXPECT_EQ(error_of(std::string(R"({"base_dir": ")") + dir + "\"}").rfind("host config: /base_dir: ", 0), 0u) << dir;
  }
  for (const char* parent : {"", "/abs", "a/../b", "..", "a//b", "a b"}) {
    EXPECT_EQ(error_of(std::string(R"({"cgroup_parent": ")") + parent + "\"}").rfind("host config: /cgroup_parent: ", 0), 0u)
        << parent;
  }
  for (const char* bad : {",", "0,", "-1", "1-", "a", "0-1-2", "0;rm", "123456"}) {
    EXPECT_EQ(error_of(std::string(R"({"vm_limits": {"cpuset": ")") + bad + "\"}}").rfind("host config: /vm_limits/cpuset: ", 0), 0u)
        << bad;
  }
}

}  // namespace
}  // namespace bulwark::jail
