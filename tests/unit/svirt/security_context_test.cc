#include "jailer/svirt/security_context.h"

#include <gtest/gtest.h>

namespace bulwark::jailer {
namespace {

TEST(SecurityContext, DefaultStringsAreTheSvirtContexts) {
  const SvirtTypes types;
  const McsPair pair{12, 345};
  EXPECT_EQ(vm_process_context(types, pair), "system_u:system_r:bulwark_vm_t:s0:c12,c345");
  EXPECT_EQ(process_context(types, "bulwark_blk_t", pair),
            "system_u:system_r:bulwark_blk_t:s0:c12,c345");
  EXPECT_EQ(image_file_context(types, pair), "system_u:object_r:bulwark_image_t:s0:c12,c345");
  EXPECT_EQ(content_file_context(types), "system_u:object_r:bulwark_content_t:s0");
  EXPECT_EQ(jail_file_context(types, pair), "system_u:object_r:bulwark_jail_t:s0:c12,c345");
  // policy/selinux/bulwark.te: device domains use bulwark_vm_t sockets at the VM's level.
  EXPECT_EQ(vm_socket_context(types, pair), "system_u:system_r:bulwark_vm_t:s0:c12,c345");
  EXPECT_EQ((McsPair{0, 1023}).categories(), "c0,c1023");
}

TEST(SecurityContext, TypeNamesAreConfigurable) {
  SvirtTypes types;
  types.vm_domain = "tenant_vm_t";
  types.image_type = "tenant_image_t";
  types.content_type = "tenant_ro_t";
  ASSERT_TRUE(validate_svirt_types(types).ok());
  EXPECT_EQ(vm_process_context(types, {1, 2}), "system_u:system_r:tenant_vm_t:s0:c1,c2");
  EXPECT_EQ(image_file_context(types, {1, 2}), "system_u:object_r:tenant_image_t:s0:c1,c2");
  EXPECT_EQ(content_file_context(types), "system_u:object_r:tenant_ro_t:s0");
  types.jail_type = "tenant_jail_t";
  ASSERT_TRUE(validate_svirt_types(types).ok());
  EXPECT_EQ(jail_file_context(types, {1, 2}), "system_u:object_r:tenant_jail_t:s0:c1,c2");
  // The sockets follow the configured monitor domain.
  EXPECT_EQ(vm_socket_context(types, {1, 2}), "system_u:system_r:tenant_vm_t:s0:c1,c2");
}

TEST(SecurityContext, RefusesNamesThatCouldInjectContextFields) {
  SvirtTypes types;
  types.vm_domain = "bulwark_vm_t:s0:c0.c1023";
  auto status = validate_svirt_types(types);
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().message(),
            "SELinux VM domain name 'bulwark_vm_t:s0:c0.c1023' has a character outside [A-Za-z0-9_]");
  types = SvirtTypes{};
  types.image_type = "";
  EXPECT_EQ(validate_svirt_types(types).error().message(), "SELinux image type name is empty");
  types = SvirtTypes{};
  types.jail_type = "bulwark_jail_t:s0";
  EXPECT_EQ(validate_svirt_types(types).error().message(),
            "SELinux jail type name 'bulwark_jail_t:s0' has a character outside [A-Za-z0-9_]");
  EXPECT_FALSE(validate_selinux_identifier("process domain", "blk t").ok());
}

}  // namespace
}  // namespace bulwark::jailer
