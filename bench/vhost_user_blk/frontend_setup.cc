#include "bench/vhost_user_blk/frontend_setup.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>
#include <vector>

#include "devices/vhost_user/channel.h"
#include "devices/vhost_user/protocol.h"

namespace bulwark::bench {
namespace vu = vhost_user;
namespace {

constexpr unsigned kFeatureVersion1 = 32;
constexpr std::chrono::milliseconds kReplyTimeout{5000};

constexpr uint64_t bit(unsigned n) { return uint64_t{1} << n; }

Result<uint64_t> get_u64(int socket_fd, vu::Request request) {
  BULWARK_TRY(vu::send_message(socket_fd, vu::make_request(request)));
  auto reply = vu::receive_message_within(socket_fd, kReplyTimeout);
  if (!reply.ok()) return reply.error().wrap(vu::request_name(static_cast<uint32_t>(request)));
  BULWARK_TRY(vu::check_reply_to(request, *reply));
  return vu::parse_u64(*reply);
}

// Sends a request; with REPLY_ACK, waits for the backend's status (0 = success).
Status send_checked(int socket_fd, vu::Message message, bool reply_ack) {
  const auto request = static_cast<vu::Request>(message.request);
  const char* name = vu::request_name(message.request);
  if (reply_ack) message.flags |= vu::kNeedReplyFlag;
  if (Status sent = vu::send_message(socket_fd, message); !sent.ok()) return sent.error().wrap(name);
  if (!reply_ack) return ok_status();
  auto reply = vu::receive_message_within(socket_fd, kReplyTimeout);
  if (!reply.ok()) return reply.error().wrap(name);
  BULWARK_TRY(vu::check_reply_to(request, *reply));
  auto status = vu::parse_u64(*reply);
  if (!status.ok()) return status.error().wrap(name);
  if (*status != 0) return Error(std::string(name) + ": backend answered failure " + std::to_string(*status));
  return ok_status();
}

Result<UniqueFd> duplicate(int fd) {
  UniqueFd copy(::fcntl(fd, F_DUPFD_CLOEXEC, 0));
  if (!copy.valid()) return Error::from_errno("dup", errno);
  return copy;
}

}  // namespace

Result<UniqueFd> connect_backend(const std::string& socket_path, std::chrono::milliseconds patience) {
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (socket_path.size() >= sizeof(address.sun_path)) return Error("socket path too long: " + socket_path);
  std::memcpy(address.sun_path, socket_path.c_str(), socket_path.size() + 1);
  const auto deadline = std::chrono::steady_clock::now() + patience;
  for (;;) {
    UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!fd.valid()) return Error::from_errno("socket", errno);
    if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&address), sizeof(address)) == 0) return fd;
    const int error = errno;
    if ((error != ENOENT && error != ECONNREFUSED) || std::chrono::steady_clock::now() > deadline) {
      return Error::from_errno("connect " + socket_path, error);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

Result<NegotiatedFeatures> set_up_backend(int socket_fd, const SharedMemory& memory, const DriverQueue& queue,
                                          int kick_fd, int call_fd) {
  NegotiatedFeatures features;
  auto offered = get_u64(socket_fd, vu::Request::GET_FEATURES);
  if (!offered.ok()) return offered.error();
  features.offered = *offered;
  if ((features.offered & bit(kFeatureVersion1)) == 0) return Error("backend does not offer VERSION_1");
  // Plain requests and completions only: no EVENT_IDX, no INDIRECT, no device-specific bits.
  features.accepted = bit(kFeatureVersion1);
  if ((features.offered & bit(vu::kFeatureProtocolFeatures)) != 0) {
    features.accepted |= bit(vu::kFeatureProtocolFeatures);
    auto protocol = get_u64(socket_fd, vu::Request::GET_PROTOCOL_FEATURES);
    if (!protocol.ok()) return protocol.error();
    const uint64_t wanted = *protocol & bit(vu::kProtocolReplyAck);
    BULWARK_TRY(send_checked(socket_fd, vu::make_u64_request(vu::Request::SET_PROTOCOL_FEATURES, wanted), false));
    features.reply_ack = wanted != 0;
  }
  const bool ack = features.reply_ack;
  BULWARK_TRY(send_checked(socket_fd, vu::make_request(vu::Request::SET_OWNER), ack));
  BULWARK_TRY(send_checked(socket_fd, vu::make_u64_request(vu::Request::SET_FEATURES, features.accepted), ack));

  const vu::MemoryRegion region{0, memory.size(), memory.frontend_address(), 0};
  std::vector<UniqueFd> region_fds;
  auto memory_fd = duplicate(memory.fd());
  if (!memory_fd.ok()) return memory_fd.error();
  region_fds.push_back(std::move(*memory_fd));
  BULWARK_TRY(send_checked(socket_fd, vu::make_memory_table_request({&region, 1}, std::move(region_fds)), ack));

  BULWARK_TRY(send_checked(socket_fd, vu::make_vring_state_request(vu::Request::SET_VRING_NUM, {0, queue.size()}), ack));
  const uint64_t base = memory.frontend_address();
  const vu::VringAddress address{0, 0, base + queue.desc_gpa(), base + queue.used_gpa(), base + queue.avail_gpa(), 0};
  BULWARK_TRY(send_checked(socket_fd, vu::make_vring_address_request(address), ack));
  BULWARK_TRY(send_checked(socket_fd, vu::make_vring_state_request(vu::Request::SET_VRING_BASE, {0, 0}), ack));
  auto call = duplicate(call_fd);
  if (!call.ok()) return call.error();
  BULWARK_TRY(send_checked(socket_fd, vu::make_vring_fd_request(vu::Request::SET_VRING_CALL, 0, std::move(*call)), ack));
  auto kick = duplicate(kick_fd);
  if (!kick.ok()) return kick.error();
  BULWARK_TRY(send_checked(socket_fd, vu::make_vring_fd_request(vu::Request::SET_VRING_KICK, 0, std::move(*kick)), ack));
  if ((features.accepted & bit(vu::kFeatureProtocolFeatures)) != 0) {
    BULWARK_TRY(send_checked(socket_fd, vu::make_vring_state_request(vu::Request::SET_VRING_ENABLE, {0, 1}), ack));
  }
  return features;
}

}  // namespace bulwark::bench
