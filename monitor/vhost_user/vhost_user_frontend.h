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
// Replacement (issue 18): when the backend offers INFLIGHT_SHMFD the frontend keeps the
// in-flight record (inflight_region.h) the device process fills. A device that loses its
// process (its socket hangs up) is then "disconnected", not failed: nothing is sent, the guest's
// requests wait in its rings, and the calls that need a round trip are kept to be replayed
// (activate, a configuration write) or done locally (reset). reconnect() gives it a replacement
// process: the handshake again (the same features, or it fails), the memory table, the record,
// and every started queue at the used ring's index, so the replacement resubmits what its
// predecessor took and did not complete, and goes on from there. A device without the record
// fails at the hang-up as before.
//
// Threads: the calls that make round trips (activate, reset, write_config, reconnect) are
// serialised by the frontend's own round-trip lock (the transport's backend lock already orders
// the first three; reconnect comes from the main thread). read_config, failed(), fail() and
// disconnect() may run at the same time from other threads (vCPU exits, the main thread's
// watch): the cached configuration and the failure reason have their own small lock.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "bulwark/common/result.h"
#include "bulwark/common/unique_fd.h"
#include "monitor/vhost_user/device_profile.h"
#include "monitor/vhost_user/inflight_region.h"
#include "monitor/vhost_user/reply_channel.h"
#include "monitor/vhost_user/shared_guest_ram.h"
#include "monitor/virtio_pci/virtio_backend.h"

namespace bulwark::vhost_user {

struct FrontendOptions {
  std::string name = "vhost-user device";  // for log lines: "vhost-user-blk 0 (/run/blk.sock)"
  std::chrono::milliseconds reply_timeout{5000};
  // Whether someone may hand over a replacement device process (a launcher on the control
  // channel). Without one, a lost process fails the device at once: waiting would hang the
  // guest's requests for good.
  bool replacement_possible = false;
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
  // GET_VRING_BASE for each started queue, which stops it. The in-flight record is dropped:
  // the guest's next start has fresh rings, so the next activate asks for a fresh record.
  void reset() override;
  bool failed() const override { return failed_.load(); }

  // Puts the device in the failed state (logged once).
  void fail(const std::string& reason);
  // The device process went away (its socket hung up). With an in-flight record to hand over
  // (INFLIGHT_SHMFD negotiated) the device waits for reconnect() and this returns true; without
  // one it fails with `reason` and this returns false.
  bool disconnect(const std::string& reason);
  bool disconnected() const { return disconnected_.load(); }
  // A replacement process on `socket` (connected, its handshake not yet done) for a device
  // whose process went away (disconnected, or its socket hung up but not yet noticed). On any
  // error (a device that is not waiting excepted) the device fails.
  Status reconnect(UniqueFd socket);
  std::string failure() const;
  const std::string& name() const { return options_.name; }
  int socket_fd() const { return socket_.get(); }
  // Written by the backend when the guest broke one of its queues (SET_VRING_ERR).
  int error_eventfd() const { return error_eventfd_.get(); }
  // The protocol features both sides agreed on (for tests and logs).
  uint64_t protocol_features() const { return protocol_features_; }
  // The in-flight record's fd, -1 when there is none (tests map it to look at it).
  int inflight_fd() const { return inflight_ ? inflight_->fd() : -1; }

 private:
  VhostUserFrontend(UniqueFd socket, DeviceKind kind, const SharedGuestRam& ram, FrontendOptions options);
  Status handshake();
  Status negotiate_protocol_features(uint64_t backend_features);
  Status read_device_config();
  Status size_net_queues();
  Status send_memory_table();
  // One queue the guest started: its setup and the monitor's own copies of its eventfds (the
  // transport's close at its reset), so a replacement process gets the same ones.
  struct StartedQueue {
    virtio_pci::QueueSetup setup;
    UniqueFd kick;
    UniqueFd call;
  };
  // SET_FEATURES, the in-flight record (asked for, or handed over) and every started queue at
  // `base` (0 at activate; the used ring's idx for a replacement).
  Status start_queues(bool from_used_index);
  Status send_inflight_record();
  Status start_queue(const StartedQueue& queue, uint16_t base);
  // The used ring's idx of a started queue, read from guest RAM.
  Result<uint16_t> used_index(const StartedQueue& queue) const;
  // reconnect's handshake: the replacement must offer what its predecessor did.
  Status replay_handshake();
  Status replay_config();
  // Whether the device process is gone: its socket hung up (never with a fuzz transport).
  bool process_gone() const;
  // A round trip failed: the device waits for a replacement if its process is gone and the
  // record allows (returns true), else it fails (returns false).
  bool lost_or_failed(const Error& error);
  // A request with no natural reply: acknowledged when REPLY_ACK was negotiated.
  Status send_maybe_acked(Message request);

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
  // What the guest started (kept while disconnected, to be replayed), and the features of that
  // start; both cleared at reset.
  std::vector<StartedQueue> started_queues_;
  std::optional<uint64_t> started_features_;
  std::optional<InflightRegion> inflight_;
  bool writeback_written_ = false;  // a guest's SET_CONFIG to replay for a replacement
  // "<name>: device failed: <reason>"
  Error failed_error() const;

  std::atomic<bool> failed_{false};
  std::atomic<bool> disconnected_{false};
  std::mutex round_trip_mutex_;  // activate, reset, write_config, reconnect
  mutable std::mutex state_mutex_;  // config_ and failure_
  std::string failure_;
};

}  // namespace bulwark::vhost_user
