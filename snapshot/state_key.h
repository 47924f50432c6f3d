// The per-VM snapshot key: HKDF-SHA-256 of the host key (the operator's: a file the host config
// names, read by the launcher) with info "bulwark snapshot v1\0<VM id>". A snapshot made for
// one VM is refused under any other VM's key, so a guest that escapes into its monitor and
// learns its own VM's key still cannot forge a snapshot for another VM; the host key itself
// never enters a monitor. Two 32-byte keys come out: one MACs the state file, the other the
// memory file's chunks (separate keys, so a state MAC can never pass as a chunk MAC).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "bulwark/common/result.h"

namespace bulwark::snapshot {

inline constexpr size_t kMinHostKeyBytes = 32;
inline constexpr size_t kMaxHostKeyBytes = 4096;
inline constexpr size_t kMaxVmIdBytes = 64;
inline constexpr std::string_view kKeyInfoLabel = "bulwark snapshot v1";

// The jailer's VM id rule (jailer/vm_id.h), repeated so this library stays pure:
// 1 to 64 of [A-Za-z0-9-].
Status check_vm_id(std::string_view id);

class StateKey {
 public:
  // host_key: 32 to 4096 bytes (a random key; HKDF needs no salt for that).
  static Result<StateKey> derive(std::span<const uint8_t> host_key, std::string_view vm_id);

  StateKey(StateKey&& other) noexcept;
  StateKey& operator=(StateKey&& other) noexcept;
  StateKey(const StateKey&) = delete;
  StateKey& operator=(const StateKey&) = delete;
  ~StateKey();  // wipes both keys (OPENSSL_cleanse)

  const std::string& vm_id() const { return vm_id_; }
  std::span<const uint8_t> state_mac_key() const { return std::span(keys_).first(32); }
  std::span<const uint8_t> chunk_mac_key() const { return std::span(keys_).last(32); }

 private:
  StateKey() = default;
  std::array<uint8_t, 64> keys_{};
  std::string vm_id_;
};

}  // namespace bulwark::snapshot
