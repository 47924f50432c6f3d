// A disk whose device process dies under a running Linux guest (issue 18): QEMU (TCG) is the
// vhost-user frontend, with `reconnect=1` on its socket, and boots the Debian test kernel with
// an initramfs (blk_reconnect/init.sh) that writes and reads back its disk in rounds with
// O_DIRECT. The test SIGKILLs bulwark-dev-blk twice while the rounds run and starts a fresh
// one on the same socket and image each time, as the launcher will. The guest must see every
// round read back what it wrote, no I/O error in its kernel log, and the image must hold each
// round's bytes afterwards. Skips without qemu-system-x86_64, the Linux assets or cpio.
#include <signal.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include "tests/devices/blk_socket_device.h"
#include "tests/integration/monitor_process.h"

namespace bulwark::test {
namespace {

using namespace std::chrono_literals;

constexpr int kRounds = 24;
constexpr size_t kRoundBytes = 512 * 1024;

std::string assets_dir() {
  const char* from_env = std::getenv("BULWARK_LINUX_ASSETS");
  return from_env != nullptr ? from_env : BULWARK_LINUX_ASSETS_DIR;
}

// The assets' initramfs (busybox, the virtio modules) with blk_reconnect/init.sh as /init.
std::string build_initramfs(const std::filesystem::path& dir, std::string& error) {
  const std::string out = (dir / "reconnect.cpio").string();
  const std::string script =
      "set -e; mkdir -p \"$1/root\"; cd \"$1/root\"; cpio -id --quiet < \"$2/initramfs.cpio\"; "
      "cp \"$3\" init; chmod 755 init; find . | cpio -o -H newc --quiet > \"$4\"";
  ProcessResult built = run_process("/bin/sh", {"-c", script, "sh", dir.string(), assets_dir(),
                                                BULWARK_BLK_RECONNECT_INIT, out},
                                    {}, 60s);
  if (!built.exited || built.exit_code != 0) {
    error = built.describe();
    return "";
  }
  return out;
}

// The md5 of `bytes` bytes of `file` at `offset`, with md5sum.
std::string md5_at(const std::string& file, size_t offset, size_t bytes, const std::filesystem::path& scratch) {
  std::ifstream in(file, std::ios::binary);
  std::vector<char> data(bytes);
  in.seekg(static_cast<std::streamoff>(offset));
  in.read(data.data(), static_cast<std::streamsize>(bytes));
  const std::string path = (scratch / "round.bin").string();
  std::ofstream(path, std::ios::binary).write(data.data(), static_cast<std::streamsize>(bytes));
  const ProcessResult sum = run_process("/usr/bin/md5sum", {path}, {}, 10s);
  return sum.out.substr(0, 32);
}

// Kills the device process and starts its replacement on the same socket path and image.
Result<ChildProcess> replace_device(ChildProcess& device, const std::string& image, const std::string& socket,
                                    std::string& ended) {
  (void)device.send_signal(SIGKILL);
  const ProcessResult end = device.wait(10s);
  ended = describe_device_end(end);
  if (end.exited || end.term_signal != SIGKILL) return Error("the device did not die of SIGKILL: " + ended);
  std::filesystem::remove(socket);  // the dead process's listener
  return start_blk_on_socket(image, socket);
}

TEST(BlkReconnect, LinuxKeepsEveryWriteWhileItsDiskProcessIsKilledAndReplacedTwice) {
  const std::string qemu = BULWARK_QEMU_SYSTEM;
  if (qemu.empty()) GTEST_SKIP() << "qemu-system-x86_64 is not installed";
  if (dev_blk_path().empty()) GTEST_SKIP() << "bulwark-dev-blk not built";
  if (!std::filesystem::exists(assets_dir() + "/vmlinuz")) GTEST_SKIP() << "no Linux assets in " << assets_dir();
  const auto test_deadline = std::chrono::steady_clock::now() + 240s;
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("bulwark-blk-reconnect-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  std::string error;
  const std::string initramfs = build_initramfs(dir, error);
  if (initramfs.empty()) GTEST_SKIP() << "cannot build the initramfs (cpio?): " << error;

  const std::string image = (dir / "disk.img").string();
  std::ofstream(image).close();
  std::filesystem::resize_file(image, (kRounds + 2) * kRoundBytes);
  const std::string socket = (dir / "blk.sock").string();
  auto first = start_blk_on_socket(image, socket);
  ASSERT_TRUE(first.ok()) << first.error().message();
  std::optional<ChildProcess> device;
  device.emplace(std::move(*first));

  auto guest = ChildProcess::start(
      qemu, {"-accel", "tcg", "-m", "256", "-nographic", "-no-reboot", "-nodefaults", "-serial", "stdio",
             "-kernel", assets_dir() + "/vmlinuz", "-initrd", initramfs, "-append",
             "console=ttyS0 panic=-1 reboot=k mitigations=off quiet reconnect_rounds=" + std::to_string(kRounds),
             "-object", "memory-backend-memfd,id=mem,size=256M,share=on", "-machine", "pc,memory-backend=mem",
             // reconnect=1: QEMU connects again, once a second, when the device's socket closes.
             "-chardev", "socket,id=c0,path=" + socket + ",reconnect=1",
             "-device", "vhost-user-blk-pci,chardev=c0,num-queues=1"});
  ASSERT_TRUE(guest.ok()) << guest.error().message();

  std::vector<std::string> ends;
  for (int after_round : {4, 12}) {
    const std::string marker = "BULWARK-RECONNECT round " + std::to_string(after_round) + " ";
    ASSERT_TRUE(guest->wait_for_stdout(marker, 150s)) << guest->wait(5s).describe();
    std::string ended;
    auto replacement = replace_device(*device, image, socket, ended);
    ASSERT_TRUE(replacement.ok()) << replacement.error().message();
    ends.push_back(ended);
    device.reset();
    device.emplace(std::move(*replacement));
  }
  const bool done = guest->wait_for_stdout("BULWARK-RECONNECT done", 150s);
  const ProcessResult run = guest->wait(30s);
  const ProcessResult last_end = device->wait(15s);
  const std::string console = run.out;
  ASSERT_TRUE(done) << run.describe() << "\n" << describe_device_end(last_end);

  for (int round = 1; round <= kRounds; ++round) {
    const std::string prefix = "BULWARK-RECONNECT round " + std::to_string(round) + " ok ";
    const size_t at = console.find(prefix);
    ASSERT_NE(at, std::string::npos) << "round " << round << " did not read back what it wrote:\n" << console;
    // What the guest wrote is in the image at the round's offset.
    EXPECT_EQ(console.substr(at + prefix.size(), 32), md5_at(image, round * kRoundBytes, kRoundBytes, dir))
        << "round " << round;
  }
  EXPECT_EQ(console.find("MISMATCH"), std::string::npos) << console;
  EXPECT_EQ(console.find(" write-error"), std::string::npos) << console;
  EXPECT_EQ(console.find(" read-error"), std::string::npos) << console;
  EXPECT_NE(console.find("BULWARK-RECONNECT io-errors 0"), std::string::npos) << console;
  // The last replacement saw QEMU go and ended by itself.
  EXPECT_TRUE(ended_cleanly(last_end)) << describe_device_end(last_end);
  for (const std::string& end : ends) std::cout << end.substr(0, end.find('\n')) << "\n";
  std::filesystem::remove_all(dir);
  EXPECT_LT(std::chrono::steady_clock::now(), test_deadline) << "the test ran past its own deadline";
}

}  // namespace
}  // namespace bulwark::test
