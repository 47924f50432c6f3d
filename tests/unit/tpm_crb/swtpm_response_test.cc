#include "monitor/tpm/swtpm_response.h"

#include <gtest/gtest.h>

#include <vector>

namespace bulwark::tpm {
namespace {

std::vector<uint8_t> header(uint16_t tag, uint32_t size, uint32_t code) {
  return {static_cast<uint8_t>(tag >> 8), static_cast<uint8_t>(tag), static_cast<uint8_t>(size >> 24),
          static_cast<uint8_t>(size >> 16), static_cast<uint8_t>(size >> 8), static_cast<uint8_t>(size),
          static_cast<uint8_t>(code >> 24), static_cast<uint8_t>(code >> 16), static_cast<uint8_t>(code >> 8),
          static_cast<uint8_t>(code)};
}

TEST(SwtpmResponse, AcceptsAWellFormedHeader) {
  const auto check = parse_tpm_response_header(header(0x8001, 28, 0), 4096);
  ASSERT_TRUE(check.ok) << check.error;
  EXPECT_EQ(check.header.size, 28u);
  EXPECT_EQ(check.header.code, 0u);
  EXPECT_TRUE(parse_tpm_response_header(header(0x8002, 10, 0x101), 10).ok);
}

TEST(SwtpmResponse, RefusesEachBadHeader) {
  struct Case {
    std::vector<uint8_t> bytes;
    const char* why;
  };
  const Case cases[] = {
      {{0x80, 0x01, 0, 0, 0}, "shorter"},
      {header(0x00c4, 10, 0), "tag"},
      {header(0x8001, 9, 0), "smaller than its header"},
      {header(0x8001, 0, 0), "smaller than its header"},
      {header(0x8001, 4097, 0), "exceeds"},
      {header(0x8001, 0xffffffff, 0), "exceeds"},
  };
  for (const Case& c : cases) {
    const auto check = parse_tpm_response_header(c.bytes, 4096);
    EXPECT_FALSE(check.ok) << c.why;
    EXPECT_NE(check.error.find(c.why), std::string::npos) << check.error;
  }
}

TEST(SwtpmResponse, AWholeResponseMustBeAsLongAsItSays) {
  auto bytes = header(0x8001, 12, 0);
  EXPECT_FALSE(check_tpm_response(bytes, 4096).ok);
  bytes.resize(12);
  EXPECT_TRUE(check_tpm_response(bytes, 4096).ok);
  bytes.push_back(0);
  EXPECT_FALSE(check_tpm_response(bytes, 4096).ok);
}

}  // namespace
}  // namespace bulwark::tpm
