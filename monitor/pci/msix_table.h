// MSI-X (PCI Local Bus spec 6.8.2): the capability's message control word, the vector table
// (16 bytes per entry: address low, address high, data, vector control) and the pending-bit
// array. The owner maps table and PBA into a BAR, forwards accesses here, and is told through
// the change callback whenever delivery of some vectors may have changed, so it can update
// KVM routes and irqfds.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <vector>

namespace bulwark::pci {

struct MsiMessage {
  uint64_t address = 0;
  uint32_t data = 0;
  bool operator==(const MsiMessage&) const = default;
};

inline constexpr uint16_t kMsixMaxVectors = 2048;
inline constexpr uint64_t kMsixEntrySize = 16;
inline constexpr uint16_t kMsixControlFunctionMask = 1u << 14;
inline constexpr uint16_t kMsixControlEnable = 1u << 15;
inline constexpr uint32_t kMsixVectorMasked = 1u;
// Capability body after the id and next bytes: message control, table offset|BIR, PBA offset|BIR.
inline constexpr size_t kMsixCapabilityBodySize = 10;
inline constexpr uint8_t kMsixMessageControlOffset = 2;  // from the capability's start

class MsixTable {
 public:
  // Called with [first, first + count) after a change that may affect their delivery.
  using ChangeCallback = std::function<void(uint16_t first, uint16_t count)>;

  // `vectors` is clamped to 1..kMsixMaxVectors. Every entry starts masked, MSI-X disabled.
  explicit MsixTable(uint16_t vectors);

  uint16_t size() const { return static_cast<uint16_t>(entries_.size()); }
  uint64_t table_bytes() const { return entries_.size() * kMsixEntrySize; }
  uint64_t pba_bytes() const { return pending_.size() * sizeof(uint64_t); }

  // The capability as it sits in configuration space; BIR is the BAR index (0..5), offsets
  // must be 8-byte aligned.
  std::array<uint8_t, kMsixCapabilityBodySize> capability_body(uint8_t table_bar, uint32_t table_offset,
                                                                uint8_t pba_bar, uint32_t pba_offset) const;
  // Only the function-mask and enable bits are guest-writable.
  static std::array<uint8_t, kMsixCapabilityBodySize> capability_writable_mask();

  // Table and PBA accesses, offsets relative to their start. Table writes must be an aligned
  // dword or qword inside the table; anything else (and every PBA write) is ignored and counted.
  // Reads outside return zeros.
  void table_read(uint64_t offset, std::span<uint8_t> data) const;
  void table_write(uint64_t offset, std::span<const uint8_t> data);
  void pba_read(uint64_t offset, std::span<uint8_t> data) const;
  void pba_write(uint64_t offset, std::span<const uint8_t> data);

  uint16_t message_control() const;
  // Takes the guest-written message control word (read-only bits are ignored).
  void write_message_control(uint16_t value);

  bool enabled() const { return enabled_; }
  bool function_masked() const { return function_masked_; }
  // Entry mask bit only; out-of-range vectors count as masked.
  bool entry_masked(uint16_t vector) const;
  // True when an interrupt on `vector` would be delivered now.
  bool deliverable(uint16_t vector) const;
  std::optional<MsiMessage> message(uint16_t vector) const;
  bool pending(uint16_t vector) const;

  // The device raises `vector`: returns the message to send now, or records it as pending
  // (masked or disabled) and returns nullopt. Out-of-range vectors are dropped.
  std::optional<MsiMessage> trigger(uint16_t vector);
  // After an unmask: the message to send for a pending, now deliverable vector (clearing the
  // pending bit), else nullopt.
  std::optional<MsiMessage> take_pending(uint16_t vector);

  void set_change_callback(ChangeCallback callback) { on_change_ = std::move(callback); }
  // Back to the power-on state (all masked, disabled, nothing pending). Notifies all vectors.
  void reset();

  uint64_t ignored_writes() const { return ignored_writes_; }

 private:
  struct Entry {
    uint32_t address_lo = 0;
    uint32_t address_hi = 0;
    uint32_t data = 0;
    uint32_t control = kMsixVectorMasked;
  };
  void write_dword(uint16_t vector, unsigned field, uint32_t value);
  void set_pending(uint16_t vector, bool value);
  void notify(uint16_t first, uint16_t count) const;

  std::vector<Entry> entries_;
  std::vector<uint64_t> pending_;
  bool enabled_ = false;
  bool function_masked_ = false;
  uint64_t ignored_writes_ = 0;
  ChangeCallback on_change_;
};

}  // namespace bulwark::pci
