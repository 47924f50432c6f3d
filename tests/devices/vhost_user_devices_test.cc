// bulwark-monitor with real device processes over vhost-user: the virtio_blk guest's disk and
// rng requests reach bulwark-dev-blk and bulwark-dev-rng and the bytes land in the image file;
// a device that dies leaves the monitor and the rest of the VM running; a device socket that
// is dead at start is refused with the device named; and the same guest runs against
// qemu-storage-daemon's vhost-user-blk export.
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <vector>

#include "devices/vhost_user/protocol.h"
#include "monitor/vmm/exit_codes.h"
#include "tests/devices/cutting_proxy.h"
#include "tests/devices/device_test_support.h"
#include "tests/integration/guest_test_support.h"

namespace bulwark::test {
namespace {

using namespace std::chrono_literals;

constexpr auto kMonitorTimeout = 120s;

class DeviceTest : public GuestTest {
 protected:
  // Tests that run bulwark-dev-blk / bulwark-dev-rng call this first.
  static bool device_processes_built() {
    return std::string(BULWARK_DEV_BLK).size() > 0 && std::string(BULWARK_DEV_RNG).size() > 0;
  }

  void SetUp() override {
    GuestTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    ASSERT_FALSE(dir_.path().empty());
    image_ = dir_.path() + "/disk.img";
    ASSERT_TRUE(write_background_image(image_).ok());
  }

  // bulwark-dev-blk with the image as an open fd, on one end of a new socketpair; the other
  // end is for the frontend.
  struct BlkProcess {
    ChildProcess process;
    UniqueFd frontend_end;
  };
  Result<BlkProcess> start_blk() {
    auto pair = make_socketpair();
    if (!pair.ok()) return pair.error();
    UniqueFd image(::open(image_.c_str(), O_RDWR | O_CLOEXEC));
    if (!image.valid()) return Error::from_errno("open image", errno);
    const int socket_fd = pair->second.get();
    auto blk = start_with_fds(BULWARK_DEV_BLK,
                              {"--socket-fd", std::to_string(socket_fd), "--image-fd", std::to_string(image.get())},
                              {socket_fd, image.get()});
    if (!blk.ok()) return blk.error();
    return BlkProcess{std::move(*blk), std::move(pair->first)};
  }
  // bulwark-dev-rng listening on rng_socket().
  Result<ChildProcess> start_rng() {
    const std::string path = rng_socket();
    auto rng = ChildProcess::start(BULWARK_DEV_RNG, {"--socket", path});
    if (rng.ok() && !wait_for_path(path, 10s)) return Error("bulwark-dev-rng did not create " + path);
    return rng;
  }
  std::string rng_socket() const { return dir_.path() + "/rng.sock"; }
  // bulwark-monitor on the virtio_blk guest, its disk's vhost-user socket handed over as fd
  // `disk` (closed here once the monitor has it), then `extra` arguments.
  static Result<ChildProcess> start_monitor(UniqueFd disk, const std::vector<std::string>& extra) {
    std::vector<std::string> args{"--vhost-user-blk", "fd:" + std::to_string(disk.get())};
    args.insert(args.end(), extra.begin(), extra.end());
    return start_with_fds(monitor_path(), guest_args("virtio_blk", args), {disk.get()});
  }

  static bool storage_daemon_installed() { return std::string(BULWARK_QEMU_STORAGE_DAEMON).size() > 0; }
  // qemu-storage-daemon exporting the image as a writable vhost-user-blk device on
  // qsd_socket(), once the socket is there.
  Result<ChildProcess> start_storage_daemon() {
    const std::string socket = qsd_socket();
    auto qsd = ChildProcess::start(
        BULWARK_QEMU_STORAGE_DAEMON,
        {"--blockdev", "driver=file,node-name=f,filename=" + image_, "--blockdev", "driver=raw,node-name=d,file=f",
         "--export", "type=vhost-user-blk,id=e,node-name=d,addr.type=unix,addr.path=" + socket + ",writable=on"});
    if (qsd.ok() && !wait_for_path(socket, 20s)) {
      return Error("qemu-storage-daemon did not create " + socket + ": " + qsd->wait(1s).describe());
    }
    return qsd;
  }
  std::string qsd_socket() const { return dir_.path() + "/qsd.sock"; }

  TempDir dir_;
  std::string image_;
};

bool console_has(const ProcessResult& r, std::string_view line) { return has_line(r.out, line); }

Result<UniqueFd> connect_unix(const std::string& path) {
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (!fd.valid() || path.size() >= sizeof address.sun_path) return Error("socket " + path);
  path.copy(address.sun_path, path.size());
  if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
    return Error::from_errno("connect " + path, errno);
  }
  return fd;
}

TEST_F(DeviceTest, GuestDiskAndRngReachTheDeviceProcesses) {
  if (!device_processes_built()) GTEST_SKIP() << "bulwark-dev-blk / bulwark-dev-rng not built";
  auto blk = start_blk();
  ASSERT_TRUE(blk.ok()) << blk.error().message();
  auto rng = start_rng();
  ASSERT_TRUE(rng.ok()) << rng.error().message();

  auto monitor = start_monitor(std::move(blk->frontend_end), {"--vhost-user-rng", rng_socket()});
  ASSERT_TRUE(monitor.ok()) << monitor.error().message();
  const ProcessResult result = monitor->wait(kMonitorTimeout);
  ASSERT_TRUE(result.exited && result.exit_code == vmm::kExitGuestReset) << result.describe();
  EXPECT_TRUE(console_has(result, "VIRTIO-TEST PASS")) << result.describe();
  EXPECT_TRUE(console_has(result, "virtio-rng: 64 bytes OK")) << result.describe();
  EXPECT_TRUE(console_has(result, "virtio-blk: write-zeroes sector 16..19 OK")) << result.describe();
  EXPECT_EQ(result.err.find("device failed"), std::string::npos) << result.describe();

  // With the monitor gone their sockets close and both device processes end by themselves.
  const ProcessResult blk_end = blk->process.wait(20s);
  EXPECT_TRUE(blk_end.exited && blk_end.exit_code == 0) << blk_end.describe();
  const ProcessResult rng_end = rng->wait(20s);
  EXPECT_TRUE(rng_end.exited && rng_end.exit_code == 0) << rng_end.describe();

  auto image = read_file_bytes(image_);
  ASSERT_TRUE(image.ok());
  EXPECT_EQ(check_guest_image(*image, /*expect_zeroes=*/true), "");
}

// The disk's device process is SIGKILLed at the moment the guest starts the disk (its first
// SET_FEATURES, before any disk I/O): the device fails with a logged reason, the guest's disk
// requests go unanswered, the rng keeps working, the guest finishes and resets, and the
// monitor exits as it does for any guest reset. The image is untouched.
TEST_F(DeviceTest, DiskProcessKilledWhenTheGuestStartsTheDevice) {
  if (!device_processes_built()) GTEST_SKIP() << "bulwark-dev-blk / bulwark-dev-rng not built";
  auto proxy_pair = make_socketpair();
  ASSERT_TRUE(proxy_pair.ok());
  auto blk = start_blk();
  ASSERT_TRUE(blk.ok()) << blk.error().message();
  const pid_t blk_pid = blk->process.pid();
  CuttingProxy proxy(std::move(proxy_pair->second), std::move(blk->frontend_end),
                     static_cast<uint32_t>(vhost_user::Request::SET_FEATURES),
                     [blk_pid] { ::kill(blk_pid, SIGKILL); });
  auto rng = start_rng();
  ASSERT_TRUE(rng.ok()) << rng.error().message();

  const int monitor_end = proxy_pair->first.get();
  auto monitor = start_monitor(std::move(proxy_pair->first), {"--vhost-user-rng", rng_socket()});
  ASSERT_TRUE(monitor.ok()) << monitor.error().message();
  const ProcessResult result = monitor->wait(kMonitorTimeout);
  ASSERT_TRUE(result.exited && result.exit_code == vmm::kExitGuestReset) << result.describe();
  EXPECT_TRUE(proxy.cut());
  EXPECT_NE(result.err.find("vhost-user-blk 0 (fd " + std::to_string(monitor_end) + "): device failed"),
            std::string::npos)
      << result.describe();
  EXPECT_NE(result.out.find("VIRTIO-TEST FAIL"), std::string::npos) << result.describe();
  EXPECT_TRUE(console_has(result, "virtio-rng: 64 bytes OK")) << result.describe();
  const ProcessResult blk_end = blk->process.wait(10s);
  EXPECT_FALSE(blk_end.exited) << blk_end.describe();
  EXPECT_EQ(blk_end.term_signal, SIGKILL);

  auto image = read_file_bytes(image_);
  ASSERT_TRUE(image.ok());
  EXPECT_EQ(*image, std::vector<uint8_t>(kImageSectors * kSectorBytes, kBackgroundByte));
}

// SIGKILL of the disk's process at some point while the guest runs: whenever it lands, the
// monitor ends the way the guest ends it, and if the guest did not pass, the monitor said which
// device failed.
TEST_F(DeviceTest, DiskProcessKilledWhileTheGuestRuns) {
  if (!device_processes_built()) GTEST_SKIP() << "bulwark-dev-blk / bulwark-dev-rng not built";
  auto blk = start_blk();
  ASSERT_TRUE(blk.ok()) << blk.error().message();
  auto monitor = start_monitor(std::move(blk->frontend_end), {"--cmdline", "rng=0"});
  ASSERT_TRUE(monitor.ok()) << monitor.error().message();
  EXPECT_TRUE(monitor->wait_for_stdout("virtio: start", 60s));
  ASSERT_TRUE(blk->process.send_signal(SIGKILL).ok());
  const ProcessResult result = monitor->wait(kMonitorTimeout);
  ASSERT_TRUE(result.exited && result.exit_code == vmm::kExitGuestReset) << result.describe();
  if (!console_has(result, "VIRTIO-TEST PASS")) {
    EXPECT_NE(result.out.find("VIRTIO-TEST FAIL"), std::string::npos) << result.describe();
    EXPECT_NE(result.err.find("device failed"), std::string::npos) << result.describe();
  }
}

// A device whose socket is already dead when the monitor starts (its process exited before
// the handshake): only that device fails, logged naming it; the VM starts without it and the
// guest's other device works.
TEST_F(DeviceTest, DeadDeviceSocketAtStartFailsOnlyThatDevice) {
  auto pair = make_socketpair();
  ASSERT_TRUE(pair.ok());
  pair->second.reset();
  const int monitor_end = pair->first.get();
  auto monitor = start_with_fds(monitor_path(),
                                guest_args("virtio_blk", {"--vhost-user-rng", "fd:" + std::to_string(monitor_end)}),
                                {monitor_end});
  ASSERT_TRUE(monitor.ok());
  const ProcessResult result = monitor->wait(60s);
  ASSERT_TRUE(result.exited) << result.describe();
  EXPECT_EQ(result.exit_code, vmm::kExitGuestReset) << result.describe();
  EXPECT_NE(result.err.find("vhost-user-rng 0 (fd " + std::to_string(monitor_end) + "): the device failed its handshake"),
            std::string::npos)
      << result.describe();
  EXPECT_NE(result.out.find("virtio: start"), std::string::npos) << "the guest must have run";
}

TEST_F(DeviceTest, MissingSocketPathIsAConfigError) {
  const ProcessResult result =
      run_guest("virtio_blk", {"--vhost-user-blk", dir_.path() + "/nobody-listens.sock"}, {}, 30s);
  ASSERT_TRUE(result.exited) << result.describe();
  EXPECT_EQ(result.exit_code, vmm::kExitConfigError) << result.describe();
  EXPECT_NE(result.err.find("nobody-listens.sock"), std::string::npos) << result.describe();
}

// Interop: the monitor's frontend against a vhost-user-blk backend no one here wrote.
TEST_F(DeviceTest, QemuStorageDaemonServesTheGuestDisk) {
  if (!storage_daemon_installed()) GTEST_SKIP() << "qemu-storage-daemon is not installed";
  auto qsd = start_storage_daemon();
  ASSERT_TRUE(qsd.ok()) << qsd.error().message();

  const ProcessResult result =
      run_guest("virtio_blk", {"--vhost-user-blk", qsd_socket(), "--cmdline", "rng=0"}, {}, kMonitorTimeout);
  ASSERT_TRUE(result.exited && result.exit_code == vmm::kExitGuestReset) << result.describe();
  EXPECT_TRUE(console_has(result, "VIRTIO-TEST PASS")) << result.describe();
  ASSERT_TRUE(qsd->send_signal(SIGTERM).ok());
  const ProcessResult qsd_end = qsd->wait(20s);
  EXPECT_TRUE(qsd_end.exited) << qsd_end.describe();

  auto image = read_file_bytes(image_);
  ASSERT_TRUE(image.ok());
  const bool zeroed = console_has(result, "virtio-blk: write-zeroes sector 16..19 OK");
  EXPECT_EQ(check_guest_image(*image, zeroed), "") << result.out;
}

// The device failure of DiskProcessKilledWhenTheGuestStartsTheDevice with qemu-storage-daemon
// as the backend (runs wherever QEMU's tools are installed): the daemon is SIGKILLed when the
// guest starts the disk; the monitor fails the device, the guest's requests go unanswered, it
// reports the failure and resets, and the image keeps its background bytes.
TEST_F(DeviceTest, StorageDaemonKilledWhenTheGuestStartsTheDevice) {
  if (!storage_daemon_installed()) GTEST_SKIP() << "qemu-storage-daemon is not installed";
  auto qsd = start_storage_daemon();
  ASSERT_TRUE(qsd.ok()) << qsd.error().message();
  auto daemon_side = connect_unix(qsd_socket());
  ASSERT_TRUE(daemon_side.ok()) << daemon_side.error().message();
  auto proxy_pair = make_socketpair();
  ASSERT_TRUE(proxy_pair.ok());
  const pid_t qsd_pid = qsd->pid();
  CuttingProxy proxy(std::move(proxy_pair->second), std::move(*daemon_side),
                     static_cast<uint32_t>(vhost_user::Request::SET_FEATURES),
                     [qsd_pid] { ::kill(qsd_pid, SIGKILL); });

  const int monitor_end = proxy_pair->first.get();
  auto monitor = start_monitor(std::move(proxy_pair->first), {"--cmdline", "rng=0"});
  ASSERT_TRUE(monitor.ok()) << monitor.error().message();
  const ProcessResult result = monitor->wait(kMonitorTimeout);
  ASSERT_TRUE(result.exited && result.exit_code == vmm::kExitGuestReset) << result.describe();
  EXPECT_TRUE(proxy.cut());
  EXPECT_GT(proxy.forwarded(), 5u) << "the handshake went through the proxy";
  EXPECT_NE(result.err.find("vhost-user-blk 0 (fd " + std::to_string(monitor_end) + "): device failed"),
            std::string::npos)
      << result.describe();
  EXPECT_NE(result.out.find("VIRTIO-TEST FAIL"), std::string::npos) << result.describe();
  const ProcessResult qsd_end = qsd->wait(10s);
  EXPECT_EQ(qsd_end.term_signal, SIGKILL) << qsd_end.describe();
  auto image = read_file_bytes(image_);
  ASSERT_TRUE(image.ok());
  EXPECT_EQ(*image, std::vector<uint8_t>(kImageSectors * kSectorBytes, kBackgroundByte));
}

}  // namespace
}  // namespace bulwark::test
