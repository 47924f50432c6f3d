#include "jailer/vm_id.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace bulwark::jail {
namespace {

TEST(VmIdTest, AcceptsLettersDigitsAndDashesUpTo64) {
  for (const std::string& id : std::vector<std::string>{"a", "vm-1", "ABC-def-0123", "-", std::string(64, 'x')}) {
    EXPECT_TRUE(validate_vm_id(id).ok()) << id;
  }
}

TEST(VmIdTest, RefusesAnythingThatIsNotOnePlainComponent) {
  for (const std::string& id :
       std::vector<std::string>{"", std::string(65, 'x'), "..", ".", "a/b", "../etc", "a b", "a_b",
                                "vm.1", "a\n", std::string("a\0b", 3), "vm\xc3\xa9"}) {
    Status s = validate_vm_id(id);
    ASSERT_FALSE(s.ok()) << id;
    EXPECT_NE(s.error().message().find("[A-Za-z0-9-]"), std::string::npos);
  }
}

TEST(VmIdTest, ErrorEchoesTheIdSafely) {
  Status s = validate_vm_id("a\x1b[31m");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().message().find('\x1b'), std::string::npos) << s.error().message();
}

}  // namespace
}  // namespace bulwark::jail

namespace bulwark::jail {
namespace {

TEST(JailName, DeviceJailsAreAVmIdDotAShortLowercaseName) {
  EXPECT_TRUE(validate_jail_name("vm-1").ok());
  EXPECT_TRUE(validate_jail_name("vm-1.blk0").ok());
  EXPECT_TRUE(validate_jail_name("vm-1.rng").ok());
  EXPECT_TRUE(validate_jail_name(std::string(59, 'a') + ".blk7").ok());
  EXPECT_FALSE(validate_jail_name(std::string(60, 'a') + ".blk7").ok()) << "65 bytes";
  EXPECT_FALSE(validate_jail_name("vm-1.").ok());
  EXPECT_FALSE(validate_jail_name(".blk0").ok());
  EXPECT_FALSE(validate_jail_name("vm-1.blk0.x").ok());
  EXPECT_FALSE(validate_jail_name("vm-1.BLK").ok());
  EXPECT_FALSE(validate_jail_name("vm-1./x").ok());
  EXPECT_FALSE(validate_jail_name("vm-1.verylongname").ok());
  EXPECT_FALSE(validate_vm_id("vm-1.blk0").ok()) << "a VM id never has a '.'";
}

}  // namespace
}  // namespace bulwark::jail
