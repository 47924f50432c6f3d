// Drives a VirtioPciDevice (fake backend, fake KVM that refuses what KVM refuses) with a
// hostile driver's BAR accesses of any offset and width, configuration-space writes (MSI-X
// control, the PCI_CFG window) and backend failures. After every step: no KVM request was
// refused (no double assignment, no removal of what is not there), nothing is registered with
// KVM unless the device runs, every irqfd's GSI is routed, DRIVER_OK implies FEATURES_OK with
// a subset of the offered features, and every queue handed to the backend has a valid size.
//
// Input: byte 0: bits 1..0 queue count - 1, bit 2 backend fails activation; then ops:
//   op byte: bits 2..0 kind (0,1 BAR read, 2,3,4 BAR write, 5 config write, 6 backend breaks,
//            7 status write), bits 5..3 width index (1, 2, 4, 8, 1, 2, 4, 3)
//   BAR: 2 offset bytes (the low 15 bits; biased towards common cfg when bit 6 of op is set)
//   then value bytes for writes; config write: 1 offset byte + 4 value bytes; status: 1 byte.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <span>

#include "monitor/virtio_pci/virtio_pci_device.h"
#include "tests/unit/pci/fake_virtio.h"

namespace {

using namespace bulwark::virtio_pci;
using bulwark::virtio_pci::testing::FakeBackend;
using bulwark::virtio_pci::testing::FakeKvm;

void check(bool ok, const char* what, uint64_t detail = 0) {
  if (!ok) {
    std::fprintf(stderr, "virtio-pci invariant broken: %s (0x%llx)\n", what, static_cast<unsigned long long>(detail));
    std::abort();
  }
}

constexpr size_t kWidths[8] = {1, 2, 4, 8, 1, 2, 4, 3};

void check_invariants(const VirtioPciDevice& device, const FakeBackend& backend, const FakeKvm& kvm) {
  check(device.counters().kvm_errors == 0, "KVM refused a request", device.counters().kvm_errors);
  if (!device.active()) {
    check(kvm.ioeventfds.empty(), "ioeventfd left behind", kvm.ioeventfds.size());
    check(kvm.irqfds.empty(), "irqfd left behind", kvm.irqfds.size());
  }
  for (const auto& [gsi, fd] : kvm.irqfds) check(kvm.routes.count(gsi) == 1, "irqfd on an unrouted GSI", gsi);
  const CommonConfig& common = device.common_config();
  if (common.status() & kStatusDriverOk) {
    check(common.status() & kStatusFeaturesOk, "DRIVER_OK without FEATURES_OK");
    check((common.driver_features() & ~common.device_features()) == 0, "unoffered feature accepted");
  }
  for (const QueueSetup& q : backend.setups) {
    check(q.size != 0 && (q.size & (q.size - 1)) == 0 && q.size <= backend.max_size, "bad queue size", q.size);
    check(q.index < backend.queues, "bad queue index", q.index);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  FakeBackend backend;
  backend.queues = static_cast<uint16_t>((data[0] & 3) + 1);
  backend.fail_activate = data[0] & 4;
  FakeKvm kvm;
  kvm.use_real_eventfds = false;
  auto created = VirtioPciDevice::create(backend, kvm);
  if (!created.ok()) std::abort();
  VirtioPciDevice& device = **created;
  size_t pos = 1;
  const auto take = [&](size_t n, uint8_t* out) {
    for (size_t i = 0; i < n; ++i) out[i] = pos < size ? data[pos++] : 0;
  };
  while (pos < size) {
    const uint8_t op = data[pos++];
    const size_t width = kWidths[(op >> 3) & 7];
    uint8_t off[2];
    uint8_t value[8] = {};
    const unsigned kind = op & 7;
    if (kind <= 4) {
      take(2, off);
      uint64_t offset = (off[0] | off[1] << 8) & 0x7fff;
      if (op & 0x40) offset &= 0x3f;  // most interesting state is in common cfg
      if (kind <= 1) {
        device.bar_read(kBarIndex, offset, std::span<uint8_t>(value, width));
      } else {
        take(width, value);
        device.bar_write(kBarIndex, offset, std::span<const uint8_t>(value, width));
      }
    } else if (kind == 5) {
      take(1, off);
      take(4, value);
      const size_t w = width > 4 ? 4 : width;
      device.config_write(off[0], std::span<const uint8_t>(value, w));
    } else if (kind == 6) {
      backend.broken = true;
      device.check_backend();
    } else {
      take(1, value);
      device.bar_write(kBarIndex, kDeviceStatus, std::span<const uint8_t>(value, 1));
      if (value[0] == 0) {
        check(device.device_status() == 0, "reset left status bits", device.device_status());
        check(!device.active(), "reset left the device active");
        backend.broken = false;
      }
    }
    check_invariants(device, backend, kvm);
  }
  return 0;
}
