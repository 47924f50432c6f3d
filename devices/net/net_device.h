// virtio-net (virtio 1.x section 5.1) on TAP queues the process received as open fds, one per
// queue pair. Queues: RX of pair i is 2i, TX 2i+1, the control queue 2N (N = queue pairs).
//
// TX: a chain -> its vnet header checked (parse_tx_header) -> the frame copied out of guest
// memory once -> the anti-spoofing filter (check_guest_frame) -> header and frame written to
// the TAP. RX: a packet read from the TAP -> offloads the guest did not negotiate refused ->
// check_host_frame -> the guest's RX buffers (place_rx_packet). Every drop is counted per reason
// and logged rate-limited (DropLog). Per direction, an optional rate limiter: a throttled
// direction stops taking (TX chains stay on the ring, an RX packet stays in the device) until a
// timerfd says the tokens are back. A chain that breaks the ring fails that queue only.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "bulwark/common/unique_fd.h"
#include "devices/backend/throttle_timer.h"
#include "devices/backend/virtio_device.h"
#include "devices/net/drop_log.h"
#include "devices/net/frame_filter.h"
#include "devices/net/tap_queue.h"
#include "devices/net/vnet_header.h"
#include "devices/ratelimit/bucket_spec.h"
#include "devices/ratelimit/token_bucket.h"

namespace bulwark::net {

// One token bucket as the operator gives it (Firecracker's shape); size 0 = no bucket.
using BucketSpec = ratelimit::BucketSpec;

struct RateLimitSpec {
  BucketSpec bytes;
  BucketSpec packets;
  bool limited() const { return bytes.limited() || packets.limited(); }
};

struct NetDeviceOptions {
  MacAddress mac;
  uint16_t mtu = 1500;
  uint16_t queue_pairs = 1;
  std::vector<IpPrefix> allowed_ips;  // empty: MAC filtering only
  bool allow_vlan = false;
  bool allow_mac_change = false;  // MAC_ADDR_SET and config-space MAC writes
  RateLimitSpec tx_limit;
  RateLimitSpec rx_limit;
};

class NetDevice : public backend::VirtioDevice {
 public:
  static constexpr uint32_t kDeviceType = 1;
  static constexpr uint16_t kMaxQueueSize = 1024;
  static constexpr uint16_t kMaxQueuePairs = 8;
  static constexpr uint16_t kMinMtu = 68;
  static constexpr size_t kConfigSize = 24;
  // virtio_net_config.status bits.
  static constexpr uint16_t kStatusLinkUp = 1;
  static constexpr uint16_t kStatusAnnounce = 2;

  // One TAP queue per pair. Checks the options, sets the TAPs up and makes the rate limiters'
  // timerfds (start-up only: calls the seccomp policy forbids later).
  static Result<std::unique_ptr<NetDevice>> create(NetDeviceOptions options, std::vector<UniqueFd> taps);

  uint32_t device_type() const override { return kDeviceType; }
  uint64_t device_features() const override;
  uint16_t num_queues() const override { return static_cast<uint16_t>(2 * options_.queue_pairs + 1); }
  uint16_t max_queue_size() const override { return kMaxQueueSize; }
  std::span<const uint8_t> config_space() const override { return config_; }
  Status write_config(uint32_t offset, std::span<const uint8_t> bytes) override;
  void set_features(uint64_t negotiated) override;
  Result<uint32_t> process_queue(uint16_t index, virtio::SplitQueue& queue, uint32_t budget) override;
  Status attach_events(backend::DeviceEvents& events) override;
  void queue_running(uint16_t index, bool running) override;
  void on_device_event(uint32_t token) override;

  const DropLog& drops() const { return drops_; }
  // SetRateLimit (buckets [0] rx bytes, [1] rx packets, [2] tx bytes, [3] tx packets; each
  // queue pair gets its own limiters, as at start-up) replaces the limiters at once; GetRateLimit.
  // GetStats: devctl::CounterNet.
  devctl::ControlReply control(const devctl::ControlCommand& command) override;
  devctl::Counters counters() const;
  uint64_t tx_frames() const { return tx_frames_; }
  uint64_t rx_frames() const { return rx_frames_; }
  // "tx 12 frames 3456 bytes, rx ...[; pair 1: tx 3 rx 5]; drops: ..." for the log at exit.
  std::string summary() const;

 private:
  struct Pair {
    std::unique_ptr<TapQueue> tap;
    bool tap_watched = false;
    // The RX packet read from the TAP but not yet in the guest's buffers (no room, or the
    // limiter said wait). rx_held is its length (header included), 0 when none.
    std::vector<uint8_t> rx_packet;
    size_t rx_held = 0;
    std::vector<uint8_t> tx_packet;  // the TX chain's copy: checked and sent from here
    std::optional<ratelimit::RateLimiter> tx_limiter, rx_limiter;
    std::optional<backend::ThrottleTimer> tx_timer, rx_timer;
    bool tx_throttled = false, rx_throttled = false;
    uint64_t tx_frames = 0, rx_frames = 0;
  };
  // Event tokens: pair * 4 + kind.
  enum EventKind : uint32_t { kTapReadable = 0, kRxTimer = 1, kTxTimer = 2 };

  NetDevice(NetDeviceOptions options, std::vector<Pair> pairs);
  Result<uint32_t> process_tx(Pair& pair, virtio::SplitQueue& queue, uint32_t budget);
  Result<uint32_t> process_rx(Pair& pair, virtio::SplitQueue& queue, uint32_t budget);
  Result<uint32_t> process_ctrl(virtio::SplitQueue& queue, uint32_t budget);
  enum class RxFill { kHeld, kDropped, kEmpty, kFailed };
  // Reads the next packet from the pair's TAP into rx_packet unless one is held: kHeld (a
  // packet for the guest waits in rx_packet), kDropped (one was read and refused), kEmpty (the
  // TAP has nothing; it is watched from now on), kFailed (the TAP failed; logged).
  RxFill fill_rx(Pair& pair);
  // The vnet header of a TAP packet made fit for the guest's features; false to drop it.
  bool adapt_rx_header(std::span<uint8_t> header);
  uint8_t apply_control(std::span<const uint8_t> command);
  unsigned tap_offloads_for(uint64_t guest_features) const;
  void refresh_config();
  // Pairs 0..n-1 carry traffic, the others' TAP queues are detached so the TAP steers no flow
  // to a queue the guest does not serve (virtio: only pair 0 until VQ_PAIRS_SET).
  Status set_active_pairs(uint16_t n);
  // Attaches exactly the TAP queues of pairs that carry traffic: pair 0 always; pair i when
  // its RX ring runs and i < the pairs the guest enabled. Which pairs are enabled: VQ_PAIRS_SET
  // when this device serves the control queue; when the frontend serves it itself (QEMU: the
  // control ring never starts here), the rings the frontend starts and enables say it.
  Status apply_attachments();

  NetDeviceOptions options_;
  FilterPolicy policy_;
  std::vector<Pair> pairs_;
  uint64_t negotiated_ = 0;
  uint16_t status_ = kStatusLinkUp;
  uint16_t active_pairs_ = 1;
  std::vector<bool> rx_running_;  // per pair
  bool ctrl_served_ = false;      // the control ring ran here at least once
  backend::DeviceEvents* events_ = nullptr;
  DropLog drops_;
  uint64_t tx_frames_ = 0, tx_bytes_ = 0, rx_frames_ = 0, rx_bytes_ = 0;
  uint64_t tx_throttled_ = 0, rx_throttled_ = 0;  // times a direction's limiter made it wait
  std::array<uint8_t, kConfigSize> config_{};
};

}  // namespace bulwark::net
