// The TCG PC Client crypto-agile event log (TCG PC Client Platform Firmware Profile, section
// "Event Logging"): the format `tpm2_eventlog` and Linux's binary_bios_measurements read. The
// launcher writes it from the operator's and tenant's launch inputs (event_log_writer.h); a
// verifier, on any machine, parses it as hostile input (event_log_parser.h). Little endian.
//
//   header  TCG_PCClientPCREvent: u32 pcrIndex 0, u32 eventType EV_NO_ACTION, 20 zero bytes
//           (SHA-1 digest field), u32 eventSize, TCG_EfiSpecIDEvent: "Spec ID Event03\0",
//           u32 platformClass, u8 specVersionMinor 0, u8 specVersionMajor 2, u8 specErrata,
//           u8 uintnSize, u32 numberOfAlgorithms, {u16 algorithmId, u16 digestSize} each,
//           u8 vendorInfoSize, vendorInfo
//   events  TCG_PCR_EVENT2: u32 pcrIndex, u32 eventType, u32 digest count, {u16 algId, digest}
//           per bank, u32 eventSize, event data
// This log always has exactly the SHA-256 and SHA-384 banks. Byte by byte in attestation/README.md.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "bulwark/common/result.h"

namespace bulwark::attestation {

// TPM_ALG_ID values (TCG Algorithm Registry) of the two banks.
inline constexpr uint16_t kAlgSha256 = 0x000B;
inline constexpr uint16_t kAlgSha384 = 0x000C;
inline constexpr size_t kSha256Bytes = 32;
inline constexpr size_t kSha384Bytes = 48;
using Sha256 = std::array<uint8_t, kSha256Bytes>;
using Sha384 = std::array<uint8_t, kSha384Bytes>;

// The event types a Bulwark launch writes (PC Client PFP, "Event Types"). EV_NO_ACTION is the
// header's alone: events after it are all extended into a PCR.
enum class EventType : uint32_t {
  kNoAction = 0x03,
  kSeparator = 0x04,
  kAction = 0x05,
  kEventTag = 0x06,
  kIpl = 0x0D,
};

// PCRs 0-23: the PC Client TPM's set.
inline constexpr uint32_t kPcrCount = 24;
// Limits a verifier holds a hostile log to. A launch writes a few hundred events (each binary
// and shared library of each process, each policy, ...) whose data are names and short texts;
// the largest, the canonical VM config, is a few KiB.
inline constexpr size_t kMaxEvents = 4096;
inline constexpr size_t kMaxEventDataBytes = 64 * 1024;

// The header's fixed parts.
inline constexpr std::array<uint8_t, 16> kSpecIdSignature = {'S', 'p', 'e', 'c', ' ', 'I', 'D', ' ',
                                                             'E', 'v', 'e', 'n', 't', '0', '3', 0};
inline constexpr uint32_t kPlatformClassClient = 0;
inline constexpr uint8_t kSpecVersionMinor = 0;
inline constexpr uint8_t kSpecVersionMajor = 2;
inline constexpr uint8_t kSpecErrata = 0;
inline constexpr uint8_t kUintnSize64 = 2;  // UINTN is 64 bits
inline constexpr size_t kSha1Bytes = 20;    // the header's legacy digest field, all zero

struct Digests {
  Sha256 sha256{};
  Sha384 sha384{};
  bool operator==(const Digests&) const = default;
};

// One TCG_PCR_EVENT2.
struct Event {
  uint32_t pcr = 0;
  EventType type = EventType::kIpl;
  Digests digests;
  std::vector<uint8_t> data;
  bool operator==(const Event&) const = default;
};

// SHA-256 and SHA-384 of `bytes` (OpenSSL). Fails only when OpenSSL does.
Result<Digests> measure(std::span<const uint8_t> bytes);

// The event type's name as the TCG spells it ("EV_IPL"), or its number in hex.
std::string event_type_name(uint32_t type);

// What the writer will write and the parser accepts for one event: a PCR 0-23, a type of
// EventType other than EV_NO_ACTION, data up to kMaxEventDataBytes and, for EV_EVENT_TAG, a
// well-formed TCG_PCClientTaggedEvent.
Status check_event(uint32_t pcr, uint32_t type, std::span<const uint8_t> data);

// TCG_PCClientTaggedEvent, EV_EVENT_TAG's data: u32 taggedEventID, u32 taggedEventDataSize,
// taggedEventData.
struct TaggedEvent {
  uint32_t tag = 0;
  std::vector<uint8_t> data;
  bool operator==(const TaggedEvent&) const = default;
};
std::vector<uint8_t> encode_tagged_event(uint32_t tag, std::span<const uint8_t> data);
Result<TaggedEvent> parse_tagged_event(std::span<const uint8_t> event_data);

}  // namespace bulwark::attestation
