// The guest-less side of bulwark-dev-net tests: starts the real device process (seccomp
// enforced) on TAP queue fds as the launcher would (socket fd 3, TAP queues from fd 4, its
// stderr in a file the test reads), and plays a virtio-net driver over vhost-user with the
// unit tests' TestFrontend (guest memory in a memfd, rings laid out by the test).
#pragma once

#include <sys/types.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "bulwark/common/result.h"
#include "bulwark/common/unique_fd.h"
#include "tests/unit/blk/test_frontend.h"

namespace bulwark::test {

struct NetDeviceRun {
  pid_t pid = -1;
  UniqueFd socket;  // the frontend's end
  std::string log_path;

  // Waits for the process (killing it after `timeout`); its wait status.
  int wait(std::chrono::milliseconds timeout = std::chrono::seconds(10));
  std::string log() const;
  ~NetDeviceRun();
  NetDeviceRun() = default;
  NetDeviceRun(NetDeviceRun&& other) noexcept { *this = std::move(other); }
  NetDeviceRun& operator=(NetDeviceRun&& other) noexcept {
    std::swap(pid, other.pid);
    std::swap(socket, other.socket);
    std::swap(log_path, other.log_path);
    return *this;
  }
};

// bulwark-dev-net --socket-fd 3 --tap-fd 4 [--tap-fd 5 ...] args..., stderr into `log_path`.
// With `listen_path`, --socket PATH instead (a frontend such as QEMU connects there) and no
// socket of ours.
Result<NetDeviceRun> start_net_device(const std::vector<int>& tap_fds, const std::vector<std::string>& args,
                                      const std::string& log_path, const std::string& listen_path = "");

using Mac = std::array<uint8_t, 6>;

// An Ethernet + IPv4 + UDP frame (IP header checksum filled in, UDP checksum 0 = none).
std::vector<uint8_t> udp_frame(const Mac& dst, const Mac& src, const std::string& src_ip, const std::string& dst_ip,
                               uint16_t src_port, uint16_t dst_port, std::span<const uint8_t> payload);
uint64_t fnv1a(std::span<const uint8_t> bytes, uint64_t seed = 1469598103934665603ull);

class NetTestGuest {
 public:
  static constexpr uint16_t kRx = 0, kTx = 1, kCtrl = 2;  // with one queue pair

  // The whole vhost-user set-up for queues rx0, tx0, ... rxN-1, txN-1, ctrl with
  // `device_features` (virtio-net bits) plus the ring features, as far as the device offers them.
  static Result<std::unique_ptr<NetTestGuest>> start(UniqueFd socket, uint64_t device_features, uint16_t pairs = 1);

  TestFrontend& frontend() { return *frontend_; }
  uint64_t offered() const { return frontend_->offered_features(); }

  // One TX chain: the 12-byte vnet header, then the frame split in `pieces` descriptors;
  // waits until the device returned it.
  Status send(std::span<const uint8_t> header, std::span<const uint8_t> frame, int pieces = 1);
  // A plain header (no offloads) and the frame.
  Status send_frame(std::span<const uint8_t> frame) { return send(std::array<uint8_t, 12>{}, frame); }

  // Offers `count` (at most 16) RX buffers of `size` bytes on RX queue `queue`, each a
  // one-descriptor chain.
  void post_rx_buffers(uint16_t count, uint32_t size, uint16_t queue = kRx);
  // The next packet (vnet header + frame) from num_buffers used RX buffers, which are offered
  // again. Error when none came in time or the device wrote something no driver could accept.
  Result<std::vector<uint8_t>> receive(std::chrono::milliseconds timeout, uint16_t queue = kRx);
  // Used RX buffers so far.
  uint16_t rx_used(uint16_t queue = kRx) { return frontend_->used_index(queue); }
  uint16_t ctrl_queue() const { return ctrl_; }

  // One control command (class, command, data); the ack byte.
  Result<uint8_t> control(std::span<const uint8_t> command);

  // Waits until queue q's used index reaches `target` (wrapping compare).
  Status wait_used(uint16_t q, uint16_t target, std::chrono::milliseconds timeout);

 private:
  explicit NetTestGuest(std::unique_ptr<TestFrontend> frontend) : frontend_(std::move(frontend)) {}
  std::unique_ptr<TestFrontend> frontend_;
  uint64_t tx_area_ = 0;
  uint64_t ctrl_area_ = 0;
  struct RxQueue {
    uint64_t area = 0;
    uint32_t size = 0;
    uint16_t seen = 0;  // used entries consumed
  };
  std::array<RxQueue, 8> rx_{};
  uint16_t ctrl_ = kCtrl;
};

}  // namespace bulwark::test
