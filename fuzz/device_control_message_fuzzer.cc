// The device control channel's decoders (devices/control/control_message.h) on arbitrary bytes:
// a device decoding a command from the launcher, the launcher decoding a device's answer to each
// command. What decodes must be within the bounds and encode back to the same bytes.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <span>

#include "devices/control/control_message.h"

namespace {

void check_buckets(const bulwark::devctl::Buckets& buckets) {
  for (const auto& b : buckets) {
    if (b.size > bulwark::devctl::kMaxBucketSize || b.one_time_burst > bulwark::devctl::kMaxBucketSize ||
        b.refill_time_ms > bulwark::devctl::kMaxRefillTimeMs) {
      std::abort();
    }
    if (b.size == 0 && (b.refill_time_ms != 0 || b.one_time_burst != 0)) std::abort();
    if (b.size != 0 && b.refill_time_ms == 0) std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace bulwark::devctl;
  const std::span<const uint8_t> bytes(data, size);
  if (auto command = decode_command(bytes); command.ok()) {
    check_buckets(command->buckets);
    const Message again = encode_command(*command);
    if (size != again.size() || std::memcmp(again.data(), data, size) != 0) std::abort();
  }
  // A reply is read as the answer to each command in turn (its body depends on which).
  for (Op answered : {Op::kSetRateLimit, Op::kGetRateLimit, Op::kPause, Op::kResume, Op::kGetStats}) {
    auto reply = decode_reply(bytes, answered);
    if (!reply.ok()) continue;
    check_buckets(reply->buckets);
    const Message again = encode_reply(*reply, answered);
    if (size != again.size() || std::memcmp(again.data(), data, size) != 0) std::abort();
    (void)status_name(reply->status);
    (void)op_name(answered);
    for (const auto& b : reply->buckets) (void)describe_bucket(b);
  }
  return 0;
}
