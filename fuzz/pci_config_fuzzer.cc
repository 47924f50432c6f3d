// Drives PCI bus 0 through configuration mechanism #1 (ports 0xCF8-0xCFF, any offset and
// width) and its MMIO window, with the host bridge and a device that has two memory BARs and
// a capability with guest-writable bits. After every step: the address latch holds only its
// defined bits, identity and status never change, BARs hold only address bits aligned to
// their size, the command register holds only its writable bits, and absent slots read as
// all ones.
//
// Input, repeated until the bytes run out:
//   op byte: bits 1..0 kind (0 port read, 1 port write, 2 MMIO read, 3 MMIO write),
//            bits 4..2 port offset (0..7), bits 7..5 width index (1, 2, 4, 4, 8, 1, 2, 3)
//   port write: 4 value bytes; MMIO: 4 offset bytes (from the window base, masked to 1 MiB)
//   and for writes 8 value bytes.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <span>

#include "monitor/pci/pci_bus.h"

namespace {

using namespace bulwark::pci;

void check(bool ok, const char* what, uint64_t detail = 0) {
  if (!ok) {
    std::fprintf(stderr, "pci config invariant broken: %s (0x%llx)\n", what, static_cast<unsigned long long>(detail));
    std::abort();
  }
}

class TestDevice final : public PciDevice {
 public:
  TestDevice()
      : config_(PciIdentity{.vendor_id = 0x1af4, .device_id = 0x1042, .revision = 1, .class_code = 0x018000,
                            .subsystem_vendor_id = 0x1af4, .subsystem_id = 0x1042}) {
    config_.declare_memory_bar(0, 0x8000);
    config_.declare_memory_bar(2, 0x100);
    const uint8_t body[6] = {1, 2, 3, 4, 5, 6};
    const uint8_t writable[6] = {0, 0xc0, 0, 0xff, 0, 0};
    config_.add_capability(kCapabilityIdMsix, body, writable);
  }
  ConfigSpace& config_space() override { return config_; }
  void bar_read(unsigned bar, uint64_t offset, std::span<uint8_t> data) override {
    check(bar == 0 || bar == 2, "read of an undeclared BAR", bar);
    check(offset + data.size() <= config_.bar_size(bar), "BAR read past its end", offset);
    std::memset(data.data(), 0x11, data.size());
  }
  void bar_write(unsigned bar, uint64_t offset, std::span<const uint8_t> data) override {
    check(bar == 0 || bar == 2, "write to an undeclared BAR", bar);
    check(offset + data.size() <= config_.bar_size(bar), "BAR write past its end", offset);
  }

 private:
  ConfigSpace config_;
};

constexpr size_t kWidths[8] = {1, 2, 4, 4, 8, 1, 2, 3};

void check_invariants(PciBus& bus, TestDevice& device) {
  uint8_t latch[4];
  bus.port_read(0, latch);
  uint32_t address;
  std::memcpy(&address, latch, 4);
  check((address & ~0x80fffffcu) == 0, "address latch holds undefined bits", address);

  ConfigSpace& c = device.config_space();
  check(c.u32(kVendorId) == 0x10421af4u, "device identity changed", c.u32(kVendorId));
  check(c.u32(kRevisionId) == 0x01800001u, "class/revision changed", c.u32(kRevisionId));
  check(c.u16(kStatus) == kStatusCapabilityList, "status changed", c.u16(kStatus));
  check(c.u8(kCapabilityPointer) == kFirstCapability, "capability pointer changed");
  check((c.command() & ~0x0546u) == 0, "command holds read-only bits", c.command());
  for (unsigned bar = 0; bar < kBarCount; ++bar) {
    const uint32_t raw = c.u32(static_cast<uint16_t>(kBar0 + 4 * bar));
    const uint32_t size = c.bar_size(bar);
    if (size == 0) {
      check(raw == 0, "unimplemented BAR became writable", bar);
    } else {
      check((raw & (size - 1)) == 0, "BAR holds bits below its size", raw);
    }
  }
  // Slot 31 is empty: all ones through the mechanism, whatever the latch held before.
  const uint32_t saved = address;
  const uint32_t probe = 0x80000000u | (31u << 11);
  bus.port_write(0, std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(&probe), 4));
  uint8_t data[4];
  bus.port_read(4, data);
  check(data[0] == 0xff && data[1] == 0xff && data[2] == 0xff && data[3] == 0xff, "absent slot readable");
  bus.port_write(0, std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(&saved), 4));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  PciBus bus;
  TestDevice device;
  if (!bus.add_device(device).ok()) std::abort();
  size_t pos = 0;
  const auto take = [&](size_t n, uint8_t* out) {
    for (size_t i = 0; i < n; ++i) out[i] = pos < size ? data[pos++] : 0;
  };
  while (pos < size) {
    const uint8_t op = data[pos++];
    const unsigned kind = op & 3;
    const auto port = static_cast<uint16_t>((op >> 2) & 7);
    const size_t width = kWidths[op >> 5];
    uint8_t buffer[8] = {};
    if (kind == 0) {
      bus.port_read(port, std::span<uint8_t>(buffer, width > 4 ? 4 : width));
    } else if (kind == 1) {
      take(4, buffer);
      bus.port_write(port, std::span<const uint8_t>(buffer, width > 4 ? 4 : width));
    } else {
      uint8_t off[4];
      take(4, off);
      uint32_t offset;
      std::memcpy(&offset, off, 4);
      offset &= 0xfffff;
      if (kind == 2) {
        bus.mmio_read(offset, std::span<uint8_t>(buffer, width));
      } else {
        take(8, buffer);
        bus.mmio_write(offset, std::span<const uint8_t>(buffer, width));
      }
    }
    check_invariants(bus, device);
  }
  return 0;
}
