// What the compiled BPF program decides, checked by running it in a BPF interpreter: every
// operator at its boundaries, full 64-bit comparison, other ABIs, and compile errors.
#include "policy/seccomp_policy/policy_compiler.h"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <linux/seccomp.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#include "policy/seccomp_policy/policy_text.h"
#include "policy/seccomp_policy/syscall_names.h"
#include "tests/unit/policy/bpf_interpreter.h"

namespace bulwark::policy {
namespace {

using testing::SeccompCall;

constexpr uint32_t kAllow = SECCOMP_RET_ALLOW;
constexpr uint32_t kKill = SECCOMP_RET_KILL_PROCESS;

class CompiledPolicy {
 public:
  explicit CompiledPolicy(std::string_view text,
                          ViolationAction action = ViolationAction::kKillProcess) {
    Result<SeccompPolicy> policy =
        parse_seccomp_policy(text, "test.policy", {}, check_x86_64_syscall_name);
    if (!policy.ok()) {
      ADD_FAILURE() << policy.error().message();
      return;
    }
    Result<std::vector<sock_filter>> program = compile_seccomp_policy(*policy, action);
    if (!program.ok()) {
      ADD_FAILURE() << program.error().message();
      return;
    }
    program_ = std::move(*program);
  }

  // The action's SECCOMP_RET_ACTION_FULL bits for the call.
  uint32_t decide(int nr, std::array<uint64_t, 6> args = {},
                  uint32_t arch = AUDIT_ARCH_X86_64) const {
    Result<uint32_t> result = testing::run_seccomp_program(program_, SeccompCall{nr, args, arch});
    EXPECT_TRUE(result.ok()) << result.error().message();
    return result.ok() ? (*result & SECCOMP_RET_ACTION_FULL) : 0xdeadbeef;
  }
  uint32_t decide_arg(int nr, unsigned arg, uint64_t value) const {
    std::array<uint64_t, 6> args{};
    args[arg] = value;
    return decide(nr, args);
  }
  size_t size() const { return program_.size(); }

 private:
  std::vector<sock_filter> program_;
};

TEST(PolicyCompiler, UnconditionalRulesAllowAndEverythingElseKillsTheProcess) {
  const CompiledPolicy policy("read -- in\nwrite -- out\n");
  EXPECT_EQ(policy.decide(SYS_read), kAllow);
  EXPECT_EQ(policy.decide(SYS_write, {1, 2, 3, 4, 5, 6}), kAllow);
  EXPECT_EQ(policy.decide(SYS_openat), kKill);
  EXPECT_EQ(policy.decide(SYS_execve), kKill);
  EXPECT_EQ(policy.decide(SYS_socket), kKill);
}

TEST(PolicyCompiler, LogActionLetsViolationsThroughButLogsThem) {
  const CompiledPolicy policy("read -- in\n", ViolationAction::kLog);
  EXPECT_EQ(policy.decide(SYS_read), kAllow);
  EXPECT_EQ(policy.decide(SYS_execve), SECCOMP_RET_LOG);
}

TEST(PolicyCompiler, EmptyPolicyDeniesEverything) {
  const CompiledPolicy policy("# nothing\n");
  EXPECT_EQ(policy.decide(SYS_read), kKill);
  EXPECT_EQ(policy.decide(SYS_exit_group), kKill);
}

TEST(PolicyCompiler, OtherAbisKillTheProcessEvenInLogMode) {
  for (ViolationAction action : {ViolationAction::kKillProcess, ViolationAction::kLog}) {
    const CompiledPolicy policy("getpid -- test\n", action);
    EXPECT_EQ(policy.decide(SYS_getpid), kAllow);
    EXPECT_EQ(policy.decide(SYS_getpid, {}, AUDIT_ARCH_I386), kKill);
    // x32 system calls are x86-64 numbers with bit 30 set.
    EXPECT_EQ(policy.decide(0x40000000 | SYS_getpid), kKill);
  }
}

TEST(PolicyCompiler, EqualityUsesAll64Bits) {
  const CompiledPolicy policy("ioctl: arg1 == KVM_RUN || arg1 == KVM_GET_REGS -- vCPUs\n");
  EXPECT_EQ(policy.decide_arg(SYS_ioctl, 1, 0xae80), kAllow);
  EXPECT_EQ(policy.decide_arg(SYS_ioctl, 1, 0x8090ae81), kAllow);
  EXPECT_EQ(policy.decide_arg(SYS_ioctl, 1, 0xae81), kKill);
  EXPECT_EQ(policy.decide_arg(SYS_ioctl, 1, 0x1'0000'ae80), kKill);
  // A sign-extended 32-bit command is a different 64-bit value.
  EXPECT_EQ(policy.decide_arg(SYS_ioctl, 1, 0xffff'ffff'8090'ae81), kKill);
  EXPECT_EQ(policy.decide_arg(SYS_ioctl, 0, 0xae80), kKill);  // wrong argument
}

TEST(PolicyCompiler, EveryOrderingOperatorAtItsBoundary) {
  struct Case {
    const char* condition;
    uint64_t allowed;
    uint64_t denied;
  };
  const uint64_t big = 0x1'0000'0010;  // exercises the high 32 bits
  for (const Case& c : {
           Case{"arg2 != 5", 6, 5},
           Case{"arg2 < 5", 4, 5},
           Case{"arg2 <= 5", 5, 6},
           Case{"arg2 > 5", 6, 5},
           Case{"arg2 >= 5", 5, 4},
           Case{"arg2 < 0x100000010", big - 1, big},
           Case{"arg2 > 0x100000010", big + 1, big},
           Case{"arg2 >= 0x100000010", big, 0x10},
           Case{"arg2 <= 0x100000010", 0x20, big + 1},
       }) {
    const CompiledPolicy policy(std::string("fcntl: ") + c.condition + " -- test\n");
    EXPECT_EQ(policy.decide_arg(SYS_fcntl, 2, c.allowed), kAllow) << c.condition;
    EXPECT_EQ(policy.decide_arg(SYS_fcntl, 2, c.denied), kKill) << c.condition;
  }
}

TEST(PolicyCompiler, MaskedComparisonTestsOnlyTheMaskedBits) {
  const CompiledPolicy policy(
      "mmap: arg2 & ~(PROT_READ|PROT_WRITE) == 0 && arg3 & MAP_SHARED == MAP_SHARED -- ram\n");
  auto mmap_call = [&](uint64_t prot, uint64_t flags) {
    return policy.decide(SYS_mmap, {0, 4096, prot, flags, 0, 0});
  };
  EXPECT_EQ(mmap_call(PROT_READ | PROT_WRITE, MAP_SHARED), kAllow);
  EXPECT_EQ(mmap_call(PROT_READ, MAP_SHARED | MAP_NORESERVE), kAllow);
  EXPECT_EQ(mmap_call(PROT_NONE, MAP_SHARED), kAllow);
  EXPECT_EQ(mmap_call(PROT_READ | PROT_EXEC, MAP_SHARED), kKill);
  EXPECT_EQ(mmap_call(PROT_READ | (uint64_t{1} << 40), MAP_SHARED), kKill);
  EXPECT_EQ(mmap_call(PROT_READ, MAP_PRIVATE), kKill);
}

TEST(PolicyCompiler, ClausesAreAlternativesAndComparisonsAreAllRequired) {
  const CompiledPolicy policy(
      "fcntl: arg1 == F_GETFL || arg1 == F_SETFL && arg2 == O_NONBLOCK -- nonblocking io\n");
  EXPECT_EQ(policy.decide(SYS_fcntl, {3, F_GETFL, 12345}), kAllow);
  EXPECT_EQ(policy.decide(SYS_fcntl, {3, F_SETFL, O_NONBLOCK}), kAllow);
  EXPECT_EQ(policy.decide(SYS_fcntl, {3, F_SETFL, O_NONBLOCK | O_APPEND}), kKill);
  EXPECT_EQ(policy.decide(SYS_fcntl, {3, F_SETFD, O_NONBLOCK}), kKill);
}

TEST(PolicyCompiler, UnknownSystemCallIsReportedAtItsRule) {
  for (const char* name : {"notasyscall", "socketcall"}) {  // socketcall exists on i386 only
    Result<SeccompPolicy> policy =
        parse_seccomp_policy(std::string("read -- x\n\n") + name + " -- y\n", "t.policy", {});
    ASSERT_TRUE(policy.ok()) << policy.error().message();
    Result<std::vector<sock_filter>> program =
        compile_seccomp_policy(*policy, ViolationAction::kKillProcess);
    ASSERT_FALSE(program.ok());
    EXPECT_EQ(program.error().message(),
              std::string("t.policy:3: unknown system call '") + name + "' on x86-64");
  }
}

TEST(PolicyCompiler, RulesBuiltInCodeGetTheParserChecks) {
  ArgComparison masked{2, CompareOp::kMaskedEq, 4, 3, "arg2 & 3 == 4"};
  SeccompPolicy policy{"code", {}, {SyscallRule{"mmap", {{masked}}, "test", "code.cc", 12, {}}}};
  Result<std::vector<sock_filter>> program =
      compile_seccomp_policy(policy, ViolationAction::kKillProcess);
  ASSERT_FALSE(program.ok());
  EXPECT_EQ(program.error().message(),
            "code.cc:12: 'arg2 & 3 == 4' has value bits outside its mask");

  ArgComparison seventh{6, CompareOp::kEq, 1, ~uint64_t{0}, "arg6 == 1"};
  policy.rules[0].any_of = {{seventh}};
  program = compile_seccomp_policy(policy, ViolationAction::kKillProcess);
  ASSERT_FALSE(program.ok());
  EXPECT_EQ(program.error().message(), "code.cc:12: argument index 6 out of range");

  ArgComparison first{1, CompareOp::kGe, 5, ~uint64_t{0}, "arg1 >= 5"};
  ArgComparison second{1, CompareOp::kLe, 9, ~uint64_t{0}, "arg1 <= 9"};
  policy.rules[0].any_of = {{first, second}};
  program = compile_seccomp_policy(policy, ViolationAction::kKillProcess);
  ASSERT_FALSE(program.ok());
  EXPECT_EQ(program.error().message(),
            "code.cc:12: libseccomp rejected the rule for 'mmap': Invalid argument");
}

TEST(PolicyCompiler, ProgramOverTheKernelLimitIsAnError) {
  std::string condition = "arg1 == 0";
  for (int i = 1; i < 5000; ++i) condition += " || arg1 == " + std::to_string(i);
  Result<SeccompPolicy> policy = parse_seccomp_policy("ioctl: " + condition + " -- many\n",
                                                      "big.policy", {});
  ASSERT_TRUE(policy.ok()) << policy.error().message();
  Result<std::vector<sock_filter>> program =
      compile_seccomp_policy(*policy, ViolationAction::kKillProcess);
  ASSERT_FALSE(program.ok());
  EXPECT_NE(program.error().message().find("big.policy: the policy compiles to "),
            std::string::npos)
      << program.error().message();
  EXPECT_NE(program.error().message().find("more than 4096 BPF instructions, the most the kernel accepts"), std::string::npos);
}

TEST(SyscallNames, ResolvesX86_64Numbers) {
  EXPECT_EQ(resolve_x86_64_syscall("read").value(), SYS_read);
  EXPECT_EQ(resolve_x86_64_syscall("ioctl").value(), SYS_ioctl);
  EXPECT_EQ(resolve_x86_64_syscall("exit_group").value(), SYS_exit_group);
  EXPECT_FALSE(resolve_x86_64_syscall("socketcall").ok());
  EXPECT_FALSE(resolve_x86_64_syscall(std::string_view("read\0x", 6)).ok());
  EXPECT_EQ(check_x86_64_syscall_name("bogus").error().message(),
            "unknown system call 'bogus' on x86-64");
}

}  // namespace
}  // namespace bulwark::policy
