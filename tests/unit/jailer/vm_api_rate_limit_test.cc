// PATCH /drives and PATCH /network-interfaces in the launcher (vm_api.h) against a stand-in
// device on a socketpair: the new limits are checked like a vm.json's (bounds; a NIC's against
// the operator's ceilings), sent as SetRateLimit, and a device that refuses or stays silent is a
// 500 within the bounded wait, never a hang. PATCH /vm's Pause and Resume to the devices, in
// order with the monitor's, and GET /metrics' GetStats.
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>

#include <chrono>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "api/command/command.h"
#include "devices/control/control_message.h"
#include "jailer/api/vm_api.h"
#include "jailer/host_config.h"

namespace bulwark::jail {
namespace {

// A device's end of its control channel that answers `answers` commands with `status` and
// records the last one it decoded.
class StandInDeviceControl {
 public:
  StandInDeviceControl() {
    int pair[2];
    EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair), 0);
    launcher_end.reset(pair[0]);
    device_end_.reset(pair[1]);
  }
  ~StandInDeviceControl() {
    if (thread_.joinable()) thread_.join();
  }
  void answer(int answers, devctl::ControlStatus status) {
    thread_ = std::thread([this, answers, status]() {
      for (int i = 0; i < answers; ++i) {
        pollfd p{device_end_.get(), POLLIN, 0};
        if (::poll(&p, 1, 5000) != 1) return;
        devctl::Message in{};
        if (::recv(device_end_.get(), in.data(), in.size(), MSG_WAITALL) != static_cast<ssize_t>(in.size())) return;
        auto command = devctl::decode_command(in);
        if (command.ok()) {
          last = *command;
          if (log != nullptr) log->add(name + " " + devctl::op_name(command->op));
        }
        const devctl::Message out =
            devctl::encode_reply({status, command.ok() && status == devctl::ControlStatus::kOk ? command->buckets : devctl::Buckets{}, {}},
                                 command.ok() ? command->op : devctl::Op::kSetRateLimit);
        ::send(device_end_.get(), out.data(), out.size(), MSG_NOSIGNAL);
      }
    });
  }
  void wait() {
    if (thread_.joinable()) thread_.join();
  }
  UniqueFd launcher_end;
  std::optional<devctl::ControlCommand> last;
  // When set, every command decoded is added to it as "<name> <op>".
  struct Log {
    std::mutex mutex;
    std::vector<std::string> lines;
    void add(const std::string& line) {
      std::lock_guard<std::mutex> lock(mutex);
      lines.push_back(line);
    }
  };
  Log* log = nullptr;
  std::string name;

 private:
  UniqueFd device_end_;
  std::thread thread_;
};

// The monitor's end of its control channel: answers `answers` commands with `status`, adding
// "monitor <kind>" to `log` for each.
std::thread stand_in_monitor(int fd, int answers, uint16_t status, StandInDeviceControl::Log& log) {
  return std::thread([fd, answers, status, &log]() {
    for (int i = 0; i < answers; ++i) {
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, 5000) != 1) return;
      std::vector<uint8_t> in(api::kMaxMessageBytes);
      const ssize_t n = ::recv(fd, in.data(), in.size(), 0);
      if (n <= 0) return;
      auto command = api::decode_command(std::span<const uint8_t>(in.data(), static_cast<size_t>(n)));
      const auto* set = command.ok() ? std::get_if<api::SetVmState>(&*command) : nullptr;
      log.add(set == nullptr ? "monitor other" : set->paused ? "monitor pause" : "monitor resume");
      const api::Reply reply = status == 204 ? api::Reply{204, api::Reply::Body::kNone, ""}
                                             : api::Reply{status, api::Reply::Body::kFault, "refused"};
      const std::vector<uint8_t> out = api::encode_reply(reply);
      ::send(fd, out.data(), out.size(), MSG_NOSIGNAL);
    }
  });
}

LaunchConfig running_vm_with_disk_and_nic() {
  LaunchConfig config;
  config.disks.push_back(DiskSettings{});
  config.disks[0].path = "/srv/images/disk.raw";
  NetSettings nic;
  nic.id = "eth0";
  nic.rate_limiter.tx_bytes = RateBucket{1000, 1000, 0};  // at the ceiling, as apply_net_settings leaves it
  config.nets.push_back(nic);
  return config;
}

HostConfig host_with_tx_ceiling() {
  HostConfig host;
  host.net.tx_bytes_per_sec = 1000;
  return host;
}

api::TokenBucket bucket(uint64_t size, uint64_t refill_ms) {
  api::TokenBucket b;
  b.size = size;
  b.refill_time_ms = refill_ms;
  return b;
}

TEST(VmApiRateLimits, APatchedDriveLimitReachesTheDeviceAndShowsInTheConfig) {
  const HostConfig host = host_with_tx_ceiling();
  VmApi vm(host, OperatorChoices{"vm-1", "", {}}, "vm-1");
  const LaunchConfig config = running_vm_with_disk_and_nic();
  api::PatchDrive patch{"blk0", {bucket(65536, 100), std::nullopt}};
  EXPECT_EQ(vm.handle(patch).reply.status, 400) << "before start";
  vm.set_running(&config, -1);
  StandInDeviceControl disk;
  vm.set_device_controls({{"blk0", disk.launcher_end.get()}});
  disk.answer(1, devctl::ControlStatus::kOk);
  const api::Reply reply = vm.handle(patch).reply;
  EXPECT_EQ(reply.status, 204) << reply.body;
  disk.wait();
  ASSERT_TRUE(disk.last.has_value());
  EXPECT_EQ(disk.last->op, devctl::Op::kSetRateLimit);
  EXPECT_EQ(disk.last->buckets[0].size, 65536u);
  EXPECT_EQ(disk.last->buckets[0].refill_time_ms, 100u);
  EXPECT_FALSE(disk.last->buckets[1].limited());
  EXPECT_NE(vm.handle(api::GetVmConfig{}).reply.body.find(R"("bandwidth":{"size":65536,"refill_time":100})"),
            std::string::npos);

  // Over a vm.json's bound (2^40 tokens), and a drive that does not exist: 400, nothing sent.
  const api::Reply huge = vm.handle(api::PatchDrive{"blk0", {std::nullopt, bucket(uint64_t{1} << 41, 100)}}).reply;
  EXPECT_EQ(huge.status, 400);
  EXPECT_NE(huge.body.find("/drives/blk0/rate_limiter/ops/size"), std::string::npos) << huge.body;
  EXPECT_EQ(vm.handle(api::PatchDrive{"blk1", {bucket(10, 100), std::nullopt}}).reply.status, 400);
  EXPECT_EQ(vm.handle(api::PatchDrive{"rootfs", {bucket(10, 100), std::nullopt}}).reply.status, 400);
}

TEST(VmApiRateLimits, ANicLimitAboveTheOperatorsCeilingIsRefusedAndOneWithinItIsSent) {
  const HostConfig host = host_with_tx_ceiling();
  VmApi vm(host, OperatorChoices{"vm-1", "", {}}, "vm-1");
  const LaunchConfig config = running_vm_with_disk_and_nic();
  vm.set_running(&config, -1);
  StandInDeviceControl nic;
  vm.set_device_controls({{"net0", nic.launcher_end.get()}});
  api::PatchNetworkInterface over{"eth0", {}, {bucket(2000, 1000), std::nullopt}};
  const api::Reply refused = vm.handle(over).reply;
  EXPECT_EQ(refused.status, 400);
  EXPECT_NE(refused.body.find("tx_bytes_per_sec"), std::string::npos) << refused.body;
  // Lifting the tx limit leaves the ceiling; an rx limit (no ceiling) is taken as asked.
  nic.answer(1, devctl::ControlStatus::kOk);
  api::PatchNetworkInterface within{"eth0", {bucket(500, 100), std::nullopt}, {bucket(0, 0), std::nullopt}};
  const api::Reply reply = vm.handle(within).reply;
  EXPECT_EQ(reply.status, 204) << reply.body;
  nic.wait();
  ASSERT_TRUE(nic.last.has_value());
  EXPECT_EQ(nic.last->buckets[0].size, 500u);
  EXPECT_EQ(nic.last->buckets[2].size, 1000u) << "the operator's ceiling";
  EXPECT_EQ(nic.last->buckets[2].refill_time_ms, 1000u);
  EXPECT_EQ(vm.handle(api::PatchNetworkInterface{"eth9", {}, {}}).reply.status, 400);
}

TEST(VmApiRateLimits, ADeviceThatRefusesOrStaysSilentIsA500WithinTheBoundedWait) {
  const HostConfig host = host_with_tx_ceiling();
  VmApi vm(host, OperatorChoices{"vm-1", "", {}}, "vm-1");
  const LaunchConfig config = running_vm_with_disk_and_nic();
  vm.set_running(&config, -1);
  StandInDeviceControl disk;
  vm.set_device_controls({{"blk0", disk.launcher_end.get()}});
  disk.answer(1, devctl::ControlStatus::kRefused);
  const api::PatchDrive patch{"blk0", {bucket(65536, 100), std::nullopt}};
  const api::Reply refused = vm.handle(patch).reply;
  EXPECT_EQ(refused.status, 500);
  EXPECT_NE(refused.body.find("refused"), std::string::npos) << refused.body;
  disk.wait();
  EXPECT_EQ(vm.handle(api::GetVmConfig{}).reply.body.find("65536"), std::string::npos) << "not applied";

  // Silent: 500 after the bounded wait, and the channel is given up (no second wait).
  const auto begin = std::chrono::steady_clock::now();
  const api::Reply silent = vm.handle(patch).reply;
  EXPECT_EQ(silent.status, 500);
  EXPECT_NE(silent.body.find("did not answer"), std::string::npos) << silent.body;
  EXPECT_LT(std::chrono::steady_clock::now() - begin, std::chrono::seconds(3));
  EXPECT_EQ(vm.handle(patch).reply.status, 500);
}

// PATCH /vm: Pause reaches every device after the monitor paused the vCPUs, Resume before it
// resumes them; a pause the monitor refuses pauses no device.
TEST(VmApiDevicePause, DevicesPauseAfterTheMonitorAndResumeBeforeIt) {
  const HostConfig host = host_with_tx_ceiling();
  VmApi vm(host, OperatorChoices{"vm-1", "", {}}, "vm-1");
  const LaunchConfig config = running_vm_with_disk_and_nic();
  int pair[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair), 0);
  UniqueFd monitor_launcher_end(pair[0]), monitor_end(pair[1]);
  vm.set_running(&config, monitor_launcher_end.get());
  StandInDeviceControl::Log log;
  StandInDeviceControl disk, nic;
  disk.log = nic.log = &log;
  disk.name = "blk0";
  nic.name = "net0";
  vm.set_device_controls({{"blk0", disk.launcher_end.get()}, {"net0", nic.launcher_end.get()}});
  disk.answer(2, devctl::ControlStatus::kOk);
  nic.answer(2, devctl::ControlStatus::kOk);
  std::thread monitor = stand_in_monitor(monitor_end.get(), 2, 204, log);
  EXPECT_EQ(vm.handle(api::SetVmState{true}).reply.status, 204);
  EXPECT_EQ(vm.state(), VmApiState::kPaused);
  EXPECT_EQ(vm.handle(api::SetVmState{false}).reply.status, 204);
  EXPECT_EQ(vm.state(), VmApiState::kRunning);
  monitor.join();
  disk.wait();
  nic.wait();
  EXPECT_EQ(log.lines, (std::vector<std::string>{"monitor pause", "blk0 Pause", "net0 Pause", "blk0 Resume", "net0 Resume",
                                                 "monitor resume"}));

  // The monitor refuses a pause: no device is paused.
  log.lines.clear();
  StandInDeviceControl quiet;
  quiet.log = &log;
  quiet.name = "blk0";
  vm.set_device_controls({{"blk0", quiet.launcher_end.get()}});
  quiet.answer(1, devctl::ControlStatus::kOk);
  std::thread refusing = stand_in_monitor(monitor_end.get(), 1, 400, log);
  EXPECT_EQ(vm.handle(api::SetVmState{true}).reply.status, 400);
  refusing.join();
  EXPECT_EQ(log.lines, std::vector<std::string>{"monitor pause"});
  quiet.launcher_end.reset();  // ends the stand-in's wait
}

// GET /metrics: each device's GetStats answer as its own samples; a silent device has none and
// costs one bounded wait.
TEST(VmApiDeviceMetrics, EachDevicesCountersAreSamplesAndASilentOneHasNone) {
  const HostConfig host = host_with_tx_ceiling();
  VmApi vm(host, OperatorChoices{"vm-1", "", {}}, "vm-1");
  const LaunchConfig config = running_vm_with_disk_and_nic();
  vm.set_running(&config, -1);
  StandInDeviceControl disk, nic;
  vm.set_device_controls({{"blk0", disk.launcher_end.get()}, {"net0", nic.launcher_end.get()}});
  disk.answer(1, devctl::ControlStatus::kOk);
  const auto begin = std::chrono::steady_clock::now();
  const api::Reply metrics = vm.handle(api::GetMetrics{}).reply;
  EXPECT_LT(std::chrono::steady_clock::now() - begin, std::chrono::seconds(3));
  disk.wait();
  ASSERT_TRUE(disk.last.has_value());
  EXPECT_EQ(disk.last->op, devctl::Op::kGetStats);
  EXPECT_EQ(metrics.status, 200);
  EXPECT_NE(metrics.body.find("bulwark_block_read_count_total{device=\"blk0\"} 0\n"), std::string::npos) << metrics.body;
  EXPECT_EQ(metrics.body.find("device=\"net0\""), std::string::npos) << "the silent NIC: " << metrics.body;
}

}  // namespace
}  // namespace bulwark::jail
