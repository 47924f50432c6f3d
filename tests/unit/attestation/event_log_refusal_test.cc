// A verifier's view of a hostile event log: every lie about the header, the banks, a length, a
// PCR index or the event count is refused with a message naming the event and the field, and no
// cut of a valid log except at an event boundary reads as valid.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "attestation/event_log_parser.h"
#include "attestation_test_log.h"

namespace bulwark::attestation {
namespace {

using ::testing::HasSubstr;
using testing::kEventDigestCount;
using testing::kEventFirstAlgorithm;
using testing::kEventSize;
using testing::kHeaderBytes;
using testing::kSpecAlgorithmCount;
using testing::kSpecFirstAlgorithm;
using testing::poke;
using testing::sample_log;

std::string refusal_of(const std::vector<uint8_t>& log) {
  auto events = parse_event_log(log);
  if (events.ok()) return "(accepted " + std::to_string(events->size()) + " events)";
  return events.error().message();
}

// The first event starts right after the header.
constexpr size_t kFirst = kHeaderBytes;

TEST(EventLogRefusal, EmptyAndShortHeader) {
  EXPECT_THAT(refusal_of({}), HasSubstr("header PCR index (4 bytes at offset 0) runs past the end of the 0-byte log"));
  std::vector<uint8_t> log = sample_log();
  log.resize(50);
  EXPECT_THAT(refusal_of(log), HasSubstr("header Spec ID event (37 bytes at offset 32) runs past the end"));
  log = sample_log();
  log.resize(kHeaderBytes + 99);
  EXPECT_THAT(refusal_of(log), HasSubstr("99 trailing bytes after the header, too few for an event (at least 100)"));
}

TEST(EventLogRefusal, WrongHeader) {
  std::vector<uint8_t> log = sample_log();
  poke<uint32_t>(log, 4, 1);  // EV_POST_CODE instead of EV_NO_ACTION: a SHA-1 log
  EXPECT_THAT(refusal_of(log), HasSubstr("expected PCR 0 and EV_NO_ACTION, got PCR 0 and 0x1"));
  log = sample_log();
  log[testing::kSpecIdOffset + 14] = '2';  // "Spec ID Event02"
  EXPECT_THAT(refusal_of(log), HasSubstr("signature is not \"Spec ID Event03\""));
  log = sample_log();
  log[10] = 1;  // SHA-1 digest field
  EXPECT_THAT(refusal_of(log), HasSubstr("SHA-1 digest field is not all zero"));
  log = sample_log();
  log[testing::kSpecIdOffset + 21] = 1;  // spec version 1.0
  EXPECT_THAT(refusal_of(log), HasSubstr("spec version 1.0 (expected 2.0)"));
  log = sample_log();
  poke<uint32_t>(log, 28, 38);  // Spec ID event one byte longer: the byte is the first event's
  EXPECT_THAT(refusal_of(log), HasSubstr("1 bytes after the Spec ID event's vendor info"));
  log = sample_log();
  log[kHeaderBytes - 1] = 1;  // vendorInfoSize 1: the byte it claims is not in the Spec ID event
  EXPECT_THAT(refusal_of(log),
              HasSubstr("Spec ID vendor info (1 bytes at offset 37) runs past the end of the 37-byte Spec ID event"));
}

TEST(EventLogRefusal, UnknownAlgorithmInTheHeader) {
  std::vector<uint8_t> log = sample_log();
  poke<uint16_t>(log, kSpecFirstAlgorithm, 0x0004);  // SHA-1
  EXPECT_THAT(refusal_of(log), HasSubstr("header: unknown algorithm id 0x4"));
  log = sample_log();
  poke<uint16_t>(log, kSpecFirstAlgorithm + 2, 20);
  EXPECT_THAT(refusal_of(log), HasSubstr("digest size 20 for algorithm id 0xb (expected 32)"));
  log = sample_log();
  poke<uint16_t>(log, kSpecFirstAlgorithm + 4, 0x000B);
  poke<uint16_t>(log, kSpecFirstAlgorithm + 6, 32);
  EXPECT_THAT(refusal_of(log), HasSubstr("algorithm id 0xb listed twice"));
  log = sample_log();
  poke<uint32_t>(log, kSpecAlgorithmCount, 3);
  EXPECT_THAT(refusal_of(log), HasSubstr("header: 3 algorithms (expected SHA-256 and SHA-384)"));
}

TEST(EventLogRefusal, DigestCountDiffersFromTheHeader) {
  std::vector<uint8_t> log = sample_log();
  poke<uint32_t>(log, kFirst + kEventDigestCount, 1);
  EXPECT_THAT(refusal_of(log),
              HasSubstr("event 1 at offset 69: digest count 1 differs from the header's 2 algorithms"));
  poke<uint32_t>(log, kFirst + kEventDigestCount, 0xFFFFFFFF);
  EXPECT_THAT(refusal_of(log), HasSubstr("digest count 4294967295 differs"));
}

TEST(EventLogRefusal, UnknownOrRepeatedAlgorithmInAnEvent) {
  std::vector<uint8_t> log = sample_log();
  poke<uint16_t>(log, kFirst + kEventFirstAlgorithm, 0x0004);
  EXPECT_THAT(refusal_of(log), HasSubstr("event 1 at offset 69: digest 0: unknown algorithm id 0x4"));
  log = sample_log();
  poke<uint16_t>(log, kFirst + kEventFirstAlgorithm + 2 + 32, 0x000B);
  EXPECT_THAT(refusal_of(log), HasSubstr("digest 1: algorithm id 0xb appears twice"));
}

TEST(EventLogRefusal, BanksInTheOtherOrderAreTheSameLog) {
  // The spec does not order the digests; a log listing SHA-384 first reads the same.
  std::vector<uint8_t> log = sample_log();
  auto expected = parse_event_log(log);
  ASSERT_TRUE(expected.ok());
  std::vector<uint8_t> swapped(log.begin(), log.begin() + kFirst);
  poke<uint16_t>(swapped, kSpecFirstAlgorithm, kAlgSha384);
  poke<uint16_t>(swapped, kSpecFirstAlgorithm + 2, 48);
  poke<uint16_t>(swapped, kSpecFirstAlgorithm + 4, kAlgSha256);
  poke<uint16_t>(swapped, kSpecFirstAlgorithm + 6, 32);
  for (const Event& event : *expected) {
    auto put = [&](auto value) {
      const auto* p = reinterpret_cast<const uint8_t*>(&value);
      swapped.insert(swapped.end(), p, p + sizeof(value));
    };
    put(event.pcr);
    put(static_cast<uint32_t>(event.type));
    put(uint32_t{2});
    put(kAlgSha384);
    swapped.insert(swapped.end(), event.digests.sha384.begin(), event.digests.sha384.end());
    put(kAlgSha256);
    swapped.insert(swapped.end(), event.digests.sha256.begin(), event.digests.sha256.end());
    put(static_cast<uint32_t>(event.data.size()));
    swapped.insert(swapped.end(), event.data.begin(), event.data.end());
  }
  auto events = parse_event_log(swapped);
  ASSERT_TRUE(events.ok()) << events.error().message();
  EXPECT_EQ(*events, *expected);
}

TEST(EventLogRefusal, SizesPastTheEnd) {
  std::vector<uint8_t> log = sample_log();
  poke<uint32_t>(log, kFirst + kEventSize, 60000);  // below the limit, past the end
  EXPECT_THAT(refusal_of(log), HasSubstr("event 1 at offset 69: event data (60000 bytes at offset 169) runs past the end"));
  log = sample_log();
  poke<uint32_t>(log, 28, 0xFFFFFFFF);  // the Spec ID event's size
  EXPECT_THAT(refusal_of(log), HasSubstr("header Spec ID event (4294967295 bytes at offset 32) runs past the end"));
}

TEST(EventLogRefusal, EveryCutInsideAnEventIsRefused) {
  const std::vector<uint8_t> log = sample_log();
  auto whole = parse_event_log(log);
  ASSERT_TRUE(whole.ok());
  std::vector<size_t> boundaries = {kHeaderBytes};
  for (const Event& event : *whole) boundaries.push_back(boundaries.back() + 100 + event.data.size());
  ASSERT_EQ(boundaries.back(), log.size());
  for (size_t cut = 0; cut < log.size(); ++cut) {
    const std::vector<uint8_t> prefix(log.begin(), log.begin() + cut);
    auto events = parse_event_log(prefix);
    const auto at = std::find(boundaries.begin(), boundaries.end(), cut);
    if (at == boundaries.end()) {
      EXPECT_FALSE(events.ok()) << "a log cut at " << cut << " bytes was accepted";
    } else {
      ASSERT_TRUE(events.ok()) << cut << ": " << events.error().message();
      EXPECT_EQ(events->size(), static_cast<size_t>(at - boundaries.begin()));
    }
  }
}

TEST(EventLogRefusal, PcrIndexAbove23) {
  std::vector<uint8_t> log = sample_log();
  poke<uint32_t>(log, kFirst, 24);
  EXPECT_THAT(refusal_of(log), HasSubstr("event 1 at offset 69: PCR index 24 is above 23"));
  poke<uint32_t>(log, kFirst, 0xFFFFFFFF);
  EXPECT_THAT(refusal_of(log), HasSubstr("PCR index 4294967295 is above 23"));
}

TEST(EventLogRefusal, AbsurdEventSize) {
  std::vector<uint8_t> log = sample_log();
  poke<uint32_t>(log, kFirst + kEventSize, 0xFFFFFFFF);
  EXPECT_THAT(refusal_of(log), HasSubstr("event 1 at offset 69: event size 4294967295 is above the limit of 65536 bytes"));
  poke<uint32_t>(log, kFirst + kEventSize, 65537);
  EXPECT_THAT(refusal_of(log), HasSubstr("event size 65537 is above the limit"));
}

TEST(EventLogRefusal, TrailingGarbage) {
  std::vector<uint8_t> log = sample_log();
  log.insert(log.end(), {1, 2, 3, 4, 5});
  EXPECT_THAT(refusal_of(log), HasSubstr("5 trailing bytes after event 6, too few for an event"));
  log = sample_log();
  log.resize(log.size() + 100, 0);  // zero padding, as in a firmware's log area
  EXPECT_THAT(refusal_of(log), HasSubstr("event 7 at offset"));
  EXPECT_THAT(refusal_of(log), HasSubstr("digest count 0 differs"));
}

TEST(EventLogRefusal, EventTypesTheLaunchDoesNotWrite) {
  std::vector<uint8_t> log = sample_log();
  poke<uint32_t>(log, kFirst + 4, 3);
  EXPECT_THAT(refusal_of(log), HasSubstr("event 1 at offset 69: EV_NO_ACTION after the header"));
  poke<uint32_t>(log, kFirst + 4, 0x80000002);  // EV_EFI_VARIABLE_BOOT
  EXPECT_THAT(refusal_of(log), HasSubstr("event type 0x80000002 is not one a Bulwark launch writes"));
}

TEST(EventLogRefusal, TaggedEventSizeThatLies) {
  std::vector<uint8_t> log = sample_log();
  // The initrd event (the second) is EV_EVENT_TAG: its taggedEventDataSize claims a byte more.
  const size_t second = kFirst + 100 + 7;
  poke<uint32_t>(log, second + 100 + 4, 14);
  EXPECT_THAT(refusal_of(log), HasSubstr("event 2 at offset 176: EV_EVENT_TAG: tagged event data size 14 does not match the 13 bytes"));
}

TEST(EventLogRefusal, MoreEventsThanTheLimit) {
  EventLogWriter writer;
  for (size_t i = 0; i < kMaxEvents; ++i) ASSERT_TRUE(writer.add_digests(10, EventType::kAction, {}, Digests{}).ok());
  std::vector<uint8_t> log = writer.bytes();
  // One more event, copied from the last.
  const std::vector<uint8_t> last(log.end() - 100, log.end());
  log.insert(log.end(), last.begin(), last.end());
  EXPECT_THAT(refusal_of(log), HasSubstr("more than 4096 events"));
}

}  // namespace
}  // namespace bulwark::attestation
