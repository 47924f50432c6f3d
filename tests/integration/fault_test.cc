// Guests that end badly or trap: each must map to its documented exit code, and a trap the
// host has to complete (INT3) must reach the guest's own handler.
#include <regex>
#include <string>

#include "monitor/vmm/exit_codes.h"
#include "tests/integration/guest_test_support.h"

namespace bulwark::test {
namespace {

using FaultTest = GuestTest;

TEST_F(FaultTest, TripleFaultStopsWithExitCode4) {
  ProcessResult run = run_guest("triple_fault");
  EXPECT_TRUE(run.exited && run.exit_code == vmm::kExitGuestTripleFault) << run.describe();
  EXPECT_TRUE(std::regex_search(lowercase(run.err), std::regex("triple[ -]fault")))
      << run.describe();
  EXPECT_TRUE(has_line(run.out, "triple_fault: loading an empty IDT and executing ud2"))
      << run.describe();
  EXPECT_EQ(run.out.find("FAIL"), std::string::npos) << run.describe();
}

TEST_F(FaultTest, UnemulatableInstructionStopsWithRegisterDump) {
  ProcessResult run = run_guest("bad_instruction");
  EXPECT_TRUE(run.exited && run.exit_code == vmm::kExitGuestEmulationFailure) << run.describe();
  EXPECT_NE(run.err.find("rip="), std::string::npos) << run.describe();
  EXPECT_TRUE(has_line(run.out, "bad_instruction: about to run cmpxchg16b")) << run.describe();
  // Stopped at the instruction, not after it.
  EXPECT_EQ(run.out.find("cmpxchg16b completed"), std::string::npos) << run.describe();
}

TEST_F(FaultTest, Int3ReachesGuestHandlerAndResumes) {
  ProcessResult run = run_guest("int3");
  EXPECT_TRUE(run.exited && run.exit_code == vmm::kExitGuestReset) << run.describe();
  const std::string text = console_text(run.out);
  // One breakpoint, delivered with RIP past the 0xCC, then execution goes on after it.
  EXPECT_TRUE(std::regex_search(
      text, std::regex("\nint3: breakpoint handled at rip 0x[0-9a-f]+\nint3: resumed\n")))
      << run.describe();
  EXPECT_EQ(run.out.find("FAIL"), std::string::npos) << run.describe();
}

}  // namespace
}  // namespace bulwark::test
