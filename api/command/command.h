// The commands bulwark-api sends to the launcher, and the launcher's replies: the whole
// vocabulary between the process that parses HTTP and JSON (bulwark-api, jailed) and the
// processes that must never parse either (the launcher, root; the monitor). Typed, bounded
// values only: bulwark-api has already parsed and range-checked each request body, and the
// launcher checks them again against the operator's ceilings (the same code path as a vm.json).
//
// Trust: the API client is the operator's control plane; bulwark-api may be compromised (it
// parses the client's bytes), so the launcher decodes every message as hostile
// (decode_command) and the API process decodes the launcher's replies (decode_reply).
//
// Wire format (api/command/README.md): one message per SOCK_SEQPACKET datagram, at
// most kMaxMessageBytes:
//   u32 magic "BWC1" (commands) or "BWR1" (replies), little endian
//   u16 kind (CommandKind; replies: 0)
//   then fields, each: u16 tag, u32 length, `length` bytes (strings: UTF-8 without NUL;
//   integers: u64 little endian, 8 bytes; booleans: one byte 0 or 1)
// Tags are defined per kind in command_schema.h; ascending, each at most once; an unknown tag,
// a missing required field, a wrong length, a value out of range or trailing bytes refuse the
// message.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include "bulwark/common/result.h"

namespace bulwark::api {

// 192 KiB: room for the largest reply, `bulwark policy show --json` for GET /policy (123 KB
// with ten process kinds), and still below a unix socket's default send buffer (212,992 bytes;
// a datagram must fit in it whole).
inline constexpr size_t kMaxMessageBytes = 192 * 1024;
inline constexpr size_t kMaxPathBytes = 4096;      // a host path or a name in an operator dir
inline constexpr size_t kMaxBootArgsBytes = 2048;  // the kernel command line
inline constexpr size_t kMaxIdBytes = 64;          // drive_id, iface_id
inline constexpr size_t kMaxShortTextBytes = 64;   // MACs, levels, cpu templates, formats

// Firecracker's TokenBucket: size 0 means no limit in that dimension.
struct TokenBucket {
  uint64_t size = 0;
  uint64_t refill_time_ms = 0;
  uint64_t one_time_burst = 0;
  friend bool operator==(const TokenBucket&, const TokenBucket&) = default;
};
// Firecracker's RateLimiter: bandwidth in bytes, ops in requests or packets.
struct RateLimiter {
  std::optional<TokenBucket> bandwidth;
  std::optional<TokenBucket> ops;
  friend bool operator==(const RateLimiter&, const RateLimiter&) = default;
};

// ---- pre-boot (launcher; refused with 400 once the VM has started) ----
struct PutBootSource {            // PUT /boot-source
  std::string kernel_image_path;  // required
  std::string initrd_path;        // "" = none
  std::string boot_args;          // "" = the default command line
  friend bool operator==(const PutBootSource&, const PutBootSource&) = default;
};
struct PutMachineConfig {  // PUT /machine-config
  uint64_t vcpu_count = 1;     // 1 .. 32
  uint64_t mem_size_mib = 128; // 1 .. 1048576 (the operator's ceiling applies later)
  bool smt = false;            // Bulwark accepts only false (no SMT topology)
  bool track_dirty_pages = false;
  std::string cpu_template;    // "" or a template name the monitor knows
  friend bool operator==(const PutMachineConfig&, const PutMachineConfig&) = default;
};
struct PutDrive {  // PUT /drives/{drive_id}
  std::string drive_id;       // from the path; 1..64 of [A-Za-z0-9_-]; the body's must match
  std::string path_on_host;   // resolved inside the host config's api.image_dirs
  bool is_root_device = false;
  bool is_read_only = false;
  std::string format;         // Bulwark's: "" or "raw" or "qcow2"
  RateLimiter rate_limiter;
  friend bool operator==(const PutDrive&, const PutDrive&) = default;
};
struct PutNetworkInterface {  // PUT /network-interfaces/{iface_id}
  std::string iface_id;       // as drive_id, at most 15 bytes (a NIC id)
  std::string guest_mac;      // "" = derived from the VM id
  std::string host_dev_name;  // Firecracker's; Bulwark makes the TAP itself, so this is only
                              // reported back (GET /vm/config shows the TAP actually made)
  RateLimiter rx_rate_limiter, tx_rate_limiter;
  friend bool operator==(const PutNetworkInterface&, const PutNetworkInterface&) = default;
};
struct PutEntropy {  // PUT /entropy
  RateLimiter rate_limiter;
  friend bool operator==(const PutEntropy&, const PutEntropy&) = default;
};
struct InstanceStart {  // PUT /actions {"action_type": "InstanceStart"}
  friend bool operator==(const InstanceStart&, const InstanceStart&) = default;
};

// ---- any time (launcher answers; run-time ones the launcher relays to the monitor) ----
struct GetInstanceInfo {  // GET /
  friend bool operator==(const GetInstanceInfo&, const GetInstanceInfo&) = default;
};
struct GetMachineConfig {  // GET /machine-config
  friend bool operator==(const GetMachineConfig&, const GetMachineConfig&) = default;
};
struct GetVmConfig {  // GET /vm/config
  friend bool operator==(const GetVmConfig&, const GetVmConfig&) = default;
};
struct SetVmState {  // PATCH /vm {"state": "Paused" | "Resumed"}
  bool paused = false;
  friend bool operator==(const SetVmState&, const SetVmState&) = default;
};
struct SendCtrlAltDel {  // PUT /actions {"action_type": "SendCtrlAltDel"}
  friend bool operator==(const SendCtrlAltDel&, const SendCtrlAltDel&) = default;
};
struct FlushMetrics {  // PUT /actions {"action_type": "FlushMetrics"}
  friend bool operator==(const FlushMetrics&, const FlushMetrics&) = default;
};
struct Shutdown {  // PUT /actions {"action_type": "Shutdown", "timeout_s": N} (Bulwark's)
  uint64_t timeout_s = 10;  // 1 .. 3600
  friend bool operator==(const Shutdown&, const Shutdown&) = default;
};
struct PatchDrive {  // PATCH /drives/{drive_id} {"drive_id", "rate_limiter"}
  std::string drive_id;
  RateLimiter rate_limiter;
  friend bool operator==(const PatchDrive&, const PatchDrive&) = default;
};
struct PatchNetworkInterface {  // PATCH /network-interfaces/{iface_id}
  std::string iface_id;
  RateLimiter rx_rate_limiter, tx_rate_limiter;
  friend bool operator==(const PatchNetworkInterface&, const PatchNetworkInterface&) = default;
};
struct PutLogger {  // PUT /logger
  std::string log_path;  // a name resolved inside the host config's api.output_dirs
  std::string level;     // "" (Info) or Error, Warning, Info, Debug, Trace, Off (Firecracker's)
  bool show_level = false, show_log_origin = false;
  std::string module;    // Firecracker's module filter: the launcher refuses any but ""
  friend bool operator==(const PutLogger&, const PutLogger&) = default;
};
struct PutMetrics {  // PUT /metrics
  std::string metrics_path;  // as log_path
  friend bool operator==(const PutMetrics&, const PutMetrics&) = default;
};
struct GetMetrics {  // GET /metrics (Prometheus text)
  friend bool operator==(const GetMetrics&, const GetMetrics&) = default;
};
struct GetPolicy {  // GET /policy (Bulwark's: what this VM's processes run with)
  friend bool operator==(const GetPolicy&, const GetPolicy&) = default;
};
struct PutVsock {  // PUT /vsock (Firecracker's shape; pre-boot)
  std::string vsock_id;  // Firecracker's deprecated id: "" or an id, only reported back
  uint64_t guest_cid = 3;  // 3 .. 2^32-2 (0-2 and u32 max are reserved by virtio-vsock)
  std::string uds_path;  // a name resolved inside the host config's vsock.dir, never a path
  friend bool operator==(const PutVsock&, const PutVsock&) = default;
};
struct PutTpm {  // PUT /tpm {"enabled": bool} (Bulwark's; pre-boot; vm.json's "tpm")
  bool enabled = false;
  friend bool operator==(const PutTpm&, const PutTpm&) = default;
};
struct GetAttestation {  // GET /attestation (Bulwark's: the signed launch report)
  friend bool operator==(const GetAttestation&, const GetAttestation&) = default;
};
// Launcher to monitor only, never from bulwark-api (the launcher refuses it from the API):
// the device at `device_index` (the order of the monitor's device fds) has a fresh process;
// its connected vhost-user socket travels with the datagram as one SCM_RIGHTS fd.
struct ReplaceDevice {
  uint64_t device_index = 0;  // 0 .. 63
  friend bool operator==(const ReplaceDevice&, const ReplaceDevice&) = default;
};

// The variant's alternative order is the wire kind minus one: never reorder, only append.
using Command =
    std::variant<PutBootSource, PutMachineConfig, PutDrive, PutNetworkInterface, PutEntropy,
                 InstanceStart, GetInstanceInfo, GetMachineConfig, GetVmConfig, SetVmState,
                 SendCtrlAltDel, FlushMetrics, Shutdown, PatchDrive, PatchNetworkInterface,
                 PutLogger, PutMetrics, GetMetrics, GetPolicy, PutVsock, PutTpm, GetAttestation,
                 ReplaceDevice>;

// "PutBootSource", ... for logs.
const char* command_name(const Command& command);

// The launcher's answer to one command. The launcher builds JSON bodies itself (it never parses
// request JSON); bulwark-api passes them through and wraps faults in Firecracker's shape.
struct Reply {
  enum class Body : uint8_t { kNone = 0, kJson = 1, kPrometheus = 2, kFault = 3 };
  uint16_t status = 204;  // the HTTP status to answer with: 200, 204, 400, 404, 409, 500, 501, 503
  Body body_kind = Body::kNone;
  std::string body;  // JSON text, Prometheus text, or the fault message (plain text)
  friend bool operator==(const Reply&, const Reply&) = default;
};

std::vector<uint8_t> encode_command(const Command& command);
// Refuses anything encode_command would not produce, with a message naming the field.
Result<Command> decode_command(std::span<const uint8_t> bytes);
std::vector<uint8_t> encode_reply(const Reply& reply);
Result<Reply> decode_reply(std::span<const uint8_t> bytes);

}  // namespace bulwark::api
