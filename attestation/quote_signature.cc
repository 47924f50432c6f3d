#include "attestation/quote_signature.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>

#include <memory>
#include <vector>

#include "attestation/openssl_owned.h"

namespace bulwark::attestation {

namespace {

// A coordinate left-padded to 32 bytes (the TPM may drop leading zeros).
void put_coordinate(std::vector<uint8_t>& out, const std::vector<uint8_t>& value) {
  out.insert(out.end(), kP256CoordinateBytes - value.size(), 0);  // value.size() <= 32: parsed so
  out.insert(out.end(), value.begin(), value.end());
}

Result<Owned<EVP_PKEY>> load_key(const AkPublic& ak) {
  if (ak.x.size() > kP256CoordinateBytes || ak.y.size() > kP256CoordinateBytes)
    return Error("AK: a coordinate over 32 bytes");
  std::vector<uint8_t> point{0x04};  // uncompressed
  put_coordinate(point, ak.x);
  put_coordinate(point, ak.y);
  Owned<OSSL_PARAM_BLD> build(OSSL_PARAM_BLD_new());
  if (!build || OSSL_PARAM_BLD_push_utf8_string(build.get(), OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) != 1 ||
      OSSL_PARAM_BLD_push_octet_string(build.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(), point.size()) != 1) {
    return Error("AK: OpenSSL failed to build the key's parameters");
  }
  Owned<OSSL_PARAM> params(OSSL_PARAM_BLD_to_param(build.get()));
  Owned<EVP_PKEY_CTX> ctx(EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr));
  EVP_PKEY* key = nullptr;
  if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &key, EVP_PKEY_PUBLIC_KEY, params.get()) != 1 || key == nullptr) {
    return Error("AK: the point is not on NIST P-256");
  }
  return Owned<EVP_PKEY>(key);
}

}  // namespace

Status verify_quote_signature(const AkPublic& ak, std::span<const uint8_t> message, const EcdsaSignature& signature) {
  auto key = load_key(ak);
  if (!key.ok()) return key.error();
  Owned<ECDSA_SIG> sig(ECDSA_SIG_new());
  Owned<BIGNUM> r(BN_bin2bn(signature.r.data(), static_cast<int>(signature.r.size()), nullptr));
  Owned<BIGNUM> s(BN_bin2bn(signature.s.data(), static_cast<int>(signature.s.size()), nullptr));
  if (!sig || !r || !s || ECDSA_SIG_set0(sig.get(), r.get(), s.get()) != 1)
    return Error("OpenSSL failed to build the signature");
  (void)r.release();  // owned by sig now
  (void)s.release();
  unsigned char* der = nullptr;
  const int der_length = i2d_ECDSA_SIG(sig.get(), &der);
  if (der_length <= 0 || der == nullptr) return Error("OpenSSL failed to encode the signature");
  std::unique_ptr<unsigned char, void (*)(unsigned char*)> der_owned(der, [](unsigned char* p) { OPENSSL_free(p); });
  Owned<EVP_MD_CTX> md(EVP_MD_CTX_new());
  if (!md || EVP_DigestVerifyInit(md.get(), nullptr, EVP_sha256(), nullptr, key->get()) != 1) {
    return Error("OpenSSL failed to start the verification");
  }
  if (EVP_DigestVerify(md.get(), der, static_cast<size_t>(der_length), message.data(), message.size()) != 1) {
    return Error("the signature does not verify with the AK");
  }
  return ok_status();
}

Result<std::string> ak_public_pem(const AkPublic& ak) {
  auto key = load_key(ak);
  if (!key.ok()) return key.error();
  Owned<BIO> bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PUBKEY(bio.get(), key->get()) != 1) return Error("OpenSSL failed to write the AK as PEM");
  char* data = nullptr;
  const long length = BIO_get_mem_data(bio.get(), &data);
  if (length <= 0 || data == nullptr) return Error("OpenSSL wrote an empty PEM");
  return std::string(data, static_cast<size_t>(length));
}

}  // namespace bulwark::attestation
