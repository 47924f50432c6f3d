// "tpm_fd": the monitor's connection to swtpm, read from its config (the launcher writes it; a
// tenant's file may not carry it: tests/unit/jailer's operator-field test names it).
#include <gtest/gtest.h>

#include <string>

#include "monitor/config/json_config.h"
#include "monitor/config/vm_config.h"

namespace bulwark::config {
namespace {

std::string json_error(const std::string& text) {
  Result<VmConfig> r = parse_vm_config_json(text);
  return r.ok() ? "ok" : r.error().message();
}

TEST(TpmFdConfig, AbsentMeansNoTpm) {
  Result<VmConfig> c = parse_vm_config_json(R"({"kernel": "k"})");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->tpm_fd, -1);
  EXPECT_EQ(to_json(*c).find("tpm_fd"), std::string::npos);
}

TEST(TpmFdConfig, ReadAndWrittenBack) {
  Result<VmConfig> c = parse_vm_config_json(R"({"kernel": "k", "control_fd": 4, "tpm_fd": 5})");
  ASSERT_TRUE(c.ok()) << c.error().message();
  EXPECT_EQ(c->tpm_fd, 5);
  Result<VmConfig> again = parse_vm_config_json(to_json(*c));
  ASSERT_TRUE(again.ok()) << again.error().message();
  EXPECT_EQ(*again, *c);
}

TEST(TpmFdConfig, OutOfRangeOrTakenIsRefused) {
  EXPECT_EQ(json_error(R"({"kernel": "k", "tpm_fd": 2})"), "config: /tpm_fd: expected an integer from 3 to 1048575, got 2");
  EXPECT_EQ(json_error(R"({"kernel": "k", "control_fd": 4, "tpm_fd": 4})"),
            "config: /tpm_fd: 4 is already the control channel");
  EXPECT_EQ(json_error(R"({"kernel": "k", "devices": [{"type": "vhost-user-rng", "socket_fd": 3}], "tpm_fd": 3})"),
            "config: /tpm_fd: 3 is already the socket of device 0");
}

}  // namespace
}  // namespace bulwark::config
