// The monitor's vhost-user frontend: one virtio device whose model runs in another process.
// It presents the device to the virtio-pci transport (VirtioBackend) and speaks vhost-user to
// the device process over an already-connected unix stream socket.
//
// Every reply is untrusted (the device process may be compromised). A reply that is late, for
// another request, the wrong size, or a refusal puts the device in the failed state: logged
// once with the reason, every later call an error, and the transport sets DEVICE_NEEDS_RESET.
// The VM is not affected otherwise. Mistakes of the guest (a ring outside RAM, a bad queue
// size) are errors of that call only and leave the device usable after a reset.
//
// Threads: the calls that make round trips (activate, reset, write_config) are serialised by
// the caller (the transport's backend lock, not the IoBus lock); read_config, failed() and
// fail() may run at the same time from other threads (vCPU exits, the main thread's watch):
// the cached configuration and the failure reason have their own small lock.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "bulwark/common/result.h"
#include "bulwark/common/unique_fd.h"
#include "monitor/vhost_user/device_profile.h"
#include "monitor/vhost_user/reply_channel.h"
#include "monitor/vhost_user/shared_guest_ram.h"
#include "monitor/virtio_pci/virtio_backend.h"

namespace bulwark::vhost_user {

struct FrontendOptions {
  std::string name = "vhost-user device";  // for log lines: "vhost-user-blk 0 (/run/blk.sock)"
  std::chrono::milliseconds reply_timeout{5000};
  // Fuzz harness only (reply_channel.h): the backend played in the same thread, and optionally
  // the connection held in memory (borrowed; connect then takes no socket).
  BeforeReplyWait before_reply_wait;
  MessageTransport* transport = nullptr;
};

class VhostUserFrontend final : public virtio_pci::VirtioBackend {
 public:
  // The connect-time handshake: SET_OWNER, features, protocol features (CONFIG, REPLY_ACK and
  // MQ when offered), the queue count, the device configuration and SET_MEM_TABLE with the
  // guest RAM memfd. An error means the backend cannot serve this device at all.
  static Result<std::unique_ptr<VhostUserFrontend>> connect(UniqueFd socket, DeviceKind kind,
                                                            const SharedGuestRam& ram,
                                                            FrontendOptions options);
  // A device whose handshake failed (its process never answered, closed, or broke the
  // protocol): presented to the guest as a device of `kind` with one queue and VERSION_1 only,
  // failed from the start, so the transport refuses to start it and the rest of the VM runs.
  // The socket is closed: a process that wakes up later finds the frontend gone and exits.
  static std::unique_ptr<VhostUserFrontend> failed_at_connect(DeviceKind kind, FrontendOptions options,
                                                              const std::string& reason);
  ~VhostUserFrontend() override = default;
  VhostUserFrontend(const VhostUserFrontend&) = delete;
  VhostUserFrontend& operator=(const VhostUserFrontend&) = delete;

  uint32_t device_type() const override { return profile_.virtio_device_type; }
  uint64_t device_features() const override { return offered_features_; }
  uint16_t num_queues() const override { return num_queues_; }
  uint16_t max_queue_size() const override { return profile_.max_queue_size; }
  // From the configuration read at connect time (kept up to date by write_config); bytes past
  // its end read as zero.
  Result<void> read_config(uint32_t offset, std::span<uint8_t> data) override;
  // Forwarded with SET_CONFIG where the device has a writable field there (virtio-blk's
  // writeback byte); other writes are ignored, as for read-only fields.
  Result<void> write_config(uint32_t offset, std::span<const uint8_t> data) override;
  // SET_FEATURES, then each queue: NUM, BASE, ADDR, CALL, ERR, KICK and ENABLE.
  Result<void> activate(uint64_t negotiated_features,
                        std::span<const virtio_pci::QueueSetup> queues) override;
  // GET_VRING_BASE for each started queue, which stops it.
  void reset() override;
  bool failed() const override { return failed_.load(); }

  // Puts the device in the failed state (logged once). The monitor calls it when the socket
  // hangs up while no request is in flight.
  void fail(const std::string& reason);
  std::string failure() const;
  const std::string& name() const { return options_.name; }
  int socket_fd() const { return socket_.get(); }
  // Written by the backend when the guest broke one of its queues (SET_VRING_ERR).
  int error_eventfd() const { return error_eventfd_.get(); }
  // The protocol features both sides agreed on (for tests and logs).
  uint64_t protocol_features() const { return protocol_features_; }

 private:
  VhostUserFrontend(UniqueFd socket, DeviceKind kind, const SharedGuestRam& ram, FrontendOptions options);
  Status handshake();
  Status negotiate_protocol_features(uint64_t backend_features);
  Status read_device_config();
  Status size_net_queues();
  Status send_memory_table();
  Status start_queue(const virtio_pci::QueueSetup& queue);
  // A request with no natural reply: acknowledged when REPLY_ACK was negotiated.
  Status send_maybe_acked(Message request);
  // Wraps a backend error: fails the device and returns the error.
  Status backend_error(const Error& error);

  UniqueFd socket_;
  UniqueFd error_eventfd_;
  const DeviceProfile& profile_;
  SharedGuestRam ram_;
  FrontendOptions options_;
  ReplyChannel channel_;
  uint64_t backend_features_ = 0;
  uint64_t offered_features_ = 0;
  uint64_t protocol_features_ = 0;
  uint64_t backend_queues_ = 1;  // GET_QUEUE_NUM, when MQ was negotiated
  uint16_t num_queues_ = 1;
  std::vector<uint8_t> config_;
  std::vector<uint16_t> started_queues_;
  // "<name>: device failed: <reason>"
  Error failed_error() const;

  std::atomic<bool> failed_{false};
  mutable std::mutex state_mutex_;  // config_ and failure_
  std::string failure_;
};

}  // namespace bulwark::vhost_user
