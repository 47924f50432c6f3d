// run_jailed() with specs other than the monitor's: a seccomp program carried by the spec, an
// SELinux label carried through on a host without SELinux, and joining a named network
// namespace. Root only; the programs are the host's /usr/bin tools.
#include <gtest/gtest.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stddef.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>

#include "jailer/jail.h"

namespace bulwark::jail {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

class JailSpecTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root";
    tag_ = std::to_string(::getpid());
    base_ = fs::temp_directory_path() / ("bulwark-jail-spec-" + tag_);
    fs::remove_all(base_);
    stop_signals_ = block_launcher_signals();
  }
  void TearDown() override {
    std::error_code ec;
    if (!base_.empty()) fs::remove_all(base_, ec);
    for (const char* c : {"memory", "pids", "cpu"}) {
      ::rmdir(("/sys/fs/cgroup/" + std::string(c) + "/bulwark-spec-test-" + tag_).c_str());
    }
  }
  // /usr/bin/<tool> with the libraries it needs.
  JailSpec tool_spec(const std::string& tool, std::vector<std::string> args) const {
    JailSpec spec;
    spec.vm_id = "s" + tag_;
    spec.uid = 40011;
    spec.gid = 40011;
    spec.base_dir = base_;
    spec.cgroup_parent = "bulwark-spec-test-" + tag_;
    spec.exec_host_path = "/usr/bin/" + tool;
    spec.exec_jail_path = "/" + tool;
    spec.argv = std::move(args);
    spec.inputs = {{spec.exec_host_path, spec.exec_jail_path, false, true},
                   {"/usr/lib", "/usr/lib", false, true},
                   {"/usr/lib64", "/usr/lib64", false, true}};
    spec.symlinks = {{"/lib", "usr/lib"}, {"/lib64", "usr/lib64"}};
    spec.limits.pids_max = 8;
    spec.fds = {{0, 0}, {1, 1}, {2, 2}};
    return spec;
  }
  ProcessEnd run(const JailSpec& spec) {
    auto jailed = run_jailed(spec);
    EXPECT_TRUE(jailed.ok()) << jailed.error().message();
    if (!jailed.ok()) return {};
    ProcessEnd end = (*jailed)->wait(stop_signals_, 5s, nullptr);
    EXPECT_TRUE((*jailed)->teardown().ok());
    EXPECT_FALSE(fs::exists(base_ + "/" + spec.vm_id));
    EXPECT_FALSE(fs::exists("/sys/fs/cgroup/pids/" + spec.cgroup_parent + "/" + spec.vm_id));
    return end;
  }

  std::string tag_, base_;
  sigset_t stop_signals_{};
};

TEST_F(JailSpecTest, CarriedSeccompProgramKillsWithSigsys) {
  JailSpec spec = tool_spec("sleep", {"sleep", "5"});
  // x86-64 only; clock_nanosleep is what sleep(1) calls and is not allowed.
  spec.seccomp_program = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, arch)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_clock_nanosleep, 0, 1),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  const auto start = std::chrono::steady_clock::now();
  ProcessEnd end = run(spec);
  EXPECT_FALSE(end.exited);
  EXPECT_EQ(end.signal, SIGSYS);
  EXPECT_EQ(end.launcher_exit_code(), 128 + SIGSYS);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 4s);
}

TEST_F(JailSpecTest, WithoutSeccompAProgramRunsToExitZero) {
  ProcessEnd end = run(tool_spec("true", {"true"}));
  EXPECT_TRUE(end.exited);
  EXPECT_EQ(end.exit_code, 0);
}

TEST_F(JailSpecTest, SelinuxLabelIsCarriedWhereSelinuxIsOff) {
  struct stat st{};
  if (::stat("/sys/fs/selinux/enforce", &st) == 0) GTEST_SKIP() << "SELinux is on here";
  JailSpec spec = tool_spec("true", {"true"});
  spec.selinux_exec_context = "system_u:system_r:svirt_t:s0:c1,c2";
  ProcessEnd end = run(spec);
  EXPECT_TRUE(end.exited && end.exit_code == 0);
}

// no_new_privs comes from the jail, not from the program: sleep(1) never sets it (the monitor
// does, so a check on the monitor could not fail because of the jailer). Read from outside
// while it runs (/proc is not mounted inside); after run_jailed() returns, sleep has exec'd.
TEST_F(JailSpecTest, JailedProgramThatDoesNotSetItRunsWithNoNewPrivs) {
  auto jailed = run_jailed(tool_spec("sleep", {"sleep", "30"}));
  ASSERT_TRUE(jailed.ok()) << jailed.error().message();
  std::ifstream status("/proc/" + std::to_string((*jailed)->pid()) + "/status");
  std::map<std::string, std::string> fields;
  for (std::string line; std::getline(status, line);) {
    const size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    const size_t value = line.find_first_not_of(" \t", colon + 1);
    fields[line.substr(0, colon)] = value == std::string::npos ? "" : line.substr(value);
  }
  EXPECT_EQ(fields["Name"], "sleep") << "not the jailed program itself";
  EXPECT_EQ(fields["NoNewPrivs"], "1");
  EXPECT_EQ(fields["Seccomp"], "0") << "no program in the spec: nothing else could have set it";
  EXPECT_EQ(fields["CapEff"], "0000000000000000");
  // sleep is the namespace's init, which ignores SIGTERM: SIGKILL at once, never 30 s.
  ::kill((*jailed)->pid(), SIGKILL);
  ProcessEnd end = (*jailed)->wait(stop_signals_, 5s, nullptr);
  EXPECT_EQ(end.signal, SIGKILL);
  EXPECT_TRUE((*jailed)->teardown().ok());
}

TEST_F(JailSpecTest, JoinsANamedNetworkNamespace) {
  const std::string name = "bulwark-test-" + tag_;
  if (std::system(("ip netns add " + name).c_str()) != 0) GTEST_SKIP() << "ip netns add failed";
  // /proc is not mounted in the jail: compare from outside while `sleep` runs.
  JailSpec spec = tool_spec("sleep", {"sleep", "2"});
  spec.netns = name;
  auto jailed = run_jailed(spec);
  ASSERT_TRUE(jailed.ok()) << jailed.error().message();
  const fs::path inside = fs::read_symlink("/proc/" + std::to_string((*jailed)->pid()) + "/ns/net");
  struct stat named{}, theirs{};
  EXPECT_EQ(::stat(("/run/netns/" + name).c_str(), &named), 0);
  EXPECT_EQ(::stat(("/proc/" + std::to_string((*jailed)->pid()) + "/ns/net").c_str(), &theirs), 0);
  EXPECT_EQ(named.st_ino, theirs.st_ino) << inside;
  ::kill((*jailed)->pid(), SIGKILL);
  ProcessEnd end = (*jailed)->wait(stop_signals_, 5s, nullptr);
  EXPECT_EQ(end.signal, SIGKILL);
  EXPECT_TRUE((*jailed)->teardown().ok());
  EXPECT_EQ(std::system(("ip netns delete " + name).c_str()), 0);
}

TEST_F(JailSpecTest, MissingNamedNetworkNamespaceFailsItsStep) {
  JailSpec spec = tool_spec("true", {"true"});
  spec.netns = "bulwark-no-such-netns";
  auto jailed = run_jailed(spec);
  ASSERT_FALSE(jailed.ok());
  EXPECT_EQ(jailed.error().message(),
            "jail step netns: /run/netns/bulwark-no-such-netns: No such file or directory");
  EXPECT_FALSE(fs::exists(base_ + "/" + spec.vm_id));
}

TEST_F(JailSpecTest, RootIdsAreRefusedBeforeAnythingIsMade) {
  JailSpec spec = tool_spec("true", {"true"});
  spec.uid = 0;
  auto jailed = run_jailed(spec);
  ASSERT_FALSE(jailed.ok());
  EXPECT_EQ(jailed.error().message(), "jail step validate: uid and gid must not be 0 (root)");
  EXPECT_FALSE(fs::exists(base_));
}

}  // namespace
}  // namespace bulwark::jail
