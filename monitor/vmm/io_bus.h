// Port I/O and MMIO dispatch for every exit that reaches the monitor. One lock serialises all
// device models (vCPU threads and the console input pump); they are state machines that never
// wait on anything while it is held. Work that waits on another process (a vhost-user round
// trip) is queued by the device and done by the after-access hook, on the same vCPU thread,
// once the lock is released: so one slow device process never stalls the other vCPUs.
// Accesses that hit no device are answered like an empty ISA bus: reads return all ones,
// writes are dropped, both counted.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "monitor/legacy/port_io_device.h"
#include "monitor/pci/mmio_device.h"

namespace bulwark::vmm {

struct IoCounters {
  std::atomic<uint64_t> port_accesses{0};
  std::atomic<uint64_t> unknown_port_reads{0};
  std::atomic<uint64_t> unknown_port_writes{0};
  std::atomic<uint64_t> mmio_accesses{0};
  std::atomic<uint64_t> unknown_mmio_reads{0};
  std::atomic<uint64_t> unknown_mmio_writes{0};
};

class IoBus {
 public:
  // `device` must outlive the bus. Ranges must not overlap (checked: returns false).
  bool add_port_device(uint16_t base, uint16_t count, legacy::PortIoDevice* device, std::string name);
  // Ports that are known and deliberately inert (e.g. 0x80, the POST diagnostic port).
  bool add_ignored_ports(uint16_t base, uint16_t count, std::string name);

  // `device` must outlive the bus; it sees offsets from `base`. Accesses that do not lie
  // wholly inside one range are unclaimed. Overlapping, empty or wrapping ranges: false.
  bool add_mmio_device(uint64_t base, uint64_t size, pci::MmioDevice* device, std::string name);

  void port_access(uint16_t port, bool is_write, std::span<uint8_t> data);
  void mmio_access(uint64_t gpa, bool is_write, std::span<uint8_t> data);

  // Runs after every access, on the accessing thread, WITHOUT the device lock (added before
  // any vCPU runs; several run in the order added): where devices do what they queued under
  // the lock (virtio backend calls, the TPM's commands to swtpm).
  void add_after_access(std::function<void()> hook) { after_access_.push_back(std::move(hook)); }
  void set_after_access(std::function<void()> hook) { add_after_access(std::move(hook)); }

  // Runs `fn` holding the device lock (for host-side events such as console input).
  template <typename Fn>
  auto with_devices_locked(Fn&& fn) {
    std::lock_guard<std::mutex> lock(mutex_);
    return fn();
  }

  const IoCounters& counters() const { return counters_; }

 private:
  struct PortRange {
    uint16_t base;
    uint16_t count;
    legacy::PortIoDevice* device;  // nullptr: ignored ports
    std::string name;
  };
  struct MmioRange {
    uint64_t base;
    uint64_t size;
    pci::MmioDevice* device;
    std::string name;
  };
  bool add_range(PortRange range);

  void after_access() {
    for (const auto& hook : after_access_) hook();
  }

  std::mutex mutex_;
  std::vector<std::function<void()>> after_access_;
  std::vector<PortRange> ports_;
  std::vector<MmioRange> mmio_;
  IoCounters counters_;
};

}  // namespace bulwark::vmm
