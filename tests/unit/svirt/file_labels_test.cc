#include "jailer/svirt/file_labels.h"

#include <gtest/gtest.h>
#include <sys/xattr.h>

#include <fstream>

#include "tests/unit/svirt/labelable_dir.h"

namespace bulwark::jailer {
namespace {

using testing_support::make_labelable_temp_dir;

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
    auto outcome = labels.apply(file, "system_u:object_r:bulwark_image_t:s0:c1,c2");
    ASSERT_TRUE(outcome.ok()) << outcome.error().message();
    EXPECT_EQ(*outcome, LabelOutcome::kLabelled);
    EXPECT_EQ(label_of(file), std::string("system_u:object_r:bulwark_image_t:s0:c1,c2\0", 43));
  }
  EXPECT_FALSE(label_of(file).has_value());
}

TEST(FileLabels, RestoresThePreviousLabelExactly) {
  auto dir = make_labelable_temp_dir();
  if (!dir) GTEST_SKIP() << "no filesystem here accepts security.selinux xattrs";
  const auto file = dir->path() / "kernel";
  std::ofstream(file) << "data";
  const std::string before("unconfined_u:object_r:user_home_t:s0\0", 38);
  set_raw(file, before);
  FileLabels labels;
  ASSERT_TRUE(labels.apply(file, "system_u:object_r:bulwark_content_t:s0").ok());
  // Relabelling must not make the first VM label the one restored.
  ASSERT_TRUE(labels.apply(file, "system_u:object_r:bulwark_image_t:s0:c3,c4").ok());
  EXPECT_EQ(label_of(file), std::string("system_u:object_r:bulwark_image_t:s0:c3,c4\0", 43));
  EXPECT_EQ(labels.labelled_count(), 1u);
  ASSERT_TRUE(labels.restore().ok());
  EXPECT_EQ(label_of(file), before);
  EXPECT_EQ(labels.labelled_count(), 0u);
}

TEST(FileLabels, LabelsTheDirectoryAndASymlinkItselfNotItsTarget) {
  auto dir = make_labelable_temp_dir();
  if (!dir) GTEST_SKIP() << "no filesystem here accepts security.selinux xattrs";
  const auto target = dir->path() / "target";
  const auto link = dir->path() / "link";
  std::ofstream(target) << "data";
  std::filesystem::create_symlink(target, link);
  FileLabels labels;
  ASSERT_TRUE(labels.apply(dir->path(), "system_u:object_r:bulwark_image_t:s0:c1,c2").ok());
  auto on_link = labels.apply(link, "system_u:object_r:bulwark_image_t:s0:c1,c2");
  ASSERT_TRUE(on_link.ok()) << on_link.error().message();
  EXPECT_FALSE(label_of(target).has_value());
  EXPECT_TRUE(label_of(dir->path()).has_value());
  ASSERT_TRUE(labels.restore().ok());
  EXPECT_FALSE(label_of(dir->path()).has_value());
  EXPECT_FALSE(label_of(link).has_value());
}

TEST(FileLabels, AFileRemovedBeforeTeardownIsNotAnError) {
  auto dir = make_labelable_temp_dir();
  if (!dir) GTEST_SKIP() << "no filesystem here accepts security.selinux xattrs";
  const auto file = dir->path() / "scratch";
  std::ofstream(file) << "data";
  FileLabels labels;
  ASSERT_TRUE(labels.apply(file, "system_u:object_r:bulwark_image_t:s0:c1,c2").ok());
  std::filesystem::remove(file);
  EXPECT_TRUE(labels.restore().ok());
}

TEST(FileLabels, RefusesAMissingFileAndAnEmptyContext) {
  FileLabels labels;
  auto missing = labels.apply("/nonexistent/bulwark/file", "system_u:object_r:x_t:s0");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message().find("/nonexistent/bulwark/file"), std::string::npos);
  auto empty = labels.apply("/tmp", "");
  ASSERT_FALSE(empty.ok());
  EXPECT_EQ(labels.labelled_count(), 0u);
}

TEST(FileLabels, AFilesystemWithoutSecurityXattrsIsReportedNotFailed) {
  // procfs takes no security.selinux labels when no LSM provides them.
  FileLabels labels;
  auto outcome = labels.apply("/proc/self/status", "system_u:object_r:bulwark_image_t:s0:c1,c2");
  if (!outcome.ok()) GTEST_SKIP() << "procfs here fails differently: " << outcome.error().message();
  EXPECT_EQ(*outcome, LabelOutcome::kFilesystemRefused);
  EXPECT_EQ(labels.labelled_count(), 0u);
}

}  // namespace
}  // namespace bulwark::jailer
