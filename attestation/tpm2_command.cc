#include "attestation/tpm2_command.h"
#include "attestation/tpm2_wire.h"

#include <string>

namespace bulwark::attestation {

namespace {


using namespace wire;

Result<size_t> bank_digest_bytes(uint16_t alg) {
  if (alg == kAlgSha256) return kSha256Bytes;
  if (alg == kAlgSha384) return kSha384Bytes;
  return Error("algorithm 0x" + std::to_string(alg) + " is neither SHA-256 (0x000b) nor SHA-384 (0x000c)");
}

Status check_pcr(uint32_t pcr) {
  if (pcr >= kPcrCount) return Error("PCR " + std::to_string(pcr) + " is above 23");
  return ok_status();
}

}  // namespace

std::vector<uint8_t> startup_clear_command() {
  std::vector<uint8_t> out = begin_command(kTpmStNoSessions, kTpmCcStartup);
  put_u16(out, kTpmSuClear);
  return finish_command(std::move(out));
}

Result<std::vector<uint8_t>> pcr_extend_command(uint32_t pcr, std::span<const BankDigest> digests) {
  BULWARK_TRY(check_pcr(pcr));
  if (digests.empty() || digests.size() > kMaxPcrBanks) return Error("PCR_Extend: 1 to 8 digests");
  std::vector<uint8_t> out = begin_command(kTpmStSessions, kTpmCcPcrExtend);
  put_u32(out, pcr);  // TPMI_DH_PCR: the PCR's handle is its index
  // The authorization area: one password session with an empty password (PCR 0-23's authValue
  // is empty), sessionHandle, nonce (size 0), attributes 0, hmac (size 0).
  put_u32(out, 4 + 2 + 1 + 2);
  put_u32(out, kTpmRsPw);
  put_u16(out, 0);
  put_u8(out, 0);
  put_u16(out, 0);
  put_u32(out, static_cast<uint32_t>(digests.size()));  // TPML_DIGEST_VALUES
  for (const BankDigest& bank : digests) {
    auto expected = bank_digest_bytes(bank.alg);
    if (!expected.ok()) return expected.error().wrap("PCR_Extend");
    if (bank.digest.size() != *expected) {
      return Error("PCR_Extend: a digest of " + std::to_string(bank.digest.size()) + " bytes for a " +
                   std::to_string(*expected) + "-byte bank");
    }
    put_u16(out, bank.alg);
    out.insert(out.end(), bank.digest.begin(), bank.digest.end());
  }
  return finish_command(std::move(out));
}

Result<std::vector<uint8_t>> pcr_extend_command(uint32_t pcr, const Digests& digests, bool with_sha384) {
  const BankDigest banks[] = {{kAlgSha256, digests.sha256}, {kAlgSha384, digests.sha384}};
  return pcr_extend_command(pcr, std::span<const BankDigest>(banks, with_sha384 ? 2 : 1));
}

Result<std::vector<uint8_t>> pcr_read_command(uint32_t pcr, std::span<const uint16_t> algs) {
  BULWARK_TRY(check_pcr(pcr));
  if (algs.empty() || algs.size() > kMaxPcrBanks) return Error("PCR_Read: 1 to 8 banks");
  std::vector<uint8_t> out = begin_command(kTpmStNoSessions, kTpmCcPcrRead);
  put_u32(out, static_cast<uint32_t>(algs.size()));  // TPML_PCR_SELECTION
  for (uint16_t alg : algs) {
    auto bytes = bank_digest_bytes(alg);
    if (!bytes.ok()) return bytes.error().wrap("PCR_Read");
    put_u16(out, alg);
    put_u8(out, kTpmPcrSelectBytes);
    uint8_t select[kTpmPcrSelectBytes] = {};
    select[pcr / 8] = static_cast<uint8_t>(1u << (pcr % 8));
    for (uint8_t byte : select) put_u8(out, byte);
  }
  return finish_command(std::move(out));
}

}  // namespace bulwark::attestation
