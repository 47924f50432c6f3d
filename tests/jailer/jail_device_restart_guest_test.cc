// A device process that dies while its guest uses the disk (issue 18), end to end: the real
// launcher, the real jailed bulwark-monitor on KVM and the virtio_blk_rounds guest, which
// writes, flushes and reads back numbered rounds (tests/guests/virtio_blk_rounds.c). The test
// SIGKILLs the VM's bulwark-dev-blk 20 times, each at a random moment once its replacement has
// served a whole round; the guest must see nothing but a slow disk: no failed check, no IOERR,
// rounds that keep coming, and an image holding what the last rounds wrote. Once on a raw
// image, once on a qcow2 one. Root and KVM needed (qemu-img for the qcow2 case).
#include <signal.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <random>
#include <utility>

#include "tests/jailer/jail_fixture.h"
#include "tests/support/shell_command.h"

namespace bulwark::test {
namespace {

// The guest's layout (virtio_blk_rounds.c): round K writes sectors ((K - 1) % 16) * 8 .. +7.
constexpr uint64_t kRangeSectors = 8;
constexpr uint64_t kRanges = 16;
constexpr uint64_t kSectorBytes = 512;
constexpr int kKills = 20;
constexpr uint64_t kImageBytes = 1 << 20;

uint8_t pattern_byte(uint64_t round, uint64_t sector, uint64_t i) {
  return static_cast<uint8_t>(round * 131 + sector * 31 + i * 7 + 0x5a);
}

size_t count(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

std::string round_line(uint64_t round) { return "rounds: " + std::to_string(round) + " ok\n"; }

class JailDeviceRestartGuestTest : public JailTest {
 protected:
  void SetUp() override {
    JailTest::SetUp();  // root and KVM
    if (IsSkipped()) return;
    images_ = dir_ + "/images";
    fs::create_directories(images_);
    ::chmod(images_.c_str(), 0755);
    const char* seed_text = std::getenv("BULWARK_TEST_SEED");
    seed_ = seed_text != nullptr ? static_cast<uint32_t>(std::strtoul(seed_text, nullptr, 10)) : std::random_device{}();
    // Printed, so a failing run can be repeated with BULWARK_TEST_SEED.
    std::printf("kill timing seed %u (BULWARK_TEST_SEED)\n", seed_);
    RecordProperty("seed", std::to_string(seed_));
  }

  // Time left of the test's own deadline, at most `cap`: every wait below is bounded by it, so
  // the test fails by itself, with the guest's output, well before CTest's limit.
  std::chrono::milliseconds left(std::chrono::milliseconds cap) const {
    const auto rest = std::chrono::duration_cast<std::chrono::milliseconds>(deadline_ - std::chrono::steady_clock::now());
    return std::max(std::chrono::milliseconds(1), std::min(rest, cap));
  }

  // This VM's bulwark-dev-blk: the launcher's live child of that name, other than `not_this`
  // (a killed one may linger as a zombie until the launcher reaps it). Waits up to `wait`.
  pid_t device_pid(ChildProcess& launcher, pid_t not_this, std::chrono::milliseconds wait) const {
    const auto until = std::chrono::steady_clock::now() + wait;
    const std::string path = "/proc/" + std::to_string(launcher.pid()) + "/task/" +
                             std::to_string(launcher.pid()) + "/children";
    do {
      std::istringstream children(read_text(path));
      for (pid_t pid; children >> pid;) {
        if (pid == not_this || trimmed(read_text("/proc/" + std::to_string(pid) + "/comm")) != "bulwark-dev-blk") {
          continue;
        }
        if (status_field(pid, "State").rfind("Z", 0) == 0) continue;
        return pid;
      }
      // Reads the launcher's output meanwhile, so a chatty guest never fills the pipe.
      launcher.wait_for_stdout("\x01 never printed", std::chrono::milliseconds(10));
    } while (std::chrono::steady_clock::now() < until);
    return -1;
  }

  // The last round the guest reported so far (0: none), counting up from `known`.
  static uint64_t last_round(ChildProcess& launcher, uint64_t known) {
    while (launcher.wait_for_stdout(round_line(known + 1), std::chrono::milliseconds(1))) ++known;
    return known;
  }

  // Runs the rounds guest on `disk_json`, kills its device process kKills times, stops the VM
  // and returns how the launcher ended plus the last round the guest completed; nullopt (after
  // saying why) when the guest or its device stopped on the way.
  std::optional<std::pair<ProcessResult, uint64_t>> run_with_kills(const std::string& disk_json) {
    deadline_ = std::chrono::steady_clock::now() + std::chrono::seconds(150);
    write_host_config(", \"device_restart\": {\"max_restarts\": 25, \"window_seconds\": 600}");
    const std::string config = write_vm_config(dir_ + "/vm.json", guest("virtio_blk_rounds"),
                                               ", \"disks\": [" + disk_json + "]");
    auto launcher = ChildProcess::start(BULWARK_JAILER, run_args(config));
    EXPECT_TRUE(launcher.ok()) << launcher.error().message();
    if (!launcher.ok()) return std::nullopt;
    std::mt19937 random(seed_);
    std::uniform_int_distribution<int> delay_ms(0, 200);
    uint64_t round = 0;
    pid_t killed = -1;
    for (int kill = 1; kill <= kKills; ++kill) {
      const pid_t device = device_pid(*launcher, killed, left(std::chrono::seconds(30)));
      if (device <= 0) {
        ADD_FAILURE() << "no bulwark-dev-blk runs before kill " << kill << ": " << launcher->wait(left(5s)).describe();
        return std::nullopt;
      }
      // A round whose every request was made after this replacement appeared: it served them.
      // (Round `round` + 1 may have been under way when its predecessor died.)
      const uint64_t served = last_round(*launcher, round) + 2;
      if (!launcher->wait_for_stdout(round_line(served), left(std::chrono::seconds(30)))) {
        ADD_FAILURE() << "rounds stopped at " << last_round(*launcher, round) << " before kill " << kill
                      << " (waited for round " << served << "): " << launcher->wait(left(5s)).describe();
        return std::nullopt;
      }
      launcher->wait_for_stdout("\x01 never printed", std::chrono::milliseconds(delay_ms(random)));
      round = last_round(*launcher, served);
      if (::kill(device, SIGKILL) != 0) {
        ADD_FAILURE() << "kill " << kill << " of pid " << device << ": " << std::strerror(errno);
        return std::nullopt;
      }
      killed = device;
    }
    // The last replacement serves a few more rounds too.
    const uint64_t more = last_round(*launcher, round) + 5;
    EXPECT_TRUE(launcher->wait_for_stdout(round_line(more), left(std::chrono::seconds(30))))
        << "rounds stopped after the last kill, before round " << more;
    EXPECT_TRUE(launcher->send_signal(SIGTERM).ok());
    ProcessResult run = launcher->wait(left(std::chrono::seconds(30)));
    const uint64_t last = last_round_in(run.out);
    return std::make_pair(std::move(run), last);
  }

  static uint64_t last_round_in(const std::string& out) {
    uint64_t last = 0;
    while (out.find(round_line(last + 1)) != std::string::npos) ++last;
    return last;
  }

  void expect_launcher_saw_the_kills(const ProcessResult& run) const {
    EXPECT_TRUE(run.exited && run.exit_code == 8) << run.describe();
    EXPECT_EQ(run.out.find("FAIL"), std::string::npos) << run.describe();
    EXPECT_EQ(run.out.find("IOERR"), std::string::npos) << run.describe();
    EXPECT_EQ(count(run.err, ") was killed by signal 9"), static_cast<size_t>(kKills)) << run.err;
    EXPECT_EQ(count(run.err, "device blk0 restarted as pid "), static_cast<size_t>(kKills)) << run.err;
    EXPECT_NE(run.err.find("(restart " + std::to_string(kKills) + " of at most 25 in 600 s)"), std::string::npos)
        << run.err;
    EXPECT_EQ(run.err.find("did not take it"), std::string::npos) << run.err;
    EXPECT_EQ(run.err.find("seccomp"), std::string::npos) << run.err;
    EXPECT_EQ(count(run.err, "a replacement device process took over"), static_cast<size_t>(kKills)) << run.err;
  }

  // The raw bytes of the disk: each of the last kRanges - 1 rounds' ranges holds its pattern
  // (the range of the round after `last` may be half written: the VM was stopped in it).
  static std::vector<std::string> check_rounds_in_image(const std::string& raw, uint64_t last) {
    std::vector<std::string> problems;
    const std::string image = read_text(raw);
    if (image.size() != kImageBytes) return {"image is " + std::to_string(image.size()) + " bytes"};
    if (last < kRanges) return {"only " + std::to_string(last) + " rounds"};
    for (uint64_t round = last - (kRanges - 2); round <= last; ++round) {
      const uint64_t first = ((round - 1) % kRanges) * kRangeSectors;
      for (uint64_t s = first; s < first + kRangeSectors; ++s) {
        for (uint64_t i = 0; i < kSectorBytes; ++i) {
          const auto seen = static_cast<uint8_t>(image[s * kSectorBytes + i]);
          if (seen != pattern_byte(round, s, i)) {
            problems.push_back("round " + std::to_string(round) + ": sector " + std::to_string(s) + " byte " +
                               std::to_string(i) + " holds " + std::to_string(seen) + ", the round wrote " +
                               std::to_string(pattern_byte(round, s, i)));
            s = first + kRangeSectors;  // one line per round
            break;
          }
        }
      }
    }
    return problems;
  }

  std::string images_;
  uint32_t seed_ = 0;
  std::chrono::steady_clock::time_point deadline_;
};

TEST_F(JailDeviceRestartGuestTest, AGuestWritingARawDiskSeesTwentyDeviceKillsAsASlowDisk) {
  const std::string image = images_ + "/disk.raw";
  std::ofstream(image) << std::string(kImageBytes, '\x11');
  ::chmod(image.c_str(), 0666);
  auto result = run_with_kills("{\"path\": \"" + image + "\"}");
  ASSERT_TRUE(result.has_value());
  const auto& [run, last] = *result;
  expect_launcher_saw_the_kills(run);
  EXPECT_EQ(check_rounds_in_image(image, last), std::vector<std::string>{});
  expect_nothing_left();
  expect_nothing_left(id_ + ".blk0");
}

TEST_F(JailDeviceRestartGuestTest, AGuestWritingAQcow2DiskSeesTwentyDeviceKillsAsASlowDisk) {
  if (!have_qemu_tools()) GTEST_SKIP() << "needs qemu-img and qemu-io";
  const std::string image = images_ + "/disk.qcow2";
  ShellResult made = run_shell("qemu-img create -q -f qcow2 " + image + " " + std::to_string(kImageBytes));
  ASSERT_EQ(made.status, 0) << made.output;
  ::chmod(image.c_str(), 0666);
  auto result = run_with_kills("{\"path\": \"" + image + "\", \"format\": \"qcow2\"}");
  ASSERT_TRUE(result.has_value());
  const auto& [run, last] = *result;
  expect_launcher_saw_the_kills(run);
  const ShellResult check = run_shell("qemu-img check -f qcow2 " + image);
  EXPECT_EQ(check.status, 0) << check.output;
  const std::string raw = dir_ + "/converted.raw";
  const ShellResult converted = run_shell("qemu-img convert -f qcow2 -O raw " + image + " " + raw);
  ASSERT_EQ(converted.status, 0) << converted.output;
  EXPECT_EQ(check_rounds_in_image(raw, last), std::vector<std::string>{});
  expect_nothing_left();
  expect_nothing_left(id_ + ".blk0");
}

}  // namespace
}  // namespace bulwark::test
