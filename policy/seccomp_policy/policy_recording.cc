#include "policy/seccomp_policy/policy_recording.h"

#include <array>

namespace bulwark::policy {

namespace {

// Fixed ids, so a recording made by one build is read the same way by another. A new process
// kind gets the next free id; ids are never reused for another file.
constexpr std::array<std::string_view, 7> kRecordedPolicyFiles{
    "monitor-main.policy", "monitor-vcpu.policy", "dev-blk.policy", "dev-rng.policy", "dev-net.policy", "api.policy",
    "dev-vsock.policy"};

}  // namespace

unsigned recording_policy_id(std::string_view policy_name) {
  const size_t slash = policy_name.rfind('/');
  if (slash != std::string_view::npos) policy_name.remove_prefix(slash + 1);
  for (size_t i = 0; i < kRecordedPolicyFiles.size(); ++i) {
    if (kRecordedPolicyFiles[i] == policy_name) return static_cast<unsigned>(i + 1);
  }
  return kOtherPolicyRecordingId;
}

std::optional<std::string_view> recording_policy_file(unsigned id) {
  if (id == 0 || id > kRecordedPolicyFiles.size()) return std::nullopt;
  return kRecordedPolicyFiles[id - 1];
}

std::vector<std::string_view> recorded_policy_files() {
  return {kRecordedPolicyFiles.begin(), kRecordedPolicyFiles.end()};
}

std::vector<RecordingSlot> recording_slots(const SeccompPolicy& policy) {
  std::vector<RecordingSlot> slots;
  for (size_t rule = 0; rule < policy.rules.size(); ++rule) {
    const SyscallRule& r = policy.rules[rule];
    if (r.unconditional()) {
      slots.push_back({rule, std::nullopt});
      continue;
    }
    for (size_t clause = 0; clause < r.any_of.size(); ++clause) slots.push_back({rule, clause});
  }
  return slots;
}

}  // namespace bulwark::policy
