// What `bulwark attest verify` parses from a host the tenant does not trust (attestation/
// tpm2_quote_structures.h, launch_reference.h): the AK's TPM2B_PUBLIC, the quote's TPMS_ATTEST,
// its TPMT_SIGNATURE, a reference file, and an event log's launch items compared with a
// reference. Input: the first byte picks the parser (mod 5), the rest is the file. What an
// accepted input promises: sizes within the structure's maxima, an AK that is a restricted
// ECC P-256 signing key, a signature's r and s of at most 32 bytes.
#include <cstdint>
#include <cstdlib>
#include <span>
#include <string_view>

#include "attestation/event_log_parser.h"
#include "attestation/launch_reference.h"
#include "attestation/quote_signature.h"
#include "attestation/tpm2_quote_command.h"
#include "attestation/tpm2_quote_structures.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace bulwark::attestation;
  if (size == 0) return 0;
  const std::span<const uint8_t> input(data + 1, size - 1);
  switch (data[0] % 5) {
    case 0: {
      auto ak = parse_ak_public_file(input);
      if (!ak.ok()) break;
      if ((ak->attributes & (kTpmaRestricted | kTpmaSign | kTpmaFixedTpm)) !=
              (kTpmaRestricted | kTpmaSign | kTpmaFixedTpm) ||
          ak->x.empty() || ak->x.size() > 32 || ak->y.empty() || ak->y.size() > 32 ||
          ak->area.size() + 2 != input.size())
        std::abort();
      (void)ak_public_pem(*ak);  // OpenSSL refuses points off the curve
      EcdsaSignature signature{{1}, {1}};
      if (verify_quote_signature(*ak, input, signature).ok()) std::abort();  // r = s = 1 never verifies
      break;
    }
    case 1: {
      auto quote = parse_quote_attest(input);
      if (quote.ok() && (quote->extra_data.size() > 64 || quote->pcr_digest.size() > 64 ||
                         quote->qualified_signer.size() > 66 || quote->pcr_select.size() > 8))
        std::abort();
      break;
    }
    case 2: {
      auto signature = parse_quote_signature(input);
      if (signature.ok() &&
          (signature->r.empty() || signature->r.size() > 32 || signature->s.empty() || signature->s.size() > 32))
        std::abort();
      break;
    }
    case 3: {
      auto reference = parse_reference(std::string_view(reinterpret_cast<const char*>(input.data()), input.size()));
      if (reference.ok()) {
        auto again = parse_reference(reference_json(*reference));
        if (!again.ok() || again->isolation != reference->isolation || again->kernel != reference->kernel ||
            again->cmdline != reference->cmdline)
          std::abort();
      }
      break;
    }
    default: {
      auto events = parse_event_log(input);
      if (!events.ok()) break;
      auto items = launch_items(*events);
      if (!items.ok()) break;
      Reference reference;
      reference.kernel = Sha256{};
      reference.cmdline = "console=ttyS0";
      reference.isolation["seccomp dev-blk"] = Sha256{};
      for (const ReferenceCheck& check : compare_with_reference(*items, reference)) {
        if (!check.checked && !check.passed) std::abort();
      }
      break;
    }
  }
  return 0;
}
