#include "jailer/policy_cli/policy_minimality.h"

#include <map>
#include <set>

#include "policy/seccomp_policy/policy_listing.h"
#include "policy/seccomp_policy/policy_loader.h"
#include "policy/seccomp_policy/policy_recording.h"

namespace bulwark::policy_cli {

namespace {

const policy::UnexercisedNote* note_for(const policy::SyscallRule& rule, std::optional<size_t> clause) {
  for (const policy::UnexercisedNote& note : rule.unexercised) {
    if (note.clause == clause) return &note;
  }
  return nullptr;
}

std::string note_location(const policy::SyscallRule& rule, const policy::UnexercisedNote& note) {
  return rule.file + ":" + std::to_string(note.line);
}

// A note is identified by where it is written; a rule of an included file is checked once per
// policy that includes it, and its note is stale only if every one of them used the rule.
struct NoteUse {
  std::string location;
  std::string what;
  std::vector<std::string> unused_in;
  std::vector<std::string> used_in;
};

}  // namespace

Result<MinimalityReport> check_minimality(const std::string& seccomp_dir, const SyscallUsage& usage) {
  MinimalityReport report;
  std::map<std::string, NoteUse> notes;
  for (std::string_view file_view : policy::recorded_policy_files()) {
    const std::string file(file_view);
    auto loaded = policy::load_process_policy(seccomp_dir, file);
    if (!loaded.ok()) return loaded.error();
    const policy::SeccompPolicy& policy = *loaded;
    const std::vector<policy::RecordingSlot> slots = policy::recording_slots(policy);

    std::vector<uint64_t> slot_calls(slots.size() + 1, 0);
    PolicyMinimality result;
    result.policy_file = file;
    result.allowed_syscalls = policy.rules.size();
    result.alternatives = slots.size();
    for (const auto& [key, count] : usage) {
      if (key.policy_file != file) continue;
      result.calls += count;
      if (key.slot == policy::kOutsidePolicySlot) {
        report.findings.push_back({file, kFindingOutsidePolicy,
                                   "'" + key.syscall + "' was made " + std::to_string(count) +
                                       " times under this policy but no rule allows it (killed in enforce mode)"});
        continue;
      }
      if (key.slot > slots.size() || policy.rules[slots[key.slot - 1].rule].name != key.syscall) {
        return Error("the usage of " + file + " slot " + std::to_string(key.slot) + " (" + key.syscall +
                     ") does not fit the policy in " + seccomp_dir + ": recorded with other policy files?");
      }
      slot_calls[key.slot] += count;
    }
    if (result.calls == 0) {
      report.findings.push_back({file, kFindingNotRecorded,
                                 "no process ran under this policy in record mode, so nothing was measured"});
      report.policies.push_back(std::move(result));
      continue;  // every rule would be "unused": one finding says it
    }

    std::vector<bool> rule_used(policy.rules.size(), false);
    for (size_t i = 0; i < slots.size(); ++i) {
      if (slot_calls[i + 1] > 0) rule_used[slots[i].rule] = true;
    }
    for (size_t r = 0; r < policy.rules.size(); ++r) {
      const policy::SyscallRule& rule = policy.rules[r];
      if (rule_used[r]) ++result.used_syscalls;
      auto consider = [&](std::optional<size_t> clause, bool used, const std::string& what) {
        const policy::UnexercisedNote* note = note_for(rule, clause);
        if (note) {
          NoteUse& use = notes[note_location(rule, *note)];
          use.location = note_location(rule, *note);
          use.what = what;
          (used ? use.used_in : use.unused_in).push_back(file);
        }
        if (used) return;
        // An alternative of a rule that is unused as a whole is covered by the rule's note.
        if (clause && !rule_used[r]) return;
        if (note) {
          result.never_used.push_back(what + " (" + rule.location() + "): " + note->reason);
          return;
        }
        result.never_used.push_back(what + " (" + rule.location() + "): NO WRITTEN REASON");
        report.findings.push_back(
            {rule.location(), kFindingUnexercised,
             what + " is allowed in " + file + " but no recorded run made it: remove it, or write `@unexercised " +
                 rule.name + (clause ? ": " + policy::written_alternative(rule.any_of[*clause]) : std::string()) +
                 " -- why it stays` above the rule"});
      };
      consider(std::nullopt, rule_used[r], "'" + rule.name + "'");
      for (size_t c = 0; c < rule.any_of.size(); ++c) {
        bool used = false;
        for (size_t i = 0; i < slots.size(); ++i) {
          if (slots[i].rule == r && slots[i].clause == c && slot_calls[i + 1] > 0) used = true;
        }
        if (used) ++result.used_alternatives;
        consider(c, used, "'" + rule.name + ": " + policy::written_alternative(rule.any_of[c]) + "'");
      }
      if (rule.unconditional() && rule_used[r]) ++result.used_alternatives;
    }
    report.policies.push_back(std::move(result));
  }
  for (const auto& [location, use] : notes) {
    if (!use.unused_in.empty()) continue;
    std::string in;
    for (const std::string& file : use.used_in) in += (in.empty() ? "" : ", ") + file;
    report.notes.push_back(location + ": @unexercised " + use.what + ", but the recorded runs made it (" + in +
                           "): remove the note unless the call is made only in some runs");
  }
  return report;
}

std::string render_minimality_report(const MinimalityReport& report) {
  std::string out;
  for (const PolicyMinimality& p : report.policies) {
    out += p.policy_file + ": " + std::to_string(p.allowed_syscalls) + " system calls allowed, " +
           std::to_string(p.used_syscalls) + " used; " + std::to_string(p.alternatives) +
           " rule alternatives, " + std::to_string(p.used_alternatives) + " used; " +
           std::to_string(p.calls) + " calls recorded\n";
    for (const std::string& line : p.never_used) out += "  never used: " + line + "\n";
  }
  for (const std::string& note : report.notes) out += "note: " + note + "\n";
  for (const Finding& f : report.findings) out += f.location + ": [" + f.kind + "] " + f.message + "\n";
  out += report.findings.empty() ? "minimality: every allowed call was used or has a written reason\n"
                                  : "minimality: " + std::to_string(report.findings.size()) + " finding(s)\n";
  return out;
}

}  // namespace bulwark::policy_cli
