// Drives the CMOS/RTC model with a hostile guest's port accesses interleaved with arbitrary
// host clock values (including ones no calendar can show), and checks after every step:
// time registers are always well-formed for the current mode (valid BCD digits, fields in
// range, PM bit only in 12-hour mode), UIP never set, D always valid, C holds only its flags,
// plain RAM holds what was written, a valid time field written under SET reads back
// unchanged, the time stands still under SET and otherwise follows the host clock by the
// guest's offset.
//
// Input format, repeated until the bytes run out:
//   op byte: bits 1..0 = kind
//     kind 0: guest read; bits 3..2 = port offset (0 index, 1 data, 2..3 decode nothing),
//             bits 5..4 = size (1, 1, 2, 4 bytes)
//     kind 1: guest write of the next byte, offset and size as for reads
//     kind 2: host clock += (int8 next byte) * scale, scale by bits 3..2: 1 s, 1 min, 1 day, 1 year
//     kind 3: host clock = next 8 bytes, little endian
#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <span>

#include "monitor/legacy/cmos_rtc.h"

namespace {

using bulwark::legacy::CmosRtc;
using bulwark::legacy::kCivilTimeMaxUnix;
using bulwark::legacy::kCivilTimeMinUnix;
using C = CmosRtc;

void check(bool ok, const char* what, unsigned detail = 0) {
  if (!ok) {
    std::fprintf(stderr, "cmos invariant broken: %s (0x%x)\n", what, detail);
    std::abort();
  }
}

bool is_time_index(uint8_t index) {
  return index == C::kSeconds || index == C::kMinutes || index == C::kHours || index == C::kDayOfWeek ||
         index == C::kDayOfMonth || index == C::kMonth || index == C::kYear || index == C::kCentury;
}

// Decodes a register value in the given mode; nullopt when the BCD digits are malformed.
std::optional<unsigned> decode(uint8_t value, bool binary) {
  if (binary) return value;
  if ((value >> 4) > 9 || (value & 0xf) > 9) return std::nullopt;
  return (value >> 4) * 10u + (value & 0xfu);
}

// Whether `value` is a well-formed reading of time register `index` in mode `b`.
bool well_formed(uint8_t index, uint8_t value, uint8_t b) {
  const bool binary = b & C::kBBinary;
  uint8_t digits = value;
  unsigned lo = 0, hi = 99;
  switch (index) {
    case C::kSeconds:
    case C::kMinutes:
      hi = 59;
      break;
    case C::kHours:
      if (b & C::k24Hour) {
        hi = 23;
      } else {
        digits = value & 0x7f;
        lo = 1;
        hi = 12;
      }
      break;
    case C::kDayOfWeek:
      lo = 1;
      hi = 7;
      break;
    case C::kDayOfMonth:
      lo = 1;
      hi = 31;
      break;
    case C::kMonth:
      lo = 1;
      hi = 12;
      break;
    default:
      break;
  }
  const std::optional<unsigned> v = decode(digits, binary);
  return v && *v >= lo && *v <= hi;
}

struct Harness {
  int64_t clock = 1795269906;
  CmosRtc cmos{[this] { return clock; }};
  uint8_t index = 0;
  std::array<std::optional<uint8_t>, C::kSize> ram{};  // plain RAM bytes the guest wrote
  std::optional<uint8_t> status_a;

  uint8_t status_b() {
    // Reading B through the ports has no side effect.
    const uint8_t saved = index;
    const uint8_t b = access_read(C::kDataOffset, C::kStatusB);
    index = saved;
    write_port(C::kIndexOffset, saved);
    return b;
  }

  uint8_t access_read(uint16_t offset, std::optional<uint8_t> select = std::nullopt, size_t size = 1) {
    if (select) write_port(C::kIndexOffset, *select);
    uint8_t data[4] = {0, 0, 0, 0};
    cmos.port_read(offset, std::span<uint8_t>(data, size));
    for (size_t i = 1; i < size; ++i) check(data[i] == 0xff, "wide read filler");
    return data[0];
  }

  void write_port(uint16_t offset, uint8_t value, size_t size = 1) {
    uint8_t data[4] = {value, value, value, value};
    cmos.port_write(offset, std::span<const uint8_t>(data, size));
    if (offset == C::kIndexOffset) index = value & C::kIndexMask;
  }

  void read_step(uint16_t offset, size_t size) {
    const uint8_t b = status_b();
    const uint8_t v = access_read(offset, std::nullopt, size);
    if (offset != C::kDataOffset) {
      check(v == 0xff, "index or unused port read", v);
      return;
    }
    if (is_time_index(index)) {
      check(well_formed(index, v, b), "malformed time register", index << 8 | v);
    } else if (index == C::kStatusA) {
      check(!(v & C::kAUpdateInProgress), "UIP set");
      if (status_a) check(v == (*status_a & 0x7f), "register A round trip", v);
    } else if (index == C::kStatusB) {
      check(v == b, "register B stable");
    } else if (index == C::kStatusC) {
      check((v & ~(C::kCInterruptRequest | C::kCUpdateEnded)) == 0, "register C flags", v);
    } else if (index == C::kStatusD) {
      check(v == C::kDValidRam, "register D", v);
    } else if (ram[index]) {
      check(v == *ram[index], "plain RAM round trip", index);
    }
  }

  void write_step(uint16_t offset, size_t size, uint8_t value) {
    const uint8_t b = status_b();
    write_port(offset, value, size);
    if (offset != C::kDataOffset) return;
    if (is_time_index(index)) {
      // Under SET the time stands still, so a well-formed value must read back unchanged.
      if ((b & C::kBSet) && well_formed(index, value, b)) {
        check(access_read(C::kDataOffset) == value, "time field round trip under SET", index << 8 | value);
      }
    } else if (index == C::kStatusA) {
      status_a = value;
    } else if (index != C::kStatusB && index != C::kStatusC && index != C::kStatusD) {
      ram[index] = value;
    }
  }

  // `guest_wrote` is false for steps that only read or move the host clock.
  void check_clock_relation(int64_t guest_before, bool setting_before, bool guest_wrote) {
    const bool setting = status_b() & C::kBSet;
    const int64_t host = std::clamp(clock, kCivilTimeMinUnix, kCivilTimeMaxUnix);
    if (setting) {
      if (setting_before && !guest_wrote) check(cmos.guest_time() == guest_before, "time moved under SET");
    } else {
      check(cmos.guest_time() == host + cmos.guest_offset_seconds(), "guest time = host + offset");
    }
    const int64_t offset = cmos.guest_offset_seconds();
    check(offset >= kCivilTimeMinUnix - kCivilTimeMaxUnix && offset <= kCivilTimeMaxUnix - kCivilTimeMinUnix,
          "offset bounded");
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static constexpr size_t kSizes[] = {1, 1, 2, 4};
  static constexpr int64_t kScales[] = {1, 60, 86400, 365 * 86400};
  Harness h;
  size_t i = 0;
  auto next = [&]() -> uint8_t { return i < size ? data[i++] : 0; };
  while (i < size) {
    const uint8_t op = next();
    const uint16_t offset = (op >> 2) & 3;
    const size_t access_size = kSizes[(op >> 4) & 3];
    const int64_t guest_before = h.cmos.guest_time();
    const bool setting_before = h.status_b() & C::kBSet;
    switch (op & 3) {
      case 0:
        h.read_step(offset, access_size);
        break;
      case 1:
        h.write_step(offset, access_size, next());
        break;
      case 2: {
        const int64_t delta = static_cast<int8_t>(next()) * kScales[(op >> 2) & 3];
        // Saturate rather than overflow the harness's own arithmetic.
        h.clock = delta > 0 && h.clock > INT64_MAX - delta   ? INT64_MAX
                  : delta < 0 && h.clock < INT64_MIN - delta ? INT64_MIN
                                                             : h.clock + delta;
        break;
      }
      default: {
        uint64_t raw = 0;
        for (int byte = 0; byte < 8; ++byte) raw |= static_cast<uint64_t>(next()) << (8 * byte);
        h.clock = static_cast<int64_t>(raw);
        break;
      }
    }
    h.check_clock_relation(guest_before, setting_before, (op & 3) == 1);
  }
  return 0;
}
