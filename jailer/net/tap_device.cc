#include "jailer/net/tap_device.h"

#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <linux/magic.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sockios.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <new>
#include <optional>
#include <system_error>
#include <thread>
#include <utility>

#include "monitor/config/message_text.h"

namespace bulwark::jail {

namespace {

using config::quoted_text;

constexpr uint32_t kMinMtu = 68;  // IPv4's minimum; the kernel's min_mtu for a TAP
constexpr uint32_t kMaxMtu = 65535;
// The kernel's max_mtu for a TAP: 65535 less the Ethernet header. Only named in the error.
constexpr uint32_t kKernelMaxTapMtu = 65535 - 14;
// virtio-net's header with num_buffers (VIRTIO_F_VERSION_1): what bulwark-dev-net exchanges.
constexpr int kVnetHdrSize = 12;
constexpr short kTapFlags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR | IFF_MULTI_QUEUE;

// What the kernel accepts as a link name (dev_valid_name), narrowed to a plain character set so
// a name is also safe in a path under /sys and in a message.
bool valid_ifname(const std::string& name) {
  if (name.empty() || name.size() > kMaxTapNameBytes || name == "." || name == "..") return false;
  for (const char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == '.' || c == '-';
    if (!ok) return false;
  }
  return true;
}

// One file name in /run/netns: never a path, never "." or "..".
bool valid_netns_name(const std::string& netns) {
  if (netns.size() > 255 || netns == "." || netns == "..") return false;
  for (const char c : netns) {
    const auto byte = static_cast<unsigned char>(c);
    if (c == '/' || byte < 0x20 || byte == 0x7f) return false;
  }
  return true;
}

// The prefix of every message: `TAP "bw200000n0" in netns "vmnet"`.
std::string describe(const std::string& netns, const std::string& name) {
  const std::string where =
      netns.empty() ? "the launcher's namespace" : "netns " + quoted_text(netns);
  return "TAP " + quoted_text(name) + " in " + where;
}

Status validate(const TapRequest& request) {
  if (!valid_ifname(request.name)) {
    return Error("name " + quoted_text(request.name) + ": must be 1.." +
                 std::to_string(kMaxTapNameBytes) + " bytes of [A-Za-z0-9_.-], not \".\" or \"..\"");
  }
  if (request.queue_pairs < 1 || request.queue_pairs > kMaxTapQueuePairs) {
    return Error("queue_pairs " + std::to_string(request.queue_pairs) + ": must be 1.." +
                 std::to_string(kMaxTapQueuePairs));
  }
  if (request.mtu < kMinMtu || request.mtu > kMaxMtu) {
    return Error("mtu " + std::to_string(request.mtu) + ": must be " + std::to_string(kMinMtu) +
                 ".." + std::to_string(kMaxMtu));
  }
  if (!valid_netns_name(request.netns)) {
    return Error("netns " + quoted_text(request.netns) +
                 ": must be one name in /run/netns (no '/', not \".\" or \"..\") or empty");
  }
  if (!request.bridge.empty() && !valid_ifname(request.bridge)) {
    return Error("bridge " + quoted_text(request.bridge) + ": must be 1.." +
                 std::to_string(kMaxTapNameBytes) + " bytes of [A-Za-z0-9_.-] or empty");
  }
  if (request.bridge == request.name) {
    return Error("bridge " + quoted_text(request.bridge) + ": is the TAP's own name");
  }
  return ok_status();
}

// /run/netns/<name>, checked to be a namespace file. An invalid fd for "" (the launcher's own
// namespace). ENOENT, kept in the error, when the namespace is gone: not there, or a file that
// `ip netns` left with nothing mounted on it.
Result<UniqueFd> open_netns(const std::string& netns) {
  if (netns.empty()) return UniqueFd();
  const std::string path = "/run/netns/" + netns;
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (!fd.valid()) {
    const int err = errno;
    if (err == ENOENT) return Error("no such network namespace (" + quoted_text(path) + ")", err);
    return Error::from_errno("open " + quoted_text(path), err);
  }
  struct statfs fs{};
  if (::fstatfs(fd.get(), &fs) != 0) return Error::from_errno("fstatfs " + quoted_text(path), errno);
  if (static_cast<uint64_t>(fs.f_type) != NSFS_MAGIC) {
    return Error(quoted_text(path) + " is not a namespace (nothing is mounted on it)", ENOENT);
  }
  return fd;
}

// Runs fn() in the namespace `ns_fd` on a thread of its own, so the caller's thread never changes
// namespace (a thread's network namespace is its own: setns here leaves the others where they
// are). An invalid ns_fd means the caller's own namespace: fn() runs right here.
template <typename T, typename Fn>
Result<T> in_namespace(const UniqueFd& ns_fd, Fn&& fn) {
  if (!ns_fd.valid()) return fn();
  std::optional<Result<T>> result;
  auto body = [&]() noexcept {
    try {
      if (::setns(ns_fd.get(), CLONE_NEWNET) != 0) {
        const int err = errno;
        result.emplace(err == EINVAL ? Error("not a network namespace", err)
                                     : Error::from_errno("enter the network namespace", err));
        return;
      }
      result.emplace(fn());
    } catch (const std::bad_alloc&) {
      result.emplace(Error("out of memory", ENOMEM));
    }
  };
  try {
    std::thread worker(body);
    worker.join();
  } catch (const std::system_error& e) {
    // The thread could not start (EAGAIN: thread or memory limits); fn() did not run.
    if (!result) return Error::from_errno("start the thread that enters the namespace", e.code().value());
  }
  return std::move(*result);
}

void set_name(ifreq& ifr, const std::string& name) {
  // Validated: at most IFNAMSIZ - 1 bytes; ifr is zeroed, so the name is terminated.
  std::memcpy(ifr.ifr_name, name.data(), name.size());
}

// The ifindex of the link called `name` in the namespace of `sock`; 0 when there is none.
Result<int> link_index(int sock, const std::string& name) {
  ifreq ifr{};
  set_name(ifr, name);
  if (::ioctl(sock, SIOCGIFINDEX, &ifr) != 0) {
    if (errno == ENODEV) return 0;
    return Error::from_errno("look up the link's index", errno);
  }
  return ifr.ifr_ifindex;
}

// One queue fd of the TAP: the first creates it (IFF_TUN_EXCL: an existing link of the name is
// refused, never joined); the others attach to it. /dev/net/tun is opened here, in the namespace
// the TAP belongs in: the open fixes the namespace TUNSETIFF creates it in.
Result<UniqueFd> open_queue(const std::string& name, bool create, size_t queue) {
  const std::string what = create ? "create" : "attach queue " + std::to_string(queue);
  UniqueFd fd(::open("/dev/net/tun", O_RDWR | O_CLOEXEC | O_NONBLOCK));
  if (!fd.valid()) return Error::from_errno(what + ": open /dev/net/tun", errno);
  ifreq ifr{};
  set_name(ifr, name);
  ifr.ifr_flags = static_cast<short>(kTapFlags | (create ? IFF_TUN_EXCL : 0));
  if (::ioctl(fd.get(), TUNSETIFF, &ifr) != 0) {
    const int err = errno;
    if (create && err == EBUSY) return Error(what + ": a link of that name already exists", err);
    return Error::from_errno(what + " (TUNSETIFF)", err);
  }
  return fd;
}

// Everything create_tap does, in the TAP's namespace. On an error the fds close as this returns
// and the kernel deletes the non-persistent TAP with the last of them.
Result<Tap> create_here(const TapRequest& request) {
  UniqueFd sock(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));  // for the link ioctls
  if (!sock.valid()) return Error::from_errno("socket for the link ioctls", errno);

  Tap tap;
  tap.netns = request.netns;
  tap.name = request.name;
  auto first = open_queue(request.name, true, 0);
  if (!first.ok()) return first.error();
  tap.queues.push_back(std::move(*first));
  const int fd = tap.queues[0].get();
  // Owner, group, header size and persistence belong to the link, not the queue: set once.
  if (::ioctl(fd, TUNSETOWNER, static_cast<unsigned long>(request.uid)) != 0) {
    return Error::from_errno("set owner " + std::to_string(request.uid) + " (TUNSETOWNER)", errno);
  }
  if (::ioctl(fd, TUNSETGROUP, static_cast<unsigned long>(request.gid)) != 0) {
    return Error::from_errno("set group " + std::to_string(request.gid) + " (TUNSETGROUP)", errno);
  }
  int hdr_size = kVnetHdrSize;
  if (::ioctl(fd, TUNSETVNETHDRSZ, &hdr_size) != 0) {
    return Error::from_errno("set the vnet header size (TUNSETVNETHDRSZ)", errno);
  }
  // Never persistent (the default, said out loud): the TAP goes with its last queue fd.
  if (::ioctl(fd, TUNSETPERSIST, 0UL) != 0) return Error::from_errno("clear TUNSETPERSIST", errno);

  auto index = link_index(sock.get(), request.name);
  if (!index.ok()) return index.error();
  if (*index == 0) return Error("the new link is gone (renamed or deleted by someone else)");
  tap.ifindex = *index;

  for (size_t q = 1; q < request.queue_pairs; ++q) {
    auto queue = open_queue(request.name, false, q);
    if (!queue.ok()) return queue.error();
    // Attaching goes by name: make sure the name still leads to the link made above.
    auto now = link_index(sock.get(), request.name);
    if (!now.ok()) return now.error().wrap("attach queue " + std::to_string(q));
    if (*now != tap.ifindex) {
      return Error("attach queue " + std::to_string(q) + ": the name now leads to another link");
    }
    tap.queues.push_back(std::move(*queue));
  }

  ifreq ifr{};
  set_name(ifr, request.name);
  ifr.ifr_mtu = static_cast<int>(request.mtu);
  if (::ioctl(sock.get(), SIOCSIFMTU, &ifr) != 0) {
    const int err = errno;
    if (err == EINVAL) {
      return Error("MTU " + std::to_string(request.mtu) + ": refused by the kernel (a TAP takes " +
                       std::to_string(kMinMtu) + ".." + std::to_string(kKernelMaxTapMtu) + ")",
                   err);
    }
    return Error::from_errno("set MTU " + std::to_string(request.mtu), err);
  }

  if (!request.bridge.empty()) {
    // SIOCBRADDIF goes to the bridge by name and refuses a link that is not a bridge (where
    // IFLA_MASTER would also enslave to a bond or a VRF).
    ifreq br{};
    set_name(br, request.bridge);
    br.ifr_ifindex = tap.ifindex;
    if (::ioctl(sock.get(), SIOCBRADDIF, &br) != 0) {
      const int err = errno;
      const std::string what = "bridge " + quoted_text(request.bridge);
      if (err == ENODEV) return Error(what + ": no such device", err);
      if (err == EOPNOTSUPP) return Error(what + ": not a bridge", err);
      return Error::from_errno(what + ": add the TAP as a port (SIOCBRADDIF)", err);
    }
  }

  ifreq flags{};
  set_name(flags, request.name);
  if (::ioctl(sock.get(), SIOCGIFFLAGS, &flags) != 0) return Error::from_errno("read the link flags", errno);
  flags.ifr_flags = static_cast<short>(flags.ifr_flags | IFF_UP);
  if (::ioctl(sock.get(), SIOCSIFFLAGS, &flags) != 0) return Error::from_errno("set the link up", errno);

  // The steps above went by name: the name must still be this link's.
  auto last = link_index(sock.get(), request.name);
  if (!last.ok()) return last.error();
  if (*last != tap.ifindex) return Error("the name was given to another link during set-up");
  return tap;
}

// RTM_DELLINK by ifindex, in the namespace of `sock` (a NETLINK_ROUTE socket). False when the
// link went away first.
Result<bool> delete_link(int sock, int ifindex) {
  struct {
    nlmsghdr header;
    ifinfomsg info;
  } request{};
  request.header.nlmsg_len = sizeof request;
  request.header.nlmsg_type = RTM_DELLINK;
  request.header.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
  request.header.nlmsg_seq = 1;
  request.info.ifi_family = AF_UNSPEC;
  request.info.ifi_index = ifindex;  // the kernel picks the link by index when one is given
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  if (::sendto(sock, &request, sizeof request, 0, reinterpret_cast<const sockaddr*>(&kernel),
               sizeof kernel) != static_cast<ssize_t>(sizeof request)) {
    return Error::from_errno("send RTM_DELLINK", errno);
  }
  char buffer[4096];
  for (;;) {
    sockaddr_nl from{};
    socklen_t from_len = sizeof from;
    const ssize_t n = ::recvfrom(sock, buffer, sizeof buffer, 0, reinterpret_cast<sockaddr*>(&from),
                                 &from_len);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Error::from_errno("read the RTM_DELLINK answer", errno);
    }
    if (from.nl_pid != 0) continue;  // only the kernel answers
    const size_t size = static_cast<size_t>(n);
    for (size_t at = 0; at + sizeof(nlmsghdr) <= size;) {
      nlmsghdr header;
      std::memcpy(&header, buffer + at, sizeof header);
      if (header.nlmsg_len < sizeof header || header.nlmsg_len > size - at) break;
      if (header.nlmsg_seq == request.header.nlmsg_seq && header.nlmsg_type == NLMSG_ERROR) {
        if (header.nlmsg_len < NLMSG_LENGTH(sizeof(nlmsgerr))) return Error("short RTM_DELLINK answer");
        nlmsgerr answer;
        std::memcpy(&answer, buffer + at + NLMSG_HDRLEN, sizeof answer);
        if (answer.error == 0) return true;
        if (answer.error == -ENODEV) return false;  // gone since the look-up
        return Error::from_errno("delete (RTM_DELLINK)", -answer.error);
      }
      at += NLMSG_ALIGN(header.nlmsg_len);
    }
  }
}

Result<bool> remove_here(const std::string& name, int ifindex) {
  UniqueFd sock(::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE));
  if (!sock.valid()) return Error::from_errno("netlink socket", errno);
  // The kernel answers at once; a teardown must never wait on it forever all the same.
  const timeval timeout{5, 0};
  if (::setsockopt(sock.get(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout) != 0) {
    return Error::from_errno("netlink socket timeout", errno);
  }
  auto index = link_index(sock.get(), name);
  if (!index.ok()) return index.error();
  // Another link has the name now (or none does): it is not ours to delete.
  if (*index != ifindex) return false;
  return delete_link(sock.get(), ifindex);
}

}  // namespace

Result<Tap> create_tap(const TapRequest& request) {
  const std::string who = describe(request.netns, request.name);
  if (Status s = validate(request); !s.ok()) return s.error().wrap(who);
  auto ns = open_netns(request.netns);
  if (!ns.ok()) return ns.error().wrap(who);
  auto tap = in_namespace<Tap>(*ns, [&] { return create_here(request); });
  if (!tap.ok()) return tap.error().wrap(who);
  return tap;
}

Result<bool> remove_tap(const std::string& netns, const std::string& name, int ifindex) {
  const std::string who = describe(netns, name);
  if (!valid_ifname(name)) return Error(who + ": remove: not a valid link name");
  if (!valid_netns_name(netns)) return Error(who + ": remove: not a valid namespace name");
  if (ifindex <= 0) return Error(who + ": remove: ifindex " + std::to_string(ifindex) + " is not a link's");
  auto ns = open_netns(netns);
  if (!ns.ok()) {
    if (ns.error().errno_value() == ENOENT) return false;  // the namespace, and its links, are gone
    return ns.error().wrap(who + ": remove");
  }
  auto removed = in_namespace<bool>(*ns, [&] { return remove_here(name, ifindex); });
  if (!removed.ok()) return removed.error().wrap(who + ": remove");
  return removed;
}

}  // namespace bulwark::jail
