#include "jailer/api/device_metrics.h"

#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstddef>
#include <optional>

namespace bulwark::jail {

namespace {

struct Family {
  StatsKind kind;
  size_t slot;  // index into devctl::Counters
  const char* name;
  const char* help;
};

// Firecracker's names (its BlockDeviceMetrics and NetDeviceMetrics) with Bulwark's prefix and
// Prometheus's _total; the two filter counters are Bulwark's own.
constexpr Family kFamilies[] = {
    {StatsKind::kBlock, devctl::kBlkReadRequests, "bulwark_block_read_count_total", "Read requests served."},
    {StatsKind::kBlock, devctl::kBlkWriteRequests, "bulwark_block_write_count_total", "Write requests served."},
    {StatsKind::kBlock, devctl::kBlkFlushRequests, "bulwark_block_flush_count_total", "Flush requests served."},
    {StatsKind::kBlock, devctl::kBlkReadBytes, "bulwark_block_read_bytes_total", "Bytes read by requests that succeeded."},
    {StatsKind::kBlock, devctl::kBlkWriteBytes, "bulwark_block_write_bytes_total", "Bytes written by requests that succeeded."},
    {StatsKind::kBlock, devctl::kBlkErrors, "bulwark_block_execute_fails_total", "Requests answered IOERR or UNSUPP."},
    {StatsKind::kBlock, devctl::kBlkThrottled, "bulwark_block_rate_limiter_throttled_events_total",
     "Times the rate limiter held a request back."},
    {StatsKind::kNet, devctl::kNetRxFrames, "bulwark_net_rx_packets_count_total", "Frames given to the guest."},
    {StatsKind::kNet, devctl::kNetRxBytes, "bulwark_net_rx_bytes_count_total", "Bytes of frames given to the guest."},
    {StatsKind::kNet, devctl::kNetTxFrames, "bulwark_net_tx_packets_count_total", "Frames the guest sent out."},
    {StatsKind::kNet, devctl::kNetTxBytes, "bulwark_net_tx_bytes_count_total", "Bytes of frames the guest sent out."},
    {StatsKind::kNet, devctl::kNetDrops, "bulwark_net_device_drops_total",
     "Frames and control commands the device refused (malformed, oversized, TAP errors)."},
    {StatsKind::kNet, devctl::kNetFilterDrops, "bulwark_net_filter_drops_total",
     "Frames the anti-spoofing filter dropped, both directions."},
    {StatsKind::kNet, devctl::kNetRxThrottled, "bulwark_net_rx_rate_limiter_throttled_total",
     "Times the receive rate limiter made the device wait."},
    {StatsKind::kNet, devctl::kNetTxThrottled, "bulwark_net_tx_rate_limiter_throttled_total",
     "Times the transmit rate limiter made the device wait."},
};

}  // namespace

namespace {

// One device asked for its counters: its answer so far, then the sample (or nothing).
struct StatsRequest {
  const std::string* name;
  int* fd;
  StatsKind kind;
  devctl::Message answer{};
  size_t have = 0;
  bool waiting = true;
  std::optional<devctl::Counters> counters;

  void give_up() {
    *fd = -1;
    waiting = false;
  }
  // Reads what the channel has (poll said it is readable or closed).
  void read_some() {
    const ssize_t n = ::recv(*fd, answer.data() + have, answer.size() - have, MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
    if (n <= 0) return give_up();  // closed, or an error
    have += static_cast<size_t>(n);
    if (have < answer.size()) return;
    waiting = false;
    auto reply = devctl::decode_reply(answer, devctl::Op::kGetStats);
    if (!reply.ok()) return give_up();
    if (reply->status == devctl::ControlStatus::kOk) counters = reply->counters;
  }
};

}  // namespace

std::vector<DeviceStats> request_device_stats(std::map<std::string, int>& controls, std::chrono::milliseconds timeout) {
  const devctl::Message question = devctl::encode_command(devctl::ControlCommand{devctl::Op::kGetStats, {}});
  std::vector<StatsRequest> requests;
  for (auto& [name, fd] : controls) {
    StatsKind kind = StatsKind::kBlock;
    if (fd < 0 || !device_kind_of(name, kind)) continue;
    if (::send(fd, question.data(), question.size(), MSG_NOSIGNAL | MSG_DONTWAIT) != static_cast<ssize_t>(question.size())) {
      fd = -1;  // closed (or a full buffer: an earlier answer never read), as device_control_request
      continue;
    }
    requests.push_back(StatsRequest{&name, &fd, kind, {}, 0, true, std::nullopt});
  }
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::vector<pollfd> fds;
  std::vector<StatsRequest*> polled;
  for (;;) {
    fds.clear();
    polled.clear();
    for (StatsRequest& request : requests) {
      if (!request.waiting) continue;
      fds.push_back({*request.fd, POLLIN, 0});
      polled.push_back(&request);
    }
    if (fds.empty()) break;
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    const int ready = ::poll(fds.data(), fds.size(), static_cast<int>(left.count()));
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) break;
    for (size_t i = 0; i < fds.size(); ++i) {
      if (fds[i].revents != 0) polled[i]->read_some();
    }
  }
  std::vector<DeviceStats> out;
  for (StatsRequest& request : requests) {
    if (request.waiting) request.give_up();  // silent until the deadline
    if (request.counters) out.push_back(DeviceStats{*request.name, request.kind, *request.counters});
  }
  return out;
}

bool device_kind_of(const std::string& name, StatsKind& kind) {
  if (name.compare(0, 3, "blk") == 0) {
    kind = StatsKind::kBlock;
    return true;
  }
  if (name.compare(0, 3, "net") == 0) {
    kind = StatsKind::kNet;
    return true;
  }
  return false;
}

std::string device_metrics_text(const std::vector<DeviceStats>& devices) {
  std::string text;
  for (const Family& family : kFamilies) {
    std::string samples;
    for (const DeviceStats& device : devices) {
      if (device.kind != family.kind) continue;
      samples += std::string(family.name) + "{device=\"" + device.name + "\"} " +
                 std::to_string(device.counters[family.slot]) + "\n";
    }
    if (samples.empty()) continue;
    // As vm_api.cc's own counters: HELP and TYPE name the samples' name, _total included.
    text += "# HELP " + std::string(family.name) + " " + family.help + "\n# TYPE " + family.name + " counter\n" + samples;
  }
  return text;
}

nlohmann::ordered_json device_metrics_json(const std::vector<DeviceStats>& devices) {
  nlohmann::ordered_json out = nlohmann::ordered_json::object();
  for (const DeviceStats& device : devices) {
    nlohmann::ordered_json counters = nlohmann::ordered_json::object();
    const std::string prefix = device.kind == StatsKind::kBlock ? "bulwark_block_" : "bulwark_net_";
    for (const Family& family : kFamilies) {
      if (family.kind != device.kind) continue;
      const std::string name(family.name);
      counters[name.substr(prefix.size(), name.size() - prefix.size() - 6)] = device.counters[family.slot];
    }
    out[device.name] = std::move(counters);
  }
  return out;
}

std::string device_supervision_metrics_text(const std::vector<DeviceSupervisionCounts>& devices) {
  if (devices.empty()) return "";
  std::string restarts, kills;
  for (const DeviceSupervisionCounts& device : devices) {
    const std::string label = "{device=\"" + device.name + "\"} ";
    restarts += "bulwark_device_restarts_total" + label + std::to_string(device.restarts) + "\n";
    kills += "bulwark_device_seccomp_kills_total" + label + std::to_string(device.seccomp_kills) + "\n";
  }
  return "# HELP bulwark_device_restarts_total Times the launcher replaced the device's process after it died.\n"
         "# TYPE bulwark_device_restarts_total counter\n" + restarts +
         "# HELP bulwark_device_seccomp_kills_total Times the device's process was killed by seccomp (never restarted).\n"
         "# TYPE bulwark_device_seccomp_kills_total counter\n" + kills;
}

}  // namespace bulwark::jail
