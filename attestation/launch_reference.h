// A tenant's reference for a launch (JSON, `bulwark attest reference` writes it from the
// tenant's own files) and its comparison with the items of a parsed event log. Both the
// reference file and the log are hostile to the verifier here (a reference may come from
// elsewhere too): the JSON is parsed without exceptions, bounded (kMaxReferenceBytes, items,
// name and text lengths) and every digest must be 64 hex digits. Fuzz target attestation_quote.
//
//   {"bulwark_reference": 1,
//    "boot": {"kernel": "<sha256 hex>", "initrd": "<sha256 hex>", "cmdline": "<text>",
//             "vm_config": "<sha256 hex of the canonical VM config>"},
//    "isolation": {"seccomp dev-blk": "<sha256 hex>", "binary monitor": "<sha256 hex>", ...}}
//
// Rules (attestation/README.md "Verifying a quote"): the boot items (PCR 9) must be exactly the
// reference's (an initrd measured but not in the reference fails, and the reverse); each
// isolation item the reference names must be in the log with that digest; isolation items the
// log has and the reference does not name are listed as unchecked, not failed. The VM config
// (PCR 9, "vm-config") is compared when the reference has it, else listed as unchecked (it holds
// the launcher's in-jail paths and fd numbers, which a tenant may not compute).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "attestation/event_log.h"
#include "bulwark/common/result.h"

namespace bulwark::attestation {

inline constexpr size_t kMaxReferenceBytes = 1 << 20;
inline constexpr size_t kMaxReferenceItems = 4096;
inline constexpr size_t kMaxReferenceNameBytes = 4096;
inline constexpr size_t kMaxCmdlineBytes = 64 * 1024;

struct Reference {
  std::optional<Sha256> kernel;
  std::optional<Sha256> initrd;
  std::optional<std::string> cmdline;
  std::optional<Sha256> vm_config;
  std::map<std::string, Sha256> isolation;
};

Result<Reference> parse_reference(std::string_view json);
std::string reference_json(const Reference& reference);

// One measured item of a log: "kernel", "initrd", "cmdline" (PCR 9) or an isolation item's name
// (PCR 15), its SHA-256 digest and, for the command line, its text.
struct LaunchItem {
  uint32_t pcr = 0;
  std::string name;
  Sha256 sha256{};
  std::string text;
};

// The items of a parsed log. Refused: an event this launch does not write (another PCR than 9
// and 15, an unknown tag or description), a command line whose text does not hash to its digest,
// the same item twice.
Result<std::vector<LaunchItem>> launch_items(std::span<const Event> events);

struct ReferenceCheck {
  std::string item;  // "kernel", "seccomp dev-blk", ...
  bool passed = false;
  bool checked = true;  // false: measured, not in the reference (not a failure)
  std::string detail;   // "expected sha256 ..., measured ..."
};

std::vector<ReferenceCheck> compare_with_reference(std::span<const LaunchItem> items, const Reference& reference);

}  // namespace bulwark::attestation
