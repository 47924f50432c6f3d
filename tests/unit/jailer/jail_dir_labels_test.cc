// The jail's files are labelled at creation (jail_dir.h, policy/selinux/LABELS.md): every
// directory, mount point, symlink and file the launcher makes below <base> carries the VM's jail
// context -- the intermediate directories (/usr, /vm) and the /lib symlinks included, which issue
// 10 found left at s0 where no VM domain may search or read them -- and <base> keeps its own.
// Without SELinux the label is written straight after creation (what is checked here, on real
// xattrs); with it, setfscreatecon is set around each creation (here it fails, and says so).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <optional>
#include <string>

#include "jailer/jail_dir.h"
#include "tests/unit/svirt/labelable_dir.h"

namespace bulwark::jail {
namespace {

namespace fs = std::filesystem;

const std::string kJail = "system_u:object_r:bulwark_jail_t:s0:c5,c9";

std::optional<std::string> label_of(const fs::path& path) {
  char buf[256];
  const ssize_t n = ::lgetxattr(path.c_str(), "security.selinux", buf, sizeof buf);
  if (n < 0) return std::nullopt;
  return std::string(buf, static_cast<size_t>(n));
}

class JailDirLabelsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root (chown of the jail root)";
    tmp_ = testing_support::make_labelable_temp_dir();
    if (!tmp_) GTEST_SKIP() << "no filesystem here accepts security.selinux xattrs";
    kernel_ = tmp_->path() / "vmlinux";
    std::ofstream(kernel_) << "kernel";
    kernel_fd_.reset(::open(kernel_.c_str(), O_RDONLY | O_CLOEXEC));
    fs::create_directories(tmp_->path() / "hostlib");
    // What the monitor's jail looks like (monitor_spec.cc): binary, libraries, tenant inputs
    // under /vm, the loader's symlinks, /dev, vm.json.
    spec_.vm_id = "vm-1";
    spec_.uid = 41234;
    spec_.gid = 41234;
    spec_.base_dir = (tmp_->path() / "srv").string();
    spec_.inputs = {
        {kernel_.string(), "/vm/kernel", true, false, kernel_fd_.get()},
        {(tmp_->path() / "hostlib").string(), "/usr/lib/x86_64-linux-gnu", false, false, -1},
        {kernel_.string(), "/usr/libexec/bulwark/bulwark-monitor", false, true, -1},
    };
    spec_.symlinks = {{"/lib", "usr/lib"}, {"/lib64", "usr/lib64"}};
    spec_.devices = {{"/dev/null", "/dev/null", 0600}};
    spec_.files = {{"/vm.json", "{}"}, {"/etc/bulwark/extra.conf", "x"}};
  }
  Status make_jail() {
    BULWARK_TRY(create_jail_dir(spec_));
    return populate_jail_dir(spec_);
  }

  std::unique_ptr<testing_support::TempDir> tmp_;
  fs::path kernel_;
  UniqueFd kernel_fd_;
  JailSpec spec_;
};

TEST_F(JailDirLabelsTest, EverythingCreatedCarriesTheJailContextAndTheBaseKeepsItsOwn) {
  spec_.create_label = {kJail, false};
  Status made = make_jail();
  ASSERT_TRUE(made.ok()) << made.error().message();
  const fs::path instance = jail_instance_dir(spec_);
  size_t checked = 0;
  EXPECT_EQ(label_of(instance), kJail + '\0');
  for (const auto& entry : fs::recursive_directory_iterator(instance)) {
    EXPECT_EQ(label_of(entry.path()), kJail + '\0') << entry.path();
    ++checked;
  }
  // root, vm, vm/kernel, usr, usr/lib, usr/lib/x86_64-linux-gnu, usr/libexec, usr/libexec/bulwark,
  // usr/libexec/bulwark/bulwark-monitor, dev, lib, lib64, vm.json, etc, etc/bulwark,
  // etc/bulwark/extra.conf
  EXPECT_EQ(checked, 16u);
  EXPECT_TRUE(fs::is_symlink(fs::path(jail_root_dir(spec_)) / "lib"));
  EXPECT_FALSE(label_of(spec_.base_dir).has_value()) << "the operator's base dir was relabelled";
  EXPECT_FALSE(label_of(kernel_).has_value()) << "a bound input's host file was relabelled";
}

TEST_F(JailDirLabelsTest, SelinuxOffLabelsNothing) {
  Status made = make_jail();
  ASSERT_TRUE(made.ok()) << made.error().message();
  for (const auto& entry : fs::recursive_directory_iterator(jail_instance_dir(spec_)))
    EXPECT_FALSE(label_of(entry.path()).has_value()) << entry.path();
}

// With SELinux enabled the label comes from setfscreatecon around each creation; this host has
// no SELinux, so that fails -- before the first thing below <base> is made -- and says why.
TEST_F(JailDirLabelsTest, AtCreationUsesTheFileCreateContext) {
  if (fs::exists("/sys/fs/selinux/enforce")) GTEST_SKIP() << "SELinux is on here";
  spec_.create_label = {kJail, true};
  Status made = create_jail_dir(spec_);
  ASSERT_FALSE(made.ok());
  EXPECT_NE(made.error().message().find("setfscreatecon " + kJail), std::string::npos)
      << made.error().message();
  EXPECT_FALSE(fs::exists(jail_instance_dir(spec_)));
}

}  // namespace
}  // namespace bulwark::jail
