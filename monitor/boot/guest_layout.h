// The guest-physical address map every boot path shares: where RAM is, where the MMIO hole is,
// and where the monitor puts its boot-time structures. One place, so loaders, ACPI and the
// e820 map can never disagree.
#pragma once

#include <cstdint>
#include <vector>

namespace bulwark::boot {

// Boot-time structures, all below 1 MiB and below the EBDA.
inline constexpr uint64_t kGdtAddr = 0x500;         // 4 descriptors
inline constexpr uint64_t kZeroPageAddr = 0x7000;   // struct boot_params, one page
inline constexpr uint64_t kPml4Addr = 0x9000;       // identity page tables for the 64-bit entry:
inline constexpr uint64_t kPdptAddr = 0xa000;       //   PML4 -> PDPT -> 4 PDs of 2 MiB pages,
inline constexpr uint64_t kPdAddr = 0xb000;         //   mapping the first 4 GiB (0xb000..0xefff)
inline constexpr uint64_t kCmdlineAddr = 0x20000;   // kernel command line
inline constexpr uint64_t kCmdlineMaxSize = 0x10000;  // bytes reserved there, NUL included
inline constexpr uint64_t kEbdaStart = 0x9fc00;     // end of low RAM in the e820 map
inline constexpr uint64_t kAcpiTablesAddr = 0xe0000;  // RSDP, XSDT, MADT (BIOS area, reserved)
inline constexpr uint64_t kAcpiTablesSize = 0x20000;  // up to 1 MiB
inline constexpr uint64_t kHighMemStart = 0x100000;   // 1 MiB: kernels load here or above

// 32-bit MMIO hole: never RAM. KVM's TSS and identity-map pages and (later) PCI BARs, the
// IOAPIC at 0xfec00000 and the local APIC at 0xfee00000 live here.
inline constexpr uint64_t kMmioHoleStart = 0xc0000000;
inline constexpr uint64_t kMmioHoleEnd = 0x100000000;
inline constexpr uint64_t kKvmIdentityMapAddr = 0xfeffc000;  // one page for KVM (VMX real mode)
inline constexpr uint64_t kKvmTssAddr = 0xfeffd000;          // three pages for KVM
inline constexpr uint64_t kIoApicAddr = 0xfec00000;
inline constexpr uint64_t kLocalApicAddr = 0xfee00000;

struct RamRange {
  uint64_t guest_addr;
  uint64_t size;
  uint64_t end() const { return guest_addr + size; }
};

enum class E820Type : uint32_t { kRam = 1, kReserved = 2, kAcpi = 3 };

struct E820Entry {
  uint64_t addr;
  uint64_t size;
  E820Type type;
};

class GuestLayout {
 public:
  // RAM from 0 up to the hole, the rest from 4 GiB up. ram_bytes must be >= 2 MiB.
  static GuestLayout for_ram_size(uint64_t ram_bytes);

  const std::vector<RamRange>& ram_ranges() const { return ram_; }
  uint64_t ram_bytes() const { return ram_bytes_; }
  // End of the RAM range that starts at 0 (<= kMmioHoleStart).
  uint64_t low_ram_end() const { return ram_.front().end(); }
  // True when [addr, addr+len) lies entirely inside one RAM range (overflow-safe).
  bool is_ram(uint64_t addr, uint64_t len) const;
  // The map handed to the guest: low RAM, reserved EBDA/BIOS area, RAM above 1 MiB, RAM above 4 GiB.
  std::vector<E820Entry> e820_map() const;

 private:
  std::vector<RamRange> ram_;
  uint64_t ram_bytes_ = 0;
};

}  // namespace bulwark::boot
