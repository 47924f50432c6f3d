// What a frontend and a guest do to a backend, with no monitor and no KVM: guest RAM in a
// memfd shared over SET_MEM_TABLE, split rings the test writes itself, eventfd kicks and calls,
// all driven with the real codec over a socketpair. Self-contained so the backend's tests do
// not depend on any device's test helpers.
#pragma once

#include <chrono>
#include <cstdint>
#include <span>
#include <vector>

#include "bulwark/common/result.h"
#include "bulwark/common/unique_fd.h"
#include "devices/vhost_user/protocol.h"

namespace bulwark::backend::test {

class RingHarness {
 public:
  static constexpr uint64_t kMemoryBytes = 1 << 20;
  static constexpr uint16_t kQueueSize = 8;

  // Guest memory mapped here; `socket` is the frontend end of the connection.
  static Result<RingHarness> create(UniqueFd socket);
  RingHarness(RingHarness&&) noexcept;
  RingHarness& operator=(RingHarness&&) = delete;
  ~RingHarness();

  // Sends a request; call() also waits (bounded) for its reply and checks it answers it.
  Status send(const vhost_user::Message& request);
  // Raw bytes on the socket (a frontend that breaks off mid-message).
  Status send_bytes(std::span<const uint8_t> bytes);
  Result<vhost_user::Message> receive(std::chrono::milliseconds timeout = std::chrono::seconds(5));
  Result<vhost_user::Message> call(const vhost_user::Message& request);
  Result<uint64_t> get_u64(vhost_user::Request request);
  // A REPLY_ACK status (0 success) for a request sent with NEED_REPLY.
  Result<uint64_t> acked(vhost_user::Message request);

  // SET_MEM_TABLE with the memfd; then ring `queue` set up (num, addr, base, call) but with no
  // kick fd yet; set_kick() hands it over.
  Status share_memory();
  Status set_up_ring(uint16_t queue, uint16_t base = 0);
  // The ring's size, addresses, `base` and call fd sent again, the guest's rings left as they
  // are: what a frontend does for a replacement device process.
  Status describe_ring(uint16_t queue, uint16_t base);
  // The connection to a replacement device process; guest memory and rings stay.
  void replace_socket(UniqueFd socket) { socket_ = std::move(socket); }
  Status set_kick(uint16_t queue);

  // Guest side: buffer `gpa` with `bytes` readable then `reply_bytes` writable, offered as one
  // chain; kick() writes the kick eventfd.
  void offer(uint16_t queue, uint64_t gpa, std::span<const uint8_t> bytes, uint32_t reply_bytes);
  void kick(uint16_t queue);
  // Whether the call eventfd fired within `timeout` (drained).
  bool called(uint16_t queue, std::chrono::milliseconds timeout = std::chrono::seconds(5));
  uint16_t used_index(uint16_t queue) const;
  struct UsedElement {
    uint32_t id;
    uint32_t length;
  };
  UsedElement used_element(uint16_t queue, uint16_t slot) const;
  uint8_t* guest(uint64_t gpa) { return memory_ + gpa; }
  void hang_up() { socket_.reset(); }

  static uint64_t desc_gpa(uint16_t q) { return 0x4000ull * q; }
  static uint64_t avail_gpa(uint16_t q) { return desc_gpa(q) + 0x1000; }
  static uint64_t used_gpa(uint16_t q) { return desc_gpa(q) + 0x2000; }
  static constexpr uint64_t kBuffers = 0x80000;

 private:
  RingHarness(UniqueFd socket, UniqueFd memfd, uint8_t* memory);
  uint64_t frontend_address(uint64_t gpa) const { return reinterpret_cast<uint64_t>(memory_) + gpa; }

  UniqueFd socket_;
  UniqueFd memfd_;
  uint8_t* memory_;
  std::vector<UniqueFd> kicks_;
  std::vector<UniqueFd> calls_;
  std::vector<uint16_t> next_descriptor_;
};

}  // namespace bulwark::backend::test
