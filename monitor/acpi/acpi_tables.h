// Minimal ACPI for the guest: RSDP -> XSDT -> MADT. The MADT is how Linux finds every vCPU's
// local APIC and the IOAPIC (a stock Debian kernel ignores MP tables: no CONFIG_X86_MPPARSE).
// A VM with a TPM also gets a hardware-reduced FADT, a DSDT declaring the TPM's CRB device
// (_HID MSFT0101, which Linux's tpm_crb binds to) and a TPM2 table; a VM without one keeps
// exactly the three tables it always had (no FADT: Linux then treats the platform as it did).
#pragma once

#include <cstdint>
#include <vector>

namespace bulwark::acpi {

// Tables laid out from `base_gpa` (the RSDP first, 16-byte aligned): the returned bytes are
// written to guest memory at base_gpa. The RSDP's address is base_gpa.
struct AcpiDevices {
  bool tpm = false;  // the CRB TPM at tpm::kCrbBase
};
std::vector<uint8_t> build_acpi_tables(uint64_t base_gpa, uint32_t vcpu_count, const AcpiDevices& devices = {});

// Offsets inside the blob, for tests and for readers of guest memory dumps.
inline constexpr uint64_t kRsdpOffset = 0x0;
inline constexpr uint64_t kXsdtOffset = 0x40;
inline constexpr uint64_t kMadtOffset = 0x80;

}  // namespace bulwark::acpi
