#include "tests/unit/backend/ring_harness.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "devices/vhost_user/channel.h"

namespace bulwark::backend::test {

namespace vu = vhost_user;

namespace {

constexpr uint16_t kNext = 1;
constexpr uint16_t kWrite = 2;

template <typename T>
void store(uint8_t* at, T value) {
  std::memcpy(at, &value, sizeof value);
}

template <typename T>
T load(const uint8_t* at) {
  T value;
  std::memcpy(&value, at, sizeof value);
  return value;
}

}  // namespace

RingHarness::RingHarness(UniqueFd socket, UniqueFd memfd, uint8_t* memory)
    : socket_(std::move(socket)), memfd_(std::move(memfd)), memory_(memory) {}

RingHarness::RingHarness(RingHarness&& other) noexcept
    : socket_(std::move(other.socket_)),
      memfd_(std::move(other.memfd_)),
      memory_(std::exchange(other.memory_, nullptr)),
      kicks_(std::move(other.kicks_)),
      calls_(std::move(other.calls_)),
      next_descriptor_(std::move(other.next_descriptor_)) {}

RingHarness::~RingHarness() {
  if (memory_ != nullptr) ::munmap(memory_, kMemoryBytes);
}

Result<RingHarness> RingHarness::create(UniqueFd socket) {
  UniqueFd memfd(::memfd_create("ring-harness-guest", MFD_CLOEXEC));
  if (!memfd.valid()) return Error::from_errno("memfd_create", errno);
  if (::ftruncate(memfd.get(), kMemoryBytes) != 0) return Error::from_errno("ftruncate", errno);
  void* memory = ::mmap(nullptr, kMemoryBytes, PROT_READ | PROT_WRITE, MAP_SHARED, memfd.get(), 0);
  if (memory == MAP_FAILED) return Error::from_errno("mmap", errno);
  return RingHarness(std::move(socket), std::move(memfd), static_cast<uint8_t*>(memory));
}

Status RingHarness::send(const vu::Message& request) { return vu::send_message(socket_.get(), request); }

Status RingHarness::send_bytes(std::span<const uint8_t> bytes) {
  if (::write(socket_.get(), bytes.data(), bytes.size()) != static_cast<ssize_t>(bytes.size())) {
    return Error::from_errno("write to the backend", errno);
  }
  return ok_status();
}

Result<vu::Message> RingHarness::receive(std::chrono::milliseconds timeout) {
  return vu::receive_message_within(socket_.get(), timeout);
}

Result<vu::Message> RingHarness::call(const vu::Message& request) {
  BULWARK_TRY(send(request));
  auto reply = receive();
  if (!reply.ok()) return reply.error();
  BULWARK_TRY(vu::check_reply_to(static_cast<vu::Request>(request.request), *reply));
  return std::move(*reply);
}

Result<uint64_t> RingHarness::get_u64(vu::Request request) {
  auto reply = call(vu::make_request(request));
  if (!reply.ok()) return reply.error();
  return vu::parse_u64(*reply);
}

Result<uint64_t> RingHarness::acked(vu::Message request) {
  request.flags |= vu::kNeedReplyFlag;
  auto reply = call(request);
  if (!reply.ok()) return reply.error();
  return vu::parse_u64(*reply);
}

Status RingHarness::share_memory() {
  std::vector<UniqueFd> fds;
  fds.emplace_back(::dup(memfd_.get()));
  const vu::MemoryRegion region{0, kMemoryBytes, frontend_address(0), 0};
  return send(vu::make_memory_table_request(std::span(&region, 1), std::move(fds)));
}

Status RingHarness::set_up_ring(uint16_t queue, uint16_t base) {
  while (kicks_.size() <= queue) {
    kicks_.emplace_back(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    calls_.emplace_back(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    next_descriptor_.push_back(0);
  }
  std::memset(guest(desc_gpa(queue)), 0, 0x3000);
  // The guest's indexes continue from `base`, as after a stop and restart.
  store<uint16_t>(guest(avail_gpa(queue) + 2), base);
  store<uint16_t>(guest(used_gpa(queue) + 2), base);
  return describe_ring(queue, base);
}

Status RingHarness::describe_ring(uint16_t queue, uint16_t base) {
  BULWARK_TRY(send(vu::make_vring_state_request(vu::Request::SET_VRING_NUM, {queue, kQueueSize})));
  vu::VringAddress address;
  address.index = queue;
  address.desc_user_addr = frontend_address(desc_gpa(queue));
  address.avail_user_addr = frontend_address(avail_gpa(queue));
  address.used_user_addr = frontend_address(used_gpa(queue));
  BULWARK_TRY(send(vu::make_vring_address_request(address)));
  BULWARK_TRY(send(vu::make_vring_state_request(vu::Request::SET_VRING_BASE, {queue, base})));
  const auto index = static_cast<uint8_t>(queue);
  return send(vu::make_vring_fd_request(vu::Request::SET_VRING_CALL, index, UniqueFd(::dup(calls_[queue].get()))));
}

Status RingHarness::set_kick(uint16_t queue) {
  const auto index = static_cast<uint8_t>(queue);
  return send(vu::make_vring_fd_request(vu::Request::SET_VRING_KICK, index, UniqueFd(::dup(kicks_[queue].get()))));
}

void RingHarness::offer(uint16_t queue, uint64_t gpa, std::span<const uint8_t> bytes, uint32_t reply_bytes) {
  std::memcpy(guest(gpa), bytes.data(), bytes.size());
  const uint16_t head = next_descriptor_[queue];
  const uint16_t second = static_cast<uint16_t>((head + 1) % kQueueSize);
  next_descriptor_[queue] = static_cast<uint16_t>((head + 2) % kQueueSize);
  uint8_t* first = guest(desc_gpa(queue) + 16ull * head);
  store<uint64_t>(first, gpa);
  store<uint32_t>(first + 8, static_cast<uint32_t>(bytes.size()));
  store<uint16_t>(first + 12, kNext);
  store<uint16_t>(first + 14, second);
  uint8_t* reply = guest(desc_gpa(queue) + 16ull * second);
  store<uint64_t>(reply, gpa + bytes.size());
  store<uint32_t>(reply + 8, reply_bytes);
  store<uint16_t>(reply + 12, kWrite);
  store<uint16_t>(reply + 14, 0);
  const uint16_t avail = load<uint16_t>(guest(avail_gpa(queue) + 2));
  store<uint16_t>(guest(avail_gpa(queue) + 4 + 2ull * (avail % kQueueSize)), head);
  // The used_event (event index) asks for an interrupt for every buffer.
  store<uint16_t>(guest(avail_gpa(queue) + 4 + 2ull * kQueueSize), avail);
  __atomic_thread_fence(__ATOMIC_RELEASE);
  store<uint16_t>(guest(avail_gpa(queue) + 2), static_cast<uint16_t>(avail + 1));
}

void RingHarness::kick(uint16_t queue) {
  const uint64_t one = 1;
  [[maybe_unused]] ssize_t n = ::write(kicks_[queue].get(), &one, sizeof one);
}

bool RingHarness::called(uint16_t queue, std::chrono::milliseconds timeout) {
  pollfd ready{calls_[queue].get(), POLLIN, 0};
  if (::poll(&ready, 1, static_cast<int>(timeout.count())) != 1) return false;
  uint64_t count = 0;
  return ::read(calls_[queue].get(), &count, sizeof count) == sizeof count && count > 0;
}

uint16_t RingHarness::used_index(uint16_t queue) const {
  __atomic_thread_fence(__ATOMIC_ACQUIRE);
  return load<uint16_t>(memory_ + used_gpa(queue) + 2);
}

RingHarness::UsedElement RingHarness::used_element(uint16_t queue, uint16_t slot) const {
  const uint8_t* at = memory_ + used_gpa(queue) + 4 + 8ull * (slot % kQueueSize);
  return {load<uint32_t>(at), load<uint32_t>(at + 4)};
}

}  // namespace bulwark::backend::test
