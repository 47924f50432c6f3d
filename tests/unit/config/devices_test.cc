// The "devices" list: JSON, command line, validation and to_json round trip.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "monitor/config/command_line.h"
#include "monitor/config/json_config.h"
#include "monitor/config/vm_config.h"

namespace bulwark::config {
namespace {

std::string device_config_error(const std::string& text) {
  Result<VmConfig> r = parse_vm_config_json(text);
  return r.ok() ? "ok" : r.error().message();
}

Result<CommandLine> parse_cli(std::vector<std::string_view> args) {
  return parse_command_line(args, [](const std::string& path) -> Result<std::string> {
    if (path == "vm.json") {
      return std::string(R"({"kernel": "k", "devices": [{"type": "vhost-user-rng", "socket_fd": 3}]})");
    }
    return Error(path + ": No such file or directory");
  });
}

std::string cli_error(std::vector<std::string_view> args) {
  Result<CommandLine> r = parse_cli(std::move(args));
  return r.ok() ? "ok" : r.error().message();
}

TEST(DevicesJson, ReadsPathsAndFdsInOrder) {
  Result<VmConfig> c = parse_vm_config_json(R"({"kernel": "k", "devices": [
      {"type": "vhost-user-blk", "socket": "/run/vm/blk.sock"},
      {"socket_fd": 4, "type": "vhost-user-rng"}]})");
  ASSERT_TRUE(c.ok()) << c.error().message();
  ASSERT_EQ(c->devices.size(), 2u);
  EXPECT_EQ(c->devices[0], (DeviceConfig{"vhost-user-blk", -1, "/run/vm/blk.sock"}));
  EXPECT_EQ(c->devices[1], (DeviceConfig{"vhost-user-rng", 4, ""}));
}

TEST(DevicesJson, NoDevicesByDefaultAndToJsonLeavesThemOut) {
  Result<VmConfig> c = parse_vm_config_json(R"({"kernel": "k"})");
  ASSERT_TRUE(c.ok());
  EXPECT_TRUE(c->devices.empty());
  EXPECT_EQ(to_json(*c).find("devices"), std::string::npos);
  Result<VmConfig> empty = parse_vm_config_json(R"({"kernel": "k", "devices": []})");
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(*empty, *c);
}

TEST(DevicesJson, RoundTripsThroughToJson) {
  VmConfig c;
  c.kernel = "k";
  // The launcher's form: {type, fd}.
  c.devices.push_back({std::string(kVhostUserBlk), 3});
  c.devices.push_back({std::string(kVhostUserRng), kMaxDeviceSocketFd});
  c.devices.push_back({std::string(kVhostUserBlk), -1, "/a path/\"quoted\".sock"});
  ASSERT_TRUE(validate_vm_config(c).ok()) << validate_vm_config(c).error().message();
  const std::string text = to_json(c);
  EXPECT_NE(text.find("\"socket_fd\": 3"), std::string::npos) << text;
  Result<VmConfig> parsed = parse_vm_config_json(text);
  ASSERT_TRUE(parsed.ok()) << parsed.error().message() << "\n" << text;
  EXPECT_EQ(*parsed, c);
}

struct JsonCase {
  const char* name;
  std::string devices;  // the value of "devices"
  std::string expected;
};

class DevicesJsonError : public testing::TestWithParam<JsonCase> {};

TEST_P(DevicesJsonError, NamesThePointer) {
  EXPECT_EQ(device_config_error(R"({"kernel": "k", "devices": )" + GetParam().devices + "}"),
            GetParam().expected);
}

const std::string kNineteen = [] {
  std::string list = "[";
  for (int i = 0; i < 19; ++i) {
    list += std::string(i ? "," : "") + R"({"type": "vhost-user-rng", "socket_fd": )" +
            std::to_string(3 + i) + "}";
  }
  return list + "]";
}();

const JsonCase kJsonCases[] = {
    {"NotArray", R"({"type": "vhost-user-blk"})", "config: /devices: expected an array, got an object"},
    {"NotObject", R"(["vhost-user-blk"])",
     R"(config: /devices/0: expected an object, got "vhost-user-blk")"},
    {"NoType", R"([{"socket": "s"}])", "config: /devices/0/type: required field is missing"},
    {"UnknownType", R"([{"type": "virtio-net", "socket": "s"}])",
     "config: /devices/0/type: unknown device type (expected one of: vhost-user-blk, vhost-user-rng, vhost-user-net, vhost-user-vsock)"},
    {"TypeNotString", R"([{"type": 2, "socket": "s"}])", "config: /devices/0/type: expected a string, got 2"},
    {"Neither", R"([{"type": "vhost-user-blk"}])",
     R"(config: /devices/0: give exactly one of "socket" (a path) and "socket_fd")"},
    {"Both", R"([{"type": "vhost-user-blk", "socket": "s", "socket_fd": 3}])",
     R"(config: /devices/0: give exactly one of "socket" (a path) and "socket_fd")"},
    {"FdStdio", R"([{"type": "vhost-user-blk", "socket_fd": 2}])",
     "config: /devices/0/socket_fd: expected an integer from 3 to 1048575, got 2"},
    {"FdNegative", R"([{"type": "vhost-user-blk", "socket_fd": -1}])",
     "config: /devices/0/socket_fd: expected an integer from 3 to 1048575, got -1"},
    {"FdHuge", R"([{"type": "vhost-user-blk", "socket_fd": 1048576}])",
     "config: /devices/0/socket_fd: expected an integer from 3 to 1048575, got 1048576"},
    {"FdTwice", R"([{"type": "vhost-user-blk", "socket_fd": 5}, {"type": "vhost-user-rng", "socket_fd": 5}])",
     "config: /devices/1/socket_fd: 5 is already the socket of /devices/0"},
    {"EmptyPath", R"([{"type": "vhost-user-blk", "socket": ""}])",
     "config: /devices/0/socket: must not be empty"},
    {"NulInPath", R"([{"type": "vhost-user-blk", "socket": "a\u0000b"}])",
     "config: /devices/0/socket: must not contain a NUL character"},
    {"UnknownField", R"([{"type": "vhost-user-blk", "socket": "s", "queues": 2}])",
     "config: /devices/0/queues: unknown field"},
    {"TooMany", kNineteen, "config: /devices: at most 18 devices, got 19"},
};

INSTANTIATE_TEST_SUITE_P(Table, DevicesJsonError, testing::ValuesIn(kJsonCases),
                         [](const testing::TestParamInfo<JsonCase>& info) {
                           return std::string(info.param.name);
                         });

TEST(DevicesCli, RepeatableFlagsKeepCommandLineOrder) {
  Result<CommandLine> r = parse_cli({"--kernel", "k", "--vhost-user-blk", "/run/a.sock",
                                     "--vhost-user-rng=fd:7", "--vhost-user-blk", "fd:3"});
  ASSERT_TRUE(r.ok()) << r.error().message();
  const std::vector<DeviceConfig> expected = {
      {"vhost-user-blk", -1, "/run/a.sock"}, {"vhost-user-rng", 7, ""}, {"vhost-user-blk", 3, ""}};
  EXPECT_EQ(r->config.devices, expected);
}

TEST(DevicesCli, FlagsComeAfterTheConfigFilesDevices) {
  Result<CommandLine> r = parse_cli({"--config", "vm.json", "--vhost-user-blk", "./fd:9"});
  ASSERT_TRUE(r.ok()) << r.error().message();
  const std::vector<DeviceConfig> expected = {{"vhost-user-rng", 3, ""},
                                              {"vhost-user-blk", -1, "./fd:9"}};
  EXPECT_EQ(r->config.devices, expected);
}

TEST(DevicesCli, BadValuesNameTheFlag) {
  EXPECT_EQ(cli_error({"--kernel", "k", "--vhost-user-blk", ""}), "--vhost-user-blk: must not be empty");
  EXPECT_EQ(cli_error({"--kernel", "k", "--vhost-user-rng", "fd:"}),
            R"(--vhost-user-rng: fd:N: expected an integer from 3 to 1048575, got "")");
  EXPECT_EQ(cli_error({"--kernel", "k", "--vhost-user-rng", "fd:2"}),
            R"(--vhost-user-rng: fd:N: expected an integer from 3 to 1048575, got "2")");
  EXPECT_EQ(cli_error({"--kernel", "k", "--vhost-user-rng", "fd:03"}),
            R"(--vhost-user-rng: fd:N: expected an integer from 3 to 1048575, got "03")");
  EXPECT_EQ(cli_error({"--kernel", "k", "--vhost-user-rng", "fd:4x"}),
            R"(--vhost-user-rng: fd:N: expected an integer from 3 to 1048575, got "4x")");
  EXPECT_EQ(cli_error({"--kernel", "k", "--vhost-user-rng", "fd:99999999999999999999"}),
            R"(--vhost-user-rng: fd:N: expected an integer from 3 to 1048575, got "99999999999999999999")");
  EXPECT_EQ(cli_error({"--kernel", "k", "--vhost-user-blk"}), "--vhost-user-blk: missing value SOCKET|fd:N");
  EXPECT_EQ(cli_error({"--config", "vm.json", "--vhost-user-blk", "fd:3"}),
            "devices: 1: socket_fd 3 is already used by device 0");
  std::vector<std::string_view> nineteen = {"--kernel", "k"};
  for (int i = 0; i < 19; ++i) {
    nineteen.push_back(i % 2 == 0 ? "--vhost-user-rng" : "--vhost-user-net");
    nineteen.push_back("/s");
  }
  EXPECT_EQ(cli_error(nineteen), "devices: at most 18 devices, got 19");
}

TEST(DevicesValidation, EachRule) {
  VmConfig c;
  c.kernel = "k";
  auto error_with = [&](DeviceConfig device) {
    VmConfig v = c;
    v.devices = {device};
    Status s = validate_vm_config(v);
    return s.ok() ? std::string("ok") : s.error().message();
  };
  EXPECT_EQ(error_with({"vhost-user-blk", 3, ""}), "ok");
  EXPECT_EQ(error_with({"vhost-user-blk", -1, "/s"}), "ok");
  EXPECT_EQ(error_with({"blk", 3, ""}),
            "devices: 0: type: unknown device type (expected one of: vhost-user-blk, vhost-user-rng, vhost-user-net, vhost-user-vsock)");
  EXPECT_EQ(error_with({"vhost-user-blk", -1, ""}), "devices: 0: give exactly one of socket and socket_fd");
  EXPECT_EQ(error_with({"vhost-user-blk", 3, "/s"}), "devices: 0: give exactly one of socket and socket_fd");
  EXPECT_EQ(error_with({"vhost-user-blk", 0, ""}),
            "devices: 0: socket_fd: expected an integer from 3 to 1048575, got 0");
  EXPECT_EQ(error_with({"vhost-user-blk", -7, ""}),
            "devices: 0: socket_fd: expected an integer from 3 to 1048575, got -7");
}

}  // namespace
}  // namespace bulwark::config
