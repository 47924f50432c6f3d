// The TPM 2.0 response parser (attestation/tpm2_response) as the launcher meets it: answers from a
// VM's swtpm, which runs as the VM's uid and serves the guest, so may be compromised. Input: the
// first byte picks the PCR asked for (mod 24), the rest is the response as received. What an
// accepted response promises: its size field is what arrived, it never exceeds the maximum, and a
// PCR_Read's banks are SHA-256/SHA-384 with digests of their size; CreatePrimary's key is the AK's
// shape with the name its area hashes to; a Quote's message and signature parse on their own.
#include <cstdint>
#include <cstdlib>
#include <span>

#include "attestation/tpm2_quote_response.h"
#include "attestation/tpm2_response.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace bulwark::attestation;
  if (size == 0) return 0;
  const uint32_t pcr = data[0] % kPcrCount;
  const std::span<const uint8_t> response(data + 1, size - 1);

  auto header = parse_response_header(response);
  if (header.ok() && (header->size < kTpmHeaderBytes || header->size > kTpmMaxMessageBytes)) std::abort();
  auto checked = check_response(response);
  if (checked.ok() && (checked->size != response.size() || checked->code != 0)) std::abort();
  if (parse_startup_response(response).ok() && response.size() != kTpmHeaderBytes) std::abort();
  (void)parse_startup_response(response, true);
  if (parse_pcr_extend_response(response).ok() && !checked.ok()) std::abort();
  auto read = parse_pcr_read_response(response, pcr);
  if (read.ok()) {
    if (!checked.ok() || read->banks.size() > 8) std::abort();
    for (const PcrReadBank& bank : read->banks) {
      const size_t expected = bank.alg == kAlgSha256 ? kSha256Bytes : bank.alg == kAlgSha384 ? kSha384Bytes : 0;
      if (expected == 0 || bank.digest.size() != expected) std::abort();
    }
  }
  auto created = parse_create_ak_response(response);
  if (created.ok()) {
    if (!checked.ok() || (created->handle >> 24) != 0x80) std::abort();
    auto name = ak_name(created->ak);
    if (!name.ok() || *name != created->name) std::abort();
  }
  auto quote = parse_quote_response(response);
  if (quote.ok()) {
    if (!checked.ok() || !parse_quote_attest(quote->attest).ok() || !parse_quote_signature(quote->signature).ok()) std::abort();
  }
  if (parse_flush_context_response(response).ok() && response.size() != kTpmHeaderBytes) std::abort();
  return 0;
}
