#include "jailer/policy_cli/policy_diff.h"

#include <algorithm>
#include <map>
#include <set>

#include "jailer/policy_cli/policy_tree.h"
#include "jailer/policy_cli/seccomp_json.h"
#include "policy/seccomp_policy/policy_listing.h"
#include "jailer/policy_cli/selinux_te.h"

namespace bulwark::policy_cli {

namespace {

using policy::ArgComparison;
using policy::ComparisonClause;
using policy::SyscallRule;

// Compared by meaning (argument, operator, value, mask), not by how it is written.
bool same_test(const ArgComparison& a, const ArgComparison& b) {
  return a.arg == b.arg && a.op == b.op && a.value == b.value && a.mask == b.mask;
}

// `narrow` allows no more than `wide` when every test of `wide` is also in `narrow`.
bool clause_implies(const ComparisonClause& narrow, const ComparisonClause& wide) {
  return std::all_of(wide.begin(), wide.end(), [&](const ArgComparison& w) {
    return std::any_of(narrow.begin(), narrow.end(), [&](const ArgComparison& n) { return same_test(n, w); });
  });
}

bool covered_by(const ComparisonClause& clause, const std::vector<ComparisonClause>& others) {
  return std::any_of(others.begin(), others.end(),
                     [&](const ComparisonClause& other) { return clause_implies(clause, other); });
}

std::string condition_text(const SyscallRule& rule) {
  if (rule.unconditional()) return "any arguments";
  std::string text;
  for (const ComparisonClause& clause : rule.any_of) {
    if (!text.empty()) text += " || ";
    text += policy::written_alternative(clause);
  }
  return text;
}

std::string location(const SyscallRule& rule) {
  const size_t slash = rule.file.rfind('/');
  return (slash == std::string::npos ? rule.file : rule.file.substr(slash + 1)) + ":" + std::to_string(rule.line);
}

class Lines {
 public:
  Lines(const std::string& label, DiffReport& report) : label_(label), report_(report) {}
  void widening(const std::string& text) { add("WIDENING: " + text, true); }
  void narrowing(const std::string& text) { add("narrowing: " + text, false); }
  void neutral(const std::string& text) { add(text, false); }

 private:
  void add(const std::string& text, bool widens) {
    if (!header_written_) {
      report_.lines.push_back(label_ + ":");
      header_written_ = true;
    }
    report_.lines.push_back("  " + text);
    report_.changed = true;
    report_.widening = report_.widening || widens;
  }
  const std::string label_;
  DiffReport& report_;
  bool header_written_ = false;
};

void diff_rule(const SyscallRule& old_rule, const SyscallRule& new_rule, Lines& lines) {
  const std::string& name = new_rule.name;
  if (!old_rule.unconditional() && new_rule.unconditional()) {
    lines.widening(name + ": condition removed, now any arguments (was: " + condition_text(old_rule) +
                   ")  [" + location(new_rule) + "]");
  } else if (old_rule.unconditional() && !new_rule.unconditional()) {
    lines.narrowing(name + ": was any arguments, now only if " + condition_text(new_rule) + "  [" +
                    location(new_rule) + "]");
  } else if (!new_rule.unconditional()) {
    for (const ComparisonClause& clause : new_rule.any_of) {
      if (!covered_by(clause, old_rule.any_of)) {
        lines.widening(name + ": condition loosened, newly allowed: " + policy::written_alternative(clause) + "  [" +
                       location(new_rule) + "]");
      }
    }
    for (const ComparisonClause& clause : old_rule.any_of) {
      if (!covered_by(clause, new_rule.any_of)) {
        lines.narrowing(name + ": condition tightened, no longer allowed: " + policy::written_alternative(clause) + "  [" +
                        location(new_rule) + "]");
      }
    }
  }
  if (old_rule.reason != new_rule.reason) {
    lines.neutral(name + ": reason changed: \"" + old_rule.reason + "\" -> \"" + new_rule.reason + "\"");
  }
}

std::map<std::string, const SyscallRule*> by_name(const policy::SeccompPolicy& policy) {
  std::map<std::string, const SyscallRule*> rules;
  for (const SyscallRule& rule : policy.rules) rules[rule.name] = &rule;
  return rules;
}

struct TreeFiles {
  PolicyTree tree;
  std::vector<std::string> policy_files;
};

Result<TreeFiles> read_tree(const std::string& dir) {
  auto tree = locate_policy_tree(dir);
  if (!tree.ok()) return tree.error();
  auto files = list_policy_files(tree->seccomp_dir);
  if (!files.ok()) return files.error();
  return TreeFiles{*tree, *files};
}

// The policies to compare: each kind's file, then every other file no policy includes.
std::vector<std::pair<std::string, std::string>> policies_to_compare(const TreeFiles& old_tree,
                                                                     const TreeFiles& new_tree,
                                                                     const std::set<std::string>& included) {
  std::vector<std::pair<std::string, std::string>> out;  // label, file
  std::set<std::string> seen;
  for (const PolicyKind& kind : policy_kinds()) {
    if (kind.policy_file == nullptr) continue;
    out.emplace_back(std::string(kind.id) + " (" + kind.policy_file + ")", kind.policy_file);
    seen.insert(kind.policy_file);
  }
  std::set<std::string> others(old_tree.policy_files.begin(), old_tree.policy_files.end());
  others.insert(new_tree.policy_files.begin(), new_tree.policy_files.end());
  for (const std::string& file : others) {
    if (seen.count(file) == 0 && included.count(file) == 0) out.emplace_back(file, file);
  }
  return out;
}

std::string included_file_name(const std::string& path) {
  const size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

std::set<std::string> te_statements_of(const PolicyTree& tree) {
  TeModule module;
  if (tree.selinux_dir) {
    for (const std::string& name : list_te_files(*tree.selinux_dir)) {
      auto text = read_text_file(*tree.selinux_dir + "/" + name);
      if (text.ok()) parse_te_text(*text, name, module);
    }
  }
  return te_statements(module);
}

}  // namespace

void diff_seccomp_policies(const std::string& label, const policy::SeccompPolicy& old_policy,
                           const policy::SeccompPolicy& new_policy, DiffReport& report) {
  Lines lines(label, report);
  const auto old_rules = by_name(old_policy);
  const auto new_rules = by_name(new_policy);
  for (const auto& [name, rule] : new_rules) {
    const auto old_rule = old_rules.find(name);
    if (old_rule == old_rules.end()) {
      lines.widening("+ " + name + ": " + condition_text(*rule) + "  -- " + rule->reason + "  [" +
                     location(*rule) + "]");
    } else {
      diff_rule(*old_rule->second, *rule, lines);
    }
  }
  for (const auto& [name, rule] : old_rules) {
    if (new_rules.count(name) == 0) lines.narrowing("- " + name + " removed (was " + location(*rule) + ")");
  }
}

Result<DiffReport> diff_policy_trees(const std::string& old_dir, const std::string& new_dir) {
  auto old_tree = read_tree(old_dir);
  if (!old_tree.ok()) return old_tree.error();
  auto new_tree = read_tree(new_dir);
  if (!new_tree.ok()) return new_tree.error();

  // Load every kind's policy in both trees first; a file that does not parse stops the diff.
  struct Loaded {
    std::string label;
    LoadedPolicy old_policy, new_policy;
  };
  std::vector<Loaded> loaded;
  std::set<std::string> included;
  auto load_both = [&](const std::string& label, const std::string& file) -> Status {
    Loaded entry{label, load_policy(old_tree->tree.seccomp_dir, file), load_policy(new_tree->tree.seccomp_dir, file)};
    for (const LoadedPolicy* side : {&entry.old_policy, &entry.new_policy}) {
      if (side->present && !side->policy) return Error(side->error);
      if (side->policy) {
        for (size_t i = 1; i < side->policy->files.size(); ++i) included.insert(included_file_name(side->policy->files[i]));
      }
    }
    loaded.push_back(std::move(entry));
    return ok_status();
  };
  for (const PolicyKind& kind : policy_kinds()) {
    if (kind.policy_file == nullptr) continue;
    BULWARK_TRY(load_both(std::string(kind.id) + " (" + kind.policy_file + ")", kind.policy_file));
  }
  const size_t kind_count = loaded.size();
  for (const auto& entry : policies_to_compare(*old_tree, *new_tree, included)) {
    const std::string& label = entry.first;
    const bool is_kind = std::any_of(loaded.begin(), loaded.begin() + static_cast<long>(kind_count),
                                     [&label](const Loaded& l) { return l.label == label; });
    if (!is_kind) BULWARK_TRY(load_both(label, entry.second));
  }

  DiffReport report;
  const policy::SeccompPolicy empty;
  for (const Loaded& entry : loaded) {
    const bool had = entry.old_policy.policy.has_value();
    const bool has = entry.new_policy.policy.has_value();
    if (!had && !has) continue;
    if (!had) {
      report.lines.push_back(entry.label + ": new policy file");
    } else if (!has) {
      report.lines.push_back(entry.label + ": policy file removed (the process cannot start under enforce)");
      report.changed = true;
    }
    diff_seccomp_policies(entry.label, had ? *entry.old_policy.policy : empty,
                          has ? *entry.new_policy.policy : empty, report);
  }

  const std::set<std::string> old_te = te_statements_of(old_tree->tree);
  const std::set<std::string> new_te = te_statements_of(new_tree->tree);
  DiffReport selinux;
  Lines lines("SELinux (selinux/*.te)", selinux);
  for (const std::string& statement : new_te) {
    if (old_te.count(statement) == 0) lines.widening("+ " + statement);
  }
  for (const std::string& statement : old_te) {
    if (new_te.count(statement) == 0) lines.narrowing("- " + statement);
  }
  // An allowxperm list is a limit: when a source, target and class lose their last command, every
  // ioctl command their allow rules permit passes again.
  auto ioctl_keys = [](const std::set<std::string>& statements) {
    std::set<std::string> keys;  // "allowxperm SRC TGT:CLASS ioctl"
    for (const std::string& statement : statements) {
      if (statement.starts_with("allowxperm ")) keys.insert(statement.substr(0, statement.rfind(' ')));
    }
    return keys;
  };
  const std::set<std::string> new_keys = ioctl_keys(new_te);
  for (const std::string& key : ioctl_keys(old_te)) {
    if (new_keys.count(key) == 0) {
      lines.widening(key.substr(std::string("allowxperm ").size()) +
                     ": no allowxperm command list left, so every ioctl command the allow rules permit passes");
    }
  }
  report.lines.insert(report.lines.end(), selinux.lines.begin(), selinux.lines.end());
  report.changed = report.changed || selinux.changed;
  report.widening = report.widening || selinux.widening;
  return report;
}

}  // namespace bulwark::policy_cli
