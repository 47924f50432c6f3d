// `bulwark attest verify`: the tenant's side, unprivileged, on any machine, no TPM. Every file
// of the evidence directory comes from a host the tenant does not trust: read bounded
// (evidence_files.h), parsed as hostile (attestation/quote_verify.h), and shown escaped.
#include <sys/stat.h>

#include <cerrno>
#include <string>

#include "attestation/hex_text.h"
#include "attestation/launch_report.h"
#include "attestation/quote_verify.h"
#include "attestation/report_signature.h"
#include "attestation/report_verify.h"
#include "attestation/tpm2_quote_command.h"
#include "attestation/tpm2_quote_structures.h"
#include "jailer/attest_cli/attest_command.h"
#include "jailer/attest_cli/attest_options.h"
#include "jailer/attest_cli/evidence_files.h"

namespace bulwark::attest_cli {

namespace at = attestation;

// --report R: GET /attestation's body ({"report", "signature"}), or launch-report.json with its
// signature beside it (R's name with ".json" replaced by ".sig", else R + ".sig").
Result<at::SignedReportBytes> read_report(const std::string& path) {
  auto bytes = read_bounded_file(path, at::kMaxReportBytes);
  if (!bytes.ok()) return bytes.error();
  const std::string_view text(reinterpret_cast<const char*>(bytes->data()), bytes->size());
  const std::string_view head = text.substr(0, 64);
  if (head.find("\"report\"") != std::string_view::npos || head.find("\"signature\"") != std::string_view::npos) {
    return at::split_attestation_body(text);
  }
  const std::string signature_path =
      path.ends_with(".json") ? path.substr(0, path.size() - 5) + ".sig" : path + ".sig";
  auto signature = read_bounded_file(signature_path, at::kMaxReportSignatureBytes);
  if (!signature.ok()) return signature.error();
  return at::SignedReportBytes{std::move(*bytes), std::move(*signature)};
}

int run_attest_verify(const std::vector<std::string_view>& args, std::FILE* out, std::FILE* err) {
  auto options = parse_attest_options(args, {"--quote", "--nonce", "--reference", "--report", "--host-key"}, {},
                                      {"--quote", "--nonce"});
  if (!options.ok()) {
    std::fprintf(err, "bulwark attest verify: %s\n", options.error().message().c_str());
    return kAttestExitUsage;
  }
  if (options->has("--report") != options->has("--host-key")) {
    std::fprintf(err, "bulwark attest verify: --report and --host-key go together\n");
    return kAttestExitUsage;
  }
  auto nonce = at::parse_hex(options->get("--nonce"), at::kMaxNonceBytes);
  if (!nonce.ok() || nonce->empty()) {
    std::fprintf(err, "bulwark attest verify: --nonce: expected 1 to 64 bytes in hex\n");
    return kAttestExitUsage;
  }
  auto fail = [err](const Error& e) {
    std::fprintf(err, "bulwark attest verify: %s\n", printable(e.message(), 4096).c_str());
    return kAttestExitError;
  };
  std::optional<at::Reference> reference;
  if (options->has("--reference")) {
    auto text = read_bounded_file(options->get("--reference"), at::kMaxReferenceBytes);
    if (!text.ok()) return fail(text.error());
    auto parsed = at::parse_reference(std::string_view(reinterpret_cast<const char*>(text->data()), text->size()));
    if (!parsed.ok()) return fail(parsed.error());
    reference = std::move(*parsed);
  }
  const std::string dir = options->get("--quote");
  at::Evidence evidence;
  const std::tuple<const char*, std::vector<uint8_t>*, size_t> files[] = {
      {kQuoteMessageFile, &evidence.attest, at::kMaxAttestBytes},
      {kQuoteSignatureFile, &evidence.signature, at::kMaxSignatureBytes},
      {kAkPublicFile, &evidence.ak_public, at::kMaxAkPublicBytes},
      {kEventLogFile, &evidence.event_log, kMaxEventLogFileBytes}};
  for (const auto& [name, into, max] : files) {
    auto bytes = read_bounded_file(dir + "/" + name, max);
    if (!bytes.ok()) return fail(bytes.error());
    *into = std::move(*bytes);
  }
  const std::string pcrs_path = dir + "/" + kPcrsFile;
  struct stat st {};
  if (::lstat(pcrs_path.c_str(), &st) == 0) {
    auto bytes = read_bounded_file(pcrs_path, 4096);
    if (!bytes.ok()) return fail(bytes.error());
    evidence.pcrs = std::move(*bytes);
  }

  std::optional<at::ReportEvidence> report;
  if (options->has("--report")) {
    auto signed_report = read_report(options->get("--report"));
    if (!signed_report.ok()) return fail(signed_report.error().wrap("--report"));
    auto key = read_bounded_file(options->get("--host-key"), at::kMaxKeyPemBytes);
    if (!key.ok()) return fail(key.error().wrap("--host-key"));
    report = at::ReportEvidence{std::move(signed_report->report), std::move(signed_report->signature),
                                std::string(key->begin(), key->end())};
  }

  at::Verdict verdict = at::verify_evidence(evidence, *nonce, reference ? &*reference : nullptr);
  if (report) {
    for (at::Check& check : at::verify_report(*report, evidence.event_log)) verdict.checks.push_back(std::move(check));
  }
  size_t failed = 0;
  for (const at::Check& check : verdict.checks) {
    const char* mark = !check.checked ? "--  " : check.passed ? "ok  " : "FAIL";
    if (!check.passed) ++failed;
    std::fprintf(out, "%s %-24s %s\n", mark, printable(check.name, 128).c_str(), printable(check.detail).c_str());
  }
  if (verdict.passed()) {
    std::fprintf(out, "verified: every check passed\n");
    return kAttestExitOk;
  }
  std::fprintf(out, "NOT verified: %zu check%s failed\n", failed, failed == 1 ? "" : "s");
  return kAttestExitRefused;
}

}  // namespace bulwark::attest_cli
