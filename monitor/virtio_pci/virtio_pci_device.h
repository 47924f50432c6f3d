// A virtio 1.x device on PCI (virtio spec 4.1, modern transport only): the PCI function with
// its virtio capabilities and MSI-X, one memory BAR holding common configuration, ISR, device
// configuration (forwarded to the backend), notify addresses and the MSI-X table/PBA. At
// DRIVER_OK it gives the backend one kick eventfd (a KVM ioeventfd on the queue's notify
// address) and one call eventfd (a KVM irqfd on the queue's MSI-X vector) per enabled queue,
// so the data path never passes through the monitor.
//
// Locking: the device is a state machine its caller serialises (the monitor's IoBus lock).
// The calls that make a round trip to the device process (activate, reset, a configuration
// write) may take up to the frontend's reply timeout. In the monitor they are deferred
// (defer_backend_calls()): queued under the caller's lock and run, in order, by
// run_backend_calls() after the caller released it, holding only this device's own backend
// lock. So a slow or hung device process never holds a lock another vCPU's exits need, and
// the vCPU that made the request still sees it done (or the device failed) before it runs
// guest code again. Unit tests and fuzzing use the inline default.
//
// A backend that failed (its process died, hung or broke the protocol) fails the device for
// good: DEVICE_NEEDS_RESET and the configuration interrupt once, if a driver has the device;
// a reset then completes (status reads 0, so Linux's reset poll ends) and stays complete, and
// FEATURES_OK is never accepted again, so the driver's probe fails and the guest goes on.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <vector>

#include "bulwark/common/result.h"
#include "bulwark/common/unique_fd.h"
#include "monitor/pci/config_space.h"
#include "monitor/pci/msix_table.h"
#include "monitor/pci/pci_device.h"
#include "monitor/virtio_pci/common_config.h"
#include "monitor/virtio_pci/kvm_actions.h"
#include "monitor/virtio_pci/virtio_backend.h"

namespace bulwark::virtio_pci {

// Feature bits this transport never offers whatever the backend says: bit 30 is vhost-user's
// PROTOCOL_FEATURES (not a virtio feature); SR-IOV, notification data and queue reset need
// transport support this one lacks.
inline constexpr uint64_t kTransportRefusedFeatures =
    (uint64_t{1} << 30) | (uint64_t{1} << 37) | (uint64_t{1} << 38) | (uint64_t{1} << 40);

struct VirtioPciCounters {
  uint64_t ignored_bar_accesses = 0;   // outside every structure or straddling two
  uint64_t config_errors = 0;          // backend refused a device-config access
  uint64_t trapped_notifies = 0;       // notify writes that reached the monitor, not KVM
  uint64_t kvm_errors = 0;             // route/irqfd updates KVM refused
  uint64_t refused_restarts = 0;       // FEATURES_OK refused because the backend failed for good
};

class VirtioPciDevice final : public pci::PciDevice {
 public:
  // `backend` and `kvm` must outlive the device. Error when the backend reports no queues,
  // more than kMaxQueues, or a maximum queue size that is not a power of two.
  static Result<std::unique_ptr<VirtioPciDevice>> create(VirtioBackend& backend, KvmActions& kvm);
  ~VirtioPciDevice() override;
  VirtioPciDevice(const VirtioPciDevice&) = delete;
  VirtioPciDevice& operator=(const VirtioPciDevice&) = delete;

  pci::ConfigSpace& config_space() override { return config_; }
  void config_read(uint16_t offset, std::span<uint8_t> data) override;
  void config_write(uint16_t offset, std::span<const uint8_t> data) override;
  void bar_read(unsigned bar, uint64_t offset, std::span<uint8_t> data) override;
  void bar_write(unsigned bar, uint64_t offset, std::span<const uint8_t> data) override;

  // Polls the backend: on failure sets DEVICE_NEEDS_RESET and raises the configuration-change
  // interrupt (once per reset). Also done on every BAR access; the monitor calls it when it
  // learns of a failure (e.g. the device process went away).
  void check_backend();
  // The device process stopped a queue the guest broke: DEVICE_NEEDS_RESET and the
  // configuration-change interrupt until the guest resets the device (the backend itself is
  // fine, so the device works again after the reset).
  void queue_broken_by_guest();
  // The device's configuration changed (e.g. a disk resize): new generation, interrupt.
  void notify_config_change();

  // From now on backend round trips are queued instead of made inside the caller's critical
  // section. Call before the guest runs.
  void defer_backend_calls() { deferred_ = true; }
  // Whether queued backend calls are waiting (cheap: checked after every access).
  bool has_backend_calls() const { return has_calls_.load(std::memory_order_acquire); }
  // Locked runs a function in the caller's critical section (the IoBus lock).
  using Locked = std::function<void(const std::function<void()>&)>;
  // Runs every queued backend call in order, called WITHOUT the caller's lock: takes this
  // device's backend lock for the round trips and `locked` to take the queue and to apply
  // each outcome. Returns once everything queued before the call has been done.
  void run_backend_calls(const Locked& locked);

  uint8_t device_status() const { return common_.status(); }
  bool active() const { return active_; }
  const pci::MsixTable& msix() const { return msix_; }
  const CommonConfig& common_config() const { return common_; }
  const VirtioPciCounters& counters() const { return counters_; }

 private:
  struct ActiveQueue {
    uint16_t index;
    // Shared with a deferred activation: the eventfds stay open until it has passed them on,
    // even if the guest resets the device first.
    std::shared_ptr<const UniqueFd> kick;
    std::shared_ptr<const UniqueFd> call;
    std::optional<uint64_t> ioeventfd_gpa;
    std::optional<uint32_t> irqfd_gsi;
  };
  // A request for the device process, made in order, inline or deferred.
  struct BackendCall {
    enum class Kind { kActivate, kReset, kWriteConfig };
    explicit BackendCall(Kind k) : kind(k) {}
    Kind kind;
    uint64_t epoch = 0;  // resets before it was queued: an outcome for an older epoch is stale
    uint64_t features = 0;
    std::vector<QueueSetup> setups;
    std::vector<std::shared_ptr<const UniqueFd>> fds;  // keeps setups' eventfds open
    uint32_t offset = 0;
    std::vector<uint8_t> bytes;
  };

  VirtioPciDevice(VirtioBackend& backend, KvmActions& kvm, uint64_t offered_features);
  Status allocate_vector_gsis();
  void add_capabilities();
  void handle(CommonConfig::Effect effect);
  void activate();
  void deactivate();
  void fail(const Error& error);
  void submit(BackendCall call);
  Status perform(const BackendCall& call);
  void apply(const BackendCall& call, const Status& outcome);
  void log_refused_restart();
  void raise_config_interrupt();
  void sync_interrupts();
  bool pci_cfg_data_access(uint16_t offset, size_t size) const;
  void pci_cfg_read(std::span<uint8_t> data);
  void pci_cfg_write(std::span<const uint8_t> data);
  void region_read(uint64_t offset, std::span<uint8_t> data);
  void region_write(uint64_t offset, std::span<const uint8_t> data);

  VirtioBackend& backend_;
  KvmActions& kvm_;
  pci::ConfigSpace config_;
  pci::MsixTable msix_;
  CommonConfig common_;
  uint8_t isr_ = 0;
  uint8_t msix_cap_ = 0;
  uint8_t pci_cfg_cap_ = 0;
  std::vector<uint32_t> vector_gsis_;                      // one GSI per MSI-X vector
  std::vector<std::optional<pci::MsiMessage>> routed_;     // what each GSI is routed to now
  std::vector<ActiveQueue> queues_;
  bool active_ = false;
  bool failure_reported_ = false;
  bool backend_dead_ = false;  // latched: the backend failed, the device never works again
  uint64_t epoch_ = 0;         // device resets so far
  bool deferred_ = false;
  std::deque<BackendCall> pending_;  // under the caller's lock
  std::atomic<bool> has_calls_{false};
  std::mutex backend_mutex_;  // one round trip at a time, in queue order
  VirtioPciCounters counters_;
};

}  // namespace bulwark::virtio_pci
