#include "monitor/acpi/acpi_tables.h"

#include <cstring>

#include "monitor/boot/guest_layout.h"

namespace bulwark::acpi {
namespace {

class Blob {
 public:
  explicit Blob(size_t size) : bytes_(size, 0) {}
  void put8(size_t at, uint8_t v) { bytes_.at(at) = v; }
  void put16(size_t at, uint16_t v) { for (int i = 0; i < 2; ++i) put8(at + i, static_cast<uint8_t>(v >> (8 * i))); }
  void put32(size_t at, uint32_t v) { for (int i = 0; i < 4; ++i) put8(at + i, static_cast<uint8_t>(v >> (8 * i))); }
  void put64(size_t at, uint64_t v) { for (int i = 0; i < 8; ++i) put8(at + i, static_cast<uint8_t>(v >> (8 * i))); }
  void put_text(size_t at, const char* text, size_t len) {
    for (size_t i = 0; i < len; ++i) put8(at + i, static_cast<uint8_t>(text[i]));
  }
  // Sets bytes_[at_checksum] so that bytes [start, start+len) sum to zero.
  void checksum(size_t start, size_t len, size_t at_checksum) {
    put8(at_checksum, 0);
    uint8_t sum = 0;
    for (size_t i = 0; i < len; ++i) sum = static_cast<uint8_t>(sum + bytes_.at(start + i));
    put8(at_checksum, static_cast<uint8_t>(-sum));
  }
  std::vector<uint8_t> take() { return std::move(bytes_); }

 private:
  std::vector<uint8_t> bytes_;
};

constexpr size_t kHeaderSize = 36;

void put_header(Blob& b, size_t at, const char* signature, uint32_t length, uint8_t revision) {
  b.put_text(at, signature, 4);
  b.put32(at + 4, length);
  b.put8(at + 8, revision);
  b.put_text(at + 10, "BULWRK", 6);    // OEM id
  b.put_text(at + 16, "BULWARKV", 8);  // OEM table id
  b.put32(at + 24, 1);                 // OEM revision
  b.put_text(at + 28, "BLWK", 4);      // creator id
  b.put32(at + 32, 1);                 // creator revision
  b.checksum(at, length, at + 9);
}

}  // namespace

std::vector<uint8_t> build_acpi_tables(uint64_t base_gpa, uint32_t vcpu_count) {
  constexpr size_t kLapicEntry = 8, kIoApicEntry = 12, kNmiEntry = 6;
  const size_t madt_length = kHeaderSize + 8 + vcpu_count * kLapicEntry + kIoApicEntry + kNmiEntry;
  Blob b(kMadtOffset + madt_length);

  // MADT ("APIC", revision 3): local APIC address, PCAT_COMPAT (8259s present).
  size_t at = kMadtOffset + kHeaderSize;
  b.put32(at, static_cast<uint32_t>(boot::kLocalApicAddr));
  b.put32(at + 4, 1);
  at += 8;
  for (uint32_t cpu = 0; cpu < vcpu_count; ++cpu) {
    b.put8(at, 0);  // Processor Local APIC
    b.put8(at + 1, kLapicEntry);
    b.put8(at + 2, static_cast<uint8_t>(cpu));  // ACPI processor UID
    b.put8(at + 3, static_cast<uint8_t>(cpu));  // APIC id
    b.put32(at + 4, 1);                         // enabled
    at += kLapicEntry;
  }
  b.put8(at, 1);  // I/O APIC, id after the vCPUs, GSI base 0
  b.put8(at + 1, kIoApicEntry);
  b.put8(at + 2, static_cast<uint8_t>(vcpu_count));
  b.put32(at + 4, static_cast<uint32_t>(boot::kIoApicAddr));
  b.put32(at + 8, 0);
  at += kIoApicEntry;
  b.put8(at, 4);  // Local APIC NMI: every processor, LINT1
  b.put8(at + 1, kNmiEntry);
  b.put8(at + 2, 0xff);
  b.put16(at + 3, 0);
  b.put8(at + 5, 1);
  put_header(b, kMadtOffset, "APIC", static_cast<uint32_t>(madt_length), 3);

  // XSDT: one entry, the MADT.
  b.put64(kXsdtOffset + kHeaderSize, base_gpa + kMadtOffset);
  put_header(b, kXsdtOffset, "XSDT", kHeaderSize + 8, 1);

  // RSDP, ACPI 2.0: checksum over the first 20 bytes, extended checksum over all 36.
  b.put_text(kRsdpOffset, "RSD PTR ", 8);
  b.put_text(kRsdpOffset + 9, "BULWRK", 6);
  b.put8(kRsdpOffset + 15, 2);
  b.put32(kRsdpOffset + 20, 36);
  b.put64(kRsdpOffset + 24, base_gpa + kXsdtOffset);
  b.checksum(kRsdpOffset, 20, kRsdpOffset + 8);
  b.checksum(kRsdpOffset, 36, kRsdpOffset + 32);
  return b.take();
}

}  // namespace bulwark::acpi
