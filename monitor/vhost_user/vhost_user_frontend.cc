#include "monitor/vhost_user/vhost_user_frontend.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "bulwark/common/byte_reader.h"
#include "bulwark/common/hex.h"
#include "bulwark/common/log.h"
#include "monitor/vhost_user/frontend_features.h"

namespace bulwark::vhost_user {
namespace {

using frontend::kBlockWritebackOffset;
using frontend::kMaxReportedQueues;
using frontend::kProtocolFeaturesBit;
using frontend::kWantedProtocolFeatures;
// virtio-net's features that give a configuration field meaning (virtio 1.x 5.1.4): MTU 3
// (mtu), MAC 5 (mac), STATUS 16 (status), MQ 22 (max_virtqueue_pairs). The profile offers
// none of the others that do (SPEED_DUPLEX, RSS, HASH_REPORT).
constexpr uint64_t kVirtioNetConfigFeatures = (1ULL << 3) | (1ULL << 5) | (1ULL << 16) | kVirtioNetFMq;

uint64_t bit(unsigned n) { return 1ULL << n; }

// Descriptor table, available ring (flags, idx, ring, used_event) and used ring (flags, idx,
// ring of 8-byte elements, avail_event) of a split queue of `size` entries (virtio 1.x 2.7).
uint64_t descriptor_table_bytes(uint16_t size) { return 16ULL * size; }
uint64_t avail_ring_bytes(uint16_t size) { return 6ULL + 2ULL * size; }
uint64_t used_ring_bytes(uint16_t size) { return 6ULL + 8ULL * size; }

Result<UniqueFd> duplicate(int fd) {
  UniqueFd copy(::fcntl(fd, F_DUPFD_CLOEXEC, 0));
  if (!copy.valid()) return Error::from_errno("duplicating fd " + std::to_string(fd), errno);
  return copy;
}

}  // namespace

VhostUserFrontend::VhostUserFrontend(UniqueFd socket, DeviceKind kind, const SharedGuestRam& ram,
                                     FrontendOptions options)
    : socket_(std::move(socket)),
      profile_(profile_of(kind)),
      ram_(ram),
      options_(std::move(options)),
      channel_(socket_.get(), options_.reply_timeout, options_.before_reply_wait, options_.transport) {}

Result<std::unique_ptr<VhostUserFrontend>> VhostUserFrontend::connect(UniqueFd socket, DeviceKind kind,
                                                                      const SharedGuestRam& ram,
                                                                      FrontendOptions options) {
  if (!socket.valid() && options.transport == nullptr) return Error(options.name + ": no socket");
  std::unique_ptr<VhostUserFrontend> frontend(
      new VhostUserFrontend(std::move(socket), kind, ram, std::move(options)));
  if (Status s = frontend->handshake(); !s.ok()) return s.error().wrap(frontend->name());
  return frontend;
}

std::unique_ptr<VhostUserFrontend> VhostUserFrontend::failed_at_connect(DeviceKind kind, FrontendOptions options,
                                                                       const std::string& reason) {
  std::unique_ptr<VhostUserFrontend> frontend(
      new VhostUserFrontend(UniqueFd(), kind, SharedGuestRam{}, std::move(options)));
  frontend->backend_features_ = kVirtioFVersion1;
  frontend->offered_features_ = kVirtioFVersion1;
  frontend->num_queues_ = 1;
  frontend->config_.assign(frontend->profile_.config_bytes, 0);
  frontend->fail(reason);
  return frontend;
}

Status VhostUserFrontend::handshake() {
  BULWARK_TRY(channel_.prepare_socket());
  error_eventfd_.reset(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!error_eventfd_.valid()) return Error::from_errno("eventfd", errno);

  BULWARK_TRY(channel_.send(make_request(Request::SET_OWNER)));
  Result<Message> features = channel_.call(make_request(Request::GET_FEATURES));
  if (!features.ok()) return features.error();
  Result<uint64_t> backend_features = parse_u64(*features);
  if (!backend_features.ok()) return backend_features.error().wrap("reply to GET_FEATURES");
  backend_features_ = *backend_features;
  if ((backend_features_ & kVirtioFVersion1) == 0) {
    return Error("the backend does not offer VIRTIO_F_VERSION_1 (features " +
                 hex(backend_features_) + "); the transport is virtio 1.x only");
  }
  offered_features_ = backend_features_ & profile_.supported_features;
  BULWARK_TRY(negotiate_protocol_features(backend_features_));
  BULWARK_TRY(read_device_config());
  BULWARK_TRY(send_memory_table());
  return ok_status();
}

Status VhostUserFrontend::negotiate_protocol_features(uint64_t backend_features) {
  if ((backend_features & kProtocolFeaturesBit) != 0) {
    Result<Message> reply = channel_.call(make_request(Request::GET_PROTOCOL_FEATURES));
    if (!reply.ok()) return reply.error();
    Result<uint64_t> offered = parse_u64(*reply);
    if (!offered.ok()) return offered.error().wrap("reply to GET_PROTOCOL_FEATURES");
    protocol_features_ = *offered & kWantedProtocolFeatures;
    BULWARK_TRY(channel_.send(make_u64_request(Request::SET_PROTOCOL_FEATURES, protocol_features_, false)));
    if ((protocol_features_ & bit(kProtocolMq)) != 0) {
      Result<Message> queues = channel_.call(make_request(Request::GET_QUEUE_NUM));
      if (!queues.ok()) return queues.error();
      Result<uint64_t> count = parse_u64(*queues);
      if (!count.ok()) return count.error().wrap("reply to GET_QUEUE_NUM");
      if (*count == 0) return Error("the backend serves 0 queues (GET_QUEUE_NUM)");
      backend_queues_ = std::min(*count, kMaxReportedQueues);
    }
  }
  // One queue unless virtio-blk's MQ feature says otherwise (read_device_config).
  num_queues_ = 1;
  return ok_status();
}

Status VhostUserFrontend::read_device_config() {
  if (profile_.config_bytes == 0) return ok_status();
  if ((protocol_features_ & bit(kProtocolConfig)) == 0 && profile_.kind == DeviceKind::kNet) {
    // A virtio-net backend without the CONFIG protocol feature (DPDK's vhost library, and
    // others written for QEMU, which keeps virtio-net's configuration itself) still serves the
    // queues. Every field of virtio-net's configuration exists only with its feature, so with
    // those masked off the guest reads none of it (the all-zero bytes below are never used) and
    // picks its own MAC; the link is up. The control queue goes too, with the features that need
    // it: nothing says whether such a backend serves one (DPDK's answers GET_QUEUE_NUM with its
    // most queue pairs and leaves a control queue to its application), and a driver waits for
    // every command's answer. One queue pair is left, which every vhost-user-net backend serves.
    // Our own backends offer CONFIG; virtio-blk cannot do without it (below).
    offered_features_ &=
        ~(kVirtioNetConfigFeatures | kVirtioNetFCtrlVq | kVirtioNetCtrlDependentFeatures);
    config_.assign(profile_.config_bytes, 0);
    return size_net_queues();
  }
  if ((protocol_features_ & bit(kProtocolConfig)) == 0) {
    return Error("the backend does not offer the CONFIG protocol feature; the device configuration "
                 "cannot be read");
  }
  DeviceConfig request;
  request.offset = 0;
  request.size = profile_.config_bytes;
  request.flags = 0;
  request.bytes.assign(profile_.config_bytes, 0);
  Result<Message> reply = channel_.call(make_config_request(Request::GET_CONFIG, request));
  if (!reply.ok()) return reply.error();
  Result<DeviceConfig> config = parse_device_config(*reply);
  if (!config.ok()) return config.error().wrap("reply to GET_CONFIG");
  if (config->offset != 0 || config->size != profile_.config_bytes ||
      config->bytes.size() != profile_.config_bytes) {
    return Error("reply to GET_CONFIG: " + std::to_string(config->size) + " bytes at offset " +
                 std::to_string(config->offset) + ", asked for " +
                 std::to_string(profile_.config_bytes) + " at 0");
  }
  config_ = std::move(config->bytes);

  if (profile_.kind == DeviceKind::kBlock && (offered_features_ & kVirtioBlkFMq) != 0) {
    const uint16_t announced = read_le<uint16_t>(config_, kVirtioBlkNumQueuesOffset).value_or(0);
    if (announced == 0) return Error("the backend's virtio-blk configuration announces 0 queues");
    const bool counted = (protocol_features_ & bit(kProtocolMq)) != 0;
    if (counted && announced > backend_queues_) {
      return Error("the backend's virtio-blk configuration announces " + std::to_string(announced) +
                   " queues, more than the " + std::to_string(backend_queues_) +
                   " it serves (GET_QUEUE_NUM)");
    }
    num_queues_ = static_cast<uint16_t>(
        std::min<uint64_t>({announced, backend_queues_, profile_.max_queues}));
    // The guest reads how many queues to set up here: make it what the transport exposes.
    write_le<uint16_t>(config_, kVirtioBlkNumQueuesOffset, num_queues_);
  }
  if (profile_.kind == DeviceKind::kNet) BULWARK_TRY(size_net_queues());
  if (profile_.kind == DeviceKind::kVsock) {
    // rx, tx and event: a driver sets up all three, so a backend serving fewer cannot work.
    if ((protocol_features_ & bit(kProtocolMq)) != 0 && backend_queues_ < kVirtioVsockQueues) {
      return Error("the backend's virtio-vsock device serves " + std::to_string(backend_queues_) +
                   " queues (GET_QUEUE_NUM); it needs 3");
    }
    num_queues_ = kVirtioVsockQueues;
  }
  return ok_status();
}

// virtio-net's queues: a receive and a transmit queue per pair (max_virtqueue_pairs when MQ is
// offered, else one), then the control queue when CTRL_VQ is offered (virtio 1.x 5.1.2). The
// backend must serve all of them (GET_QUEUE_NUM counts queues, as bulwark-dev-net answers).
Status VhostUserFrontend::size_net_queues() {
  if ((protocol_features_ & bit(kProtocolMq)) == 0) {
    // Without GET_QUEUE_NUM the backend's queue count is unknown: one pair, and no control
    // queue, with the features that need it (virtio 1.x 5.1.3.1).
    offered_features_ &= ~(kVirtioNetFCtrlVq | kVirtioNetFMq | kVirtioNetCtrlDependentFeatures);
  }
  uint64_t pairs = 1;
  if ((offered_features_ & kVirtioNetFMq) != 0) {
    const uint16_t announced = read_le<uint16_t>(config_, kVirtioNetMaxPairsOffset).value_or(0);
    if (announced == 0) return Error("the backend's virtio-net configuration announces 0 queue pairs");
    // The control queue follows the device's last pair (index 2 * pairs): exposing fewer pairs
    // than the device has would put the guest's control queue on one of its receive queues.
    if (announced > kVirtioNetMaxQueuePairs) {
      return Error("the backend's virtio-net configuration announces " + std::to_string(announced) +
                   " queue pairs; the monitor exposes at most " + std::to_string(kVirtioNetMaxQueuePairs));
    }
    pairs = announced;
  }
  const uint64_t queues = 2 * pairs + ((offered_features_ & kVirtioNetFCtrlVq) != 0 ? 1 : 0);
  if ((protocol_features_ & bit(kProtocolMq)) != 0 && queues > backend_queues_) {
    return Error("the backend's virtio-net device needs " + std::to_string(queues) + " queues but serves " +
                 std::to_string(backend_queues_) + " (GET_QUEUE_NUM)");
  }
  num_queues_ = static_cast<uint16_t>(queues);
  return ok_status();
}

Status VhostUserFrontend::send_memory_table() {
  std::vector<MemoryRegion> regions;
  std::vector<UniqueFd> fds;
  if (ram_.regions.empty() || ram_.regions.size() > kMaxMemoryRegions) {
    return Error("guest RAM has " + std::to_string(ram_.regions.size()) + " regions (1 to " +
                 std::to_string(kMaxMemoryRegions) + " fit SET_MEM_TABLE)");
  }
  for (const SharedRamRegion& region : ram_.regions) {
    regions.push_back({region.guest_addr, region.size, reinterpret_cast<uint64_t>(region.host),
                       region.fd_offset});
    auto fd = duplicate(ram_.memfd);
    if (!fd.ok()) return fd.error();
    fds.push_back(std::move(*fd));
  }
  return send_maybe_acked(make_memory_table_request(regions, std::move(fds)));
}

Status VhostUserFrontend::send_maybe_acked(Message request) {
  if ((protocol_features_ & bit(kProtocolReplyAck)) != 0) return channel_.call_acked(std::move(request));
  return channel_.send(request);
}

bool VhostUserFrontend::process_gone() const {
  if (options_.transport != nullptr || !socket_.valid()) return false;
  pollfd pfd{socket_.get(), POLLRDHUP, 0};
  return ::poll(&pfd, 1, 0) > 0 && (pfd.revents & (POLLRDHUP | POLLHUP | POLLERR)) != 0;
}

bool VhostUserFrontend::lost_or_failed(const Error& error) {
  if (process_gone()) return disconnect(error.message());
  fail(error.message());
  return false;
}

void VhostUserFrontend::fail(const std::string& reason) {
  {
    std::lock_guard<std::mutex> lock(state_mutex_);
    if (failed_.load()) return;
    failure_ = reason;
    failed_.store(true);
    disconnected_.store(false);
  }
  log::error(options_.name + ": device failed: " + reason);
}

bool VhostUserFrontend::disconnect(const std::string& reason) {
  if (failed()) return false;
  if (!options_.replacement_possible || (protocol_features_ & bit(kProtocolInflightShmfd)) == 0) {
    fail(reason);
    return false;
  }
  if (!disconnected_.exchange(true)) {
    log::warn(options_.name + ": " + reason + "; waiting for a replacement device process (the guest's requests wait)");
  }
  return true;
}

std::string VhostUserFrontend::failure() const {
  std::lock_guard<std::mutex> lock(state_mutex_);
  return failure_;
}

Error VhostUserFrontend::failed_error() const { return Error(options_.name + ": device failed: " + failure()); }

Result<void> VhostUserFrontend::read_config(uint32_t offset, std::span<uint8_t> data) {
  if (failed()) return failed_error();
  std::lock_guard<std::mutex> lock(state_mutex_);
  for (size_t i = 0; i < data.size(); ++i) {
    const uint64_t at = uint64_t{offset} + i;
    data[i] = at < config_.size() ? config_[at] : 0;
  }
  return ok_status();
}

Result<void> VhostUserFrontend::write_config(uint32_t offset, std::span<const uint8_t> data) {
  std::lock_guard<std::mutex> serial(round_trip_mutex_);
  if (failed()) return failed_error();
  const bool writable = profile_.kind == DeviceKind::kBlock && offset == kBlockWritebackOffset &&
                        data.size() == 1 && range_within(offset, 1, config_.size()) &&
                        (protocol_features_ & bit(kProtocolConfig)) != 0;
  if (!writable) return ok_status();
  // While the process is being replaced the write is only kept: reconnect replays it.
  if (!disconnected()) {
    DeviceConfig request;
    request.offset = offset;
    request.size = 1;
    request.flags = 0;  // VHOST_SET_CONFIG_TYPE_FRONTEND
    request.bytes.assign(data.begin(), data.end());
    if (Status s = send_maybe_acked(make_config_request(Request::SET_CONFIG, request)); !s.ok()) {
      if (!lost_or_failed(s.error())) return s.error();
    }
  }
  writeback_written_ = true;
  std::lock_guard<std::mutex> lock(state_mutex_);
  config_[offset] = data[0];
  return ok_status();
}

Result<void> VhostUserFrontend::activate(uint64_t negotiated_features,
                                         std::span<const virtio_pci::QueueSetup> queues) {
  std::lock_guard<std::mutex> serial(round_trip_mutex_);
  if (failed()) return failed_error();
  if ((negotiated_features & ~offered_features_) != 0) {
    return Error(options_.name + ": the driver accepted features that were not offered");
  }
  // The guest's choices are checked before anything is sent, so its mistakes do not fail the
  // backend.
  for (const virtio_pci::QueueSetup& queue : queues) {
    const bool power_of_two = queue.size != 0 && (queue.size & (queue.size - 1)) == 0;
    if (queue.index >= num_queues_ || !power_of_two || queue.size > profile_.max_queue_size) {
      return Error(options_.name + ": queue " + std::to_string(queue.index) + " of size " +
                   std::to_string(queue.size) + " cannot be started");
    }
    if (!ram_.host_address(queue.desc_gpa, descriptor_table_bytes(queue.size)) ||
        !ram_.host_address(queue.avail_gpa, avail_ring_bytes(queue.size)) ||
        !ram_.host_address(queue.used_gpa, used_ring_bytes(queue.size))) {
      return Error(options_.name + ": queue " + std::to_string(queue.index) +
                   ": a ring lies outside guest RAM");
    }
  }
  // What the guest asked for is kept first: a replacement process is given the same.
  std::vector<StartedQueue> started;
  for (const virtio_pci::QueueSetup& queue : queues) {
    auto kick = duplicate(queue.kick_eventfd);
    if (!kick.ok()) return kick.error().wrap(options_.name);
    auto call = duplicate(queue.call_eventfd);
    if (!call.ok()) return call.error().wrap(options_.name);
    started.push_back({queue, std::move(*kick), std::move(*call)});
  }
  started_queues_ = std::move(started);
  started_features_ = negotiated_features;
  // Started while its process is being replaced: the replacement starts the queues.
  if (disconnected()) return ok_status();
  if (Status s = start_queues(false); !s.ok()) {
    if (!lost_or_failed(s.error())) return s.error();
  }
  return ok_status();
}

Status VhostUserFrontend::start_queues(bool from_used_index) {
  const uint64_t features =
      *started_features_ | (backend_features_ & kProtocolFeaturesBit);  // keeps protocol features on
  BULWARK_TRY(send_maybe_acked(make_u64_request(Request::SET_FEATURES, features, false)));
  BULWARK_TRY(send_inflight_record());
  for (const StartedQueue& queue : started_queues_) {
    uint16_t base = 0;
    if (from_used_index) {
      Result<uint16_t> used = used_index(queue);
      if (!used.ok()) return used.error();
      base = *used;
    }
    BULWARK_TRY(start_queue(queue, base));
  }
  return ok_status();
}

Status VhostUserFrontend::send_inflight_record() {
  if ((protocol_features_ & bit(kProtocolInflightShmfd)) == 0 || started_queues_.empty()) return ok_status();
  if (inflight_) {
    Result<Message> handover = inflight_->handover();
    if (!handover.ok()) return handover.error();
    return send_maybe_acked(std::move(*handover));
  }
  // A record covering the queues started, each as large as the largest (the backend's regions
  // are all of one size).
  uint16_t queues = 0;
  uint16_t queue_size = 0;
  for (const StartedQueue& queue : started_queues_) {
    queues = std::max<uint16_t>(queues, static_cast<uint16_t>(queue.setup.index + 1));
    queue_size = std::max(queue_size, queue.setup.size);
  }
  Result<Message> reply = channel_.call(InflightRegion::request(queues, queue_size), 1);
  if (!reply.ok()) return reply.error();
  Result<InflightRegion> region = InflightRegion::from_reply(std::move(*reply), queues, queue_size);
  if (!region.ok()) return region.error();
  inflight_.emplace(std::move(*region));
  return ok_status();
}

Result<uint16_t> VhostUserFrontend::used_index(const StartedQueue& queue) const {
  // The used ring's idx (u16 at offset 2): what the guest has seen completed.
  const uint64_t gpa = queue.setup.used_gpa;
  if (gpa > UINT64_MAX - 4) return Error("queue " + std::to_string(queue.setup.index) + ": used ring address wraps");
  const std::optional<uint64_t> at = ram_.host_address(gpa + 2, 2);
  if (!at) return Error("queue " + std::to_string(queue.setup.index) + ": the used ring lies outside guest RAM");
  uint16_t value = 0;
  std::memcpy(&value, reinterpret_cast<const void*>(*at), sizeof value);
  return value;
}

Status VhostUserFrontend::start_queue(const StartedQueue& started, uint16_t base) {
  const virtio_pci::QueueSetup& queue = started.setup;
  const uint32_t index = queue.index;
  BULWARK_TRY(send_maybe_acked(make_vring_state_request(Request::SET_VRING_NUM, VringState{index, queue.size})));
  BULWARK_TRY(send_maybe_acked(make_vring_state_request(Request::SET_VRING_BASE, VringState{index, base})));
  VringAddress address{};
  address.index = index;
  address.flags = 0;
  address.desc_user_addr = *ram_.host_address(queue.desc_gpa, descriptor_table_bytes(queue.size));
  address.used_user_addr = *ram_.host_address(queue.used_gpa, used_ring_bytes(queue.size));
  address.avail_user_addr = *ram_.host_address(queue.avail_gpa, avail_ring_bytes(queue.size));
  address.log_guest_addr = queue.used_gpa;
  BULWARK_TRY(send_maybe_acked(make_vring_address_request(address)));

  auto call = duplicate(started.call.get());
  if (!call.ok()) return call.error();
  BULWARK_TRY(send_maybe_acked(make_vring_fd_request(Request::SET_VRING_CALL, static_cast<uint8_t>(index),
                                                     std::move(*call))));
  auto error = duplicate(error_eventfd_.get());
  if (!error.ok()) return error.error();
  BULWARK_TRY(send_maybe_acked(make_vring_fd_request(Request::SET_VRING_ERR, static_cast<uint8_t>(index),
                                                     std::move(*error))));
  auto kick = duplicate(started.kick.get());
  if (!kick.ok()) return kick.error();
  BULWARK_TRY(send_maybe_acked(make_vring_fd_request(Request::SET_VRING_KICK, static_cast<uint8_t>(index),
                                                     std::move(*kick))));
  // With protocol features negotiated a ring starts disabled (vhost-user: "Ring states").
  if ((backend_features_ & kProtocolFeaturesBit) != 0) {
    BULWARK_TRY(send_maybe_acked(make_vring_state_request(Request::SET_VRING_ENABLE, VringState{index, 1})));
  }
  return ok_status();
}

void VhostUserFrontend::reset() {
  std::lock_guard<std::mutex> serial(round_trip_mutex_);
  std::vector<StartedQueue> started = std::move(started_queues_);
  started_queues_.clear();
  started_features_.reset();
  // The guest's next start has fresh rings: a record of the old ones would make a replacement
  // resubmit heads that now mean nothing (QEMU frees it at reset too). The next activate asks
  // for a fresh one, which also replaces the one the backend still has mapped.
  inflight_.reset();
  if (failed() || disconnected()) return;
  for (const StartedQueue& queue : started) {
    const uint16_t index = queue.setup.index;
    Result<Message> reply =
        channel_.call(make_vring_state_request(Request::GET_VRING_BASE, VringState{index, 0}));
    if (!reply.ok()) {
      lost_or_failed(reply.error());
      return;
    }
    Result<VringState> state = parse_vring_state(*reply);
    if (!state.ok()) {
      fail(state.error().wrap("reply to GET_VRING_BASE").message());
      return;
    }
    if (state->index != index || state->num > 0xffff) {
      fail("reply to GET_VRING_BASE for queue " + std::to_string(index) + ": queue " +
           std::to_string(state->index) + " at " + std::to_string(state->num));
      return;
    }
  }
}

}  // namespace bulwark::vhost_user
