#include "snapshot/state_key.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>

#include <memory>
#include <string>
#include <vector>

namespace bulwark::snapshot {

namespace {

struct PkeyCtxFree {
  void operator()(EVP_PKEY_CTX* ctx) const { EVP_PKEY_CTX_free(ctx); }
};

bool is_id_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
}

}  // namespace

Status check_vm_id(std::string_view id) {
  bool ok = !id.empty() && id.size() <= kMaxVmIdBytes;
  for (char c : id) ok = ok && is_id_char(c);
  if (ok) return ok_status();
  return Error("VM id: expected 1 to 64 characters from [A-Za-z0-9-]");
}

Result<StateKey> StateKey::derive(std::span<const uint8_t> host_key, std::string_view vm_id) {
  if (host_key.size() < kMinHostKeyBytes || host_key.size() > kMaxHostKeyBytes)
    return Error("snapshot host key: expected " + std::to_string(kMinHostKeyBytes) + " to " +
                 std::to_string(kMaxHostKeyBytes) + " bytes, got " + std::to_string(host_key.size()));
  BULWARK_TRY(check_vm_id(vm_id));
  // The label, a NUL, the VM id: no VM id can make the info of another.
  std::vector<uint8_t> info(kKeyInfoLabel.begin(), kKeyInfoLabel.end());
  info.push_back(0);
  info.insert(info.end(), vm_id.begin(), vm_id.end());

  StateKey key;
  key.vm_id_ = std::string(vm_id);
  std::unique_ptr<EVP_PKEY_CTX, PkeyCtxFree> ctx(EVP_PKEY_CTX_new_id(EVP_PKEY_HKDF, nullptr));
  size_t length = key.keys_.size();
  if (!ctx || EVP_PKEY_derive_init(ctx.get()) != 1 ||
      EVP_PKEY_CTX_set_hkdf_md(ctx.get(), EVP_sha256()) != 1 ||
      EVP_PKEY_CTX_set1_hkdf_key(ctx.get(), host_key.data(), static_cast<int>(host_key.size())) != 1 ||
      EVP_PKEY_CTX_add1_hkdf_info(ctx.get(), info.data(), static_cast<int>(info.size())) != 1 ||
      EVP_PKEY_derive(ctx.get(), key.keys_.data(), &length) != 1 || length != key.keys_.size())
    return Error("snapshot key: HKDF-SHA-256 failed in OpenSSL");
  return key;
}

StateKey::StateKey(StateKey&& other) noexcept : keys_(other.keys_), vm_id_(std::move(other.vm_id_)) {
  OPENSSL_cleanse(other.keys_.data(), other.keys_.size());
}

StateKey& StateKey::operator=(StateKey&& other) noexcept {
  if (this != &other) {
    keys_ = other.keys_;
    vm_id_ = std::move(other.vm_id_);
    OPENSSL_cleanse(other.keys_.data(), other.keys_.size());
  }
  return *this;
}

StateKey::~StateKey() { OPENSSL_cleanse(keys_.data(), keys_.size()); }

}  // namespace bulwark::snapshot
