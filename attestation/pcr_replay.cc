#include "attestation/pcr_replay.h"

#include <openssl/evp.h>

#include <memory>
#include <string>

namespace bulwark::attestation {

namespace {

struct MdCtxFree {
  void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
};

// pcr = H(pcr || digest)
template <size_t N>
bool extend(const EVP_MD* algorithm, std::array<uint8_t, N>& pcr, const std::array<uint8_t, N>& digest) {
  std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
  unsigned int length = 0;
  return ctx && algorithm != nullptr && EVP_DigestInit_ex(ctx.get(), algorithm, nullptr) == 1 &&
         EVP_DigestUpdate(ctx.get(), pcr.data(), N) == 1 && EVP_DigestUpdate(ctx.get(), digest.data(), N) == 1 &&
         EVP_DigestFinal_ex(ctx.get(), pcr.data(), &length) == 1 && length == N;
}

}  // namespace

Result<PcrValues> replay_pcrs(std::span<const Event> events) {
  PcrValues pcrs;
  for (const Event& event : events) {
    if (event.pcr >= kPcrCount) return Error("replay: PCR index " + std::to_string(event.pcr) + " is above 23");
    if (!extend(EVP_sha256(), pcrs.sha256[event.pcr], event.digests.sha256) ||
        !extend(EVP_sha384(), pcrs.sha384[event.pcr], event.digests.sha384))
      return Error("replay: OpenSSL failed to hash");
    pcrs.extended.set(event.pcr);
  }
  return pcrs;
}

}  // namespace bulwark::attestation
