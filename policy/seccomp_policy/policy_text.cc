#include "policy/seccomp_policy/policy_text.h"

#include <map>
#include <optional>
#include <utility>
#include <vector>

#include "policy/seccomp_policy/policy_condition.h"

namespace bulwark::policy {

namespace {

constexpr size_t kMaxSyscallNameLength = 64;
constexpr size_t kMaxIncludeNameLength = 255;

std::string quoted_in_message(std::string_view text) { return "'" + std::string(text) + "'"; }

bool is_blank(char c) { return c == ' ' || c == '\t'; }

std::string_view trim(std::string_view text) {
  while (!text.empty() && is_blank(text.front())) text.remove_prefix(1);
  while (!text.empty() && is_blank(text.back())) text.remove_suffix(1);
  return text;
}

// Control characters can hide text from a reviewer's terminal; only tab is allowed.
Status check_visible(std::string_view line) {
  static constexpr char kHex[] = "0123456789abcdef";
  for (char c : line) {
    const auto byte = static_cast<unsigned char>(c);
    if ((byte < 0x20 && c != '\t') || byte == 0x7f) {
      return Error(std::string("control character 0x") + kHex[byte >> 4] + kHex[byte & 0xf] +
                   " is not allowed");
    }
  }
  return ok_status();
}

bool is_syscall_name(std::string_view name) {
  if (name.empty() || name.size() > kMaxSyscallNameLength) return false;
  if (name[0] >= '0' && name[0] <= '9') return false;
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
    if (!ok) return false;
  }
  return true;
}

// Include names are bare file names: nothing that could leave the directory.
Status check_include_name(std::string_view name) {
  if (name.find('/') != std::string_view::npos) {
    return Error("@include " + quoted_in_message(name) +
                 ": only a file in the same directory can be included (no '/')");
  }
  if (name.front() == '.') {
    return Error("@include " + quoted_in_message(name) + ": file names may not start with '.'");
  }
  if (name.size() > kMaxIncludeNameLength) {
    return Error("@include: the file name is longer than " +
                 std::to_string(kMaxIncludeNameLength) + " characters");
  }
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == '-';
    if (!ok) {
      return Error("@include " + quoted_in_message(name) +
                   ": file names may use letters, digits, '.', '_' and '-' only");
    }
  }
  return ok_status();
}

std::string directory_part(const std::string& path) {
  const size_t slash = path.rfind('/');
  return slash == std::string::npos ? std::string() : path.substr(0, slash + 1);
}

std::string base_name(const std::string& path) {
  const size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

class PolicyTextParser {
 public:
  PolicyTextParser(const std::string& file_name, const IncludeReader& read_include,
                   const SyscallNameCheck& check_syscall_name)
      : directory_(directory_part(file_name)),
        read_include_(read_include),
        check_syscall_name_(check_syscall_name) {
    policy_.name = file_name;
  }

  Result<SeccompPolicy> parse(std::string_view text) {
    const std::string top_name = base_name(policy_.name);
    include_stack_.push_back(top_name);
    BULWARK_TRY(parse_file(text, policy_.name, 0));
    return std::move(policy_);
  }

 private:
  Status parse_file(std::string_view text, const std::string& display_name, int depth) {
    policy_.files.push_back(display_name);
    int line_number = 0;
    size_t start = 0;
    while (start <= text.size()) {
      size_t end = text.find('\n', start);
      if (end == std::string_view::npos) end = text.size();
      std::string_view line = text.substr(start, end - start);
      ++line_number;
      start = end + 1;
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);  // CRLF files
      BULWARK_TRY(parse_line(line, display_name, line_number, depth));
    }
    return check_no_pending_notes(display_name);
  }

  // Returns errors located at FILE:LINE; those from an included file carry that file's line.
  Status parse_line(std::string_view raw, const std::string& file, int line_number, int depth) {
    const std::string location = file + ":" + std::to_string(line_number);
    auto at_line = [&location](const Error& error) { return error.wrap(location); };
    if (Status visible = check_visible(raw); !visible.ok()) return at_line(visible.error());
    const std::string_view line = trim(raw);
    if (line.empty() || line.front() == '#') return ok_status();
    if (line.front() != '@') {
      Status rule = parse_rule(line, file, line_number);
      if (!rule.ok()) return at_line(rule.error());
      return attach_pending_notes(policy_.rules.back(), file);
    }
    if (line.starts_with(kUnexercisedDirective) &&
        (line.size() == kUnexercisedDirective.size() || is_blank(line[kUnexercisedDirective.size()]))) {
      Status note = parse_unexercised_note(line.substr(kUnexercisedDirective.size()), line_number);
      return note.ok() ? note : at_line(note.error());
    }
    BULWARK_TRY(check_no_pending_notes(file));
    Result<std::string> name = parse_include_directive(line);
    if (!name.ok()) return at_line(name.error());
    Result<std::string> text = read_included_file(*name, location, depth);
    if (!text.ok()) return at_line(text.error());
    include_stack_.push_back(*name);
    Status included = parse_file(*text, directory_ + *name, depth + 1);
    include_stack_.pop_back();
    return included;
  }

  // "@unexercised NAME -- REASON" or "@unexercised NAME: ALTERNATIVE -- REASON": kept until
  // the rule on the next line, which it must be about.
  Status parse_unexercised_note(std::string_view rest, int line_number) {
    const size_t separator = rest.find("--");
    if (separator == std::string_view::npos) {
      return Error("@unexercised: missing reason: end the line with ' -- ' and why the rule stays");
    }
    const std::string_view head = trim(rest.substr(0, separator));
    const std::string_view reason = trim(rest.substr(separator + 2));
    if (head.empty()) return Error("@unexercised needs the system call name (and alternative) it is about");
    if (reason.empty()) return Error("@unexercised: empty reason after '--'");
    PendingNote note;
    note.line = line_number;
    note.reason = std::string(reason);
    const size_t colon = head.find(':');
    note.name = std::string(trim(head.substr(0, colon)));
    if (!is_syscall_name(note.name)) {
      return Error("@unexercised: " + quoted_in_message(note.name) + " is not a system call name");
    }
    if (colon != std::string_view::npos) {
      const std::string_view alternative = trim(head.substr(colon + 1));
      Result<std::vector<ComparisonClause>> clauses = parse_condition(alternative);
      if (!clauses.ok()) return clauses.error().wrap("@unexercised");
      if (clauses->size() != 1) {
        return Error("@unexercised: name one alternative of the rule (no '||'), got " + quoted_in_message(alternative));
      }
      note.clause = std::move(clauses->front());
      note.clause_text = std::string(alternative);
    }
    pending_notes_.push_back(std::move(note));
    return ok_status();
  }

  // Notes left over when something other than a rule follows them.
  Status check_no_pending_notes(const std::string& file) const {
    if (pending_notes_.empty()) return ok_status();
    return Error(file + ":" + std::to_string(pending_notes_.front().line) +
                 ": @unexercised must be directly above the rule it is about");
  }

  static bool same_test(const ComparisonClause& a, const ComparisonClause& b) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i) {
      if (a[i].arg != b[i].arg || a[i].op != b[i].op || a[i].value != b[i].value || a[i].mask != b[i].mask) {
        return false;
      }
    }
    return true;
  }

  // Attaches the pending notes to `rule`; errors carry the note's own line.
  Status attach_pending_notes(SyscallRule& rule, const std::string& file) {
    std::vector<PendingNote> notes = std::move(pending_notes_);
    pending_notes_.clear();
    for (const PendingNote& note : notes) {
      const std::string at = file + ":" + std::to_string(note.line);
      if (note.name != rule.name) {
        return Error(at + ": @unexercised is about " + quoted_in_message(note.name) + " but the rule below it is for " +
                     quoted_in_message(rule.name));
      }
      UnexercisedNote attached{std::nullopt, note.reason, note.line};
      if (note.clause) {
        for (size_t i = 0; i < rule.any_of.size() && !attached.clause; ++i) {
          if (same_test(*note.clause, rule.any_of[i])) attached.clause = i;
        }
        if (!attached.clause) {
          return Error(at + ": @unexercised: " + quoted_in_message(note.clause_text) + " is not one of the alternatives of the rule for " +
                       quoted_in_message(rule.name) + " below it");
        }
      }
      for (const UnexercisedNote& earlier : rule.unexercised) {
        if (earlier.clause == attached.clause) {
          return Error(at + ": @unexercised: a second note for the same " +
                       std::string(attached.clause ? "alternative" : "rule") + " (the first is at line " +
                       std::to_string(earlier.line) + ")");
        }
      }
      rule.unexercised.push_back(std::move(attached));
    }
    return ok_status();
  }

  // Returns the file name of an "@include NAME  # comment" line.
  static Result<std::string> parse_include_directive(std::string_view line) {
    size_t word_end = 0;
    while (word_end < line.size() && !is_blank(line[word_end]) && line[word_end] != '#') {
      ++word_end;
    }
    const std::string_view directive = line.substr(0, word_end);
    if (directive != "@include") {
      return Error("unknown directive " + quoted_in_message(directive) + " (@include or @unexercised)");
    }
    std::string_view argument = line.substr(word_end);
    const size_t comment = argument.find('#');
    if (comment != std::string_view::npos) argument = argument.substr(0, comment);
    argument = trim(argument);
    if (argument.empty()) return Error("@include needs a file name");
    for (char c : argument) {
      if (is_blank(c)) return Error("@include takes one file name, got " + quoted_in_message(argument));
    }
    BULWARK_TRY(check_include_name(argument));
    return std::string(argument);
  }

  Result<std::string> read_included_file(const std::string& name,
                                         const std::string& include_location, int depth) {
    for (const std::string& open_file : include_stack_) {
      if (open_file == name) {
        std::string chain;
        for (const std::string& file : include_stack_) chain += file + " -> ";
        return Error("include cycle: " + chain + name);
      }
    }
    const auto earlier = included_at_.find(name);
    if (earlier != included_at_.end()) {
      return Error(quoted_in_message(name) + " is already included at " + earlier->second);
    }
    if (depth + 1 > kMaxIncludeDepth) {
      return Error("includes are nested more than " + std::to_string(kMaxIncludeDepth) +
                   " deep");
    }
    if (!read_include_) return Error("@include is not available for this policy text");
    Result<std::string> text = read_include_(name);
    if (!text.ok()) {
      return Error("cannot read included file " + quoted_in_message(name) + ": " + text.error().message());
    }
    included_at_[name] = include_location;
    return text;
  }

  Status parse_rule(std::string_view line, const std::string& file, int line_number) {
    const size_t separator = line.find("--");
    if (separator == std::string_view::npos) {
      return Error("missing reason: end the rule with ' -- ' and why the call is needed");
    }
    const std::string_view head = trim(line.substr(0, separator));
    const std::string_view reason = trim(line.substr(separator + 2));
    if (head.empty()) return Error("missing system call name before '--'");
    if (reason.empty()) return Error("empty reason after '--'");
    if (head.find('#') != std::string_view::npos) {
      return Error("'#' inside a rule: comments go on their own line");
    }

    std::string_view name = head;
    std::string_view condition;
    const size_t colon = head.find(':');
    if (colon != std::string_view::npos) {
      name = trim(head.substr(0, colon));
      condition = trim(head.substr(colon + 1));
      if (name.empty()) return Error("missing system call name before ':'");
      if (condition.empty()) {
        return Error("empty condition after ':' (without ':' the call is allowed with any "
                     "arguments)");
      }
    }
    for (size_t i = 0; i < name.size(); ++i) {
      if (is_blank(name[i])) {
        return Error("expected ':' after the system call name " + quoted_in_message(name.substr(0, i)));
      }
    }
    if (!is_syscall_name(name)) {
      return Error(quoted_in_message(name) +
                   " is not a system call name (lowercase letters, digits and '_')");
    }
    if (check_syscall_name_) BULWARK_TRY(check_syscall_name_(name));
    const auto earlier = rule_at_.find(std::string(name));
    if (earlier != rule_at_.end()) {
      return Error(quoted_in_message(name) + " already has a rule at " + earlier->second +
                   "; join the conditions with '||' in one rule");
    }

    SyscallRule rule;
    rule.name = std::string(name);
    rule.reason = std::string(reason);
    rule.file = file;
    rule.line = line_number;
    if (!condition.empty()) {
      Result<std::vector<ComparisonClause>> clauses = parse_condition(condition);
      if (!clauses.ok()) return clauses.error();
      rule.any_of = std::move(*clauses);
    }
    rule_at_[rule.name] = rule.location();
    policy_.rules.push_back(std::move(rule));
    return ok_status();
  }

  struct PendingNote {
    std::string name;
    std::optional<ComparisonClause> clause;
    std::string clause_text;
    std::string reason;
    int line = 0;
  };
  static constexpr std::string_view kUnexercisedDirective = "@unexercised";

  const std::string directory_;
  const IncludeReader& read_include_;
  const SyscallNameCheck& check_syscall_name_;
  SeccompPolicy policy_;
  std::vector<std::string> include_stack_;
  std::map<std::string, std::string> included_at_;  // include name -> where it was included
  std::map<std::string, std::string> rule_at_;      // syscall name -> FILE:LINE of its rule
  std::vector<PendingNote> pending_notes_;          // @unexercised lines waiting for their rule
};

}  // namespace

Result<SeccompPolicy> parse_seccomp_policy(std::string_view text, const std::string& file_name,
                                           const IncludeReader& read_include,
                                           const SyscallNameCheck& check_syscall_name) {
  return PolicyTextParser(file_name, read_include, check_syscall_name).parse(text);
}

}  // namespace bulwark::policy
