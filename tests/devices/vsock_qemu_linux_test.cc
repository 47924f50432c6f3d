// A real Linux guest on bulwark-dev-vsock: QEMU (TCG) is the vhost-user frontend
// (vhost-user-vsock-pci, guest CID read from the device's config space) with a memfd-backed
// guest RAM it shares, and boots the Debian cloud kernel of the Linux test assets with an
// initramfs (vsock_guest/) whose helper listens on vsock port 1234, connects to a host port
// nobody listens on (refused), sends 1 MiB to host port 5000 (the test's listener at
// <uds>_5000) and echoes what a host client sends to port 1234. The host side speaks the
// hybrid-vsock protocol on <uds> (a listener the test passes as --listen-fd, as the launcher
// will): CONNECT 1234 -> OK, 1 MiB each way compared; meanwhile a client sending garbage and
// one that never completes its line are closed, and one client beyond --max-connections is
// refused at once. The device runs under its seccomp policy. Every wait is bounded.
// Skips without qemu-system-x86_64, the Linux assets or a static libc for the guest helper.
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cinttypes>
#include <cstring>
#include <cstdlib>
#include <filesystem>
#include <thread>

#include "bulwark/common/unique_fd.h"
#include "tests/integration/monitor_process.h"

namespace bulwark::test {
namespace {

// The device's seccomp mode: enforce, or what BULWARK_DEVICE_SECCOMP says (the minimality suite,
// tests/minimality/record_suite.sh, runs this test with "record" under `bulwark policy record`).
std::string device_seccomp_mode() {
  const char* mode = std::getenv("BULWARK_DEVICE_SECCOMP");
  return mode != nullptr && std::string(mode) == "record" ? "record" : "enforce";
}

constexpr size_t kVsockBytes = 1 << 20;
using VsockClock = std::chrono::steady_clock;

// The guest helper's pattern (vsock_guest.c): xorshift64 from a fixed seed.
std::vector<uint8_t> guest_pattern(size_t n) {
  std::vector<uint8_t> out(n);
  uint64_t x = 0x9e3779b97f4a7c15ull;
  for (auto& b : out) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    b = static_cast<uint8_t>(x);
  }
  return out;
}

std::string fnv_hex(const std::vector<uint8_t>& bytes) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (uint8_t b : bytes) h = (h ^ b) * 0x100000001b3ull;
  char text[17];
  std::snprintf(text, sizeof text, "%016" PRIx64, h);
  return text;
}

sockaddr_un unix_address(const std::string& path) {
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::strncpy(address.sun_path, path.c_str(), sizeof address.sun_path - 1);
  return address;
}

UniqueFd unix_listener(const std::string& path, bool cloexec) {
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | (cloexec ? SOCK_CLOEXEC : 0), 0));
  const sockaddr_un address = unix_address(path);
  if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0 ||
      ::listen(fd.get(), 16) != 0)
    return UniqueFd();
  return fd;
}

// A client of the device's <uds>, reads and writes bounded by `limit`.
UniqueFd vsock_client(const std::string& path, std::string_view first_bytes, std::chrono::seconds limit) {
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  const sockaddr_un address = unix_address(path);
  if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) return UniqueFd();
  timeval t{static_cast<time_t>(limit.count()), 0};
  ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &t, sizeof t);
  ::setsockopt(fd.get(), SOL_SOCKET, SO_SNDTIMEO, &t, sizeof t);
  // The device may close a client it refuses before these bytes go (EPIPE, no SIGPIPE): the
  // caller then sees the close.
  if (!first_bytes.empty()) (void)::send(fd.get(), first_bytes.data(), first_bytes.size(), MSG_NOSIGNAL);
  return fd;
}

// How long until the peer closes `fd` (EOF or reset), or nullopt if it stays open `limit`.
std::optional<std::chrono::milliseconds> time_until_closed(int fd, std::chrono::milliseconds limit) {
  const auto start = VsockClock::now();
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(limit - (VsockClock::now() - start));
    if (left.count() <= 0) return std::nullopt;
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) != 1) continue;
    char byte;
    const ssize_t n = ::recv(fd, &byte, 1, MSG_DONTWAIT);
    if (n == 0 || (n < 0 && errno != EAGAIN)) {
      return std::chrono::duration_cast<std::chrono::milliseconds>(VsockClock::now() - start);
    }
  }
}

// The value after `marker` in the console, up to the end of its line.
std::string console_value(const std::string& console, const std::string& marker) {
  const size_t at = console.find(marker);
  if (at == std::string::npos) return "(no \"" + marker + "\" line)";
  const size_t end = console.find_first_of("\r\n", at);
  return console.substr(at + marker.size(), end == std::string::npos ? std::string::npos : end - at - marker.size());
}

TEST(VsockQemuLinux, HostAndGuestStreamAMegabyteEachWayAndHostileClientsAreClosed) {
  if (std::string(BULWARK_QEMU_SYSTEM).empty()) GTEST_SKIP() << "qemu-system-x86_64 not installed";
  const std::string assets = std::getenv("BULWARK_LINUX_ASSETS") ? std::getenv("BULWARK_LINUX_ASSETS")
                                                                 : BULWARK_LINUX_ASSETS_DIR;
  if (!std::filesystem::exists(assets + "/vmlinuz")) GTEST_SKIP() << "no Linux assets in " << assets;
  const auto test_deadline = VsockClock::now() + std::chrono::seconds(100);
  const std::string initramfs = std::string(BULWARK_VSOCK_GUEST_CACHE) + "/vsock-guest.cpio";
  ProcessResult built = run_process(BULWARK_VSOCK_GUEST_BUILDER,
                                    {"--assets", assets, "--out", initramfs, "--deb-dir", BULWARK_NET_GUEST_CACHE}, {},
                                    std::chrono::seconds(120));
  if (built.exited && built.exit_code == 77) GTEST_SKIP() << built.err;
  ASSERT_TRUE(built.exited && built.exit_code == 0) << built.describe();

  const std::filesystem::path dir = std::filesystem::temp_directory_path() /
                                    ("bulwark-vsock-qemu-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const std::string uds = (dir / "v.sock").string();
  const std::string frontend_path = (dir / "dev.sock").string();
  // The launcher's way: the listener is made outside and inherited (not close-on-exec).
  UniqueFd listener = unix_listener(uds, false);
  UniqueFd sink = unix_listener(uds + "_5000", true);
  ASSERT_TRUE(listener.valid() && sink.valid());

  auto device = ChildProcess::start(BULWARK_DEV_VSOCK,
                                    {"--socket", frontend_path, "--guest-cid", "3", "--uds-path", uds, "--listen-fd",
                                     std::to_string(listener.get()), "--max-connections", "4",
                                     "--connect-timeout-ms", "1000", "--seccomp", device_seccomp_mode()});
  ASSERT_TRUE(device.ok()) << device.error().message();
  listener.reset();
  const auto socket_wait = VsockClock::now() + std::chrono::seconds(5);
  while (!std::filesystem::exists(frontend_path) && VsockClock::now() < socket_wait) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_TRUE(std::filesystem::exists(frontend_path)) << device->wait(std::chrono::seconds(1)).describe();

  // Guest to host: whatever arrives on <uds>_5000 until EOF.
  std::vector<uint8_t> from_guest;
  std::thread receiver([&] {
    pollfd p{sink.get(), POLLIN, 0};
    if (::poll(&p, 1, 60000) != 1) return;
    UniqueFd c(::accept4(sink.get(), nullptr, nullptr, SOCK_CLOEXEC));
    timeval t{30, 0};
    ::setsockopt(c.get(), SOL_SOCKET, SO_RCVTIMEO, &t, sizeof t);
    std::vector<uint8_t> chunk(65536);
    for (;;) {
      const ssize_t n = ::read(c.get(), chunk.data(), chunk.size());
      if (n <= 0) break;
      from_guest.insert(from_guest.end(), chunk.begin(), chunk.begin() + n);
    }
  });

  auto qemu = ChildProcess::start(
      BULWARK_QEMU_SYSTEM,
      {"-accel", "tcg", "-m", "256", "-nographic", "-no-reboot", "-nodefaults", "-serial", "stdio", "-kernel",
       assets + "/vmlinuz", "-initrd", initramfs, "-append", "console=ttyS0 panic=-1 reboot=k mitigations=off quiet",
       "-object", "memory-backend-memfd,id=mem,size=256M,share=on", "-machine", "pc,memory-backend=mem", "-chardev",
       "socket,id=c0,path=" + frontend_path, "-device", "vhost-user-vsock-pci,chardev=c0"});
  ASSERT_TRUE(qemu.ok()) << qemu.error().message();
  const bool listening = qemu->wait_for_stdout("BULWARK-VSOCK listening", std::chrono::seconds(60));

  // Host to guest: CONNECT 1234 -> OK <port>, then 1 MiB out and the guest's echo back.
  std::vector<uint8_t> to_guest(kVsockBytes);
  for (size_t i = 0; i < to_guest.size(); ++i) to_guest[i] = static_cast<uint8_t>((i * 7919) >> 3);
  std::vector<uint8_t> echoed;
  std::string reply;
  std::optional<std::chrono::milliseconds> garbage_closed, stalled_closed, stalled_early, over_cap_closed;
  bool held_open = false;
  if (listening) {
    UniqueFd client = vsock_client(uds, "CONNECT 1234\n", std::chrono::seconds(30));
    ASSERT_TRUE(client.valid());
    char c = 0;
    while (reply.size() < 32 && ::read(client.get(), &c, 1) == 1) {
      reply += c;
      if (c == '\n') break;
    }
    std::thread sender([&] {
      size_t sent = 0;
      while (sent < to_guest.size()) {
        const ssize_t n = ::write(client.get(), to_guest.data() + sent, std::min<size_t>(65536, to_guest.size() - sent));
        if (n <= 0) break;
        sent += static_cast<size_t>(n);
      }
      ::shutdown(client.get(), SHUT_WR);
    });
    // While that connection works: garbage instead of CONNECT, and a line never completed.
    UniqueFd garbage = vsock_client(uds, "HELLO 1234\n", std::chrono::seconds(5));
    UniqueFd stalled = vsock_client(uds, "CONN", std::chrono::seconds(5));
    garbage_closed = time_until_closed(garbage.get(), std::chrono::seconds(3));
    stalled_early = time_until_closed(stalled.get(), std::chrono::milliseconds(300));
    stalled_closed = time_until_closed(stalled.get(), std::chrono::seconds(3));
    // The ceiling (4): the echo connection (held open: its echo is not read yet, so the guest
    // waits for credit) and three clients still writing their line; one more is closed at
    // once, long before the 1000 ms line timeout.
    std::vector<UniqueFd> held;
    for (int i = 0; i < 3; ++i) held.push_back(vsock_client(uds, "CONNECT 12", std::chrono::seconds(5)));
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    UniqueFd extra = vsock_client(uds, "CONNECT 12", std::chrono::seconds(5));
    // (No ASSERT while the sender thread runs.)
    EXPECT_TRUE(extra.valid()) << "connect: " << std::strerror(errno);
    if (extra.valid()) over_cap_closed = time_until_closed(extra.get(), std::chrono::milliseconds(700));
    held_open = !time_until_closed(held[0].get(), std::chrono::milliseconds(1)).has_value();
    std::vector<uint8_t> chunk(65536);
    for (;;) {
      const ssize_t n = ::read(client.get(), chunk.data(), chunk.size());
      if (n <= 0) break;
      echoed.insert(echoed.end(), chunk.begin(), chunk.begin() + n);
    }
    sender.join();
  }
  const bool done = qemu->wait_for_stdout("BULWARK-VSOCK done", std::chrono::seconds(30));
  ProcessResult guest = qemu->wait(std::chrono::seconds(20));
  ::shutdown(sink.get(), SHUT_RDWR);
  receiver.join();
  ProcessResult device_run = device->wait(std::chrono::seconds(10));
  const std::string console = guest.out;
  const std::string log = device_run.err;

  ASSERT_TRUE(listening) << guest.describe() << "\ndevice:\n" << log;
  EXPECT_TRUE(done) << guest.describe() << "\ndevice:\n" << log;
  // Nobody at <uds>_5001: the guest's connect is reset.
  EXPECT_EQ(console_value(console, "BULWARK-VSOCK refused-port "), "failed errno=104") << console;
  // Guest to host, 1 MiB of the helper's pattern.
  EXPECT_EQ(from_guest.size(), kVsockBytes);
  EXPECT_TRUE(from_guest == guest_pattern(kVsockBytes)) << "guest -> host bytes differ";
  EXPECT_EQ(console_value(console, "BULWARK-VSOCK sent "), "1048576 fnv=" + fnv_hex(guest_pattern(kVsockBytes)));
  // Host to guest and back.
  EXPECT_EQ(reply, "OK 1073741824\n");  // the first host-initiated local port, as Firecracker's
  EXPECT_EQ(console_value(console, "BULWARK-VSOCK echoed "), "1048576 fnv=" + fnv_hex(to_guest)) << console;
  EXPECT_EQ(echoed.size(), to_guest.size());
  EXPECT_TRUE(echoed == to_guest) << "echo differs";
  // The hostile clients.
  EXPECT_TRUE(garbage_closed.has_value()) << "a client sending garbage stayed open";
  EXPECT_FALSE(stalled_early.has_value()) << "an incomplete CONNECT line was closed before its timeout";
  EXPECT_TRUE(stalled_closed.has_value()) << "an incomplete CONNECT line stayed open past its timeout";
  ASSERT_TRUE(over_cap_closed.has_value()) << "a client over the connection ceiling stayed open";
  EXPECT_LT(over_cap_closed->count(), 700);
  EXPECT_TRUE(held_open) << "a client within the ceiling was closed early";
  // The device saw QEMU go, exited on its own and counted all of it.
  EXPECT_TRUE(device_run.exited && device_run.exit_code == 0) << device_run.describe();
  for (const char* counter : {"host_bad_connect=1", "host_connect_timeout=", "host_cap_refused=",
                              "guest_connect_refused=1", "1 opened by the guest"}) {
    EXPECT_NE(log.find(counter), std::string::npos) << counter << " not in:\n" << log;
  }
  std::cout << "device: " << log.substr(log.rfind("connections:") == std::string::npos ? 0 : log.rfind("connections:"));
  std::filesystem::remove_all(dir);
  EXPECT_LT(VsockClock::now(), test_deadline) << "the test ran past its own deadline";
}

}  // namespace
}  // namespace bulwark::test
