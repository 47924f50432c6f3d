#include "jailer/launch_record.h"

#include <gtest/gtest.h>

namespace bulwark::jail {
namespace {

TEST(LaunchRecordTest, RoundTrips) {
  LaunchRecord record{200001, {"/srv/bulwark/vm-1", "/srv/bulwark/vm-1.blk0"},
                      {"/sys/fs/cgroup/memory/bulwark/vm-1"},
                      {{2049, 131075, "/srv/images/disk one.img"}, {0, 7, "/a/%b/\xc3\xa9"}},
                      {{17, "bw200001n0", "vmnet"}, {2147483647, "bw200001n1", ""}}};
  auto parsed = parse_launch_record(format_launch_record(record));
  ASSERT_TRUE(parsed.ok()) << parsed.error().message();
  EXPECT_EQ(*parsed, record);
}

TEST(LaunchRecordTest, LabelledFilesAreEncodedSoAnyPathRoundTrips) {
  const RecordedLabel label{2049, 131075, "/srv/images/disk one%.img"};
  EXPECT_EQ(format_launch_record_label(label), "label=2049:131075:/srv/images/disk%20one%25.img\n");
  auto parsed = parse_launch_record("uid=5\nlabel=0:18446744073709551615:/a%0Ab\n");
  ASSERT_TRUE(parsed.ok()) << parsed.error().message();
  EXPECT_EQ(parsed->labels, (std::vector<RecordedLabel>{{0, UINT64_MAX, "/a\nb"}}));
}

// Only what the formatter writes: one spelling per path, so nothing else can name a file.
TEST(LaunchRecordTest, AnyOtherLabelLineIsRefused) {
  for (const char* bad :
       {"uid=5\nlabel=1:2\n", "uid=5\nlabel=1:2:\n", "uid=5\nlabel=01:2:/a\n",
        "uid=5\nlabel=1:-2:/a\n", "uid=5\nlabel=1:18446744073709551616:/a\n",
        "uid=5\nlabel=:2:/a\n", "uid=5\nlabel=1:2:relative\n", "uid=5\nlabel=1:2:/a/../b\n",
        "uid=5\nlabel=1:2:/a/%2E%2E/b\n",  // '.' is written plain: %2E is not the formatter's
        "uid=5\nlabel=1:2:/a%00b\n", "uid=5\nlabel=1:2:/a%0ab\n", "uid=5\nlabel=1:2:/a%2\n",
        "uid=5\nlabel=1:2:/a%\n", "uid=5\nlabel=1:2:/a b\n", "uid=5\nlabel=1:2:/a/\n",
        "uid=5\nlabel=1:2:/a%2F%2Fb\n"}) {
    EXPECT_FALSE(parse_launch_record(bad).ok()) << bad;
  }
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
TEST(LaunchRecordTest, TapLinesAreCheckedFieldByField) {
  const std::string head = "uid=200001\n";
  auto parsed = parse_launch_record(head + "tap=17:bw200001n0:vmnet\ntap=3:bw200001n1:\n");
  ASSERT_TRUE(parsed.ok()) << parsed.error().message();
  ASSERT_EQ(parsed->taps.size(), 2u);
  EXPECT_EQ(parsed->taps[0], (RecordedTap{17, "bw200001n0", "vmnet"}));
  EXPECT_EQ(parsed->taps[1], (RecordedTap{3, "bw200001n1", ""}));
  for (const char* bad : {"tap=0:bw0:vmnet", "tap=2147483648:bw0:x", "tap=017:bw0:x", "tap=1:bw0",
                          "tap=1::x", "tap=1:sixteen-bytes-xx:x", "tap=1:bw/0:x", "tap=1:bw0:../x",
                          "tap=1:..:x", "tap=1:bw0:a b", "tap=-1:bw0:x"}) {
    auto refused = parse_launch_record(head + bad + "\n");
    EXPECT_FALSE(refused.ok()) << bad;
    if (!refused.ok()) {
      EXPECT_NE(refused.error().message().find("expected tap="), std::string::npos) << bad;
    }
  }
}

}  // namespace bulwark::jail
