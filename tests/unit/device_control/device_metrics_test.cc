// GET /metrics' per-device families (jailer/api/device_metrics.h), read back with Prometheus's
// own parser (python3's prometheus_client): each family once, one sample per device, the
// `device` label naming it; PUT /metrics' JSON shape alike.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "jailer/api/device_metrics.h"

namespace bulwark::jail {
namespace {

std::vector<DeviceStats> two_disks_and_a_nic() {
  DeviceStats blk0{"blk0", StatsKind::kBlock, {}};
  blk0.counters[devctl::kBlkReadRequests] = 3;
  blk0.counters[devctl::kBlkWriteBytes] = 4096;
  blk0.counters[devctl::kBlkThrottled] = 7;
  DeviceStats blk1{"blk1", StatsKind::kBlock, {}};
  blk1.counters[devctl::kBlkErrors] = 2;
  DeviceStats net0{"net0", StatsKind::kNet, {}};
  net0.counters[devctl::kNetTxFrames] = 11;
  net0.counters[devctl::kNetFilterDrops] = 1;
  net0.counters[devctl::kNetRxThrottled] = 5;
  return {blk0, blk1, net0};
}

// Runs python3 on `script` with the metrics text in a file as argv[1]; its stdout.
std::string parse_with_prometheus_client(const std::string& text, const std::string& script) {
  char path[] = "/tmp/bulwark-device-metrics-XXXXXX";
  const int fd = ::mkstemp(path);
  EXPECT_GE(fd, 0);
  ::close(fd);
  std::ofstream(path) << text;
  const std::string command = "/usr/bin/python3 -c '" + script + "' " + path + " 2>&1";
  std::string out;
  if (FILE* pipe = ::popen(command.c_str(), "r")) {
    char buffer[4096];
    size_t n;
    while ((n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0) out.append(buffer, n);
    EXPECT_EQ(::pclose(pipe), 0) << out;
  }
  ::unlink(path);
  return out;
}

TEST(DeviceMetrics, PrometheusParsesOneCounterFamilyPerCounterWithADeviceLabel) {
  if (::access("/usr/bin/python3", X_OK) != 0) GTEST_SKIP() << "needs python3";
  const std::string text = device_metrics_text(two_disks_and_a_nic());
  const std::string out = parse_with_prometheus_client(
      text,
      "import sys\nfrom prometheus_client.parser import text_string_to_metric_families as p\n"
      "for f in p(open(sys.argv[1]).read()):\n"
      "  for s in f.samples:\n"
      "    print(f.type, s.name, s.labels[\"device\"], int(s.value))\n");
  EXPECT_NE(out.find("counter bulwark_block_read_count_total blk0 3\n"), std::string::npos) << out;
  EXPECT_NE(out.find("counter bulwark_block_read_count_total blk1 0\n"), std::string::npos) << out;
  EXPECT_NE(out.find("counter bulwark_block_write_bytes_total blk0 4096\n"), std::string::npos) << out;
  EXPECT_NE(out.find("counter bulwark_block_execute_fails_total blk1 2\n"), std::string::npos) << out;
  EXPECT_NE(out.find("counter bulwark_block_rate_limiter_throttled_events_total blk0 7\n"), std::string::npos) << out;
  EXPECT_NE(out.find("counter bulwark_net_tx_packets_count_total net0 11\n"), std::string::npos) << out;
  EXPECT_NE(out.find("counter bulwark_net_filter_drops_total net0 1\n"), std::string::npos) << out;
  EXPECT_NE(out.find("counter bulwark_net_rx_rate_limiter_throttled_total net0 5\n"), std::string::npos) << out;
  EXPECT_EQ(out.find("bulwark_net_tx_packets_count_total blk"), std::string::npos) << "a NIC family for a disk: " << out;
  EXPECT_EQ(out.find("bulwark_block_read_count_total net"), std::string::npos) << "a disk family for a NIC: " << out;
}

TEST(DeviceMetrics, NoDevicesNoFamiliesAndOnlyDisksNoNicFamilies) {
  EXPECT_EQ(device_metrics_text({}), "");
  const std::string disks_only = device_metrics_text({DeviceStats{"blk0", StatsKind::kBlock, {}}});
  EXPECT_NE(disks_only.find("bulwark_block_flush_count_total{device=\"blk0\"} 0\n"), std::string::npos) << disks_only;
  EXPECT_EQ(disks_only.find("bulwark_net_"), std::string::npos) << disks_only;
}

TEST(DeviceMetrics, TheJsonLinesUseFirecrackersNamesPerDevice) {
  const nlohmann::ordered_json json = device_metrics_json(two_disks_and_a_nic());
  EXPECT_EQ(json["blk0"]["read_count"], 3);
  EXPECT_EQ(json["blk0"]["write_bytes"], 4096);
  EXPECT_EQ(json["blk1"]["execute_fails"], 2);
  EXPECT_EQ(json["net0"]["tx_packets_count"], 11);
  EXPECT_EQ(json["net0"]["rx_rate_limiter_throttled"], 5);
  EXPECT_FALSE(json["net0"].contains("read_count"));
}

TEST(DeviceMetrics, DeviceKindComesFromTheLaunchersName) {
  StatsKind kind = StatsKind::kNet;
  EXPECT_TRUE(device_kind_of("blk3", kind));
  EXPECT_EQ(kind, StatsKind::kBlock);
  EXPECT_TRUE(device_kind_of("net0", kind));
  EXPECT_EQ(kind, StatsKind::kNet);
  EXPECT_FALSE(device_kind_of("rng", kind));
}

}  // namespace
}  // namespace bulwark::jail
