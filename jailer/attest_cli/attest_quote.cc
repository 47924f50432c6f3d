// `bulwark attest quote`: the operator's side, as root on the host. Talks to the running VM's
// swtpm (jailed, the VM's uid, serving the guest: its answers are parsed as hostile by
// TpmClient) and writes the evidence for the tenant.
#include <sys/stat.h>

#include <cerrno>
#include <string>

#include "attestation/hex_text.h"
#include "attestation/launch_events.h"
#include "attestation/quote_signature.h"
#include "attestation/tpm2_quote_command.h"
#include "jailer/attest_cli/attest_command.h"
#include "jailer/attest_cli/attest_options.h"
#include "jailer/attest_cli/evidence_files.h"
#include "jailer/tpm_client.h"
#include "jailer/vm_id.h"
#include "jailer/vm_tpm.h"

namespace bulwark::attest_cli {

namespace {

namespace at = attestation;

struct QuoteEvidence {
  at::QuoteResponse quote;
  std::vector<uint8_t> ak_area;
  std::vector<uint8_t> pcrs;  // SHA-256 of PCR 9, then of PCR 15
};

// The AK again (the same template on the same state gives the same key: it must be the one the
// launcher recorded), the quote, the AK flushed, and the PCR values read.
Result<QuoteEvidence> take_quote(const std::string& tpm_dir, std::span<const uint8_t> nonce) {
  auto recorded = read_bounded_file(tpm_dir + "/" + jail::kTpmAkPublicName, at::kMaxAkPublicBytes);
  if (!recorded.ok()) return recorded.error().wrap("the launcher's attestation key");
  auto client = jail::TpmClient::connect(tpm_dir + "/" + jail::kTpmDataSocketName, 2000);
  if (!client.ok()) return client.error().wrap("the VM's swtpm");
  auto ak = client->create_ak();
  if (!ak.ok()) return ak.error();
  QuoteEvidence evidence;
  evidence.ak_area = ak->ak.area;
  auto quote = client->quote(ak->handle, nonce);
  Status flushed = client->flush(ak->handle);
  if (!quote.ok()) return quote.error();
  if (!flushed.ok()) return flushed.error();
  if (at::ak_public_file(evidence.ak_area) != *recorded) {
    return Error("the TPM's attestation key is not the one the launcher recorded in " + tpm_dir + "/" +
                 jail::kTpmAkPublicName + " (the TPM state changed under the VM?)");
  }
  evidence.quote = std::move(*quote);
  for (uint32_t pcr : at::kQuotedPcrs) {
    auto read = client->pcr_read(pcr);
    if (!read.ok()) return read.error();
    bool found = false;
    for (const at::PcrReadBank& bank : read->banks) {
      if (bank.alg != at::kAlgSha256) continue;
      evidence.pcrs.insert(evidence.pcrs.end(), bank.digest.begin(), bank.digest.end());
      found = true;
    }
    if (!found) return Error("TPM2_PCR_Read: no SHA-256 value of PCR " + std::to_string(pcr));
  }
  return evidence;
}

}  // namespace

int run_attest_quote(const std::vector<std::string_view>& args, std::FILE* out, std::FILE* err) {
  auto options =
      parse_attest_options(args, {"--vm-id", "--nonce", "--out", "--run-dir"}, {}, {"--vm-id", "--nonce", "--out"});
  if (!options.ok()) {
    std::fprintf(err, "bulwark attest quote: %s\n", options.error().message().c_str());
    return kAttestExitUsage;
  }
  const std::string id = options->get("--vm-id");
  if (Status s = jail::validate_vm_id(id); !s.ok()) {
    std::fprintf(err, "bulwark attest quote: --vm-id: %s\n", s.error().message().c_str());
    return kAttestExitUsage;
  }
  auto nonce = at::parse_hex(options->get("--nonce"), at::kMaxNonceBytes);
  if (!nonce.ok() || nonce->empty()) {
    std::fprintf(err, "bulwark attest quote: --nonce: expected 1 to 64 bytes in hex\n");
    return kAttestExitUsage;
  }
  const std::string tpm_dir = jail::vm_tpm_run_dir(options->get("--run-dir", "/run/bulwark"), id);
  auto fail = [err](const Error& e) {
    std::fprintf(err, "bulwark attest quote: %s\n", e.message().c_str());
    return kAttestExitError;
  };
  auto log = read_bounded_file(tpm_dir + "/" + jail::kTpmEventLogName, kMaxEventLogFileBytes);
  if (!log.ok()) return fail(log.error().wrap("VM " + id + " has no measured launch"));
  auto evidence = take_quote(tpm_dir, *nonce);
  if (!evidence.ok()) return fail(evidence.error().wrap("VM " + id));
  auto ak = at::parse_ak_public_area(evidence->ak_area);
  if (!ak.ok()) return fail(ak.error());
  auto pem = at::ak_public_pem(*ak);
  if (!pem.ok()) return fail(pem.error());

  const std::string dir = options->get("--out");
  if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) return fail(Error::from_errno("mkdir " + dir, errno));
  const std::vector<uint8_t> ak_file = at::ak_public_file(evidence->ak_area);
  const std::span<const uint8_t> pem_bytes(reinterpret_cast<const uint8_t*>(pem->data()), pem->size());
  const std::pair<const char*, std::span<const uint8_t>> files[] = {{kQuoteMessageFile, evidence->quote.attest},
                                                                    {kQuoteSignatureFile, evidence->quote.signature},
                                                                    {kAkPublicFile, ak_file},
                                                                    {kAkPemFile, pem_bytes},
                                                                    {kEventLogFile, *log},
                                                                    {kPcrsFile, evidence->pcrs}};
  for (const auto& [name, bytes] : files) {
    if (Status s = write_file(dir + "/" + name, bytes); !s.ok()) return fail(s.error());
  }
  std::fprintf(out, "quote of VM %s (sha256:9,15, nonce %s) written to %s\n", id.c_str(), at::to_hex(*nonce).c_str(),
               dir.c_str());
  std::fprintf(out, "  PCR 9  %s\n  PCR 15 %s\n", at::to_hex(std::span(evidence->pcrs).first(32)).c_str(),
               at::to_hex(std::span(evidence->pcrs).last(32)).c_str());
  return kAttestExitOk;
}

}  // namespace bulwark::attest_cli
