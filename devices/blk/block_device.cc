#include "devices/blk/block_device.h"

#include <algorithm>
#include <cstring>

#include <sys/epoll.h>

#include "bulwark/common/byte_reader.h"
#include "bulwark/common/log.h"
#include "devices/backend/feature_bits.h"
#include "devices/blk/raw_disk.h"

namespace bulwark::blk {

using backend::feature_bit;

namespace {

// virtio_blk_config field offsets (virtio 1.x section 5.2.4).
constexpr uint64_t kCfgCapacity = 0;
constexpr uint64_t kCfgSizeMax = 8;
constexpr uint64_t kCfgSegMax = 12;
constexpr uint64_t kCfgBlkSize = 20;
constexpr uint64_t kCfgNumQueues = 34;
constexpr uint64_t kCfgMaxDiscardSectors = 36;
constexpr uint64_t kCfgMaxDiscardSeg = 40;
constexpr uint64_t kCfgDiscardAlignment = 44;
constexpr uint64_t kCfgMaxWriteZeroesSectors = 48;
constexpr uint64_t kCfgMaxWriteZeroesSeg = 52;
constexpr uint64_t kCfgWriteZeroesMayUnmap = 56;

constexpr uint32_t kSizeMax = 1u << 20;

}  // namespace

Result<std::unique_ptr<BlockDevice>> BlockDevice::create(UniqueFd image, BlockDeviceOptions options) {
  auto disk = RawDisk::open(std::move(image), !options.read_only);
  if (!disk.ok()) return disk.error();
  return create(std::move(*disk), std::move(options));
}

Result<std::unique_ptr<BlockDevice>> BlockDevice::create(std::unique_ptr<DiskBackend> disk, BlockDeviceOptions options) {
  if (options.queues == 0 || options.queues > kMaxQueues) {
    return Error("--queues " + std::to_string(options.queues) + ": from 1 to " + std::to_string(kMaxQueues));
  }
  if (options.serial.size() > kIdBytes) return Error("--serial: at most 20 bytes");
  std::unique_ptr<BlockDevice> device(new BlockDevice(std::move(disk), std::move(options)));
  const BlockDeviceOptions& o = device->options_;
  if (o.rate_bytes.limited() || o.rate_ops.limited()) {
    device->limiter_.emplace(ratelimit::make_bucket(o.rate_bytes), ratelimit::make_bucket(o.rate_ops));
  }
  auto timer = backend::ThrottleTimer::create();
  if (!timer.ok()) return timer.error();
  device->timer_.emplace(std::move(*timer));
  return device;
}

BlockDevice::BlockDevice(std::unique_ptr<DiskBackend> disk, BlockDeviceOptions options)
    : disk_(std::move(disk)), options_(std::move(options)), image_bytes_(disk_->size() / kSectorSize * kSectorSize) {
  const std::span<uint8_t> config(config_);
  write_le<uint64_t>(config, kCfgCapacity, capacity_sectors());
  write_le<uint32_t>(config, kCfgSizeMax, kSizeMax);
  write_le<uint32_t>(config, kCfgSegMax, kMaxQueueSize - 2);
  write_le<uint32_t>(config, kCfgBlkSize, kSectorSize);
  write_le<uint16_t>(config, kCfgNumQueues, options_.queues);
  write_le<uint32_t>(config, kCfgMaxDiscardSectors, kMaxDiscardSectors);
  write_le<uint32_t>(config, kCfgMaxDiscardSeg, kMaxSegments);
  write_le<uint32_t>(config, kCfgDiscardAlignment, 1);
  write_le<uint32_t>(config, kCfgMaxWriteZeroesSectors, kMaxDiscardSectors);
  write_le<uint32_t>(config, kCfgMaxWriteZeroesSeg, kMaxSegments);
  write_le<uint8_t>(config, kCfgWriteZeroesMayUnmap, 1);
}

uint64_t BlockDevice::device_features() const {
  uint64_t features = feature_bit(kFeatureSegMax) | feature_bit(kFeatureBlkSize) | feature_bit(kFeatureFlush);
  if (options_.read_only) {
    features |= feature_bit(kFeatureRo);
  } else {
    features |= feature_bit(kFeatureDiscard) | feature_bit(kFeatureWriteZeroes);
  }
  if (options_.queues > 1) features |= feature_bit(kFeatureMq);
  return features;
}

Status BlockDevice::attach_events(backend::DeviceEvents& events) {
  events_ = &events;
  if (timer_) BULWARK_TRY(events.watch(timer_->fd(), EPOLLIN, 0));
  return ok_status();
}

void BlockDevice::on_device_event(uint32_t /*token*/) {
  if (!timer_) return;
  timer_->clear();
  throttled_ = false;
  for (uint16_t q = 0; q < options_.queues; ++q) events_->wake_queue(q);
}

devctl::Buckets BlockDevice::limits() const { return {options_.rate_bytes, options_.rate_ops, {}, {}}; }

void BlockDevice::count(const Request* request, uint8_t result) {
  if (result != kStatusOk) ++counters_[devctl::kBlkErrors];
  if (request == nullptr) return;
  const bool ok = result == kStatusOk;
  switch (request->type) {
    case kTypeIn:
      ++counters_[devctl::kBlkReadRequests];
      if (ok) counters_[devctl::kBlkReadBytes] += request->data_bytes;
      break;
    case kTypeOut:
      ++counters_[devctl::kBlkWriteRequests];
      if (ok) counters_[devctl::kBlkWriteBytes] += request->data_bytes;
      break;
    case kTypeFlush:
      ++counters_[devctl::kBlkFlushRequests];
      break;
    default:
      break;
  }
}

devctl::ControlReply BlockDevice::control(const devctl::ControlCommand& command) {
  if (command.op == devctl::Op::kGetRateLimit) return {devctl::ControlStatus::kOk, limits(), {}};
  if (command.op == devctl::Op::kGetStats) return {devctl::ControlStatus::kOk, {}, counters_};
  if (command.op != devctl::Op::kSetRateLimit) return {devctl::ControlStatus::kUnsupported, {}, {}};
  const devctl::Buckets& b = command.buckets;
  if (b[2].size != 0 || b[3].size != 0) {
    log::warn("control channel: SetRateLimit for a disk carries buckets 2 and 3 (a NIC's)");
    return {devctl::ControlStatus::kRefused, {}, {}};
  }
  options_.rate_bytes = b[0];
  options_.rate_ops = b[1];
  if (b[0].limited() || b[1].limited()) {
    limiter_.emplace(ratelimit::make_bucket(b[0]), ratelimit::make_bucket(b[1]));
  } else {
    limiter_.reset();
  }
  // What waited under the old limit is looked at again under the new one (a timer still armed
  // for the old one only wakes the queues once more).
  throttled_ = false;
  if (events_ != nullptr) {
    for (uint16_t q = 0; q < options_.queues; ++q) events_->wake_queue(q);
  }
  log::info("rate limit set: bytes " + devctl::describe_bucket(b[0]) + ", requests " + devctl::describe_bucket(b[1]));
  return {devctl::ControlStatus::kOk, limits(), {}};
}

Result<uint32_t> BlockDevice::process_queue(uint16_t /*index*/, virtio::SplitQueue& queue, uint32_t budget) {
  if (throttled_) return 0u;
  uint32_t served = 0;
  for (; served < budget; ++served) {
    const uint16_t before = queue.next_avail();
    auto chain = queue.pop();
    if (!chain.ok()) return chain.error();
    if (!chain->has_value()) break;
    const virtio::DescriptorChain& request_chain = **chain;
    const std::span<uint8_t> status = status_byte(request_chain);
    uint64_t written = 0;
    auto request = parse_request(request_chain);
    if (limiter_ && request.ok()) {
      // Bytes for what moves data; every request is one operation.
      const bool data = request->type == kTypeIn || request->type == kTypeOut;
      const uint64_t bytes = data ? request->data_bytes : 0;
      const auto now = ratelimit::TokenBucket::Clock::now();
      if (!limiter_->consume(bytes, 1, now)) {
        // Back-pressure: the request goes back on the ring until the tokens are there.
        queue.set_next_avail(before);
        throttled_ = true;
        ++counters_[devctl::kBlkThrottled];
        timer_->arm(limiter_->wait_time(bytes, 1, now));
        break;
      }
    }
    uint8_t result = kStatusIoErr;
    if (request.ok()) {
      result = serve(*request, written);
    } else {
      log::warn("virtio-blk: " + request.error().message());
    }
    count(request.ok() ? &*request : nullptr, result);
    if (!status.empty()) {
      status[0] = result;
      ++written;
    }
    BULWARK_TRY(queue.push_used(request_chain.head, static_cast<uint32_t>(std::min<uint64_t>(written, UINT32_MAX))));
  }
  return served;
}

uint8_t BlockDevice::serve(const Request& request, uint64_t& written) {
  switch (request.type) {
    case kTypeIn:
      return read(request, written);
    case kTypeOut:
      return options_.read_only ? kStatusIoErr : write(request);
    case kTypeFlush:
      return disk_->flush() ? kStatusOk : kStatusIoErr;
    case kTypeGetId:
      return get_id(request, written);
    case kTypeDiscard:
      return options_.read_only ? kStatusIoErr : discard(request);
    case kTypeWriteZeroes:
      return options_.read_only ? kStatusIoErr : write_zeroes(request);
    default:
      return kStatusUnsupported;
  }
}

bool BlockDevice::within_image(uint64_t sector, uint64_t bytes, uint64_t& offset) const {
  if (sector > UINT64_MAX / kSectorSize) return false;
  offset = sector * kSectorSize;
  return range_within(offset, bytes, image_bytes_);
}

uint8_t BlockDevice::read(const Request& request, uint64_t& written) {
  uint64_t offset = 0;
  if (!within_image(request.sector, request.data_bytes, offset)) return kStatusIoErr;
  if (!disk_->read(offset, request.in_data)) return kStatusIoErr;
  written += request.data_bytes;
  return kStatusOk;
}

uint8_t BlockDevice::write(const Request& request) {
  uint64_t offset = 0;
  if (!within_image(request.sector, request.data_bytes, offset)) return kStatusIoErr;
  return disk_->write(offset, request.out_data) ? kStatusOk : kStatusIoErr;
}

uint8_t BlockDevice::get_id(const Request& request, uint64_t& written) {
  // The serial, zero-padded to 20 bytes (not NUL-terminated when it is 20 long).
  uint8_t id[kIdBytes] = {};
  std::memcpy(id, options_.serial.data(), options_.serial.size());
  uint64_t copied = 0;
  for (std::span<uint8_t> buffer : request.in_data) {
    const uint64_t n = std::min<uint64_t>(buffer.size(), kIdBytes - copied);
    std::memcpy(buffer.data(), id + copied, n);
    copied += n;
    if (copied == kIdBytes) break;
  }
  written += copied;
  return kStatusOk;
}

uint8_t BlockDevice::discard(const Request& request) {
  for (const Segment& segment : request.segments) {
    if (segment.flags != 0) return kStatusUnsupported;  // the unmap bit is for WRITE_ZEROES only
    if (segment.num_sectors > kMaxDiscardSectors) return kStatusIoErr;
    uint64_t offset = 0;
    const uint64_t length = uint64_t{segment.num_sectors} * kSectorSize;
    if (!within_image(segment.sector, length, offset)) return kStatusIoErr;
    if (length == 0) continue;
    if (!disk_->discard(offset, length)) return kStatusIoErr;
  }
  return kStatusOk;
}

uint8_t BlockDevice::write_zeroes(const Request& request) {
  for (const Segment& segment : request.segments) {
    if ((segment.flags & ~kSegmentFlagUnmap) != 0) return kStatusUnsupported;
    if (segment.num_sectors > kMaxDiscardSectors) return kStatusIoErr;
    uint64_t offset = 0;
    const uint64_t length = uint64_t{segment.num_sectors} * kSectorSize;
    if (!within_image(segment.sector, length, offset)) return kStatusIoErr;
    if (length == 0) continue;
    if (!disk_->write_zeroes(offset, length)) return kStatusIoErr;
  }
  return kStatusOk;
}

}  // namespace bulwark::blk
