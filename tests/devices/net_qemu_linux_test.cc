// A real Linux guest on bulwark-dev-net: QEMU (TCG) is the vhost-user frontend, with a
// memfd-backed guest RAM it shares, and boots the Debian cloud kernel of the Linux test assets
// with an initramfs (net_guest/) whose /init loads virtio_net, takes 10.99.0.2, pings the
// test's namespace and moves 1 MiB each way over TCP, printing md5s the test compares with its
// own, then tries a foreign source IP and a MAC of its choosing, which the device must drop.
// The device runs under its seccomp policy with anti-spoofing on (--allowed-ip). Linux's
// own driver negotiates what it wants (MRG_RXBUF, checksum and TSO offloads, EVENT_IDX).
// Skips without qemu-system-x86_64 or the Linux assets.
#include <poll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "tests/devices/net_namespace.h"
#include "tests/devices/net_test_guest.h"
#include "tests/integration/monitor_process.h"

namespace bulwark::test {
namespace {

constexpr size_t kBytes = 1 << 20;

// Accepts one connection within `timeout`.
UniqueFd accept_within(int listener, std::chrono::milliseconds timeout) {
  pollfd p{listener, POLLIN, 0};
  if (::poll(&p, 1, static_cast<int>(timeout.count())) != 1) return UniqueFd();
  UniqueFd connection(::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC));
  timeval limit{30, 0};
  ::setsockopt(connection.get(), SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
  ::setsockopt(connection.get(), SOL_SOCKET, SO_SNDTIMEO, &limit, sizeof limit);
  return connection;
}

std::string md5_of(const std::vector<uint8_t>& bytes, const std::string& path) {
  std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()),
                                              static_cast<std::streamsize>(bytes.size()));
  auto sum = run_command({"/usr/bin/md5sum", path});
  return sum.ok() ? sum->substr(0, 32) : "md5sum failed";
}

// The md5 the guest printed after `marker` ("BULWARK-NET sent-md5 <md5>  /tmp/out").
std::string guest_md5(const std::string& console, const std::string& marker) {
  const size_t at = console.find(marker);
  if (at == std::string::npos) return "(no " + marker + " line)";
  return console.substr(at + marker.size(), 32);
}

class NetQemuLinux : public ::testing::TestWithParam<int> {};

// One queue pair; and two, with 2 vCPUs so Linux uses both (QEMU serves the control queue and
// enables the second pair's rings; the device attaches its TAP queue then).
TEST_P(NetQemuLinux, LinuxGuestPingsAndMovesAMegabyteEachWay) {
  const int pairs = GetParam();
  if (std::string(BULWARK_QEMU_SYSTEM).empty()) GTEST_SKIP() << "qemu-system-x86_64 not installed";
  const std::string assets = std::getenv("BULWARK_LINUX_ASSETS") ? std::getenv("BULWARK_LINUX_ASSETS")
                                                                 : BULWARK_LINUX_ASSETS_DIR;
  if (!std::filesystem::exists(assets + "/vmlinuz")) GTEST_SKIP() << "no Linux assets in " << assets;
  const auto test_deadline = std::chrono::steady_clock::now() + std::chrono::seconds(240);
  const std::filesystem::path dir = std::filesystem::temp_directory_path() /
                                    ("bulwark-net-qemu-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const std::string initramfs = std::string(BULWARK_NET_GUEST_CACHE) + "/net-guest.cpio";
  ProcessResult built = run_process(BULWARK_NET_GUEST_BUILDER, {"--assets", assets, "--out", initramfs}, {},
                                    std::chrono::seconds(120));
  if (built.exited && built.exit_code == 77) GTEST_SKIP() << built.err;
  ASSERT_TRUE(built.exited && built.exit_code == 0) << built.describe();

  auto ns = NetNamespace::create("10.99.0.1/24", "02:00:00:00:00:01");
  ASSERT_TRUE(ns.ok()) << ns.error().message();
  std::vector<UniqueFd> taps;
  std::vector<int> tap_fds;
  for (int i = 0; i < pairs; ++i) {
    auto tap = ns->open_tap_queue();
    ASSERT_TRUE(tap.ok()) << tap.error().message();
    tap_fds.push_back(tap->get());
    taps.push_back(std::move(*tap));
  }
  auto sink = ns->tcp_listener("10.99.0.1", 9000);
  auto source = ns->tcp_listener("10.99.0.1", 9001);
  ASSERT_TRUE(sink.ok() && source.ok());

  const std::string socket_path = (dir / "net.sock").string();
  auto device = start_net_device(tap_fds,
                                 {"--mac", "52:54:00:12:34:56", "--mtu", "1500", "--allowed-ip", "10.99.0.2/32",
                                  "--seccomp", "enforce"},
                                 (dir / "device.log").string(), socket_path);
  ASSERT_TRUE(device.ok()) << device.error().message();
  const auto wait_until = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (!std::filesystem::exists(socket_path) && std::chrono::steady_clock::now() < wait_until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_TRUE(std::filesystem::exists(socket_path)) << device->log();

  // The namespace's side: take 1 MiB on 9000, give 1 MiB on 9001.
  std::vector<uint8_t> from_guest;
  std::thread receiver([&] {
    UniqueFd c = accept_within(sink->get(), std::chrono::seconds(200));
    if (!c.valid()) return;
    std::vector<uint8_t> chunk(65536);
    while (from_guest.size() < kBytes) {
      const ssize_t n = ::read(c.get(), chunk.data(), chunk.size());
      if (n <= 0) break;
      from_guest.insert(from_guest.end(), chunk.begin(), chunk.begin() + n);
    }
  });
  std::vector<uint8_t> to_guest(kBytes);
  uint64_t x = 0x9e3779b97f4a7c15ull;
  for (auto& b : to_guest) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    b = static_cast<uint8_t>(x);
  }
  std::thread sender([&] {
    UniqueFd c = accept_within(source->get(), std::chrono::seconds(200));
    if (!c.valid()) return;
    size_t sent = 0;
    while (sent < to_guest.size()) {
      const ssize_t n = ::write(c.get(), to_guest.data() + sent, to_guest.size() - sent);
      if (n <= 0) break;
      sent += static_cast<size_t>(n);
    }
  });

  const std::string queues = std::to_string(pairs);
  auto qemu = ChildProcess::start(
      BULWARK_QEMU_SYSTEM,
      {"-accel", "tcg", "-m", "512", "-smp", queues, "-nographic", "-no-reboot", "-nodefaults", "-serial", "stdio",
       "-kernel", assets + "/vmlinuz", "-initrd", initramfs, "-append",
       "console=ttyS0 panic=-1 reboot=k mitigations=off",
       "-object", "memory-backend-memfd,id=mem,size=512M,share=on", "-machine", "pc,memory-backend=mem",
       "-chardev", "socket,id=c0,path=" + socket_path, "-netdev", "vhost-user,id=n0,chardev=c0,queues=" + queues,
       // vectors=0 (INTx): QEMU 7.2 (Debian 12) under TCG segfaults in vhost_net_start ->
       // msix_set_vector_notifiers with any vhost-user-net backend when MSI-X is on (no irqfd).
       "-device", std::string("virtio-net-pci,netdev=n0,mac=52:54:00:12:34:56,vectors=0") +
                      (pairs > 1 ? ",mq=on" : "")});
  ASSERT_TRUE(qemu.ok()) << qemu.error().message();
  const bool done = qemu->wait_for_stdout("BULWARK-NET done", std::chrono::seconds(200));
  ProcessResult result = qemu->wait(std::chrono::seconds(30));
  // Unblock the namespace's side if the guest never connected.
  ::shutdown(sink->get(), SHUT_RDWR);
  ::shutdown(source->get(), SHUT_RDWR);
  receiver.join();
  sender.join();
  const std::string console = result.out;
  EXPECT_TRUE(done) << result.describe() << "\ndevice log:\n" << device->log();
  EXPECT_NE(console.find("BULWARK-NET ping ok"), std::string::npos) << console;
  EXPECT_EQ(guest_md5(console, "BULWARK-NET sent-md5 "), md5_of(from_guest, (dir / "from_guest").string()))
      << "guest -> namespace (" << from_guest.size() << " bytes arrived)";
  EXPECT_EQ(guest_md5(console, "BULWARK-NET received-md5 "), md5_of(to_guest, (dir / "to_guest").string()))
      << "namespace -> guest";
  // The device saw QEMU go and exits on its own; its summary line counts the traffic.
  const int status = device->wait(std::chrono::seconds(10));
  const std::string log = device->log();
  EXPECT_TRUE(WIFEXITED(status)) << "wait status " << status << "\n" << log;
  // The guest's spoofing attempts got nowhere, and the device says why.
  EXPECT_NE(console.find("BULWARK-NET spoof-ip blocked"), std::string::npos) << console;
  EXPECT_NE(console.find("BULWARK-NET spoof-mac blocked"), std::string::npos) << console;
  EXPECT_TRUE(log.find("tx_ipv4_source=") != std::string::npos || log.find("tx_arp_spoof=") != std::string::npos) << log;
  EXPECT_NE(log.find("tx_source_mac="), std::string::npos) << log;
  if (pairs > 1) {
    EXPECT_NE(log.find("; pair 1: tx "), std::string::npos) << log;
  }
  const size_t features = console.find("BULWARK-NET features");
  if (features != std::string::npos) std::cout << console.substr(features, 86) << "\n";
  std::cout << "device: " << log << "\n";
  std::filesystem::remove_all(dir);
  EXPECT_LT(std::chrono::steady_clock::now(), test_deadline) << "the test ran past its own deadline";
}

INSTANTIATE_TEST_SUITE_P(QueuePairs, NetQemuLinux, ::testing::Values(1, 2),
                         [](const ::testing::TestParamInfo<int>& info) {
                           return std::to_string(info.param) + (info.param == 1 ? "Pair" : "Pairs");
                         });

}  // namespace
}  // namespace bulwark::test
