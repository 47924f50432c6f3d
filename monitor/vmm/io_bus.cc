#include "monitor/vmm/io_bus.h"

#include <algorithm>
#include <cstring>

#include "bulwark/common/byte_reader.h"
#include "bulwark/common/hex.h"
#include "bulwark/common/log.h"

namespace bulwark::vmm {
namespace {
// The first few unknown accesses are worth a debug line; a flood of them is only counted.
constexpr uint64_t kLoggedUnknownAccesses = 16;

}  // namespace

bool IoBus::add_range(PortRange range) {
  if (range.count == 0 || uint32_t{range.base} + range.count > 0x10000) return false;
  for (const PortRange& r : ports_) {
    if (range.base < r.base + r.count && r.base < range.base + range.count) return false;
  }
  ports_.push_back(std::move(range));
  return true;
}

bool IoBus::add_port_device(uint16_t base, uint16_t count, legacy::PortIoDevice* device, std::string name) {
  return device != nullptr && add_range({base, count, device, std::move(name)});
}

bool IoBus::add_ignored_ports(uint16_t base, uint16_t count, std::string name) {
  return add_range({base, count, nullptr, std::move(name)});
}

bool IoBus::add_mmio_device(uint64_t base, uint64_t size, pci::MmioDevice* device, std::string name) {
  if (device == nullptr || size == 0 || !checked_add(base, size - 1)) return false;
  std::lock_guard<std::mutex> lock(mutex_);
  for (const MmioRange& r : mmio_) {
    // Both ranges are non-empty and do not wrap: [a, a+n) and [b, b+m) meet iff a < b+m and b < a+n,
    // written with the last byte to stay clear of 2^64.
    if (base <= r.base + (r.size - 1) && r.base <= base + (size - 1)) return false;
  }
  mmio_.push_back({base, size, device, std::move(name)});
  return true;
}

void IoBus::port_access(uint16_t port, bool is_write, std::span<uint8_t> data) {
  counters_.port_accesses.fetch_add(1, std::memory_order_relaxed);
  bool claimed = false;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (const PortRange& r : ports_) {
      if (port < r.base || port - r.base >= r.count) continue;
      claimed = true;
      if (r.device == nullptr) {
        if (!is_write) std::memset(data.data(), 0xff, data.size());
      } else if (is_write) {
        r.device->port_write(static_cast<uint16_t>(port - r.base), data);
      } else {
        r.device->port_read(static_cast<uint16_t>(port - r.base), data);
      }
      break;
    }
  }
  if (claimed) {
    after_access();
    return;
  }
  auto& counter = is_write ? counters_.unknown_port_writes : counters_.unknown_port_reads;
  if (counter.fetch_add(1, std::memory_order_relaxed) < kLoggedUnknownAccesses)
    log::debug(std::string("guest ") + (is_write ? "wrote" : "read") + " unknown port " + hex(port));
  if (!is_write) std::memset(data.data(), 0xff, data.size());
}

void IoBus::mmio_access(uint64_t gpa, bool is_write, std::span<uint8_t> data) {
  counters_.mmio_accesses.fetch_add(1, std::memory_order_relaxed);
  bool claimed = false;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (const MmioRange& r : mmio_) {
      if (gpa < r.base || !range_within(gpa - r.base, data.size(), r.size)) continue;
      claimed = true;
      if (is_write) {
        r.device->mmio_write(gpa - r.base, data);
      } else {
        r.device->mmio_read(gpa - r.base, data);
      }
      break;
    }
  }
  if (claimed) {
    after_access();
    return;
  }
  // The APICs live in KVM: anything else is unknown.
  auto& counter = is_write ? counters_.unknown_mmio_writes : counters_.unknown_mmio_reads;
  if (counter.fetch_add(1, std::memory_order_relaxed) < kLoggedUnknownAccesses)
    log::debug(std::string("guest ") + (is_write ? "wrote" : "read") + " unknown MMIO " + hex(gpa));
  if (!is_write) std::memset(data.data(), 0xff, data.size());
}

}  // namespace bulwark::vmm
