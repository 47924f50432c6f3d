#include "jailer/policy_cli/policy_check.h"

#include <sys/stat.h>

#include <algorithm>
#include <functional>
#include <map>
#include <set>

#include "jailer/policy_cli/policy_tree.h"
#include "jailer/policy_cli/seccomp_json.h"
#include "policy/seccomp_policy/policy_listing.h"
#include "policy/seccomp_policy/policy_loader.h"
#include "policy/seccomp_policy/policy_text.h"
#include "policy/seccomp_policy/syscall_names.h"

namespace bulwark::policy_cli {

namespace {

// The name each line is parsed under, on its own; stripped from the parser's messages.
constexpr std::string_view kLinePrefix = "L:1: ";

struct Include {
  std::string name;
  int line = 0;
};

struct FileLint {
  std::vector<policy::SyscallRule> rules;
  std::vector<Include> includes;
};

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t' || text.back() == '\r')) text.remove_suffix(1);
  return text;
}

std::string strip_prefix(const std::string& message) {
  return message.starts_with(kLinePrefix) ? message.substr(kLinePrefix.size()) : message;
}

const char* classify(const std::string& message) {
  if (message.find("unknown system call") != std::string::npos) return kFindingUnknownSyscall;
  if (message.find("missing reason") != std::string::npos || message.find("empty reason") != std::string::npos) {
    return kFindingMissingReason;
  }
  return kFindingMalformed;
}

bool is_plain_file(const std::string& path) {
  struct stat st{};
  return ::lstat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

class Checker {
 public:
  explicit Checker(std::string dir) : dir_(std::move(dir)) {}

  CheckReport run(const std::vector<std::string>& files) {
    for (const std::string& file : files) lint_file(file);
    report_.files = files.size();
    find_include_cycles();
    std::set<std::string> included;
    for (const auto& [file, lint] : lints_) {
      for (const Include& include : lint.includes) included.insert(include.name);
    }
    for (const std::string& file : files) {
      if (included.count(file) == 0) check_closure(file);
    }
    check_conditions_agree();
    for (const std::string& file : files) {
      if (included.count(file) == 0) compare_with_loader(file);
    }
    for (const PolicyKind& kind : policy_kinds()) {
      if (kind.policy_file != nullptr && lints_.count(kind.policy_file) == 0) {
        report_.notes.push_back(std::string(kind.policy_file) + " (" + kind.title + ") is not in " + dir_ +
                                "; that process cannot start with seccomp enforced");
      }
    }
    std::stable_sort(report_.findings.begin(), report_.findings.end(),
                     [](const Finding& a, const Finding& b) { return a.location < b.location; });
    return std::move(report_);
  }

 private:
  std::string path_of(const std::string& file) const { return dir_ + "/" + file; }
  std::string location(const std::string& file, int line) const {
    return path_of(file) + ":" + std::to_string(line);
  }

  void add(const std::string& where, const char* kind, const std::string& message) {
    for (const Finding& f : report_.findings) {
      if (f.location == where && f.kind == kind) return;
    }
    report_.findings.push_back({where, kind, message});
  }

  void lint_file(const std::string& file) {
    FileLint& lint = lints_[file];
    auto text = read_text_file(path_of(file));
    if (!text.ok()) {
      add(path_of(file), kFindingMalformed, text.error().message());
      return;
    }
    std::map<std::string, int> rule_line;
    std::vector<PendingNote> pending_notes;
    int number = 0;
    size_t start = 0;
    const std::string_view all = *text;
    while (start <= all.size()) {
      size_t end = all.find('\n', start);
      if (end == std::string_view::npos) end = all.size();
      const std::string_view raw = all.substr(start, end - start);
      start = end + 1;
      ++number;
      const std::string_view line = trim(raw);
      if (line.empty() || line.front() == '#') {
        if (raw.find_first_of(std::string_view("\x01\x02\x03\x04\x05\x06\x07\x08\x0b\x0c\x0e\x0f\x7f", 13)) !=
            std::string_view::npos) {
          add(location(file, number), kFindingMalformed, "control character in a comment");
        }
        continue;
      }
      if (is_unexercised_note(line)) {
        pending_notes.push_back({number, raw});
        continue;
      }
      if (line.front() == '@') {
        report_dangling_notes(file, pending_notes);
        lint_include(file, raw, number, lint);
        continue;
      }
      auto parsed = policy::parse_seccomp_policy(raw, "L", {}, policy::check_x86_64_syscall_name);
      if (!parsed.ok()) {
        const std::string message = strip_prefix(parsed.error().message());
        add(location(file, number), classify(message), message);
        pending_notes.clear();
        continue;
      }
      lint_notes(file, pending_notes, raw);
      for (policy::SyscallRule& rule : parsed->rules) {
        rule.file = file;
        rule.line = number;
        const auto earlier = rule_line.find(rule.name);
        if (earlier != rule_line.end()) {
          add(location(file, number), kFindingDuplicate,
              "'" + rule.name + "' already has a rule at " + location(file, earlier->second) +
                  "; join the conditions with '||' in one rule");
          continue;
        }
        rule_line[rule.name] = number;
        lint.rules.push_back(std::move(rule));
        ++report_.rules;
      }
    }
    report_dangling_notes(file, pending_notes);
  }

  // `@unexercised` lines waiting for the rule below them.
  struct PendingNote {
    int line = 0;
    std::string_view raw;
  };

  static bool is_unexercised_note(std::string_view line) {
    constexpr std::string_view kDirective = "@unexercised";
    return line.starts_with(kDirective) &&
           (line.size() == kDirective.size() || line[kDirective.size()] == ' ' || line[kDirective.size()] == '\t');
  }

  void report_dangling_notes(const std::string& file, std::vector<PendingNote>& notes) {
    if (!notes.empty()) {
      add(location(file, notes.front().line), kFindingMalformed, "@unexercised must be directly above the rule it is about");
    }
    notes.clear();
  }

  // Parses the notes together with their rule (a valid rule on its own) and reports a note's
  // error at the note's own line.
  void lint_notes(const std::string& file, std::vector<PendingNote>& notes, std::string_view rule_line) {
    if (notes.empty()) return;
    std::string text;
    for (const PendingNote& note : notes) text += std::string(note.raw) + "\n";
    text += std::string(rule_line) + "\n";
    auto parsed = policy::parse_seccomp_policy(text, "L", {}, policy::check_x86_64_syscall_name);
    if (!parsed.ok()) {
      const std::string& message = parsed.error().message();
      size_t index = 0;
      size_t digits = 2;  // after "L:"
      while (message.size() > digits && message[digits] >= '0' && message[digits] <= '9') {
        index = index * 10 + static_cast<size_t>(message[digits++] - '0');
      }
      const int line = index >= 1 && index <= notes.size() ? notes[index - 1].line : notes.front().line;
      const std::string stripped = message.compare(digits, 2, ": ") == 0 ? message.substr(digits + 2) : message;
      add(location(file, line), kFindingMalformed, stripped);
    }
    notes.clear();
  }

  void lint_include(const std::string& file, std::string_view raw, int number, FileLint& lint) {
    std::string name;
    policy::IncludeReader capture = [&name](const std::string& included) -> Result<std::string> {
      name = included;
      return std::string();
    };
    auto parsed = policy::parse_seccomp_policy(raw, "L", capture);
    if (!parsed.ok() || name.empty()) {
      const std::string message = parsed.ok() ? "unreadable @include" : strip_prefix(parsed.error().message());
      add(location(file, number), kFindingMalformed, message);
      return;
    }
    if (!is_plain_file(path_of(name))) {
      add(location(file, number), kFindingMissingInclude,
          "@include " + name + ": no such regular file in " + dir_ + " (symbolic links are refused)");
      return;
    }
    lint.includes.push_back({name, number});
  }

  void find_include_cycles() {
    std::vector<std::string> stack;
    std::set<std::string> done;
    std::function<void(const std::string&)> visit = [&](const std::string& file) {
      if (done.count(file) != 0) return;
      stack.push_back(file);
      const auto found = lints_.find(file);
      if (found != lints_.end()) {
        for (const Include& include : found->second.includes) {
          const auto on_stack = std::find(stack.begin(), stack.end(), include.name);
          if (on_stack != stack.end()) {
            std::string chain;
            for (auto it = on_stack; it != stack.end(); ++it) chain += *it + " -> ";
            add(location(file, include.line), kFindingIncludeCycle, "include cycle: " + chain + include.name);
            cyclic_edges_.insert({file, include.line});
          } else {
            visit(include.name);
          }
        }
      }
      stack.pop_back();
      done.insert(file);
    };
    for (const auto& [file, lint] : lints_) visit(file);
  }

  // The rules of `top` with its includes expanded, in order, as the parser would see them.
  void check_closure(const std::string& top) {
    std::map<std::string, const policy::SyscallRule*> seen;
    std::map<std::string, std::string> included_at;
    std::function<void(const std::string&)> walk = [&](const std::string& file) {
      const auto found = lints_.find(file);
      if (found == lints_.end()) return;
      // Includes are expanded where they are written: merge rules and includes by line.
      size_t next_rule = 0;
      auto take_rules_before = [&](int line) {
        const std::vector<policy::SyscallRule>& rules = found->second.rules;
        while (next_rule < rules.size() && rules[next_rule].line < line) check_rule(top, rules[next_rule++], seen);
      };
      for (const Include& include : found->second.includes) {
        take_rules_before(include.line);
        if (cyclic_edges_.count({file, include.line}) != 0) continue;
        const std::string here = location(file, include.line);
        const auto earlier = included_at.find(include.name);
        if (earlier != included_at.end()) {
          add(here, kFindingDuplicate, include.name + " is already included at " + earlier->second);
          continue;
        }
        included_at[include.name] = here;
        walk(include.name);
      }
      take_rules_before(1 << 30);
    };
    walk(top);
  }

  void check_rule(const std::string& top, const policy::SyscallRule& rule,
                  std::map<std::string, const policy::SyscallRule*>& seen) {
    const auto earlier = seen.find(rule.name);
    if (earlier == seen.end()) {
      seen[rule.name] = &rule;
      return;
    }
    const policy::SyscallRule& first = *earlier->second;
    if (first.file == rule.file) return;  // reported by lint_file
    const std::string first_at = location(first.file, first.line);
    if (rule.file == top || first.file == top) {
      const policy::SyscallRule& thread_rule = rule.file == top ? rule : first;
      const policy::SyscallRule& common_rule = rule.file == top ? first : rule;
      add(location(thread_rule.file, thread_rule.line), kFindingAlreadyInCommon,
          "'" + rule.name + "' is already allowed by " + location(common_rule.file, common_rule.line) + ", which " +
              top + " includes; keep one rule");
    } else {
      add(location(rule.file, rule.line), kFindingDuplicate,
          "'" + rule.name + "' already has a rule at " + first_at + " (both included by " + top + ")");
    }
  }

  // A call allowed with any arguments in one file but only under a condition in another: one
  // of the two is probably wrong.
  void check_conditions_agree() {
    std::map<std::string, std::vector<const policy::SyscallRule*>> by_name;
    for (const auto& [file, lint] : lints_) {
      if (is_test_build_overlay(file)) continue;
      for (const policy::SyscallRule& rule : lint.rules) by_name[rule.name].push_back(&rule);
    }
    for (const auto& [name, rules] : by_name) {
      const auto conditional = std::find_if(rules.begin(), rules.end(),
                                            [](const policy::SyscallRule* r) { return !r->unconditional(); });
      if (conditional == rules.end()) continue;
      for (const policy::SyscallRule* rule : rules) {
        if (!rule->unconditional()) continue;
        std::string condition;
        for (const policy::ComparisonClause& clause : (*conditional)->any_of) {
          if (!condition.empty()) condition += " || ";
          condition += policy::written_alternative(clause);
        }
        add(location(rule->file, rule->line), kFindingUnconditional,
            "'" + name + "' is allowed with any arguments here, but " +
                location((*conditional)->file, (*conditional)->line) + " allows it only if " + condition +
                "; restrict it here too, or explain the difference in both reasons");
      }
    }
    for (const auto& [file, lint] : lints_) {
      if (is_test_build_overlay(file)) {
        report_.notes.push_back(file + ": a test-build overlay (its rules replace the same calls' rules in "
                                       "sanitizer builds only); linted alone, not compared with the other files");
      }
    }
  }

  // Whatever the parser itself refuses must show up here too.
  void compare_with_loader(const std::string& file) {
    auto loaded = policy::load_seccomp_policy_file(path_of(file));
    if (loaded.ok()) return;
    const std::string& message = loaded.error().message();
    for (const Finding& f : report_.findings) {
      if (message.starts_with(f.location + ":") || message.starts_with(f.location + " ")) return;
    }
    const bool known = std::any_of(report_.findings.begin(), report_.findings.end(), [&](const Finding& f) {
      return (message.find("include cycle") != std::string::npos && f.kind == kFindingIncludeCycle) ||
             (message.find("cannot read included file") != std::string::npos && f.kind == kFindingMissingInclude);
    });
    if (!known) add(path_of(file), kFindingMalformed, message);
  }

  const std::string dir_;
  std::map<std::string, FileLint> lints_;
  std::set<std::pair<std::string, int>> cyclic_edges_;
  CheckReport report_;
};

}  // namespace

Result<CheckReport> check_policy_dir(const std::string& seccomp_dir) {
  auto files = list_policy_files(seccomp_dir);
  if (!files.ok()) return files.error();
  return Checker(seccomp_dir).run(*files);
}

std::string render_check_report(const CheckReport& report) {
  std::string out;
  for (const Finding& f : report.findings) out += f.location + ": [" + f.kind + "] " + f.message + "\n";
  for (const std::string& note : report.notes) out += "note: " + note + "\n";
  out += std::to_string(report.findings.size()) + " finding(s) in " + std::to_string(report.files) +
         " policy file(s), " + std::to_string(report.rules) + " rule(s)\n";
  return out;
}

}  // namespace bulwark::policy_cli
