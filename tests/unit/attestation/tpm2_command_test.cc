// The launcher's TPM 2.0 commands (attestation/tpm2_command.h) against byte sequences written
// out from the TPM 2.0 Library spec, and the response parser (tpm2_response.h) on swtpm's
// answers and on the malformed ones a compromised swtpm could send.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <vector>

#include "attestation/tpm2_command.h"
#include "attestation/tpm2_response.h"

namespace bulwark::attestation {
namespace {

using Bytes = std::vector<uint8_t>;

Bytes concat(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const Bytes& part : parts) out.insert(out.end(), part.begin(), part.end());
  return out;
}

TEST(Tpm2CommandTest, StartupClearIsTheSpecsTwelveBytes) {
  EXPECT_EQ(startup_clear_command(), (Bytes{0x80, 0x01, 0x00, 0x00, 0x00, 0x0c, 0x00, 0x00, 0x01, 0x44, 0x00, 0x00}));
}

TEST(Tpm2CommandTest, PcrExtendOfOneSha256DigestUsesTheEmptyPasswordSession) {
  const Bytes digest(32, 0xAA);
  const BankDigest banks[] = {{kAlgSha256, digest}};
  auto command = pcr_extend_command(9, banks);
  ASSERT_TRUE(command.ok()) << command.error().message();
  const Bytes expected = concat({{0x80, 0x02, 0x00, 0x00, 0x00, 0x41, 0x00, 0x00, 0x01, 0x82},  // header, 65 bytes
                                 {0x00, 0x00, 0x00, 0x09},                                      // pcrHandle 9
                                 {0x00, 0x00, 0x00, 0x09},                                      // authorizationSize
                                 {0x40, 0x00, 0x00, 0x09, 0x00, 0x00, 0x00, 0x00, 0x00},        // TPM_RS_PW, empty
                                 {0x00, 0x00, 0x00, 0x01, 0x00, 0x0b},                          // 1 digest, SHA-256
                                 digest});
  EXPECT_EQ(*command, expected);
}

TEST(Tpm2CommandTest, PcrExtendOfBothBanksPutsSha256FirstThenSha384) {
  Digests digests;
  digests.sha256.fill(0x11);
  digests.sha384.fill(0x22);
  auto command = pcr_extend_command(15, digests, true);
  ASSERT_TRUE(command.ok());
  ASSERT_EQ(command->size(), 10u + 4 + 4 + 9 + 4 + 2 + 32 + 2 + 48);
  EXPECT_EQ((*command)[5], command->size());
  EXPECT_EQ((*command)[13], 15);
  EXPECT_EQ(Bytes(command->begin() + 27, command->begin() + 31), (Bytes{0, 0, 0, 2}));
  EXPECT_EQ(Bytes(command->begin() + 31, command->begin() + 33), (Bytes{0x00, 0x0b}));
  EXPECT_EQ((*command)[33], 0x11);
  EXPECT_EQ(Bytes(command->begin() + 65, command->begin() + 67), (Bytes{0x00, 0x0c}));
  EXPECT_EQ(command->back(), 0x22);
  auto sha256_only = pcr_extend_command(15, digests, false);
  ASSERT_TRUE(sha256_only.ok());
  EXPECT_EQ(sha256_only->size(), 10u + 4 + 4 + 9 + 4 + 2 + 32);
}

TEST(Tpm2CommandTest, PcrExtendRefusesWhatATpmWouldRejectOrMisread) {
  const Bytes short_digest(31, 0), sha384(48, 0);
  const BankDigest wrong_size[] = {{kAlgSha256, short_digest}};
  EXPECT_THAT(pcr_extend_command(9, wrong_size).error().message(), ::testing::HasSubstr("31 bytes for a 32-byte bank"));
  const BankDigest sha1[] = {{0x0004, sha384}};
  EXPECT_FALSE(pcr_extend_command(9, sha1).ok());
  const BankDigest fine[] = {{kAlgSha384, sha384}};
  EXPECT_THAT(pcr_extend_command(24, fine).error().message(), ::testing::HasSubstr("PCR 24 is above 23"));
  EXPECT_FALSE(pcr_extend_command(9, std::span<const BankDigest>()).ok());
}

TEST(Tpm2CommandTest, PcrReadSelectsThePcrInEachBank) {
  const uint16_t algs[] = {kAlgSha256, kAlgSha384};
  auto command = pcr_read_command(9, algs);
  ASSERT_TRUE(command.ok());
  EXPECT_EQ(*command, (Bytes{0x80, 0x01, 0x00, 0x00, 0x00, 0x1a, 0x00, 0x00, 0x01, 0x7e,  // header, 26 bytes
                             0x00, 0x00, 0x00, 0x02,                                      // 2 selections
                             0x00, 0x0b, 0x03, 0x00, 0x02, 0x00,                          // SHA-256: PCR 9
                             0x00, 0x0c, 0x03, 0x00, 0x02, 0x00}));                       // SHA-384: PCR 9
  const uint16_t pcr0[] = {kAlgSha256};
  auto first = pcr_read_command(0, pcr0);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(Bytes(first->end() - 3, first->end()), (Bytes{0x01, 0x00, 0x00}));
  auto last = pcr_read_command(23, pcr0);
  ASSERT_TRUE(last.ok());
  EXPECT_EQ(Bytes(last->end() - 3, last->end()), (Bytes{0x00, 0x00, 0x80}));
}

const Bytes kStartupOk{0x80, 0x01, 0x00, 0x00, 0x00, 0x0a, 0x00, 0x00, 0x00, 0x00};
const Bytes kStartupInitialize{0x80, 0x01, 0x00, 0x00, 0x00, 0x0a, 0x00, 0x00, 0x01, 0x00};
const Bytes kExtendOk{0x80, 0x02, 0x00, 0x00, 0x00, 0x13, 0x00, 0x00, 0x00, 0x00,
                      0x00, 0x00, 0x00, 0x00,  // parameterSize
                      0x00, 0x00, 0x01, 0x00, 0x00};  // nonce, continueSession, hmac

TEST(Tpm2ResponseTest, StartupAcceptsSuccessAndAlreadyStartedOnlyWhenAsked) {
  EXPECT_TRUE(parse_startup_response(kStartupOk).ok());
  EXPECT_THAT(parse_startup_response(kStartupInitialize).error().message(),
              ::testing::HasSubstr("TPM error 0x00000100"));
  EXPECT_TRUE(parse_startup_response(kStartupInitialize, true).ok());
}

TEST(Tpm2ResponseTest, ExtendAcceptsThePasswordSessionsEmptyAnswer) {
  EXPECT_TRUE(parse_pcr_extend_response(kExtendOk).ok());
  Bytes trailing = kExtendOk;
  trailing.push_back(0);
  trailing[5] = static_cast<uint8_t>(trailing.size());
  EXPECT_THAT(parse_pcr_extend_response(trailing).error().message(), ::testing::HasSubstr("1 bytes after the session area"));
  Bytes long_hmac = kExtendOk;
  long_hmac[18] = 0x05;  // hmac size 5, none there
  EXPECT_THAT(parse_pcr_extend_response(long_hmac).error().message(), ::testing::HasSubstr("runs past the end"));
}

TEST(Tpm2ResponseTest, HeaderRefusesSizesThatDisagreeWithWhatArrived) {
  Bytes bigger = kStartupOk;
  bigger[5] = 0x0b;
  EXPECT_THAT(check_response(bigger).error().message(), ::testing::HasSubstr("size field 11 but 10 bytes arrived"));
  EXPECT_THAT(parse_response_header(Bytes{0x80, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00}).error().message(),
              ::testing::HasSubstr("outside 10..4096"));
  EXPECT_THAT(parse_response_header(Bytes{0x80, 0x01, 0x00}).error().message(), ::testing::HasSubstr("runs past the end"));
  EXPECT_THAT(parse_response_header(Bytes{0x00, 0xc4, 0x00, 0x00, 0x00, 0x0a, 0x00, 0x00, 0x00, 0x00}).error().message(),
              ::testing::HasSubstr("tag"));
}

Bytes pcr_read_response(uint8_t select_byte, uint16_t digest_size, size_t digest_bytes, uint32_t count = 1) {
  Bytes body = concat({{0x00, 0x00, 0x00, 0x05},                      // pcrUpdateCounter
                       {0x00, 0x00, 0x00, 0x01, 0x00, 0x0b, 0x03, 0x00, select_byte, 0x00},
                       {0x00, 0x00, 0x00, static_cast<uint8_t>(count)},
                       {static_cast<uint8_t>(digest_size >> 8), static_cast<uint8_t>(digest_size)},
                       Bytes(digest_bytes, 0x5a)});
  const size_t size = 10 + body.size();
  return concat({{0x80, 0x01, 0x00, 0x00, 0x00, static_cast<uint8_t>(size), 0x00, 0x00, 0x00, 0x00}, body});
}

TEST(Tpm2ResponseTest, PcrReadReturnsTheValueOfTheSelectedPcr) {
  auto read = parse_pcr_read_response(pcr_read_response(0x02, 32, 32), 9);
  ASSERT_TRUE(read.ok()) << read.error().message();
  EXPECT_EQ(read->update_counter, 5u);
  ASSERT_EQ(read->banks.size(), 1u);
  EXPECT_EQ(read->banks[0].alg, kAlgSha256);
  EXPECT_EQ(read->banks[0].digest, Bytes(32, 0x5a));
}

TEST(Tpm2ResponseTest, PcrReadLeavesOutABankTheTpmDoesNotHave) {
  // An unselected bank with a count of 0 digests but a digest after it: trailing bytes.
  EXPECT_FALSE(parse_pcr_read_response(pcr_read_response(0x00, 0, 0, 0), 9).ok());
  Bytes none = concat({{0x80, 0x01, 0x00, 0x00, 0x00, 0x1c, 0x00, 0x00, 0x00, 0x00},
                       {0x00, 0x00, 0x00, 0x05, 0x00, 0x00, 0x00, 0x01, 0x00, 0x0c, 0x03, 0x00, 0x00, 0x00},
                       {0x00, 0x00, 0x00, 0x00}});
  auto empty = parse_pcr_read_response(none, 9);
  ASSERT_TRUE(empty.ok()) << empty.error().message();
  EXPECT_TRUE(empty->banks.empty());
}

TEST(Tpm2ResponseTest, PcrReadRefusesWhatDoesNotAnswerTheQuestion) {
  EXPECT_THAT(parse_pcr_read_response(pcr_read_response(0x06, 32, 32), 9).error().message(),
              ::testing::HasSubstr("selects PCRs other than 9"));
  EXPECT_THAT(parse_pcr_read_response(pcr_read_response(0x02, 20, 20), 9).error().message(),
              ::testing::HasSubstr("20-byte digest"));
  EXPECT_THAT(parse_pcr_read_response(pcr_read_response(0x02, 32, 32, 2), 9).error().message(),
              ::testing::HasSubstr("2 digests for 1 selected banks"));
  EXPECT_THAT(parse_pcr_read_response(pcr_read_response(0x02, 32, 31), 9).error().message(),
              ::testing::HasSubstr("runs past the end"));
  EXPECT_THAT(parse_pcr_read_response(pcr_read_response(0x02, 32, 33), 9).error().message(),
              ::testing::HasSubstr("1 bytes after the PCR values"));
  EXPECT_THAT(parse_pcr_read_response(kExtendOk, 9).error().message(), ::testing::HasSubstr("session area"));
}

}  // namespace
}  // namespace bulwark::attestation
