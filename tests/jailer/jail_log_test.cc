// `bulwark run --log-format` end to end on a host without KVM (issue 14): the real launcher, the
// stand-in monitor (standin_monitor.cc) in the monitor's real jail and the real jailed
// bulwark-dev-blk. What an operator's log shipper reads on the launcher's stderr: with json,
// every line one JSON object naming this VM and the process it is about, a device's lines
// stamped with the device's name whatever they say; with text, each VM process's line behind
// "bulwark[<vm>/<process>]: ". The guest console (stdout) is untouched either way. Root needed;
// KVM not.
#include <sys/stat.h>

#include <nlohmann/json.hpp>
#include <regex>
#include <set>

#include "tests/jailer/jail_fixture.h"

namespace bulwark::test {
namespace {

class JailLogTest : public JailTest {
 protected:
  void SetUp() override {
    prepare(false);
    if (IsSkipped()) return;
    images_ = dir_ + "/images";
    fs::create_directories(images_);
    ::chmod(images_.c_str(), 0755);
    kernel_ = images_ + "/kernel";  // never read: the stand-in monitor boots nothing
    std::ofstream(kernel_) << "not a kernel";
    ::chmod(kernel_.c_str(), 0644);
    disk_ = images_ + "/disk.raw";
    std::ofstream(disk_) << std::string(4 << 20, '\x11');
    ::chmod(disk_.c_str(), 0666);
  }
  ProcessResult run_vm(const std::string& disks, const std::string& format) {
    const std::string config = write_vm_config(dir_ + "/vm.json", kernel_, ", \"disks\": " + disks);
    auto [program, args] = launcher_command_for_standin(
        BULWARK_JAILER, run_args(config, {"--monitor", BULWARK_STANDIN_MONITOR, "--log-format", format}),
        dir_ + "/dev-overlay");
    return run_process(program, args, {}, std::chrono::seconds(60));
  }
  // Every stderr line, parsed; a line that is not a JSON object of this VM fails the test.
  std::vector<nlohmann::json> json_records(const ProcessResult& result) const {
    static const std::regex kTime(R"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z)");
    static const std::set<std::string> kLevels{"debug", "info", "warning", "error"};
    std::vector<nlohmann::json> records;
    std::istringstream lines(result.err);
    for (std::string line; std::getline(lines, line);) {
      auto record = nlohmann::json::parse(line, nullptr, false);
      EXPECT_TRUE(record.is_object()) << "not a JSON object: " << line;
      if (!record.is_object()) continue;
      EXPECT_EQ(record.value("vm", ""), id_) << line;
      EXPECT_TRUE(std::regex_match(record.value("time", ""), kTime)) << line;
      EXPECT_TRUE(kLevels.contains(record.value("level", ""))) << line;
      EXPECT_TRUE(record["message"].is_string()) << line;
      records.push_back(std::move(record));
    }
    return records;
  }
  // A disk declared qcow2 whose file is not: bulwark-dev-blk refuses it at startup, on its stderr.
  std::string not_qcow2_disk() const { return "[{\"path\": \"" + disk_ + "\", \"format\": \"qcow2\"}]"; }

  std::string images_, kernel_, disk_;
};

TEST_F(JailLogTest, JsonMakesEveryLineAnObjectOfThisVmAndLeavesTheConsoleAlone) {
  ProcessResult result = run_vm("[{\"path\": \"" + disk_ + "\"}]", "json");
  EXPECT_TRUE(result.exited && result.exit_code == 0) << result.describe();
  EXPECT_NE(result.out.find("STANDIN-BLK 0 read 1111111111111111\n"), std::string::npos) << result.describe();
  EXPECT_EQ(result.out.find('{'), std::string::npos) << "a log record on the console: " << result.describe();
  std::set<std::string> processes;
  bool device_started = false;
  for (const auto& record : json_records(result)) {
    const std::string process = record.value("process", "");
    processes.insert(process);
    EXPECT_TRUE(process == "launcher" || process == "monitor" || process == "dev-blk:blk0") << record.dump();
    if (process == "launcher" && record.value("message", "").find("device blk0 (vhost-user-blk) running") !=
                                     std::string::npos) {
      device_started = true;
    }
  }
  EXPECT_TRUE(processes.contains("launcher")) << result.describe();
  EXPECT_TRUE(device_started) << result.describe();
  expect_nothing_left();
}

TEST_F(JailLogTest, JsonStampsADevicesLinesWithTheDevicesName) {
  ProcessResult result = run_vm(not_qcow2_disk(), "json");
  bool refusal = false;
  for (const auto& record : json_records(result)) {
    const std::string message = record.value("message", "");
    if (message.starts_with("bulwark-dev-blk: ")) {
      EXPECT_EQ(record.value("process", ""), "dev-blk:blk0") << record.dump();
    }
    if (record.value("process", "") == "dev-blk:blk0" && message.starts_with("bulwark-dev-blk: error: ")) {
      EXPECT_EQ(record.value("level", ""), "error") << record.dump();
      refusal = true;
    }
  }
  EXPECT_TRUE(refusal) << "no error record of dev-blk:blk0: " << result.describe();
  expect_nothing_left();
}

TEST_F(JailLogTest, TextPutsEachProcessLineBehindTheVmAndProcess) {
  ProcessResult result = run_vm(not_qcow2_disk(), "text");
  const std::string stamp = "bulwark[" + id_ + "/dev-blk:blk0]: bulwark-dev-blk: error: ";
  bool refusal = false;
  std::istringstream lines(result.err);
  for (std::string line; std::getline(lines, line);) {
    // A device's own line never reaches the launcher's stderr unstamped.
    EXPECT_FALSE(line.starts_with("bulwark-dev-blk: ")) << line;
    if (line.starts_with(stamp)) refusal = true;
  }
  EXPECT_TRUE(refusal) << result.describe();
  expect_nothing_left();
}

}  // namespace
}  // namespace bulwark::test
