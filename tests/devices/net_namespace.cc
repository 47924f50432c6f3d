#include "tests/devices/net_namespace.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/if_packet.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <signal.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <cerrno>
#include <cstring>
#include <thread>

#include "tests/integration/monitor_process.h"

namespace bulwark::test {

Result<std::string> run_command(const std::vector<std::string>& argv) {
  std::vector<std::string> args(argv.begin() + 1, argv.end());
  ProcessResult result = run_process(argv[0], args, {}, std::chrono::seconds(20));
  if (!result.exited || result.exit_code != 0) {
    std::string line;
    for (const std::string& a : argv) line += a + " ";
    return Error(line + "failed: " + result.describe());
  }
  return result.out + result.err;
}

namespace {

// Namespaces a killed test run left behind (bwnet-<pid>-<n> whose pid is gone) are removed.
void sweep_stale_namespaces() {
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator("/var/run/netns", error)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind("bwnet-", 0) != 0) continue;
    const pid_t pid = static_cast<pid_t>(std::atoi(name.c_str() + 6));
    if (pid <= 0 || pid == ::getpid() || ::kill(pid, 0) == 0 || errno != ESRCH) continue;
    (void)run_command({"/usr/sbin/ip", "netns", "del", name});
  }
}

Status bind_ipv4(int fd, const std::string& address, uint16_t port) {
  sockaddr_in local{};
  local.sin_family = AF_INET;
  local.sin_port = htons(port);
  if (::inet_pton(AF_INET, address.c_str(), &local.sin_addr) != 1) return Error("bad address " + address);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&local), sizeof local) != 0) {
    return Error::from_errno("bind " + address, errno);
  }
  return ok_status();
}

}  // namespace

Result<NetNamespace> NetNamespace::create(const std::string& host_address, const std::string& host_mac) {
  static std::once_flag swept;
  std::call_once(swept, sweep_stale_namespaces);
  static std::atomic<int> counter{0};
  const std::string name = "bwnet-" + std::to_string(::getpid()) + "-" + std::to_string(counter++);
  auto added = run_command({"/usr/sbin/ip", "netns", "add", name});
  if (!added.ok()) return added.error();
  NetNamespace ns(name);
  // No IPv6 in the namespace: its router solicitations and MLD reports would be extra frames
  // toward the guest in every test.
  BULWARK_TRY(ns.run_inside([]() -> Status {
    for (const char* path : {"/proc/sys/net/ipv6/conf/all/disable_ipv6", "/proc/sys/net/ipv6/conf/default/disable_ipv6"}) {
      UniqueFd fd(::open(path, O_WRONLY | O_CLOEXEC));
      if (fd.valid() && ::write(fd.get(), "1", 1) != 1) return Error::from_errno(path, errno);
    }
    return ok_status();
  }));
  BULWARK_TRY(ns.ip({"tuntap", "add", "dev", kTap, "mode", "tap", "vnet_hdr", "multi_queue"}));
  BULWARK_TRY(ns.ip({"link", "set", kTap, "address", host_mac}));
  BULWARK_TRY(ns.ip({"addr", "add", host_address, "dev", kTap}));
  BULWARK_TRY(ns.ip({"link", "set", kTap, "up"}));
  BULWARK_TRY(ns.ip({"link", "set", "lo", "up"}));
  return ns;
}

NetNamespace::~NetNamespace() {
  if (name_.empty()) return;
  (void)run_command({"/usr/sbin/ip", "-n", name_, "link", "del", kTap});
  (void)run_command({"/usr/sbin/ip", "netns", "del", name_});
}

Status NetNamespace::ip(const std::vector<std::string>& args) const {
  std::vector<std::string> argv{"/usr/sbin/ip", "-n", name_};
  argv.insert(argv.end(), args.begin(), args.end());
  auto ran = run_command(argv);
  if (!ran.ok()) return ran.error();
  return ok_status();
}

Status NetNamespace::run_inside(const std::function<Status()>& fn) const {
  Status outcome = Error("the namespace thread did not run");
  std::thread thread([&] {
    UniqueFd ns(::open(("/var/run/netns/" + name_).c_str(), O_RDONLY | O_CLOEXEC));
    if (!ns.valid()) {
      outcome = Error::from_errno("open /var/run/netns/" + name_, errno);
      return;
    }
    // The network namespace is per thread: only this thread moves.
    if (::setns(ns.get(), CLONE_NEWNET) != 0) {
      outcome = Error::from_errno("setns", errno);
      return;
    }
    outcome = fn();
  });
  thread.join();
  return outcome;
}

Result<UniqueFd> NetNamespace::open_tap_queue() const {
  UniqueFd tap;
  BULWARK_TRY(run_inside([&]() -> Status {
    tap.reset(::open("/dev/net/tun", O_RDWR | O_CLOEXEC));
    if (!tap.valid()) return Error::from_errno("open /dev/net/tun", errno);
    ifreq request{};
    std::strncpy(request.ifr_name, kTap, IFNAMSIZ - 1);
    request.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR | IFF_MULTI_QUEUE;
    if (::ioctl(tap.get(), static_cast<unsigned long>(TUNSETIFF), &request) != 0) {
      return Error::from_errno("TUNSETIFF tap0", errno);
    }
    return ok_status();
  }));
  // The TAP's carrier comes up when its first queue attaches, but its qdisc stays "noop" (which
  // drops everything sent toward the TAP) until the kernel's link watch runs, which it may delay
  // by up to a second after the last link event: wait for a real qdisc.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  for (;;) {
    auto shown = run_command({"/usr/sbin/ip", "-n", name_, "link", "show", kTap});
    if (!shown.ok()) return shown.error();
    if (shown->find("LOWER_UP") != std::string::npos && shown->find("qdisc noop") == std::string::npos) break;
    if (std::chrono::steady_clock::now() > deadline) return Error("tap0 never got a qdisc: " + *shown);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return tap;
}

Result<UniqueFd> NetNamespace::packet_socket() const {
  UniqueFd socket;
  BULWARK_TRY(run_inside([&]() -> Status {
    socket.reset(::socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL)));
    if (!socket.valid()) return Error::from_errno("socket AF_PACKET", errno);
    const int on = 1;
    if (::setsockopt(socket.get(), SOL_PACKET, PACKET_VNET_HDR, &on, sizeof on) != 0) {
      return Error::from_errno("PACKET_VNET_HDR", errno);
    }
    sockaddr_ll local{};
    local.sll_family = AF_PACKET;
    local.sll_protocol = htons(ETH_P_ALL);
    local.sll_ifindex = static_cast<int>(::if_nametoindex(kTap));
    if (local.sll_ifindex == 0) return Error::from_errno("if_nametoindex tap0", errno);
    if (::bind(socket.get(), reinterpret_cast<sockaddr*>(&local), sizeof local) != 0) {
      return Error::from_errno("bind AF_PACKET", errno);
    }
    return ok_status();
  }));
  return socket;
}

Result<UniqueFd> NetNamespace::tcp_listener(const std::string& address, uint16_t port) const {
  UniqueFd socket;
  BULWARK_TRY(run_inside([&]() -> Status {
    socket.reset(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!socket.valid()) return Error::from_errno("socket", errno);
    const int on = 1;
    ::setsockopt(socket.get(), SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
    BULWARK_TRY(bind_ipv4(socket.get(), address, port));
    if (::listen(socket.get(), 4) != 0) return Error::from_errno("listen", errno);
    return ok_status();
  }));
  return socket;
}

Result<UniqueFd> NetNamespace::udp_socket(const std::string& address, uint16_t port) const {
  UniqueFd socket;
  BULWARK_TRY(run_inside([&]() -> Status {
    socket.reset(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    if (!socket.valid()) return Error::from_errno("socket", errno);
    const int buffer = 8 << 20;
    ::setsockopt(socket.get(), SOL_SOCKET, SO_RCVBUFFORCE, &buffer, sizeof buffer);
    BULWARK_TRY(bind_ipv4(socket.get(), address, port));
    return ok_status();
  }));
  return socket;
}

}  // namespace bulwark::test
