#include "monitor/legacy/cmos_rtc.h"

#include <algorithm>
#include <utility>

#include "monitor/legacy/register_access.h"

namespace bulwark::legacy {

namespace {

constexpr uint64_t kKiB = 1024;
constexpr uint64_t kMiB = 1024 * kKiB;
constexpr uint64_t kBlock64K = 64 * kKiB;
constexpr uint64_t kBaseMemoryKiB = 640;

void store_le(std::array<uint8_t, CmosRtc::kSize>& ram, uint8_t index, uint64_t value, unsigned bytes) {
  for (unsigned i = 0; i < bytes; ++i) ram[index + i] = static_cast<uint8_t>(value >> (8 * i));
}

bool is_time_field(uint8_t index) {
  switch (index) {
    case CmosRtc::kSeconds:
    case CmosRtc::kMinutes:
    case CmosRtc::kHours:
    case CmosRtc::kDayOfWeek:
    case CmosRtc::kDayOfMonth:
    case CmosRtc::kMonth:
    case CmosRtc::kYear:
    case CmosRtc::kCentury:
      return true;
    default:
      return false;
  }
}

}  // namespace

CmosRtc::CmosRtc(Clock clock) : clock_(std::move(clock)) {
  ram_[kStatusA] = kDefaultA;
  ram_[kStatusB] = kDefaultB;
  ram_[kStatusD] = kDValidRam;
  set_memory_size(0, 0);
  last_status_c_read_ = guest_time();
}

void CmosRtc::port_read(uint16_t offset, std::span<uint8_t> data) {
  if (data.empty()) return;
  // The index port is write-only.
  fill_byte_read(data, offset == kDataOffset ? read_register(index_) : kFloatingBus);
}

void CmosRtc::port_write(uint16_t offset, std::span<const uint8_t> data) {
  if (data.empty()) return;
  if (offset == kIndexOffset) {
    index_ = data[0] & kIndexMask;  // bit 7 masks NMI on a PC: not modelled
  } else if (offset == kDataOffset) {
    write_register(index_, data[0]);
  }
}

void CmosRtc::set_memory_size(uint64_t below_4g, uint64_t above_4g) {
  const uint64_t extended_kib = below_4g > kMiB ? std::min<uint64_t>((below_4g - kMiB) / kKiB, 0xffff) : 0;
  const uint64_t blocks_above_16m =
      below_4g > 16 * kMiB ? std::min<uint64_t>((below_4g - 16 * kMiB) / kBlock64K, 0xffff) : 0;
  const uint64_t blocks_above_4g = std::min<uint64_t>(above_4g / kBlock64K, 0xffffff);
  store_le(ram_, kBaseMemoryLow, kBaseMemoryKiB, 2);
  store_le(ram_, kExtendedMemoryLow, extended_kib, 2);
  store_le(ram_, kExtendedMemoryCopyLow, extended_kib, 2);
  store_le(ram_, kMemoryAbove16MLow, blocks_above_16m, 2);
  store_le(ram_, kMemoryAbove4GLow, blocks_above_4g, 3);
}

int64_t CmosRtc::guest_time() const {
  return setting() ? unix_from_civil(frozen_) : host_now() + guest_offset_;
}

uint8_t CmosRtc::read_register(uint8_t index) {
  if (is_time_field(index)) return read_time_field(index);
  switch (index) {
    case kStatusA:
      return ram_[kStatusA] & static_cast<uint8_t>(~kAUpdateInProgress);
    case kStatusC:
      return read_status_c();
    case kStatusD:
      return kDValidRam;
    default:
      return ram_[index & kIndexMask];
  }
}

void CmosRtc::write_register(uint8_t index, uint8_t value) {
  if (is_time_field(index)) {
    write_time_field(index, value);
    return;
  }
  switch (index) {
    case kStatusA:
      ram_[kStatusA] = value & static_cast<uint8_t>(~kAUpdateInProgress);
      break;
    case kStatusB:
      write_status_b(value);
      break;
    case kStatusC:
    case kStatusD:
      break;  // read-only
    default:
      ram_[index & kIndexMask] = value;
      break;
  }
}

void CmosRtc::write_status_b(uint8_t value) {
  const bool was_setting = setting();
  const bool now_setting = (value & kBSet) != 0;
  if (!was_setting && now_setting) {
    frozen_ = civil_from_unix(guest_time());
    value &= static_cast<uint8_t>(~kBUpdateInterruptEnable);
  } else if (was_setting && !now_setting) {
    guest_offset_ = unix_from_civil(frozen_) - host_now();
  }
  ram_[kStatusB] = value;
}

uint8_t CmosRtc::read_time_field(uint8_t index) const {
  const CivilTime time = guest_civil_time();
  switch (index) {
    case kSeconds:
      return encode(time.second);
    case kMinutes:
      return encode(time.minute);
    case kHours: {
      if (ram_[kStatusB] & k24Hour) return encode(time.hour);
      const unsigned hour12 = time.hour % 12 == 0 ? 12 : time.hour % 12;
      return static_cast<uint8_t>(encode(hour12) | (time.hour >= 12 ? kHourPm : 0));
    }
    case kDayOfWeek:
      return encode(time.weekday);
    case kDayOfMonth:
      return encode(time.day);
    case kMonth:
      return encode(time.month);
    case kYear:
      return encode(static_cast<unsigned>(time.year % 100));
    case kCentury:
      return encode(static_cast<unsigned>(time.year / 100));
    default:
      return kFloatingBus;
  }
}

void CmosRtc::write_time_field(uint8_t index, uint8_t value) {
  CivilTime time = guest_civil_time();
  switch (index) {
    case kSeconds:
      time.second = std::min(decode(value), 59u);
      break;
    case kMinutes:
      time.minute = std::min(decode(value), 59u);
      break;
    case kHours:
      if (ram_[kStatusB] & k24Hour) {
        time.hour = std::min(decode(value), 23u);
      } else {
        const unsigned hour12 = std::clamp(decode(value & static_cast<uint8_t>(~kHourPm)), 1u, 12u);
        time.hour = hour12 % 12 + ((value & kHourPm) ? 12 : 0);
      }
      break;
    case kDayOfWeek:
      time.weekday = std::clamp(decode(value), 1u, 7u);
      break;
    case kDayOfMonth:
      time.day = std::clamp(decode(value), 1u, 31u);
      break;
    case kMonth:
      time.month = std::clamp(decode(value), 1u, 12u);
      break;
    case kYear:
      time.year = time.year / 100 * 100 + static_cast<int>(std::min(decode(value), 99u));
      break;
    case kCentury:
      time.year = static_cast<int>(std::min(decode(value), 99u)) * 100 + time.year % 100;
      break;
    default:
      return;
  }
  if (setting()) {
    frozen_ = time;  // stands still until SET is released
  } else {
    guest_offset_ = unix_from_civil(time) - host_now();
  }
}

uint8_t CmosRtc::read_status_c() {
  // An update cycle ends once a second while the clock runs; report it at most once.
  const int64_t now = guest_time();
  uint8_t flags = 0;
  if (!setting() && now != last_status_c_read_) {
    flags |= kCUpdateEnded;
    if (ram_[kStatusB] & kBUpdateInterruptEnable) flags |= kCInterruptRequest;
  }
  last_status_c_read_ = now;
  return flags;
}

int64_t CmosRtc::host_now() const {
  const int64_t now = clock_ ? clock_() : 0;
  return std::clamp(now, kCivilTimeMinUnix, kCivilTimeMaxUnix);
}

CivilTime CmosRtc::guest_civil_time() const {
  return setting() ? frozen_ : civil_from_unix(host_now() + guest_offset_);
}

uint8_t CmosRtc::encode(unsigned value) const {
  value %= 100;  // every field fits two digits; keeps BCD well formed
  if (binary()) return static_cast<uint8_t>(value);
  return static_cast<uint8_t>((value / 10) << 4 | value % 10);
}

unsigned CmosRtc::decode(uint8_t value) const {
  if (binary()) return value;
  return (value >> 4) * 10u + (value & 0x0fu);
}

}  // namespace bulwark::legacy
