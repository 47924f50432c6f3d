/* io_flood: many accesses to ports and MMIO that no device claims. Each must read as all
 * ones and swallow writes. Command line: "count=N" rounds (default 100000); "mmio=ADDR" moves
 * the 64 KiB MMIO window (default 0xd0000000, in the MMIO hole; QEMU reads its unassigned
 * MMIO as zeroes, but an absent PCIe function's config space, e.g. 0xb0100000, as ones). */
#include "runtime/guest.h"

enum {
  /* 0x200..0x2ef: no device on the monitor's bus (COM2 at 0x2f8 is left out on purpose). */
  kFirstPort = 0x200,
  kPortSpan = 0xf0,
  kMmioWindowSize = 0x10000,
};
/* Inside the 32-bit MMIO hole, well away from the IOAPIC and local APIC. */
#define DEFAULT_MMIO_BASE 0xd0000000ull
static uint64_t mmio_base;

static bool check(const char* what, uint64_t addr, uint64_t value, uint64_t all_ones) {
  if (value == all_ones) return true;
  guest_printf("io_flood: FAIL read 0x%lx from %s 0x%lx, expected 0x%lx\n", value, what, addr,
               all_ones);
  return false;
}

static bool port_round(uint64_t i) {
  /* Naturally aligned, as drivers access ports (QEMU even reads unaligned ones as 0). */
  unsigned width = 1u << (i % 3);
  uint16_t port = (uint16_t)((kFirstPort + i % kPortSpan) & ~(width - 1));
  switch (width) {
    case 1:
      outb(port, (uint8_t)i);
      return check("port", port, inb(port), 0xff);
    case 2:
      outw(port, (uint16_t)i);
      return check("port", port, inw(port), 0xffff);
    default:
      outl(port, (uint32_t)i);
      return check("port", port, inl(port), 0xffffffffu);
  }
}

static bool mmio_round(uint64_t i) {
  uint64_t addr = mmio_base + ((i * 8) % kMmioWindowSize);
  switch (i % 4) {
    case 0:
      mmio_write8(addr, (uint8_t)i);
      return check("mmio", addr, mmio_read8(addr), 0xff);
    case 1:
      mmio_write16(addr, (uint16_t)i);
      return check("mmio", addr, mmio_read16(addr), 0xffff);
    case 2:
      mmio_write32(addr, (uint32_t)i);
      return check("mmio", addr, mmio_read32(addr), 0xffffffffu);
    default:
      mmio_write64(addr, i);
      return check("mmio", addr, mmio_read64(addr), ~0ull);
  }
}

void guest_main(void) {
  uint64_t count = cmdline_get_u64("count", 100000);
  mmio_base = cmdline_get_u64("mmio", DEFAULT_MMIO_BASE);
  if (mmio_base >= 0x100000000ull - kMmioWindowSize) {  /* only 4 GiB are mapped */
    guest_printf("io_flood: FAIL mmio=0x%lx is outside the identity map\n", mmio_base);
    return;
  }
  guest_printf("io_flood: start count=%lu mmio=0x%lx\n", count, mmio_base);
  for (uint64_t i = 0; i < count; ++i) {
    if (!port_round(i) || !mmio_round(i)) return;
  }
  guest_printf("io_flood: done %lu\n", count);
}
