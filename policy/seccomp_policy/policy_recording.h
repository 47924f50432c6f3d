// Record mode: a policy compiled so that every rule alternative hands the call to a tracer
// (SECCOMP_RET_TRACE) with a 16-bit tag saying which policy and which alternative matched.
// `bulwark policy record` is that tracer; `bulwark policy minimality` turns what it saw into
// "allowed but never used". This header is the tag's layout, shared by both ends. Pure.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "policy/seccomp_policy/seccomp_policy.h"

namespace bulwark::policy {

// Tag = policy id (high 4 bits) << 12 | slot (low 12 bits). Slot 0: no rule matched (the call
// would be killed in enforce mode); slot N >= 1: the (N-1)-th entry of recording_slots().
inline constexpr unsigned kRecordingSlotBits = 12;
inline constexpr size_t kMaxRecordingSlots = (size_t{1} << kRecordingSlotBits) - 1;
inline constexpr unsigned kOutsidePolicySlot = 0;
// Policies of Bulwark's processes have ids 1..14 (see recording_policy_file); any other
// policy (tests, an operator's own file) is recorded under this id.
inline constexpr unsigned kOtherPolicyRecordingId = 15;

// The id of a process policy by its top-level file name (a path's directory part is ignored).
unsigned recording_policy_id(std::string_view policy_name);
// The file name for ids 1..14 that have one, e.g. 2 -> "monitor-vcpu.policy".
std::optional<std::string_view> recording_policy_file(unsigned id);
// Every process policy that has an id, in id order.
std::vector<std::string_view> recorded_policy_files();

// What one slot stands for: a whole unconditional rule, or one `||` alternative of a rule.
struct RecordingSlot {
  size_t rule = 0;
  std::optional<size_t> clause;  // nullopt for an unconditional rule
};

// One slot per unconditional rule and one per alternative, in rule order.
std::vector<RecordingSlot> recording_slots(const SeccompPolicy& policy);

inline uint16_t recording_tag(unsigned policy_id, unsigned slot) {
  return static_cast<uint16_t>((policy_id << kRecordingSlotBits) | slot);
}
inline unsigned recording_tag_policy(uint16_t tag) { return tag >> kRecordingSlotBits; }
inline unsigned recording_tag_slot(uint16_t tag) { return tag & kMaxRecordingSlots; }

}  // namespace bulwark::policy
