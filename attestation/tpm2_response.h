// Parses the responses of a VM's vTPM (swtpm) to the commands of tpm2_command.h. swtpm runs
// jailed as the VM's uid and serves the guest too, so the launcher treats what it answers as
// hostile: every length is checked as start + length against the bytes received, the size
// field must equal what arrived, and nothing past the end is read. Fuzz target
// attestation_tpm2_response.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "attestation/tpm2_command.h"
#include "bulwark/common/result.h"

namespace bulwark::attestation {

struct ResponseHeader {
  uint16_t tag = 0;
  uint32_t size = 0;
  uint32_t code = 0;  // TPM_RC; 0 = success
};

// The 10-byte header at the start of `bytes`: tag TPM_ST_NO_SESSIONS or TPM_ST_SESSIONS, size
// from 10 to kTpmMaxMessageBytes. Used on the first 10 bytes read to learn how many follow.
Result<ResponseHeader> parse_response_header(std::span<const uint8_t> bytes);

// A whole response: the header, its size equal to bytes.size(), and a success code (an error
// names the TPM_RC in hex, e.g. "TPM error 0x00000100").
Result<ResponseHeader> check_response(std::span<const uint8_t> bytes);

// TPM2_Startup's: success, or TPM_RC_INITIALIZE (0x100: already started) when
// `already_started_ok`. Exactly the header.
Status parse_startup_response(std::span<const uint8_t> bytes, bool already_started_ok = false);

// TPM2_PCR_Extend's: success with the password session's empty response (parameterSize 0, an
// empty nonce, attributes, an empty hmac), and nothing after it.
Status parse_pcr_extend_response(std::span<const uint8_t> bytes);

struct PcrReadBank {
  uint16_t alg = 0;
  std::vector<uint8_t> digest;  // the PCR's value in that bank
};

struct PcrReadResult {
  uint32_t update_counter = 0;
  std::vector<PcrReadBank> banks;  // in the TPM's order, each selecting exactly `pcr`
};

// TPM2_PCR_Read's for one PCR: the selection it returns must select `pcr` alone in each bank
// (at most 8 banks, each SHA-256 or SHA-384, the select bitmap at most 3 bytes), and one digest
// of the bank's size per selected bank, in the same order; nothing after. A bank the TPM does
// not have comes back unselected and is left out of `banks`.
Result<PcrReadResult> parse_pcr_read_response(std::span<const uint8_t> bytes, uint32_t pcr);

}  // namespace bulwark::attestation
