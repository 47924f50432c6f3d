#include "jailer/svirt/jail_labels.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace bulwark::jailer {
namespace {

const std::vector<std::string> kMonitorFiles = {"/vm.json"};

TEST(JailLabels, VmJsonGetsTheJailTypeAndTheDirectoriesTheImageType) {
  auto planned = plan_jail_labels(SvirtTypes{}, McsPair{7, 300}, "/srv/bulwark/vm-1",
                                  "/srv/bulwark/vm-1/root", kMonitorFiles);
  ASSERT_TRUE(planned.ok()) << planned.error().message();
  const std::vector<PlannedLabel> expected = {
      {"/srv/bulwark/vm-1", "system_u:object_r:bulwark_image_t:s0:c7,c300"},
      {"/srv/bulwark/vm-1/root", "system_u:object_r:bulwark_image_t:s0:c7,c300"},
      // The monitor reads it: bulwark_image_t files are the blk domain's alone.
      {"/srv/bulwark/vm-1/root/vm.json", "system_u:object_r:bulwark_jail_t:s0:c7,c300"},
  };
  EXPECT_EQ(*planned, expected);
}

TEST(JailLabels, DeviceJailWithoutFilesLabelsOnlyItsDirectories) {
  auto planned = plan_jail_labels(SvirtTypes{}, McsPair{1, 2}, "/srv/bulwark/vm-1.blk0",
                                  "/srv/bulwark/vm-1.blk0/root", {});
  ASSERT_TRUE(planned.ok());
  ASSERT_EQ(planned->size(), 2u);
  for (const PlannedLabel& label : *planned)
    EXPECT_EQ(label.context, "system_u:object_r:bulwark_image_t:s0:c1,c2") << label.path;
}

TEST(JailLabels, FollowTheConfiguredTypeNames) {
  SvirtTypes types;
  types.image_type = "tenant_disk_t";
  types.jail_type = "tenant_jail_t";
  const std::vector<std::string> files = {"/vm.json", "/etc/extra.conf"};
  auto planned = plan_jail_labels(types, McsPair{3, 4}, "/j/a", "/j/a/root", files);
  ASSERT_TRUE(planned.ok());
  ASSERT_EQ(planned->size(), 4u);
  EXPECT_EQ((*planned)[1].context, "system_u:object_r:tenant_disk_t:s0:c3,c4");
  EXPECT_EQ((*planned)[2], (PlannedLabel{"/j/a/root/vm.json", "system_u:object_r:tenant_jail_t:s0:c3,c4"}));
  EXPECT_EQ((*planned)[3],
            (PlannedLabel{"/j/a/root/etc/extra.conf", "system_u:object_r:tenant_jail_t:s0:c3,c4"}));
}

TEST(JailLabels, RefusesPathsThatCouldLeaveTheRoot) {
  for (const std::string bad : {"vm.json", "/../vm.json", "/etc/../../host"}) {
    const std::vector<std::string> files = {bad};
    auto planned = plan_jail_labels(SvirtTypes{}, McsPair{1, 2}, "/j/a", "/j/a/root", files);
    ASSERT_FALSE(planned.ok()) << bad;
    EXPECT_NE(planned.error().message().find("jail file '" + bad + "'"), std::string::npos)
        << planned.error().message();
  }
}

}  // namespace
}  // namespace bulwark::jailer
