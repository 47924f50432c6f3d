// GET /metrics' per-device families: the counters each disk and NIC process answers GetStats
// with (devices/control/control_message.h), as Prometheus text with a `device` label ("blk0",
// "net0": the launcher's names, as in the log's process names). Whose input: the counters are a
// jailed device process's (a process the guest drives): any value is only a number printed here,
// and each answer is one fixed-size message decoded strictly (devctl::decode_reply).
// request_device_stats asks the devices; the rest only formats what they said.
#pragma once

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "devices/control/control_message.h"
#include "jailer/api/device_control.h"

namespace bulwark::jail {

enum class StatsKind { kBlock, kNet };

struct DeviceStats {
  std::string name;  // "blk0", "net0"
  StatsKind kind = StatsKind::kBlock;
  devctl::Counters counters{};
};

// The kind a launcher device name says ("blk..." a disk, "net..." a NIC); false for others.
bool device_kind_of(const std::string& name, StatsKind& kind);

// GetStats to every disk and NIC in `controls` (name -> the launcher's end of its control
// channel, VmDevices::control_fds) at once, then their answers as they come, until all are in or
// one deadline `timeout` after the asking: N silent devices cost one wait, not N. A device that
// does not answer by then, answers garbage or is closed has no sample (never a made-up 0) and its
// channel is given up (set to -1), as device_control_request does: a late answer would otherwise
// be read as the next command's. Samples in `controls`' (name) order.
//
// Why the timeout stays kDeviceControlTimeout (1 s) rather than lower: a device answers from its
// one event loop, which may be inside a synchronous disk read or flush on a loaded host for
// hundreds of milliseconds, and giving a channel up is for the rest of the VM's life (no more
// PATCH rate limits, pause or counters for that device). With the deadline shared, 1 s is the
// whole of GET /metrics' worst case, however many devices there are.
std::vector<DeviceStats> request_device_stats(std::map<std::string, int>& controls,
                                              std::chrono::milliseconds timeout = kDeviceControlTimeout);

// Each family once (HELP, TYPE, one sample per device of its kind); nothing for no devices.
// Names follow Firecracker's block and net metrics where it has one (read_count, ...).
std::string device_metrics_text(const std::vector<DeviceStats>& devices);
// The same for PUT /metrics' JSON lines: {"blk0": {"read_count": N, ...}, ...} (Firecracker's
// names without the prefix and _total).
nlohmann::ordered_json device_metrics_json(const std::vector<DeviceStats>& devices);

// The launcher's own counts per device process (device_supervisor.h): restarts after it died,
// and seccomp kills (never restarted).
struct DeviceSupervisionCounts {
  std::string name;  // "blk0", "net0", "rng", "vsock"
  uint64_t restarts = 0;
  uint64_t seccomp_kills = 0;
};
// bulwark_device_restarts_total and bulwark_device_seccomp_kills_total, a sample per device.
std::string device_supervision_metrics_text(const std::vector<DeviceSupervisionCounts>& devices);

}  // namespace bulwark::jail
