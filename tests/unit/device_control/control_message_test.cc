// The control channel's wire codec as a device and the launcher see it: Pause, Resume and
// GetStats carry nothing and are refused with a body; a reply's body is read as the command it
// answers says (counters for GetStats, nothing for Pause and Resume or a refusal).
#include <gtest/gtest.h>

#include "devices/control/control_message.h"

namespace bulwark::devctl {
namespace {

TEST(DeviceControlMessage, PauseResumeAndGetStatsRoundTripWithoutABody) {
  for (Op op : {Op::kPause, Op::kResume, Op::kGetStats}) {
    const Message bytes = encode_command({op, {}});
    EXPECT_EQ(bytes[2], static_cast<uint8_t>(op));
    auto decoded = decode_command(bytes);
    ASSERT_TRUE(decoded.ok()) << op_name(op) << ": " << decoded.error().message();
    EXPECT_EQ(decoded->op, op);
  }
}

TEST(DeviceControlMessage, CommandsOtherThanSetRateLimitWithABodyAreMalformed) {
  for (Op op : {Op::kGetRateLimit, Op::kPause, Op::kResume, Op::kGetStats}) {
    for (size_t at : {size_t{8}, size_t{50}, kMessageBytes - 1}) {
      Message bytes = encode_command({op, {}});
      bytes[at] = 1;
      EXPECT_FALSE(decode_command(bytes).ok()) << op_name(op) << " with byte " << at << " set";
    }
  }
  Message unknown = encode_command({Op::kGetStats, {}});
  unknown[2] = 6;
  EXPECT_FALSE(decode_command(unknown).ok()) << "op 6";
  unknown[2] = 0;
  EXPECT_FALSE(decode_command(unknown).ok()) << "op 0";
}

TEST(DeviceControlMessage, GetStatsRepliesCarryAnyCounterValues) {
  ControlReply reply;
  for (size_t i = 0; i < kCounters; ++i) reply.counters[i] = ~uint64_t{0} - i;  // far above any bucket bound
  const Message bytes = encode_reply(reply, Op::kGetStats);
  auto decoded = decode_reply(bytes, Op::kGetStats);
  ASSERT_TRUE(decoded.ok()) << decoded.error().message();
  EXPECT_EQ(decoded->counters, reply.counters);
  // The same bytes as the answer to a rate limit command are buckets out of bounds.
  EXPECT_FALSE(decode_reply(bytes, Op::kGetRateLimit).ok());
  EXPECT_FALSE(decode_reply(bytes, Op::kPause).ok()) << "an answer to Pause carries nothing";
  EXPECT_FALSE(decode_reply(bytes, Op::kResume).ok()) << "an answer to Resume carries nothing";
}

TEST(DeviceControlMessage, RefusalsAndPauseAnswersWithABodyAreGarbage) {
  ControlReply ok_stats;
  ok_stats.counters[0] = 5;
  Message refused = encode_reply(ok_stats, Op::kGetStats);
  refused[2] = static_cast<uint8_t>(ControlStatus::kUnsupported);
  EXPECT_FALSE(decode_reply(refused, Op::kGetStats).ok()) << "a refusal carries no counters";
  refused[8] = 0;
  auto empty = decode_reply(refused, Op::kGetStats);
  ASSERT_TRUE(empty.ok()) << empty.error().message();
  EXPECT_EQ(empty->status, ControlStatus::kUnsupported);

  auto paused = decode_reply(encode_reply({ControlStatus::kOk, {}, {}}, Op::kPause), Op::kPause);
  ASSERT_TRUE(paused.ok()) << paused.error().message();
  EXPECT_EQ(paused->status, ControlStatus::kOk);
}

}  // namespace
}  // namespace bulwark::devctl
