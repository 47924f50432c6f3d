#include "monitor/config/vm_config.h"

#include <gtest/gtest.h>

namespace bulwark::config {
namespace {

VmConfig valid() {
  VmConfig c;
  c.kernel = "vmlinux";
  return c;
}

std::string error_of(const VmConfig& c) {
  Status s = validate_vm_config(c);
  return s.ok() ? "ok" : s.error().message();
}

TEST(VmConfig, DefaultsWithAKernelAreValid) { EXPECT_EQ(error_of(valid()), "ok"); }

TEST(VmConfig, ValidationNamesTheField) {
  VmConfig c = valid();
  c.kernel = "";
  EXPECT_EQ(error_of(c), "kernel: must not be empty");
  c = valid();
  c.memory_mib = 8;
  EXPECT_EQ(error_of(c), "memory_mib: expected an integer from 16 to 1048576, got 8");
  c = valid();
  c.vcpus = 0;
  EXPECT_EQ(error_of(c), "vcpus: expected an integer from 1 to 64, got 0");
  c = valid();
  c.vcpus = 65;
  EXPECT_EQ(error_of(c), "vcpus: expected an integer from 1 to 64, got 65");
  c = valid();
  c.serial = SerialOutput::kFile;
  EXPECT_EQ(error_of(c), "serial_path: must not be empty");
  c = valid();
  c.serial_path = "x";
  EXPECT_EQ(error_of(c), "serial_path: only allowed when serial output is a file");
  c = valid();
  c.cpu_template = "a/b";
  EXPECT_EQ(error_of(c),
            "cpu_template: expected a name of 1 to 64 characters from A-Z a-z 0-9 . _ -");
  c = valid();
  c.serial = static_cast<SerialOutput>(7);
  EXPECT_EQ(error_of(c), "serial: invalid output kind");
  c = valid();
  c.emulated_host_quirks = static_cast<EmulatedHostQuirks>(-1);
  EXPECT_EQ(error_of(c), "emulated_host_quirks: invalid mode");
}

TEST(VmConfig, EnumNamesRoundTrip) {
  for (SerialOutput s : {SerialOutput::kStdout, SerialOutput::kFile, SerialOutput::kNone}) {
    EXPECT_EQ(serial_output_from_name(serial_output_name(s)), s);
  }
  for (EmulatedHostQuirks q :
       {EmulatedHostQuirks::kAuto, EmulatedHostQuirks::kOn, EmulatedHostQuirks::kOff}) {
    EXPECT_EQ(emulated_host_quirks_from_name(emulated_host_quirks_name(q)), q);
  }
  EXPECT_EQ(serial_output_from_name("pty"), std::nullopt);
  EXPECT_EQ(emulated_host_quirks_from_name("AUTO"), std::nullopt);
}

}  // namespace
}  // namespace bulwark::config
