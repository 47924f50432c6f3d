#include "devices/net/tap_queue.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <string>

#include "devices/net/vnet_header.h"

namespace bulwark::net {

namespace {

// The request numbers as the unsigned values of the headers: the seccomp policy compares all
// 64 bits (FORMAT.md), so a sign-extended int would not match.
constexpr unsigned long kTunGetIff = TUNGETIFF;
constexpr unsigned long kTunSetVnetHdrSz = TUNSETVNETHDRSZ;
constexpr unsigned long kTunGetVnetHdrSz = TUNGETVNETHDRSZ;
constexpr unsigned long kTunSetOffload = TUNSETOFFLOAD;
constexpr unsigned long kTunSetQueue = TUNSETQUEUE;

}  // namespace

Result<TapQueue> TapQueue::adopt(UniqueFd fd) {
  const std::string name = "tap fd " + std::to_string(fd.get());
  ifreq request{};
  if (::ioctl(fd.get(), kTunGetIff, &request) != 0) {
    return Error::from_errno(name + " is not an attached TUN/TAP queue (TUNGETIFF)", errno);
  }
  const auto flags = static_cast<unsigned short>(request.ifr_flags);
  if ((flags & (IFF_TUN | IFF_TAP)) != IFF_TAP) return Error(name + " is a TUN, not a TAP interface");
  if ((flags & IFF_VNET_HDR) == 0) return Error(name + " was opened without IFF_VNET_HDR");
  if ((flags & IFF_NO_PI) == 0) return Error(name + " was opened without IFF_NO_PI");
  int header_size = static_cast<int>(kVnetHeaderSize);
  if (::ioctl(fd.get(), kTunSetVnetHdrSz, &header_size) != 0) {
    return Error::from_errno(name + ": TUNSETVNETHDRSZ 12", errno);
  }
  int check = 0;
  if (::ioctl(fd.get(), kTunGetVnetHdrSz, &check) != 0 || check != static_cast<int>(kVnetHeaderSize)) {
    return Error(name + ": the vnet header size did not stay 12");
  }
  const int mode = ::fcntl(fd.get(), F_GETFL);
  if (mode < 0 || ::fcntl(fd.get(), F_SETFL, mode | O_NONBLOCK) != 0) {
    return Error::from_errno(name + ": cannot make it non-blocking", errno);
  }
  // Which receive offloads the TAP takes: each set (with the checksum they depend on) in turn.
  unsigned supported = 0;
  if (::ioctl(fd.get(), kTunSetOffload, static_cast<unsigned long>(kTunFCsum)) == 0) {
    supported |= kTunFCsum;
    for (unsigned flag : {kTunFTso4, kTunFTso6, kTunFTsoEcn}) {
      const unsigned long wanted = kTunFCsum | kTunFTso4 | flag;
      if (::ioctl(fd.get(), kTunSetOffload, wanted) == 0) supported |= flag;
    }
  }
  if (::ioctl(fd.get(), kTunSetOffload, 0ul) != 0) return Error::from_errno(name + ": TUNSETOFFLOAD 0", errno);
  return TapQueue(std::move(fd), supported);
}

Status TapQueue::set_offloads(unsigned flags) {
  if ((flags & ~supported_offloads_) != 0) return Error("the TAP does not take offloads " + std::to_string(flags));
  if (::ioctl(fd_.get(), kTunSetOffload, static_cast<unsigned long>(flags)) != 0) {
    return Error::from_errno("TUNSETOFFLOAD", errno);
  }
  return ok_status();
}

Status TapQueue::set_attached(bool attached) {
  if (attached == attached_) return ok_status();
  ifreq request{};
  request.ifr_flags = static_cast<short>(attached ? IFF_ATTACH_QUEUE : IFF_DETACH_QUEUE);
  if (::ioctl(fd_.get(), kTunSetQueue, &request) != 0) {
    return Error::from_errno(attached ? "TUNSETQUEUE attach" : "TUNSETQUEUE detach", errno);
  }
  attached_ = attached;
  return ok_status();
}

Result<size_t> TapQueue::receive(std::span<uint8_t> buffer) {
  for (;;) {
    const ssize_t n = ::read(fd_.get(), buffer.data(), buffer.size());
    if (n >= 0) return static_cast<size_t>(n);
    if (errno == EINTR) continue;
    if (errno == EAGAIN) return size_t{0};
    return Error::from_errno("read from the TAP", errno);
  }
}

Status TapQueue::send(std::span<const uint8_t> packet) {
  for (;;) {
    const ssize_t n = ::write(fd_.get(), packet.data(), packet.size());
    if (n == static_cast<ssize_t>(packet.size())) return ok_status();
    if (n >= 0) return Error("short write to the TAP: " + std::to_string(n) + " of " + std::to_string(packet.size()));
    if (errno == EINTR) continue;
    return Error::from_errno("write to the TAP", errno);
  }
}

}  // namespace bulwark::net
