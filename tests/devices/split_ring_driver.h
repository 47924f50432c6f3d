// A guest-less virtio-net driver for tests that drive the monitor's own vhost-user frontend
// (VhostUserFrontend) with no KVM: guest RAM is a memfd mapped in the test (GuestRam, handed to
// the frontend as SharedGuestRam), and NetDriver lays out split rings in it, offers buffers and
// reads back what the device used, as a guest's driver would. QueueSetup carries the ring
// addresses and eventfds the virtio-pci transport would hand over at DRIVER_OK.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <utility>
#include <vector>

#include "bulwark/common/result.h"
#include "bulwark/common/unique_fd.h"
#include "monitor/vhost_user/shared_guest_ram.h"
#include "monitor/virtio_pci/virtio_backend.h"

namespace bulwark::test {

inline constexpr size_t kVnetHeaderBytes = 12;  // virtio_net_hdr_v1 with num_buffers (VERSION_1)

// How long until `deadline` (negative once it passed).
std::chrono::milliseconds milliseconds_until(std::chrono::steady_clock::time_point deadline);

// Guest RAM as the monitor has it: one memfd, mapped here, as two regions on either side of
// 4 GiB (RAM below the MMIO hole and above it), so ring and buffer addresses go through the
// frontend's and the device's translation of both.
class GuestRam {
 public:
  static constexpr uint64_t kRegionBytes = 512 << 10;
  static constexpr uint64_t kHighGpa = 0x100000000ULL;

  static Result<std::unique_ptr<GuestRam>> create();
  ~GuestRam();
  GuestRam(const GuestRam&) = delete;
  GuestRam& operator=(const GuestRam&) = delete;

  const vhost_user::SharedGuestRam& shared() const { return shared_; }
  // The test's (the monitor's) view of [gpa, gpa+length); the tests only ask for what exists
  // (a gtest failure otherwise).
  uint8_t* at(uint64_t gpa, uint64_t length = 1);

 private:
  GuestRam(UniqueFd memfd, uint8_t* base);
  UniqueFd memfd_;
  uint8_t* base_;
  vhost_user::SharedGuestRam shared_;
};

// The guest's virtio-net driver, cut down to what the tests need: a split ring of kQueueSize
// entries per queue (descriptor table, available ring, used ring: virtio 1.x 2.7), one kick and
// one call eventfd per queue, as the transport would own them. Queue 0's and 1's rings are below
// 4 GiB, the others' above; TX and control buffers below, RX buffers above.
class NetDriver {
 public:
  static constexpr uint16_t kQueueSize = 16;
  static constexpr uint16_t kDescNext = 1, kDescWrite = 2;

  NetDriver(GuestRam& ram, uint16_t queues);

  // What the transport hands the frontend at DRIVER_OK: every queue, enabled.
  std::vector<virtio_pci::QueueSetup> setups() const;

  // A driver setting the device up again after a reset: zeroed rings, its indices from 0.
  void clear_rings();

  // One TX chain on queue `tx`: a plain 12-byte vnet header, then the frame. Offered and
  // kicked; the used index that will mean the device returned it.
  Result<uint16_t> post_tx(uint16_t tx, std::span<const uint8_t> frame);
  // post_tx, then waits until the device returned the chain and signalled the call eventfd.
  // The used length.
  Result<uint32_t> send(uint16_t tx, std::span<const uint8_t> frame);

  // Offers `count` RX buffers of `size` bytes on queue `rx` (each a one-descriptor chain) and kicks.
  Status post_rx(uint16_t rx, uint16_t count, uint32_t size);

  // The next packet (vnet header + frame) from the num_buffers used RX buffers it took, which
  // are offered again.
  Result<std::vector<uint8_t>> receive(uint16_t rx, std::chrono::milliseconds timeout);

  // One control command (class, command, data) on queue `ctrl`: the ack byte the device wrote.
  Result<uint8_t> control(uint16_t ctrl, std::span<const uint8_t> command);

  void write_descriptor(uint16_t q, uint16_t i, uint64_t gpa, uint32_t length, uint16_t flags, uint16_t next);
  // Puts `head` in the available ring and publishes the new index (release: the descriptors first).
  void offer(uint16_t q, uint16_t head);
  Status kick(uint16_t q);
  uint16_t used_idx(uint16_t q);
  // Used element n (the n-th the device returned): head and length.
  std::pair<uint32_t, uint32_t> used_element(uint16_t q, uint16_t n);

  // Waits until queue q's used index reaches `target` and the device signalled the call
  // eventfd for it (no EVENT_IDX, no NO_INTERRUPT: every used buffer must come with an
  // interrupt, or a guest would never look).
  Status wait_used(uint16_t q, uint16_t target, std::chrono::milliseconds timeout);

 private:
  static bool drain(int fd);
  struct Queue {
    uint64_t desc = 0, avail = 0, used = 0;
    UniqueFd kick, call;
    uint16_t avail_idx = 0;
    uint16_t announced = 0;  // the used index as of the last call
    uint16_t rx_seen = 0;    // used RX entries consumed
    uint64_t rx_area = 0;
    uint32_t rx_size = 0;
  };
  GuestRam& ram_;
  std::vector<Queue> queues_;
};

}  // namespace bulwark::test
