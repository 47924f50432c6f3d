#include "snapshot/hmac.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include <memory>

namespace bulwark::snapshot {

namespace {

struct MacFree {
  void operator()(EVP_MAC* mac) const { EVP_MAC_free(mac); }
};
struct MacCtxFree {
  void operator()(EVP_MAC_CTX* ctx) const { EVP_MAC_CTX_free(ctx); }
};

// Fetched once: fetching looks the algorithm up in OpenSSL's provider tables on every call.
EVP_MAC* hmac_algorithm() {
  static const std::unique_ptr<EVP_MAC, MacFree> mac(EVP_MAC_fetch(nullptr, "HMAC", nullptr));
  return mac.get();
}

}  // namespace

Result<Mac> hmac_sha256(std::span<const uint8_t> key,
                        std::initializer_list<std::span<const uint8_t>> parts) {
  EVP_MAC* algorithm = hmac_algorithm();
  if (algorithm == nullptr) return Error("HMAC-SHA-256: OpenSSL has no HMAC");
  std::unique_ptr<EVP_MAC_CTX, MacCtxFree> ctx(EVP_MAC_CTX_new(algorithm));
  char digest[] = "SHA256";
  const OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0), OSSL_PARAM_construct_end()};
  if (!ctx || EVP_MAC_init(ctx.get(), key.data(), key.size(), params) != 1)
    return Error("HMAC-SHA-256: OpenSSL refused to set up the MAC");
  for (std::span<const uint8_t> part : parts) {
    if (part.empty()) continue;
    if (EVP_MAC_update(ctx.get(), part.data(), part.size()) != 1)
      return Error("HMAC-SHA-256: OpenSSL update failed");
  }
  Mac mac{};
  size_t length = 0;
  if (EVP_MAC_final(ctx.get(), mac.data(), &length, mac.size()) != 1 || length != mac.size())
    return Error("HMAC-SHA-256: OpenSSL final failed");
  return mac;
}

bool macs_equal(std::span<const uint8_t> a, std::span<const uint8_t> b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace bulwark::snapshot
