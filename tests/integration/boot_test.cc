// Guests that boot, talk over the console and reset: the 64-bit boot protocol, the command
// line, SMP start-up through the local APIC, serial input and the CMOS clock.
#include <time.h>

#include <cstdio>
#include <cstdlib>
#include <regex>
#include <string>

#include "monitor/vmm/exit_codes.h"
#include "tests/integration/guest_test_support.h"

namespace bulwark::test {
namespace {

using BootTest = GuestTest;

TEST_F(BootTest, HelloPrintsGreetingAndResets) {
  ProcessResult run = run_guest("hello");
  EXPECT_TRUE(run.exited && run.exit_code == vmm::kExitGuestReset) << run.describe();
  EXPECT_TRUE(has_line(run.out, "Hello from Bulwark test guest")) << run.describe();
}

TEST_F(BootTest, CommandLineReachesGuestThroughZeroPage) {
  ProcessResult run = run_guest("hello", {"--cmdline", "bulwark.check=7 second word"});
  EXPECT_TRUE(run.exited && run.exit_code == vmm::kExitGuestReset) << run.describe();
  // The user's words come first and intact; the monitor may append its own after them.
  const std::regex user_words_first("\nhello: cmdline: bulwark\\.check=7 second word[ \n]");
  EXPECT_TRUE(std::regex_search(console_text(run.out), user_words_first)) << run.describe();
}

class SmpTest : public GuestTest, public ::testing::WithParamInterface<int> {};

TEST_P(SmpTest, EveryCpuInTheMadtChecksIn) {
  const int vcpus = GetParam();
  ProcessResult run = run_guest("smp", {"--vcpus", std::to_string(vcpus)});
  EXPECT_TRUE(run.exited && run.exit_code == vmm::kExitGuestReset) << run.describe();
  EXPECT_TRUE(has_line(run.out, "smp: all " + std::to_string(vcpus) + " cpus checked in"))
      << run.describe();
  for (int id = 0; id < vcpus; ++id) {
    EXPECT_TRUE(has_line(run.out, "cpu " + std::to_string(id) + " checked in"))
        << "apic id " << id << "\n" << run.describe();
  }
}

INSTANTIATE_TEST_SUITE_P(Vcpus, SmpTest, ::testing::Values(1, 2, 4));

TEST_F(BootTest, EchoReturnsLinesWrittenToStdin) {
  ProcessResult run = run_guest("echo", {}, "hello bulwark\nquit\n");
  EXPECT_TRUE(run.exited && run.exit_code == vmm::kExitGuestReset) << run.describe();
  // Every byte came back, in order, and "quit" ended the guest.
  EXPECT_NE(console_text(run.out).find("echo: ready\nhello bulwark\nquit\necho: bye\n"),
            std::string::npos)
      << run.describe();
}

TEST_F(BootTest, RtcShowsHostUtcTime) {
  const time_t before = ::time(nullptr);
  ProcessResult run = run_guest("rtc");
  ASSERT_TRUE(run.exited && run.exit_code == vmm::kExitGuestReset) << run.describe();
  const std::string text = console_text(run.out);
  const size_t at = text.find("rtc: 2");
  ASSERT_NE(at, std::string::npos) << run.describe();
  tm guest{};
  ASSERT_EQ(std::sscanf(text.c_str() + at, "rtc: %4d-%2d-%2d %2d:%2d:%2d", &guest.tm_year,
                        &guest.tm_mon, &guest.tm_mday, &guest.tm_hour, &guest.tm_min,
                        &guest.tm_sec),
            6)
      << run.describe();
  EXPECT_TRUE(guest.tm_mon >= 1 && guest.tm_mon <= 12 && guest.tm_mday >= 1 &&
              guest.tm_mday <= 31 && guest.tm_hour <= 23 && guest.tm_min <= 59 &&
              guest.tm_sec <= 59)
      << run.describe();
  guest.tm_year -= 1900;
  guest.tm_mon -= 1;
  const time_t guest_time = ::timegm(&guest);
  // Within a day of the host's UTC clock (a local-time RTC would still pass; garbage not).
  EXPECT_LE(std::llabs(static_cast<long long>(guest_time - before)), 86400LL) << run.describe();
}

}  // namespace
}  // namespace bulwark::test
