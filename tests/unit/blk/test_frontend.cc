#include "tests/unit/blk/test_frontend.h"

#include <errno.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <cstring>

#include "devices/vhost_user/channel.h"

namespace bulwark::test {

namespace vu = vhost_user;

namespace {

bool has_reply(vu::Request request) {
  switch (request) {
    case vu::Request::GET_FEATURES:
    case vu::Request::GET_PROTOCOL_FEATURES:
    case vu::Request::GET_VRING_BASE:
    case vu::Request::GET_QUEUE_NUM:
    case vu::Request::GET_CONFIG:
    case vu::Request::GET_MAX_MEM_SLOTS:
      return true;
    default:
      return false;
  }
}

template <typename T>
void store(uint8_t* at, T value) {
  __atomic_store_n(reinterpret_cast<T*>(at), value, __ATOMIC_RELEASE);
}
template <typename T>
T load(const uint8_t* at) {
  return __atomic_load_n(reinterpret_cast<const T*>(at), __ATOMIC_ACQUIRE);
}

}  // namespace

Result<std::unique_ptr<TestFrontend>> TestFrontend::create(UniqueFd socket) {
  UniqueFd memfd(::memfd_create("test-guest-ram", MFD_CLOEXEC));
  if (!memfd.valid()) return Error::from_errno("memfd_create", errno);
  if (::ftruncate(memfd.get(), kMemoryBytes) != 0) return Error::from_errno("ftruncate", errno);
  void* memory = ::mmap(nullptr, kMemoryBytes, PROT_READ | PROT_WRITE, MAP_SHARED, memfd.get(), 0);
  if (memory == MAP_FAILED) return Error::from_errno("mmap", errno);
  return std::unique_ptr<TestFrontend>(
      new TestFrontend(std::move(socket), std::move(memfd), static_cast<uint8_t*>(memory)));
}

TestFrontend::~TestFrontend() { ::munmap(memory_, kMemoryBytes); }

Status TestFrontend::send(const vu::Message& request) { return vu::send_message(socket_.get(), request); }

Result<vu::Message> TestFrontend::call(const vu::Message& request) {
  BULWARK_TRY(send(request));
  const auto code = static_cast<vu::Request>(request.request);
  if (!has_reply(code) && !(request.needs_reply() && reply_ack_)) return vu::Message{};
  auto reply = vu::receive_message_within(socket_.get(), std::chrono::seconds(5));
  if (!reply.ok()) return reply.error();
  BULWARK_TRY(vu::check_reply_to(code, *reply));
  if (!has_reply(code)) {
    auto status = vu::parse_u64(*reply);
    if (!status.ok()) return status.error();
    if (*status != 0) return Error(std::string(vu::request_name(request.request)) + " refused by the backend");
  }
  return reply;
}

Result<uint64_t> TestFrontend::get_u64(vu::Request request) {
  auto reply = call(vu::make_request(request));
  if (!reply.ok()) return reply.error();
  return vu::parse_u64(*reply);
}

Status TestFrontend::start(uint64_t device_features, uint16_t queues) {
  auto offered = get_u64(vu::Request::GET_FEATURES);
  if (!offered.ok()) return offered.error();
  offered_features_ = *offered;
  const uint64_t ring_features = (1ull << 32) | (1ull << 29) | (1ull << 28) | (1ull << 30);
  auto protocol = get_u64(vu::Request::GET_PROTOCOL_FEATURES);
  if (!protocol.ok()) return protocol.error();
  const uint64_t wanted_protocol = (1ull << vu::kProtocolReplyAck) | (1ull << vu::kProtocolConfig) |
                                   (1ull << vu::kProtocolMq);
  BULWARK_TRY(call(vu::make_u64_request(vu::Request::SET_PROTOCOL_FEATURES, *protocol & wanted_protocol)));
  reply_ack_ = (*protocol & (1ull << vu::kProtocolReplyAck)) != 0;
  BULWARK_TRY(call(vu::make_request(vu::Request::SET_OWNER, {}, true)));
  BULWARK_TRY(call(vu::make_u64_request(vu::Request::SET_FEATURES,
                                        *offered & (ring_features | device_features), true)));
  std::vector<UniqueFd> fds;
  fds.emplace_back(::dup(memfd_.get()));
  const vu::MemoryRegion region{0, kMemoryBytes, frontend_address(0), 0};
  BULWARK_TRY(call(vu::make_memory_table_request(std::span(&region, 1), std::move(fds), true)));
  for (uint16_t q = 0; q < queues; ++q) {
    kicks_.emplace_back(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    calls_.emplace_back(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    errs_.emplace_back(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    std::memset(guest(desc_gpa(q)), 0, 0x3000);
    const uint8_t index = static_cast<uint8_t>(q);
    BULWARK_TRY(call(vu::make_vring_state_request(vu::Request::SET_VRING_NUM, {q, kQueueSize}, true)));
    vu::VringAddress address;
    address.index = q;
    address.desc_user_addr = frontend_address(desc_gpa(q));
    address.avail_user_addr = frontend_address(avail_gpa(q));
    address.used_user_addr = frontend_address(used_gpa(q));
    BULWARK_TRY(call(vu::make_vring_address_request(address, true)));
    BULWARK_TRY(call(vu::make_vring_state_request(vu::Request::SET_VRING_BASE, {q, 0}, true)));
    BULWARK_TRY(call(vu::make_vring_fd_request(vu::Request::SET_VRING_CALL, index, UniqueFd(::dup(calls_[q].get())), true)));
    BULWARK_TRY(call(vu::make_vring_fd_request(vu::Request::SET_VRING_ERR, index, UniqueFd(::dup(errs_[q].get())), true)));
    BULWARK_TRY(call(vu::make_vring_fd_request(vu::Request::SET_VRING_KICK, index, UniqueFd(::dup(kicks_[q].get())), true)));
    BULWARK_TRY(call(vu::make_vring_state_request(vu::Request::SET_VRING_ENABLE, {q, 1}, true)));
  }
  return ok_status();
}

uint64_t TestFrontend::allocate(uint64_t bytes) {
  const uint64_t gpa = next_free_;
  next_free_ = (next_free_ + bytes + 15) & ~uint64_t{15};
  return gpa;
}

void TestFrontend::write_descriptor(uint16_t queue, uint16_t index, uint64_t gpa, uint32_t length,
                                    uint16_t flags, uint16_t next) {
  uint8_t* d = guest(desc_gpa(queue) + 16ull * index);
  std::memcpy(d, &gpa, 8);
  std::memcpy(d + 8, &length, 4);
  std::memcpy(d + 12, &flags, 2);
  std::memcpy(d + 14, &next, 2);
}

void TestFrontend::offer(uint16_t queue, uint16_t head) {
  uint8_t* avail = guest(avail_gpa(queue));
  const uint16_t idx = load<uint16_t>(avail + 2);
  store<uint16_t>(avail + 4 + 2 * (idx % kQueueSize), head);
  store<uint16_t>(avail + 2, static_cast<uint16_t>(idx + 1));
}

Status TestFrontend::kick(uint16_t queue) {
  const uint64_t one = 1;
  if (::write(kicks_[queue].get(), &one, sizeof one) != sizeof one) return Error::from_errno("kick", errno);
  return ok_status();
}

uint16_t TestFrontend::used_index(uint16_t queue) { return load<uint16_t>(guest(used_gpa(queue)) + 2); }

bool TestFrontend::wait_eventfd(int fd, std::chrono::milliseconds timeout) {
  pollfd p{fd, POLLIN, 0};
  if (::poll(&p, 1, static_cast<int>(timeout.count())) != 1) return false;
  uint64_t count = 0;
  return ::read(fd, &count, sizeof count) == sizeof count;
}

Result<uint32_t> TestFrontend::submit(uint16_t queue, const std::vector<Buffer>& chain,
                                      std::chrono::milliseconds timeout) {
  if (chain.empty() || chain.size() > kQueueSize) return Error("a chain of 1 to 16 buffers");
  for (size_t i = 0; i < chain.size(); ++i) {
    const bool last = i + 1 == chain.size();
    const uint16_t flags = static_cast<uint16_t>((last ? 0 : 1) | (chain[i].writable ? 2 : 0));
    write_descriptor(queue, static_cast<uint16_t>(i), chain[i].gpa, chain[i].length, flags,
                     static_cast<uint16_t>(i + 1));
  }
  const uint16_t used_before = used_index(queue);
  // EVENT_IDX: ask for an interrupt when this very chain is used.
  store<uint16_t>(guest(avail_gpa(queue)) + 4 + 2 * kQueueSize, used_before);
  offer(queue, 0);
  BULWARK_TRY(kick(queue));
  if (!wait_eventfd(calls_[queue].get(), timeout)) return Error("no call eventfd signal from the backend");
  if (used_index(queue) != static_cast<uint16_t>(used_before + 1)) return Error("the used index did not advance by one");
  const uint8_t* element = guest(used_gpa(queue)) + 4 + 8 * (used_before % kQueueSize);
  if (load<uint32_t>(element) != 0) return Error("the used element names another head");
  return load<uint32_t>(element + 4);
}

}  // namespace bulwark::test
