// One queue of a TAP interface, as bulwark-dev-net receives it: an fd the launcher opened
// (IFF_TAP | IFF_NO_PI | IFF_VNET_HDR, usually IFF_MULTI_QUEUE), one per queue pair. The device
// never opens or names an interface: adopt() checks what it was given and sets it up before
// the seccomp policy is installed; afterwards only read, write and the offload ioctl remain.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <span>

#include "bulwark/common/result.h"
#include "bulwark/common/unique_fd.h"

namespace bulwark::net {

// TUN_F_* offload flags (linux/if_tun.h): what the TAP may hand us (toward the guest).
inline constexpr unsigned kTunFCsum = 0x01;
inline constexpr unsigned kTunFTso4 = 0x02;
inline constexpr unsigned kTunFTso6 = 0x04;
inline constexpr unsigned kTunFTsoEcn = 0x08;

class TapQueue {
 public:
  // Checks `fd` is a TAP queue with IFF_VNET_HDR and IFF_NO_PI, sets its vnet header size to 12
  // (virtio 1.x), makes it non-blocking, and finds out which receive offloads it takes
  // (then sets none until the guest negotiates them). Start-up only (ioctls the policy
  // forbids later).
  static Result<TapQueue> adopt(UniqueFd fd);

  int fd() const { return fd_.get(); }
  // The TUN_F_* flags the TAP accepted when probed.
  unsigned supported_offloads() const { return supported_offloads_; }
  // TUNSETOFFLOAD: what the TAP may give us from now on (a subset of supported_offloads()).
  Status set_offloads(unsigned flags);

  // TUNSETQUEUE: takes this queue out of the interface's steering (frames go to the other
  // queues) or puts it back. Only ever this queue of this interface: a detached queue can be
  // attached to nothing else.
  Status set_attached(bool attached);
  bool attached() const { return attached_; }

  // One packet (vnet header + frame) into `buffer`: its length, 0 when none is waiting, or an
  // Error (errno kept).
  Result<size_t> receive(std::span<uint8_t> buffer);
  // One packet (vnet header + frame) out; an Error (errno kept) when the TAP refused it.
  Status send(std::span<const uint8_t> packet);

 private:
  TapQueue(UniqueFd fd, unsigned offloads) : fd_(std::move(fd)), supported_offloads_(offloads) {}
  UniqueFd fd_;
  unsigned supported_offloads_ = 0;
  bool attached_ = true;
};

}  // namespace bulwark::net
