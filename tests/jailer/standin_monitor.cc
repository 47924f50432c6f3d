// A TEST-ONLY stand-in for bulwark-monitor, for the launcher's device tests (jail_net_test.cc,
// jail_disk_test.cc) on hosts without KVM. The real launcher starts it in the monitor's real
// jail, with the monitor's argv and fds (--monitor points here); it reads /vm.json as the monitor
// would and plays the guest's drivers over the launcher-made sockets to the jailed device
// processes (the tests' guest-less drivers), so everything between the launcher's configs and
// the bytes on a TAP or in an image file is the production path.
//
// With disks (vhost-user-blk), for each disk N in order: reads 4 KiB at offset 0 and prints
// `STANDIN-BLK N read <first 8 bytes in hex>`, writes 4 KiB of 0x5a at 1 MiB, flushes, prints
// `STANDIN-BLK N wrote ok`; any failure prints `STANDIN-BLK N fail <why>`. Then, with no NIC,
// it exits 0.
//
// With "standin.wait" in the kernel command line it then prints `STANDIN-RUNNING vcpus=N
// memory_mib=M disks=D` and waits for SIGTERM (the API tests' running VM), serving the
// launcher's control channel when it has one (serve_control below).
//
// With a NIC (vhost-user-net):
//   1. sends one frame whose source MAC is not the NIC's (the device must drop it),
//   2. then, every 100 ms, an honest UDP frame with payload "BULWARK-GUEST-HELLO",
//   3. until a frame with payload "BULWARK-NS-HELLO" arrives on its receive queue;
// then it prints `STANDIN-NET-RX ok` and exits 0. Any failure prints `STANDIN-NET-FAIL <why>`
// and exits 3; no answer within 30 s exits 4; SIGTERM (the launcher's stop) exits 0.
#include <sys/socket.h>
#include <unistd.h>

#include <csignal>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <algorithm>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

#include "api/command/command.h"
#include "devices/vhost_user/protocol.h"
#include "monitor/config/json_config.h"
#include "tests/devices/net_test_guest.h"

// Leak checking at exit needs /proc, which the monitor's jail has not (sanitizer builds).
extern "C" const char* __lsan_default_options() { return "detect_leaks=0"; }  // NOLINT

namespace {

using namespace bulwark;

int fail(const std::string& why) {
  std::printf("STANDIN-NET-FAIL %s\n", why.c_str());
  std::fflush(stdout);
  return 3;
}

bool contains(const std::vector<uint8_t>& bytes, const std::string& text) {
  return std::search(bytes.begin(), bytes.end(), text.begin(), text.end()) != bytes.end();
}

}  // namespace

// One virtio-blk request on queue 0: header, data, status; the status byte (0xff: no answer).
uint8_t blk_request(test::TestFrontend& f, uint32_t type, uint64_t sector, uint64_t data, uint32_t bytes, bool in) {
  const uint64_t header = f.allocate(16);
  std::memcpy(f.guest(header), &type, 4);
  std::memset(f.guest(header + 4), 0, 4);
  std::memcpy(f.guest(header + 8), &sector, 8);
  std::vector<test::TestFrontend::Buffer> chain{{header, 16, false}};
  if (bytes > 0) chain.push_back({data, bytes, in});
  const uint64_t status = f.allocate(1);
  *f.guest(status) = 0xff;
  chain.push_back({status, 1, true});
  if (!f.submit(0, chain).ok()) return 0xff;
  return *f.guest(status);
}

// Returns the connection (a disk stays served while it is held), or null after a failure.
std::unique_ptr<test::TestFrontend> exercise_disk(size_t index, int fd) {
  const std::string tag = "STANDIN-BLK " + std::to_string(index) + " ";
  auto frontend = test::TestFrontend::create(UniqueFd(fd));
  if (!frontend.ok() || !(*frontend)->start(1ULL << 9 /* FLUSH */).ok()) {
    std::printf("%sfail vhost-user set-up\n", tag.c_str());
    return nullptr;
  }
  test::TestFrontend& f = **frontend;
  const uint64_t buffer = f.allocate(4096);
  if (blk_request(f, 0 /* IN */, 0, buffer, 4096, true) != 0) {
    std::printf("%sfail read\n", tag.c_str());
    return nullptr;
  }
  std::string hex;
  for (int i = 0; i < 8; ++i) {
    char byte[3];
    std::snprintf(byte, sizeof byte, "%02x", *f.guest(buffer + i));
    hex += byte;
  }
  std::printf("%sread %s\n", tag.c_str(), hex.c_str());
  std::memset(f.guest(buffer), 0x5a, 4096);
  if (blk_request(f, 1 /* OUT */, 2048, buffer, 4096, false) != 0 || blk_request(f, 4 /* FLUSH */, 0, 0, 0, false) != 0) {
    std::printf("%sfail write\n", tag.c_str());
    return nullptr;
  }
  std::printf("%swrote ok\n", tag.c_str());
  std::fflush(stdout);
  return std::move(*frontend);
}

// The launcher's control channel, as the monitor serves it (monitor/vmm/control_dispatch.h):
// pause/resume print STANDIN-PAUSED / STANDIN-RESUMED; Ctrl-Alt-Del prints
// STANDIN-CTRL-ALT-DEL and ends the VM as a guest that reboots would; metrics answer one gauge.
// ReplaceDevice (a restarted device process, jailer/device_supervisor.h): with its one fd, a
// vhost-user GET_FEATURES round trip on it prints `STANDIN-REPLACED <index> features=0x<hex> #N`
// (N counts the replacements taken so far; the connection is kept, so the new process keeps serving); without an fd it prints
// `STANDIN-FAILED <index>`; both answer 204.
int serve_control(int fd) {
  bool paused = false;
  std::vector<uint8_t> buffer(api::kMaxMessageBytes);
  std::vector<std::unique_ptr<test::TestFrontend>> replaced;
  for (;;) {
    iovec iov{buffer.data(), buffer.size()};
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * 4)] = {};
    msghdr message{};
    message.msg_iov = &iov;
    message.msg_iovlen = 1;
    message.msg_control = control;
    message.msg_controllen = sizeof(control);
    const ssize_t n = ::recvmsg(fd, &message, MSG_CMSG_CLOEXEC);
    if (n <= 0) return 0;  // the launcher went away
    std::vector<UniqueFd> passed;
    for (cmsghdr* h = CMSG_FIRSTHDR(&message); h != nullptr; h = CMSG_NXTHDR(&message, h)) {
      if (h->cmsg_level != SOL_SOCKET || h->cmsg_type != SCM_RIGHTS) continue;
      const size_t count = (h->cmsg_len - CMSG_LEN(0)) / sizeof(int);
      for (size_t i = 0; i < count; ++i) {
        int received = -1;
        std::memcpy(&received, CMSG_DATA(h) + i * sizeof(int), sizeof(int));
        passed.emplace_back(received);
      }
    }
    auto command = api::decode_command(std::span<const uint8_t>(buffer.data(), static_cast<size_t>(n)));
    api::Reply reply{204, api::Reply::Body::kNone, ""};
    bool end = false;
    if (!command.ok()) {
      reply = {400, api::Reply::Body::kFault, "malformed command"};
    } else if (const auto* set = std::get_if<api::SetVmState>(&*command)) {
      if (set->paused == paused) {
        reply = {400, api::Reply::Body::kFault, paused ? "already paused" : "already running"};
      } else {
        paused = set->paused;
        std::printf(paused ? "STANDIN-PAUSED\n" : "STANDIN-RESUMED\n");
      }
    } else if (std::holds_alternative<api::SendCtrlAltDel>(*command)) {
      std::printf("STANDIN-CTRL-ALT-DEL\n");
      end = true;
    } else if (const auto* replace = std::get_if<api::ReplaceDevice>(&*command)) {
      const auto index = static_cast<unsigned long long>(replace->device_index);
      if (passed.empty()) {
        std::printf("STANDIN-FAILED %llu\n", index);
      } else {
        auto frontend = test::TestFrontend::create(std::move(passed.front()));
        auto features = frontend.ok() ? (*frontend)->get_u64(vhost_user::Request::GET_FEATURES)
                                      : Result<uint64_t>(Error("no frontend"));
        if (features.ok()) {
          replaced.push_back(std::move(*frontend));
          std::printf("STANDIN-REPLACED %llu features=0x%llx #%zu\n", index, static_cast<unsigned long long>(*features),
                      replaced.size());
        } else {
          std::printf("STANDIN-REPLACED %llu fail %s\n", index, features.error().message().c_str());
        }
      }
    } else if (std::holds_alternative<api::GetMetrics>(*command)) {
      reply = {200, api::Reply::Body::kPrometheus,
               std::string("# TYPE bulwark_monitor_paused gauge\nbulwark_monitor_paused ") + (paused ? "1" : "0") + "\n"};
    } else {
      reply = {400, api::Reply::Body::kFault, "not a monitor command"};
    }
    std::fflush(stdout);
    const std::vector<uint8_t> bytes = api::encode_reply(reply);
    if (::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL) < 0) return 0;
    if (end) return 0;
  }
}

int main(int argc, char** argv) {
  // PID 1 of its pid namespace: SIGTERM (the launcher's stop) needs a handler to end it.
  std::signal(SIGTERM, [](int) { ::_exit(0); });
  std::string config_path;
  for (int i = 1; i + 1 < argc; ++i) {
    if (std::strcmp(argv[i], "--config") == 0) config_path = argv[i + 1];
  }
  std::ifstream in(config_path);
  std::stringstream text;
  text << in.rdbuf();
  auto vm = config::parse_vm_config_json(text.str());
  if (!vm.ok()) return fail("config: " + vm.error().message());
  // No guest uses the TPM here: its connection to swtpm is let go, so the host's tools
  // (tpm2_pcrread, `bulwark attest quote`) get swtpm, which serves one connection at a time.
  if (vm->tpm_fd >= 0) ::close(vm->tpm_fd);
  int net_fd = -1;
  size_t disks = 0;
  // A running VM (standin.wait) keeps its disks connected, so their processes keep serving
  // (the API tests' PATCH /drives reaches a live device).
  const bool wait = vm->cmdline.find("standin.wait") != std::string::npos;
  std::vector<std::unique_ptr<test::TestFrontend>> held_disks;
  for (const config::DeviceConfig& device : vm->devices) {
    if (device.type == config::kVhostUserNet) net_fd = device.socket_fd;
    if (device.type == config::kVhostUserBlk) {
      auto connection = exercise_disk(disks++, device.socket_fd);
      if (wait && connection) held_disks.push_back(std::move(connection));
    }
  }
  // "standin.wait" on the VM's command line (the API tests): stay running, as a guest would,
  // until the launcher stops it.
  if (wait) {
    std::printf("STANDIN-RUNNING vcpus=%llu memory_mib=%llu disks=%zu\n", static_cast<unsigned long long>(vm->vcpus),
                static_cast<unsigned long long>(vm->memory_mib), disks);
    std::fflush(stdout);
    if (vm->control_fd >= 0) return serve_control(vm->control_fd);
    for (;;) ::pause();
  }
  std::fflush(stdout);
  if (net_fd < 0) return 0;

  // VIRTIO_NET_F_MAC | MRG_RXBUF | STATUS: the guest learns its MAC from the device.
  constexpr uint64_t kFeatures = (1ULL << 5) | (1ULL << 15) | (1ULL << 16);
  auto guest = test::NetTestGuest::start(UniqueFd(net_fd), kFeatures);
  if (!guest.ok()) return fail("vhost-user: " + guest.error().message());
  auto config = (*guest)->frontend().call(vhost_user::make_config_request(
      vhost_user::Request::GET_CONFIG, vhost_user::DeviceConfig{0, 6, 0, std::vector<uint8_t>(6, 0)}));
  if (!config.ok()) return fail("GET_CONFIG: " + config.error().message());
  auto parsed = vhost_user::parse_device_config(*config);
  if (!parsed.ok() || parsed->bytes.size() != 6) return fail("GET_CONFIG: no MAC");
  test::Mac mac{};
  std::copy(parsed->bytes.begin(), parsed->bytes.end(), mac.begin());
  const test::Mac broadcast{0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
  const test::Mac foreign{0x02, 0x66, 0x66, 0x66, 0x66, 0x66};

  (*guest)->post_rx_buffers(8, 2048);
  const std::string spoof = "BULWARK-GUEST-SPOOF";
  const std::string hello = "BULWARK-GUEST-HELLO";
  auto spoofed = test::udp_frame(broadcast, foreign, "10.77.0.2", "10.77.0.1", 4000, 4000,
                                 std::span(reinterpret_cast<const uint8_t*>(spoof.data()), spoof.size()));
  if (Status s = (*guest)->send_frame(spoofed); !s.ok()) return fail("send: " + s.error().message());
  auto honest = test::udp_frame(broadcast, mac, "10.77.0.2", "10.77.0.1", 4000, 4000,
                                std::span(reinterpret_cast<const uint8_t*>(hello.data()), hello.size()));
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < deadline) {
    if (Status s = (*guest)->send_frame(honest); !s.ok()) return fail("send: " + s.error().message());
    auto packet = (*guest)->receive(std::chrono::milliseconds(100));
    if (packet.ok() && contains(*packet, "BULWARK-NS-HELLO")) {
      std::printf("STANDIN-NET-RX ok\n");
      std::fflush(stdout);
      return 0;
    }
  }
  std::printf("STANDIN-NET-FAIL no frame from the namespace in 30 s\n");
  std::fflush(stdout);
  return 4;
}
