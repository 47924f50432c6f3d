// The PC's CMOS RAM and MC146818-style real-time clock as a pure state machine.
//
// Ports: base 0x70, span 2. Offset 0 (port 0x70) selects the register: bit 7 is the NMI
// mask on a PC and is ignored, so the index is the value masked to 0x7f; reading it returns
// 0xff (the port is write-only). Offset 1 (port 0x71) reads and writes the selected
// register. Registers are one byte; see register_access.h for wider accesses.
//
// Clock: the time registers (0 seconds, 2 minutes, 4 hours, 6 day of week, 7 day of month,
// 8 month, 9 year, 0x32 century) are computed from the host clock at read time (UTC), in
// BCD or binary per register B bit 2 and in 24- or 12-hour form per bit 1 (bit 7 of the
// hour is PM in 12-hour form). The guest may set the time: while register B's SET bit is on,
// the time stands still at what the guest wrote; writes without SET apply at once. Either
// way the model keeps the difference from the host clock as a guest offset, so the guest's
// time runs on from what it set. Written fields are clamped into range (day-of-month past
// the month's end rolls over), and day of week follows the date once SET is released.
// Years 0000..9999 are representable; a host clock outside that range is clamped.
//
// Status registers: A reads back as written except update-in-progress (bit 7), which is
// always clear (default 0x26). B as written (default 0x02: 24-hour, BCD); setting SET clears
// the update-interrupt enable as on the MC146818. C reports the update-ended flag (bit 4)
// once a second has passed since it was last read, and reads clear it; there is no RTC
// interrupt line, so IRQF is set only as a flag. D reads 0x80 (RAM and time valid).
//
// Every other index up to 0x7f is plain RAM, including the alarm registers 1, 3 and 5 and the
// memory size fields that set_memory_size() fills in.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>

#include "monitor/legacy/civil_time.h"
#include "monitor/legacy/port_io_device.h"

namespace bulwark::legacy {

class CmosRtc final : public PortIoDevice {
 public:
  // Returns the host's Unix time in seconds.
  using Clock = std::function<int64_t()>;

  static constexpr uint16_t kBase = 0x70;
  static constexpr uint16_t kPortCount = 2;
  static constexpr uint16_t kIndexOffset = 0;
  static constexpr uint16_t kDataOffset = 1;
  static constexpr size_t kSize = 128;

  // Register indices.
  static constexpr uint8_t kSeconds = 0x00;
  static constexpr uint8_t kMinutes = 0x02;
  static constexpr uint8_t kHours = 0x04;
  static constexpr uint8_t kDayOfWeek = 0x06;
  static constexpr uint8_t kDayOfMonth = 0x07;
  static constexpr uint8_t kMonth = 0x08;
  static constexpr uint8_t kYear = 0x09;
  static constexpr uint8_t kStatusA = 0x0a;
  static constexpr uint8_t kStatusB = 0x0b;
  static constexpr uint8_t kStatusC = 0x0c;
  static constexpr uint8_t kStatusD = 0x0d;
  static constexpr uint8_t kBaseMemoryLow = 0x15;      // KiB below 640 KiB, 16 bits
  static constexpr uint8_t kExtendedMemoryLow = 0x17;  // KiB from 1 MiB, 16 bits, capped
  static constexpr uint8_t kExtendedMemoryCopyLow = 0x30;  // the same value again
  static constexpr uint8_t kCentury = 0x32;
  static constexpr uint8_t kMemoryAbove16MLow = 0x34;  // 64 KiB units from 16 MiB to 4 GiB
  static constexpr uint8_t kMemoryAbove4GLow = 0x5b;   // 64 KiB units above 4 GiB, 24 bits

  static constexpr uint8_t kIndexMask = 0x7f;
  static constexpr uint8_t kAUpdateInProgress = 0x80;
  static constexpr uint8_t kBSet = 0x80;
  static constexpr uint8_t kBUpdateInterruptEnable = 0x10;
  static constexpr uint8_t kBBinary = 0x04;
  static constexpr uint8_t k24Hour = 0x02;
  static constexpr uint8_t kHourPm = 0x80;
  static constexpr uint8_t kCInterruptRequest = 0x80;
  static constexpr uint8_t kCUpdateEnded = 0x10;
  static constexpr uint8_t kDValidRam = 0x80;
  static constexpr uint8_t kDefaultA = 0x26;
  static constexpr uint8_t kDefaultB = k24Hour;

  explicit CmosRtc(Clock clock);

  void port_read(uint16_t offset, std::span<uint8_t> data) override;
  void port_write(uint16_t offset, std::span<const uint8_t> data) override;

  // Fills the memory size fields a BIOS would (bytes of guest RAM below and above 4 GiB):
  // base memory 640 KiB; extended KiB above 1 MiB capped at 65535; 64 KiB blocks between
  // 16 MiB and 4 GiB capped at 65535; 64 KiB blocks above 4 GiB capped at 2^24 - 1.
  void set_memory_size(uint64_t below_4g, uint64_t above_4g);

  // Read-only views for diagnostics and the fuzz target's invariant checks.
  uint8_t selected_index() const { return index_; }
  int64_t guest_offset_seconds() const { return guest_offset_; }
  // The guest's current time as Unix seconds (frozen while SET is on).
  int64_t guest_time() const;

 private:
  uint8_t read_register(uint8_t index);
  void write_register(uint8_t index, uint8_t value);
  void write_status_b(uint8_t value);
  uint8_t read_time_field(uint8_t index) const;
  void write_time_field(uint8_t index, uint8_t value);
  uint8_t read_status_c();

  int64_t host_now() const;
  CivilTime guest_civil_time() const;
  bool setting() const { return (ram_[kStatusB] & kBSet) != 0; }
  bool binary() const { return (ram_[kStatusB] & kBBinary) != 0; }
  uint8_t encode(unsigned value) const;
  unsigned decode(uint8_t value) const;

  Clock clock_;
  std::array<uint8_t, kSize> ram_{};
  uint8_t index_ = 0;
  int64_t guest_offset_ = 0;  // guest time minus host time, seconds
  CivilTime frozen_;          // the guest's time while SET is on
  int64_t last_status_c_read_;  // guest time when C was last read
};

}  // namespace bulwark::legacy
