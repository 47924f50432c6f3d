// The device control channel's messages: what the launcher sends a device process on the
// socket it gave it with --control-fd (SetRateLimit, GetRateLimit) and the device's answer.
// Whose input: the launcher's (root, trusted; a compromised launcher is out of scope), but the
// decoder still bounds every field and refuses anything it does not know. Fixed size, little
// endian; the layout is in devices/README.md ("Control channel"). Pure: no syscalls.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "bulwark/common/result.h"
#include "devices/ratelimit/bucket_spec.h"

namespace bulwark::devctl {

inline constexpr size_t kMessageBytes = 104;  // commands and replies alike
inline constexpr uint16_t kVersion = 1;
inline constexpr size_t kBuckets = 4;
// Bounds on a bucket (the launcher's own: jailer/net_config.h kMaxBucketSize, kMaxRefillTimeMs).
inline constexpr uint64_t kMaxBucketSize = uint64_t{1} << 40;
inline constexpr uint64_t kMaxRefillTimeMs = 3'600'000;

enum class Op : uint16_t { kSetRateLimit = 1, kGetRateLimit = 2 };
enum class ControlStatus : uint16_t {
  kOk = 0,
  kMalformed = 1,    // the command did not decode (nothing changed)
  kUnsupported = 2,  // this device has no such command
  kRefused = 3,      // well formed, but not for this device (e.g. rx buckets to a disk)
};

// The buckets, by device: bulwark-dev-blk [0] bytes, [1] requests, [2] and [3] unlimited;
// bulwark-dev-net [0] rx bytes, [1] rx packets, [2] tx bytes, [3] tx packets. An unlimited
// bucket (size 0) removes that limit.
using Buckets = std::array<ratelimit::BucketSpec, kBuckets>;

struct ControlCommand {
  Op op = Op::kGetRateLimit;
  Buckets buckets{};  // SetRateLimit: the new limits; GetRateLimit: all zero
};

struct ControlReply {
  ControlStatus status = ControlStatus::kOk;
  Buckets buckets{};  // the device's limits after the command (zero unless kOk)
};

using Message = std::array<uint8_t, kMessageBytes>;

Message encode_command(const ControlCommand& command);
// Exactly kMessageBytes, version 1, a known op, reserved bytes zero, every bucket within the
// bounds (size 0 with refill and burst 0; else refill 1..kMaxRefillTimeMs), GetRateLimit's
// buckets zero.
Result<ControlCommand> decode_command(std::span<const uint8_t> bytes);

Message encode_reply(const ControlReply& reply);
Result<ControlReply> decode_reply(std::span<const uint8_t> bytes);

const char* status_name(ControlStatus status);
// "SIZE:REFILL_MS:BURST" or "none", for log lines.
std::string describe_bucket(const ratelimit::BucketSpec& bucket);

}  // namespace bulwark::devctl
