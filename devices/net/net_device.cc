#include "devices/net/net_device.h"

#include <errno.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <variant>

#include "bulwark/common/byte_reader.h"
#include "bulwark/common/log.h"
#include "devices/net/control_command.h"
#include "devices/net/rx_placement.h"

namespace bulwark::net {

namespace {

// virtio_net_config field offsets (virtio 1.x 5.1.4).
constexpr uint64_t kCfgMac = 0;
constexpr uint64_t kCfgStatus = 6;
constexpr uint64_t kCfgMaxPairs = 8;
constexpr uint64_t kCfgMtu = 10;
constexpr uint64_t kCfgSpeed = 12;
constexpr uint64_t kCfgDuplex = 16;

// A TAP read one byte longer than the largest packet we pass on tells a too-long one apart.
constexpr size_t kPacketBuffer = kVnetHeaderSize + kMaxFrameSize + 1;

std::optional<ratelimit::RateLimiter> make_limiter(const RateLimitSpec& spec) {
  if (!spec.limited()) return std::nullopt;
  return ratelimit::RateLimiter(ratelimit::make_bucket(spec.bytes), ratelimit::make_bucket(spec.packets));
}

// "52:54:00:12:34:56 -> ff:ff:ff:ff:ff:ff type 0x0806, 42 bytes" for drop log lines.
std::string describe_frame(std::span<const uint8_t> frame) {
  if (frame.size() < kEthHeaderSize) return std::to_string(frame.size()) + " bytes";
  MacAddress dst, src;
  std::memcpy(dst.bytes.data(), frame.data(), 6);
  std::memcpy(src.bytes.data(), frame.data() + 6, 6);
  static const char digits[] = "0123456789abcdef";
  std::string type = "0x";
  for (int i = 12; i < 14; ++i) {
    type += digits[frame[i] >> 4];
    type += digits[frame[i] & 0xf];
  }
  return src.to_string() + " -> " + dst.to_string() + " type " + type + ", " + std::to_string(frame.size()) + " bytes";
}

}  // namespace

Result<std::unique_ptr<NetDevice>> NetDevice::create(NetDeviceOptions options, std::vector<UniqueFd> taps) {
  if (options.queue_pairs == 0 || options.queue_pairs > kMaxQueuePairs) {
    return Error("--queue-pairs " + std::to_string(options.queue_pairs) + ": from 1 to " + std::to_string(kMaxQueuePairs));
  }
  if (taps.size() != options.queue_pairs) {
    return Error(std::to_string(taps.size()) + " TAP fds for " + std::to_string(options.queue_pairs) +
                 " queue pairs: one TAP queue per pair is needed");
  }
  if (options.mtu < kMinMtu) return Error("--mtu " + std::to_string(options.mtu) + ": at least 68");
  if (options.mac.is_multicast() || options.mac.is_zero()) {
    return Error("--mac " + options.mac.to_string() + ": a unicast, non-zero MAC is needed");
  }
  std::vector<Pair> pairs(options.queue_pairs);
  for (size_t i = 0; i < taps.size(); ++i) {
    auto tap = TapQueue::adopt(std::move(taps[i]));
    if (!tap.ok()) return tap.error().wrap("queue pair " + std::to_string(i));
    pairs[i].tap = std::make_unique<TapQueue>(std::move(*tap));
    pairs[i].rx_packet.resize(kPacketBuffer);
    pairs[i].tx_packet.resize(kVnetHeaderSize + kMaxFrameSize);
    pairs[i].tx_limiter = make_limiter(options.tx_limit);
    pairs[i].rx_limiter = make_limiter(options.rx_limit);
    // Made whether or not a limit is set now: one may arrive on the control channel later,
    // after the seccomp policy forbids making timers.
    for (auto* slot : {&pairs[i].tx_timer, &pairs[i].rx_timer}) {
      auto timer = backend::ThrottleTimer::create();
      if (!timer.ok()) return timer.error();
      slot->emplace(std::move(*timer));
    }
  }
  return std::unique_ptr<NetDevice>(new NetDevice(std::move(options), std::move(pairs)));
}

NetDevice::NetDevice(NetDeviceOptions options, std::vector<Pair> pairs)
    : options_(std::move(options)), pairs_(std::move(pairs)) {
  policy_.mac = options_.mac;
  policy_.allowed_ips = options_.allowed_ips;
  policy_.allow_vlan = options_.allow_vlan;
  rx_running_.assign(options_.queue_pairs, false);
  refresh_config();
}

void NetDevice::refresh_config() {
  const std::span<uint8_t> config(config_);
  std::memcpy(config.data() + kCfgMac, policy_.mac.bytes.data(), 6);
  write_le<uint16_t>(config, kCfgStatus, status_);
  write_le<uint16_t>(config, kCfgMaxPairs, options_.queue_pairs);
  write_le<uint16_t>(config, kCfgMtu, options_.mtu);
  write_le<uint32_t>(config, kCfgSpeed, 0xffffffffu);  // unknown (SPEED_DUPLEX is not offered)
  write_le<uint8_t>(config, kCfgDuplex, 0xff);
}

uint64_t NetDevice::device_features() const {
  uint64_t features = feature_bit(kNetFMac) | feature_bit(kNetFMtu) | feature_bit(kNetFStatus) |
                      feature_bit(kNetFMrgRxbuf) | feature_bit(kNetFCsum) | feature_bit(kNetFHostTso4) |
                      feature_bit(kNetFHostTso6) | feature_bit(kNetFHostEcn) | feature_bit(kNetFCtrlVq) |
                      feature_bit(kNetFCtrlRx) | feature_bit(kNetFCtrlMacAddr) |
                      feature_bit(kNetFGuestAnnounce) | feature_bit(kNetFCtrlGuestOffloads);
  if (options_.queue_pairs > 1) features |= feature_bit(kNetFMq);
  // Receive offloads only where every TAP queue takes them.
  unsigned tap = ~0u;
  for (const Pair& pair : pairs_) tap &= pair.tap->supported_offloads();
  if ((tap & kTunFCsum) != 0) {
    features |= feature_bit(kNetFGuestCsum);
    if ((tap & kTunFTso4) != 0) features |= feature_bit(kNetFGuestTso4);
    if ((tap & kTunFTso6) != 0) features |= feature_bit(kNetFGuestTso6);
    if ((tap & kTunFTsoEcn) != 0 && (tap & (kTunFTso4 | kTunFTso6)) != 0) features |= feature_bit(kNetFGuestEcn);
  }
  return features;
}

unsigned NetDevice::tap_offloads_for(uint64_t guest_features) const {
  if (!has_feature(guest_features, kNetFGuestCsum)) return 0;
  unsigned flags = kTunFCsum;
  if (has_feature(guest_features, kNetFGuestTso4)) flags |= kTunFTso4;
  if (has_feature(guest_features, kNetFGuestTso6)) flags |= kTunFTso6;
  if (has_feature(guest_features, kNetFGuestEcn) && (flags & (kTunFTso4 | kTunFTso6)) != 0) flags |= kTunFTsoEcn;
  return flags;
}

Status NetDevice::set_active_pairs(uint16_t n) {
  active_pairs_ = n;
  return apply_attachments();
}

Status NetDevice::apply_attachments() {
  const uint16_t enabled = ctrl_served_ ? active_pairs_ : options_.queue_pairs;
  for (size_t i = 1; i < pairs_.size(); ++i) {
    const bool attach = i < enabled && rx_running_[i];
    if (pairs_[i].tap->attached() == attach) continue;
    if (!attach && pairs_[i].tap_watched && events_ != nullptr) {
      events_->unwatch(pairs_[i].tap->fd());
      pairs_[i].tap_watched = false;
    }
    if (Status set = pairs_[i].tap->set_attached(attach); !set.ok()) {
      return set.error().wrap("queue pair " + std::to_string(i));
    }
    // A re-attached queue may hold frames already; its RX queue looks at once.
    if (attach && events_ != nullptr) events_->wake_queue(static_cast<uint16_t>(2 * i));
  }
  return ok_status();
}

void NetDevice::queue_running(uint16_t index, bool running) {
  if (index == 2 * options_.queue_pairs) {
    // From now on VQ_PAIRS_SET decides (until then, only pair 0).
    if (!running || ctrl_served_) return;
    ctrl_served_ = true;
  } else if (index % 2 == 0 && index / 2 < rx_running_.size()) {
    rx_running_[index / 2] = running;
  } else {
    return;
  }
  if (Status applied = apply_attachments(); !applied.ok()) log::error(applied.error().message());
}

void NetDevice::set_features(uint64_t negotiated) {
  negotiated_ = negotiated;
  if (!has_feature(negotiated, kFVersion1)) {
    log::warn("the frontend did not negotiate VERSION_1: this device speaks only the 12-byte virtio 1.x header");
  }
  if (Status pairs = set_active_pairs(1); !pairs.ok()) log::error(pairs.error().message());
  const unsigned offloads = tap_offloads_for(negotiated);
  for (size_t i = 0; i < pairs_.size(); ++i) {
    // A packet held for want of RX buffers had its header fitted to the old features (a
    // partial checksum, GSO): the new driver may not have negotiated them. A reset loses it.
    pairs_[i].rx_held = 0;
    Status set = pairs_[i].tap->set_offloads(offloads);
    if (!set.ok()) log::error("queue pair " + std::to_string(i) + ": " + set.error().message());
  }
}

Status NetDevice::write_config(uint32_t offset, std::span<const uint8_t> bytes) {
  const uint64_t end = uint64_t{offset} + bytes.size();
  if (end > 6) return Error("only the MAC of a virtio-net configuration is writable");
  if (!options_.allow_mac_change) {
    drops_.dropped(DeviceDrop::kCtrlRefused, "a MAC written to the configuration space (the operator did not allow MAC changes)");
    return Error("the guest may not change its MAC");
  }
  std::memcpy(policy_.mac.bytes.data() + offset, bytes.data(), bytes.size());
  log::info("the guest set its MAC to " + policy_.mac.to_string());
  refresh_config();
  return ok_status();
}

Status NetDevice::attach_events(backend::DeviceEvents& events) {
  events_ = &events;
  for (uint32_t i = 0; i < pairs_.size(); ++i) {
    if (pairs_[i].rx_timer) BULWARK_TRY(events.watch(pairs_[i].rx_timer->fd(), EPOLLIN, i * 4 + kRxTimer));
    if (pairs_[i].tx_timer) BULWARK_TRY(events.watch(pairs_[i].tx_timer->fd(), EPOLLIN, i * 4 + kTxTimer));
  }
  return ok_status();
}

void NetDevice::on_device_event(uint32_t token) {
  const uint32_t index = token / 4;
  if (index >= pairs_.size() || events_ == nullptr) return;
  Pair& pair = pairs_[index];
  switch (token % 4) {
    case kTapReadable:
      // Watched only while the RX queue waits for the TAP: process_rx watches it again when
      // it has read the TAP empty.
      events_->unwatch(pair.tap->fd());
      pair.tap_watched = false;
      events_->wake_queue(static_cast<uint16_t>(2 * index));
      break;
    case kRxTimer: {
      pair.rx_timer->clear();
      pair.rx_throttled = false;
      events_->wake_queue(static_cast<uint16_t>(2 * index));
      break;
    }
    case kTxTimer: {
      pair.tx_timer->clear();
      pair.tx_throttled = false;
      events_->wake_queue(static_cast<uint16_t>(2 * index + 1));
      break;
    }
  }
}

devctl::ControlReply NetDevice::control(const devctl::ControlCommand& command) {
  const auto limits = [this]() -> devctl::Buckets {
    return {options_.rx_limit.bytes, options_.rx_limit.packets, options_.tx_limit.bytes, options_.tx_limit.packets};
  };
  if (command.op == devctl::Op::kGetRateLimit) return {devctl::ControlStatus::kOk, limits(), {}};
  if (command.op == devctl::Op::kGetStats) return {devctl::ControlStatus::kOk, {}, counters()};
  if (command.op != devctl::Op::kSetRateLimit) return {devctl::ControlStatus::kUnsupported, {}, {}};
  const devctl::Buckets& b = command.buckets;
  options_.rx_limit = {b[0], b[1]};
  options_.tx_limit = {b[2], b[3]};
  for (uint32_t i = 0; i < pairs_.size(); ++i) {
    Pair& pair = pairs_[i];
    pair.rx_limiter = make_limiter(options_.rx_limit);
    pair.tx_limiter = make_limiter(options_.tx_limit);
    // What waited under the old limits is looked at again under the new ones.
    pair.rx_throttled = false;
    pair.tx_throttled = false;
    if (events_ != nullptr) {
      events_->wake_queue(static_cast<uint16_t>(2 * i));
      events_->wake_queue(static_cast<uint16_t>(2 * i + 1));
    }
  }
  log::info("rate limit set: rx bytes " + devctl::describe_bucket(b[0]) + ", rx packets " + devctl::describe_bucket(b[1]) +
            ", tx bytes " + devctl::describe_bucket(b[2]) + ", tx packets " + devctl::describe_bucket(b[3]));
  return {devctl::ControlStatus::kOk, limits(), {}};
}

Result<uint32_t> NetDevice::process_queue(uint16_t index, virtio::SplitQueue& queue, uint32_t budget) {
  if (index == 2 * options_.queue_pairs) return process_ctrl(queue, budget);
  const uint16_t pair = index / 2;
  if (pair >= pairs_.size()) return Error("queue " + std::to_string(index) + " does not exist");
  if (index % 2 == 0) return process_rx(pairs_[pair], queue, budget);
  return process_tx(pairs_[pair], queue, budget);
}

Result<uint32_t> NetDevice::process_tx(Pair& pair, virtio::SplitQueue& queue, uint32_t budget) {
  if (pair.tx_throttled) return 0u;
  uint32_t served = 0;
  while (served < budget) {
    const uint16_t before = queue.next_avail();
    auto popped = queue.pop();
    if (!popped.ok()) return popped.error();
    if (!popped->has_value()) break;
    const virtio::DescriptorChain& chain = **popped;
    if (!chain.writable.empty() || chain.readable_bytes < kVnetHeaderSize) {
      drops_.dropped(DeviceDrop::kTxBadChain, std::to_string(chain.readable_bytes) + " readable bytes, " +
                                                  std::to_string(chain.writable.size()) + " writable buffers");
      BULWARK_TRY(queue.push_used(chain.head, 0));
      ++served;
      continue;
    }
    const uint64_t frame_len = chain.readable_bytes - kVnetHeaderSize;
    if (frame_len > kMaxFrameSize) {
      drops_.dropped(DeviceDrop::kTxOversize, std::to_string(frame_len) + " bytes");
      BULWARK_TRY(queue.push_used(chain.head, 0));
      ++served;
      continue;
    }
    if (pair.tx_limiter) {
      const auto now = ratelimit::TokenBucket::Clock::now();
      if (!pair.tx_limiter->consume(frame_len, now)) {
        // Back-pressure: the chain goes back on the ring until the tokens are there.
        queue.set_next_avail(before);
        pair.tx_throttled = true;
        ++tx_throttled_;
        pair.tx_timer->arm(pair.tx_limiter->wait_time(frame_len, now));
        break;
      }
    }
    ++served;
    // One copy out of guest memory: the guest cannot change what was checked.
    size_t copied = 0;
    for (std::span<const uint8_t> buffer : chain.readable) {
      std::memcpy(pair.tx_packet.data() + copied, buffer.data(), buffer.size());
      copied += buffer.size();
    }
    const std::span<uint8_t> packet(pair.tx_packet.data(), copied);
    auto header = parse_tx_header(packet.first(kVnetHeaderSize), frame_len, negotiated_);
    if (!header.ok()) {
      drops_.dropped(DeviceDrop::kTxBadHeader, header.error().message());
      BULWARK_TRY(queue.push_used(chain.head, 0));
      continue;
    }
    const std::span<const uint8_t> frame = packet.subspan(kVnetHeaderSize);
    // Without segmentation offload a frame is one packet on the wire: no larger than the MTU
    // the operator gave (plus the Ethernet header and, where allowed, one VLAN tag).
    const uint64_t largest = uint64_t{options_.mtu} + kEthHeaderSize + (options_.allow_vlan ? 4 : 0);
    if (header->gso_type == kVnetHdrGsoNone && frame_len > largest) {
      drops_.dropped(DeviceDrop::kTxOversize, std::to_string(frame_len) + " bytes without GSO, MTU " +
                                                  std::to_string(options_.mtu));
      BULWARK_TRY(queue.push_used(chain.head, 0));
      continue;
    }
    const DropReason reason = check_guest_frame(policy_, frame);
    if (reason != DropReason::kNone) {
      drops_.filtered(Direction::kTx, reason, describe_frame(frame));
      BULWARK_TRY(queue.push_used(chain.head, 0));
      continue;
    }
    header->num_buffers = 0;
    write_header(*header, packet.first<kVnetHeaderSize>());
    Status sent = pair.tap->send(packet);
    if (!sent.ok()) {
      drops_.dropped(DeviceDrop::kTxTapError, sent.error().message());
    } else {
      ++tx_frames_;
      ++pair.tx_frames;
      tx_bytes_ += frame_len;
    }
    BULWARK_TRY(queue.push_used(chain.head, 0));
  }
  return served;
}

bool NetDevice::adapt_rx_header(std::span<uint8_t> bytes) {
  VnetHeader header = read_header(bytes.first<kVnetHeaderSize>());
  if (!has_feature(negotiated_, kNetFGuestCsum)) {
    // The TAP was told no offloads; a partial checksum now would reach a guest that cannot
    // complete it.
    if ((header.flags & kVnetHdrFNeedsCsum) != 0) return false;
    header.flags = 0;
  } else {
    header.flags &= kVnetHdrFNeedsCsum | kVnetHdrFDataValid;
  }
  const uint8_t gso = header.gso_type & ~kVnetHdrGsoEcn;
  const bool ecn = (header.gso_type & kVnetHdrGsoEcn) != 0;
  bool allowed = false;
  switch (gso) {
    case kVnetHdrGsoNone: allowed = !ecn; break;
    case kVnetHdrGsoTcpv4: allowed = has_feature(negotiated_, kNetFGuestTso4); break;
    case kVnetHdrGsoTcpv6: allowed = has_feature(negotiated_, kNetFGuestTso6); break;
    default: allowed = false; break;
  }
  if (ecn && !has_feature(negotiated_, kNetFGuestEcn)) allowed = false;
  if (!allowed) return false;
  if (gso == kVnetHdrGsoNone) {
    header.gso_size = 0;
    header.hdr_len = 0;
  }
  header.num_buffers = 0;
  write_header(header, bytes.first<kVnetHeaderSize>());
  return true;
}

NetDevice::RxFill NetDevice::fill_rx(Pair& pair) {
  if (pair.rx_held > 0) return RxFill::kHeld;
  // A detached queue (a pair the guest does not use) has nothing; attaching it wakes the queue.
  if (!pair.tap->attached()) return RxFill::kEmpty;
  auto received = pair.tap->receive(pair.rx_packet);
  if (!received.ok()) {
    drops_.dropped(DeviceDrop::kRxTapError, received.error().message());
    return RxFill::kFailed;
  }
  const size_t n = *received;
  if (n == 0) {
    if (!pair.tap_watched && events_ != nullptr) {
      Status watched = events_->watch(pair.tap->fd(), EPOLLIN, static_cast<uint32_t>(&pair - pairs_.data()) * 4 + kTapReadable);
      if (!watched.ok()) {
        log::error(watched.error().message());
        return RxFill::kFailed;
      }
      pair.tap_watched = true;
    }
    return RxFill::kEmpty;
  }
  if (n < kVnetHeaderSize + kEthHeaderSize) {
    drops_.dropped(DeviceDrop::kRxRunt, std::to_string(n) + " bytes");
    return RxFill::kDropped;
  }
  if (n > kVnetHeaderSize + kMaxFrameSize) {
    drops_.dropped(DeviceDrop::kRxOversize, "more than " + std::to_string(kMaxFrameSize) + " bytes");
    return RxFill::kDropped;
  }
  const std::span<uint8_t> packet(pair.rx_packet.data(), n);
  if (!adapt_rx_header(packet)) {
    drops_.dropped(DeviceDrop::kRxOffload, describe_frame(packet.subspan(kVnetHeaderSize)));
    return RxFill::kDropped;
  }
  const DropReason reason = check_host_frame(policy_, packet.subspan(kVnetHeaderSize));
  if (reason != DropReason::kNone) {
    drops_.filtered(Direction::kRx, reason, describe_frame(packet.subspan(kVnetHeaderSize)));
    return RxFill::kDropped;
  }
  pair.rx_held = n;
  return RxFill::kHeld;
}

Result<uint32_t> NetDevice::process_rx(Pair& pair, virtio::SplitQueue& queue, uint32_t budget) {
  if (pair.rx_throttled) return 0u;
  const bool mergeable = has_feature(negotiated_, kNetFMrgRxbuf);
  uint32_t served = 0;
  while (served < budget) {
    const RxFill filled = fill_rx(pair);
    if (filled == RxFill::kDropped) {
      ++served;  // a dropped packet costs a turn too: a flood cannot hold the loop
      continue;
    }
    if (filled != RxFill::kHeld) break;
    const uint64_t frame_len = pair.rx_held - kVnetHeaderSize;
    const auto now = ratelimit::TokenBucket::Clock::now();
    if (pair.rx_limiter) {
      const auto wait = pair.rx_limiter->wait_time(frame_len, now);
      if (wait.count() > 0) {
        // Back-pressure: the packet stays here and the TAP unread until the tokens are back.
        pair.rx_throttled = true;
        ++rx_throttled_;
        pair.rx_timer->arm(wait);
        break;
      }
    }
    auto placed = place_rx_packet(queue, std::span<uint8_t>(pair.rx_packet.data(), pair.rx_held), mergeable);
    if (!placed.ok()) {
      pair.rx_held = 0;
      return placed.error();
    }
    if (placed->outcome == RxPlacement::kNoRoom) break;  // the guest's next kick brings us back
    if (placed->outcome == RxPlacement::kNeverFits) {
      drops_.dropped(DeviceDrop::kRxBufferTooSmall, std::to_string(pair.rx_held) + " bytes with the vnet header");
      pair.rx_held = 0;
      ++served;
      continue;
    }
    if (pair.rx_limiter) pair.rx_limiter->consume(frame_len, now);
    ++rx_frames_;
    ++pair.rx_frames;
    rx_bytes_ += frame_len;
    pair.rx_held = 0;
    served += placed->chains;
  }
  return served;
}

Result<uint32_t> NetDevice::process_ctrl(virtio::SplitQueue& queue, uint32_t budget) {
  uint32_t served = 0;
  std::vector<uint8_t> command;
  while (served < budget) {
    auto popped = queue.pop();
    if (!popped.ok()) return popped.error();
    if (!popped->has_value()) break;
    ++served;
    const virtio::DescriptorChain& chain = **popped;
    uint8_t* ack = nullptr;
    for (std::span<uint8_t> buffer : chain.writable) {
      if (!buffer.empty()) {
        ack = buffer.data();
        break;
      }
    }
    if (ack == nullptr) return Error("a control command without a writable byte for its ack");
    uint8_t answer = kCtrlErr;
    if (chain.readable_bytes > kMaxControlCommandSize) {
      drops_.dropped(DeviceDrop::kCtrlRefused, "a control command of " + std::to_string(chain.readable_bytes) + " bytes");
    } else {
      command.clear();
      for (std::span<const uint8_t> buffer : chain.readable) command.insert(command.end(), buffer.begin(), buffer.end());
      answer = apply_control(command);
    }
    *ack = answer;
    BULWARK_TRY(queue.push_used(chain.head, 1));
  }
  return served;
}

uint8_t NetDevice::apply_control(std::span<const uint8_t> bytes) {
  auto command = parse_control_command(bytes, options_.queue_pairs);
  if (!command.ok()) {
    drops_.dropped(DeviceDrop::kCtrlRefused, command.error().message());
    return kCtrlErr;
  }
  const unsigned needed = required_feature(*command);
  if (!has_feature(negotiated_, kNetFCtrlVq) || !has_feature(negotiated_, needed)) {
    drops_.dropped(DeviceDrop::kCtrlRefused, "a control command whose feature bit " + std::to_string(needed) +
                                                 " was not negotiated");
    return kCtrlErr;
  }
  if (const auto* set = std::get_if<MacAddrSet>(&*command)) {
    if (!options_.allow_mac_change) {
      drops_.dropped(DeviceDrop::kCtrlRefused, "MAC_ADDR_SET " + set->mac.to_string() +
                                                   " (the operator did not allow the guest to change its MAC)");
      return kCtrlErr;
    }
    policy_.mac = set->mac;
    log::info("the guest set its MAC to " + policy_.mac.to_string());
    refresh_config();
    return kCtrlOk;
  }
  if (const auto* pairs = std::get_if<QueuePairsSet>(&*command)) {
    Status set = set_active_pairs(pairs->pairs);
    if (!set.ok()) {
      log::error(set.error().message());
      return kCtrlErr;
    }
    return kCtrlOk;
  }
  if (std::holds_alternative<AnnounceAck>(*command)) {
    status_ &= static_cast<uint16_t>(~kStatusAnnounce);
    refresh_config();
    return kCtrlOk;
  }
  if (const auto* offloads = std::get_if<GuestOffloadsSet>(&*command)) {
    if ((offloads->offloads & ~negotiated_) != 0) {
      drops_.dropped(DeviceDrop::kCtrlRefused, "GUEST_OFFLOADS_SET asks for offloads that were not negotiated");
      return kCtrlErr;
    }
    const unsigned flags = tap_offloads_for(offloads->offloads);
    for (Pair& pair : pairs_) {
      Status set = pair.tap->set_offloads(flags);
      if (!set.ok()) {
        log::error(set.error().message());
        return kCtrlErr;
      }
    }
    return kCtrlOk;
  }
  // RX modes and MAC tables are acknowledged but never widen delivery: toward the guest go
  // only frames for its MAC, broadcast and multicast, whatever it asks (check_host_frame).
  return kCtrlOk;
}

devctl::Counters NetDevice::counters() const {
  devctl::Counters c{};
  c[devctl::kNetRxFrames] = rx_frames_;
  c[devctl::kNetRxBytes] = rx_bytes_;
  c[devctl::kNetTxFrames] = tx_frames_;
  c[devctl::kNetTxBytes] = tx_bytes_;
  for (size_t d = 0; d < static_cast<size_t>(DeviceDrop::kCount); ++d) {
    c[devctl::kNetDrops] += drops_.dropped_count(static_cast<DeviceDrop>(d));
  }
  for (size_t r = 0; r < static_cast<size_t>(DropReason::kCount); ++r) {
    for (Direction direction : {Direction::kTx, Direction::kRx}) {
      c[devctl::kNetFilterDrops] += drops_.filtered_count(direction, static_cast<DropReason>(r));
    }
  }
  c[devctl::kNetRxThrottled] = rx_throttled_;
  c[devctl::kNetTxThrottled] = tx_throttled_;
  return c;
}

std::string NetDevice::summary() const {
  std::string text = "tx " + std::to_string(tx_frames_) + " frames " + std::to_string(tx_bytes_) + " bytes, rx " +
                     std::to_string(rx_frames_) + " frames " + std::to_string(rx_bytes_) + " bytes";
  for (size_t i = 0; pairs_.size() > 1 && i < pairs_.size(); ++i) {
    text += "; pair " + std::to_string(i) + ": tx " + std::to_string(pairs_[i].tx_frames) + " rx " +
            std::to_string(pairs_[i].rx_frames);
  }
  return text + "; drops: " + drops_.summary();
}

}  // namespace bulwark::net
