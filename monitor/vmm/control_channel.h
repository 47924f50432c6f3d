// The monitor's end of the launcher's control channel: an inherited SOCK_SEQPACKET socket
// (config "control_fd"), one command per datagram, one reply datagram per command. Input: the
// launcher's messages (relayed from bulwark-api); decoded as hostile by control_dispatch.
// Served by the monitor's main loop: it polls fd() and calls serve() with the revents; the
// channel receives with recvmsg (MSG_CMSG_CLOEXEC) and answers with write.
//
// File descriptors (SCM_RIGHTS) ride only on ReplaceDevice (kind 23, launcher only): exactly
// one fd = "the device at device_index (the order of the monitor's vhost-user devices) has a
// fresh process; this is its connected vhost-user socket: reconnect" (204 once the replacement
// took over; 502 and the device failed if it broke the handshake; 409 if the device is not
// waiting for one: its process still runs or it failed already; 404 for no such device); no fd
// = "it will not be replaced (killed by seccomp, or past the restart limit): fail it now" (204;
// the guest sees DEVICE_NEEDS_RESET). More than one fd, or an fd with any other command: 400,
// and the fds are closed.
#pragma once

#include <poll.h>

#include <cstdint>
#include <vector>

#include "bulwark/common/result.h"
#include "bulwark/common/unique_fd.h"
#include "monitor/vmm/control_dispatch.h"

namespace bulwark::vmm {

class ControlChannel {
 public:
  // Takes ownership of `fd` once it is checked to be a unix SOCK_SEQPACKET socket; marks it
  // close-on-exec and non-blocking (a launcher that stops reading must not stall the main
  // loop). Called before seccomp (getsockopt, fcntl).
  static Result<ControlChannel> adopt(int fd);

  bool is_open() const { return fd_.valid(); }
  int fd() const { return fd_.get(); }
  // Answers the next datagram if one is waiting. Closes the channel when the launcher closed
  // its end (or the socket failed); the VM runs on without it. Returns false once closed.
  bool serve(short revents, VmControls& vm);

 private:
  explicit ControlChannel(UniqueFd fd);
  UniqueFd fd_;
  std::vector<uint8_t> buffer_;  // one byte more than a message may have, to see one too long
};

}  // namespace bulwark::vmm
