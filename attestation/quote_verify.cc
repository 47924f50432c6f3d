#include "attestation/quote_verify.h"

#include <algorithm>

#include "attestation/event_log_parser.h"
#include "attestation/hex_text.h"
#include "attestation/launch_events.h"
#include "attestation/pcr_replay.h"
#include "attestation/quote_signature.h"
#include "attestation/tpm2_quote_command.h"
#include "attestation/tpm2_quote_structures.h"

namespace bulwark::attestation {

namespace {

bool same(std::span<const uint8_t> a, std::span<const uint8_t> b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end());
}

// The PCR digest a quote of kQuotedPcrs holds: SHA-256 of the values in PCR order.
Result<Sha256> quoted_pcr_digest(std::span<const uint8_t> values) {
  auto digests = measure(values);
  if (!digests.ok()) return digests.error();
  return digests->sha256;
}

}  // namespace

bool Verdict::passed() const {
  return !checks.empty() && std::all_of(checks.begin(), checks.end(), [](const Check& c) { return c.passed; });
}

Verdict verify_evidence(const Evidence& evidence, std::span<const uint8_t> nonce, const Reference* reference) {
  Verdict verdict;
  auto pass = [&verdict](const std::string& name, const std::string& detail) {
    verdict.checks.push_back({name, true, true, detail});
  };
  auto fail = [&verdict](const std::string& name, const std::string& detail) {
    verdict.checks.push_back({name, false, true, detail});
  };

  auto ak = parse_ak_public_file(evidence.ak_public);
  if (ak.ok())
    pass("ak", "ECC P-256 restricted signing key");
  else
    fail("ak", ak.error().message());
  auto quote = parse_quote_attest(evidence.attest);
  if (quote.ok())
    pass("quote", "TPMS_ATTEST of a quote");
  else
    fail("quote", quote.error().message());
  auto signature = parse_quote_signature(evidence.signature);

  if (!ak.ok() || !quote.ok()) {
    fail("signature", "not checked: the AK or the quote did not parse");
  } else if (!signature.ok()) {
    fail("signature", signature.error().message());
  } else if (Status s = verify_quote_signature(*ak, evidence.attest, *signature); !s.ok()) {
    fail("signature", s.error().message());
  } else {
    pass("signature", "ECDSA P-256 SHA-256 by the AK");
  }

  if (ak.ok() && quote.ok()) {
    auto name = ak_qualified_name(*ak);
    if (name.ok() && same(*name, quote->qualified_signer))
      pass("signer", "the quote names the AK (endorsement hierarchy)");
    else
      fail("signer", "the quote's qualifiedSigner is not the AK's qualified name under the endorsement hierarchy");
  } else {
    fail("signer", "not checked: the AK or the quote did not parse");
  }

  if (!quote.ok()) {
    fail("nonce", "not checked: the quote did not parse");
    fail("pcr-selection", "not checked: the quote did not parse");
  } else {
    if (same(quote->extra_data, nonce))
      pass("nonce", to_hex(nonce));
    else
      fail("nonce", "the quote's nonce is " + to_hex(quote->extra_data) + ", expected " + to_hex(nonce));
    const std::vector<uint8_t> wanted = {0x00, 0x82, 0x00};  // PCRs 9 and 15
    if (quote->pcr_select.size() == 1 && quote->pcr_select[0].alg == kAlgSha256 &&
        quote->pcr_select[0].select == wanted) {
      pass("pcr-selection", "sha256:9,15");
    } else {
      fail("pcr-selection", "the quote does not cover exactly sha256:9,15");
    }
  }

  auto events = parse_event_log(evidence.event_log);
  std::optional<std::vector<LaunchItem>> items;
  if (!events.ok()) {
    fail("eventlog", events.error().message());
  } else if (auto parsed = launch_items(*events); !parsed.ok()) {
    fail("eventlog", parsed.error().message());
  } else {
    items = std::move(*parsed);
    pass("eventlog", std::to_string(events->size()) + " events");
  }

  if (!items || !quote.ok()) {
    fail("replay", "not checked: the event log or the quote did not parse");
  } else {
    auto replayed = replay_pcrs(*events);
    std::vector<uint8_t> values;
    if (replayed.ok()) {
      for (uint32_t pcr : kQuotedPcrs)
        values.insert(values.end(), replayed->sha256[pcr].begin(), replayed->sha256[pcr].end());
    }
    auto digest = replayed.ok() ? quoted_pcr_digest(values) : Result<Sha256>(replayed.error());
    if (!digest.ok())
      fail("replay", digest.error().message());
    else if (same(*digest, quote->pcr_digest))
      pass("replay", "the log's PCR 9 and 15 give the quote's PCR digest");
    else
      fail("replay", "the log's PCR 9 and 15 give PCR digest " + to_hex(*digest) + ", the quote has " +
                         to_hex(quote->pcr_digest));
  }

  if (evidence.pcrs) {
    if (!quote.ok()) {
      fail("pcrs", "not checked: the quote did not parse");
    } else if (evidence.pcrs->size() != 2 * kSha256Bytes) {
      fail("pcrs", "the PCR values file is not two SHA-256 values");
    } else if (auto digest = quoted_pcr_digest(*evidence.pcrs); digest.ok() && same(*digest, quote->pcr_digest)) {
      pass("pcrs", "PCR 9 " + to_hex(std::span(*evidence.pcrs).first(32)) + ", PCR 15 " +
                       to_hex(std::span(*evidence.pcrs).last(32)));
    } else {
      fail("pcrs", "the PCR values file does not hash to the quote's PCR digest");
    }
  }

  if (reference != nullptr) {
    if (!items) {
      fail("reference", "not checked: the event log did not parse");
    } else {
      for (const ReferenceCheck& check : compare_with_reference(*items, *reference)) {
        verdict.checks.push_back({"reference " + check.item, check.passed, check.checked, check.detail});
      }
    }
  }
  return verdict;
}

}  // namespace bulwark::attestation
