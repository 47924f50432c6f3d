// The security.selinux layer (file_labels.h) on real xattrs, and label memory's handling of its
// failures through a fake of it: a failed relabel leaves neither a label nor a record behind, and
// a filesystem without xattrs is reported, not failed.
#include "jailer/svirt/file_labels.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <fstream>
#include <map>
#include <utility>

#include "bulwark/common/unique_fd.h"
#include "jailer/svirt/label_memory.h"
#include "tests/unit/svirt/labelable_dir.h"

namespace bulwark::jailer {
namespace {

using testing_support::make_labelable_temp_dir;
using testing_support::TempDir;

const std::string kImage = "system_u:object_r:bulwark_image_t:s0:c1,c2";
const std::string kImageStored = kImage + '\0';

UniqueFd open_fd(const std::filesystem::path& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  EXPECT_TRUE(fd.valid()) << path;
  return fd;
}

// An xattr layer that keeps labels in memory, keyed by the inode the fd is open on.
class FakeXattrs final : public FdXattrs {
 public:
  using Inode = std::pair<dev_t, ino_t>;
  static Inode inode_of(int fd) {
    struct stat st{};
    EXPECT_EQ(::fstat(fd, &st), 0);
    return {st.st_dev, st.st_ino};
  }
  int get(int fd, std::optional<std::string>& value) override {
    if (get_error) return get_error;
    auto it = labels.find(inode_of(fd));
    value = it == labels.end() ? std::nullopt : std::optional<std::string>(it->second);
    return 0;
  }
  int set(int fd, const std::string& value) override {
    if (set_error) return set_error;
    labels[inode_of(fd)] = value;
    return 0;
  }
  int remove(int fd) override {
    labels.erase(inode_of(fd));
    return 0;
  }
  std::map<Inode, std::string> labels;
  int get_error = 0, set_error = 0;
};

bool trusted_xattrs_work(const std::filesystem::path& file) {
  if (::lsetxattr(file.c_str(), kLabelRecordXattr, "x", 1, 0) != 0) return false;
  ::lremovexattr(file.c_str(), kLabelRecordXattr);
  return true;
}

TEST(FdXattrs, SetGetAndRemoveGoThroughTheFd) {
  auto dir = make_labelable_temp_dir();
  if (!dir) GTEST_SKIP() << "no filesystem here accepts security.selinux xattrs";
  const auto file = dir->path() / "disk.img";
  std::ofstream(file) << "data";
  UniqueFd fd = open_fd(file);
  FdXattrs& xattrs = system_fd_xattrs();
  std::optional<std::string> value;
  ASSERT_EQ(xattrs.get(fd.get(), value), 0);
  EXPECT_FALSE(value.has_value());
  ASSERT_EQ(xattrs.set(fd.get(), kImageStored), 0);
  EXPECT_EQ(*read_selinux_xattr(file), kImageStored);
  EXPECT_EQ(*read_selinux_xattr(fd.get()), kImageStored);
  ASSERT_EQ(xattrs.remove(fd.get()), 0);
  EXPECT_EQ(xattrs.remove(fd.get()), 0) << "removing what is not there is not an error";
  EXPECT_FALSE(read_selinux_xattr(file)->has_value());
}

TEST(FdXattrs, InspectionByPathDoesNotFollowASymlink) {
  auto dir = make_labelable_temp_dir();
  if (!dir) GTEST_SKIP() << "no filesystem here accepts security.selinux xattrs";
  const auto file = dir->path() / "target";
  std::ofstream(file) << "data";
  ASSERT_EQ(system_fd_xattrs().set(open_fd(file).get(), kImageStored), 0);
  std::filesystem::create_symlink(file, dir->path() / "link");
  auto through_link = read_selinux_xattr(dir->path() / "link");
  ASSERT_TRUE(through_link.ok());
  EXPECT_NE(*through_link, std::optional<std::string>(kImageStored));
}

// A relabel the filesystem refuses half-way leaves no record claiming a label it does not carry.
TEST(LabelMemoryFailures, AFailedRelabelLeavesNoRecordAndHoldsNothing) {
  auto dir = make_labelable_temp_dir();
  if (!dir) GTEST_SKIP() << "no filesystem here accepts security.selinux xattrs";
  const auto file = dir->path() / "disk.img";
  std::ofstream(file) << "data";
  if (!trusted_xattrs_work(file)) GTEST_SKIP() << "trusted.* xattrs need root";
  FakeXattrs xattrs;
  xattrs.set_error = EACCES;
  LabelMemory memory(dir->path() / "run", "vm-a", xattrs);
  auto outcome = memory.acquire(open_fd(file).get(), "disk.img", kImage, LabelAccess::kReadWrite);
  ASSERT_FALSE(outcome.ok());
  EXPECT_NE(outcome.error().message().find("set security.selinux of disk.img to " + kImage),
            std::string::npos)
      << outcome.error().message();
  char buf[16];
  EXPECT_LT(::lgetxattr(file.c_str(), kLabelRecordXattr, buf, sizeof buf), 0) << "record left behind";
  EXPECT_EQ(memory.file_count(), 0u);
  EXPECT_TRUE(xattrs.labels.empty());
}

TEST(LabelMemoryFailures, AFilesystemWithoutXattrsIsReportedAndNothingIsKept) {
  auto dir = make_labelable_temp_dir();
  if (!dir) GTEST_SKIP() << "no filesystem here accepts security.selinux xattrs";
  const auto file = dir->path() / "disk.img";
  std::ofstream(file) << "data";
  FakeXattrs xattrs;
  xattrs.get_error = EOPNOTSUPP;
  LabelMemory memory(dir->path() / "run", "vm-a", xattrs);
  auto outcome = memory.acquire(open_fd(file).get(), "disk.img", kImage, LabelAccess::kReadWrite);
  ASSERT_TRUE(outcome.ok()) << outcome.error().message();
  EXPECT_EQ(*outcome, LabelOutcome::kFilesystemRefused);
  EXPECT_EQ(memory.file_count(), 0u);
  char buf[16];
  EXPECT_LT(::lgetxattr(file.c_str(), kLabelRecordXattr, buf, sizeof buf), 0);
}

TEST(LabelMemoryFailures, AnEmptyOrMalformedContextIsRefusedBeforeAnythingChanges) {
  TempDir tmp;
  ASSERT_TRUE(tmp.ok());
  const auto file = tmp.path() / "disk.img";
  std::ofstream(file) << "data";
  FakeXattrs xattrs;
  LabelMemory memory(tmp.path() / "run", "vm-a", xattrs);
  for (const std::string& bad : {std::string(), std::string("a b"), std::string("x\0y", 3)}) {
    EXPECT_FALSE(memory.acquire(open_fd(file).get(), "disk", bad, LabelAccess::kReadWrite).ok());
  }
  EXPECT_FALSE(memory.acquire(-1, "disk", kImage, LabelAccess::kReadWrite).ok());
  EXPECT_TRUE(xattrs.labels.empty());
  EXPECT_FALSE(std::filesystem::exists(tmp.path() / "run")) << "took the lock for nothing";
}

TEST(LabelMemoryFailures, AFileRemovedBeforeTheEndIsRestoredWithoutError) {
  auto dir = make_labelable_temp_dir();
  if (!dir) GTEST_SKIP() << "no filesystem here accepts security.selinux xattrs";
  const auto file = dir->path() / "scratch";
  std::ofstream(file) << "data";
  if (!trusted_xattrs_work(file)) GTEST_SKIP() << "trusted.* xattrs need root";
  LabelMemory memory(dir->path() / "run", "vm-a");
  ASSERT_TRUE(memory.acquire(open_fd(file).get(), "scratch", kImage, LabelAccess::kReadWrite).ok());
  std::filesystem::remove(file);
  EXPECT_TRUE(memory.release_all().ok());
}

}  // namespace
}  // namespace bulwark::jailer
