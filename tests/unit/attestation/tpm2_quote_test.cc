// The quote's TPM 2.0 commands (attestation/tpm2_quote_command.h) against byte sequences written
// out from the TPM 2.0 Library spec; their response parsers (tpm2_quote_response.h) and the
// verifier (quote_verify.h) on a real swtpm's answers (swtpm_quote_fixture.h) and on the
// tampered ones a host could hand a tenant.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <vector>

#include "attestation/event_log_parser.h"
#include "attestation/event_log_writer.h"
#include "attestation/launch_events.h"
#include "attestation/launch_reference.h"
#include "attestation/quote_verify.h"
#include "attestation/tpm2_quote_command.h"
#include "attestation/tpm2_quote_response.h"
#include "attestation/tpm2_quote_structures.h"
#include "tests/unit/attestation/swtpm_quote_fixture.h"

namespace bulwark::attestation {
namespace {

using QuoteBytes = std::vector<uint8_t>;
using ::testing::HasSubstr;

QuoteBytes joined(std::initializer_list<QuoteBytes> parts) {
  QuoteBytes out;
  for (const QuoteBytes& part : parts) out.insert(out.end(), part.begin(), part.end());
  return out;
}

const QuoteBytes kTemplate = {0x00, 0x23, 0x00, 0x0b, 0x00, 0x05, 0x00, 0x72,  // ECC, SHA-256, attributes
                              0x00, 0x00,                                      // authPolicy: empty
                              0x00, 0x10, 0x00, 0x18, 0x00, 0x0b,              // symmetric NULL, ECDSA SHA-256
                              0x00, 0x03, 0x00, 0x10,                          // NIST P-256, kdf NULL
                              0x00, 0x00, 0x00, 0x00};                         // unique x, y: empty
const QuoteBytes kPasswordSession = {0x00, 0x00, 0x00, 0x09, 0x40, 0x00, 0x00, 0x09, 0x00, 0x00, 0x00, 0x00, 0x00};
const QuoteBytes kQuoteNonce = {0x5e, 0xed, 0x0f, 0x0e, 0x5e, 0xed, 0x0f, 0x0e, 0x5e, 0xed, 0x0f,
                                0x0e, 0x5e, 0xed, 0x0f, 0x0e, 0x5e, 0xed, 0x0f, 0x0e, 0x5e, 0xed,
                                0x0f, 0x0e, 0x5e, 0xed, 0x0f, 0x0e, 0x5e, 0xed, 0x0f, 0x0e};

TEST(Tpm2QuoteCommandTest, AkTemplateIsTheDocumentedEccRestrictedSigningKey) {
  EXPECT_EQ(ak_template(), kTemplate);
  EXPECT_EQ(kAkAttributes, 0x00050072u);  // tpm2_createak's default AK attributes
}

TEST(Tpm2QuoteCommandTest, CreateAkIsCreatePrimaryUnderTheEndorsementHierarchy) {
  const QuoteBytes expected = joined({{0x80, 0x02, 0x00, 0x00, 0x00, 0x41, 0x00, 0x00, 0x01, 0x31},  // 65 bytes
                                      {0x40, 0x00, 0x00, 0x0b},  // TPM_RH_ENDORSEMENT
                                      kPasswordSession,
                                      {0x00, 0x04, 0x00, 0x00, 0x00, 0x00},  // inSensitive: empty auth, data
                                      {0x00, 0x18},                          // inPublic: 24 bytes
                                      kTemplate,
                                      {0x00, 0x00},                // outsideInfo
                                      {0x00, 0x00, 0x00, 0x00}});  // creationPCR: none
  EXPECT_EQ(create_ak_command(), expected);
}

TEST(Tpm2QuoteCommandTest, QuoteSelectsPcrs9And15OfTheSha256BankWithTheNonce) {
  auto command = quote_command(0x80000000, QuoteBytes{0xab, 0xcd});
  ASSERT_TRUE(command.ok()) << command.error().message();
  const QuoteBytes expected = joined({{0x80, 0x02, 0x00, 0x00, 0x00, 0x2b, 0x00, 0x00, 0x01, 0x58},  // 43 bytes
                                      {0x80, 0x00, 0x00, 0x00},                                      // signHandle
                                      kPasswordSession,
                                      {0x00, 0x02, 0xab, 0xcd},                                        // qualifyingData
                                      {0x00, 0x10},                                                    // inScheme NULL
                                      {0x00, 0x00, 0x00, 0x01, 0x00, 0x0b, 0x03, 0x00, 0x82, 0x00}});  // sha256:9,15
  EXPECT_EQ(*command, expected);
  EXPECT_THAT(quote_command(0x80000000, QuoteBytes{}).error().message(), HasSubstr("0 bytes (1 to 64)"));
  EXPECT_FALSE(quote_command(0x80000000, QuoteBytes(65, 1)).ok());
  EXPECT_TRUE(quote_command(0x80000000, QuoteBytes(64, 1)).ok());
}

TEST(Tpm2QuoteCommandTest, FlushContextIsTheHeaderAndTheHandle) {
  EXPECT_EQ(flush_context_command(0x80000001),
            (QuoteBytes{0x80, 0x01, 0x00, 0x00, 0x00, 0x0e, 0x00, 0x00, 0x01, 0x65, 0x80, 0x00, 0x00, 0x01}));
}

TEST(Tpm2QuoteResponseTest, SwtpmsCreatePrimaryAnswerIsTheTemplatesKey) {
  auto created = parse_create_ak_response(fixture::kSwtpmCreateAkResponse);
  ASSERT_TRUE(created.ok()) << created.error().message();
  EXPECT_EQ(created->handle, 0x80000000u);
  EXPECT_EQ(created->ak.attributes, kAkAttributes);
  EXPECT_EQ(created->ak.x.size(), 32u);
  EXPECT_EQ(created->ak.y.size(), 32u);
  EXPECT_EQ(created->name, *ak_name(created->ak));
  // As a file, it reads back the same.
  auto file = parse_ak_public_file(ak_public_file(created->ak.area));
  ASSERT_TRUE(file.ok()) << file.error().message();
  EXPECT_EQ(file->area, created->ak.area);
}

TEST(Tpm2QuoteResponseTest, TamperedOrShortCreatePrimaryAnswersAreRefused) {
  const QuoteBytes& good = fixture::kSwtpmCreateAkResponse;
  for (size_t length = 0; length < good.size(); ++length) {
    QuoteBytes cut(good.begin(), good.begin() + static_cast<std::ptrdiff_t>(length));
    EXPECT_FALSE(parse_create_ak_response(cut).ok()) << length;
  }
  // The last byte of the name (just before the 5-byte session answer).
  QuoteBytes wrong_name = good;
  wrong_name[wrong_name.size() - 6] ^= 1;
  EXPECT_THAT(parse_create_ak_response(wrong_name).error().message(), HasSubstr("the name is not the public area's"));
  // objectAttributes without `restricted`: a key that would sign anything.
  QuoteBytes unrestricted = good;
  // The area starts at byte 20 (header 10, handle 4, parameterSize 4, size 2): type, nameAlg, then
  // objectAttributes at 24; bit 16 (restricted) is in byte 25.
  ASSERT_EQ(unrestricted[25], 0x05);
  unrestricted[25] &= 0xFE;
  EXPECT_THAT(parse_create_ak_response(unrestricted).error().message(), HasSubstr("restricted"));
}

TEST(Tpm2QuoteResponseTest, SwtpmsQuoteNamesTheAkAndCarriesTheNonce) {
  auto created = parse_create_ak_response(fixture::kSwtpmCreateAkResponse);
  ASSERT_TRUE(created.ok());
  auto quote = parse_quote_response(fixture::kSwtpmQuoteResponse);
  ASSERT_TRUE(quote.ok()) << quote.error().message();
  auto attest = parse_quote_attest(quote->attest);
  ASSERT_TRUE(attest.ok()) << attest.error().message();
  EXPECT_EQ(attest->extra_data, kQuoteNonce);
  EXPECT_EQ(attest->qualified_signer, *ak_qualified_name(created->ak));
  ASSERT_EQ(attest->pcr_select.size(), 1u);
  EXPECT_EQ(attest->pcr_select[0].select, (QuoteBytes{0x00, 0x82, 0x00}));
  EXPECT_TRUE(parse_quote_signature(quote->signature).ok());
  EXPECT_TRUE(parse_flush_context_response(QuoteBytes{0x80, 0x01, 0, 0, 0, 0x0a, 0, 0, 0, 0}).ok());
  EXPECT_FALSE(parse_flush_context_response(QuoteBytes{0x80, 0x01, 0, 0, 0, 0x0a, 0, 0, 0x01, 0x01}).ok());
  QuoteBytes trailing = fixture::kSwtpmQuoteResponse;
  trailing.push_back(0);
  trailing[5] = static_cast<uint8_t>(trailing[5] + 1);
  EXPECT_FALSE(parse_quote_response(trailing).ok());
}

class QuoteVerifyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto created = parse_create_ak_response(fixture::kSwtpmCreateAkResponse);
    ASSERT_TRUE(created.ok());
    auto quote = parse_quote_response(fixture::kSwtpmQuoteResponse);
    ASSERT_TRUE(quote.ok());
    evidence_.attest = quote->attest;
    evidence_.signature = quote->signature;
    evidence_.ak_public = ak_public_file(created->ak.area);
    evidence_.event_log = EventLogWriter().bytes();  // nothing extended: PCRs 9 and 15 all zero
    evidence_.pcrs = QuoteBytes(64, 0);
  }
  static std::string failed(const Verdict& verdict) {
    std::string names;
    for (const Check& check : verdict.checks) {
      if (!check.passed) names += (names.empty() ? "" : ",") + check.name;
    }
    return names;
  }
  Evidence evidence_;
};

TEST_F(QuoteVerifyTest, SwtpmsQuotePassesEveryCheck) {
  const Verdict verdict = verify_evidence(evidence_, kQuoteNonce, nullptr);
  EXPECT_TRUE(verdict.passed()) << failed(verdict);
  EXPECT_EQ(verdict.checks.size(), 9u);
}

TEST_F(QuoteVerifyTest, EachTamperingFailsItsOwnCheck) {
  QuoteBytes other_nonce = kQuoteNonce;
  other_nonce[0] ^= 1;
  EXPECT_EQ(failed(verify_evidence(evidence_, other_nonce, nullptr)), "nonce");

  Evidence signature = evidence_;
  signature.signature.back() ^= 1;
  EXPECT_EQ(failed(verify_evidence(signature, kQuoteNonce, nullptr)), "signature");

  Evidence message = evidence_;
  message.attest[50] ^= 1;  // inside extraData (at 44: magic, type, the 34-byte name, its size): signed too
  EXPECT_EQ(failed(verify_evidence(message, kQuoteNonce, nullptr)), "signature,nonce");

  Evidence log = evidence_;
  EventLogWriter writer;
  ASSERT_TRUE(measure_kernel(writer, QuoteBytes{1, 2, 3}).ok());
  log.event_log = writer.bytes();
  EXPECT_EQ(failed(verify_evidence(log, kQuoteNonce, nullptr)), "replay");

  Evidence pcrs = evidence_;
  (*pcrs.pcrs)[0] = 1;
  EXPECT_EQ(failed(verify_evidence(pcrs, kQuoteNonce, nullptr)), "pcrs");

  Evidence ak = evidence_;
  ak.ak_public.back() ^= 1;  // y: a point off the curve, or another key
  EXPECT_THAT(failed(verify_evidence(ak, kQuoteNonce, nullptr)), HasSubstr("signature"));

  Evidence garbage = evidence_;
  garbage.attest.resize(10);
  EXPECT_EQ(failed(verify_evidence(garbage, kQuoteNonce, nullptr)),
            "quote,signature,signer,nonce,pcr-selection,replay,pcrs");
}

TEST(LaunchReferenceTest, ItemsOfALogCompareWithAReferenceByName) {
  EventLogWriter writer;
  ASSERT_TRUE(measure_kernel(writer, QuoteBytes{1}).ok());
  ASSERT_TRUE(measure_command_line(writer, "console=ttyS0").ok());
  ASSERT_TRUE(measure_isolation_item(writer, "seccomp dev-blk", QuoteBytes{2}).ok());
  ASSERT_TRUE(measure_isolation_item(writer, "binary monitor", QuoteBytes{3}).ok());
  auto events = parse_event_log(writer.bytes());
  ASSERT_TRUE(events.ok());
  auto items = launch_items(*events);
  ASSERT_TRUE(items.ok()) << items.error().message();
  ASSERT_EQ(items->size(), 4u);
  EXPECT_EQ((*items)[1].name, "cmdline");
  EXPECT_EQ((*items)[1].text, "console=ttyS0");

  Reference reference;
  reference.kernel = measure(QuoteBytes{1})->sha256;
  reference.cmdline = "console=ttyS0";
  reference.isolation["seccomp dev-blk"] = measure(QuoteBytes{2})->sha256;
  auto round_trip = parse_reference(reference_json(reference));
  ASSERT_TRUE(round_trip.ok()) << round_trip.error().message();
  auto summary = [&](const Reference& ref) {
    std::string text;
    for (const ReferenceCheck& check : compare_with_reference(*items, ref)) {
      text += check.item + (check.passed ? (check.checked ? "=ok " : "=unchecked ") : "=FAIL ");
    }
    return text;
  };
  EXPECT_EQ(summary(*round_trip), "kernel=ok cmdline=ok seccomp dev-blk=ok binary monitor=unchecked ");

  Reference other = *round_trip;
  other.kernel = measure(QuoteBytes{9})->sha256;
  other.initrd = measure(QuoteBytes{9})->sha256;
  other.cmdline = "console=ttyS1";
  other.isolation["seccomp dev-blk"] = measure(QuoteBytes{9})->sha256;
  other.isolation["seccomp dev-net"] = measure(QuoteBytes{9})->sha256;
  EXPECT_EQ(summary(other),
            "kernel=FAIL initrd=FAIL cmdline=FAIL seccomp dev-blk=FAIL seccomp dev-net=FAIL binary monitor=unchecked ");
  const auto checks = compare_with_reference(*items, other);
  EXPECT_THAT(checks[0].detail, HasSubstr("differs: expected sha256 "));
  EXPECT_THAT(checks[1].detail, HasSubstr("not measured"));
  EXPECT_THAT(checks[2].detail, HasSubstr("expected \"console=ttyS1\", measured \"console=ttyS0\""));

  // A log that measured an initrd the reference does not have fails on it.
  Reference without_cmdline = *round_trip;
  without_cmdline.cmdline.reset();
  EXPECT_EQ(summary(without_cmdline), "kernel=ok cmdline=FAIL seccomp dev-blk=ok binary monitor=unchecked ");
}

TEST(LaunchReferenceTest, EventsALaunchDoesNotWriteAreRefused) {
  EventLogWriter writer;
  ASSERT_TRUE(writer.add(10, EventType::kIpl, QuoteBytes{'x', 0}, QuoteBytes{1}).ok());
  auto events = parse_event_log(writer.bytes());
  ASSERT_TRUE(events.ok());
  EXPECT_THAT(launch_items(*events).error().message(), HasSubstr("not an event a Bulwark launch writes"));
  EventLogWriter twice;
  ASSERT_TRUE(measure_kernel(twice, QuoteBytes{1}).ok());
  ASSERT_TRUE(measure_kernel(twice, QuoteBytes{2}).ok());
  auto twice_events = parse_event_log(twice.bytes());
  ASSERT_TRUE(twice_events.ok());
  EXPECT_THAT(launch_items(*twice_events).error().message(), HasSubstr("measured twice"));
}

TEST(LaunchReferenceTest, ReferenceFilesAreCheckedStrictly) {
  EXPECT_THAT(parse_reference("{}").error().message(), HasSubstr("\"bulwark_reference\": 1 missing"));
  EXPECT_THAT(parse_reference("{\"bulwark_reference\": 1, \"boot\": {\"kernel\": \"zz\"}}").error().message(),
              HasSubstr("/boot/kernel"));
  EXPECT_THAT(parse_reference("{\"bulwark_reference\": 1, \"extra\": 0}").error().message(), HasSubstr("unknown key"));
  EXPECT_FALSE(parse_reference("{\"bulwark_reference\": 1, \"isolation\": {\"x\": 5}}").ok());
  EXPECT_FALSE(parse_reference("not json").ok());
  EXPECT_TRUE(parse_reference("{\"bulwark_reference\": 1}").ok());
}

}  // namespace
}  // namespace bulwark::attestation
