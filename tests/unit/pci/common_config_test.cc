// The virtio-pci common configuration on its own: the queue_select boundary, where a write to
// the queue one past the last would land in the monitor's heap.
#include "monitor/virtio_pci/common_config.h"

#include <gtest/gtest.h>

#include <cstring>
#include <vector>

namespace bulwark::virtio_pci {
namespace {

constexpr uint16_t kQueues = 2;

bool same(const std::vector<QueueConfig>& a, const std::vector<QueueConfig>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].size != b[i].size || a[i].msix_vector != b[i].msix_vector || a[i].enabled != b[i].enabled ||
        a[i].desc != b[i].desc || a[i].driver != b[i].driver || a[i].device != b[i].device) {
      return false;
    }
  }
  return true;
}

CommonConfig::Effect write(CommonConfig& c, uint16_t offset, uint64_t value, size_t size) {
  uint8_t bytes[8];
  std::memcpy(bytes, &value, sizeof bytes);
  return c.write(offset, std::span<const uint8_t>(bytes, size));
}

uint64_t read(const CommonConfig& c, uint16_t offset, size_t size) {
  uint8_t bytes[8] = {};
  c.read(offset, std::span<uint8_t>(bytes, size));
  uint64_t value = 0;
  std::memcpy(&value, bytes, sizeof value);
  return value;
}

struct QueueWrite {
  const char* name;
  uint16_t offset;
  uint64_t value;
  size_t size;
};
constexpr QueueWrite kQueueWrites[] = {
    {"queue_size", kQueueSize, 64, 2},       {"queue_msix_vector", kQueueMsixVector, 1, 2},
    {"queue_desc", kQueueDesc, 0x1000, 8},   {"queue_desc high", kQueueDesc + 4, 0x1, 4},
    {"queue_driver", kQueueDriver, 0x2000, 8}, {"queue_device", kQueueDevice, 0x3000, 4},
    {"queue_enable", kQueueEnable, 1, 2},
};

// Each write to a queue field with queue_select == num_queues is ignored by itself (the count
// goes up by exactly one for it) and no queue changes; the same writes one queue lower land.
TEST(CommonConfig, QueueSelectEqualToTheQueueCountReachesNoQueue) {
  CommonConfig c(uint64_t{1} << kFeatureVersion1, kQueues, 256, 3);
  write(c, kQueueSelect, kQueues, 2);
  EXPECT_EQ(read(c, kQueueSelect, 2), kQueues);
  EXPECT_EQ(read(c, kQueueSize, 2), 0u);
  EXPECT_EQ(read(c, kQueueMsixVector, 2), kNoVector);
  EXPECT_EQ(read(c, kQueueEnable, 2), 0u);
  const std::vector<QueueConfig> before = c.queues();
  for (const QueueWrite& w : kQueueWrites) {
    const uint64_t ignored = c.ignored_writes();
    EXPECT_EQ(write(c, w.offset, w.value, w.size), CommonConfig::Effect::kNone) << w.name;
    EXPECT_EQ(c.ignored_writes(), ignored + 1) << w.name << " to queue " << kQueues << " was not ignored";
    EXPECT_TRUE(same(c.queues(), before)) << w.name << " changed a queue";
  }
  EXPECT_EQ(read(c, kQueueSize, 2), 0u);

  // The last queue that exists takes every one of them.
  write(c, kQueueSelect, kQueues - 1, 2);
  const uint64_t ignored = c.ignored_writes();
  for (const QueueWrite& w : kQueueWrites) write(c, w.offset, w.value, w.size);
  EXPECT_EQ(c.ignored_writes(), ignored);
  const QueueConfig& last = c.queues()[kQueues - 1];
  EXPECT_EQ(last.size, 64u);
  EXPECT_EQ(last.msix_vector, 1u);
  EXPECT_EQ(last.desc, 0x100001000u);
  EXPECT_EQ(last.driver, 0x2000u);
  EXPECT_EQ(last.device, 0x3000u);
  EXPECT_TRUE(last.enabled);
  EXPECT_EQ(c.queues()[0].size, 256u) << "queue 0 untouched";
}

// Once the device runs (DRIVER_OK), a queue's layout is fixed even if the driver never enabled
// it: the backend may already hold the addresses.
TEST(CommonConfig, QueueLayoutOfADisabledQueueIsFixedAfterDriverOk) {
  CommonConfig c(uint64_t{1} << kFeatureVersion1, kQueues, 256, 3);
  write(c, kDeviceStatus, kStatusAcknowledge, 1);
  write(c, kDeviceStatus, kStatusAcknowledge | kStatusDriver, 1);
  write(c, kDriverFeatureSelect, 1, 4);
  write(c, kDriverFeature, 1, 4);  // VERSION_1
  write(c, kDeviceStatus, kStatusAcknowledge | kStatusDriver | kStatusFeaturesOk, 1);
  write(c, kDeviceStatus, kStatusAcknowledge | kStatusDriver | kStatusFeaturesOk | kStatusDriverOk, 1);
  ASSERT_NE(c.status() & kStatusDriverOk, 0);
  write(c, kQueueSelect, 1, 2);
  const std::vector<QueueConfig> before = c.queues();
  for (const QueueWrite& w : kQueueWrites) {
    if (w.offset == kQueueMsixVector) continue;  // vectors may change while running
    const uint64_t ignored = c.ignored_writes();
    write(c, w.offset, w.value, w.size);
    EXPECT_EQ(c.ignored_writes(), ignored + 1) << w.name << " after DRIVER_OK";
  }
  EXPECT_TRUE(same(c.queues(), before));
}

}  // namespace
}  // namespace bulwark::virtio_pci
