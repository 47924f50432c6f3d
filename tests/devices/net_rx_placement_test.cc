// place_rx_packet (devices/net/rx_placement.h) on a split queue laid out in plain memory: a
// packet goes into one chain or, with MRG_RXBUF, as many as it needs; num_buffers and the used
// lengths say so; nothing is written past a descriptor's end; a packet that does not fit yet
// takes nothing, and one that never can is reported so.
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "devices/net/rx_placement.h"
#include "devices/virtio/guest_memory_map.h"
#include "devices/virtio/split_queue.h"

namespace bulwark::test {
namespace {

constexpr uint16_t kSize = 8;
constexpr uint64_t kDesc = 0x0, kAvail = 0x1000, kUsed = 0x2000, kData = 0x4000;
constexpr uint8_t kGuard = 0xcc;

class RxPlacementTest : public ::testing::Test {
 protected:
  void SetUp() override {
    memory_.assign(0x20000, kGuard);
    std::memset(memory_.data(), 0, 0x3000);
    ASSERT_TRUE(map_.add_region({0, memory_.size(), 0, memory_.data()}).ok());
  }
  // Offers a chain of one buffer of `length` bytes at kData + 0x1000 * slot.
  void offer(uint16_t slot, uint32_t length, uint16_t flags = 2) {
    const uint64_t addr = kData + 0x1000ull * slot;
    uint8_t* d = &memory_[kDesc + 16ull * slot];
    std::memcpy(d, &addr, 8);
    std::memcpy(d + 8, &length, 4);
    std::memcpy(d + 12, &flags, 2);
    uint16_t idx;
    std::memcpy(&idx, &memory_[kAvail + 2], 2);
    std::memcpy(&memory_[kAvail + 4 + 2 * (idx % kSize)], &slot, 2);
    ++idx;
    std::memcpy(&memory_[kAvail + 2], &idx, 2);
  }
  virtio::SplitQueue queue() {
    auto q = virtio::SplitQueue::create(map_, {kSize, kDesc, kAvail, kUsed}, false, false);
    EXPECT_TRUE(q.ok());
    return std::move(*q);
  }
  uint16_t used_idx() {
    uint16_t v;
    std::memcpy(&v, &memory_[kUsed + 2], 2);
    return v;
  }
  std::pair<uint32_t, uint32_t> used(uint16_t i) {
    uint32_t head, len;
    std::memcpy(&head, &memory_[kUsed + 4 + 8 * i], 4);
    std::memcpy(&len, &memory_[kUsed + 8 + 8 * i], 4);
    return {head, len};
  }
  std::vector<uint8_t> packet(size_t n) {
    std::vector<uint8_t> p(n);
    for (size_t i = 0; i < n; ++i) p[i] = static_cast<uint8_t>(i + 1);
    return p;
  }
  const uint8_t* data(uint16_t slot) { return &memory_[kData + 0x1000ull * slot]; }

  std::vector<uint8_t> memory_;
  virtio::GuestMemoryMap map_;
};

TEST_F(RxPlacementTest, OneChainHoldsThePacketWithoutMergeable) {
  offer(0, 512);
  auto q = queue();
  auto p = packet(300);
  auto placed = net::place_rx_packet(q, p, false);
  ASSERT_TRUE(placed.ok());
  EXPECT_EQ(placed->outcome, net::RxPlacement::kDelivered);
  ASSERT_EQ(used_idx(), 1);
  EXPECT_EQ(used(0), (std::pair<uint32_t, uint32_t>{0, 300}));
  EXPECT_EQ(data(0)[10], 1);
  EXPECT_EQ(data(0)[11], 0);
  EXPECT_EQ(data(0)[299], p[299]);
  EXPECT_EQ(data(0)[300], kGuard) << "nothing past the packet";
}

TEST_F(RxPlacementTest, AChainTooSmallWithoutMergeableIsNeverFitsAndStaysOffered) {
  offer(0, 100);
  auto q = queue();
  auto p = packet(300);
  auto placed = net::place_rx_packet(q, p, false);
  ASSERT_TRUE(placed.ok());
  EXPECT_EQ(placed->outcome, net::RxPlacement::kNeverFits);
  EXPECT_EQ(used_idx(), 0);
  EXPECT_EQ(q.next_avail(), 0) << "the chain stays the guest's";
  EXPECT_EQ(data(0)[0], kGuard);
  auto small = packet(60);
  placed = net::place_rx_packet(q, small, false);
  ASSERT_TRUE(placed.ok());
  EXPECT_EQ(placed->outcome, net::RxPlacement::kDelivered);
}

TEST_F(RxPlacementTest, MergeableSpreadsOverChainsAndCountsThem) {
  for (uint16_t i = 0; i < 4; ++i) offer(i, 100);
  auto q = queue();
  auto p = packet(250);
  auto placed = net::place_rx_packet(q, p, true);
  ASSERT_TRUE(placed.ok());
  EXPECT_EQ(placed->outcome, net::RxPlacement::kDelivered);
  EXPECT_EQ(placed->chains, 3);
  ASSERT_EQ(used_idx(), 3);
  EXPECT_EQ(used(0).second, 100u);
  EXPECT_EQ(used(1).second, 100u);
  EXPECT_EQ(used(2).second, 50u);
  EXPECT_EQ(data(0)[10], 3) << "num_buffers";
  EXPECT_EQ(data(1)[0], p[100]);
  EXPECT_EQ(data(2)[49], p[249]);
  for (uint16_t i = 0; i < 3; ++i) EXPECT_EQ(data(i)[100], kGuard) << "past buffer " << i;
  EXPECT_EQ(data(2)[50], kGuard);
  EXPECT_EQ(data(3)[0], kGuard) << "the fourth chain untouched";
  EXPECT_EQ(q.next_avail(), 3);
}

TEST_F(RxPlacementTest, MergeableWithoutEnoughBuffersYetTakesNothing) {
  offer(0, 100);
  offer(1, 100);
  auto q = queue();
  auto p = packet(250);
  auto placed = net::place_rx_packet(q, p, true);
  ASSERT_TRUE(placed.ok());
  EXPECT_EQ(placed->outcome, net::RxPlacement::kNoRoom);
  EXPECT_EQ(used_idx(), 0);
  EXPECT_EQ(q.next_avail(), 0);
  EXPECT_EQ(data(0)[0], kGuard);
  offer(2, 100);
  placed = net::place_rx_packet(q, p, true);
  ASSERT_TRUE(placed.ok());
  EXPECT_EQ(placed->outcome, net::RxPlacement::kDelivered);
}

TEST_F(RxPlacementTest, MergeableWholeRingTooSmallNeverFits) {
  for (uint16_t i = 0; i < kSize; ++i) offer(i, 16);
  auto q = queue();
  auto p = packet(1000);
  auto placed = net::place_rx_packet(q, p, true);
  ASSERT_TRUE(placed.ok());
  EXPECT_EQ(placed->outcome, net::RxPlacement::kNeverFits);
  EXPECT_EQ(used_idx(), 0);
  EXPECT_EQ(q.next_avail(), 0);
}

TEST_F(RxPlacementTest, AFirstBufferSmallerThanTheHeaderNeverFits) {
  offer(0, 8);
  offer(1, 1000);
  auto q = queue();
  auto p = packet(100);
  auto placed = net::place_rx_packet(q, p, true);
  ASSERT_TRUE(placed.ok());
  EXPECT_EQ(placed->outcome, net::RxPlacement::kNeverFits);
  EXPECT_EQ(data(0)[0], kGuard);
}

TEST_F(RxPlacementTest, AReadableBufferInAnRxChainBreaksTheQueue) {
  offer(0, 512, 0);  // device-readable
  auto q = queue();
  auto p = packet(100);
  EXPECT_FALSE(net::place_rx_packet(q, p, false).ok());
  EXPECT_EQ(data(0)[0], kGuard);
}

}  // namespace
}  // namespace bulwark::test
