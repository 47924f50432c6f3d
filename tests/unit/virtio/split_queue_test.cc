// The device side of a split queue against a guest that may be hostile.
#include "devices/virtio/split_queue.h"

#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cstring>
#include <vector>

#include "tests/unit/virtio/test_ring.h"

namespace bulwark::virtio {
namespace {

using test::TestRing;

std::string error_of(Result<std::optional<DescriptorChain>> popped) {
  return popped.ok() ? "<no error>" : popped.error().message();
}

// error_of(queue.pop()) in a forked child, bounded by a deadline: a chain walk that never ends
// (a loop check weakened) fails the test in seconds instead of hanging it until CTest's timeout.
std::string error_of_pop_within(SplitQueue& queue, std::chrono::seconds deadline) {
  int ends[2];
  if (::pipe(ends) != 0) return "<pipe failed>";
  const pid_t child = ::fork();
  if (child == 0) {
    const std::string message = error_of(queue.pop());
    (void)!::write(ends[1], message.data(), message.size());
    ::_exit(0);
  }
  ::close(ends[1]);
  std::string message;
  pollfd readable{ends[0], POLLIN, 0};
  const auto until = std::chrono::steady_clock::now() + deadline;
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - std::chrono::steady_clock::now());
    if (left.count() <= 0 || ::poll(&readable, 1, static_cast<int>(left.count())) == 0) {
      ::kill(child, SIGKILL);
      message = "<pop() did not return within " + std::to_string(deadline.count()) + " s>";
      break;
    }
    char buffer[256];
    const ssize_t n = ::read(ends[0], buffer, sizeof buffer);
    if (n <= 0) break;
    message.append(buffer, static_cast<size_t>(n));
  }
  ::close(ends[0]);
  ::waitpid(child, nullptr, 0);
  return message;
}

TEST(SplitQueue, ChainOfReadableThenWritableBuffersIsReturnedAndUsed) {
  TestRing ring;
  ring.set_desc(0, TestRing::kData, 16, kDescFlagNext, 3);
  ring.set_desc(3, TestRing::kData + 0x100, 512, kDescFlagNext | kDescFlagWrite, 5);
  ring.set_desc(5, TestRing::kData + 0x400, 1, kDescFlagWrite, 0);
  ring.offer(0);
  auto queue = SplitQueue::create(ring.memory(), ring.layout(), false, false);
  ASSERT_TRUE(queue.ok()) << queue.error().message();
  auto chain = queue->pop();
  ASSERT_TRUE(chain.ok()) << chain.error().message();
  ASSERT_TRUE(chain->has_value());
  EXPECT_EQ((*chain)->head, 0);
  ASSERT_EQ((*chain)->readable.size(), 1u);
  EXPECT_EQ((*chain)->readable[0].data(), ring.at(TestRing::kData));
  ASSERT_EQ((*chain)->writable.size(), 2u);
  EXPECT_EQ((*chain)->writable_bytes, 513u);
  EXPECT_EQ((*chain)->readable_bytes, 16u);
  auto nothing = queue->pop();
  ASSERT_TRUE(nothing.ok());
  EXPECT_FALSE(nothing->has_value());

  ASSERT_TRUE(queue->push_used(0, 513).ok());
  EXPECT_EQ(ring.used_idx(), 1);
  EXPECT_EQ(ring.used_id(0), 0u);
  EXPECT_EQ(ring.used_len(0), 513u);
  EXPECT_TRUE(queue->should_notify());
  EXPECT_FALSE(queue->should_notify()) << "nothing new was used";
}

// A device that popped a buffer it could not use gives it back when the ring stops: the ring's
// position is before it again, the next pop returns it, and the in-flight record no longer
// lists it (a replacement would otherwise get it twice: resubmitted and offered again).
TEST(SplitQueue, AChainGivenBackIsTheRingsNextAgainAndLeavesTheRecord) {
  TestRing ring;
  ring.set_desc(0, TestRing::kData, 64, kDescFlagWrite, 0);
  ring.set_desc(2, TestRing::kData + 0x100, 64, kDescFlagWrite, 0);
  ring.offer(0);
  ring.offer(2);
  std::vector<uint8_t> region(inflight::queue_region_bytes(8));
  inflight::SplitQueueRecord record(region, 8);
  record.initialise(0, 0);
  auto queue = SplitQueue::create(ring.memory(), ring.layout(), false, false);
  ASSERT_TRUE(queue.ok()) << queue.error().message();
  queue->track_in_flight(&record);

  auto first = queue->pop();
  ASSERT_TRUE(first.ok() && first->has_value());
  EXPECT_EQ((*first)->head, 0);
  ASSERT_TRUE(queue->give_back(0).ok());
  EXPECT_EQ(queue->next_avail(), 0) << "the position GET_VRING_BASE reports is before the buffer";
  inflight::SplitQueueRecord reader(region, 8);
  auto recovered = reader.recover(0, 0);
  ASSERT_TRUE(recovered.ok()) << recovered.error().message();
  EXPECT_TRUE(recovered->heads.empty()) << "given back: not in flight";
  EXPECT_FALSE(queue->give_back(0).ok()) << "only once";

  auto again = queue->pop();
  ASSERT_TRUE(again.ok() && again->has_value());
  EXPECT_EQ((*again)->head, 0);
  auto second = queue->pop();
  ASSERT_TRUE(second.ok() && second->has_value());
  EXPECT_EQ((*second)->head, 2);
  EXPECT_FALSE(queue->give_back(0).ok()) << "not the chain popped last";
  ASSERT_TRUE(queue->push_used(2, 0).ok());
  EXPECT_FALSE(queue->give_back(2).ok()) << "used already";
  EXPECT_EQ(queue->next_avail(), 2);
}

// A predecessor's request being resubmitted stays in flight when given back, and is the next
// one handed out again, before anything from the ring.
TEST(SplitQueue, AResubmittedChainGivenBackIsResubmittedFirstAgain) {
  TestRing ring;
  ring.set_desc(1, TestRing::kData, 64, kDescFlagWrite, 0);
  ring.set_desc(3, TestRing::kData + 0x100, 64, kDescFlagWrite, 0);
  ring.offer(3);
  auto queue = SplitQueue::create(ring.memory(), ring.layout(), false, false);
  ASSERT_TRUE(queue.ok()) << queue.error().message();
  queue->track_in_flight(nullptr, {1});
  auto resubmitted = queue->pop();
  ASSERT_TRUE(resubmitted.ok() && resubmitted->has_value());
  EXPECT_EQ((*resubmitted)->head, 1);
  ASSERT_TRUE(queue->give_back(1).ok());
  EXPECT_EQ(queue->next_avail(), 0);
  auto again = queue->pop();
  ASSERT_TRUE(again.ok() && again->has_value());
  EXPECT_EQ((*again)->head, 1);
  auto from_ring = queue->pop();
  ASSERT_TRUE(from_ring.ok() && from_ring->has_value());
  EXPECT_EQ((*from_ring)->head, 3);
}

TEST(SplitQueue, IndirectTableIsFollowedWhenNegotiated) {
  TestRing ring;
  const uint64_t table = TestRing::kData + 0x800;
  ring.set_desc(0, TestRing::kData, 8, kDescFlagNext, 1, table);
  ring.set_desc(1, TestRing::kData + 0x10, 4, kDescFlagWrite, 0, table);
  ring.set_desc(2, table, 32, kDescFlagIndirect, 0);
  ring.offer(2);
  auto queue = SplitQueue::create(ring.memory(), ring.layout(), false, true);
  ASSERT_TRUE(queue.ok());
  auto chain = queue->pop();
  ASSERT_TRUE(chain.ok()) << chain.error().message();
  EXPECT_EQ((*chain)->head, 2);
  EXPECT_EQ((*chain)->readable_bytes, 8u);
  EXPECT_EQ((*chain)->writable_bytes, 4u);

  auto without = SplitQueue::create(ring.memory(), ring.layout(), false, false);
  ring.offer(2);
  without->set_next_avail(1);
  EXPECT_EQ(error_of(without->pop()), "indirect descriptor, but the feature was not negotiated");
}

TEST(SplitQueue, HostileChainsAreRefusedWithTheReason) {
  struct Case {
    const char* name;
    void (*build)(TestRing&);
    const char* error;
  };
  const Case cases[] = {
      {"loop", [](TestRing& r) { r.set_desc(0, TestRing::kData, 8, kDescFlagNext, 1);
                                r.set_desc(1, TestRing::kData, 8, kDescFlagNext, 0); },
       "descriptor chain at head 0 has more links than its table (a loop)"},
      {"outside memory", [](TestRing& r) { r.set_desc(0, 0x100000000ull, 8, 0, 0); },
       "descriptor buffer at 4294967296 of 8 bytes lies outside guest memory"},
      {"wraps", [](TestRing& r) { r.set_desc(0, UINT64_MAX - 3, 8, 0, 0); },
       "descriptor buffer at 18446744073709551612 of 8 bytes lies outside guest memory"},
      {"length past the region", [](TestRing& r) { r.set_desc(0, TestRing::kData, 0xffffffff, 0, 0); },
       "descriptor buffer at 81920 of 4294967295 bytes lies outside guest memory"},
      {"link outside", [](TestRing& r) { r.set_desc(0, TestRing::kData, 8, kDescFlagNext, 8); },
       "descriptor link 8 is outside its table of 8"},
      {"readable after writable", [](TestRing& r) {
         r.set_desc(0, TestRing::kData, 8, kDescFlagNext | kDescFlagWrite, 1);
         r.set_desc(1, TestRing::kData, 8, 0, 0); },
       "a device-readable descriptor follows a writable one"},
      {"nested indirect", [](TestRing& r) {
         const uint64_t table = TestRing::kData + 0x800;
         r.set_desc(0, table, 16, kDescFlagIndirect, 0);
         r.set_desc(0, table, 16, kDescFlagIndirect, 0, table); },
       "indirect descriptor inside an indirect table"},
      {"indirect odd length", [](TestRing& r) { r.set_desc(0, TestRing::kData, 20, kDescFlagIndirect, 0); },
       "indirect table of 20 bytes is not whole descriptors"},
      {"indirect loop", [](TestRing& r) {
         const uint64_t table = TestRing::kData + 0x800;
         r.set_desc(0, table, 32, kDescFlagIndirect, 0);
         r.set_desc(0, TestRing::kData, 8, kDescFlagNext, 1, table);
         r.set_desc(1, TestRing::kData, 8, kDescFlagNext, 0, table); },
       "descriptor chain at head 0 has more links than its table (a loop)"},
  };
  for (const Case& c : cases) {
    TestRing ring;
    c.build(ring);
    ring.offer(0);
    auto queue = SplitQueue::create(ring.memory(), ring.layout(), false, true);
    ASSERT_TRUE(queue.ok());
    EXPECT_EQ(error_of_pop_within(*queue, std::chrono::seconds(5)), c.error) << c.name;
  }
}

TEST(SplitQueue, HeadOutsideTheQueueAndIndexFarAheadAreRefused) {
  TestRing ring;
  ring.offer(9);
  auto queue = SplitQueue::create(ring.memory(), ring.layout(), false, false);
  EXPECT_EQ(error_of(queue->pop()), "chain head 9 is outside the queue of 8");
  TestRing ahead;
  ahead.set_avail_idx(100);
  auto far = SplitQueue::create(ahead.memory(), ahead.layout(), false, false);
  EXPECT_EQ(error_of(far->pop()),
            "available index 100 is 100 ahead of the device, more than the queue size 8");
}

// The boundary itself: head == size names the descriptor just past the table (in guest memory
// here, the bytes after a real table), which a device must never read.
TEST(SplitQueue, ChainHeadEqualToTheQueueSizeIsRefused) {
  TestRing ring;
  // What a device reading one descriptor past the table would find: a valid-looking buffer.
  ring.set_desc(8, TestRing::kData, 8, 0, 0);
  ring.offer(8);
  auto queue = SplitQueue::create(ring.memory(), ring.layout(), false, false);
  ASSERT_TRUE(queue.ok());
  EXPECT_EQ(error_of(queue->pop()), "chain head 8 is outside the queue of 8");
  // The largest head inside the queue is still accepted.
  TestRing last;
  last.set_desc(7, TestRing::kData, 8, 0, 0);
  last.offer(7);
  auto inside = SplitQueue::create(last.memory(), last.layout(), false, false);
  auto chain = inside->pop();
  ASSERT_TRUE(chain.ok()) << chain.error().message();
  ASSERT_TRUE(chain->has_value());
  EXPECT_EQ((*chain)->head, 7);
}

// The device's own answer is bounded too: a used element for head == size is refused and the
// used ring (index and slots) is left as it was.
TEST(SplitQueue, UsedElementForAHeadEqualToTheQueueSizeIsRefused) {
  TestRing ring;
  auto queue = SplitQueue::create(ring.memory(), ring.layout(), false, false);
  ASSERT_TRUE(queue.ok());
  const Status pushed = queue->push_used(8, 16);
  ASSERT_FALSE(pushed.ok());
  EXPECT_EQ(pushed.error().message(), "used element for a head outside the queue");
  EXPECT_EQ(ring.used_idx(), 0);
  EXPECT_EQ(ring.used_id(0), 0u);
  EXPECT_EQ(ring.used_len(0), 0u);
  EXPECT_TRUE(queue->push_used(7, 16).ok());
  EXPECT_EQ(ring.used_idx(), 1);
  EXPECT_EQ(ring.used_id(0), 7u);
}

TEST(SplitQueue, OversizedIndirectTableIsRefusedBeforeItIsWalked) {
  TestRing ring;
  ring.set_desc(0, TestRing::kData, (32768u + 1) * 16, kDescFlagIndirect, 0);
  ring.offer(0);
  auto queue = SplitQueue::create(ring.memory(), ring.layout(), false, true);
  ASSERT_TRUE(queue.ok());
  EXPECT_EQ(error_of(queue->pop()), "indirect table of 32769 descriptors is longer than the largest queue");
}

TEST(SplitQueue, IndicesWrapAroundSixteenBits) {
  TestRing ring;
  ring.set_desc(1, TestRing::kData, 8, kDescFlagWrite, 0);
  ring.set_desc(2, TestRing::kData + 8, 8, kDescFlagWrite, 0);
  // The guest's avail index went 0xffff -> 0x0001: slots 7 and 0 of an 8-entry ring.
  std::memcpy(ring.at(TestRing::kAvail + 4 + 2 * 7), "\x01\x00", 2);
  std::memcpy(ring.at(TestRing::kAvail + 4), "\x02\x00", 2);
  ring.set_avail_idx(1);
  auto queue = SplitQueue::create(ring.memory(), ring.layout(), false, false);
  ASSERT_TRUE(queue.ok());
  queue->set_next_avail(0xffff);
  uint16_t heads[2] = {};
  for (uint16_t& head : heads) {
    auto chain = queue->pop();
    ASSERT_TRUE(chain.ok() && chain->has_value());
    head = (*chain)->head;
    ASSERT_TRUE(queue->push_used(head, 8).ok());
  }
  EXPECT_EQ(heads[0], 1);
  EXPECT_EQ(heads[1], 2);
  EXPECT_EQ(queue->next_avail(), 1);
  auto nothing = queue->pop();
  ASSERT_TRUE(nothing.ok());
  EXPECT_FALSE(nothing->has_value());
  EXPECT_EQ(ring.used_idx(), 2);
}

TEST(SplitQueue, AvailIndexExactlyOneQueueAheadIsAcceptedOneMoreIsNot) {
  TestRing ring;
  for (uint16_t i = 0; i < 8; ++i) {
    ring.set_desc(i, TestRing::kData, 8, 0, 0);
    ring.offer(i);
  }
  auto queue = SplitQueue::create(ring.memory(), ring.layout(), false, false);
  ASSERT_TRUE(queue.ok());
  auto first = queue->pop();
  ASSERT_TRUE(first.ok() && first->has_value()) << "8 pending in an 8-entry ring is a full ring";
  ring.set_avail_idx(10);  // now 9 ahead of the device
  EXPECT_EQ(error_of(queue->pop()),
            "available index 10 is 9 ahead of the device, more than the queue size 8");
}

TEST(SplitQueue, BadLayoutsAreRefused) {
  TestRing ring;
  EXPECT_FALSE(SplitQueue::create(ring.memory(), ring.layout(6), false, false).ok()) << "not a power of two";
  EXPECT_FALSE(SplitQueue::create(ring.memory(), {8, TestRing::kDesc + 8, TestRing::kAvail, TestRing::kUsed},
                                  false, false).ok()) << "misaligned descriptors";
  EXPECT_FALSE(SplitQueue::create(ring.memory(), {8, TestRing::kDesc, TestRing::kAvail, 0x100000000ull},
                                  false, false).ok()) << "used ring outside memory";
  EXPECT_FALSE(SplitQueue::create(ring.memory(), ring.layout(32768), false, false).ok())
      << "descriptor table runs past guest memory";
}

TEST(SplitQueue, EventIndexSuppressesInterruptsTheGuestDidNotAskFor) {
  TestRing ring;
  for (uint16_t i = 0; i < 3; ++i) {
    ring.set_desc(i, TestRing::kData, 8, kDescFlagWrite, 0);
    ring.offer(i);
  }
  auto queue = SplitQueue::create(ring.memory(), ring.layout(), true, false);
  ASSERT_TRUE(queue.ok());
  ring.set_used_event(2);  // "interrupt me once the used index passes 2"
  for (uint16_t i = 0; i < 3; ++i) {
    auto chain = queue->pop();
    ASSERT_TRUE(chain.ok() && chain->has_value());
    ASSERT_TRUE(queue->push_used((*chain)->head, 8).ok());
    EXPECT_EQ(queue->should_notify(), i == 2) << "after " << i + 1 << " used";
  }
  auto nothing = queue->pop();
  ASSERT_TRUE(nothing.ok());
  EXPECT_EQ(ring.avail_event(), 3) << "the device asks for a kick at the next buffer";
}

TEST(SplitQueue, NoInterruptFlagIsHonouredWithoutEventIndex) {
  TestRing ring;
  ring.set_desc(0, TestRing::kData, 8, kDescFlagWrite, 0);
  ring.offer(0);
  ring.set_avail_flags(kAvailFlagNoInterrupt);
  auto queue = SplitQueue::create(ring.memory(), ring.layout(), false, false);
  auto chain = queue->pop();
  ASSERT_TRUE(queue->push_used((*chain)->head, 0).ok());
  EXPECT_FALSE(queue->should_notify());
}

}  // namespace
}  // namespace bulwark::virtio
