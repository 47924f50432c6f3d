#include "attestation/report_signature.h"

#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <memory>

#include "attestation/openssl_owned.h"

namespace bulwark::attestation {

namespace {

// The key in `pem` if it is an EC key on P-384.
Result<Owned<EVP_PKEY>> read_key(std::string_view pem, bool is_private) {
  const char* what = is_private ? "report key" : "host key";
  if (pem.size() > kMaxKeyPemBytes) return Error(std::string(what) + ": larger than 64 KiB");
  Owned<BIO> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) return Error(std::string(what) + ": OpenSSL out of memory");
  EVP_PKEY* raw = is_private ? PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr)
                             : PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr);
  Owned<EVP_PKEY> key(raw);
  if (!key) {
    return Error(std::string(what) + (is_private ? ": not a PEM private key (an encrypted one is not supported)"
                                                 : ": not a PEM public key"));
  }
  char group[64] = {};
  size_t length = 0;
  if (!EVP_PKEY_is_a(key.get(), "EC") ||
      EVP_PKEY_get_utf8_string_param(key.get(), OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group, &length) != 1 ||
      std::string_view(group, length) != "secp384r1") {
    return Error(std::string(what) + ": not an ECDSA key on NIST P-384 (openssl ecparam -name secp384r1 -genkey)");
  }
  return key;
}

}  // namespace

Result<std::vector<uint8_t>> sign_report(std::string_view private_pem, std::span<const uint8_t> report) {
  auto key = read_key(private_pem, true);
  if (!key.ok()) return key.error();
  Owned<EVP_MD_CTX> ctx(EVP_MD_CTX_new());
  size_t length = 0;
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha384(), nullptr, key->get()) != 1 ||
      EVP_DigestSign(ctx.get(), nullptr, &length, report.data(), report.size()) != 1) {
    return Error("report signature: OpenSSL failed to sign");
  }
  std::vector<uint8_t> signature(length);
  if (EVP_DigestSign(ctx.get(), signature.data(), &length, report.data(), report.size()) != 1) {
    return Error("report signature: OpenSSL failed to sign");
  }
  signature.resize(length);
  return signature;
}

Status verify_report_signature(std::string_view public_pem, std::span<const uint8_t> report,
                               std::span<const uint8_t> signature) {
  auto key = read_key(public_pem, false);
  if (!key.ok()) return key.error();
  if (signature.empty() || signature.size() > kMaxReportSignatureBytes) {
    return Error("report signature: 1 to 256 bytes expected");
  }
  Owned<EVP_MD_CTX> ctx(EVP_MD_CTX_new());
  if (!ctx || EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha384(), nullptr, key->get()) != 1) {
    return Error("report signature: OpenSSL failed to set up the check");
  }
  if (EVP_DigestVerify(ctx.get(), signature.data(), signature.size(), report.data(), report.size()) != 1) {
    return Error("report signature: not the host key's ECDSA P-384 signature of this report");
  }
  return ok_status();
}

Result<std::string> report_public_key_pem(std::string_view private_pem) {
  auto key = read_key(private_pem, true);
  if (!key.ok()) return key.error();
  Owned<BIO> bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PUBKEY(bio.get(), key->get()) != 1) return Error("report key: OpenSSL failed to write PEM");
  char* data = nullptr;
  const long length = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(length));
}

}  // namespace bulwark::attestation
