// BlockDevice in-process, on a split queue in a plain buffer (no vhost-user, no KVM): the
// checks serve() is the only guard for, each at its boundary, with the image's bytes on the
// host compared afterwards.
#include "devices/blk/block_device.h"

#include <fcntl.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <vector>

#include "tests/unit/virtio/test_ring.h"

namespace bulwark::blk {
namespace {

using virtio::test::TestRing;

constexpr uint64_t kHeader = TestRing::kData;            // 16 bytes
constexpr uint64_t kPayload = TestRing::kData + 0x100;   // data or segments
constexpr uint64_t kStatus = TestRing::kData + 0x3000;   // 1 byte

class BlockDeviceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = std::filesystem::temp_directory_path() /
            ("bulwark-block-device-test-" + std::to_string(::getpid()) + "-" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
  }
  void TearDown() override { std::filesystem::remove(path_); }

  // An image of `sectors` sectors (sparse), its first sector a pattern; opened read-write.
  UniqueFd make_image(uint64_t sectors) {
    UniqueFd fd(::open(path_.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
    EXPECT_TRUE(fd.valid());
    EXPECT_EQ(::ftruncate(fd.get(), static_cast<off_t>(sectors * kSectorSize)), 0);
    std::vector<uint8_t> first(kSectorSize);
    for (size_t i = 0; i < first.size(); ++i) first[i] = static_cast<uint8_t>(i * 7 + 1);
    EXPECT_EQ(::pwrite(fd.get(), first.data(), first.size(), 0), static_cast<ssize_t>(first.size()));
    first_sector_ = first;
    return fd;
  }

  std::vector<uint8_t> sector_on_disk(uint64_t sector) {
    std::vector<uint8_t> bytes(kSectorSize);
    UniqueFd fd(::open(path_.c_str(), O_RDONLY | O_CLOEXEC));
    EXPECT_EQ(::pread(fd.get(), bytes.data(), bytes.size(), static_cast<off_t>(sector * kSectorSize)),
              static_cast<ssize_t>(bytes.size()));
    return bytes;
  }

  // Offers one request (header, then `out` device-readable or `in_bytes` device-writable,
  // then the status byte), lets the device serve it, returns the status byte.
  uint8_t submit(BlockDevice& device, uint32_t type, uint64_t sector, std::span<const uint8_t> out,
                 uint32_t in_bytes = 0) {
    TestRing ring;
    std::memcpy(ring.at(kHeader), &type, 4);
    std::memcpy(ring.at(kHeader + 8), &sector, 8);
    uint16_t next = 1;
    ring.set_desc(0, kHeader, 16, virtio::kDescFlagNext, next);
    if (!out.empty()) {
      std::memcpy(ring.at(kPayload), out.data(), out.size());
      ring.set_desc(next, kPayload, static_cast<uint32_t>(out.size()), virtio::kDescFlagNext,
                    static_cast<uint16_t>(next + 1));
      ++next;
    }
    if (in_bytes > 0) {
      std::memset(ring.at(kPayload), 0xee, in_bytes);
      ring.set_desc(next, kPayload, in_bytes, virtio::kDescFlagNext | virtio::kDescFlagWrite,
                    static_cast<uint16_t>(next + 1));
      ++next;
    }
    *ring.at(kStatus) = 0xff;
    ring.set_desc(next, kStatus, 1, virtio::kDescFlagWrite, 0);
    ring.offer(0);
    auto queue = virtio::SplitQueue::create(ring.memory(), ring.layout(), false, false);
    EXPECT_TRUE(queue.ok());
    auto served = device.process_queue(0, *queue, 1);
    EXPECT_TRUE(served.ok() && *served == 1u);
    if (in_bytes > 0) last_read_.assign(ring.at(kPayload), ring.at(kPayload) + in_bytes);
    return *ring.at(kStatus);
  }

  static std::vector<uint8_t> segment(uint64_t sector, uint32_t count, uint32_t flags = 0) {
    std::vector<uint8_t> s(16);
    std::memcpy(s.data(), &sector, 8);
    std::memcpy(s.data() + 8, &count, 4);
    std::memcpy(s.data() + 12, &flags, 4);
    return s;
  }

  std::filesystem::path path_;
  std::vector<uint8_t> first_sector_;
  std::vector<uint8_t> last_read_;
};

// 1<<55 sectors is 1<<64 bytes: scaled without the overflow check it is offset 0, the first
// sector of a disk of any size.
TEST_F(BlockDeviceTest, SectorWhoseByteOffsetWrapsToZeroIsRefusedForEveryRequest) {
  auto device = BlockDevice::create(make_image(64), {});
  ASSERT_TRUE(device.ok()) << device.error().message();
  const uint64_t wraps = uint64_t{1} << 55;
  std::vector<uint8_t> data(kSectorSize, 0x33);
  EXPECT_EQ(submit(**device, kTypeOut, wraps, data), kStatusIoErr);
  EXPECT_EQ(submit(**device, kTypeIn, wraps, {}, kSectorSize), kStatusIoErr);
  EXPECT_NE(last_read_, first_sector_) << "sector 0 read through a wrapped sector number";
  EXPECT_EQ(submit(**device, kTypeWriteZeroes, 0, segment(wraps, 1)), kStatusIoErr);
  EXPECT_EQ(submit(**device, kTypeDiscard, 0, segment(wraps, 1)), kStatusIoErr);
  EXPECT_EQ(sector_on_disk(0), first_sector_);
  // Sector 0 itself is fine.
  EXPECT_EQ(submit(**device, kTypeIn, 0, {}, kSectorSize), kStatusOk);
  EXPECT_EQ(last_read_, first_sector_);
}

// --read-only on a read-write fd: the kernel would allow the writes; serve() must not.
TEST_F(BlockDeviceTest, ReadOnlyDeviceRefusesWritesEvenOnAReadWriteFd) {
  UniqueFd image = make_image(64);
  ASSERT_EQ(::fcntl(image.get(), F_GETFL) & O_ACCMODE, O_RDWR);
  BlockDeviceOptions options;
  options.read_only = true;
  auto device = BlockDevice::create(std::move(image), options);
  ASSERT_TRUE(device.ok()) << device.error().message();
  std::vector<uint8_t> data(kSectorSize, 0x44);
  EXPECT_EQ(submit(**device, kTypeOut, 0, data), kStatusIoErr);
  EXPECT_EQ(submit(**device, kTypeWriteZeroes, 0, segment(0, 1)), kStatusIoErr);
  EXPECT_EQ(submit(**device, kTypeWriteZeroes, 0, segment(0, 1, kSegmentFlagUnmap)), kStatusIoErr);
  EXPECT_EQ(submit(**device, kTypeDiscard, 0, segment(0, 1)), kStatusIoErr);
  EXPECT_EQ(sector_on_disk(0), first_sector_);
  EXPECT_EQ(submit(**device, kTypeIn, 0, {}, kSectorSize), kStatusOk);
  EXPECT_EQ(last_read_, first_sector_);
}

// A disk larger than the cap, so the image bound does not refuse it first: one sector more
// than the cap is refused (the first sector keeps its data), exactly the cap is served.
TEST_F(BlockDeviceTest, WriteZeroesAndDiscardOfMoreThanTheSectorCapAreRefused) {
  const uint64_t cap = BlockDevice::kMaxDiscardSectors;
  auto device = BlockDevice::create(make_image(cap + 8), {});
  ASSERT_TRUE(device.ok()) << device.error().message();
  const auto over = static_cast<uint32_t>(cap + 1);
  EXPECT_EQ(submit(**device, kTypeWriteZeroes, 0, segment(0, over)), kStatusIoErr);
  EXPECT_EQ(submit(**device, kTypeWriteZeroes, 0, segment(0, over, kSegmentFlagUnmap)), kStatusIoErr);
  EXPECT_EQ(submit(**device, kTypeDiscard, 0, segment(0, over)), kStatusIoErr);
  EXPECT_EQ(sector_on_disk(0), first_sector_);
  EXPECT_EQ(submit(**device, kTypeWriteZeroes, 0, segment(1, static_cast<uint32_t>(cap))), kStatusOk);
  EXPECT_EQ(sector_on_disk(0), first_sector_);
  EXPECT_EQ(sector_on_disk(cap), std::vector<uint8_t>(kSectorSize, 0));
}

}  // namespace
}  // namespace bulwark::blk
