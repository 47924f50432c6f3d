#include "snapshot/state_format.h"

namespace bulwark::snapshot {

std::string_view section_name(uint32_t type) {
  switch (static_cast<SectionType>(type)) {
    case SectionType::kVmConfig: return "vm config";
    case SectionType::kVcpu: return "vcpu";
    case SectionType::kDevice: return "device";
    case SectionType::kMemoryLayout: return "memory layout";
    case SectionType::kMemoryChunks: return "memory chunks";
  }
  return "unknown";
}

Status check_device_name(std::string_view name) {
  bool ok = !name.empty() && name.size() <= kMaxDeviceNameBytes;
  for (char c : name) ok = ok && ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-');
  if (ok) return ok_status();
  return Error("device name: expected 1 to 32 characters from [a-z0-9_-]");
}

Result<Mac> state_mac(std::span<const uint8_t> body, const StateKey& key) {
  return hmac_sha256(key.state_mac_key(), {body});
}

Status sign_state(std::span<uint8_t> file, const StateKey& key) {
  if (file.size() < kTrailerBytes) return Error("snapshot state: too short to hold its MAC");
  const size_t body = file.size() - kTrailerBytes;
  auto mac = state_mac(file.first(body), key);
  if (!mac.ok()) return mac.error();
  std::copy(mac->begin(), mac->end(), file.begin() + body);
  return ok_status();
}

}  // namespace bulwark::snapshot
