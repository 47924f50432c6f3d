// The launcher's log relay (jailer/log_relay.h) with real channels and a real relay process, as
// an operator reading `bulwark run`'s stderr sees it: every line of every process arrives as one
// record stamped with the name the launcher gave its channel, a flood is cut down to the rate
// limit with a count of what was dropped, and finish() tells what was pending.
#include "jailer/log_relay.h"

#include <gtest/gtest.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace bulwark::jail {
namespace {

using namespace std::chrono_literals;

// Where the relay writes: a memfd, so a flood never blocks it on a full pipe.
class LogRelayTest : public ::testing::Test {
 protected:
  void SetUp() override { output_ = UniqueFd(::memfd_create("log-relay-test", MFD_CLOEXEC)); }

  LogRelay start(LogFormat format, double rate = kRelayedLinesPerSecond, double burst = kRelayedLineBurst) {
    LogRelaySettings settings;
    settings.vm_id = "vm-7";
    settings.format = format;
    settings.output_fd = output_.get();
    settings.lines_per_second = rate;
    settings.burst = burst;
    auto relay = LogRelay::start(std::move(settings));
    EXPECT_TRUE(relay.ok()) << relay.error().message();
    return std::move(*relay);
  }

  std::vector<std::string> records() const {
    std::string all;
    char buffer[65536];
    for (off_t offset = 0;;) {
      const ssize_t n = ::pread(output_.get(), buffer, sizeof buffer, offset);
      if (n <= 0) break;
      all.append(buffer, static_cast<size_t>(n));
      offset += n;
    }
    EXPECT_TRUE(all.empty() || all.back() == '\n') << "a record cut short";
    std::vector<std::string> lines;
    std::istringstream in(all);
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    return lines;
  }

  std::vector<nlohmann::json> json_records() const {
    std::vector<nlohmann::json> parsed;
    for (const std::string& line : records()) {
      auto json = nlohmann::json::parse(line, nullptr, false);
      EXPECT_TRUE(json.is_object()) << line;
      if (json.is_object()) parsed.push_back(std::move(json));
    }
    return parsed;
  }

  UniqueFd output_;
};

void write_text(int fd, const std::string& text) {
  size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    ASSERT_GT(n, 0);
    done += static_cast<size_t>(n);
  }
}

// A stand-in VM process: a child that writes `text` to `fd` and exits.
pid_t run_writer(int fd, const std::string& text) {
  const pid_t pid = ::fork();
  if (pid == 0) {
    size_t done = 0;
    while (done < text.size()) {
      const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
      if (n <= 0) ::_exit(1);
      done += static_cast<size_t>(n);
    }
    ::_exit(0);
  }
  return pid;
}

void wait_for(pid_t pid) {
  int status = 0;
  ::waitpid(pid, &status, 0);
}

TEST_F(LogRelayTest, EachProcessesLinesAreStampedWithItsOwnName) {
  LogRelay relay = start(LogFormat::kText);
  auto blk = relay.add_process("dev-blk:blk0");
  auto monitor = relay.add_process("monitor");
  ASSERT_TRUE(blk.ok() && monitor.ok());
  const pid_t a = run_writer(*blk, "bulwark-dev-blk: info: one\nbulwark-dev-blk: error: two\n");
  const pid_t b = run_writer(*monitor, "bulwark-monitor: info: three\npartial");
  relay.close_started();
  wait_for(a);
  wait_for(b);
  relay.finish(5s);
  std::vector<std::string> lines = records();
  std::sort(lines.begin(), lines.end());
  EXPECT_EQ(lines, (std::vector<std::string>{"bulwark[vm-7/dev-blk:blk0]: bulwark-dev-blk: error: two",
                                             "bulwark[vm-7/dev-blk:blk0]: bulwark-dev-blk: info: one",
                                             "bulwark[vm-7/monitor]: bulwark-monitor: info: three",
                                             "bulwark[vm-7/monitor]: partial"}));
}

TEST_F(LogRelayTest, JsonRecordsKeepAForgedRecordAsTheProcessesMessage) {
  LogRelay relay = start(LogFormat::kJson);
  auto api = relay.add_process("api");
  ASSERT_TRUE(api.ok());
  const std::string forged = R"({"vm":"other","process":"launcher","level":"error","message":"x"})";
  write_text(*api, forged + "\nbulwark-api: warning: \x1b[31mred\n");
  relay.finish(5s);
  const auto json = json_records();
  ASSERT_EQ(json.size(), 2u);
  EXPECT_EQ(json[0]["process"], "api");
  EXPECT_EQ(json[0]["vm"], "vm-7");
  EXPECT_EQ(json[0]["level"], "info");
  EXPECT_EQ(json[0]["message"], forged);
  EXPECT_EQ(json[1]["level"], "warning");
  EXPECT_EQ(json[1]["message"], "bulwark-api: warning: \\x1b[31mred");
}

TEST_F(LogRelayTest, ALongLineIsCutAndTheNextLineIsWhole) {
  LogRelay relay = start(LogFormat::kText);
  auto blk = relay.add_process("dev-blk:blk0");
  ASSERT_TRUE(blk.ok());
  const pid_t writer = run_writer(*blk, std::string(100000, 'a') + "\nafter\n");
  relay.close_started();
  wait_for(writer);
  relay.finish(5s);
  const auto lines = records();
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0], "bulwark[vm-7/dev-blk:blk0]: " + std::string(kMaxRelayedLineBytes, 'a') + "\xe2\x80\xa6[cut]");
  EXPECT_EQ(lines[1], "bulwark[vm-7/dev-blk:blk0]: after");
}

TEST_F(LogRelayTest, AFloodIsCutToTheRateLimitAndTheDroppedLinesCounted) {
  LogRelay relay = start(LogFormat::kJson);
  auto net = relay.add_process("dev-net:net0");
  auto quiet = relay.add_process("dev-rng");
  ASSERT_TRUE(net.ok() && quiet.ok());
  std::string flood;
  for (int i = 0; i < 100000; ++i) flood += "bulwark-dev-net: warning: guest frame " + std::to_string(i) + "\n";
  const auto started = std::chrono::steady_clock::now();
  const pid_t writer = run_writer(*net, flood);
  const pid_t other = run_writer(*quiet, "bulwark-dev-rng: info: still heard\n");
  relay.close_started();
  wait_for(writer);
  wait_for(other);
  relay.finish(5s);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  uint64_t lines = 0, dropped = 0, reports = 0;
  bool rng_heard = false;
  for (const auto& record : json_records()) {
    if (record["process"] == "dev-rng") {
      rng_heard = record["message"] == "bulwark-dev-rng: info: still heard";
      continue;
    }
    ASSERT_EQ(record["process"], "dev-net:net0");
    if (record.contains("fields")) {
      ++reports;
      dropped += record["fields"]["dropped"].get<uint64_t>();
    } else {
      ++lines;
    }
  }
  EXPECT_TRUE(rng_heard) << "a flood from one process silenced another";
  EXPECT_LE(static_cast<double>(lines + reports), kRelayedLineBurst + kRelayedLinesPerSecond * seconds + 1);
  EXPECT_GE(lines, static_cast<uint64_t>(kRelayedLineBurst));
  EXPECT_EQ(lines + dropped, 100000u) << "every line written or counted";
}

TEST_F(LogRelayTest, FinishTellsWhatIsPendingAndDoesNotWaitPastTheGraceForAProcessStillRunning) {
  LogRelay relay = start(LogFormat::kText);
  auto monitor = relay.add_process("monitor");
  ASSERT_TRUE(monitor.ok());
  // A process that wrote a line and half another, and never exits.
  int go[2];
  ASSERT_EQ(::pipe(go), 0);
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::close(go[1]);
    const char text[] = "whole line\nhalf a li";
    if (::write(*monitor, text, sizeof text - 1) < 0) ::_exit(1);
    char byte;
    (void)!::read(go[0], &byte, 1);  // until the test ends
    ::_exit(0);
  }
  ::close(go[0]);
  relay.close_started();
  std::this_thread::sleep_for(200ms);
  const auto before = std::chrono::steady_clock::now();
  relay.finish(300ms);
  EXPECT_LT(std::chrono::steady_clock::now() - before, 3s);
  ::close(go[1]);
  wait_for(pid);
  EXPECT_EQ(records(), (std::vector<std::string>{"bulwark[vm-7/monitor]: whole line", "bulwark[vm-7/monitor]: half a li"}));
}

TEST_F(LogRelayTest, AKeptChannelOutlivesCloseStartedAndEndsAtFinish) {
  LogRelay relay = start(LogFormat::kText);
  auto api = relay.add_process("api", true);
  ASSERT_TRUE(api.ok());
  relay.close_started();
  // A restarted process gets the same channel: it is still open here.
  write_text(*api, "second life\n");
  relay.finish(5s);
  EXPECT_EQ(records(), (std::vector<std::string>{"bulwark[vm-7/api]: second life"}));
}

TEST_F(LogRelayTest, TheRelayHoldsNoneOfTheLaunchersOtherFds) {
  // A file the launcher holds (a lock, a reservation) when it starts the relay.
  UniqueFd held(::memfd_create("held-by-launcher", MFD_CLOEXEC));
  ASSERT_TRUE(held.valid());
  LogRelay relay = start(LogFormat::kText);
  auto probe = relay.add_process("monitor");
  ASSERT_TRUE(probe.ok());
  // Once a record arrives the relay is in its loop, past its own setup.
  write_text(*probe, "ready\n");
  for (int i = 0; i < 500 && records().empty(); ++i) std::this_thread::sleep_for(10ms);
  ASSERT_EQ(records(), std::vector<std::string>{"bulwark[vm-7/monitor]: ready"});
  // The relay's pid: the only child of this test not yet reaped.
  const std::string children = "/proc/self/task/" + std::to_string(::gettid()) + "/children";
  std::ifstream list(children);
  pid_t relay_pid = -1;
  list >> relay_pid;
  ASSERT_GT(relay_pid, 0);
  std::vector<std::string> targets;
  for (const auto& entry : std::filesystem::directory_iterator("/proc/" + std::to_string(relay_pid) + "/fd")) {
    targets.push_back(std::filesystem::read_symlink(entry.path()).string());
  }
  for (const std::string& target : targets) EXPECT_EQ(target.find("held-by-launcher"), std::string::npos) << target;
  EXPECT_EQ(targets.size(), 6u);  // 0 to 4 and the one channel
  relay.finish(1s);
}

TEST(LogRelay, RefusesABadName) {
  LogRelaySettings settings;
  settings.vm_id = "vm-7";
  auto relay = LogRelay::start(std::move(settings));
  ASSERT_TRUE(relay.ok());
  EXPECT_FALSE(relay->add_process("").ok());
  EXPECT_FALSE(relay->add_process(std::string(65, 'x')).ok());
  relay->finish(1s);
  EXPECT_FALSE(relay->add_process("monitor").ok());
}

}  // namespace
}  // namespace bulwark::jail
