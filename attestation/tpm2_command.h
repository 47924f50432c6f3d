// TPM 2.0 commands the launcher sends to a VM's vTPM (swtpm) for a measured launch, marshalled
// by hand (TPM 2.0 Library, Part 3): TPM2_Startup, TPM2_PCR_Extend and TPM2_PCR_Read, nothing
// else. The launcher builds them from its own measurements; nothing of a tenant's is marshalled
// except digests. Big endian, as every TPM structure.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "attestation/event_log.h"
#include "bulwark/common/result.h"

namespace bulwark::attestation {

// TPM_ST tags, command codes, handles (Part 2).
inline constexpr uint16_t kTpmStNoSessions = 0x8001;
inline constexpr uint16_t kTpmStSessions = 0x8002;
inline constexpr uint32_t kTpmCcStartup = 0x00000144;
inline constexpr uint32_t kTpmCcPcrExtend = 0x00000182;
inline constexpr uint32_t kTpmCcPcrRead = 0x0000017E;
inline constexpr uint32_t kTpmRsPw = 0x40000009;  // the password session: PCR auth is empty
inline constexpr uint16_t kTpmSuClear = 0x0000;
inline constexpr size_t kTpmHeaderBytes = 10;      // tag u16, size u32, code u32
// The largest command or response swtpm exchanges (its TPM_BUFFER_MAX); a response that says
// it is longer is refused before it is read.
inline constexpr size_t kTpmMaxMessageBytes = 4096;
// PCR_Read's selection bitmap: 3 bytes cover PCRs 0-23, what a PC Client TPM has.
inline constexpr uint8_t kTpmPcrSelectBytes = 3;

// One bank's digest for PCR_Extend: its TPM_ALG_ID and the digest (32 bytes for SHA-256, 48
// for SHA-384).
struct BankDigest {
  uint16_t alg = kAlgSha256;
  std::span<const uint8_t> digest;
};

// TPM2_Startup(TPM_SU_CLEAR): the first command after swtpm starts; PCRs begin at zero.
std::vector<uint8_t> startup_clear_command();

// TPM2_PCR_Extend of `pcr` (0-23) with one digest per bank, through the empty password
// session. Refused: a PCR above 23, no digests, more than 8, a digest whose size is not its
// algorithm's, an algorithm other than SHA-256 and SHA-384.
Result<std::vector<uint8_t>> pcr_extend_command(uint32_t pcr, std::span<const BankDigest> digests);
// Both banks of `digests` (the event log's), SHA-256 first; `with_sha384` false: SHA-256 only.
Result<std::vector<uint8_t>> pcr_extend_command(uint32_t pcr, const Digests& digests, bool with_sha384);

// TPM2_PCR_Read of one PCR in each bank of `algs` (at most 8, each SHA-256 or SHA-384).
Result<std::vector<uint8_t>> pcr_read_command(uint32_t pcr, std::span<const uint16_t> algs);

}  // namespace bulwark::attestation
