#include "devices/control/control_message.h"

#include <string>

#include "bulwark/common/byte_reader.h"

namespace bulwark::devctl {

namespace {

constexpr size_t kHeaderBytes = 8;  // version u16, op or status u16, reserved u32
constexpr size_t kBucketBytes = 24;  // size, refill_time_ms, one_time_burst: u64 each
static_assert(kHeaderBytes + kBuckets * kBucketBytes == kMessageBytes);

Message encode(uint16_t code, const Buckets& buckets) {
  Message out{};
  const std::span<uint8_t> bytes(out);
  write_le<uint16_t>(bytes, 0, kVersion);
  write_le<uint16_t>(bytes, 2, code);
  for (size_t i = 0; i < kBuckets; ++i) {
    const size_t at = kHeaderBytes + i * kBucketBytes;
    write_le<uint64_t>(bytes, at, buckets[i].size);
    write_le<uint64_t>(bytes, at + 8, buckets[i].refill_time_ms);
    write_le<uint64_t>(bytes, at + 16, buckets[i].one_time_burst);
  }
  return out;
}

Status check_bucket(const ratelimit::BucketSpec& b, size_t index) {
  const std::string name = "bucket " + std::to_string(index);
  if (b.size == 0) {
    if (b.refill_time_ms != 0 || b.one_time_burst != 0) return Error(name + ": refill or burst without a size");
    return ok_status();
  }
  if (b.size > kMaxBucketSize) return Error(name + ": size above 2^40");
  if (b.refill_time_ms == 0 || b.refill_time_ms > kMaxRefillTimeMs) return Error(name + ": refill time not 1..3600000 ms");
  if (b.one_time_burst > kMaxBucketSize) return Error(name + ": burst above 2^40");
  return ok_status();
}

// The header checked: the op or status code.
Result<uint16_t> decode_header(std::span<const uint8_t> bytes) {
  if (bytes.size() != kMessageBytes) {
    return Error("control message of " + std::to_string(bytes.size()) + " bytes (expected " +
                 std::to_string(kMessageBytes) + ")");
  }
  const uint16_t version = *read_le<uint16_t>(bytes, 0);
  if (version != kVersion) return Error("control message version " + std::to_string(version) + " (expected 1)");
  if (*read_le<uint32_t>(bytes, 4) != 0) return Error("control message: reserved bytes not zero");
  return *read_le<uint16_t>(bytes, 2);
}

// The body as buckets, each checked.
Result<Buckets> decode_buckets(std::span<const uint8_t> bytes) {
  Buckets buckets{};
  for (size_t i = 0; i < kBuckets; ++i) {
    const size_t at = kHeaderBytes + i * kBucketBytes;
    buckets[i].size = *read_le<uint64_t>(bytes, at);
    buckets[i].refill_time_ms = *read_le<uint64_t>(bytes, at + 8);
    buckets[i].one_time_burst = *read_le<uint64_t>(bytes, at + 16);
    if (Status checked = check_bucket(buckets[i], i); !checked.ok()) return checked.error().wrap("control message");
  }
  return buckets;
}

bool body_zero(std::span<const uint8_t> bytes) {
  for (size_t i = kHeaderBytes; i < kMessageBytes; ++i) {
    if (bytes[i] != 0) return false;
  }
  return true;
}

bool known_op(uint16_t code) {
  return code >= static_cast<uint16_t>(Op::kSetRateLimit) && code <= static_cast<uint16_t>(Op::kGetStats);
}

}  // namespace

Message encode_command(const ControlCommand& command) {
  return encode(static_cast<uint16_t>(command.op), command.buckets);
}

Result<ControlCommand> decode_command(std::span<const uint8_t> bytes) {
  auto code = decode_header(bytes);
  if (!code.ok()) return code.error();
  if (!known_op(*code)) return Error("control message: unknown command " + std::to_string(*code));
  ControlCommand command;
  command.op = static_cast<Op>(*code);
  if (command.op != Op::kSetRateLimit) {
    // Only SetRateLimit carries anything.
    if (!body_zero(bytes)) return Error(std::string("control message: ") + op_name(command.op) + " carries no buckets");
    return command;
  }
  auto buckets = decode_buckets(bytes);
  if (!buckets.ok()) return buckets.error();
  command.buckets = *buckets;
  return command;
}

Message encode_reply(const ControlReply& reply, Op answered) {
  if (answered != Op::kGetStats) return encode(static_cast<uint16_t>(reply.status), reply.buckets);
  Message out = encode(static_cast<uint16_t>(reply.status), Buckets{});
  for (size_t i = 0; i < kCounters; ++i) write_le<uint64_t>(std::span<uint8_t>(out), kHeaderBytes + i * 8, reply.counters[i]);
  return out;
}

Result<ControlReply> decode_reply(std::span<const uint8_t> bytes, Op answered) {
  auto code = decode_header(bytes);
  if (!code.ok()) return code.error();
  if (*code > static_cast<uint16_t>(ControlStatus::kRefused)) {
    return Error("control reply: unknown status " + std::to_string(*code));
  }
  ControlReply reply{static_cast<ControlStatus>(*code), {}, {}};
  // A refusal, and an answer to Pause or Resume, carry nothing.
  if (reply.status != ControlStatus::kOk || answered == Op::kPause || answered == Op::kResume) {
    if (!body_zero(bytes)) return Error("control reply: a body where none belongs");
    return reply;
  }
  if (answered == Op::kGetStats) {
    for (size_t i = 0; i < kCounters; ++i) reply.counters[i] = *read_le<uint64_t>(bytes, kHeaderBytes + i * 8);
    return reply;
  }
  auto buckets = decode_buckets(bytes);
  if (!buckets.ok()) return buckets.error();
  reply.buckets = *buckets;
  return reply;
}

const char* op_name(Op op) {
  switch (op) {
    case Op::kSetRateLimit: return "SetRateLimit";
    case Op::kGetRateLimit: return "GetRateLimit";
    case Op::kPause: return "Pause";
    case Op::kResume: return "Resume";
    case Op::kGetStats: break;
  }
  return "GetStats";
}

const char* status_name(ControlStatus status) {
  switch (status) {
    case ControlStatus::kOk: return "ok";
    case ControlStatus::kMalformed: return "malformed";
    case ControlStatus::kUnsupported: return "unsupported";
    case ControlStatus::kRefused: break;
  }
  return "refused";
}

std::string describe_bucket(const ratelimit::BucketSpec& bucket) {
  if (!bucket.limited()) return "none";
  return std::to_string(bucket.size) + ":" + std::to_string(bucket.refill_time_ms) + ":" +
         std::to_string(bucket.one_time_burst);
}

}  // namespace bulwark::devctl
