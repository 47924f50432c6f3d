#include "jailer/api/device_metrics.h"

#include <cstddef>

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

}  // namespace bulwark::jail
