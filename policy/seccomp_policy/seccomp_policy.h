// The in-memory form of a seccomp policy file (see policy/seccomp/FORMAT.md): which system
// calls a process may make, under which argument conditions, and why.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace bulwark::policy {

enum class CompareOp { kEq, kNe, kLt, kLe, kGt, kGe, kMaskedEq };

// One test on one system call argument, e.g. `arg1 == KVM_RUN` or `arg2 & PROT_EXEC == 0`.
// Arguments are compared as the 64-bit register values the kernel hands to seccomp.
struct ArgComparison {
  unsigned arg = 0;             // 0..5
  CompareOp op = CompareOp::kEq;
  uint64_t value = 0;
  uint64_t mask = ~uint64_t{0};  // kMaskedEq: (arg & mask) == value; all ones for other ops
  std::string text;              // as written in the policy, for error messages and listings

  bool operator==(const ArgComparison&) const = default;
};

// `clause` = comparisons that must all hold; a rule allows the call if any clause holds.
using ComparisonClause = std::vector<ArgComparison>;

// An `@unexercised` line above a rule: why the rule (or one `||` alternative of it) stays
// although the recorded test runs never make that call (see `bulwark policy minimality`).
struct UnexercisedNote {
  std::optional<size_t> clause;  // index into SyscallRule::any_of; nullopt: the whole rule
  std::string reason;
  int line = 0;  // in the rule's file

  bool operator==(const UnexercisedNote&) const = default;
};

struct SyscallRule {
  std::string name;                      // e.g. "ioctl"
  std::vector<ComparisonClause> any_of;  // empty: allowed whatever the arguments
  std::string reason;                    // the text after " -- "
  std::string file;                      // where the rule was written, for audits and errors
  int line = 0;
  std::vector<UnexercisedNote> unexercised;

  bool unconditional() const { return any_of.empty(); }
  std::string location() const { return file + ":" + std::to_string(line); }
};

struct SeccompPolicy {
  std::string name;                // the top-level file name as given to the parser
  std::vector<std::string> files;  // every file read, top-level first, in include order
  std::vector<SyscallRule> rules;  // in file order, includes expanded in place
};

}  // namespace bulwark::policy
