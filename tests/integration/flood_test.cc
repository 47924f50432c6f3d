// Guests that hammer the exit paths: unclaimed port/MMIO accesses and console output. The
// monitor must answer correctly every time, lose nothing and stay within bounded memory.
#include <ostream>
#include <string>

#include "monitor/vmm/exit_codes.h"
#include "tests/integration/guest_test_support.h"

namespace bulwark::test {
namespace {

using FloodTest = GuestTest;

TEST_F(FloodTest, UnclaimedPortsAndMmioReadAllOnes) {
  ProcessResult run = run_guest("io_flood", {"--cmdline", "count=20000"});
  EXPECT_TRUE(run.exited && run.exit_code == vmm::kExitGuestReset) << run.describe();
  EXPECT_TRUE(has_line(run.out, "io_flood: done 20000")) << run.describe();
  EXPECT_EQ(run.out.find("FAIL"), std::string::npos) << run.describe();
  EXPECT_LT(run.peak_rss_kib, rss_limit_kib()) << run.describe();
}

// The bytes serial_flood.c writes for count=n (see the comment there).
std::string serial_flood_bytes(size_t n) {
  static const char kPattern[] =
      "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-\n";
  std::string bytes(n, '\0');
  for (size_t i = 0; i < n; ++i) bytes[i] = (i == n - 1) ? '\n' : kPattern[i % 64];
  return bytes;
}

struct FloodMode {
  const char* name;
  const char* cmdline;
  const char* start_line;
};

void PrintTo(const FloodMode& mode, std::ostream* os) { *os << mode.name; }

class SerialFloodTest : public GuestTest, public ::testing::WithParamInterface<FloodMode> {};

TEST_P(SerialFloodTest, EveryByteArrivesInOrder) {
  constexpr size_t kCount = 262144;
  ProcessResult run = run_guest("serial_flood", {"--cmdline", GetParam().cmdline});
  EXPECT_TRUE(run.exited && run.exit_code == vmm::kExitGuestReset) << run.describe();
  EXPECT_LT(run.peak_rss_kib, rss_limit_kib()) << run.describe();

  const std::string start = std::string(GetParam().start_line) + "\n";
  const size_t begin = run.out.find(start);
  ASSERT_NE(begin, std::string::npos) << run.describe();
  const std::string expected = serial_flood_bytes(kCount) + "serial_flood: done 262144\n";
  const std::string got = run.out.substr(begin + start.size());
  // Report where the stream first went wrong, not 256 KiB of text.
  size_t same = 0;
  while (same < got.size() && same < expected.size() && got[same] == expected[same]) ++same;
  EXPECT_GE(got.size(), expected.size()) << "console stream ends early";
  EXPECT_EQ(same, expected.size())
      << "first difference at flood byte " << same << " of " << expected.size() << ": got \""
      << got.substr(same, 40) << "\", expected \"" << expected.substr(same, 40) << "\"";
}

INSTANTIATE_TEST_SUITE_P(
    Modes, SerialFloodTest,
    ::testing::Values(
        // One OUT per byte, never waiting for the transmitter.
        FloodMode{"ByteOut", "count=262144", "serial_flood: start count=262144"},
        // REP OUTSB: string I/O, many bytes per exit.
        FloodMode{"RepOutsb", "count=262144 rep=1", "serial_flood: start count=262144 rep"}),
    [](const ::testing::TestParamInfo<FloodMode>& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace bulwark::test
