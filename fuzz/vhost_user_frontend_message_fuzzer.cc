// vhost-user messages as a backend receives them from a (hostile) frontend. Input: byte 0
// says how many fds ride on the stream (0-10, more than the protocol's 8 on purpose); the
// rest is the byte stream itself, written to a real unix socketpair whose far end then hangs
// up. Every message receive_message yields goes through check_header, the parser the backend
// uses for its request, and every other parser; whatever a parser accepts must be
// self-consistent. Nothing may crash, leak an fd or allocate past the protocol's limits.
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "bulwark/common/unique_fd.h"
#include "devices/vhost_user/channel.h"
#include "devices/vhost_user/protocol.h"

namespace {

using namespace bulwark::vhost_user;

constexpr size_t kMaxFuzzFds = 10;
constexpr size_t kMaxMessages = 16;

void check_u64(const Message& m) {
  auto value = parse_u64(m);
  if (value.ok() && (m.payload.size() != 8 || !m.fds.empty())) std::abort();
}

void check_vring_state(const Message& m) {
  auto state = parse_vring_state(m);
  if (state.ok() && (m.payload.size() != 8 || !m.fds.empty())) std::abort();
}

void check_vring_address(const Message& m) {
  auto address = parse_vring_address(m);
  if (address.ok() && (m.payload.size() != 40 || !m.fds.empty())) std::abort();
}

void check_memory_table(const Message& m) {
  auto table = parse_memory_table(m);
  if (!table.ok()) return;
  if (table->empty() || table->size() > kMaxMemoryRegions || table->size() != m.fds.size()) std::abort();
  for (const MemoryRegion& region : *table) {
    if (region.memory_size == 0) std::abort();
    if (region.guest_phys_addr + region.memory_size < region.guest_phys_addr) std::abort();
    if (region.userspace_addr + region.memory_size < region.userspace_addr) std::abort();
    if (region.mmap_offset + region.memory_size < region.mmap_offset) std::abort();
  }
}

void check_vring_fd(const Message& m) {
  auto vring = parse_vring_fd(m);
  if (!vring.ok()) return;
  if (vring->no_fd != (vring->fd == -1)) std::abort();
  if (vring->no_fd ? !m.fds.empty() : (m.fds.size() != 1 || vring->fd != m.fds[0].get())) std::abort();
}

void check_device_config(const Message& m) {
  auto config = parse_device_config(m);
  if (!config.ok()) return;
  if (config->size > kMaxConfigSize || config->bytes.size() != config->size) std::abort();
  if (uint64_t{config->offset} + config->size > kMaxConfigSize) std::abort();
}

// The parser the backend applies to each request, then all of them (a confused peer may send
// any payload under any code).
void check_message(const Message& m) {
  (void)request_name(m.request);
  const bool header_ok = check_header(m).ok();
  if (header_ok && (m.flags & kVersionMask) != kVersion1) std::abort();
  switch (static_cast<Request>(m.request)) {
    case Request::SET_FEATURES:
    case Request::SET_PROTOCOL_FEATURES:
      check_u64(m);
      break;
    case Request::SET_VRING_NUM:
    case Request::SET_VRING_BASE:
    case Request::GET_VRING_BASE:
    case Request::SET_VRING_ENABLE:
      check_vring_state(m);
      break;
    case Request::SET_VRING_ADDR:
      check_vring_address(m);
      break;
    case Request::SET_MEM_TABLE:
      check_memory_table(m);
      break;
    case Request::SET_VRING_KICK:
    case Request::SET_VRING_CALL:
    case Request::SET_VRING_ERR:
      check_vring_fd(m);
      break;
    case Request::GET_CONFIG:
    case Request::SET_CONFIG:
      check_device_config(m);
      break;
    default:
      break;
  }
  check_u64(m);
  check_vring_state(m);
  check_vring_address(m);
  check_memory_table(m);
  check_vring_fd(m);
  check_device_config(m);
}

// Writes `bytes` with `fd_count` eventfds attached to the first chunk; false if the socket
// would not take it all at once (never for inputs this small, but do not block on it).
bool send_stream(int fd, const uint8_t* bytes, size_t size, size_t fd_count) {
  std::vector<bulwark::UniqueFd> fds;
  for (size_t i = 0; i < fd_count; ++i) fds.emplace_back(::eventfd(0, EFD_CLOEXEC));
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * kMaxFuzzFds)] = {};
  iovec io{const_cast<uint8_t*>(bytes), size};
  msghdr header{};
  header.msg_iov = &io;
  header.msg_iovlen = 1;
  if (fd_count > 0) {
    header.msg_control = control;
    header.msg_controllen = CMSG_SPACE(sizeof(int) * fd_count);
    cmsghdr* c = CMSG_FIRSTHDR(&header);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int) * fd_count);
    for (size_t i = 0; i < fd_count; ++i) {
      const int raw = fds[i].get();
      std::memcpy(CMSG_DATA(c) + i * sizeof(int), &raw, sizeof(int));
    }
  }
  return ::sendmsg(fd, &header, MSG_DONTWAIT | MSG_NOSIGNAL) == static_cast<ssize_t>(size);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // A stream needs at least a byte to carry fds; keep inputs well under the socket buffer.
  if (size < 2 || size > 4 * (kHeaderSize + kMaxPayload)) return 0;
  const size_t fd_count = data[0] % (kMaxFuzzFds + 1);
  int pair[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0) return 0;
  bulwark::UniqueFd frontend(pair[0]);
  bulwark::UniqueFd backend(pair[1]);
  if (!send_stream(frontend.get(), data + 1, size - 1, fd_count)) return 0;
  frontend.reset();  // the frontend hangs up after its bytes: every read below ends
  for (size_t i = 0; i < kMaxMessages; ++i) {
    auto message = receive_message(backend.get());
    if (!message.ok()) break;
    if (message->payload.size() > kMaxPayload || message->fds.size() > kMaxFds) std::abort();
    check_message(*message);
  }
  return 0;
}
