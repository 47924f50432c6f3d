// A minimal vhost-user frontend for tests: guest memory in a memfd it shares with the backend,
// split rings it writes itself, eventfd kicks and calls. Drives a backend in a thread or a
// real device process the way the monitor would, with no guest and no KVM.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "bulwark/common/result.h"
#include "bulwark/common/unique_fd.h"
#include "devices/vhost_user/protocol.h"

namespace bulwark::test {

class TestFrontend {
 public:
  static constexpr uint64_t kMemoryBytes = 4 << 20;
  static constexpr uint64_t kDataStart = 0x100000;  // buffers are handed out from here
  static constexpr uint16_t kQueueSize = 16;

  // Guest memory (a memfd, mapped here too) for a backend on `socket`.
  static Result<std::unique_ptr<TestFrontend>> create(UniqueFd socket);
  ~TestFrontend();
  TestFrontend(const TestFrontend&) = delete;
  TestFrontend& operator=(const TestFrontend&) = delete;

  // Sends `request` and, when it has one, returns the reply (checked to answer it).
  Status send(const vhost_user::Message& request);
  Result<vhost_user::Message> call(const vhost_user::Message& request);
  Result<uint64_t> get_u64(vhost_user::Request request);

  // The whole set-up a monitor does: features (all offered ring features and
  // `device_features`), protocol features, owner, memory table, then `queues` rings started.
  Status start(uint64_t device_features, uint16_t queues = 1);
  uint64_t offered_features() const { return offered_features_; }

  // Guest memory.
  uint8_t* guest(uint64_t gpa) { return memory_ + gpa; }
  uint64_t allocate(uint64_t bytes);  // 16-byte aligned, never reused

  struct Buffer {
    uint64_t gpa;
    uint32_t length;
    bool writable;
  };
  // Offers one chain on `queue`, kicks, waits for the call eventfd and returns the used
  // length of the chain (an Error if no answer came in time).
  Result<uint32_t> submit(uint16_t queue, const std::vector<Buffer>& chain,
                          std::chrono::milliseconds timeout = std::chrono::seconds(5));
  // Writes a raw descriptor / offers a head without kicking (hostile-guest tests).
  void write_descriptor(uint16_t queue, uint16_t index, uint64_t gpa, uint32_t length, uint16_t flags,
                        uint16_t next);
  void offer(uint16_t queue, uint16_t head);
  Status kick(uint16_t queue);
  // Whether the eventfd fired within `timeout`, draining it.
  static bool wait_eventfd(int fd, std::chrono::milliseconds timeout);

  int call_fd(uint16_t queue) const { return calls_[queue].get(); }
  int err_fd(uint16_t queue) const { return errs_[queue].get(); }
  uint16_t used_index(uint16_t queue);
  int socket() const { return socket_.get(); }
  void close_socket() { socket_.reset(); }

  // Where queue q's rings are (guest-physical).
  static uint64_t desc_gpa(uint16_t q) { return 0x10000ull * q; }
  static uint64_t avail_gpa(uint16_t q) { return desc_gpa(q) + 0x1000; }
  static uint64_t used_gpa(uint16_t q) { return desc_gpa(q) + 0x2000; }

 private:
  TestFrontend(UniqueFd socket, UniqueFd memfd, uint8_t* memory)
      : socket_(std::move(socket)), memfd_(std::move(memfd)), memory_(memory) {}
  uint64_t frontend_address(uint64_t gpa) const { return reinterpret_cast<uint64_t>(memory_) + gpa; }

  UniqueFd socket_;
  UniqueFd memfd_;
  uint8_t* memory_;
  uint64_t next_free_ = kDataStart;
  uint64_t offered_features_ = 0;
  bool reply_ack_ = false;
  std::vector<UniqueFd> kicks_;
  std::vector<UniqueFd> calls_;
  std::vector<UniqueFd> errs_;
};

}  // namespace bulwark::test
