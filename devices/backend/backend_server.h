// The device side of vhost-user: answers a frontend's messages for one VirtioDevice and runs
// its queues from the kick eventfds (epoll), signalling the call eventfds. Every message is
// untrusted; a malformed one ends the session with an Error that names the request. A queue
// the guest breaks is stopped (and reported on its ERR eventfd) while the others carry on.
// Queues are served in bounded batches (kChainsPerTurn), round-robin with the socket.
// With polling on (set_poll_max), the loop busy-polls the running rings' available indexes for
// an adaptive window (poll_window.h) before it blocks: a request the guest posts meanwhile is
// served without waiting for its kick to wake the process. The launcher's Pause (control
// channel) stops the loop taking from any ring until Resume.
//
// Syscalls it makes while serving (for the device processes' seccomp policies): epoll_create1,
// epoll_ctl, epoll_wait, recvmsg, sendmsg (also the control channel's), read and write (eventfds, log lines on stderr),
// fcntl (F_GETFL/F_SETFL on received eventfds), fstat, mmap and munmap (guest memory), close;
// memfd_create and ftruncate (the in-flight record, GET_INFLIGHT_FD);
// plus whatever the allocator needs (brk/mmap/munmap).
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <optional>
#include <vector>

#include "bulwark/common/result.h"
#include "bulwark/common/unique_fd.h"
#include "devices/backend/feature_bits.h"
#include "devices/backend/inflight_mapping.h"
#include "devices/inflight/split_inflight.h"
#include "devices/backend/poll_window.h"
#include "devices/backend/virtio_device.h"
#include "devices/vhost_user/protocol.h"
#include "devices/virtio/mapped_memory.h"
#include "devices/virtio/split_queue.h"

namespace bulwark::backend {

class BackendServer : private DeviceEvents {
 public:
  // The most chains one queue is served in one turn of the event loop. After a turn the loop
  // looks at the vhost-user socket (one message) and gives every other queue with work its
  // turn before it comes back, so a guest that keeps a queue full from one vCPU can delay a
  // frontend request by at most one batch per queue, never starve it.
  static constexpr uint32_t kChainsPerTurn = 32;

  // `chains_per_turn` (at least 1) is kChainsPerTurn but for tests of the batching itself.
  BackendServer(UniqueFd connected_socket, VirtioDevice& device, uint32_t chains_per_turn = kChainsPerTurn);

  // Serves until the frontend disconnects (Ok) or breaks the protocol (Error, also logged).
  Status run();

  // The longest the loop busy-polls the rings before it blocks (the operator's --poll-us);
  // 0 (the default) never polls. Before run().
  void set_poll_max(std::chrono::nanoseconds max) { poll_ = PollWindow(max); }
  // The launcher's control channel (--control-fd): fixed-size commands (control_message.h)
  // served between requests, answered on the same socket. Before run().
  void set_control_channel(UniqueFd control) { control_ = std::move(control); }
  // While polling keeps finding work, the loop skips epoll_wait for at most this many turns
  // in a row: the socket, the device's fds and the (unread) kicks are still looked at.
  static constexpr uint32_t kPolledTurnsPerLook = 8;

  // The most memory slots a SET_MEM_TABLE may carry (GET_MAX_MEM_SLOTS).
  static constexpr uint64_t kMaxMemSlots = vhost_user::kMaxMemoryRegions;
  // GET_PROTOCOL_FEATURES: multiqueue, REPLY_ACK, the config space messages and the in-flight
  // record (INFLIGHT_SHMFD: a replacement process resubmits what this one had taken).
  static constexpr uint64_t kOfferedProtocolFeatures = feature_bit(vhost_user::kProtocolMq) |
                                                       feature_bit(vhost_user::kProtocolReplyAck) |
                                                       feature_bit(vhost_user::kProtocolConfig) |
                                                       feature_bit(vhost_user::kProtocolInflightShmfd);

 private:
  using Clock = std::chrono::steady_clock;
  // One virtqueue as the frontend set it up.
  struct Vring {
    uint16_t size = 0;
    std::optional<vhost_user::VringAddress> address;
    uint16_t base = 0;
    UniqueFd kick;
    UniqueFd call;
    UniqueFd err;
    bool enabled = false;
    bool failed = false;
    // Work may be waiting: a kick arrived (its eventfd already drained), the ring just
    // started, or the last turn used its whole batch. Cleared when a turn finds it empty.
    bool pending = false;
    std::optional<virtio::SplitQueue> queue;  // present while the ring runs
    // This ring's in-flight record, while the ring runs and the frontend gave one.
    std::optional<inflight::SplitQueueRecord> record;
    // This process attached this ring's record before: a written record is then its own, not
    // a predecessor's (a ring stopped and restarted within one process).
    bool record_attached_before = false;
    // The available ring's index in guest memory (valid while `queue` is), for polling.
    const uint16_t* avail_index = nullptr;
    // Polling looks for the available index moving past this: where the device stopped taking
    // chains (next_avail, or further when it left some on the ring, e.g. throttled).
    uint16_t polled_from = 0;
  };

  Status handle(vhost_user::Message& message);
  // Replies with the status of a request when the frontend asked for one (REPLY_ACK).
  Status acknowledge(const vhost_user::Message& message, const Status& outcome);
  // Marks `error` as a malformed message: it ends the session even under REPLY_ACK.
  Error malformed(const Error& error);

  Status set_features(const vhost_user::Message& message);
  Status set_protocol_features(const vhost_user::Message& message);
  Status set_mem_table(const vhost_user::Message& message);
  Status set_vring_num(const vhost_user::Message& message);
  Status set_vring_addr(const vhost_user::Message& message);
  Status set_vring_base(const vhost_user::Message& message);
  Status get_vring_base(const vhost_user::Message& message);
  Status set_vring_fd(vhost_user::Message& message);
  Status set_vring_enable(const vhost_user::Message& message);
  Status get_config(const vhost_user::Message& message);
  Status get_inflight_fd(const vhost_user::Message& message);
  Status set_inflight_fd(const vhost_user::Message& message);
  // Gives ring `index` (just created) its in-flight record: a fresh one is set up; one a
  // predecessor left is checked and its requests queued for resubmission. An Error fails the
  // queue (the record was not made for it, or was scribbled on).
  Status attach_in_flight(uint16_t index);
  Status set_config(const vhost_user::Message& message);

  Result<Vring*> vring_at(const vhost_user::Message& message, uint64_t index);
  // Starts ring `index` when it has everything it needs; stops it otherwise.
  Status refresh(uint16_t index);
  void stop(uint16_t index);
  // Every ring stopped and forgotten, memory unmapped, features cleared (RESET_OWNER).
  void reset();
  // A kick: drains the eventfd and marks the queue pending; the loop serves it.
  void serve_kick(uint16_t index);
  // One turn of ring `index`: at most chains_per_turn_ chains, then the call eventfd if the
  // guest wants it. The queue stays pending while a turn uses its whole batch.
  // Returns how many chains it served.
  uint32_t serve_batch(uint16_t index);
  bool any_pending() const;
  // One turn of every pending queue; whether any served a chain.
  bool serve_pending();
  // Work came: the idle spell (if one was running) ends and sizes the next poll window.
  void end_idle();
  // Polls the running rings until one's available index moves (marks it pending, true) or
  // the window ends (false).
  bool poll_rings(Clock::time_point deadline);
  uint16_t read_avail_index(const Vring& vring) const;
  void fail_queue(uint16_t index, const Error& why);
  // One command from the control channel: decoded, handed to the device, answered. A command
  // that does not decode is answered kMalformed; a closed channel is dropped (the device
  // serves on without it).
  void serve_control();
  // Pause and Resume (handled here, for every device): while paused no ring is served and the
  // rings are not polled; kicks and device events still mark queues pending, served on Resume.
  devctl::ControlReply set_paused(bool paused);
  bool protocol_features_negotiated() const;
  // DeviceEvents, for the device's own fds.
  Status watch(int fd, uint32_t events, uint32_t token) override;
  void unwatch(int fd) override;
  void wake_queue(uint16_t index) override;

  UniqueFd socket_;
  UniqueFd control_;
  UniqueFd epoll_;
  VirtioDevice& device_;
  uint64_t offered_features_;
  uint64_t acked_features_ = 0;
  uint64_t acked_protocol_features_ = 0;
  bool features_set_ = false;
  bool fatal_ = false;
  uint32_t chains_per_turn_;
  std::optional<virtio::MappedGuestMemory> memory_;
  std::optional<InflightMapping> inflight_;  // GET_INFLIGHT_FD's or SET_INFLIGHT_FD's record
  std::vector<Vring> vrings_;
  PollWindow poll_{std::chrono::nanoseconds{0}};
  std::optional<Clock::time_point> idle_since_;  // set while the loop has found no work
  uint32_t polled_turns_ = 0;  // turns in a row served from polling without epoll_wait
  bool paused_ = false;  // the launcher's Pause, until its Resume
  bool predecessor_reported_ = false;  // device_.predecessor_served() was called
};

}  // namespace bulwark::backend
