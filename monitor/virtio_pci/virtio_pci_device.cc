#include "monitor/virtio_pci/virtio_pci_device.h"

#include <algorithm>
#include <array>
#include <cstring>

#include "bulwark/common/byte_reader.h"
#include "bulwark/common/log.h"
#include "monitor/pci/pci_regs.h"

namespace bulwark::virtio_pci {
namespace {

constexpr size_t kVirtioCapBodySize = 14;  // struct virtio_pci_cap minus id and next
constexpr size_t kVirtioNotifyCapBodySize = kVirtioCapBodySize + 4;
constexpr size_t kVirtioPciCfgCapBodySize = kVirtioCapBodySize + 4;

uint32_t class_code_for(uint32_t device_type) {
  switch (device_type) {
    case kDeviceTypeNet:
      return 0x020000;  // network controller, ethernet
    case kDeviceTypeBlock:
      return 0x018000;  // mass storage, other
    default:
      return 0x00ff00;  // unclassified device
  }
}

std::array<uint8_t, kVirtioNotifyCapBodySize> virtio_cap_body(uint8_t cfg_type, size_t body_size, uint32_t offset,
                                                              uint32_t length) {
  std::array<uint8_t, kVirtioNotifyCapBodySize> body{};
  body[0] = static_cast<uint8_t>(2 + body_size);  // cap_len counts id and next too
  body[1] = cfg_type;
  body[2] = static_cast<uint8_t>(kBarIndex);
  write_le<uint32_t>(body, kCapOffsetOffset - 2, offset);
  write_le<uint32_t>(body, kCapLengthOffset - 2, length);
  return body;
}

bool is_power_of_two_u32(uint32_t v) { return v != 0 && (v & (v - 1)) == 0; }

}  // namespace

Result<std::unique_ptr<VirtioPciDevice>> VirtioPciDevice::create(VirtioBackend& backend, KvmActions& kvm) {
  const uint16_t queues = backend.num_queues();
  if (queues == 0 || queues > kMaxQueues)
    return Error("virtio-pci: backend reports " + std::to_string(queues) + " queues (1.." +
                 std::to_string(kMaxQueues) + " supported)");
  if (!is_power_of_two_u32(backend.max_queue_size()))
    return Error("virtio-pci: backend's maximum queue size " + std::to_string(backend.max_queue_size()) +
                 " is not a power of two");
  const uint64_t offered = (backend.device_features() | (uint64_t{1} << kFeatureVersion1)) & ~kTransportRefusedFeatures;
  std::unique_ptr<VirtioPciDevice> device(new VirtioPciDevice(backend, kvm, offered));
  BULWARK_TRY(device->allocate_vector_gsis());
  return device;
}

VirtioPciDevice::VirtioPciDevice(VirtioBackend& backend, KvmActions& kvm, uint64_t offered_features)
    : backend_(backend),
      kvm_(kvm),
      config_(pci::PciIdentity{
          .vendor_id = kVirtioVendorId,
          .device_id = static_cast<uint16_t>(kModernDeviceIdBase + backend.device_type()),
          .revision = kModernRevision,
          .class_code = class_code_for(backend.device_type()),
          .subsystem_vendor_id = kVirtioVendorId,
          .subsystem_id = static_cast<uint16_t>(kModernDeviceIdBase + backend.device_type())}),
      // One vector per queue plus one for configuration changes, as Linux asks for.
      msix_(static_cast<uint16_t>(backend.num_queues() + 1)),
      common_(offered_features, backend.num_queues(), backend.max_queue_size(), msix_.size()) {
  config_.declare_memory_bar(kBarIndex, kBarSize);
  add_capabilities();
  msix_.set_change_callback([this](uint16_t, uint16_t) { sync_interrupts(); });
}

VirtioPciDevice::~VirtioPciDevice() {
  msix_.set_change_callback(nullptr);
  deactivate();
}

Status VirtioPciDevice::allocate_vector_gsis() {
  for (uint16_t v = 0; v < msix_.size(); ++v) {
    Result<uint32_t> gsi = kvm_.allocate_gsi();
    if (!gsi) return gsi.error().wrap("virtio-pci: MSI-X vector " + std::to_string(v));
    vector_gsis_.push_back(*gsi);
  }
  routed_.assign(msix_.size(), std::nullopt);
  return ok_status();
}

void VirtioPciDevice::add_capabilities() {
  const auto add_virtio = [&](uint8_t type, uint32_t offset, uint32_t length) {
    const auto body = virtio_cap_body(type, kVirtioCapBodySize, offset, length);
    return config_.add_capability(pci::kCapabilityIdVendor, std::span(body).first(kVirtioCapBodySize));
  };
  add_virtio(kCapCommonCfg, kCommonCfgBarOffset, kCommonCfgSize);
  auto notify = virtio_cap_body(kCapNotifyCfg, kVirtioNotifyCapBodySize, kNotifyBarOffset,
                                uint32_t{common_.num_queues()} * kNotifyOffMultiplier);
  write_le<uint32_t>(notify, kCapNotifyMultiplierOffset - 2, kNotifyOffMultiplier);
  config_.add_capability(pci::kCapabilityIdVendor, notify);
  add_virtio(kCapIsrCfg, kIsrBarOffset, kIsrSize);
  add_virtio(kCapDeviceCfg, kDeviceCfgBarOffset, kDeviceCfgSize);
  // VIRTIO_PCI_CAP_PCI_CFG: a window into the BAR through configuration space. The driver
  // chooses bar, offset and length, then accesses pci_cfg_data.
  const auto pci_cfg = virtio_cap_body(kCapPciCfg, kVirtioPciCfgCapBodySize, 0, 0);
  std::array<uint8_t, kVirtioPciCfgCapBodySize> pci_cfg_writable{};
  pci_cfg_writable[kCapBarOffset - 2] = 0xff;
  std::fill_n(pci_cfg_writable.begin() + (kCapOffsetOffset - 2), 12, uint8_t{0xff});  // offset, length, data
  pci_cfg_cap_ = config_.add_capability(pci::kCapabilityIdVendor, pci_cfg, pci_cfg_writable).value_or(0);
  const auto msix = msix_.capability_body(kBarIndex, kMsixTableBarOffset, kBarIndex, kMsixPbaBarOffset);
  msix_cap_ = config_.add_capability(pci::kCapabilityIdMsix, msix, pci::MsixTable::capability_writable_mask())
                  .value_or(0);
}

// ---- configuration space ----------------------------------------------------------------

bool VirtioPciDevice::pci_cfg_data_access(uint16_t offset, size_t size) const {
  if (pci_cfg_cap_ == 0) return false;
  const uint16_t data = pci_cfg_cap_ + kCapPciCfgDataOffset;
  return offset == data && size <= 4;
}

void VirtioPciDevice::pci_cfg_read(std::span<uint8_t> data) {
  const uint8_t bar = config_.u8(pci_cfg_cap_ + kCapBarOffset);
  const uint32_t offset = config_.u32(pci_cfg_cap_ + kCapOffsetOffset);
  const uint32_t length = config_.u32(pci_cfg_cap_ + kCapLengthOffset);
  std::array<uint8_t, 4> window{};
  if (bar == kBarIndex && (length == 1 || length == 2 || length == 4) && range_within(offset, length, kBarSize)) {
    region_read(offset, std::span(window).first(length));
  } else {
    ++counters_.ignored_bar_accesses;
  }
  config_.set_u32(pci_cfg_cap_ + kCapPciCfgDataOffset, read_le<uint32_t>(window, 0).value_or(0));
  std::memcpy(data.data(), window.data(), data.size());
}

void VirtioPciDevice::pci_cfg_write(std::span<const uint8_t> data) {
  const uint8_t bar = config_.u8(pci_cfg_cap_ + kCapBarOffset);
  const uint32_t offset = config_.u32(pci_cfg_cap_ + kCapOffsetOffset);
  const uint32_t length = config_.u32(pci_cfg_cap_ + kCapLengthOffset);
  config_.write(pci_cfg_cap_ + kCapPciCfgDataOffset, data);
  if (bar == kBarIndex && (length == 1 || length == 2 || length == 4) && length <= data.size() &&
      range_within(offset, length, kBarSize)) {
    region_write(offset, data.first(length));
  } else {
    ++counters_.ignored_bar_accesses;
  }
}

void VirtioPciDevice::config_read(uint16_t offset, std::span<uint8_t> data) {
  if (pci_cfg_data_access(offset, data.size())) {
    pci_cfg_read(data);
    return;
  }
  config_.read(offset, data);
}

void VirtioPciDevice::config_write(uint16_t offset, std::span<const uint8_t> data) {
  if (pci_cfg_data_access(offset, data.size())) {
    pci_cfg_write(data);
    return;
  }
  config_.write(offset, data);
  const uint16_t control = msix_cap_ + pci::kMsixMessageControlOffset;
  if (msix_cap_ != 0 && offset < control + 2 && control < offset + data.size())
    msix_.write_message_control(config_.u16(control));
}

// ---- BAR --------------------------------------------------------------------------------

void VirtioPciDevice::bar_read(unsigned bar, uint64_t offset, std::span<uint8_t> data) {
  check_backend();
  if (bar != kBarIndex || !range_within(offset, data.size(), kBarSize)) {
    std::fill(data.begin(), data.end(), uint8_t{0xff});
    return;
  }
  region_read(offset, data);
}

void VirtioPciDevice::bar_write(unsigned bar, uint64_t offset, std::span<const uint8_t> data) {
  check_backend();
  if (bar != kBarIndex || !range_within(offset, data.size(), kBarSize)) return;
  region_write(offset, data);
}

void VirtioPciDevice::region_read(uint64_t offset, std::span<uint8_t> data) {
  std::fill(data.begin(), data.end(), uint8_t{0});
  const uint64_t region = offset / kRegionSize * kRegionSize;
  const uint64_t at = offset - region;
  if (!range_within(at, data.size(), kRegionSize)) {
    ++counters_.ignored_bar_accesses;
    return;
  }
  switch (region) {
    case kCommonCfgBarOffset:
      common_.read(at, data);
      break;
    case kIsrBarOffset:
      if (at == 0) {
        data[0] = isr_;
        isr_ = 0;  // reading ISR acknowledges it
      }
      break;
    case kDeviceCfgBarOffset:
      if (!range_within(at, data.size(), kDeviceCfgSize) || !backend_.read_config(static_cast<uint32_t>(at), data)) {
        std::fill(data.begin(), data.end(), uint8_t{0});
        ++counters_.config_errors;
      }
      break;
    case kMsixTableBarOffset:
    case kMsixTableBarOffset + kRegionSize:
      msix_.table_read(offset - kMsixTableBarOffset, data);
      break;
    case kMsixPbaBarOffset:
      msix_.pba_read(at, data);
      break;
    default:
      break;  // notify reads and gaps read zero
  }
}

void VirtioPciDevice::region_write(uint64_t offset, std::span<const uint8_t> data) {
  const uint64_t region = offset / kRegionSize * kRegionSize;
  const uint64_t at = offset - region;
  if (!range_within(at, data.size(), kRegionSize)) {
    ++counters_.ignored_bar_accesses;
    return;
  }
  switch (region) {
    case kCommonCfgBarOffset:
      handle(common_.write(at, data));
      break;
    case kDeviceCfgBarOffset: {
      if (!range_within(at, data.size(), kDeviceCfgSize)) {
        ++counters_.config_errors;
        break;
      }
      // Forwarded to the device process (SET_CONFIG where the field is writable): a round trip.
      BackendCall call(BackendCall::Kind::kWriteConfig);
      call.offset = static_cast<uint32_t>(at);
      call.bytes.assign(data.begin(), data.end());
      submit(std::move(call));
      break;
    }
    case kNotifyBarOffset: {
      // Normally KVM's ioeventfd takes these; one arrives here if the guest moved the BAR
      // after DRIVER_OK. Forward it so the queue still runs.
      const uint64_t index = at / kNotifyOffMultiplier;
      const auto queue = std::find_if(queues_.begin(), queues_.end(),
                                      [&](const ActiveQueue& q) { return q.index == index; });
      if (queue != queues_.end()) {
        ++counters_.trapped_notifies;
        kvm_.signal_eventfd(queue->kick->get());
      }
      break;
    }
    case kMsixTableBarOffset:
    case kMsixTableBarOffset + kRegionSize:
      msix_.table_write(offset - kMsixTableBarOffset, data);
      break;
    case kMsixPbaBarOffset:
      msix_.pba_write(at, data);
      break;
    default:
      ++counters_.ignored_bar_accesses;  // ISR is read-only; gaps
      break;
  }
}

// ---- status transitions -----------------------------------------------------------------

void VirtioPciDevice::handle(CommonConfig::Effect effect) {
  switch (effect) {
    case CommonConfig::Effect::kReset:
      // The reset completes here for the guest (status reads 0 from now on, whatever the
      // backend does); a failure the backend reports later is not raised again on a reset
      // device (check_backend), so the driver's reset poll always ends.
      deactivate();
      ++epoch_;
      submit(BackendCall(BackendCall::Kind::kReset));
      isr_ = 0;
      failure_reported_ = false;
      sync_interrupts();
      break;
    case CommonConfig::Effect::kFeaturesOkRefused:
      log_refused_restart();
      break;
    case CommonConfig::Effect::kDriverOk:
      activate();
      break;
    case CommonConfig::Effect::kVectorChanged:
      sync_interrupts();
      break;
    case CommonConfig::Effect::kNone:
      break;
  }
}

void VirtioPciDevice::activate() {
  const std::optional<uint32_t> bar_base = config_.bar_address(kBarIndex);
  std::vector<QueueSetup> setups;
  std::vector<std::shared_ptr<const UniqueFd>> fds;
  for (uint16_t i = 0; i < common_.num_queues(); ++i) {
    const QueueConfig& q = common_.queues()[i];
    if (!q.enabled) continue;
    Result<UniqueFd> kick = kvm_.create_eventfd();
    if (!kick) return fail(kick.error());
    Result<UniqueFd> call = kvm_.create_eventfd();
    if (!call) return fail(call.error());
    ActiveQueue active{i, std::make_shared<const UniqueFd>(std::move(*kick)),
                       std::make_shared<const UniqueFd>(std::move(*call)), std::nullopt, std::nullopt};
    const uint64_t notify = uint64_t{*bar_base} + kNotifyBarOffset + uint64_t{i} * kNotifyOffMultiplier;
    const Status added = kvm_.add_ioeventfd(notify, active.kick->get());
    if (!added) {
      queues_.push_back(std::move(active));
      return fail(added.error());
    }
    active.ioeventfd_gpa = notify;
    setups.push_back(QueueSetup{.index = i,
                                .size = q.size,
                                .desc_gpa = q.desc,
                                .avail_gpa = q.driver,
                                .used_gpa = q.device,
                                .kick_eventfd = active.kick->get(),
                                .call_eventfd = active.call->get()});
    fds.push_back(active.kick);
    fds.push_back(active.call);
    queues_.push_back(std::move(active));
  }
  active_ = true;
  sync_interrupts();
  BackendCall call(BackendCall::Kind::kActivate);
  call.features = common_.driver_features();
  call.setups = std::move(setups);
  call.fds = std::move(fds);
  submit(std::move(call));
}

void VirtioPciDevice::deactivate() {
  for (ActiveQueue& q : queues_) {
    if (q.irqfd_gsi && !kvm_.deassign_irqfd(*q.irqfd_gsi, q.call->get())) ++counters_.kvm_errors;
    if (q.ioeventfd_gpa && !kvm_.remove_ioeventfd(*q.ioeventfd_gpa, q.kick->get())) ++counters_.kvm_errors;
  }
  queues_.clear();
  active_ = false;
}

void VirtioPciDevice::fail(const Error& error) {
  if (failure_reported_) return;
  failure_reported_ = true;
  log::warn("virtio-pci device " + std::to_string(backend_.device_type()) + " needs reset: " + error.message());
  common_.set_needs_reset();
  raise_config_interrupt();
}

void VirtioPciDevice::check_backend() {
  if (backend_dead_ || !backend_.failed()) return;
  backend_dead_ = true;
  common_.refuse_features_ok();
  if (common_.status() == 0) {
    // No driver has the device (or it was just reset): nothing to interrupt, and setting
    // NEEDS_RESET now would make a reset never read back 0. The driver's next start-up finds
    // FEATURES_OK refused.
    log::warn("virtio-pci device " + std::to_string(backend_.device_type()) +
              " failed for good while reset; a driver will find it unusable");
    return;
  }
  fail(Error("the backend failed"));
}

void VirtioPciDevice::log_refused_restart() {
  // A guest can retry its probe in a loop: the first refusal and then every power of two.
  const uint64_t n = ++counters_.refused_restarts;
  if ((n & (n - 1)) != 0) return;
  log::warn("virtio-pci device " + std::to_string(backend_.device_type()) +
            ": the device failed for good; FEATURES_OK refused (" + std::to_string(n) +
            (n == 1 ? " time)" : " times)"));
}

// ---- backend calls ----------------------------------------------------------------------

void VirtioPciDevice::submit(BackendCall call) {
  call.epoch = epoch_;
  if (!deferred_) {
    const Status outcome = perform(call);
    apply(call, outcome);
    return;
  }
  pending_.push_back(std::move(call));
  has_calls_.store(true, std::memory_order_release);
}

Status VirtioPciDevice::perform(const BackendCall& call) {
  switch (call.kind) {
    case BackendCall::Kind::kActivate:
      return backend_.activate(call.features, call.setups);
    case BackendCall::Kind::kReset:
      backend_.reset();
      return ok_status();
    case BackendCall::Kind::kWriteConfig:
      return backend_.write_config(call.offset, call.bytes);
  }
  return ok_status();
}

void VirtioPciDevice::apply(const BackendCall& call, const Status& outcome) {
  if (!outcome.ok()) {
    if (call.kind == BackendCall::Kind::kWriteConfig) {
      ++counters_.config_errors;
    } else if (call.kind == BackendCall::Kind::kActivate && call.epoch == epoch_) {
      // Not after a reset the guest made meanwhile: that fresh device did not fail.
      fail(outcome.error());
    }
  }
  // A round trip may have found the device process gone.
  check_backend();
}

void VirtioPciDevice::run_backend_calls(const Locked& locked) {
  if (!deferred_) return;
  std::lock_guard<std::mutex> serial(backend_mutex_);
  for (;;) {
    std::deque<BackendCall> calls;
    locked([&] {
      calls.swap(pending_);
      has_calls_.store(false, std::memory_order_release);
    });
    if (calls.empty()) return;
    for (const BackendCall& call : calls) {
      const Status outcome = perform(call);
      locked([&] { apply(call, outcome); });
    }
  }
}

void VirtioPciDevice::queue_broken_by_guest() {
  // Not logged here: the guest can repeat this after every reset (the monitor logs it once).
  if (failure_reported_) return;
  failure_reported_ = true;
  common_.set_needs_reset();
  raise_config_interrupt();
}

void VirtioPciDevice::notify_config_change() {
  common_.bump_config_generation();
  raise_config_interrupt();
}

// ---- interrupts -------------------------------------------------------------------------

void VirtioPciDevice::raise_config_interrupt() {
  isr_ |= kIsrConfig;
  const uint16_t vector = common_.msix_config();
  if (!msix_.enabled() || vector == kNoVector) return;  // no INTx: the ISR bit is all there is
  const std::optional<pci::MsiMessage> message = msix_.trigger(vector);
  if (message && !kvm_.signal_msi(*message)) ++counters_.kvm_errors;
}

// Brings KVM in line with the MSI-X table: a deliverable vector has its GSI routed to its
// message; a queue's call eventfd is an irqfd on that GSI only while its vector is
// deliverable. While masked, calls accumulate in the eventfd and KVM injects them when the
// irqfd is assigned again (it checks for a pending count on assign): the PBA semantics.
void VirtioPciDevice::sync_interrupts() {
  for (uint16_t v = 0; v < msix_.size(); ++v) {
    if (!msix_.deliverable(v)) continue;
    const pci::MsiMessage message = *msix_.message(v);
    if (routed_[v] == message) continue;
    if (kvm_.set_msi_route(vector_gsis_[v], message)) {
      routed_[v] = message;
    } else {
      routed_[v].reset();
      ++counters_.kvm_errors;
    }
  }
  for (ActiveQueue& q : queues_) {
    const uint16_t vector = common_.queues()[q.index].msix_vector;
    std::optional<uint32_t> wanted;
    if (active_ && vector < msix_.size() && msix_.deliverable(vector) && routed_[vector]) wanted = vector_gsis_[vector];
    if (q.irqfd_gsi == wanted) continue;
    if (q.irqfd_gsi) {
      if (!kvm_.deassign_irqfd(*q.irqfd_gsi, q.call->get())) ++counters_.kvm_errors;
      q.irqfd_gsi.reset();
    }
    if (wanted) {
      if (kvm_.assign_irqfd(*wanted, q.call->get())) {
        q.irqfd_gsi = wanted;
      } else {
        ++counters_.kvm_errors;
      }
    }
  }
  const uint16_t config_vector = common_.msix_config();
  if (config_vector != kNoVector) {
    const std::optional<pci::MsiMessage> pending = msix_.take_pending(config_vector);
    if (pending && !kvm_.signal_msi(*pending)) ++counters_.kvm_errors;
  }
}

}  // namespace bulwark::virtio_pci
