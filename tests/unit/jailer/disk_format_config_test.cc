// A disk's format and backing chain in the tenant's VM config: declared, never guessed; the
// chain is the config's, checked for shape before anything is opened.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <string>
#include <vector>

#include "devices/backend/inflight_mapping.h"
#include "jailer/device_spec.h"
#include "jailer/jail_config.h"

namespace bulwark::jail {
namespace {

std::string error_of(const std::string& disks) {
  auto parsed = parse_launch_config(R"({"kernel": "/k", "disks": )" + disks + "}");
  if (!parsed.ok()) return parsed.error().message();
  Status s = apply_operator_settings(HostConfig{}, OperatorChoices{"vm-1", "", {}}, *parsed);
  return s.ok() ? "<accepted>" : s.error().message();
}

TEST(DiskFormatConfigTest, FormatIsReadAndRawIsTheDefault) {
  auto parsed = parse_launch_config(R"({"kernel": "/k", "disks": [{"path": "/a.raw"},
      {"path": "/b.qcow2", "format": "qcow2", "backing": [{"path": "/c.qcow2", "format": "qcow2"}, {"path": "/d.raw"}]}]})");
  ASSERT_TRUE(parsed.ok()) << parsed.error().message();
  EXPECT_EQ(parsed->disks[0].format, DiskFormat::kRaw);
  EXPECT_EQ(parsed->disks[1].format, DiskFormat::kQcow2);
  ASSERT_EQ(parsed->disks[1].backing.size(), 2u);
  EXPECT_EQ(parsed->disks[1].backing[0], (BackingImage{"/c.qcow2", DiskFormat::kQcow2}));
  EXPECT_EQ(parsed->disks[1].backing[1], (BackingImage{"/d.raw", DiskFormat::kRaw}));
}

TEST(DiskFormatConfigTest, ABadFormatOrChainIsRefusedByPointer) {
  EXPECT_EQ(error_of(R"([{"path": "/a", "format": "vmdk"}])"),
            "config: /disks/0/format: expected \"raw\" or \"qcow2\", got \"vmdk\"");
  EXPECT_EQ(error_of(R"([{"path": "/a", "backing": [{"path": "/b"}]}])"),
            "config: /disks/0/backing: only a qcow2 image has a backing chain");
  EXPECT_EQ(error_of(R"([{"path": "/a", "format": "qcow2", "backing": [{"path": "/b"}, {"path": "/c"}]}])"),
            "config: /disks/0/backing/0: a raw image has no backing image, so it can only be the last");
  EXPECT_EQ(error_of(R"([{"path": "/a", "format": "qcow2", "backing": [{"path": "/a", "format": "qcow2"}]}])"),
            "config: /disks/0/backing/0/path: the disk itself: a loop");
  EXPECT_EQ(error_of(R"([{"path": "/a", "format": "qcow2", "backing": [{"path": "/b", "format": "qcow2"}, {"path": "/b"}]}])"),
            "config: /disks/0/backing/1/path: listed twice: a loop");
  EXPECT_EQ(error_of(R"([{"path": "/a", "format": "qcow2", "backing": [{"path": "b"}]}])"),
            "config: /disks/0/backing/0/path: expected an absolute path");
  EXPECT_EQ(error_of(R"([{"path": "/a", "format": "qcow2", "backing": [{"path": "/b", "name": "x"}]}])"),
            "config: /disks/0/backing/0/name: unknown field");
  std::string seventeen = "[";
  for (int i = 0; i < 17; ++i) seventeen += std::string(i ? "," : "") + R"({"path": "/b)" + std::to_string(i) + R"(", "format": "qcow2"})";
  EXPECT_EQ(error_of(R"([{"path": "/a", "format": "qcow2", "backing": )" + seventeen + "]}]"),
            "config: /disks/0/backing: at most 16 backing images");
}

TEST(DiskFormatConfigTest, TheDeviceIsToldTheFormatTheChainAndTheCeiling) {
  auto parsed = parse_launch_config(R"({"kernel": "/k", "disks": [{"path": "/srv/top.qcow2", "format": "qcow2",
      "backing": [{"path": "/srv/base.raw"}]}]})");
  ASSERT_TRUE(parsed.ok());
  HostConfig host;
  host.vm_limits.max_disk_size_mib = 1024;
  ASSERT_TRUE(apply_operator_settings(host, OperatorChoices{"vm-1", "", {}}, *parsed).ok());
  DeviceLaunch launch;
  launch.kind = DeviceKind::kBlk;
  launch.name = "blk0";
  launch.disk = &parsed->disks[0];
  launch.image_bytes = 1 << 20;
  launch.image_fd = 10;
  launch.backing_fds = {11};
  launch.null_fd = 12;
  launch.socket_fd = 13;
  const JailSpec spec = build_device_spec(*parsed, MonitorLaunchOptions{}, launch);
  std::string argv;
  for (const std::string& arg : spec.argv) argv += arg + " ";
  EXPECT_NE(argv.find("--format qcow2 --image-name /srv/top.qcow2 --max-virtual-size 1073741824 "
                      "--backing-fd 5 --backing-format raw --backing-name /srv/base.raw"),
            std::string::npos)
      << argv;
  bool backing_passed = false;
  for (const PassedFd& fd : spec.fds) backing_passed = backing_passed || (fd.source == 11 && fd.target == 5);
  EXPECT_TRUE(backing_passed);
  // A qcow2 image grows, within the ceiling and its metadata; never without bound.
  EXPECT_GT(spec.rlimits.fsize, uint64_t{1} << 30);
  EXPECT_LT(spec.rlimits.fsize, uint64_t{2} << 30);
  // A raw disk never grows.
  parsed->disks[0].format = DiskFormat::kRaw;
  parsed->disks[0].backing.clear();
  launch.backing_fds.clear();
  EXPECT_EQ(build_device_spec(*parsed, MonitorLaunchOptions{}, launch).rlimits.fsize, uint64_t{1} << 20);
}

TEST(DiskFormatConfigTest, TheOperatorsPollWindowReachesEveryDiskDevice) {
  auto parsed = parse_launch_config(R"({"kernel": "/k", "disks": [{"path": "/a.raw"}, {"path": "/b.qcow2", "format": "qcow2"}]})");
  ASSERT_TRUE(parsed.ok()) << parsed.error().message();
  HostConfig host;
  host.blk_poll_us = 7;
  ASSERT_TRUE(apply_operator_settings(host, OperatorChoices{"vm-1", "", {}}, *parsed).ok());
  for (size_t i = 0; i < 2; ++i) {
    DeviceLaunch launch;
    launch.kind = DeviceKind::kBlk;
    launch.name = "blk" + std::to_string(i);
    launch.disk = &parsed->disks[i];
    const std::vector<std::string> argv = build_device_spec(*parsed, MonitorLaunchOptions{}, launch).argv;
    const auto flag = std::find(argv.begin(), argv.end(), "--poll-us");
    ASSERT_NE(flag, argv.end()) << i;
    ASSERT_NE(flag + 1, argv.end());
    EXPECT_EQ(*(flag + 1), "7") << i;
  }
  // Without a host setting: dev-blk's own default, passed explicitly.
  ASSERT_TRUE(apply_operator_settings(HostConfig{}, OperatorChoices{"vm-1", "", {}}, *parsed).ok());
  DeviceLaunch launch;
  launch.kind = DeviceKind::kBlk;
  launch.name = "blk0";
  launch.disk = &parsed->disks[0];
  std::string argv;
  for (const std::string& arg : build_device_spec(*parsed, MonitorLaunchOptions{}, launch).argv) argv += arg + " ";
  EXPECT_NE(argv.find("--poll-us 32 "), std::string::npos) << argv;
}

TEST(DiskFormatConfigTest, ADisksRateLimitReachesItsDevice) {
  auto parsed = parse_launch_config(R"({"kernel": "/k", "disks": [{"path": "/a.raw",
      "rate_limiter": {"bandwidth": {"size": 1048576, "refill_time": 100, "one_time_burst": 4096},
                       "ops": {"size": 50, "refill_time": 1000}}}]})");
  ASSERT_TRUE(parsed.ok()) << parsed.error().message();
  EXPECT_EQ(parsed->disks[0].rate_bytes, (RateBucket{1048576, 100, 4096}));
  EXPECT_EQ(parsed->disks[0].rate_ops, (RateBucket{50, 1000, 0}));
  ASSERT_TRUE(apply_operator_settings(HostConfig{}, OperatorChoices{"vm-1", "", {}}, *parsed).ok());
  DeviceLaunch launch;
  launch.kind = DeviceKind::kBlk;
  launch.name = "blk0";
  launch.disk = &parsed->disks[0];
  std::string argv;
  for (const std::string& arg : build_device_spec(*parsed, MonitorLaunchOptions{}, launch).argv) argv += arg + " ";
  EXPECT_NE(argv.find("--rate-bytes 1048576:100:4096 --rate-ops 50:1000 "), std::string::npos) << argv;
  EXPECT_EQ(error_of(R"([{"path": "/a", "rate_limiter": {"bandwidth": {"size": 1}}}])"),
            "config: /disks/0/rate_limiter/bandwidth/refill_time: required");
}

// Every device process makes its in-flight record (a memfd, bounded by RLIMIT_FSIZE like a
// file) when the monitor asks for it: under the launcher's limit, the largest one a NIC may be
// asked for (17 queues of 1,024 entries) fits for an rng, a NIC, a vsock and a tiny raw disk.
TEST(DiskFormatConfigTest, EveryDeviceCanMakeItsInflightRecordUnderItsFileSizeLimit) {
  auto parsed = parse_launch_config(R"({"kernel": "/k", "disks": [{"path": "/a.raw"}], "rng": true})");
  ASSERT_TRUE(parsed.ok()) << parsed.error().message();
  ASSERT_TRUE(apply_operator_settings(HostConfig{}, OperatorChoices{"vm-1", "", {}}, *parsed).ok());
  for (const DeviceKind kind : {DeviceKind::kRng, DeviceKind::kBlk}) {
    DeviceLaunch launch;
    launch.kind = kind;
    launch.name = kind == DeviceKind::kRng ? "rng" : "blk0";
    if (kind == DeviceKind::kBlk) {
      launch.disk = &parsed->disks[0];
      launch.image_bytes = 4096;  // a raw image smaller than any record
      launch.image_fd = 10;
    }
    launch.null_fd = 12;
    launch.socket_fd = 13;
    const uint64_t fsize = build_device_spec(*parsed, MonitorLaunchOptions{}, launch).rlimits.fsize;
    const pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      const rlimit limit{fsize, fsize};
      if (::setrlimit(RLIMIT_FSIZE, &limit) != 0) ::_exit(2);
      ::signal(SIGXFSZ, SIG_IGN);  // report EFBIG rather than die of the signal
      ::_exit(backend::InflightMapping::create(17, 1024).ok() ? 0 : 1);
    }
    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, 0), child);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
        << launch.name << ": RLIMIT_FSIZE " << fsize << " refuses the in-flight record (status " << status << ")";
  }
}

}  // namespace
}  // namespace bulwark::jail
