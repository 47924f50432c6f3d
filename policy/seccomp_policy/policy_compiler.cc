#include "policy/seccomp_policy/policy_compiler.h"

#include <seccomp.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>

#include "bulwark/common/unique_fd.h"
#include "policy/seccomp_policy/policy_recording.h"
#include "policy/seccomp_policy/syscall_names.h"

#ifndef __x86_64__
#error "seccomp policies are compiled for x86-64 only"
#endif

namespace bulwark::policy {

namespace {

struct FilterContextRelease {
  void operator()(void* context) const { seccomp_release(context); }
};
using FilterContext = std::unique_ptr<void, FilterContextRelease>;

scmp_arg_cmp to_libseccomp(const ArgComparison& comparison) {
  scmp_arg_cmp out{};
  out.arg = comparison.arg;
  out.datum_a = comparison.value;
  switch (comparison.op) {
    case CompareOp::kEq: out.op = SCMP_CMP_EQ; break;
    case CompareOp::kNe: out.op = SCMP_CMP_NE; break;
    case CompareOp::kLt: out.op = SCMP_CMP_LT; break;
    case CompareOp::kLe: out.op = SCMP_CMP_LE; break;
    case CompareOp::kGt: out.op = SCMP_CMP_GT; break;
    case CompareOp::kGe: out.op = SCMP_CMP_GE; break;
    case CompareOp::kMaskedEq:
      out.op = SCMP_CMP_MASKED_EQ;  // (arg & datum_a) == datum_b
      out.datum_a = comparison.mask;
      out.datum_b = comparison.value;
      break;
  }
  return out;
}

// The action of each slot (policy_recording.h): allow, or in record mode hand the call to
// the tracer tagged with the slot.
struct SlotActions {
  bool record = false;
  unsigned policy_id = 0;
  uint32_t next(size_t& slot) const {
    ++slot;
    return record ? SCMP_ACT_TRACE(recording_tag(policy_id, static_cast<unsigned>(slot))) : SCMP_ACT_ALLOW;
  }
};

Status add_rule(void* context, const SyscallRule& rule, const SlotActions& actions, size_t& slot) {
  Result<int> number = resolve_x86_64_syscall(rule.name);
  if (!number.ok()) return number.error().wrap(rule.location());
  auto rejected = [&rule](int rc) {
    return Error(rule.location() + ": libseccomp rejected the rule for '" + rule.name +
                 "': " + std::strerror(-rc));
  };
  if (rule.unconditional()) {
    const int rc = seccomp_rule_add_exact_array(context, actions.next(slot), *number, 0, nullptr);
    if (rc < 0) return rejected(rc);
    return ok_status();
  }
  for (const ComparisonClause& clause : rule.any_of) {
    std::vector<scmp_arg_cmp> comparisons;
    for (const ArgComparison& comparison : clause) {
      // The parser refuses these already; policies built in code get the same checks.
      if (comparison.arg > 5) {
        return Error(rule.location() + ": argument index " + std::to_string(comparison.arg) +
                     " out of range");
      }
      // libseccomp would silently drop the value's bits outside the mask, changing the test.
      if (comparison.op == CompareOp::kMaskedEq && (comparison.value & ~comparison.mask) != 0) {
        return Error(rule.location() + ": '" + comparison.text +
                     "' has value bits outside its mask");
      }
      comparisons.push_back(to_libseccomp(comparison));
    }
    const int rc = seccomp_rule_add_exact_array(context, actions.next(slot), *number,
                                                static_cast<unsigned>(comparisons.size()),
                                                comparisons.data());
    if (rc < 0) return rejected(rc);
  }
  return ok_status();
}

Result<std::vector<sock_filter>> export_program(void* context) {
  // Through a pipe, not a file: a jailed process may run with RLIMIT_FSIZE 0 (no file may grow),
  // and the largest program (BPF_MAXINSNS instructions, 32 KiB) fits in a pipe's buffer.
  int ends[2];
  if (::pipe2(ends, O_CLOEXEC) != 0) return Error::from_errno("pipe2", errno);
  UniqueFd read_end(ends[0]), write_end(ends[1]);
  const int rc = seccomp_export_bpf(context, write_end.get());
  if (rc < 0) return Error::from_errno("seccomp_export_bpf", -rc);
  write_end.reset();
  std::vector<char> bytes;
  char chunk[4096];
  for (;;) {
    const ssize_t got = ::read(read_end.get(), chunk, sizeof chunk);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) return Error::from_errno("read the exported BPF program", errno);
    if (got == 0) break;
    bytes.insert(bytes.end(), chunk, chunk + got);
    if (bytes.size() > (BPF_MAXINSNS + 1) * sizeof(sock_filter)) break;
  }
  if (bytes.empty() || bytes.size() % sizeof(sock_filter) != 0) {
    return Error("libseccomp exported " + std::to_string(bytes.size()) + " bytes, not a BPF program");
  }
  const size_t instructions = bytes.size() / sizeof(sock_filter);
  if (instructions > BPF_MAXINSNS) {
    return Error("the policy compiles to more than " + std::to_string(BPF_MAXINSNS) +
                 " BPF instructions, the most the kernel accepts");
  }
  std::vector<sock_filter> program(instructions);
  std::memcpy(program.data(), bytes.data(), bytes.size());
  return program;
}

}  // namespace

Result<std::vector<sock_filter>> compile_seccomp_policy(const SeccompPolicy& policy,
                                                        ViolationAction action) {
  SlotActions actions;
  uint32_t default_action = SCMP_ACT_KILL_PROCESS;
  if (action == ViolationAction::kLog) default_action = SCMP_ACT_LOG;
  if (action == ViolationAction::kRecord) {
    actions = {true, recording_policy_id(policy.name)};
    default_action = SCMP_ACT_TRACE(recording_tag(actions.policy_id, kOutsidePolicySlot));
    if (recording_slots(policy).size() > kMaxRecordingSlots) {
      return Error(policy.name + ": more than " + std::to_string(kMaxRecordingSlots) +
                   " rule alternatives cannot be told apart in record mode");
    }
  }
  FilterContext context(seccomp_init(default_action));
  if (!context) {
    return Error(policy.name + ": libseccomp cannot build a filter with this violation action "
                 "(kernel or libseccomp too old?)");
  }
  // Another ABI is never legitimate for the monitor: kill the process, not just the thread.
  int rc = seccomp_attr_set(context.get(), SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
  if (rc < 0) return Error::from_errno("seccomp_attr_set(ACT_BADARCH)", -rc);
  size_t slot = 0;
  for (const SyscallRule& rule : policy.rules) BULWARK_TRY(add_rule(context.get(), rule, actions, slot));
  Result<std::vector<sock_filter>> program = export_program(context.get());
  if (!program.ok()) return program.error().wrap(policy.name);
  return program;
}

}  // namespace bulwark::policy
