/* ACPI CPU discovery: RSDP -> XSDT (or RSDT) -> MADT, every structure checked before use,
 * so a monitor that builds bad tables gets a precise complaint instead of a wrong count. */
#include "runtime/guest.h"

enum {
  kSdtHeaderSize = 36,
  kSdtLength = 4,
  kMadtEntries = 44,        /* header + local APIC address + flags */
  kMadtLocalApic = 0,       /* entry type */
  kMadtLocalApicSize = 8,
  kLocalApicEnabled = 0x1,
  kRsdpV1Size = 20,
  kRsdpRevision = 15,
  kRsdpRsdt = 16,           /* u32 */
  kRsdpLength = 20,         /* u32, revision >= 2 */
  kRsdpXsdt = 24,           /* u64, revision >= 2 */
  kRsdpV2MinSize = 36,
  kMaxTableSize = 0x10000,  /* sanity bound for anything this guest sums or walks */
};

static uint8_t byte_at(uint64_t addr) { return mmio_read8(addr); }
static uint32_t u32_at(uint64_t addr) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | byte_at(addr + (uint64_t)i);
  return v;
}
static uint64_t u64_at(uint64_t addr) { return u32_at(addr) | ((uint64_t)u32_at(addr + 4) << 32); }

static bool checksum_ok(uint64_t addr, uint32_t len) {
  uint8_t sum = 0;
  for (uint32_t i = 0; i < len; ++i) sum = (uint8_t)(sum + byte_at(addr + i));
  return sum == 0;
}

static bool signature_is(uint64_t addr, const char* sig, size_t len) {
  for (size_t i = 0; i < len; ++i) {
    if (byte_at(addr + i) != (uint8_t)sig[i]) return false;
  }
  return true;
}

static uint64_t scan_for_rsdp(uint64_t start, uint64_t end) {
  for (uint64_t a = start; a + kRsdpV1Size <= end; a += 16) {
    if (byte_at(a) == 'R' && signature_is(a, "RSD PTR ", 8) && checksum_ok(a, kRsdpV1Size))
      return a;
  }
  return 0;
}

static uint64_t find_rsdp(void) {
  /* The first KiB of the EBDA (BDA word 0x40e), then the BIOS area. */
  uint64_t ebda = (uint64_t)(byte_at(0x40e) | (byte_at(0x40f) << 8)) << 4;
  if (ebda >= 0x80000 && ebda < 0xa0000) {
    uint64_t found = scan_for_rsdp(ebda, ebda + 1024);
    if (found != 0) return found;
  }
  return scan_for_rsdp(0xe0000, 0x100000);
}

/* Returns the table length when addr holds a valid table with this signature, else 0. */
static uint32_t valid_table(uint64_t addr, const char* sig) {
  if (addr == 0 || addr >= 0x100000000ull - kMaxTableSize) return 0;
  if (!signature_is(addr, sig, 4)) return 0;
  uint32_t len = u32_at(addr + kSdtLength);
  if (len < kSdtHeaderSize || len > kMaxTableSize || !checksum_ok(addr, len)) return 0;
  return len;
}

static const char* parse_madt(uint64_t madt, uint32_t len, struct acpi_cpus* out) {
  if (len < kMadtEntries) return "MADT shorter than its fixed part";
  out->count = 0;
  for (uint32_t off = kMadtEntries; off < len;) {
    if (len - off < 2) return "MADT entry header runs past the table";
    uint8_t type = byte_at(madt + off);
    uint8_t entry_len = byte_at(madt + off + 1);
    if (entry_len < 2 || entry_len > len - off) return "MADT entry with a bad length";
    if (type == kMadtLocalApic) {
      if (entry_len < kMadtLocalApicSize) return "MADT local APIC entry too short";
      uint8_t apic_id = byte_at(madt + off + 3);
      uint32_t flags = u32_at(madt + off + 4);
      if (flags & kLocalApicEnabled) {
        if (out->count >= ACPI_MAX_CPUS) return "more CPUs in the MADT than this guest supports";
        out->apic_ids[out->count++] = apic_id;
      }
    }
    off += entry_len;
  }
  if (out->count == 0) return "MADT lists no enabled local APIC";
  return NULL;
}

const char* acpi_find_cpus(struct acpi_cpus* out) {
  uint64_t rsdp = find_rsdp();
  if (rsdp == 0) return "no RSDP with a valid checksum in 0xe0000-0xfffff";
  uint64_t root;
  unsigned entry_size;
  const char* root_sig;
  if (byte_at(rsdp + kRsdpRevision) >= 2) {
    uint32_t rsdp_len = u32_at(rsdp + kRsdpLength);
    if (rsdp_len < kRsdpV2MinSize || rsdp_len > 4096 || !checksum_ok(rsdp, rsdp_len))
      return "RSDP revision 2 with a bad length or extended checksum";
    root = u64_at(rsdp + kRsdpXsdt);
    entry_size = 8;
    root_sig = "XSDT";
  } else {
    root = u32_at(rsdp + kRsdpRsdt);
    entry_size = 4;
    root_sig = "RSDT";
  }
  uint32_t root_len = valid_table(root, root_sig);
  if (root_len == 0) return entry_size == 8 ? "XSDT missing or invalid" : "RSDT missing or invalid";
  for (uint32_t off = kSdtHeaderSize; off + entry_size <= root_len; off += entry_size) {
    uint64_t table = entry_size == 8 ? u64_at(root + off) : u32_at(root + off);
    if (table == 0) continue;
    if (table >= 0x100000000ull - kMaxTableSize) return "root table entry above 4 GiB";
    if (!signature_is(table, "APIC", 4)) continue;
    uint32_t madt_len = valid_table(table, "APIC");
    if (madt_len == 0) return "MADT with a bad length or checksum";
    return parse_madt(table, madt_len, out);
  }
  return "no MADT (APIC) table in the root table";
}
