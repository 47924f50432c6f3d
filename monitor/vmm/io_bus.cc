#include "monitor/vmm/io_bus.h"

#include <algorithm>
#include <cstring>

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

void IoBus::port_access(uint16_t port, bool is_write, std::span<uint8_t> data) {
  counters_.port_accesses.fetch_add(1, std::memory_order_relaxed);
  std::lock_guard<std::mutex> lock(mutex_);
  for (const PortRange& r : ports_) {
    if (port < r.base || port - r.base >= r.count) continue;
    if (r.device == nullptr) {
      if (!is_write) std::memset(data.data(), 0xff, data.size());
      return;
    }
    const auto offset = static_cast<uint16_t>(port - r.base);
    if (is_write) {
      r.device->port_write(offset, data);
    } else {
      r.device->port_read(offset, data);
    }
    return;
  }
  auto& counter = is_write ? counters_.unknown_port_writes : counters_.unknown_port_reads;
  if (counter.fetch_add(1, std::memory_order_relaxed) < kLoggedUnknownAccesses)
    log::debug(std::string("guest ") + (is_write ? "wrote" : "read") + " unknown port " + hex(port));
  if (!is_write) std::memset(data.data(), 0xff, data.size());
}

void IoBus::mmio_access(uint64_t gpa, bool is_write, std::span<uint8_t> data) {
  counters_.mmio_accesses.fetch_add(1, std::memory_order_relaxed);
  // No MMIO device models yet (the APICs live in KVM): everything here is unknown.
  auto& counter = is_write ? counters_.unknown_mmio_writes : counters_.unknown_mmio_reads;
  if (counter.fetch_add(1, std::memory_order_relaxed) < kLoggedUnknownAccesses)
    log::debug(std::string("guest ") + (is_write ? "wrote" : "read") + " unknown MMIO " + hex(gpa));
  if (!is_write) std::memset(data.data(), 0xff, data.size());
}

}  // namespace bulwark::vmm
