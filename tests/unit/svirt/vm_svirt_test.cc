#include "jailer/svirt/vm_svirt.h"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/xattr.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "tests/unit/svirt/labelable_dir.h"

namespace bulwark::jailer {
namespace {

using testing_support::make_labelable_temp_dir;
using testing_support::TempDir;

// Labels go on fds: an fd of `path` as the launcher would hold it.
UniqueFd open_fd(const std::filesystem::path& path) {
  return UniqueFd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
}

SvirtConfig config_in(const TempDir& tmp, SelinuxMode mode) {
  SvirtConfig config;
  config.mode = mode;
  config.mcs.run_dir = tmp.path() / "mcs";
  return config;
}

bool selinux_is_on_here() { return std::filesystem::exists("/sys/fs/selinux/enforce"); }

TEST(VmSvirt, EnforceRefusesToLaunchOnThisHost) {
  if (selinux_is_on_here()) GTEST_SKIP() << "SELinux is on here";
  TempDir tmp;
  ASSERT_TRUE(tmp.ok());
  auto svirt = VmSvirt::prepare(config_in(tmp, SelinuxMode::kEnforce), "vm-a");
  ASSERT_FALSE(svirt.ok());
  EXPECT_NE(svirt.error().message().find(
                "selinux: enforce: SELinux is not enabled on this host (no policy loaded); "
                "refusing to launch"),
            std::string::npos)
      << svirt.error().message();
  EXPECT_FALSE(std::filesystem::exists(tmp.path() / "mcs")) << "refusal must reserve nothing";
}

TEST(VmSvirt, AutoWarnsLoudlyLabelsAndRestores) {
  if (selinux_is_on_here()) GTEST_SKIP() << "SELinux is on here";
  auto tmp = make_labelable_temp_dir();
  if (!tmp) GTEST_SKIP() << "no filesystem here accepts security.selinux xattrs";
  const auto jail = tmp->path() / "jail";
  const auto disk = jail / "disk.img";
  const auto kernel = tmp->path() / "vmlinux";
  std::filesystem::create_directory(jail);
  std::ofstream(disk) << "disk";
  std::ofstream(kernel) << "kernel";
  {
    testing::internal::CaptureStderr();
    auto svirt = VmSvirt::prepare(config_in(*tmp, SelinuxMode::kAuto), "vm-a");
    const std::string err = testing::internal::GetCapturedStderr();
    ASSERT_TRUE(svirt.ok()) << svirt.error().message();
    EXPECT_NE(err.find("warning: selinux: auto: SELinux is NOT enabled on this host: the VM runs "
                       "WITHOUT sVirt confinement"),
              std::string::npos)
        << err;
    EXPECT_FALSE(svirt->plan().set_exec_context);
    ASSERT_TRUE(svirt->pair().has_value());
    const McsPair pair = *svirt->pair();
    EXPECT_LT(pair.low, pair.high);
    EXPECT_EQ(*svirt->monitor_exec_context(),
              "system_u:system_r:bulwark_vm_t:s0:" + pair.categories());
    EXPECT_EQ(*svirt->exec_context("bulwark_blk_t"),
              "system_u:system_r:bulwark_blk_t:s0:" + pair.categories());
    // Without SELinux the child must not call setexeccon (it would fail): nothing happens.
    EXPECT_TRUE(svirt->enter_exec_context(*svirt->monitor_exec_context()).ok());

    EXPECT_EQ(*svirt->label_writable(open_fd(jail).get(), "jail"), LabelOutcome::kLabelled);
    EXPECT_EQ(*svirt->label_writable(open_fd(disk).get(), "disk"), LabelOutcome::kLabelled);
    EXPECT_EQ(*svirt->label_read_only(open_fd(kernel).get(), "kernel"), LabelOutcome::kLabelled);
    const std::string image = "system_u:object_r:bulwark_image_t:s0:" + pair.categories();
    EXPECT_EQ(*read_selinux_xattr(jail), image + '\0');
    EXPECT_EQ(*read_selinux_xattr(disk), image + '\0');
    EXPECT_EQ(*read_selinux_xattr(kernel), std::string("system_u:object_r:bulwark_content_t:s0\0", 39));
  }
  EXPECT_FALSE(read_selinux_xattr(jail)->has_value());
  EXPECT_FALSE(read_selinux_xattr(disk)->has_value());
  EXPECT_FALSE(read_selinux_xattr(kernel)->has_value());
  EXPECT_TRUE(std::filesystem::is_empty(tmp->path() / "mcs")) << "pair not released";
}

// A monitor's jail as step label sees it: vm.json is jail-typed (the monitor may read it), the
// directories image-typed, and every original label comes back at teardown.
TEST(VmSvirt, LabelJailGivesVmJsonTheJailTypeAndRestores) {
  auto tmp = make_labelable_temp_dir();
  if (!tmp) GTEST_SKIP() << "no filesystem here accepts security.selinux xattrs";
  const auto instance = tmp->path() / "vm-a";
  const auto root = instance / "root";
  std::filesystem::create_directories(root);
  std::ofstream(root / "vm.json") << "{}";
  static const char kOriginal[] = "system_u:object_r:tmp_t:s0";
  ASSERT_EQ(::lsetxattr((root / "vm.json").c_str(), "security.selinux", kOriginal,
                        sizeof kOriginal, 0),
            0);
  const std::vector<std::string> files = {"/vm.json"};
  {
    auto svirt = VmSvirt::prepare(config_in(*tmp, SelinuxMode::kAuto), "vm-a", false);
    ASSERT_TRUE(svirt.ok()) << svirt.error().message();
    const std::string level = "s0:" + svirt->pair()->categories();
    Status labelled = svirt->label_jail(instance, root, files);
    ASSERT_TRUE(labelled.ok()) << labelled.error().message();
    EXPECT_EQ(*read_selinux_xattr(root / "vm.json"),
              "system_u:object_r:bulwark_jail_t:" + level + '\0');
    EXPECT_EQ(*read_selinux_xattr(root), "system_u:object_r:bulwark_image_t:" + level + '\0');
    EXPECT_EQ(*read_selinux_xattr(instance), "system_u:object_r:bulwark_image_t:" + level + '\0');
    // A jail path that would leave the root labels nothing.
    const std::vector<std::string> escaping = {"/../../outside"};
    EXPECT_FALSE(svirt->label_jail(instance, root, escaping).ok());
  }
  EXPECT_EQ(*read_selinux_xattr(root / "vm.json"), std::string(kOriginal, sizeof kOriginal));
  EXPECT_FALSE(read_selinux_xattr(root)->has_value());
  EXPECT_FALSE(read_selinux_xattr(instance)->has_value());
}

// The monitor<->device sockets get the monitor's context only where SELinux can set it.
TEST(VmSvirt, SocketContextIsTheMonitorsOnlyWithSelinux) {
  TempDir tmp;
  ASSERT_TRUE(tmp.ok());
  auto config = config_in(tmp, SelinuxMode::kEnforce);
  config.types.vm_domain = "tenant_vm_t";
  auto with = VmSvirt::prepare(config, "vm-a", true);
  ASSERT_TRUE(with.ok()) << with.error().message();
  EXPECT_EQ(with->socket_context(),
            "system_u:system_r:tenant_vm_t:s0:" + with->pair()->categories());
  EXPECT_EQ(with->socket_context(), *with->monitor_exec_context());

  auto without = VmSvirt::prepare(config_in(tmp, SelinuxMode::kAuto), "vm-b", false);
  ASSERT_TRUE(without.ok());
  ASSERT_TRUE(without->pair().has_value());
  EXPECT_EQ(without->socket_context(), "");
  auto off = VmSvirt::prepare(config_in(tmp, SelinuxMode::kOff), "vm-c", true);
  ASSERT_TRUE(off.ok());
  EXPECT_EQ(off->socket_context(), "");
}

TEST(VmSvirt, OffReservesAndLabelsNothing) {
  TempDir tmp;
  ASSERT_TRUE(tmp.ok());
  const auto file = tmp.path() / "disk.img";
  std::ofstream(file) << "disk";
  auto svirt = VmSvirt::prepare(config_in(tmp, SelinuxMode::kOff), "vm-a");
  ASSERT_TRUE(svirt.ok());
  EXPECT_FALSE(svirt->pair().has_value());
  EXPECT_EQ(*svirt->monitor_exec_context(), "");
  EXPECT_EQ(*svirt->label_writable(open_fd(file).get(), "disk"), LabelOutcome::kNotRequested);
  EXPECT_EQ(*svirt->label_read_only(open_fd(file).get(), "disk"), LabelOutcome::kNotRequested);
  EXPECT_TRUE(svirt->label_jail(tmp.path(), tmp.path(), {}).ok());
  EXPECT_FALSE(read_selinux_xattr(tmp.path())->has_value());
  EXPECT_FALSE(read_selinux_xattr(file)->has_value());
  EXPECT_FALSE(std::filesystem::exists(tmp.path() / "mcs"));
}

TEST(VmSvirt, TwoVmsGetDifferentPairs) {
  TempDir tmp;
  ASSERT_TRUE(tmp.ok());
  auto a = VmSvirt::prepare(config_in(tmp, SelinuxMode::kAuto), "vm-a", false);
  auto b = VmSvirt::prepare(config_in(tmp, SelinuxMode::kAuto), "vm-b", false);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(*a->pair(), *b->pair());
}

TEST(VmSvirt, RefusesBadTypeNamesAndDomains) {
  TempDir tmp;
  ASSERT_TRUE(tmp.ok());
  auto config = config_in(tmp, SelinuxMode::kAuto);
  config.types.content_type = "a:b";
  EXPECT_FALSE(VmSvirt::prepare(config, "vm-a", false).ok());
  auto svirt = VmSvirt::prepare(config_in(tmp, SelinuxMode::kAuto), "vm-a", false);
  ASSERT_TRUE(svirt.ok());
  EXPECT_FALSE(svirt->exec_context("blk:s0").ok());
}

}  // namespace
}  // namespace bulwark::jailer
