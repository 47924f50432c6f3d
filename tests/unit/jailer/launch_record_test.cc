#include "jailer/launch_record.h"

#include <gtest/gtest.h>

namespace bulwark::jail {
namespace {

TEST(LaunchRecordTest, RoundTrips) {
  LaunchRecord record{200001, {"/srv/bulwark/vm-1", "/srv/bulwark/vm-1.blk0"},
                      {"/sys/fs/cgroup/memory/bulwark/vm-1"}};
  auto parsed = parse_launch_record(format_launch_record(record));
  ASSERT_TRUE(parsed.ok()) << parsed.error().message();
  EXPECT_EQ(*parsed, record);
}

TEST(LaunchRecordTest, ALineCutShortByACrashIsIgnored) {
  auto parsed = parse_launch_record("uid=5\njail=/srv/bulwark/a\ncgroup=/sys/fs/cg");
  ASSERT_TRUE(parsed.ok()) << parsed.error().message();
  EXPECT_EQ(parsed->jail_dirs, std::vector<std::string>{"/srv/bulwark/a"});
  EXPECT_TRUE(parsed->cgroup_dirs.empty());
}

TEST(LaunchRecordTest, AnythingElseIsRefused) {
  for (const char* bad :
       {"", "jail=/a\n", "uid=0\n", "uid=007\n", "uid=2147483647\n", "uid=5\njail=relative\n",
        "uid=5\njail=/a/../b\n", "uid=5\njail=/a//b\n", "uid=5\njail=/a/\n", "uid=5\njail=/\n",
        "uid=5\njail=/a b\n", "uid=5\nother=/a\n", "uid=5\nnoequals\n", "uid=5\ncgroup=/a/./b\n"}) {
    EXPECT_FALSE(parse_launch_record(bad).ok()) << bad;
  }
}

}  // namespace
}  // namespace bulwark::jail
