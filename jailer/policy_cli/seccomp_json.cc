#include "jailer/policy_cli/seccomp_json.h"

#include "bulwark/common/hex.h"
#include "jailer/policy_cli/policy_tree.h"
#include "policy/seccomp_policy/policy_listing.h"

namespace bulwark::policy_cli {

namespace {

const char* operator_text(policy::CompareOp op) {
  switch (op) {
    case policy::CompareOp::kEq: return "==";
    case policy::CompareOp::kNe: return "!=";
    case policy::CompareOp::kLt: return "<";
    case policy::CompareOp::kLe: return "<=";
    case policy::CompareOp::kGt: return ">";
    case policy::CompareOp::kGe: return ">=";
    case policy::CompareOp::kMaskedEq: return "==";
  }
  return "?";
}

// Paths in the listing are shown relative to the policy directory.
std::string policy_file_name(const std::string& path) {
  const size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

}  // namespace

std::string numeric_comparison(const policy::ArgComparison& c) {
  const std::string arg = "arg" + std::to_string(c.arg);
  if (c.op == policy::CompareOp::kMaskedEq) return "(" + arg + " & " + hex(c.mask) + ") == " + hex(c.value);
  return arg + " " + operator_text(c.op) + " " + hex(c.value);
}


nlohmann::json seccomp_rule_json(const policy::SyscallRule& rule) {
  nlohmann::json conditions = nlohmann::json::array();
  for (const policy::ComparisonClause& clause : rule.any_of) {
    std::string numeric;
    for (const policy::ArgComparison& comparison : clause) {
      if (!numeric.empty()) numeric += " && ";
      numeric += numeric_comparison(comparison);
    }
    conditions.push_back({{"as_written", policy::written_alternative(clause)}, {"numeric", numeric}});
  }
  return {{"syscall", rule.name},
          {"any_arguments", rule.unconditional()},
          {"only_if_one_of", conditions},
          {"reason", rule.reason},
          {"file", policy_file_name(rule.file)},
          {"line", rule.line}};
}

nlohmann::json seccomp_policy_json(const std::string& seccomp_dir, const std::string& file_name) {
  nlohmann::json out{{"policy_file", file_name}};
  const LoadedPolicy loaded = load_policy(seccomp_dir, file_name);
  if (!loaded.present) {
    out["status"] = "missing";
    out["error"] = file_name + " is not in " + seccomp_dir;
    return out;
  }
  if (!loaded.policy) {
    out["status"] = "invalid";
    out["error"] = loaded.error;
    return out;
  }
  out["status"] = "loaded";
  nlohmann::json files = nlohmann::json::array();
  for (const std::string& file : loaded.policy->files) files.push_back(policy_file_name(file));
  out["files"] = files;
  out["syscall_count"] = loaded.policy->rules.size();
  out["violation"] = "the whole process is killed (SIGSYS)";
  nlohmann::json rules = nlohmann::json::array();
  for (const policy::SyscallRule& rule : loaded.policy->rules) rules.push_back(seccomp_rule_json(rule));
  out["rules"] = rules;
  return out;
}

}  // namespace bulwark::policy_cli
