/* PCI configuration access through ports 0xCF8/0xCFC (configuration mechanism #1) on bus 0,
 * and memory BAR discovery for the test guests' virtio driver. */
#pragma once

#include "runtime/guest.h"

struct pci_function {
  uint8_t bus, device, function;
  uint16_t vendor_id, device_id;
};

uint8_t pci_read8(const struct pci_function* f, uint8_t offset);
uint16_t pci_read16(const struct pci_function* f, uint8_t offset);
uint32_t pci_read32(const struct pci_function* f, uint8_t offset);
void pci_write8(const struct pci_function* f, uint8_t offset, uint8_t value);
void pci_write16(const struct pci_function* f, uint8_t offset, uint16_t value);
void pci_write32(const struct pci_function* f, uint8_t offset, uint32_t value);

/* Scans bus 0 (every device, and functions 1..7 of multi-function devices) for the first
 * vendor:device match. */
bool pci_find(uint16_t vendor_id, uint16_t device_id, struct pci_function* out);

#define PCI_COMMAND 0x04
#define PCI_COMMAND_MEMORY 0x2
#define PCI_COMMAND_BUS_MASTER 0x4
#define PCI_STATUS 0x06
#define PCI_STATUS_CAP_LIST 0x10
#define PCI_CAP_POINTER 0x34
#define PCI_CAP_ID_VENDOR 0x09
#define PCI_CAP_ID_MSIX 0x11

/* Base address of memory BAR `index` (a 64-bit BAR spans index and index + 1). When the BAR is
 * unassigned (0), or lies above the 4 GiB the guest maps, programs one at the next free
 * naturally aligned address from 0xC0000000 (no firmware did it: QEMU's PVH boot may not,
 * bulwark-monitor pre-assigns). Returns 0 and prints why when the BAR is not a usable memory
 * BAR. *size_out (may be NULL) receives the BAR's size. */
uint64_t pci_memory_bar(const struct pci_function* f, unsigned index, uint64_t* size_out);

/* Writes 0 to every BAR of f (memory decoding off): lets a test exercise the path where no
 * firmware assigned them. */
void pci_clear_bars(const struct pci_function* f);

/* "bb:dd.f" for log lines. */
void pci_print_address(const struct pci_function* f);
