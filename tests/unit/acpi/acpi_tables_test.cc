#include "monitor/acpi/acpi_tables.h"

#include <gtest/gtest.h>

#include <cstring>
#include <string>

#include "monitor/boot/guest_layout.h"

namespace bulwark::acpi {
namespace {

uint32_t u32(const std::vector<uint8_t>& b, size_t at) {
  uint32_t v;
  std::memcpy(&v, b.data() + at, 4);
  return v;
}
uint64_t u64(const std::vector<uint8_t>& b, size_t at) {
  uint64_t v;
  std::memcpy(&v, b.data() + at, 8);
  return v;
}
uint8_t sum(const std::vector<uint8_t>& b, size_t at, size_t len) {
  uint8_t s = 0;
  for (size_t i = 0; i < len; ++i) s = static_cast<uint8_t>(s + b.at(at + i));
  return s;
}

TEST(AcpiTables, RsdpPointsToXsdtWhichPointsToMadtAndChecksumsHold) {
  constexpr uint64_t base = boot::kAcpiTablesAddr;
  const auto blob = build_acpi_tables(base, 2);
  EXPECT_EQ(std::string(blob.begin(), blob.begin() + 8), "RSD PTR ");
  EXPECT_EQ(blob[15], 2) << "ACPI 2.0 RSDP, so Linux follows the XSDT";
  EXPECT_EQ(sum(blob, 0, 20), 0);
  EXPECT_EQ(sum(blob, 0, 36), 0);
  const uint64_t xsdt = u64(blob, 24) - base;
  EXPECT_EQ(std::string(blob.begin() + xsdt, blob.begin() + xsdt + 4), "XSDT");
  EXPECT_EQ(sum(blob, xsdt, u32(blob, xsdt + 4)), 0);
  const uint64_t madt = u64(blob, xsdt + 36) - base;
  EXPECT_EQ(std::string(blob.begin() + madt, blob.begin() + madt + 4), "APIC");
  EXPECT_EQ(sum(blob, madt, u32(blob, madt + 4)), 0);
  EXPECT_EQ(u32(blob, madt + 36), boot::kLocalApicAddr);
}

// Walks the MADT entries and counts local APICs; checks the IOAPIC's address.
TEST(AcpiTables, MadtListsOneEnabledLocalApicPerVcpuAndTheIoApic) {
  for (uint32_t vcpus : {1u, 2u, 4u, 64u}) {
    const auto blob = build_acpi_tables(boot::kAcpiTablesAddr, vcpus);
    const size_t madt = kMadtOffset;
    const size_t end = madt + u32(blob, madt + 4);
    ASSERT_LE(end, blob.size());
    ASSERT_LE(blob.size(), boot::kAcpiTablesSize);
    uint32_t lapics = 0, ioapics = 0;
    for (size_t at = madt + 44; at < end; at += blob[at + 1]) {
      ASSERT_GE(blob[at + 1], 2u);
      if (blob[at] == 0) {
        EXPECT_EQ(blob[at + 3], lapics) << "APIC ids are 0..N-1";
        EXPECT_EQ(u32(blob, at + 4) & 1, 1u) << "enabled";
        ++lapics;
      }
      if (blob[at] == 1) {
        EXPECT_EQ(u32(blob, at + 4), boot::kIoApicAddr);
        EXPECT_EQ(blob[at + 2], vcpus) << "IOAPIC id must not clash with an APIC id";
        ++ioapics;
      }
    }
    EXPECT_EQ(lapics, vcpus);
    EXPECT_EQ(ioapics, 1u);
  }
}

}  // namespace
}  // namespace bulwark::acpi
