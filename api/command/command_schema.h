// The tags, names and bounds of every command record on the command channel (the tag table in
// api/command/README.md). The launcher decodes these from a possibly compromised bulwark-api;
// the bounds here are the wire's, the launcher applies the operator's ceilings afterwards.
// Tags within a record are ascending and never reused: append new ones, never renumber.
#pragma once

#include <limits>
#include <optional>
#include <string>

#include "api/command/command.h"
#include "api/command/wire_fields.h"

namespace bulwark::api::wire {

inline constexpr TextRule kRequiredPathRule{1, kMaxPathBytes, TextCharset::kPlain};
inline constexpr TextRule kOptionalPathRule{0, kMaxPathBytes, TextCharset::kPlain};
inline constexpr TextRule kBootArgsRule{0, kMaxBootArgsBytes, TextCharset::kPlain};
inline constexpr TextRule kShortTextRule{0, kMaxShortTextBytes, TextCharset::kPlain};
static_assert(kIdRule.max_bytes == kMaxIdBytes);

inline constexpr uint64_t kMaxBucketTokens = uint64_t{1} << 53;  // exact in a JSON double
inline constexpr uint64_t kMaxRefillTimeMs = 3'600'000;          // one hour
inline constexpr U64Range kVcpuCountRange{1, 32};
inline constexpr U64Range kMemSizeMibRange{1, 1'048'576};
inline constexpr U64Range kShutdownTimeoutRange{1, 3600};
inline constexpr U64Range kGuestCidRange{3, 0xFFFF'FFFEull};
inline constexpr U64Range kDeviceIndexRange{0, 63};

template <>
struct Schema<TokenBucket> {
  template <typename Self, typename V>
  static void fields(Self& r, V& v) {
    v.u64(1, "size", r.size, U64Range{0, kMaxBucketTokens});
    v.u64(2, "refill_time_ms", r.refill_time_ms, U64Range{0, kMaxRefillTimeMs});
    v.u64(3, "one_time_burst", r.one_time_burst, U64Range{0, kMaxBucketTokens});
  }
  static std::optional<std::string> check(const TokenBucket& bucket) {
    if (bucket.size != 0 && bucket.refill_time_ms == 0)
      return "refill_time_ms: 0 with size " + std::to_string(bucket.size) +
             " (a bucket with a size needs a refill time)";
    return std::nullopt;
  }
};

template <>
struct Schema<RateLimiter> {
  template <typename Self, typename V>
  static void fields(Self& r, V& v) {
    v.optional_record(1, "bandwidth", r.bandwidth);
    v.optional_record(2, "ops", r.ops);
  }
};

// Commands without fields: any field in one is an unknown tag.
struct NoFields {
  template <typename Self, typename V>
  static void fields(Self&, V&) {}
};
template <>
struct Schema<InstanceStart> : NoFields {
  static constexpr const char* kName = "InstanceStart";
};
template <>
struct Schema<GetInstanceInfo> : NoFields {
  static constexpr const char* kName = "GetInstanceInfo";
};
template <>
struct Schema<GetMachineConfig> : NoFields {
  static constexpr const char* kName = "GetMachineConfig";
};
template <>
struct Schema<GetVmConfig> : NoFields {
  static constexpr const char* kName = "GetVmConfig";
};
template <>
struct Schema<SendCtrlAltDel> : NoFields {
  static constexpr const char* kName = "SendCtrlAltDel";
};
template <>
struct Schema<FlushMetrics> : NoFields {
  static constexpr const char* kName = "FlushMetrics";
};
template <>
struct Schema<GetMetrics> : NoFields {
  static constexpr const char* kName = "GetMetrics";
};
template <>
struct Schema<GetPolicy> : NoFields {
  static constexpr const char* kName = "GetPolicy";
};

template <>
struct Schema<GetAttestation> : NoFields {
  static constexpr const char* kName = "GetAttestation";
};

template <>
struct Schema<PutVsock> {
  static constexpr const char* kName = "PutVsock";
  template <typename Self, typename V>
  static void fields(Self& c, V& v) {
    v.text(1, "vsock_id", c.vsock_id, kShortTextRule);
    v.u64(2, "guest_cid", c.guest_cid, kGuestCidRange);
    v.text(3, "uds_path", c.uds_path, kRequiredPathRule);
  }
};

template <>
struct Schema<PutTpm> {
  static constexpr const char* kName = "PutTpm";
  template <typename Self, typename V>
  static void fields(Self& c, V& v) {
    v.boolean(1, "enabled", c.enabled);
  }
};

template <>
struct Schema<ReplaceDevice> {
  static constexpr const char* kName = "ReplaceDevice";
  template <typename Self, typename V>
  static void fields(Self& c, V& v) {
    v.u64(1, "device_index", c.device_index, kDeviceIndexRange);
  }
};

template <>
struct Schema<PutBootSource> {
  static constexpr const char* kName = "PutBootSource";
  template <typename Self, typename V>
  static void fields(Self& c, V& v) {
    v.text(1, "kernel_image_path", c.kernel_image_path, kRequiredPathRule);
    v.text(2, "initrd_path", c.initrd_path, kOptionalPathRule);
    v.text(3, "boot_args", c.boot_args, kBootArgsRule);
  }
};

template <>
struct Schema<PutMachineConfig> {
  static constexpr const char* kName = "PutMachineConfig";
  template <typename Self, typename V>
  static void fields(Self& c, V& v) {
    v.u64(1, "vcpu_count", c.vcpu_count, kVcpuCountRange);
    v.u64(2, "mem_size_mib", c.mem_size_mib, kMemSizeMibRange);
    v.boolean(3, "smt", c.smt);
    v.boolean(4, "track_dirty_pages", c.track_dirty_pages);
    v.text(5, "cpu_template", c.cpu_template, kShortTextRule);
  }
};

template <>
struct Schema<PutDrive> {
  static constexpr const char* kName = "PutDrive";
  template <typename Self, typename V>
  static void fields(Self& c, V& v) {
    v.text(1, "drive_id", c.drive_id, kIdRule);
    v.text(2, "path_on_host", c.path_on_host, kRequiredPathRule);
    v.boolean(3, "is_root_device", c.is_root_device);
    v.boolean(4, "is_read_only", c.is_read_only);
    v.text(5, "format", c.format, kShortTextRule);
    v.record(6, "rate_limiter", c.rate_limiter);
  }
};

template <>
struct Schema<PutNetworkInterface> {
  static constexpr const char* kName = "PutNetworkInterface";
  template <typename Self, typename V>
  static void fields(Self& c, V& v) {
    v.text(1, "iface_id", c.iface_id, kIfaceIdRule);
    v.text(2, "guest_mac", c.guest_mac, kShortTextRule);
    v.text(3, "host_dev_name", c.host_dev_name, kShortTextRule);
    v.record(4, "rx_rate_limiter", c.rx_rate_limiter);
    v.record(5, "tx_rate_limiter", c.tx_rate_limiter);
  }
};

template <>
struct Schema<PutEntropy> {
  static constexpr const char* kName = "PutEntropy";
  template <typename Self, typename V>
  static void fields(Self& c, V& v) {
    v.record(1, "rate_limiter", c.rate_limiter);
  }
};

template <>
struct Schema<SetVmState> {
  static constexpr const char* kName = "SetVmState";
  template <typename Self, typename V>
  static void fields(Self& c, V& v) {
    v.boolean(1, "paused", c.paused);
  }
};

template <>
struct Schema<Shutdown> {
  static constexpr const char* kName = "Shutdown";
  template <typename Self, typename V>
  static void fields(Self& c, V& v) {
    v.u64(1, "timeout_s", c.timeout_s, kShutdownTimeoutRange);
  }
};

template <>
struct Schema<PatchDrive> {
  static constexpr const char* kName = "PatchDrive";
  template <typename Self, typename V>
  static void fields(Self& c, V& v) {
    v.text(1, "drive_id", c.drive_id, kIdRule);
    v.record(2, "rate_limiter", c.rate_limiter);
  }
};

template <>
struct Schema<PatchNetworkInterface> {
  static constexpr const char* kName = "PatchNetworkInterface";
  template <typename Self, typename V>
  static void fields(Self& c, V& v) {
    v.text(1, "iface_id", c.iface_id, kIfaceIdRule);
    v.record(2, "rx_rate_limiter", c.rx_rate_limiter);
    v.record(3, "tx_rate_limiter", c.tx_rate_limiter);
  }
};

template <>
struct Schema<PutLogger> {
  static constexpr const char* kName = "PutLogger";
  template <typename Self, typename V>
  static void fields(Self& c, V& v) {
    v.text(1, "log_path", c.log_path, kOptionalPathRule);
    v.text(2, "level", c.level, kShortTextRule);
    v.boolean(3, "show_level", c.show_level);
    v.boolean(4, "show_log_origin", c.show_log_origin);
    v.text(5, "module", c.module, kShortTextRule);
  }
};

template <>
struct Schema<PutMetrics> {
  static constexpr const char* kName = "PutMetrics";
  template <typename Self, typename V>
  static void fields(Self& c, V& v) {
    v.text(1, "metrics_path", c.metrics_path, kRequiredPathRule);
  }
};

}  // namespace bulwark::api::wire
