#include "monitor/config/memory_size.h"

#include <gtest/gtest.h>

#include <string>

namespace bulwark::config {
namespace {

struct SizeCase {
  const char* text;
  uint64_t mib;
};

TEST(MemorySize, AcceptsTheUsualForms) {
  const SizeCase cases[] = {
      {"512", 512},       {"512M", 512},     {"512MiB", 512},   {"512m", 512},
      {"512mib", 512},    {"2G", 2048},      {"2GiB", 2048},    {"2g", 2048},
      {"1T", 1048576},    {"1TiB", 1048576}, {"16", 16},        {"1048576", 1048576},
      {"1024G", 1048576}, {"0016", 16},      {"000000000000000000000000000512M", 512},
  };
  for (const SizeCase& c : cases) {
    Result<uint64_t> mib = parse_memory_size_mib(c.text);
    ASSERT_TRUE(mib.ok()) << c.text << ": " << mib.error().message();
    EXPECT_EQ(*mib, c.mib) << c.text;
  }
}

struct SizeError {
  std::string text;
  const char* expected;  // whole message
};

TEST(MemorySize, RefusesWithAPreciseMessage) {
  const SizeError cases[] = {
      {"", R"(expected a size like 512, 512M or 2G (MiB if no unit), got "")"},
      {"lots", R"(expected a size like 512, 512M or 2G (MiB if no unit), got "lots")"},
      {"-512", R"(expected a size like 512, 512M or 2G (MiB if no unit), got "-512")"},
      {"+512", R"(expected a size like 512, 512M or 2G (MiB if no unit), got "+512")"},
      {" 512", R"(expected a size like 512, 512M or 2G (MiB if no unit), got " 512")"},
      {"0", "must not be 0"},
      {"0G", "must not be 0"},
      {"15", R"("15" is too small (at least 16 MiB))"},
      {"15M", R"("15M" is too small (at least 16 MiB))"},
      {"1048577", R"("1048577" is too large (at most 1048576 MiB = 1 TiB))"},
      {"1025G", R"("1025G" is too large (at most 1048576 MiB = 1 TiB))"},
      {"2T", R"("2T" is too large (at most 1048576 MiB = 1 TiB))"},
      {"18446744073709551616", R"("18446744073709551616" is too large (at most 1048576 MiB = 1 TiB))"},
      {"99999999999999999999999999G", R"("99999999999999999999999999G" is too large (at most 1048576 MiB = 1 TiB))"},
      {"512MB", R"(unknown unit "MB" in "512MB" (expected M, MiB, G, GiB, T or TiB; no unit means MiB))"},
      {"512K", R"(unknown unit "K" in "512K" (expected M, MiB, G, GiB, T or TiB; no unit means MiB))"},
      {"1.5G", R"(unknown unit ".5G" in "1.5G" (expected M, MiB, G, GiB, T or TiB; no unit means MiB))"},
      {"512 M", R"(unknown unit " M" in "512 M" (expected M, MiB, G, GiB, T or TiB; no unit means MiB))"},
      {"512M ", R"(unknown unit "M " in "512M " (expected M, MiB, G, GiB, T or TiB; no unit means MiB))"},
      {std::string("512\0M", 5), R"(unknown unit "\x00M" in "512\x00M" (expected M, MiB, G, GiB, T or TiB; no unit means MiB))"},
  };
  for (const SizeError& c : cases) {
    Result<uint64_t> mib = parse_memory_size_mib(c.text);
    ASSERT_FALSE(mib.ok()) << c.text << " gave " << *mib;
    EXPECT_EQ(mib.error().message(), c.expected);
  }
}

}  // namespace
}  // namespace bulwark::config
