#include "monitor/virtio_pci/virtio_pci_device.h"

#include <gtest/gtest.h>

#include <functional>
#include <set>

#include "monitor/pci/pci_bus.h"
#include "tests/unit/pci/config_access.h"
#include "tests/unit/pci/fake_virtio.h"

namespace bulwark::virtio_pci {
namespace {

using pci::testing::config_read;
using pci::testing::config_write;
using testing::FakeBackend;
using testing::FakeKvm;

constexpr uint64_t kVersion1 = uint64_t{1} << 32;

struct Harness {
  explicit Harness(FakeBackend b = FakeBackend()) : backend(std::move(b)) {
    auto created = VirtioPciDevice::create(backend, kvm);
    EXPECT_TRUE(created.ok());
    device = std::move(*created);
    slot = *pci.add_device(*device);
    bar = *device->config_space().bar_address(kBarIndex);
    config_write(pci, slot, pci::kCommand, pci::kCommandMemoryEnable | pci::kCommandBusMaster, 2);
  }
  uint64_t read(uint32_t offset, size_t size) { return pci::testing::mmio_read(pci, bar + offset, size); }
  void write(uint32_t offset, uint64_t value, size_t size) { pci::testing::mmio_write(pci, bar + offset, value, size); }
  uint8_t status() { return static_cast<uint8_t>(read(kDeviceStatus, 1)); }
  void set_status(uint8_t s) { write(kDeviceStatus, s, 1); }
  void negotiate(uint64_t features) {
    set_status(kStatusAcknowledge);
    set_status(kStatusAcknowledge | kStatusDriver);
    write(kDriverFeatureSelect, 0, 4);
    write(kDriverFeature, static_cast<uint32_t>(features), 4);
    write(kDriverFeatureSelect, 1, 4);
    write(kDriverFeature, static_cast<uint32_t>(features >> 32), 4);
    set_status(kStatusAcknowledge | kStatusDriver | kStatusFeaturesOk);
  }
  void setup_queue(uint16_t index, uint16_t size, uint16_t vector) {
    write(kQueueSelect, index, 2);
    write(kQueueSize, size, 2);
    write(kQueueMsixVector, vector, 2);
    write(kQueueDesc, 0x100000 + index * 0x10000, 4);
    write(kQueueDesc + 4, 0, 4);
    write(kQueueDriver, 0x104000 + index * 0x10000, 8);
    write(kQueueDevice, 0x108000 + index * 0x10000, 4);
    write(kQueueEnable, 1, 2);
  }
  // What Linux's MSI-X setup does: enable with the function masked, program and unmask each
  // vector, then clear the function mask.
  void enable_msix() {
    const uint16_t control = static_cast<uint16_t>(msix_cap() + 2);
    config_write(pci, slot, control, pci::kMsixControlEnable | pci::kMsixControlFunctionMask, 2);
    for (uint16_t v = 0; v < device->msix().size(); ++v) {
      write(kMsixTableBarOffset + v * 16u, 0xfee00000, 4);
      write(kMsixTableBarOffset + v * 16u + 4, 0, 4);
      write(kMsixTableBarOffset + v * 16u + 8, 0x40 + v, 4);
      write(kMsixTableBarOffset + v * 16u + 12, 0, 4);
    }
    config_write(pci, slot, control, pci::kMsixControlEnable, 2);
  }
  uint8_t msix_cap() {
    for (const auto& [offset, id] : pci::testing::walk_capabilities(pci, slot))
      if (id == pci::kCapabilityIdMsix) return offset;
    return 0;
  }
  uint8_t virtio_cap(uint8_t type) {
    for (const auto& [offset, id] : pci::testing::walk_capabilities(pci, slot))
      if (id == pci::kCapabilityIdVendor && config_read(pci, slot, offset + 3, 1) == type) return offset;
    return 0;
  }

  FakeBackend backend;
  FakeKvm kvm;
  pci::PciBus pci;
  std::unique_ptr<VirtioPciDevice> device;
  uint8_t slot = 0;
  uint64_t bar = 0;
};

TEST(VirtioPciDevice, IdentifiesAsAModernVirtioDevice) {
  Harness blk;
  EXPECT_EQ(config_read(blk.pci, blk.slot, pci::kVendorId, 4), 0x10421af4u);
  EXPECT_EQ(config_read(blk.pci, blk.slot, 0x08, 4), 0x01800001u);  // class 01/80/00, revision 1
  EXPECT_EQ(config_read(blk.pci, blk.slot, pci::kSubsystemVendorId, 2), 0x1af4u);
  EXPECT_EQ(config_read(blk.pci, blk.slot, pci::kInterruptPin, 1), 0u);
  FakeBackend rng_backend;
  rng_backend.type = kDeviceTypeEntropy;
  rng_backend.queues = 1;
  Harness rng(std::move(rng_backend));
  EXPECT_EQ(config_read(rng.pci, rng.slot, pci::kDeviceId, 2), 0x1044u);
  EXPECT_EQ(config_read(rng.pci, rng.slot, 0x08, 4) >> 8, 0x00ff00u);
}

TEST(VirtioPciDevice, RefusesBackendsTheTransportCannotPresent) {
  FakeKvm kvm;
  FakeBackend none;
  none.queues = 0;
  EXPECT_FALSE(VirtioPciDevice::create(none, kvm).ok());
  FakeBackend many;
  many.queues = kMaxQueues + 1;
  EXPECT_FALSE(VirtioPciDevice::create(many, kvm).ok());
  FakeBackend odd;
  odd.max_size = 100;
  EXPECT_FALSE(VirtioPciDevice::create(odd, kvm).ok());
}

TEST(VirtioPciDevice, CapabilitiesDescribeStructuresInsideTheBar) {
  Harness h;
  // BAR size as Linux measures it.
  const uint32_t placed = config_read(h.pci, h.slot, pci::kBar0, 4);
  config_write(h.pci, h.slot, pci::kBar0, 0xffffffff, 4);
  const uint32_t bar_size = ~(config_read(h.pci, h.slot, pci::kBar0, 4) & ~0xfu) + 1;
  config_write(h.pci, h.slot, pci::kBar0, placed, 4);
  EXPECT_EQ(bar_size, kBarSize);
  for (uint8_t type : {kCapCommonCfg, kCapNotifyCfg, kCapIsrCfg, kCapDeviceCfg}) {
    const uint8_t cap = h.virtio_cap(type);
    ASSERT_NE(cap, 0) << "cfg_type " << int{type};
    EXPECT_EQ(config_read(h.pci, h.slot, cap + kCapBarOffset, 1), 0u);
    const uint32_t offset = config_read(h.pci, h.slot, cap + kCapOffsetOffset, 4);
    const uint32_t length = config_read(h.pci, h.slot, cap + kCapLengthOffset, 4);
    EXPECT_GT(length, 0u);
    EXPECT_LE(uint64_t{offset} + length, bar_size);
  }
  const uint8_t common = h.virtio_cap(kCapCommonCfg);
  EXPECT_GE(config_read(h.pci, h.slot, common + kCapLengthOffset, 4), 0x38u);  // Linux's minimum
  const uint8_t notify = h.virtio_cap(kCapNotifyCfg);
  EXPECT_EQ(config_read(h.pci, h.slot, notify + kCapLenOffset, 1), 20u);
  EXPECT_EQ(config_read(h.pci, h.slot, notify + kCapNotifyMultiplierOffset, 4), kNotifyOffMultiplier);
  EXPECT_EQ(config_read(h.pci, h.slot, notify + kCapLengthOffset, 4), 2u * kNotifyOffMultiplier);
  EXPECT_NE(h.virtio_cap(kCapPciCfg), 0);
  // The capabilities are read-only.
  config_write(h.pci, h.slot, common + kCapOffsetOffset, 0x1234, 4);
  EXPECT_EQ(config_read(h.pci, h.slot, common + kCapOffsetOffset, 4), kCommonCfgBarOffset);

  const uint8_t msix = h.msix_cap();
  ASSERT_NE(msix, 0);
  EXPECT_EQ(config_read(h.pci, h.slot, msix + 2, 2), 2u);  // 3 vectors: 2 queues + config
  EXPECT_EQ(config_read(h.pci, h.slot, msix + 4, 4), kMsixTableBarOffset | kBarIndex);
  EXPECT_EQ(config_read(h.pci, h.slot, msix + 8, 4), kMsixPbaBarOffset | kBarIndex);
}

TEST(VirtioPciDevice, OffersBackendFeaturesWithVersion1AndNeverTransportOnesItLacks) {
  FakeBackend backend;
  backend.features |= (uint64_t{1} << 30) | (uint64_t{1} << 38);
  Harness h(std::move(backend));
  h.write(kDeviceFeatureSelect, 0, 4);
  EXPECT_EQ(h.read(kDeviceFeature, 4), (1u << 1) | (1u << 9));
  h.write(kDeviceFeatureSelect, 1, 4);
  EXPECT_EQ(h.read(kDeviceFeature, 4), 1u);  // VERSION_1 only
  h.write(kDeviceFeatureSelect, 7, 4);
  EXPECT_EQ(h.read(kDeviceFeature, 4), 0u);
  EXPECT_EQ(h.read(kNumQueues, 2), 2u);
}

TEST(VirtioPciDevice, FeaturesOkOnlyForASubsetThatIncludesVersion1) {
  Harness h;
  h.negotiate(kVersion1 | (1u << 9));
  EXPECT_TRUE(h.status() & kStatusFeaturesOk);
  // Fixed from now on.
  h.write(kDriverFeatureSelect, 0, 4);
  h.write(kDriverFeature, 0, 4);
  EXPECT_EQ(h.read(kDriverFeature, 4), 1u << 9);

  Harness extra;
  extra.negotiate(kVersion1 | (1u << 5));  // not offered
  EXPECT_EQ(extra.status(), kStatusAcknowledge | kStatusDriver);

  Harness legacy;
  legacy.negotiate(1u << 9);  // no VERSION_1
  EXPECT_FALSE(legacy.status() & kStatusFeaturesOk);
}

TEST(VirtioPciDevice, StatusBitsCannotBeClearedOrSkippedAhead) {
  Harness h;
  h.set_status(kStatusAcknowledge | kStatusDriver);
  h.set_status(kStatusAcknowledge);  // clearing DRIVER: ignored
  EXPECT_EQ(h.status(), kStatusAcknowledge | kStatusDriver);
  h.set_status(kStatusAcknowledge | kStatusDriver | kStatusDriverOk);  // no FEATURES_OK yet
  EXPECT_EQ(h.status(), kStatusAcknowledge | kStatusDriver);
  EXPECT_EQ(h.backend.activations, 0);
}

TEST(VirtioPciDevice, QueueRegistersFollowTheSpecRules) {
  Harness h;
  h.write(kQueueSelect, 1, 2);
  EXPECT_EQ(h.read(kQueueSize, 2), 256u);  // starts at the maximum
  EXPECT_EQ(h.read(kQueueNotifyOff, 2), 1u);
  h.write(kQueueSize, 100, 2);  // not a power of two
  EXPECT_EQ(h.read(kQueueSize, 2), 256u);
  h.write(kQueueSize, 512, 2);  // above the maximum
  EXPECT_EQ(h.read(kQueueSize, 2), 256u);
  h.write(kQueueSize, 64, 2);
  EXPECT_EQ(h.read(kQueueSize, 2), 64u);
  h.write(kQueueMsixVector, 3, 2);  // only vectors 0..2 exist
  EXPECT_EQ(h.read(kQueueMsixVector, 2), kNoVector);
  h.write(kQueueMsixVector, 2, 2);
  EXPECT_EQ(h.read(kQueueMsixVector, 2), 2u);
  h.write(kMsixConfig, 9, 2);
  EXPECT_EQ(h.read(kMsixConfig, 2), kNoVector);
  h.write(kQueueDesc, 0x12345000, 4);
  h.write(kQueueDesc + 4, 0x1, 4);
  EXPECT_EQ(h.read(kQueueDesc, 8), 0x112345000u);
  h.write(kQueueEnable, 1, 2);
  h.write(kQueueSize, 32, 2);  // layout is fixed once enabled
  EXPECT_EQ(h.read(kQueueSize, 2), 64u);
  EXPECT_EQ(h.read(kQueueEnable, 2), 1u);
  h.write(kQueueSelect, 2, 2);  // no such queue
  EXPECT_EQ(h.read(kQueueSize, 2), 0u);
  h.write(kQueueSize, 16, 2);
  EXPECT_EQ(h.read(kQueueSize, 2), 0u);
  EXPECT_EQ(h.read(kQueueMsixVector, 2), kNoVector);
  EXPECT_GT(h.device->common_config().ignored_writes(), 0u);
}

TEST(VirtioPciDevice, DriverOkActivatesTheBackendWithEveryEnabledQueue) {
  Harness h;
  h.enable_msix();
  h.negotiate(kVersion1 | (1u << 9));
  h.write(kMsixConfig, 0, 2);
  h.setup_queue(1, 128, 2);  // queue 0 stays disabled
  h.set_status(kStatusAcknowledge | kStatusDriver | kStatusFeaturesOk | kStatusDriverOk);
  EXPECT_TRUE(h.status() & kStatusDriverOk);
  ASSERT_EQ(h.backend.activations, 1);
  EXPECT_EQ(h.backend.negotiated, kVersion1 | (1u << 9));
  ASSERT_EQ(h.backend.setups.size(), 1u);
  const QueueSetup& q = h.backend.setups[0];
  EXPECT_EQ(q.index, 1u);
  EXPECT_EQ(q.size, 128u);
  EXPECT_EQ(q.desc_gpa, 0x110000u);
  EXPECT_EQ(q.avail_gpa, 0x114000u);
  EXPECT_EQ(q.used_gpa, 0x118000u);
  EXPECT_GE(q.kick_eventfd, 0);
  EXPECT_GE(q.call_eventfd, 0);
  EXPECT_NE(q.kick_eventfd, q.call_eventfd);
  // Kick: an ioeventfd on queue 1's notify address.
  ASSERT_EQ(h.kvm.ioeventfds.size(), 1u);
  EXPECT_EQ(h.kvm.ioeventfds.begin()->first, h.bar + kNotifyBarOffset + 1 * kNotifyOffMultiplier);
  EXPECT_EQ(h.kvm.ioeventfds.begin()->second, q.kick_eventfd);
  // Call: an irqfd on the GSI routed to vector 2's message.
  ASSERT_EQ(h.kvm.irqfds.size(), 1u);
  const auto [gsi, fd] = *h.kvm.irqfds.begin();
  EXPECT_EQ(fd, q.call_eventfd);
  ASSERT_TRUE(h.kvm.routes.count(gsi));
  EXPECT_EQ(h.kvm.routes[gsi], (pci::MsiMessage{0xfee00000, 0x42}));
  EXPECT_EQ(h.device->counters().kvm_errors, 0u);
}

TEST(VirtioPciDevice, ResetTearsEverythingDown) {
  Harness h;
  h.enable_msix();
  h.negotiate(kVersion1);
  h.setup_queue(0, 256, 0);
  h.setup_queue(1, 256, 1);
  h.set_status(kStatusAcknowledge | kStatusDriver | kStatusFeaturesOk | kStatusDriverOk);
  ASSERT_EQ(h.kvm.ioeventfds.size(), 2u);
  ASSERT_EQ(h.kvm.irqfds.size(), 2u);
  h.set_status(0);
  EXPECT_EQ(h.status(), 0u);
  EXPECT_EQ(h.backend.resets, 1);
  EXPECT_TRUE(h.kvm.ioeventfds.empty());
  EXPECT_TRUE(h.kvm.irqfds.empty());
  EXPECT_FALSE(h.device->active());
  h.write(kQueueSelect, 1, 2);
  EXPECT_EQ(h.read(kQueueEnable, 2), 0u);
  EXPECT_EQ(h.read(kQueueMsixVector, 2), kNoVector);
  EXPECT_EQ(h.read(kQueueDesc, 8), 0u);
  h.write(kDriverFeatureSelect, 1, 4);
  EXPECT_EQ(h.read(kDriverFeature, 4), 0u);
  // And it can be brought up again.
  h.negotiate(kVersion1);
  h.setup_queue(0, 16, 0);
  h.set_status(kStatusAcknowledge | kStatusDriver | kStatusFeaturesOk | kStatusDriverOk);
  EXPECT_EQ(h.backend.activations, 2);
  EXPECT_EQ(h.kvm.ioeventfds.size(), 1u);
  EXPECT_EQ(h.device->counters().kvm_errors, 0u);
}

TEST(VirtioPciDevice, BackendFailureAtActivationNeedsResetAndInterrupts) {
  FakeBackend backend;
  backend.fail_activate = true;
  Harness h(std::move(backend));
  h.enable_msix();
  h.negotiate(kVersion1);
  h.write(kMsixConfig, 0, 2);
  h.setup_queue(0, 256, 1);
  h.set_status(kStatusAcknowledge | kStatusDriver | kStatusFeaturesOk | kStatusDriverOk);
  EXPECT_TRUE(h.status() & kStatusNeedsReset);
  ASSERT_EQ(h.kvm.signalled_msis.size(), 1u);
  EXPECT_EQ(h.kvm.signalled_msis[0], (pci::MsiMessage{0xfee00000, 0x40}));  // the config vector
  EXPECT_EQ(h.read(kIsrBarOffset, 1), kIsrConfig);
  EXPECT_EQ(h.read(kIsrBarOffset, 1), 0u);  // reading acknowledged it
  // Only a reset clears NEEDS_RESET.
  h.set_status(kStatusAcknowledge | kStatusDriver | kStatusFeaturesOk | kStatusDriverOk);
  EXPECT_TRUE(h.status() & kStatusNeedsReset);
  h.set_status(0);
  EXPECT_EQ(h.status(), 0u);
  EXPECT_TRUE(h.kvm.ioeventfds.empty());
}

TEST(VirtioPciDevice, BackendThatFailsLaterIsReportedOnce) {
  Harness h;
  h.enable_msix();
  h.negotiate(kVersion1);
  h.write(kMsixConfig, 0, 2);
  h.setup_queue(0, 256, 1);
  h.set_status(kStatusAcknowledge | kStatusDriver | kStatusFeaturesOk | kStatusDriverOk);
  EXPECT_FALSE(h.status() & kStatusNeedsReset);
  h.backend.broken = true;
  EXPECT_TRUE(h.status() & kStatusNeedsReset);  // noticed on the next access
  h.device->check_backend();
  EXPECT_EQ(h.kvm.signalled_msis.size(), 1u);
}

TEST(VirtioPciDevice, ConfigInterruptWhileMaskedIsPendingUntilUnmask) {
  FakeBackend backend;
  backend.fail_activate = true;
  Harness h(std::move(backend));
  h.enable_msix();
  h.write(kMsixTableBarOffset + 12, 1, 4);  // mask vector 0
  h.negotiate(kVersion1);
  h.write(kMsixConfig, 0, 2);
  h.set_status(kStatusAcknowledge | kStatusDriver | kStatusFeaturesOk | kStatusDriverOk);
  EXPECT_TRUE(h.kvm.signalled_msis.empty());
  EXPECT_EQ(h.read(kMsixPbaBarOffset, 8), 1u);
  h.write(kMsixTableBarOffset + 12, 0, 4);
  ASSERT_EQ(h.kvm.signalled_msis.size(), 1u);
  EXPECT_EQ(h.read(kMsixPbaBarOffset, 8), 0u);
}

TEST(VirtioPciDevice, MaskingAVectorDetachesItsIrqfdUntilUnmasked) {
  Harness h;
  h.enable_msix();
  h.negotiate(kVersion1);
  h.setup_queue(0, 256, 1);
  h.set_status(kStatusAcknowledge | kStatusDriver | kStatusFeaturesOk | kStatusDriverOk);
  ASSERT_EQ(h.kvm.irqfds.size(), 1u);
  h.write(kMsixTableBarOffset + 16 + 12, 1, 4);
  EXPECT_TRUE(h.kvm.irqfds.empty());
  h.write(kMsixTableBarOffset + 16 + 8, 0x77, 4);  // reprogram while masked
  h.write(kMsixTableBarOffset + 16 + 12, 0, 4);
  ASSERT_EQ(h.kvm.irqfds.size(), 1u);
  EXPECT_EQ(h.kvm.routes[h.kvm.irqfds.begin()->first].data, 0x77u);
  // Disabling MSI-X as a whole detaches it as well.
  config_write(h.pci, h.slot, h.msix_cap() + 2, 0, 2);
  EXPECT_TRUE(h.kvm.irqfds.empty());
  EXPECT_EQ(h.device->counters().kvm_errors, 0u);
}

TEST(VirtioPciDevice, DeviceConfigIsForwardedToTheBackend) {
  FakeBackend backend;
  backend.config = {1, 2, 3, 4, 5, 6, 7, 8};
  Harness h(std::move(backend));
  EXPECT_EQ(h.read(kDeviceCfgBarOffset, 4), 0x04030201u);
  EXPECT_EQ(h.read(kDeviceCfgBarOffset + 6, 2), 0x0807u);
  EXPECT_EQ(h.read(kDeviceCfgBarOffset + 7, 4), 0u);  // the backend refuses: zeros
  h.write(kDeviceCfgBarOffset + 2, 0xab, 1);
  ASSERT_EQ(h.backend.config_writes.size(), 1u);
  EXPECT_EQ(h.backend.config_writes[0].first, 2u);
  EXPECT_EQ(h.device->counters().config_errors, 1u);
}

TEST(VirtioPciDevice, PciCfgCapabilityReachesTheBar) {
  Harness h;
  const uint8_t cap = h.virtio_cap(kCapPciCfg);
  ASSERT_NE(cap, 0);
  config_write(h.pci, h.slot, cap + kCapBarOffset, 0, 1);
  config_write(h.pci, h.slot, cap + kCapOffsetOffset, kCommonCfgBarOffset + kNumQueues, 4);
  config_write(h.pci, h.slot, cap + kCapLengthOffset, 2, 4);
  EXPECT_EQ(config_read(h.pci, h.slot, cap + kCapPciCfgDataOffset, 2), 2u);
  config_write(h.pci, h.slot, cap + kCapOffsetOffset, kCommonCfgBarOffset + kDeviceStatus, 4);
  config_write(h.pci, h.slot, cap + kCapLengthOffset, 1, 4);
  config_write(h.pci, h.slot, cap + kCapPciCfgDataOffset, kStatusAcknowledge, 1);
  EXPECT_EQ(h.status(), kStatusAcknowledge);
  // A window outside the BAR does nothing.
  config_write(h.pci, h.slot, cap + kCapOffsetOffset, kBarSize - 1, 4);
  config_write(h.pci, h.slot, cap + kCapLengthOffset, 4, 4);
  EXPECT_EQ(config_read(h.pci, h.slot, cap + kCapPciCfgDataOffset, 4), 0u);
}

// A write through pci_cfg_data shorter than the window the capability names: the device has
// only the guest's bytes, not the window's, so it must not write the window (the rest would
// come from past the access).
TEST(VirtioPciDevice, PciCfgWriteShorterThanTheCapabilityLengthIsIgnored) {
  Harness h;
  const uint8_t cap = h.virtio_cap(kCapPciCfg);
  ASSERT_NE(cap, 0);
  h.write(kQueueSelect, 0, 2);
  config_write(h.pci, h.slot, cap + kCapBarOffset, 0, 1);
  config_write(h.pci, h.slot, cap + kCapOffsetOffset, kCommonCfgBarOffset + kQueueDesc, 4);
  config_write(h.pci, h.slot, cap + kCapLengthOffset, 4, 4);
  for (size_t size : {1u, 2u}) {
    const uint64_t ignored = h.device->counters().ignored_bar_accesses;
    config_write(h.pci, h.slot, cap + kCapPciCfgDataOffset, 0x41, size);
    EXPECT_EQ(h.device->counters().ignored_bar_accesses, ignored + 1) << size << "-byte write";
    EXPECT_EQ(h.read(kQueueDesc, 8), 0u) << size << "-byte write reached queue_desc";
  }
  // The full length goes through.
  config_write(h.pci, h.slot, cap + kCapPciCfgDataOffset, 0x41424344, 4);
  EXPECT_EQ(h.read(kQueueDesc, 8), 0x41424344u);
}

TEST(VirtioPciDevice, NotifyThatReachesTheMonitorStillKicks) {
  Harness h;
  h.negotiate(kVersion1);
  h.setup_queue(1, 256, kNoVector);
  h.set_status(kStatusAcknowledge | kStatusDriver | kStatusFeaturesOk | kStatusDriverOk);
  h.write(kNotifyBarOffset + 1 * kNotifyOffMultiplier, 1, 2);
  ASSERT_EQ(h.kvm.signalled_fds.size(), 1u);
  EXPECT_EQ(h.kvm.signalled_fds[0], h.backend.setups[0].kick_eventfd);
  h.write(kNotifyBarOffset, 0, 2);  // queue 0 is not enabled
  EXPECT_EQ(h.kvm.signalled_fds.size(), 1u);
  EXPECT_TRUE(h.kvm.irqfds.empty());  // no vector: no irqfd
}

TEST(VirtioPciDevice, IoeventfdFailureNeedsReset) {
  Harness h;
  h.kvm.fail_ioeventfd = true;
  h.negotiate(kVersion1);
  h.setup_queue(0, 256, kNoVector);
  h.set_status(kStatusAcknowledge | kStatusDriver | kStatusFeaturesOk | kStatusDriverOk);
  EXPECT_TRUE(h.status() & kStatusNeedsReset);
  EXPECT_EQ(h.backend.activations, 0);
  EXPECT_EQ(h.read(kIsrBarOffset, 1), kIsrConfig);
}

}  // namespace
}  // namespace bulwark::virtio_pci

// ---- a backend that failed for good; backend calls deferred out of the caller's lock ------

namespace bulwark::virtio_pci {
namespace {

void start_one_queue(Harness& h) {
  h.enable_msix();
  h.negotiate(kVersion1);
  h.write(kMsixConfig, 0, 2);
  h.setup_queue(0, 256, 1);
  h.set_status(kStatusAcknowledge | kStatusDriver | kStatusFeaturesOk | kStatusDriverOk);
}

// Linux's vp_reset writes 0 and polls until status reads 0: with a dead backend that poll
// must end, and the probe that follows must fail cleanly (FEATURES_OK refused), every time.
TEST(VirtioPciDevice, ADeadBackendsResetCompletesAndFeaturesOkIsRefusedForGood) {
  Harness h;
  start_one_queue(h);
  h.backend.broken = true;
  ASSERT_TRUE(h.status() & kStatusNeedsReset);
  const size_t interrupts = h.kvm.signalled_msis.size();
  for (int attempt = 0; attempt < 3; ++attempt) {
    h.set_status(0);
    for (int poll = 0; poll < 5; ++poll) ASSERT_EQ(h.status(), 0u) << "attempt " << attempt << " poll " << poll;
    h.negotiate(kVersion1);
    EXPECT_EQ(h.status() & kStatusFeaturesOk, 0) << "a dead device accepted FEATURES_OK";
    h.set_status(kStatusAcknowledge | kStatusDriver | kStatusFeaturesOk | kStatusDriverOk);
    EXPECT_EQ(h.status() & (kStatusDriverOk | kStatusNeedsReset), 0);
  }
  EXPECT_EQ(h.device->counters().refused_restarts, 6u);  // FEATURES_OK asked twice per attempt
  EXPECT_EQ(h.kvm.signalled_msis.size(), interrupts) << "the failure was raised again after a reset";
}

// A backend found dead while no driver has the device: nothing raised (a status-0 device
// that read NEEDS_RESET could never be reset), the driver's start-up fails at FEATURES_OK.
TEST(VirtioPciDevice, ABackendDeadBeforeAnyDriverRefusesFeaturesOkWithoutNeedsReset) {
  FakeBackend backend;
  backend.broken = true;
  Harness h(std::move(backend));
  EXPECT_EQ(h.status(), 0u);
  h.negotiate(kVersion1);
  EXPECT_EQ(h.status(), kStatusAcknowledge | kStatusDriver);
  EXPECT_TRUE(h.kvm.signalled_msis.empty());
}

struct LockCounter {
  int taken = 0;
  VirtioPciDevice::Locked locked() {
    return [this](const std::function<void()>& fn) {
      ++taken;
      fn();
    };
  }
};

TEST(VirtioPciDevice, DeferredBackendCallsWaitForRunBackendCallsAndKeepTheirOrder) {
  Harness h;
  h.device->defer_backend_calls();
  start_one_queue(h);
  EXPECT_EQ(h.backend.activations, 0) << "a round trip was made inside the caller's critical section";
  EXPECT_TRUE(h.device->has_backend_calls());
  LockCounter lock;
  h.device->run_backend_calls(lock.locked());
  EXPECT_EQ(h.backend.activations, 1);
  EXPECT_EQ(h.backend.setups.size(), 1u);
  EXPECT_FALSE(h.device->has_backend_calls());
  EXPECT_GE(lock.taken, 2) << "the queue is taken and each outcome applied under the caller's lock";

  // Reset then start again, both queued: done in that order (the reset clears setups).
  h.set_status(0);
  EXPECT_EQ(h.status(), 0u) << "the reset is complete for the guest at once";
  h.negotiate(kVersion1);
  h.setup_queue(0, 64, 1);
  h.set_status(kStatusAcknowledge | kStatusDriver | kStatusFeaturesOk | kStatusDriverOk);
  EXPECT_EQ(h.backend.resets, 0);
  h.device->run_backend_calls(lock.locked());
  EXPECT_EQ(h.backend.resets, 1);
  EXPECT_EQ(h.backend.activations, 2);
  ASSERT_EQ(h.backend.setups.size(), 1u);
  EXPECT_EQ(h.backend.setups[0].size, 64u);
}

// An activation that fails after the guest already reset the device belongs to the old
// device: the fresh one must not read NEEDS_RESET.
TEST(VirtioPciDevice, ADeferredActivationFailureAfterAResetIsStale) {
  FakeBackend backend;
  backend.fail_activate = true;
  Harness h(std::move(backend));
  h.device->defer_backend_calls();
  start_one_queue(h);
  h.set_status(0);
  LockCounter lock;
  h.device->run_backend_calls(lock.locked());
  EXPECT_EQ(h.backend.activations, 1);
  EXPECT_EQ(h.status(), 0u);
}

}  // namespace
}  // namespace bulwark::virtio_pci
