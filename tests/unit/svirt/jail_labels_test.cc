#include "jailer/svirt/jail_labels.h"

#include <gtest/gtest.h>

namespace bulwark::jailer {
namespace {

// Everything the launcher creates in a jail is jail-typed at the VM's pair (LABELS.md): the VM's
// domains may search and read it, and no other VM may.
TEST(JailLabels, EverythingCreatedInTheJailIsJailTypedAtThePair) {
  EXPECT_EQ(plan_jail_create_label(SvirtTypes{}, McsPair{7, 300}, true),
            (JailCreateLabel{"system_u:object_r:bulwark_jail_t:s0:c7,c300", true}));
}

TEST(JailLabels, WithoutSelinuxTheLabelIsWrittenRightAfterCreation) {
  EXPECT_EQ(plan_jail_create_label(SvirtTypes{}, McsPair{1, 2}, false),
            (JailCreateLabel{"system_u:object_r:bulwark_jail_t:s0:c1,c2", false}));
}

TEST(JailLabels, SelinuxOffLabelsNothing) {
  EXPECT_EQ(plan_jail_create_label(SvirtTypes{}, std::nullopt, true), JailCreateLabel{});
}

TEST(JailLabels, FollowTheConfiguredTypeNames) {
  SvirtTypes types;
  types.jail_type = "tenant_jail_t";
  EXPECT_EQ(plan_jail_create_label(types, McsPair{3, 4}, true).context,
            "system_u:object_r:tenant_jail_t:s0:c3,c4");
}

}  // namespace
}  // namespace bulwark::jailer
