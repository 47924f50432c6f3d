// Requests about one ring: its size, addresses, base index, eventfds and enable state.
// Anything a ring needs to start arrives here; refresh() (ring_runner.cc) decides.
#include <string>
#include <utility>

#include "bulwark/common/log.h"
#include "devices/backend/backend_server.h"
#include "devices/backend/eventfd_io.h"
#include "devices/backend/request_errors.h"
#include "devices/vhost_user/channel.h"

namespace bulwark::backend {

namespace vu = vhost_user;
using detail::make_nonblocking;
using detail::named;

Status BackendServer::set_vring_num(const vu::Message& message) {
  auto state = vu::parse_vring_state(message);
  if (!state.ok()) return malformed(state.error());
  auto vring = vring_at(message, state->index);
  if (!vring.ok()) return vring.error();
  const uint32_t size = state->num;
  if (size == 0 || size > device_.max_queue_size() || (size & (size - 1)) != 0) {
    return Error(named(message) + ": queue size " + std::to_string(size) +
                 " is not a power of two up to " + std::to_string(device_.max_queue_size()));
  }
  if ((*vring)->queue) return Error(named(message) + ": queue " + std::to_string(state->index) + " is running");
  (*vring)->size = static_cast<uint16_t>(size);
  (*vring)->failed = false;
  return ok_status();
}

Status BackendServer::set_vring_addr(const vu::Message& message) {
  auto address = vu::parse_vring_address(message);
  if (!address.ok()) return malformed(address.error());
  auto vring = vring_at(message, address->index);
  if (!vring.ok()) return vring.error();
  if (address->flags != 0) {
    return Error(named(message) + ": dirty-page logging was not offered");
  }
  if ((*vring)->queue) return Error(named(message) + ": queue " + std::to_string(address->index) + " is running");
  (*vring)->address = *address;
  (*vring)->failed = false;
  return refresh(static_cast<uint16_t>(address->index));
}

Status BackendServer::set_vring_base(const vu::Message& message) {
  auto state = vu::parse_vring_state(message);
  if (!state.ok()) return malformed(state.error());
  auto vring = vring_at(message, state->index);
  if (!vring.ok()) return vring.error();
  if (state->num > 0xffff) {
    return Error(named(message) + ": base " + std::to_string(state->num) + " does not fit a 16-bit index");
  }
  if ((*vring)->queue) return Error(named(message) + ": queue " + std::to_string(state->index) + " is running");
  (*vring)->base = static_cast<uint16_t>(state->num);
  (*vring)->failed = false;
  return ok_status();
}

Status BackendServer::get_vring_base(const vu::Message& message) {
  auto state = vu::parse_vring_state(message);
  if (!state.ok()) return state.error();
  auto vring = vring_at(message, state->index);
  if (!vring.ok()) return vring.error();
  const uint16_t index = static_cast<uint16_t>(state->index);
  stop(index);
  // The ring stays stopped until the frontend sends a kick fd again.
  (*vring)->kick.reset();
  vu::VringState reply_state{state->index, (*vring)->base};
  vu::Message request = vu::make_vring_state_request(vu::Request::GET_VRING_BASE, reply_state);
  return vu::send_message(socket_.get(), vu::make_reply(message, request.payload));
}

Status BackendServer::set_vring_fd(vu::Message& message) {
  auto parsed = vu::parse_vring_fd(message);
  if (!parsed.ok()) return malformed(parsed.error());
  auto vring = vring_at(message, parsed->index);
  if (!vring.ok()) return vring.error();
  UniqueFd fd;
  if (!parsed->no_fd) {
    fd = std::move(message.fds[0]);
    BULWARK_TRY(make_nonblocking(fd.get(), named(message)));
  }
  switch (static_cast<vu::Request>(message.request)) {
    case vu::Request::SET_VRING_KICK:
      stop(parsed->index);
      if (parsed->no_fd) log::warn("vhost-user: queue " + std::to_string(parsed->index) +
                                   " without a kick fd (polling) stays stopped");
      (*vring)->kick = std::move(fd);
      return refresh(parsed->index);
    case vu::Request::SET_VRING_CALL:
      (*vring)->call = std::move(fd);
      return ok_status();
    default:
      (*vring)->err = std::move(fd);
      return ok_status();
  }
}

Status BackendServer::set_vring_enable(const vu::Message& message) {
  auto state = vu::parse_vring_state(message);
  if (!state.ok()) return malformed(state.error());
  auto vring = vring_at(message, state->index);
  if (!vring.ok()) return vring.error();
  if (state->num > 1) return Error(named(message) + ": " + std::to_string(state->num) + " is neither 0 nor 1");
  (*vring)->enabled = state->num == 1;
  return refresh(static_cast<uint16_t>(state->index));
}

}  // namespace bulwark::backend
