// How the monitor starts and stops from the host's side: signals, unusable kernels, console
// routing and command-line errors.
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <iterator>
#include <string>

#include "monitor/vmm/exit_codes.h"
#include "tests/integration/guest_test_support.h"

namespace bulwark::test {
namespace {

using LifecycleTest = GuestTest;
using namespace std::chrono_literals;

class StopSignalTest : public GuestTest, public ::testing::WithParamInterface<int> {};

TEST_P(StopSignalTest, SignalStopsSpinningGuestWithExitCode8) {
  auto child = ChildProcess::start(monitor_path(), guest_args("spin"));
  ASSERT_TRUE(child.ok()) << child.error().message();
  // The guest is running (and spinning without exits) once it has said so.
  ASSERT_TRUE(child->wait_for_stdout("spin: running\n", 60s)) << child->wait(1s).describe();
  ASSERT_TRUE(child->send_signal(GetParam()).ok());
  const auto sent = std::chrono::steady_clock::now();
  ProcessResult run = child->wait(10s);
  EXPECT_FALSE(run.timed_out) << run.describe();
  EXPECT_TRUE(run.exited && run.exit_code == vmm::kExitStoppedBySignal) << run.describe();
  EXPECT_LT(std::chrono::steady_clock::now() - sent, 5s) << run.describe();
}

INSTANTIATE_TEST_SUITE_P(Signals, StopSignalTest, ::testing::Values(SIGTERM, SIGINT),
                         [](const ::testing::TestParamInfo<int>& info) {
                           return std::string(info.param == SIGTERM ? "Sigterm" : "Sigint");
                         });

TEST_F(LifecycleTest, MissingKernelIsRejectedNamingThePath) {
  const std::string missing = "/nonexistent/bulwark-test/no-such-kernel.elf";
  ProcessResult run = run_process(monitor_path(), {"--kernel", missing, "--memory", "64M"});
  EXPECT_TRUE(run.exited &&
              (run.exit_code == vmm::kExitConfigError || run.exit_code == vmm::kExitBadImage))
      << run.describe();
  EXPECT_NE(run.err.find(missing), std::string::npos) << run.describe();
  EXPECT_TRUE(run.out.empty()) << run.describe();
}

TEST_F(LifecycleTest, TruncatedElfIsABadImage) {
  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  std::ifstream hello(guest_path("hello"), std::ios::binary);
  std::string head(100, '\0');
  ASSERT_TRUE(hello.read(head.data(), static_cast<std::streamsize>(head.size())));
  const std::string truncated = dir.path() + "/truncated.elf";
  std::ofstream(truncated, std::ios::binary) << head;

  ProcessResult run = run_process(monitor_path(), {"--kernel", truncated, "--memory", "64M"});
  EXPECT_TRUE(run.exited && run.exit_code == vmm::kExitBadImage) << run.describe();
  EXPECT_TRUE(run.out.empty()) << run.describe();
}

TEST_F(LifecycleTest, SerialNoneDiscardsGuestConsole) {
  ProcessResult run = run_guest("hello", {"--serial", "none"});
  EXPECT_TRUE(run.exited && run.exit_code == vmm::kExitGuestReset) << run.describe();
  EXPECT_EQ(run.out.find("Hello from Bulwark"), std::string::npos) << run.describe();
}

TEST_F(LifecycleTest, SerialFileReceivesGuestConsole) {
  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  const std::string console = dir.path() + "/console.log";
  ProcessResult run = run_guest("hello", {"--serial", "file:" + console});
  EXPECT_TRUE(run.exited && run.exit_code == vmm::kExitGuestReset) << run.describe();
  std::ifstream in(console, std::ios::binary);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_TRUE(has_line(text, "Hello from Bulwark test guest")) << "file: " << text;
  EXPECT_EQ(run.out.find("Hello from Bulwark"), std::string::npos) << run.describe();
}

TEST_F(LifecycleTest, UnknownOptionIsAConfigError) {
  ProcessResult run =
      run_process(monitor_path(), {"--kernel", guest_path("hello"), "--no-such-option"});
  EXPECT_TRUE(run.exited && run.exit_code == vmm::kExitConfigError) << run.describe();
  EXPECT_NE(run.err.find("--no-such-option"), std::string::npos) << run.describe();
  EXPECT_TRUE(run.out.empty()) << run.describe();
}

}  // namespace
}  // namespace bulwark::test

namespace bulwark::test {
namespace {

// A user without access to /dev/kvm (here: the monitor dropped to nobody by setpriv) gets a
// clear message and the "KVM unavailable" exit code, distinct from every guest outcome.
TEST_F(LifecycleTest, NoPermissionOnDevKvmIsKvmUnavailable) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to drop to another user";
  ProcessResult run = run_process("/usr/bin/setpriv",
                                  {"--reuid=65534", "--regid=65534", "--clear-groups", "--", monitor_path(),
                                   "--kernel", guest_path("hello"), "--memory", "64M"});
  EXPECT_TRUE(run.exited && run.exit_code == vmm::kExitKvmUnavailable) << run.describe();
  EXPECT_NE(run.err.find("KVM unavailable: cannot open /dev/kvm"), std::string::npos) << run.describe();
  EXPECT_TRUE(run.out.empty()) << run.describe();
}

}  // namespace
}  // namespace bulwark::test
