// "control_fd": the launcher's control channel socket, read from the monitor's config (the
// launcher writes it; a tenant's file may not carry it, tests/unit/jailer checks that).
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

TEST(ControlFdTest, AbsentMeansNoChannel) {
  Result<VmConfig> c = parse_vm_config_json(R"({"kernel": "k"})");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->control_fd, -1);
  EXPECT_EQ(to_json(*c).find("control_fd"), std::string::npos);
}

TEST(ControlFdTest, ReadAndWrittenBack) {
  Result<VmConfig> c = parse_vm_config_json(
      R"({"kernel": "k", "control_fd": 7, "devices": [{"type": "vhost-user-rng", "socket_fd": 3}]})");
  ASSERT_TRUE(c.ok()) << c.error().message();
  EXPECT_EQ(c->control_fd, 7);
  Result<VmConfig> again = parse_vm_config_json(to_json(*c));
  ASSERT_TRUE(again.ok()) << again.error().message();
  EXPECT_EQ(*again, *c);
}

TEST(ControlFdTest, OutOfRangeOrWrongTypeIsRefused) {
  EXPECT_EQ(json_error(R"({"kernel": "k", "control_fd": 2})"),
            "config: /control_fd: expected an integer from 3 to 1048575, got 2");
  EXPECT_EQ(json_error(R"({"kernel": "k", "control_fd": -1})"),
            "config: /control_fd: expected an integer from 3 to 1048575, got -1");
  EXPECT_EQ(json_error(R"({"kernel": "k", "control_fd": 1048576})"),
            "config: /control_fd: expected an integer from 3 to 1048575, got 1048576");
  EXPECT_EQ(json_error(R"({"kernel": "k", "control_fd": "5"})"),
            "config: /control_fd: expected an integer from 3 to 1048575, got \"5\"");
}

TEST(ControlFdTest, ADeviceSocketCannotAlsoBeTheControlChannel) {
  // "control_fd" sorts before "devices": the check runs once both are read, in either order.
  EXPECT_EQ(json_error(R"({"kernel": "k", "control_fd": 4, "devices": [{"type": "vhost-user-rng", "socket_fd": 4}]})"),
            "config: /control_fd: 4 is already the socket of device 0");
  VmConfig c;
  c.kernel = "k";
  c.devices.push_back({std::string(kVhostUserRng), 5});
  c.control_fd = 5;
  Status s = validate_vm_config(c);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().message(), "control_fd: 5 is already the socket of device 0");
  c.control_fd = 2;
  EXPECT_FALSE(validate_vm_config(c).ok());
  c.control_fd = 6;
  EXPECT_TRUE(validate_vm_config(c).ok());
}

}  // namespace
}  // namespace bulwark::config
