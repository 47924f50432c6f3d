/* PCI configuration mechanism #1 and memory BAR assignment. */
#include "virtio/pci.h"

enum {
  kConfigAddress = 0xcf8,
  kConfigData = 0xcfc,
  kBar0 = 0x10,
  kHeaderType = 0x0e,
};

/* Where this guest puts BARs no one assigned: the 32-bit MMIO hole, above QEMU q35's ECAM
 * window (0xB0000000..0xBFFFFFFF) and well below the IOAPIC (0xFEC00000). */
#define BAR_WINDOW_START 0xc0000000ull
#define BAR_WINDOW_END 0xfe000000ull
static uint64_t next_free_bar = BAR_WINDOW_START;

static void select_register(const struct pci_function* f, uint8_t offset) {
  outl(kConfigAddress, 0x80000000u | ((uint32_t)f->bus << 16) | ((uint32_t)f->device << 11) |
                           ((uint32_t)f->function << 8) | (offset & 0xfcu));
}

uint32_t pci_read32(const struct pci_function* f, uint8_t offset) {
  select_register(f, offset);
  return inl(kConfigData);
}
uint16_t pci_read16(const struct pci_function* f, uint8_t offset) {
  select_register(f, offset);
  return inw((uint16_t)(kConfigData + (offset & 2)));
}
uint8_t pci_read8(const struct pci_function* f, uint8_t offset) {
  select_register(f, offset);
  return inb((uint16_t)(kConfigData + (offset & 3)));
}
void pci_write32(const struct pci_function* f, uint8_t offset, uint32_t value) {
  select_register(f, offset);
  outl(kConfigData, value);
}
void pci_write16(const struct pci_function* f, uint8_t offset, uint16_t value) {
  select_register(f, offset);
  outw((uint16_t)(kConfigData + (offset & 2)), value);
}
void pci_write8(const struct pci_function* f, uint8_t offset, uint8_t value) {
  select_register(f, offset);
  outb((uint16_t)(kConfigData + (offset & 3)), value);
}

bool pci_find(uint16_t vendor_id, uint16_t device_id, struct pci_function* out) {
  for (uint8_t device = 0; device < 32; ++device) {
    for (uint8_t function = 0; function < 8; ++function) {
      struct pci_function f = {0, device, function, 0, 0};
      uint32_t id = pci_read32(&f, 0);
      if ((id & 0xffff) == 0xffff || id == 0) {
        if (function == 0) break;  /* no device in this slot */
        continue;
      }
      f.vendor_id = (uint16_t)id;
      f.device_id = (uint16_t)(id >> 16);
      if (f.vendor_id == vendor_id && f.device_id == device_id) {
        *out = f;
        return true;
      }
      if (function == 0 && (pci_read8(&f, kHeaderType) & 0x80) == 0) break;
    }
  }
  return false;
}

void pci_clear_bars(const struct pci_function* f) {
  pci_write16(f, PCI_COMMAND, (uint16_t)(pci_read16(f, PCI_COMMAND) & ~PCI_COMMAND_MEMORY));
  for (uint8_t i = 0; i < 6; ++i) pci_write32(f, (uint8_t)(kBar0 + 4 * i), 0);
}

void pci_print_address(const struct pci_function* f) {
  guest_printf("%02x:%02x.%x", f->bus, f->device, f->function);
}

uint64_t pci_memory_bar(const struct pci_function* f, unsigned index, uint64_t* size_out) {
  if (index > 5) {
    guest_printf("pci: BAR index %u out of range\n", index);
    return 0;
  }
  uint8_t reg = (uint8_t)(kBar0 + 4 * index);
  uint32_t low = pci_read32(f, reg);
  if (low & 1) {
    guest_printf("pci: BAR%u is an I/O BAR (0x%x), not memory\n", index, low);
    return 0;
  }
  bool is64 = ((low >> 1) & 3) == 2;
  if (is64 && index == 5) {
    guest_printf("pci: BAR5 claims 64 bits\n");
    return 0;
  }
  uint32_t high = is64 ? pci_read32(f, (uint8_t)(reg + 4)) : 0;

  /* Size it with memory decoding off, so the all-ones probe never claims an address. */
  uint16_t command = pci_read16(f, PCI_COMMAND);
  pci_write16(f, PCI_COMMAND, (uint16_t)(command & ~PCI_COMMAND_MEMORY));
  pci_write32(f, reg, 0xffffffffu);
  uint64_t mask = pci_read32(f, reg) & ~0xfull;
  if (is64) {
    pci_write32(f, (uint8_t)(reg + 4), 0xffffffffu);
    mask |= (uint64_t)pci_read32(f, (uint8_t)(reg + 4)) << 32;
  } else {
    mask |= 0xffffffff00000000ull;
  }
  pci_write32(f, reg, low);
  if (is64) pci_write32(f, (uint8_t)(reg + 4), high);
  uint64_t size = ~mask + 1;
  if (mask == 0 || (size & (size - 1)) != 0) {
    pci_write16(f, PCI_COMMAND, command);
    guest_printf("pci: BAR%u does not decode (size mask 0x%lx)\n", index, mask);
    return 0;
  }

  uint64_t base = ((uint64_t)high << 32) | (low & ~0xfu);
  if (base == 0 || base + size > 0x100000000ull) {
    uint64_t aligned = (next_free_bar + size - 1) & ~(size - 1);
    if (aligned + size > BAR_WINDOW_END) {
      pci_write16(f, PCI_COMMAND, command);
      guest_printf("pci: no room for BAR%u of 0x%lx bytes\n", index, size);
      return 0;
    }
    guest_printf("pci: BAR%u was 0x%lx, programmed 0x%lx (size 0x%lx)\n", index, base, aligned,
                 size);
    base = aligned;
    next_free_bar = aligned + size;
    pci_write32(f, reg, (uint32_t)base | (low & 0xfu));
    if (is64) pci_write32(f, (uint8_t)(reg + 4), 0);
  } else if (base + size > next_free_bar && base < BAR_WINDOW_END) {
    /* Keep our own assignments clear of ones firmware or the monitor made. */
    if (base >= BAR_WINDOW_START) next_free_bar = base + size;
  }
  pci_write16(f, PCI_COMMAND, command);
  if (size_out != NULL) *size_out = size;
  return base;
}
