// Test doubles for the virtio-pci transport: a VirtioBackend that records what the transport
// asks of it, and KvmActions that keep KVM's bookkeeping (ioeventfds, irqfds, routes) and
// refuse what KVM refuses (double assignment, removing what is not there). Shared by the unit
// tests and the fuzz targets.
#pragma once

#include <sys/eventfd.h>

#include <cstring>
#include <map>
#include <set>
#include <utility>
#include <vector>

#include "monitor/virtio_pci/kvm_actions.h"
#include "monitor/virtio_pci/virtio_backend.h"

namespace bulwark::virtio_pci::testing {

class FakeBackend final : public VirtioBackend {
 public:
  uint32_t type = 2;
  uint64_t features = (uint64_t{1} << 1) | (uint64_t{1} << 9);  // blk SIZE_MAX, FLUSH
  uint16_t queues = 2;
  uint16_t max_size = 256;
  std::vector<uint8_t> config = std::vector<uint8_t>(24, 0);
  bool fail_activate = false;
  bool broken = false;

  int activations = 0;
  int resets = 0;
  uint64_t negotiated = 0;
  std::vector<QueueSetup> setups;
  std::vector<std::pair<uint32_t, std::vector<uint8_t>>> config_writes;

  uint32_t device_type() const override { return type; }
  uint64_t device_features() const override { return features; }
  uint16_t num_queues() const override { return queues; }
  uint16_t max_queue_size() const override { return max_size; }
  Result<void> read_config(uint32_t offset, std::span<uint8_t> out) override {
    if (offset > config.size() || out.size() > config.size() - offset) return Error("config read out of range");
    std::memcpy(out.data(), config.data() + offset, out.size());
    return {};
  }
  Result<void> write_config(uint32_t offset, std::span<const uint8_t> in) override {
    if (offset > config.size() || in.size() > config.size() - offset) return Error("config write out of range");
    config_writes.emplace_back(offset, std::vector<uint8_t>(in.begin(), in.end()));
    return {};
  }
  Result<void> activate(uint64_t features_in, std::span<const QueueSetup> queue_setups) override {
    ++activations;
    negotiated = features_in;
    setups.assign(queue_setups.begin(), queue_setups.end());
    if (fail_activate) return Error("device process refused");
    return {};
  }
  void reset() override {
    ++resets;
    setups.clear();
  }
  bool failed() const override { return broken; }
};

class FakeKvm final : public KvmActions {
 public:
  std::map<uint64_t, int> ioeventfds;            // gpa -> fd
  std::set<std::pair<uint32_t, int>> irqfds;     // (gsi, fd)
  std::map<uint32_t, pci::MsiMessage> routes;    // gsi -> message
  std::vector<pci::MsiMessage> signalled_msis;
  std::vector<int> signalled_fds;
  uint32_t next_gsi = 24;
  bool fail_ioeventfd = false;
  bool fail_eventfd = false;
  bool use_real_eventfds = true;  // fuzzing may switch to fake numbers
  int next_fake_fd = 1000;

  Result<UniqueFd> create_eventfd() override {
    if (fail_eventfd) return Error("eventfd: too many open files");
    if (!use_real_eventfds) return UniqueFd(-1 - next_fake_fd++);  // never closed: negative
    UniqueFd fd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    if (!fd.valid()) return Error("eventfd failed");
    return fd;
  }
  void signal_eventfd(int fd) override { signalled_fds.push_back(fd); }
  Status add_ioeventfd(uint64_t gpa, int fd) override {
    if (fail_ioeventfd) return Error("KVM_IOEVENTFD: no space");
    if (!ioeventfds.emplace(gpa, fd).second) return Error("KVM_IOEVENTFD: exists");
    return {};
  }
  Status remove_ioeventfd(uint64_t gpa, int fd) override {
    const auto it = ioeventfds.find(gpa);
    if (it == ioeventfds.end() || it->second != fd) return Error("KVM_IOEVENTFD deassign: not found");
    ioeventfds.erase(it);
    return {};
  }
  Result<uint32_t> allocate_gsi() override { return next_gsi++; }
  Status set_msi_route(uint32_t gsi, const pci::MsiMessage& message) override {
    if (gsi < 24 || gsi >= next_gsi) return Error("unallocated GSI");
    routes[gsi] = message;
    return {};
  }
  Status assign_irqfd(uint32_t gsi, int fd) override {
    for (const auto& [g, f] : irqfds)
      if (f == fd) return Error("KVM_IRQFD: busy");
    irqfds.emplace(gsi, fd);
    return {};
  }
  Status deassign_irqfd(uint32_t gsi, int fd) override {
    if (irqfds.erase({gsi, fd}) == 0) return Error("KVM_IRQFD deassign: not found");
    return {};
  }
  Status signal_msi(const pci::MsiMessage& message) override {
    signalled_msis.push_back(message);
    return {};
  }
};

}  // namespace bulwark::virtio_pci::testing
