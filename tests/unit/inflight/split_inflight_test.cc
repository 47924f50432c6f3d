// The in-flight record as a replacement device process reads it: the requests its predecessor
// took and did not complete come back in the order they were taken; a completion published
// just before the death is not resubmitted; a record that does not fit the queue, or was
// scribbled on, is refused with the reason.
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "devices/inflight/split_inflight.h"

namespace bulwark::inflight {
namespace {

constexpr uint16_t kQueueSize = 8;
constexpr uint64_t kFeatures = (uint64_t{1} << 32) | (1 << 9);

struct Shared {
  std::vector<uint8_t> bytes = std::vector<uint8_t>(queue_region_bytes(kQueueSize), 0xAA);
  SplitQueueRecord record() { return SplitQueueRecord(bytes, kQueueSize); }
};

// A device's handling of one request, noted as the device does it.
void complete(SplitQueueRecord& record, uint16_t head, uint16_t& used_idx) {
  record.completing(head);
  ++used_idx;  // the used ring's idx is published here
  record.completed(head, used_idx);
}

TEST(SplitInflight, RegionsAre64ByteAlignedAndHoldTheHeaderAndEveryEntry) {
  EXPECT_EQ(queue_region_bytes(8), 192u);  // 16 + 8 * 16 = 144, up to 192
  EXPECT_EQ(queue_region_bytes(256), 4160u);
  EXPECT_EQ(record_bytes(2, 256), 8320u);
}

TEST(SplitInflight, AFreshRecordHasNothingInFlight) {
  Shared shared;
  auto record = shared.record();
  record.initialise(kFeatures, 5);
  SplitQueueRecord successor(shared.bytes, kQueueSize);
  auto recovery = successor.recover(kFeatures, 5);
  ASSERT_TRUE(recovery.ok()) << recovery.error().message();
  EXPECT_TRUE(recovery->heads.empty());
  EXPECT_EQ(recovery->last_avail_idx, 5);
  EXPECT_FALSE(recovery->completed_batch_fixed);
}

TEST(SplitInflight, TakenAndNotCompletedComeBackInTheOrderTaken) {
  Shared shared;
  auto record = shared.record();
  record.initialise(kFeatures, 0);
  uint16_t used = 0;
  for (uint16_t head : {6, 2, 7, 0, 3}) record.taken(head);
  complete(record, 2, used);
  complete(record, 0, used);
  SplitQueueRecord successor(shared.bytes, kQueueSize);
  auto recovery = successor.recover(kFeatures, used);
  ASSERT_TRUE(recovery.ok()) << recovery.error().message();
  EXPECT_EQ(recovery->heads, (std::vector<uint16_t>{6, 7, 3}));
  // Five taken, two completed: the avail ring resumes after the five.
  EXPECT_EQ(recovery->last_avail_idx, 5);
  EXPECT_EQ(recovery->next_counter, 6u);
  // A head reused after its completion is ordered by when it was taken again.
  successor.taken(2);
  SplitQueueRecord third(shared.bytes, kQueueSize);
  auto again = third.recover(kFeatures, used);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->heads, (std::vector<uint16_t>{6, 7, 3, 2}));
}

TEST(SplitInflight, ACompletionPublishedJustBeforeTheDeathIsNotResubmitted) {
  Shared shared;
  auto record = shared.record();
  record.initialise(kFeatures, 0xFFFF);
  for (uint16_t head : {1, 4}) record.taken(head);
  // Died after the used ring's idx went to 0 (wrapping) but before the record noted it.
  record.completing(4);
  SplitQueueRecord successor(shared.bytes, kQueueSize);
  auto recovery = successor.recover(kFeatures, 0);
  ASSERT_TRUE(recovery.ok()) << recovery.error().message();
  EXPECT_TRUE(recovery->completed_batch_fixed);
  EXPECT_EQ(recovery->heads, (std::vector<uint16_t>{1}));
  EXPECT_EQ(recovery->last_avail_idx, 1);
  // The record was mended: reading it again finds the same and nothing to fix.
  SplitQueueRecord third(shared.bytes, kQueueSize);
  auto again = third.recover(kFeatures, 0);
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(again->completed_batch_fixed);
  EXPECT_EQ(again->heads, (std::vector<uint16_t>{1}));
}

TEST(SplitInflight, DiedBetweenTheCounterAndTheFlagLeavesTheRequestUntaken) {
  Shared shared;
  auto record = shared.record();
  record.initialise(kFeatures, 0);
  record.taken(3);
  // The next take stored its counter, not yet its flag: the request is not in flight, and the
  // avail ring resumes at it, so it is taken again from the ring.
  const size_t entry5 = kHeaderBytes + 5 * kEntryBytes;
  const uint64_t counter = 2;
  std::memcpy(shared.bytes.data() + entry5 + 8, &counter, sizeof counter);
  SplitQueueRecord successor(shared.bytes, kQueueSize);
  auto recovery = successor.recover(kFeatures, 0);
  ASSERT_TRUE(recovery.ok());
  EXPECT_EQ(recovery->heads, (std::vector<uint16_t>{3}));
  EXPECT_EQ(recovery->last_avail_idx, 1);
}

struct Corruption {
  const char* name;
  size_t offset;
  std::vector<uint8_t> bytes;
  const char* message;
};

class SplitInflightCorrupt : public ::testing::TestWithParam<Corruption> {};

TEST_P(SplitInflightCorrupt, IsRefusedWithTheReason) {
  Shared shared;
  auto record = shared.record();
  record.initialise(kFeatures, 3);
  record.taken(1);
  std::memcpy(shared.bytes.data() + GetParam().offset, GetParam().bytes.data(), GetParam().bytes.size());
  SplitQueueRecord successor(shared.bytes, kQueueSize);
  auto recovery = successor.recover(kFeatures, 3);
  ASSERT_FALSE(recovery.ok()) << GetParam().name;
  EXPECT_NE(recovery.error().message().find(GetParam().message), std::string::npos) << recovery.error().message();
}

INSTANTIATE_TEST_SUITE_P(
    Cases, SplitInflightCorrupt,
    ::testing::Values(Corruption{"version", 8, {2, 0}, "version 2"},
                      Corruption{"desc_num", 10, {16, 0}, "made for a queue of 16"},
                      Corruption{"features", 0, {0xFF}, "other negotiated features"},
                      Corruption{"flag", kHeaderBytes + 6 * kEntryBytes, {2}, "entry 6 has flag 2"},
                      // used_idx two behind the ring: more than one completion lost.
                      Corruption{"used_far_behind", 14, {1, 0}, "not one behind"},
                      // used_idx one behind, the last completed head beyond the queue.
                      Corruption{"last_batch_head", 12, {8, 0, 2, 0}, "beyond the queue"},
                      Corruption{"counter_max", kHeaderBytes + 1 * kEntryBytes + 8,
                                 {0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF}, "counter at its maximum"}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(SplitInflight, ARegionTooSmallForTheQueueIsRefusedAndNeverWritten) {
  std::vector<uint8_t> bytes(queue_region_bytes(kQueueSize) - 1, 0x55);
  SplitQueueRecord record(bytes, kQueueSize);
  record.initialise(kFeatures, 0);
  record.taken(1);
  record.completed(1, 1);
  for (uint8_t byte : bytes) ASSERT_EQ(byte, 0x55);
  auto recovery = record.recover(kFeatures, 0);
  ASSERT_FALSE(recovery.ok());
  EXPECT_NE(recovery.error().message().find("needs 192"), std::string::npos);
}

TEST(SplitInflight, HeadsBeyondTheQueueAreNeverNoted) {
  Shared shared;
  auto record = shared.record();
  record.initialise(kFeatures, 0);
  const std::vector<uint8_t> before = shared.bytes;
  record.taken(kQueueSize);
  record.completing(kQueueSize);
  record.completed(kQueueSize, 1);
  EXPECT_EQ(shared.bytes, before);
}

}  // namespace
}  // namespace bulwark::inflight
