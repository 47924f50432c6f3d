#include "jailer/svirt/file_labels.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/xattr.h>

#include <fstream>
#include <map>
#include <utility>

#include "tests/unit/svirt/labelable_dir.h"

namespace bulwark::jailer {
namespace {

using testing_support::make_labelable_temp_dir;
using testing_support::TempDir;

// An xattr layer that keeps labels in memory, keyed by the inode the fd is open on: what
// FileLabels sets and restores lands on that inode whatever its name is now.
class FakeXattrs final : public FdXattrs {
 public:
  using Inode = std::pair<dev_t, ino_t>;
  static Inode inode_of(int fd) {
    struct stat st{};
    EXPECT_EQ(::fstat(fd, &st), 0);
    return {st.st_dev, st.st_ino};
  }
  static Inode inode_of(const std::filesystem::path& path) {
    struct stat st{};
    EXPECT_EQ(::lstat(path.c_str(), &st), 0) << path;
    return {st.st_dev, st.st_ino};
  }
  int get(int fd, std::optional<std::string>& value) override {
    ++gets;
    if (get_error) return get_error;
    auto it = labels.find(inode_of(fd));
    value = it == labels.end() ? std::nullopt : std::optional<std::string>(it->second);
    return 0;
  }
  int set(int fd, const std::string& value) override {
    ++sets;
    if (set_error && sets == failing_set) return set_error;
    labels[inode_of(fd)] = value;
    return 0;
  }
  int remove(int fd) override {
    ++removes;
    labels.erase(inode_of(fd));
    return 0;
  }
  std::map<Inode, std::string> labels;
  int gets = 0, sets = 0, removes = 0;
  int get_error = 0, set_error = 0, failing_set = 0;  // which set() call fails, 1-based
};

const std::string kImage = "system_u:object_r:bulwark_image_t:s0:c1,c2";
const std::string kImageStored = kImage + '\0';

UniqueFd open_fd(const std::filesystem::path& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  EXPECT_TRUE(fd.valid()) << path;
  return fd;
}

TEST(FileLabelsFake, SetsOnTheFdsInodeAndRemovesAtRestoreWhenThereWasNone) {
  TempDir tmp;
  ASSERT_TRUE(tmp.ok());
  const auto file = tmp.path() / "disk.img";
  std::ofstream(file) << "data";
  FakeXattrs xattrs;
  FileLabels labels(xattrs);
  {
    UniqueFd fd = open_fd(file);
    auto outcome = labels.apply(fd.get(), "disk.img", kImage);
    ASSERT_TRUE(outcome.ok()) << outcome.error().message();
    EXPECT_EQ(*outcome, LabelOutcome::kLabelled);
  }  // the caller's fd is gone; FileLabels kept its own dup
  EXPECT_EQ(xattrs.labels[FakeXattrs::inode_of(file)], kImageStored);
  ASSERT_TRUE(labels.restore().ok());
  EXPECT_EQ(xattrs.labels.count(FakeXattrs::inode_of(file)), 0u);
  EXPECT_EQ(xattrs.removes, 1);
  EXPECT_EQ(labels.labelled_count(), 0u);
}

// Case 5 of issue 9: a tenant who renames along the path after the label must not redirect the
// restore (or a relabel) to another file. Set and restore follow the fd, not the name.
TEST(FileLabelsFake, RestoreReachesTheLabelledFileAfterItsPathWasSwapped) {
  TempDir tmp;
  ASSERT_TRUE(tmp.ok());
  const auto path = tmp.path() / "disk.img";
  const auto moved = tmp.path() / "moved.img";
  std::ofstream(path) << "tenant image";
  FakeXattrs xattrs;
  const auto tenant_inode = FakeXattrs::inode_of(path);
  xattrs.labels[tenant_inode] = "unconfined_u:object_r:user_home_t:s0";
  FileLabels labels(xattrs);
  ASSERT_TRUE(labels.apply(open_fd(path).get(), "disk.img", kImage).ok());
  // The swap: the labelled file moves away and a victim takes its name.
  std::filesystem::rename(path, moved);
  std::ofstream(path) << "victim";
  const auto victim_inode = FakeXattrs::inode_of(path);
  xattrs.labels[victim_inode] = "system_u:object_r:shadow_t:s0";
  ASSERT_TRUE(labels.restore().ok());
  EXPECT_EQ(xattrs.labels[tenant_inode], "unconfined_u:object_r:user_home_t:s0");
  EXPECT_EQ(xattrs.labels[victim_inode], "system_u:object_r:shadow_t:s0") << "victim relabelled";
}

TEST(FileLabelsFake, TheFirstOriginalIsTheOneRestoredForAnInodeOpenedTwice) {
  TempDir tmp;
  ASSERT_TRUE(tmp.ok());
  const auto file = tmp.path() / "kernel";
  std::ofstream(file) << "data";
  FakeXattrs xattrs;
  xattrs.labels[FakeXattrs::inode_of(file)] = "before";
  FileLabels labels(xattrs);
  ASSERT_TRUE(labels.apply(open_fd(file).get(), "kernel", "first_t").ok());
  // Another fd (another open) of the same inode: still one original, the first.
  ASSERT_TRUE(labels.apply(open_fd(file).get(), "kernel", "second_t").ok());
  EXPECT_EQ(labels.labelled_count(), 1u);
  EXPECT_EQ(xattrs.gets, 1);
  EXPECT_EQ(xattrs.labels[FakeXattrs::inode_of(file)], std::string("second_t\0", 9));
  ASSERT_TRUE(labels.restore().ok());
  EXPECT_EQ(xattrs.labels[FakeXattrs::inode_of(file)], "before");
}

TEST(FileLabelsFake, RestoreGoesOnPastAFailureAndReportsTheFirst) {
  TempDir tmp;
  ASSERT_TRUE(tmp.ok());
  const auto a = tmp.path() / "a", b = tmp.path() / "b";
  std::ofstream(a) << "a";
  std::ofstream(b) << "b";
  FakeXattrs xattrs;
  xattrs.labels[FakeXattrs::inode_of(a)] = "a_t";
  xattrs.labels[FakeXattrs::inode_of(b)] = "b_t";
  FileLabels labels(xattrs);
  ASSERT_TRUE(labels.apply(open_fd(a).get(), "\"a\"", kImage).ok());
  ASSERT_TRUE(labels.apply(open_fd(b).get(), "\"b\"", kImage).ok());
  // Restores run in reverse (b, then a); b's fails, a's must still happen.
  xattrs.set_error = EIO;
  xattrs.failing_set = xattrs.sets + 1;
  Status restored = labels.restore();
  ASSERT_FALSE(restored.ok());
  EXPECT_NE(restored.error().message().find("restore security.selinux of \"b\""), std::string::npos)
      << restored.error().message();
  EXPECT_EQ(xattrs.labels[FakeXattrs::inode_of(a)], "a_t") << "a's restore was skipped";
  EXPECT_EQ(labels.labelled_count(), 0u);
}

TEST(FileLabelsFake, AFilesystemWithoutXattrsIsReportedAndNothingIsKept) {
  TempDir tmp;
  ASSERT_TRUE(tmp.ok());
  const auto file = tmp.path() / "f";
  std::ofstream(file) << "x";
  FakeXattrs xattrs;
  xattrs.get_error = EOPNOTSUPP;
  FileLabels labels(xattrs);
  auto outcome = labels.apply(open_fd(file).get(), "f", kImage);
  ASSERT_TRUE(outcome.ok());
  EXPECT_EQ(*outcome, LabelOutcome::kFilesystemRefused);
  EXPECT_EQ(labels.labelled_count(), 0u);
  EXPECT_EQ(xattrs.sets, 0);
}

TEST(FileLabelsFake, ACreatedPathThatIsASymlinkIsRefusedAndItsTargetUntouched) {
  TempDir tmp;
  ASSERT_TRUE(tmp.ok());
  const auto target = tmp.path() / "target";
  const auto link = tmp.path() / "link";
  std::ofstream(target) << "data";
  std::filesystem::create_symlink(target, link);
  FakeXattrs xattrs;
  FileLabels labels(xattrs);
  auto on_link = labels.apply_created(link, kImage);
  ASSERT_FALSE(on_link.ok());
  EXPECT_NE(on_link.error().message().find(link.string()), std::string::npos);
  EXPECT_TRUE(xattrs.labels.empty());
  // A directory the launcher made is labelled (opened O_RDONLY, not O_PATH).
  auto on_dir = labels.apply_created(tmp.path(), kImage);
  ASSERT_TRUE(on_dir.ok()) << on_dir.error().message();
  EXPECT_EQ(xattrs.labels[FakeXattrs::inode_of(tmp.path())], kImageStored);
}

TEST(FileLabelsFake, RefusesAnEmptyContextAndABadFd) {
  FakeXattrs xattrs;
  FileLabels labels(xattrs);
  EXPECT_FALSE(labels.apply(0, "stdin", "").ok());
  auto bad = labels.apply(-1, "\"/no/fd\"", kImage);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message().find("\"/no/fd\""), std::string::npos);
  EXPECT_EQ(labels.labelled_count(), 0u);
}

// The same through the kernel's xattrs, where a filesystem here stores security.selinux.
std::optional<std::string> label_of(const std::filesystem::path& path) {
  auto value = read_selinux_xattr(path);
  EXPECT_TRUE(value.ok()) << value.error().message();
  return value.ok() ? *value : std::nullopt;
}

void set_raw(const std::filesystem::path& path, const std::string& value) {
  ASSERT_EQ(::lsetxattr(path.c_str(), "security.selinux", value.data(), value.size(), 0), 0);
}

TEST(FileLabels, WritesTheNulTerminatedContextAndRemovesItWhenThereWasNone) {
  auto dir = make_labelable_temp_dir();
  if (!dir) GTEST_SKIP() << "no filesystem here accepts security.selinux xattrs";
  const auto file = dir->path() / "disk.img";
  std::ofstream(file) << "data";
  ASSERT_FALSE(label_of(file).has_value());
  {
    FileLabels labels;
    auto outcome = labels.apply(open_fd(file).get(), "disk.img", kImage);
    ASSERT_TRUE(outcome.ok()) << outcome.error().message();
    EXPECT_EQ(*outcome, LabelOutcome::kLabelled);
    EXPECT_EQ(label_of(file), kImageStored);
    auto by_fd = read_selinux_xattr(open_fd(file).get());
    ASSERT_TRUE(by_fd.ok());
    EXPECT_EQ(*by_fd, kImageStored);
  }
  EXPECT_FALSE(label_of(file).has_value());
}

TEST(FileLabels, RestoresThePreviousLabelExactlyEvenAfterARename) {
  auto dir = make_labelable_temp_dir();
  if (!dir) GTEST_SKIP() << "no filesystem here accepts security.selinux xattrs";
  const auto file = dir->path() / "kernel";
  const auto moved = dir->path() / "moved";
  std::ofstream(file) << "data";
  const std::string before("unconfined_u:object_r:user_home_t:s0\0", 38);
  set_raw(file, before);
  FileLabels labels;
  ASSERT_TRUE(labels.apply(open_fd(file).get(), "kernel", "system_u:object_r:bulwark_content_t:s0").ok());
  std::filesystem::rename(file, moved);
  std::ofstream(file) << "victim";
  ASSERT_TRUE(labels.restore().ok());
  EXPECT_EQ(label_of(moved), before);
  EXPECT_FALSE(label_of(file).has_value()) << "the restore went by name";
}

TEST(FileLabels, AFileRemovedBeforeTeardownIsNotAnError) {
  auto dir = make_labelable_temp_dir();
  if (!dir) GTEST_SKIP() << "no filesystem here accepts security.selinux xattrs";
  const auto file = dir->path() / "scratch";
  std::ofstream(file) << "data";
  FileLabels labels;
  ASSERT_TRUE(labels.apply(open_fd(file).get(), "scratch", kImage).ok());
  std::filesystem::remove(file);
  EXPECT_TRUE(labels.restore().ok());
}

TEST(FileLabels, AMissingCreatedPathIsRefusedByName) {
  FileLabels labels;
  auto missing = labels.apply_created("/nonexistent/bulwark/file", "system_u:object_r:x_t:s0");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message().find("/nonexistent/bulwark/file"), std::string::npos);
  EXPECT_EQ(labels.labelled_count(), 0u);
}

TEST(FileLabels, AFilesystemWithoutSecurityXattrsIsReportedNotFailed) {
  // procfs takes no security.selinux labels when no LSM provides them.
  FileLabels labels;
  auto outcome = labels.apply_created("/proc/self/status", kImage);
  if (!outcome.ok()) GTEST_SKIP() << "procfs here fails differently: " << outcome.error().message();
  EXPECT_EQ(*outcome, LabelOutcome::kFilesystemRefused);
  EXPECT_EQ(labels.labelled_count(), 0u);
}

}  // namespace
}  // namespace bulwark::jailer
