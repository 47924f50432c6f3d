// The device control channel's messages: what the launcher sends a device process on the
// socket it gave it with --control-fd (SetRateLimit, GetRateLimit, Pause, Resume, GetStats) and
// the device's answer.
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

// Pause: the device stops taking requests from its rings (what it is serving finishes first;
// kicks meanwhile are kept) until Resume. GetStats: the device's counters (Counters below).
enum class Op : uint16_t { kSetRateLimit = 1, kGetRateLimit = 2, kPause = 3, kResume = 4, kGetStats = 5 };
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

// GetStats' answer: twelve u64 counters where the buckets would be, by device (unused slots 0).
// bulwark-dev-blk: CounterBlk; bulwark-dev-net: CounterNet. Any value decodes (they are counts).
inline constexpr size_t kCounters = 12;
using Counters = std::array<uint64_t, kCounters>;
enum CounterBlk : size_t {
  kBlkReadRequests, kBlkWriteRequests, kBlkFlushRequests, kBlkReadBytes, kBlkWriteBytes,
  kBlkErrors,     // requests answered IOERR or UNSUPP
  kBlkThrottled,  // times the rate limiter held a request back
};
enum CounterNet : size_t {
  kNetRxFrames, kNetRxBytes, kNetTxFrames, kNetTxBytes,
  kNetDrops,        // frames and commands the device refused (drop_log.h DeviceDrop)
  kNetFilterDrops,  // frames the anti-spoofing filter refused, both directions
  kNetRxThrottled, kNetTxThrottled,  // times a direction's rate limiter made it wait
};

struct ControlCommand {
  Op op = Op::kGetRateLimit;
  Buckets buckets{};  // SetRateLimit: the new limits; any other command: all zero
};

struct ControlReply {
  ControlStatus status = ControlStatus::kOk;
  // SetRateLimit and GetRateLimit: the device's limits after the command. Zero unless kOk.
  Buckets buckets{};
  // GetStats: the device's counters. Zero unless kOk.
  Counters counters{};
};

using Message = std::array<uint8_t, kMessageBytes>;

Message encode_command(const ControlCommand& command);
// Exactly kMessageBytes, version 1, a known op, reserved bytes zero, every bucket within the
// bounds (size 0 with refill and burst 0; else refill 1..kMaxRefillTimeMs), the buckets of every
// op but SetRateLimit zero.
Result<ControlCommand> decode_command(std::span<const uint8_t> bytes);

// A reply's body depends on the command it answers (`answered`): GetStats' carries counters,
// Pause's and Resume's nothing (zero), the rate limit commands' buckets (checked as above).
// A reply that is not kOk carries nothing.
Message encode_reply(const ControlReply& reply, Op answered);
Result<ControlReply> decode_reply(std::span<const uint8_t> bytes, Op answered);

const char* status_name(ControlStatus status);
const char* op_name(Op op);
// "SIZE:REFILL_MS:BURST" or "none", for log lines.
std::string describe_bucket(const ratelimit::BucketSpec& bucket);

}  // namespace bulwark::devctl
