// virtio-blk (virtio 1.x section 5.2) on a disk (disk_backend.h: a raw image the process received
// as an open fd, or a qcow2 image and its backing chain). Every request is bounded to the disk's
// size as it was at start-up: a request reaching past the end fails with IOERR and the image is
// never touched beyond it.
#pragma once

#include <array>
#include <memory>
#include <optional>
#include <string>

#include "bulwark/common/unique_fd.h"
#include "devices/backend/virtio_device.h"
#include "devices/blk/blk_request.h"
#include "devices/blk/disk_backend.h"
#include "devices/backend/throttle_timer.h"
#include "devices/ratelimit/bucket_spec.h"

namespace bulwark::blk {

// Device feature bits (virtio 1.x section 5.2.3).
inline constexpr unsigned kFeatureSegMax = 2;
inline constexpr unsigned kFeatureRo = 5;
inline constexpr unsigned kFeatureBlkSize = 6;
inline constexpr unsigned kFeatureFlush = 9;
inline constexpr unsigned kFeatureMq = 12;
inline constexpr unsigned kFeatureDiscard = 13;
inline constexpr unsigned kFeatureWriteZeroes = 14;

struct BlockDeviceOptions {
  bool read_only = false;
  uint16_t queues = 1;
  std::string serial;  // GET_ID: at most 20 bytes
  // Limits on the guest's I/O (the same limiter as bulwark-dev-net's): bytes read or written,
  // and requests of any kind. A request the buckets cannot pay for stays on its ring until they
  // can (back-pressure; nothing is failed or dropped).
  ratelimit::BucketSpec rate_bytes;
  ratelimit::BucketSpec rate_ops;
};

class BlockDevice : public backend::VirtioDevice {
 public:
  static constexpr uint32_t kDeviceType = 2;
  static constexpr uint16_t kMaxQueueSize = 256;
  static constexpr uint16_t kMaxQueues = 16;
  static constexpr uint32_t kMaxDiscardSectors = 1u << 21;  // 1 GiB per request
  static constexpr size_t kConfigSize = 60;

  // Checks the options and measures the image (its size is fixed from now on): a raw image.
  static Result<std::unique_ptr<BlockDevice>> create(UniqueFd image, BlockDeviceOptions options);
  // On any disk.
  static Result<std::unique_ptr<BlockDevice>> create(std::unique_ptr<DiskBackend> disk, BlockDeviceOptions options);

  uint32_t device_type() const override { return kDeviceType; }
  uint64_t device_features() const override;
  uint16_t num_queues() const override { return options_.queues; }
  uint16_t max_queue_size() const override { return kMaxQueueSize; }
  std::span<const uint8_t> config_space() const override { return config_; }
  Result<uint32_t> process_queue(uint16_t index, virtio::SplitQueue& queue, uint32_t budget) override;
  Status attach_events(backend::DeviceEvents& events) override;
  void on_device_event(uint32_t token) override;
  // SetRateLimit (buckets [0] bytes, [1] requests; [2] and [3] must be unlimited) replaces the
  // limiter at once, requests held back are looked at again under the new one; GetRateLimit;
  // GetStats (devctl::CounterBlk).
  devctl::ControlReply control(const devctl::ControlCommand& command) override;
  const devctl::Counters& counters() const { return counters_; }

  uint64_t capacity_sectors() const { return image_bytes_ / kSectorSize; }

 private:
  BlockDevice(std::unique_ptr<DiskBackend> disk, BlockDeviceOptions options);
  // Serves one parsed request; returns the status byte and adds what it wrote to `written`.
  uint8_t serve(const Request& request, uint64_t& written);
  uint8_t read(const Request& request, uint64_t& written);
  uint8_t write(const Request& request);
  uint8_t get_id(const Request& request, uint64_t& written);
  uint8_t discard(const Request& request);
  // Adds a served request (nullptr: one that did not parse) to counters_.
  void count(const Request* request, uint8_t result);
  uint8_t write_zeroes(const Request& request);
  // [sector * 512, + bytes) inside the image, overflow-checked.
  bool within_image(uint64_t sector, uint64_t bytes, uint64_t& offset) const;

  std::unique_ptr<DiskBackend> disk_;
  BlockDeviceOptions options_;
  uint64_t image_bytes_;  // whole sectors only: a partial last sector is not exposed
  std::array<uint8_t, kConfigSize> config_{};
  // The limits as set (options_'s at start-up, the control channel's later).
  devctl::Buckets limits() const;
  // The rate limit, when there is one: requests wait on their ring while throttled_. The timer
  // exists from start-up (a limit may arrive later on the control channel), made before the
  // seccomp policy.
  std::optional<ratelimit::RateLimiter> limiter_;
  std::optional<backend::ThrottleTimer> timer_;
  backend::DeviceEvents* events_ = nullptr;
  bool throttled_ = false;
  devctl::Counters counters_{};  // GetStats: devctl::CounterBlk
};

}  // namespace bulwark::blk
