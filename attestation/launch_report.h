// The launch report (issue 16): what a measured launch measured, as JSON the host signs with its
// attestation key (report_signature.h). Built by the launcher from its own measurements
// (jailer/vm_tpm.cc); parsed by a verifier (`bulwark attest verify --report`) as hostile input
// from a host it does not trust: parsed without exceptions, every field checked, bounded
// (kMaxReportBytes, item counts, name and text lengths), unknown keys refused. Fuzz target
// attestation_report. Format, version 1 (attestation/README.md "The launch report"):
//
//   {"bulwark_launch_report": 1,
//    "vm_id": "vm-1", "time": "2026-12-07T20:40:00Z",
//    "event_log": "<base64 of eventlog.bin>",
//    "pcrs": {"sha256": {"9": "<hex>", "15": "<hex>"}, "sha384": {...}},
//    "binaries": {"monitor": "<sha256 hex>", ...}, "policies": {"dev-blk": "<sha256 hex>", ...},
//    "items": [{"pcr": 9, "name": "kernel", "sha256": "<hex>"},
//              {"pcr": 15, "name": "jail profile dev-blk:blk0", "sha256": "<hex>", "text": "..."}]}
//
// The signed bytes are report_json()'s: compact, keys sorted, no whitespace, so the JSON object
// GET /attestation returns serializes back to the same bytes.
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

inline constexpr int kLaunchReportVersion = 1;
inline constexpr size_t kMaxReportBytes = 24 << 20;  // a 16 MiB log in base64, and the rest
inline constexpr size_t kMaxReportEventLogBytes = 16 << 20;
inline constexpr size_t kMaxReportItems = 4096;
inline constexpr size_t kMaxReportTextBytes = 64 * 1024;

struct ReportItem {
  uint32_t pcr = 0;
  std::string name;
  Sha256 sha256{};
  std::optional<std::string> text;  // a text item's content (profiles, contexts, the VM config)
  bool operator==(const ReportItem&) const = default;
};

struct LaunchReport {
  std::string vm_id;
  std::string time;  // RFC 3339, UTC
  std::vector<uint8_t> event_log;
  std::map<uint32_t, Sha256> pcrs_sha256;  // PCR -> value
  std::map<uint32_t, Sha384> pcrs_sha384;
  std::map<std::string, Sha256> binaries;
  std::map<std::string, Sha256> policies;
  std::vector<ReportItem> items;
  bool operator==(const LaunchReport&) const = default;
};

std::string report_json(const LaunchReport& report);
Result<LaunchReport> parse_launch_report(std::string_view json);

// A launcher's report from its event log: the PCR values (both banks) of PCRs 9 and 15 as the log
// replays them, one item per event (launch_reference.h's launch_items) with its text from
// `texts` by item name where it has one, the binaries ("binary NAME" items) and policies
// ("seccomp NAME" items) as name -> SHA-256. Refused: a log that does not parse, or a text
// whose SHA-256 is not its event's digest.
Result<LaunchReport> build_launch_report(std::string vm_id, std::string time, std::span<const uint8_t> event_log,
                                         const std::map<std::string, std::string>& texts);

// The current time as the report writes it.
std::string report_time_now();

}  // namespace bulwark::attestation
