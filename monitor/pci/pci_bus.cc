#include "monitor/pci/pci_bus.h"

#include <algorithm>
#include <cstring>

#include "bulwark/common/byte_reader.h"

namespace bulwark::pci {
namespace {

// Bits 30-24 are reserved (AMD uses them for extended registers, which this bus does not
// have) and bits 1-0 are always zero.
constexpr uint32_t kAddressWritableBits = 0x80fffffcu;

void fill_ones(std::span<uint8_t> data) { std::fill(data.begin(), data.end(), uint8_t{0xff}); }

}  // namespace

PciBus::PciBus(uint64_t window_base, uint64_t window_end)
    : window_base_(window_base), window_end_(std::max(window_base, window_end)), allocator_(window_base, window_end) {
  slots_[0] = &host_bridge_;
}

Result<uint8_t> PciBus::add_device(PciDevice& device) {
  const auto free_slot = std::find(slots_.begin(), slots_.end(), nullptr);
  if (free_slot == slots_.end()) return Error("PCI bus 0 is full (32 devices)");
  ConfigSpace& config = device.config_space();
  for (unsigned bar = 0; bar < kBarCount; ++bar) {
    const uint32_t size = config.bar_size(bar);
    if (size == 0) continue;
    const std::optional<uint64_t> base = allocator_.allocate(size);
    if (!base) return Error("PCI MMIO window full: no room for a " + std::to_string(size) + "-byte BAR");
    config.set_bar_address(bar, static_cast<uint32_t>(*base));
  }
  *free_slot = &device;
  return static_cast<uint8_t>(free_slot - slots_.begin());
}

std::optional<PciBus::Target> PciBus::config_target(uint16_t data_offset, size_t size) const {
  if (!(address_ & kConfigAddressEnable)) return std::nullopt;
  if (data_offset + size > 4) return std::nullopt;  // would cross the data dword
  const uint32_t bus = (address_ >> 16) & 0xff;
  const uint32_t device = (address_ >> 11) & 0x1f;
  const uint32_t function = (address_ >> 8) & 0x7;
  if (bus != 0 || function != 0 || (address_ & 0x7f000000u) != 0) return std::nullopt;
  PciDevice* target = slots_[device];
  if (target == nullptr) return std::nullopt;
  return Target{target, static_cast<uint16_t>((address_ & 0xfc) + data_offset)};
}

void PciBus::port_read(uint16_t offset, std::span<uint8_t> data) {
  if (offset < kConfigDataOffset) {
    if (!range_within(offset, data.size(), 4)) {
      ++counters_.odd_port_accesses;
      fill_ones(data);
      return;
    }
    // Any width reads back the latched address: Linux's type-1 probe relies on it.
    uint8_t bytes[4];
    std::memcpy(bytes, &address_, 4);
    std::memcpy(data.data(), bytes + offset, data.size());
    return;
  }
  const std::optional<Target> target = config_target(static_cast<uint16_t>(offset - kConfigDataOffset), data.size());
  if (!target) {
    ++counters_.absent_config_reads;
    fill_ones(data);
    return;
  }
  target->device->config_read(target->reg, data);
}

void PciBus::port_write(uint16_t offset, std::span<const uint8_t> data) {
  if (offset < kConfigDataOffset) {
    // Only a dword write at 0xCF8 sets the address; byte writes to 0xCF8-0xCFB belong to the
    // long-gone mechanism #2 (Linux pokes 0xCFB while probing) and are dropped.
    if (offset != 0 || data.size() != 4) {
      ++counters_.odd_port_accesses;
      return;
    }
    uint32_t value;
    std::memcpy(&value, data.data(), 4);
    address_ = value & kAddressWritableBits;
    return;
  }
  const std::optional<Target> target = config_target(static_cast<uint16_t>(offset - kConfigDataOffset), data.size());
  if (!target) {
    ++counters_.absent_config_writes;
    return;
  }
  target->device->config_write(target->reg, data);
}

std::optional<PciBus::BarHit> PciBus::find_bar(uint64_t gpa, size_t size) const {
  for (PciDevice* device : slots_) {
    if (device == nullptr) continue;
    ConfigSpace& config = device->config_space();
    if (!config.memory_enabled()) continue;
    for (unsigned bar = 0; bar < kBarCount; ++bar) {
      const std::optional<uint32_t> base = config.bar_address(bar);
      if (!base || gpa < *base) continue;
      // The whole access must lie inside the BAR; straddling accesses hit nothing.
      if (range_within(gpa - *base, size, config.bar_size(bar))) return BarHit{device, bar, gpa - *base};
    }
  }
  return std::nullopt;
}

void PciBus::mmio_read(uint64_t offset, std::span<uint8_t> data) {
  const std::optional<uint64_t> gpa = checked_add(window_base_, offset);
  const std::optional<BarHit> hit = gpa ? find_bar(*gpa, data.size()) : std::nullopt;
  if (!hit) {
    ++counters_.unclaimed_mmio_reads;
    fill_ones(data);
    return;
  }
  hit->device->bar_read(hit->bar, hit->offset, data);
}

void PciBus::mmio_write(uint64_t offset, std::span<const uint8_t> data) {
  const std::optional<uint64_t> gpa = checked_add(window_base_, offset);
  const std::optional<BarHit> hit = gpa ? find_bar(*gpa, data.size()) : std::nullopt;
  if (!hit) {
    ++counters_.unclaimed_mmio_writes;
    return;
  }
  hit->device->bar_write(hit->bar, hit->offset, data);
}

}  // namespace bulwark::pci
