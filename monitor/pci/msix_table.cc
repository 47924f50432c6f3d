#include "monitor/pci/msix_table.h"

#include <algorithm>
#include <cstring>

#include "bulwark/common/byte_reader.h"

namespace bulwark::pci {
namespace {

// Copies the bytes of [offset, offset + data.size()) that fall inside `image`, zeros elsewhere.
void read_window(std::span<const uint8_t> image, uint64_t offset, std::span<uint8_t> data) {
  std::fill(data.begin(), data.end(), uint8_t{0});
  if (offset >= image.size()) return;
  const uint64_t n = std::min<uint64_t>(data.size(), image.size() - offset);
  std::memcpy(data.data(), image.data() + offset, n);
}

}  // namespace

MsixTable::MsixTable(uint16_t vectors)
    : entries_(std::clamp<uint16_t>(vectors, 1, kMsixMaxVectors)), pending_((entries_.size() + 63) / 64, 0) {}

std::array<uint8_t, kMsixCapabilityBodySize> MsixTable::capability_body(uint8_t table_bar, uint32_t table_offset,
                                                                         uint8_t pba_bar, uint32_t pba_offset) const {
  std::array<uint8_t, kMsixCapabilityBodySize> body{};
  write_le<uint16_t>(body, 0, message_control());
  write_le<uint32_t>(body, 2, (table_offset & ~7u) | (table_bar & 7u));
  write_le<uint32_t>(body, 6, (pba_offset & ~7u) | (pba_bar & 7u));
  return body;
}

std::array<uint8_t, kMsixCapabilityBodySize> MsixTable::capability_writable_mask() {
  std::array<uint8_t, kMsixCapabilityBodySize> mask{};
  mask[1] = static_cast<uint8_t>((kMsixControlFunctionMask | kMsixControlEnable) >> 8);
  return mask;
}

uint16_t MsixTable::message_control() const {
  uint16_t value = static_cast<uint16_t>(entries_.size() - 1);  // table size is encoded as N-1
  if (function_masked_) value |= kMsixControlFunctionMask;
  if (enabled_) value |= kMsixControlEnable;
  return value;
}

void MsixTable::write_message_control(uint16_t value) {
  const bool enabled = value & kMsixControlEnable;
  const bool masked = value & kMsixControlFunctionMask;
  if (enabled == enabled_ && masked == function_masked_) return;
  enabled_ = enabled;
  function_masked_ = masked;
  notify(0, size());
}

bool MsixTable::entry_masked(uint16_t vector) const {
  return vector >= entries_.size() || (entries_[vector].control & kMsixVectorMasked);
}

bool MsixTable::deliverable(uint16_t vector) const {
  return enabled_ && !function_masked_ && !entry_masked(vector);
}

std::optional<MsiMessage> MsixTable::message(uint16_t vector) const {
  if (vector >= entries_.size()) return std::nullopt;
  const Entry& e = entries_[vector];
  return MsiMessage{(uint64_t{e.address_hi} << 32) | e.address_lo, e.data};
}

bool MsixTable::pending(uint16_t vector) const {
  return vector < entries_.size() && ((pending_[vector / 64] >> (vector % 64)) & 1);
}

void MsixTable::set_pending(uint16_t vector, bool value) {
  const uint64_t bit = uint64_t{1} << (vector % 64);
  if (value) {
    pending_[vector / 64] |= bit;
  } else {
    pending_[vector / 64] &= ~bit;
  }
}

std::optional<MsiMessage> MsixTable::trigger(uint16_t vector) {
  if (vector >= entries_.size()) return std::nullopt;
  if (deliverable(vector)) return message(vector);
  set_pending(vector, true);
  return std::nullopt;
}

std::optional<MsiMessage> MsixTable::take_pending(uint16_t vector) {
  if (!pending(vector) || !deliverable(vector)) return std::nullopt;
  set_pending(vector, false);
  return message(vector);
}

void MsixTable::table_read(uint64_t offset, std::span<uint8_t> data) const {
  std::fill(data.begin(), data.end(), uint8_t{0});
  for (size_t i = 0; i < data.size(); ++i) {
    const std::optional<uint64_t> at = checked_add(offset, i);
    if (!at || *at >= table_bytes()) continue;
    const Entry& e = entries_[*at / kMsixEntrySize];
    const uint32_t fields[4] = {e.address_lo, e.address_hi, e.data, e.control};
    const unsigned byte = static_cast<unsigned>(*at % kMsixEntrySize);
    data[i] = static_cast<uint8_t>(fields[byte / 4] >> (8 * (byte % 4)));
  }
}

void MsixTable::table_write(uint64_t offset, std::span<const uint8_t> data) {
  const size_t size = data.size();
  if ((size != 4 && size != 8) || offset % size != 0 || !range_within(offset, size, table_bytes())) {
    ++ignored_writes_;
    return;
  }
  const auto vector = static_cast<uint16_t>(offset / kMsixEntrySize);
  const auto field = static_cast<unsigned>((offset % kMsixEntrySize) / 4);
  for (unsigned i = 0; i < size / 4; ++i) {
    uint32_t value;
    std::memcpy(&value, data.data() + 4 * i, 4);
    write_dword(vector, field + i, value);
  }
  notify(vector, 1);
}

void MsixTable::write_dword(uint16_t vector, unsigned field, uint32_t value) {
  Entry& e = entries_[vector];
  switch (field) {
    case 0:
      e.address_lo = value & ~3u;  // the message address is dword aligned
      break;
    case 1:
      e.address_hi = value;
      break;
    case 2:
      e.data = value;
      break;
    default:
      e.control = value & kMsixVectorMasked;  // other bits are reserved
      break;
  }
}

void MsixTable::pba_read(uint64_t offset, std::span<uint8_t> data) const {
  read_window(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(pending_.data()), pba_bytes()), offset, data);
}

void MsixTable::pba_write(uint64_t, std::span<const uint8_t>) { ++ignored_writes_; }

void MsixTable::reset() {
  std::fill(entries_.begin(), entries_.end(), Entry{});
  std::fill(pending_.begin(), pending_.end(), 0);
  enabled_ = false;
  function_masked_ = false;
  notify(0, size());
}

void MsixTable::notify(uint16_t first, uint16_t count) const {
  if (on_change_) on_change_(first, count);
}

}  // namespace bulwark::pci
