// Drives an MSI-X table with a hostile guest's table/PBA accesses of any offset and width,
// message-control writes and device-side triggers, against a shadow model of the entries.
// After every step: the table reads back exactly what valid (aligned dword/qword) writes put
// there, reserved vector-control bits stay zero, the table size in message control never
// changes, nothing is pending while deliverable after a trigger, and take_pending returns a
// message only for a pending, deliverable vector.
//
// Input: byte 0 = table size - 1 (low 6 bits), then repeated ops:
//   op byte: bits 2..0 kind (0 table read, 1 table write, 2 PBA read, 3 PBA write,
//            4 message control, 5 trigger, 6 take pending, 7 reset),
//            bits 5..3 width index (1, 2, 4, 8, 4, 8, 3, 16)
//   table/PBA: 2 offset bytes (+ value bytes for writes); control: 2 bytes; trigger/take: 1 byte.
#include <array>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <span>
#include <vector>

#include "monitor/pci/msix_table.h"

namespace {

using namespace bulwark::pci;

void check(bool ok, const char* what, uint64_t detail = 0) {
  if (!ok) {
    std::fprintf(stderr, "msix invariant broken: %s (0x%llx)\n", what, static_cast<unsigned long long>(detail));
    std::abort();
  }
}

constexpr size_t kWidths[8] = {1, 2, 4, 8, 4, 8, 3, 16};

void check_entry(const MsixTable& table, const std::vector<std::array<uint32_t, 4>>& shadow, uint16_t v) {
  uint8_t entry[16];
  table.table_read(v * 16u, entry);
  for (unsigned f = 0; f < 4; ++f) {
    uint32_t dword;
    std::memcpy(&dword, entry + 4 * f, 4);
    check(dword == shadow[v][f], "entry differs from the writes", v * 16u + 4 * f);
  }
  check(table.entry_masked(v) == (shadow[v][3] & 1), "mask bit", v);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint16_t vectors = static_cast<uint16_t>((data[0] & 0x3f) + 1);
  MsixTable table(vectors);
  std::vector<std::array<uint32_t, 4>> shadow(vectors, {0, 0, 0, 1});
  uint64_t changes = 0;
  table.set_change_callback([&](uint16_t first, uint16_t count) {
    check(count > 0 && first + count <= vectors, "change callback range", first);
    ++changes;
  });
  size_t pos = 1;
  const auto take = [&](size_t n, uint8_t* out) {
    for (size_t i = 0; i < n; ++i) out[i] = pos < size ? data[pos++] : 0;
  };
  while (pos < size) {
    const uint8_t op = data[pos++];
    const size_t width = kWidths[(op >> 3) & 7];
    uint8_t off[2] = {0, 0};
    uint8_t value[16] = {};
    switch (op & 7) {
      case 0: {
        take(2, off);
        table.table_read(off[0] | off[1] << 8, std::span<uint8_t>(value, width));
        break;
      }
      case 1: {
        take(2, off);
        const uint64_t offset = (off[0] | off[1] << 8) & 0x7ff;
        take(width, value);
        table.table_write(offset, std::span<const uint8_t>(value, width));
        if ((width == 4 || width == 8) && offset % width == 0 && offset + width <= vectors * 16u) {
          for (size_t i = 0; i < width / 4; ++i) {
            uint32_t dword;
            std::memcpy(&dword, value + 4 * i, 4);
            const uint64_t at = offset + 4 * i;
            const unsigned field = static_cast<unsigned>((at % 16) / 4);
            shadow[at / 16][field] = field == 0 ? (dword & ~3u) : field == 3 ? (dword & 1u) : dword;
          }
        }
        break;
      }
      case 2:
        take(2, off);
        table.pba_read(off[0] | off[1] << 8, std::span<uint8_t>(value, width));
        break;
      case 3:
        take(2, off);
        take(width, value);
        table.pba_write(off[0] | off[1] << 8, std::span<const uint8_t>(value, width));
        break;
      case 4: {
        take(2, off);
        table.write_message_control(static_cast<uint16_t>(off[0] | off[1] << 8));
        break;
      }
      case 5: {
        take(1, off);
        const uint16_t v = off[0];
        const bool was_deliverable = table.deliverable(v);
        const auto message = table.trigger(v);
        check(message.has_value() == was_deliverable, "trigger delivery", v);
        if (v < vectors) check(was_deliverable || table.pending(v), "masked trigger not pending", v);
        break;
      }
      case 6: {
        take(1, off);
        const uint16_t v = off[0];
        const bool should = table.pending(v) && table.deliverable(v);
        const auto message = table.take_pending(v);
        check(message.has_value() == should, "take_pending", v);
        if (message) check(!table.pending(v), "pending bit survived take", v);
        break;
      }
      default:
        table.reset();
        for (auto& e : shadow) e = {0, 0, 0, 1};
        break;
    }
    check((table.message_control() & 0x7ff) == vectors - 1, "table size changed", table.message_control());
    // The entry an access could have touched, every step; the whole table at the end.
    check_entry(table, shadow, static_cast<uint16_t>(((off[0] | off[1] << 8) / 16) % vectors));
  }
  for (uint16_t v = 0; v < vectors; ++v) check_entry(table, shadow, v);
  return 0;
}
