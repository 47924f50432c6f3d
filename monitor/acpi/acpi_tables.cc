#include "monitor/acpi/acpi_tables.h"

#include <cstring>

#include "monitor/acpi/aml.h"
#include "monitor/boot/guest_layout.h"
#include "monitor/tpm/crb_regs.h"

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
  void put_bytes(size_t at, const std::vector<uint8_t>& bytes) {
    for (size_t i = 0; i < bytes.size(); ++i) put8(at + i, bytes[i]);
  }
  void grow(size_t size) { bytes_.resize(size, 0); }
  size_t size() const { return bytes_.size(); }
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

size_t align16(size_t at) { return (at + 15) & ~size_t{15}; }

// FADT (revision 6.0, 276 bytes) for a hardware-reduced platform: no PM timer, no SCI, no
// fixed-feature registers, so Linux needs none of them. Its only job is to point at the DSDT.
// The boot architecture flags keep what the monitor does emulate visible to Linux: the i8042
// (reboot=k, Ctrl-Alt-Del) and the legacy ISA devices (UART, CMOS RTC).
void put_fadt(Blob& b, size_t at, uint64_t dsdt_gpa) {
  constexpr uint32_t kFadtLength = 276;
  constexpr uint16_t kBootLegacyDevices = 1u << 0, kBoot8042 = 1u << 1, kBootNoVga = 1u << 2;
  constexpr uint32_t kHwReducedAcpi = 1u << 20;
  b.put16(at + 109, kBootLegacyDevices | kBoot8042 | kBootNoVga);  // IAPC_BOOT_ARCH
  b.put32(at + 112, kHwReducedAcpi);                                 // Flags
  b.put8(at + 131, 0);                                               // FADT minor version
  b.put64(at + 140, dsdt_gpa);                                       // X_DSDT
  b.put_text(at + 268, "BULWARK ", 8);                               // hypervisor vendor identity
  put_header(b, at, "FACP", kFadtLength, 6);
}

// DSDT: \_SB.TPM, the device Linux's tpm_crb binds to by its _HID, with the CRB region.
std::vector<uint8_t> tpm_dsdt_body() {
  namespace a = aml;
  a::Bytes device_body = a::name("_HID", a::string("MSFT0101"));
  const a::Bytes sta = a::name("_STA", a::integer(0x0f));  // present, enabled, shown, working
  device_body.insert(device_body.end(), sta.begin(), sta.end());
  const a::Bytes crs = a::name("_CRS", a::memory32_fixed_template(true, static_cast<uint32_t>(tpm::kCrbBase),
                                                                  static_cast<uint32_t>(tpm::kCrbSize)));
  device_body.insert(device_body.end(), crs.begin(), crs.end());
  return a::scope("\\_SB_", a::device("TPM", device_body));
}

// TPM2 (revision 4): a client platform's TPM, started through its CRB control area. No log
// area yet: the table ends after the start-method parameters.
constexpr uint32_t kTpm2Length = kHeaderSize + 16 + 12;
void put_tpm2(Blob& b, size_t at) {
  constexpr uint32_t kStartMethodCrb = 7;
  b.put16(at + 36, 0);  // platform class: client
  b.put64(at + 40, tpm::kControlAreaGpa);
  b.put32(at + 48, kStartMethodCrb);
  put_header(b, at, "TPM2", kTpm2Length, 4);
}

}  // namespace

std::vector<uint8_t> build_acpi_tables(uint64_t base_gpa, uint32_t vcpu_count, const AcpiDevices& devices) {
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

  // XSDT: the MADT; with a TPM also the FADT (which names the DSDT) and the TPM2 table.
  std::vector<uint64_t> xsdt_entries = {base_gpa + kMadtOffset};
  if (devices.tpm) {
    const size_t fadt = align16(kMadtOffset + madt_length);
    const size_t dsdt = align16(fadt + 276);
    const std::vector<uint8_t> body = tpm_dsdt_body();
    const size_t dsdt_length = kHeaderSize + body.size();
    const size_t tpm2 = align16(dsdt + dsdt_length);
    b.grow(tpm2 + kTpm2Length);
    b.put_bytes(dsdt + kHeaderSize, body);
    put_header(b, dsdt, "DSDT", static_cast<uint32_t>(dsdt_length), 2);
    put_fadt(b, fadt, base_gpa + dsdt);
    put_tpm2(b, tpm2);
    xsdt_entries.push_back(base_gpa + fadt);
    xsdt_entries.push_back(base_gpa + tpm2);
  }
  static_assert(kXsdtOffset + kHeaderSize + 3 * 8 <= kMadtOffset, "the XSDT's entries fit before the MADT");
  for (size_t i = 0; i < xsdt_entries.size(); ++i) b.put64(kXsdtOffset + kHeaderSize + 8 * i, xsdt_entries[i]);
  put_header(b, kXsdtOffset, "XSDT", static_cast<uint32_t>(kHeaderSize + 8 * xsdt_entries.size()), 1);

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
