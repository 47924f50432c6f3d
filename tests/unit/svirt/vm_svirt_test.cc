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
  const auto disk = tmp->path() / "disk.img";
  const auto ro_disk = tmp->path() / "ro.img";
  const auto kernel = tmp->path() / "vmlinux";
  std::ofstream(disk) << "disk";
  std::ofstream(ro_disk) << "ro";
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
    // No SELinux to label at creation: the jail's files are labelled straight after.
    EXPECT_EQ(svirt->jail_create_label(),
              (JailCreateLabel{"system_u:object_r:bulwark_jail_t:s0:" + pair.categories(), false}));

    EXPECT_EQ(*svirt->label_disk(open_fd(disk).get(), "disk", false), LabelOutcome::kLabelled);
    EXPECT_EQ(*svirt->label_disk(open_fd(ro_disk).get(), "ro", true), LabelOutcome::kLabelled);
    EXPECT_EQ(*svirt->label_boot_input(open_fd(kernel).get(), "kernel"), LabelOutcome::kLabelled);
    EXPECT_EQ(*read_selinux_xattr(disk),
              "system_u:object_r:bulwark_image_t:s0:" + pair.categories() + '\0');
    // A read-only disk not in the operator's shared_image_dirs is this VM's alone: its pair.
    EXPECT_EQ(*read_selinux_xattr(ro_disk),
              "system_u:object_r:bulwark_content_t:s0:" + pair.categories() + '\0');
    EXPECT_EQ(*read_selinux_xattr(kernel), std::string("system_u:object_r:bulwark_content_t:s0\0", 39));
  }
  EXPECT_FALSE(read_selinux_xattr(disk)->has_value());
  EXPECT_FALSE(read_selinux_xattr(ro_disk)->has_value());
  EXPECT_FALSE(read_selinux_xattr(kernel)->has_value());
  EXPECT_TRUE(std::filesystem::is_empty(tmp->path() / "mcs")) << "pair not released";
}

// A read-only disk is shared (plain s0) only by the path its fd resolves to, below one of the
// operator's shared_image_dirs: a symlink to it from elsewhere still resolves there, a hard link
// elsewhere does not, and a look-alike prefix (/shared-evil for /shared) is not below it.
TEST(VmSvirt, ReadOnlyDiskIsSharedOnlyBelowTheOperatorsSharedDirs) {
  auto tmp = make_labelable_temp_dir();
  if (!tmp) GTEST_SKIP() << "no filesystem here accepts security.selinux xattrs";
  const auto shared = tmp->path() / "shared";
  const auto evil = tmp->path() / "shared-evil";
  std::filesystem::create_directories(shared);
  std::filesystem::create_directories(evil);
  std::ofstream(shared / "base.img") << "base";
  std::ofstream(evil / "mine.img") << "mine";
  std::filesystem::create_symlink(shared / "base.img", tmp->path() / "via-link.img");
  std::filesystem::create_hard_link(shared / "base.img", evil / "hard.img");
  auto config = config_in(*tmp, SelinuxMode::kAuto);
  config.shared_image_dirs = {shared.string()};
  auto svirt = VmSvirt::prepare(config, "vm-a", false);
  ASSERT_TRUE(svirt.ok()) << svirt.error().message();
  const std::string pair_level = "s0:" + svirt->pair()->categories();
  const std::string shared_label = std::string("system_u:object_r:bulwark_content_t:s0\0", 39);

  EXPECT_EQ(*svirt->label_disk(open_fd(tmp->path() / "via-link.img").get(), "link", true),
            LabelOutcome::kLabelled);
  EXPECT_EQ(*read_selinux_xattr(shared / "base.img"), shared_label);
  EXPECT_EQ(*svirt->label_disk(open_fd(evil / "mine.img").get(), "mine", true),
            LabelOutcome::kLabelled);
  EXPECT_EQ(*read_selinux_xattr(evil / "mine.img"),
            "system_u:object_r:bulwark_content_t:" + pair_level + '\0');
  // The same inode through a name outside the shared dir: asks for the pair, and this VM already
  // holds it shared -- refused, not relabelled.
  auto hard = svirt->label_disk(open_fd(evil / "hard.img").get(), "hard", true);
  ASSERT_FALSE(hard.ok());
  EXPECT_EQ(*read_selinux_xattr(shared / "base.img"), shared_label);
  // Writable is never shared, wherever it is.
  std::ofstream(shared / "rw.img") << "rw";
  EXPECT_EQ(*svirt->label_disk(open_fd(shared / "rw.img").get(), "rw", false), LabelOutcome::kLabelled);
  EXPECT_EQ(*read_selinux_xattr(shared / "rw.img"),
            "system_u:object_r:bulwark_image_t:" + pair_level + '\0');
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
  EXPECT_EQ(*svirt->label_disk(open_fd(file).get(), "disk", false), LabelOutcome::kNotRequested);
  EXPECT_EQ(*svirt->label_disk(open_fd(file).get(), "disk", true), LabelOutcome::kNotRequested);
  EXPECT_EQ(*svirt->label_boot_input(open_fd(file).get(), "disk"), LabelOutcome::kNotRequested);
  EXPECT_EQ(svirt->jail_create_label(), JailCreateLabel{});
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
