// The VM's vTPM seen from its guest (issue 16), end to end on KVM: the real launcher, the real
// jailed swtpm and bulwark-monitor, and the tpm_crb test guest (tests/guests/tpm_crb.c), which
// finds the TPM through the ACPI tables, drives the CRB like Linux's tpm_crb, reads PCR 9 and
// then abuses the interface. The PCR 9 the guest reads must be the one tpm2_eventlog replays
// from the launcher's event log: the guest talks to the very TPM the launch was measured into.
// A second VM whose swtpm is killed before the guest's first command: the TPM fails (the
// guest gets TPM_RC_FAILURE), the VM goes on. Root and KVM needed; skipped without swtpm or
// tpm2-tools.
#include <signal.h>
#include <sys/stat.h>

#include <fstream>
#include <regex>

#include "tests/jailer/jail_fixture.h"

namespace bulwark::test {
namespace {

class JailTpmGuestTest : public JailTest {
 protected:
  void SetUp() override {
    JailTest::SetUp();  // root and KVM
    if (IsSkipped()) return;
    for (const char* tool : {"/usr/bin/swtpm", "/usr/bin/swtpm_setup", "/usr/bin/tpm2_eventlog"}) {
      if (::access(tool, X_OK) != 0) GTEST_SKIP() << tool << " missing (scripts/setup.sh installs swtpm, swtpm-tools, tpm2-tools)";
    }
    state_dir_ = dir_ + "/tpm-state";
    write_host_config(", \"selinux\": \"off\", \"tpm\": {\"state_dir\": \"" + state_dir_ + "\"}");
  }
  void TearDown() override {
    if (!id_.empty()) {
      for (const std::string& leaf : cgroup_leaves(id_ + ".tpm")) ::rmdir(leaf.c_str());
    }
    JailTest::TearDown();
  }
  Result<ChildProcess> start_vm(const std::string& cmdline) const {
    const std::string config = write_vm_config(dir_ + "/vm.json", guest("tpm_crb"),
                                               ", \"cmdline\": \"" + cmdline + "\", \"tpm\": true");
    return ChildProcess::start(BULWARK_JAILER, run_args(config));
  }
  std::string tpm_run_dir() const { return run_dir_ + "/tpm/" + id_; }

  std::string state_dir_;
};

// tpm2_eventlog's replayed sha256 PCR 9 ("pcrs:" section), upper-case hex.
std::string replayed_pcr9(const std::string& event_log) {
  ProcessResult log = run_process("/usr/bin/tpm2_eventlog", {event_log}, {}, std::chrono::seconds(30));
  EXPECT_TRUE(log.exited && log.exit_code == 0) << log.describe();
  const size_t pcrs = log.out.find("\npcrs:");
  const size_t sha256 = log.out.find("sha256:", pcrs == std::string::npos ? 0 : pcrs);
  if (pcrs == std::string::npos || sha256 == std::string::npos) return "";
  std::smatch m;
  const std::string rest = log.out.substr(sha256);
  if (!std::regex_search(rest, m, std::regex(R"(\n\s*9\s*:\s*0x([0-9A-Fa-f]{64}))"))) return "";
  std::string hex = m[1];
  for (char& c : hex) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return hex;
}

TEST_F(JailTpmGuestTest, TheGuestReadsThePcrTheLaunchMeasured) {
  auto vm = start_vm("console=ttyS0 wait=1");
  ASSERT_TRUE(vm.ok()) << vm.error().message();
  ASSERT_TRUE(vm->wait_for_stdout("TPM-CRB ", std::chrono::seconds(90))) << vm->wait(std::chrono::seconds(1)).describe();
  // While the VM runs: the launcher's event log, replayed by tpm2-tools.
  const std::string expected = replayed_pcr9(tpm_run_dir() + "/eventlog.bin");
  ASSERT_TRUE(vm->send_signal(SIGTERM).ok());
  ProcessResult end = vm->wait(std::chrono::seconds(60));
  EXPECT_TRUE(end.exited && end.exit_code == 8) << end.describe();  // stopped by the signal
  EXPECT_NE(end.out.find("tpm_crb: TPM2 start method 7 control area 0xfed40040\n"), std::string::npos) << end.out;
  EXPECT_NE(end.out.find("tpm_crb: DSDT declares MSFT0101\n"), std::string::npos) << end.out;
  EXPECT_NE(end.out.find("tpm_crb: oversized command refused (0x142)\n"), std::string::npos) << end.out;
  EXPECT_NE(end.out.find("TPM-CRB PASS\n"), std::string::npos) << end.describe();
  std::smatch m;
  ASSERT_TRUE(std::regex_search(end.out, m, std::regex("tpm_crb: pcr9 sha256 ([0-9A-F]{64})\n"))) << end.out;
  ASSERT_EQ(expected.size(), 64u) << "no PCR 9 in tpm2_eventlog's replay";
  EXPECT_EQ(m[1].str(), expected) << "the guest's PCR 9 is not the one the launch measured";
  EXPECT_NE(m[1].str(), std::string(64, '0')) << "PCR 9 was never extended";
  // The hostile accesses were counted, not fatal: the monitor's summary says how many.
  EXPECT_NE(end.err.find("TPM accesses refused="), std::string::npos) << end.describe();
  EXPECT_EQ(end.err.find("TPM failed"), std::string::npos) << end.describe();
  expect_nothing_left();
}

TEST_F(JailTpmGuestTest, ADeadSwtpmFailsTheTpmNotTheVm) {
  // The guest passes once, then sends GetRandom in a loop; swtpm is killed under it.
  auto vm = start_vm("console=ttyS0 loop=1");
  ASSERT_TRUE(vm.ok()) << vm.error().message();
  ASSERT_TRUE(vm->wait_for_stdout("TPM-CRB PASS", std::chrono::seconds(90))) << vm->wait(std::chrono::seconds(1)).describe();
  pid_t swtpm = -1;  // the launcher's child named swtpm
  std::ifstream children("/proc/" + std::to_string(vm->pid()) + "/task/" + std::to_string(vm->pid()) + "/children");
  for (pid_t pid; children >> pid;) {
    std::ifstream comm("/proc/" + std::to_string(pid) + "/comm");
    std::string name;
    comm >> name;
    if (name == "swtpm") swtpm = pid;
  }
  ASSERT_GT(swtpm, 0) << "no swtpm under the launcher";
  ASSERT_EQ(::kill(swtpm, SIGKILL), 0);
  // The next command fails with TPM_RC_FAILURE; the guest says so and resets the machine (the
  // VM was not stopped by the TPM: the guest chose to end).
  ASSERT_TRUE(vm->wait_for_stdout("TPM-CRB FAIL", std::chrono::seconds(60))) << vm->wait(std::chrono::seconds(1)).describe();
  ProcessResult end = vm->wait(std::chrono::seconds(60));
  EXPECT_NE(end.out.find("tpm_crb: GetRandom looping: size 10 code 0x101\n"), std::string::npos) << end.describe();
  EXPECT_NE(end.err.find("TPM failed"), std::string::npos) << end.describe();
  expect_nothing_left();
}

}  // namespace
}  // namespace bulwark::test
