// The ACPI tables of a VM with a TPM, read back by this test and by a real peer: ACPICA's
// disassembler (`iasl -d`, skipped when acpica-tools is missing) must accept the DSDT, the FADT
// and the TPM2 table and find in them what Linux's tpm_crb looks for.
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "monitor/acpi/acpi_tables.h"
#include "monitor/boot/guest_layout.h"
#include "monitor/tpm/crb_regs.h"

namespace bulwark::acpi {
namespace {

uint32_t le32(const std::vector<uint8_t>& b, size_t at) {
  return uint32_t{b.at(at)} | (uint32_t{b.at(at + 1)} << 8) | (uint32_t{b.at(at + 2)} << 16) |
         (uint32_t{b.at(at + 3)} << 24);
}
uint64_t le64(const std::vector<uint8_t>& b, size_t at) { return le32(b, at) | (uint64_t{le32(b, at + 4)} << 32); }

struct Table {
  std::string signature;
  std::vector<uint8_t> bytes;
};

// Follows RSDP -> XSDT -> each entry (and FADT -> DSDT) the way a guest does.
std::vector<Table> walk(const std::vector<uint8_t>& blob, uint64_t base) {
  std::vector<Table> tables;
  auto table_at = [&](uint64_t gpa) {
    const size_t at = gpa - base;
    const uint32_t length = le32(blob, at + 4);
    EXPECT_LE(at + length, blob.size());
    Table t{std::string(blob.begin() + at, blob.begin() + at + 4),
            std::vector<uint8_t>(blob.begin() + at, blob.begin() + at + length)};
    uint8_t sum = 0;
    for (uint8_t byte : t.bytes) sum = static_cast<uint8_t>(sum + byte);
    EXPECT_EQ(sum, 0) << t.signature << " checksum";
    return t;
  };
  const Table xsdt = table_at(le64(blob, kRsdpOffset + 24));
  for (size_t at = 36; at + 8 <= xsdt.bytes.size(); at += 8) {
    Table t = table_at(le64(xsdt.bytes, at));
    if (t.signature == "FACP") tables.push_back(table_at(le64(t.bytes, 140)));
    tables.push_back(std::move(t));
  }
  return tables;
}

const Table* find(const std::vector<Table>& tables, const std::string& signature) {
  for (const Table& t : tables)
    if (t.signature == signature) return &t;
  return nullptr;
}

TEST(AcpiTpmTables, WithoutATpmOnlyTheMadt) {
  const auto tables = walk(build_acpi_tables(boot::kAcpiTablesAddr, 2), boot::kAcpiTablesAddr);
  ASSERT_EQ(tables.size(), 1u);
  EXPECT_EQ(tables[0].signature, "APIC");
}

TEST(AcpiTpmTables, WithATpmFadtDsdtAndTpm2) {
  for (uint32_t vcpus : {1u, 8u, 64u}) {
    const auto blob = build_acpi_tables(boot::kAcpiTablesAddr, vcpus, {.tpm = true});
    EXPECT_LE(blob.size(), boot::kAcpiTablesSize);
    const auto tables = walk(blob, boot::kAcpiTablesAddr);
    ASSERT_NE(find(tables, "APIC"), nullptr);
    const Table* fadt = find(tables, "FACP");
    const Table* dsdt = find(tables, "DSDT");
    const Table* tpm2 = find(tables, "TPM2");
    ASSERT_TRUE(fadt && dsdt && tpm2);
    EXPECT_EQ(fadt->bytes.size(), 276u);
    EXPECT_EQ(le32(fadt->bytes, 112) & (1u << 20), 1u << 20) << "HW_REDUCED_ACPI";
    EXPECT_EQ(le32(tpm2->bytes, 48), 7u) << "start method CRB";
    EXPECT_EQ(le64(tpm2->bytes, 40), tpm::kCrbBase + tpm::kCtrlReq);
    const std::string aml(dsdt->bytes.begin(), dsdt->bytes.end());
    EXPECT_NE(aml.find("MSFT0101"), std::string::npos);
  }
}

std::string run_iasl(const std::filesystem::path& dir, const std::string& file) {
  const std::string command = "cd '" + dir.string() + "' && iasl -d " + file + " > iasl.out 2>&1";
  const int status = std::system(command.c_str());
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "iasl -d " << file << " failed";
  const std::filesystem::path dsl = dir / (std::filesystem::path(file).stem().string() + ".dsl");
  std::ifstream in(dsl);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

TEST(AcpiTpmTables, IaslDisassemblesThem) {
  if (::access("/usr/bin/iasl", X_OK) != 0) GTEST_SKIP() << "iasl missing (scripts/setup.sh installs acpica-tools)";
  const auto tables = walk(build_acpi_tables(boot::kAcpiTablesAddr, 2, {.tpm = true}), boot::kAcpiTablesAddr);
  const auto dir = std::filesystem::temp_directory_path() / ("bulwark-acpi-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  auto write = [&dir](const Table& t) {
    const std::string name = t.signature + ".dat";
    std::ofstream(dir / name, std::ios::binary).write(reinterpret_cast<const char*>(t.bytes.data()),
                                                      static_cast<std::streamsize>(t.bytes.size()));
    return name;
  };
  const std::string dsdt = run_iasl(dir, write(*find(tables, "DSDT")));
  EXPECT_NE(dsdt.find("Device (TPM)"), std::string::npos) << dsdt;
  EXPECT_NE(dsdt.find("\"MSFT0101\""), std::string::npos) << dsdt;
  EXPECT_NE(dsdt.find("Memory32Fixed (ReadWrite,"), std::string::npos) << dsdt;
  EXPECT_NE(dsdt.find("0xFED40000"), std::string::npos) << dsdt;
  EXPECT_NE(dsdt.find("0x00005000"), std::string::npos) << dsdt;
  const std::string fadt = run_iasl(dir, write(*find(tables, "FACP")));
  EXPECT_NE(fadt.find("Hardware Reduced (V5) : 1"), std::string::npos) << fadt;
  EXPECT_EQ(fadt.find("Invalid"), std::string::npos) << fadt;
  const std::string tpm2 = run_iasl(dir, write(*find(tables, "TPM2")));
  EXPECT_NE(tpm2.find("Start Method : 07"), std::string::npos) << tpm2;
  EXPECT_NE(tpm2.find("Control Address : 00000000FED40040"), std::string::npos) << tpm2;
  EXPECT_EQ(tpm2.find("Invalid"), std::string::npos) << tpm2;
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace bulwark::acpi
