// GET /metrics' per-device families: the counters each disk and NIC process answers GetStats
// with (devices/control/control_message.h), as Prometheus text with a `device` label ("blk0",
// "net0": the launcher's names, as in the log's process names). Whose input: the counters are a
// jailed device process's (a process the guest drives): any value is only a number printed here.
// Pure: the launcher asks the devices (vm_api.cc) and this formats what they said.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "devices/control/control_message.h"

namespace bulwark::jail {

enum class StatsKind { kBlock, kNet };

struct DeviceStats {
  std::string name;  // "blk0", "net0"
  StatsKind kind = StatsKind::kBlock;
  devctl::Counters counters{};
};

// The kind a launcher device name says ("blk..." a disk, "net..." a NIC); false for others.
bool device_kind_of(const std::string& name, StatsKind& kind);

// Each family once (HELP, TYPE, one sample per device of its kind); nothing for no devices.
// Names follow Firecracker's block and net metrics where it has one (read_count, ...).
std::string device_metrics_text(const std::vector<DeviceStats>& devices);
// The same for PUT /metrics' JSON lines: {"blk0": {"read_count": N, ...}, ...} (Firecracker's
// names without the prefix and _total).
nlohmann::ordered_json device_metrics_json(const std::vector<DeviceStats>& devices);

}  // namespace bulwark::jail
