#include "policy/seccomp_policy/policy_listing.h"

#include <string_view>

#include "bulwark/common/hex.h"
namespace bulwark::policy {

namespace {

std::string_view operator_text(CompareOp op) {
  switch (op) {
    case CompareOp::kEq: return "==";
    case CompareOp::kNe: return "!=";
    case CompareOp::kLt: return "<";
    case CompareOp::kLe: return "<=";
    case CompareOp::kGt: return ">";
    case CompareOp::kGe: return ">=";
    case CompareOp::kMaskedEq: return "==";
  }
  return "?";
}

std::string numeric_form(const ArgComparison& c) {
  const std::string arg = "arg" + std::to_string(c.arg);
  if (c.op == CompareOp::kMaskedEq) {
    return "(" + arg + " & " + hex(c.mask) + ") == " + hex(c.value);
  }
  return arg + " " + std::string(operator_text(c.op)) + " " + hex(c.value);
}

std::string clause_text(const ComparisonClause& clause, bool numeric) {
  std::string text;
  for (const ArgComparison& comparison : clause) {
    if (!text.empty()) text += " && ";
    text += numeric ? numeric_form(comparison) : comparison.text;
  }
  return text;
}

// File names come from callers; keep each on one line of the output.
std::string one_line(const std::string& text) {
  std::string out = text;
  for (char& c : out) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
  }
  return out;
}

}  // namespace

std::string written_alternative(const ComparisonClause& clause) { return clause_text(clause, false); }

std::string describe_seccomp_policy(const SeccompPolicy& policy) {
  std::string out = "Seccomp policy " + one_line(policy.name) + "\n";
  if (policy.files.size() > 1) {
    out += "Files:";
    for (const std::string& file : policy.files) out += " " + one_line(file);
    out += "\n";
  }
  out += std::to_string(policy.rules.size()) +
         " system call(s) allowed; any other system call is a violation.\n";
  for (const SyscallRule& rule : policy.rules) {
    out += "\n" + rule.name;
    if (rule.unconditional()) {
      out += ": any arguments\n";
    } else {
      out += rule.any_of.size() == 1 ? ": only if\n" : ": only if one of\n";
      for (const ComparisonClause& clause : rule.any_of) {
        out += "    " + clause_text(clause, false) + "\n";
        out += "        i.e. " + clause_text(clause, true) + "\n";
      }
    }
    out += "  why:  " + rule.reason + "\n";
    for (const UnexercisedNote& note : rule.unexercised) {
      out += "  not made in the recorded tests" +
             (note.clause ? " (" + clause_text(rule.any_of[*note.clause], false) + ")" : std::string()) + ": " +
             note.reason + "\n";
    }
    out += "  from: " + one_line(rule.location()) + "\n";
  }
  return out;
}

std::string format_seccomp_policy(const SeccompPolicy& policy) {
  std::string out = "# " + one_line(policy.name) + " with its includes expanded\n";
  for (const SyscallRule& rule : policy.rules) {
    out += "# from " + one_line(rule.location()) + "\n";
    for (const UnexercisedNote& note : rule.unexercised) {
      out += "@unexercised " + rule.name +
             (note.clause ? ": " + clause_text(rule.any_of[*note.clause], false) : std::string()) + " -- " +
             note.reason + "\n";
    }
    out += rule.name;
    if (!rule.unconditional()) {
      out += ": ";
      for (size_t i = 0; i < rule.any_of.size(); ++i) {
        if (i != 0) out += " || ";
        out += clause_text(rule.any_of[i], false);
      }
    }
    out += " -- " + rule.reason + "\n";
  }
  return out;
}

}  // namespace bulwark::policy
