// What the launcher writes is what a verifier reads back: each launch input's event with its PCR,
// type, data and digests of the measured bytes; the writer refuses what the parser would.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "attestation/event_log_parser.h"
#include "attestation_test_log.h"

namespace bulwark::attestation {
namespace {

using ::testing::HasSubstr;
using testing::sample_log;
using testing::text_bytes;

TEST(EventLog, StartsWithTheSpecIdHeader) {
  const std::vector<uint8_t> log = EventLogWriter().bytes();
  ASSERT_EQ(log.size(), testing::kHeaderBytes);
  EXPECT_EQ(log[4], 3);  // EV_NO_ACTION
  EXPECT_EQ(std::string(log.begin() + 32, log.begin() + 47), "Spec ID Event03");
  EXPECT_EQ(log[testing::kSpecAlgorithmCount], 2);
  EXPECT_EQ(log[testing::kSpecFirstAlgorithm], 0x0B);      // SHA-256
  EXPECT_EQ(log[testing::kSpecFirstAlgorithm + 2], 32);
  EXPECT_EQ(log[testing::kSpecFirstAlgorithm + 4], 0x0C);  // SHA-384
  EXPECT_EQ(log[testing::kSpecFirstAlgorithm + 6], 48);
  auto events = parse_event_log(log);
  ASSERT_TRUE(events.ok()) << events.error().message();
  EXPECT_TRUE(events->empty());
}

TEST(EventLog, RoundTripsTheLaunchEvents) {
  auto events = parse_event_log(sample_log());
  ASSERT_TRUE(events.ok()) << events.error().message();
  ASSERT_EQ(events->size(), 6u);

  const Event& kernel = (*events)[0];
  EXPECT_EQ(kernel.pcr, 9u);
  EXPECT_EQ(kernel.type, EventType::kIpl);
  EXPECT_EQ(kernel.data, text_bytes(std::string_view("kernel\0", 7)));
  EXPECT_EQ(kernel.digests, *measure(text_bytes("a kernel image")));

  const Event& initrd = (*events)[1];
  EXPECT_EQ(initrd.pcr, 9u);
  EXPECT_EQ(initrd.type, EventType::kEventTag);
  auto tagged = parse_tagged_event(initrd.data);
  ASSERT_TRUE(tagged.ok());
  EXPECT_EQ(tagged->tag, 0x8F3B22EDu);
  EXPECT_EQ(tagged->data, text_bytes(std::string_view("Linux initrd\0", 13)));
  EXPECT_EQ(initrd.digests, *measure(text_bytes("an initrd")));

  const Event& command_line = (*events)[2];
  EXPECT_EQ(command_line.pcr, 9u);
  EXPECT_EQ(command_line.type, EventType::kIpl);
  EXPECT_EQ(command_line.data, text_bytes(std::string_view("kernel_cmdline: console=ttyS0 root=/dev/vda ro\0", 47)));
  // The digest is of the command line alone, as GRUB measures it.
  EXPECT_EQ(command_line.digests, *measure(text_bytes("console=ttyS0 root=/dev/vda ro")));

  for (size_t i = 3; i < 6; ++i) {
    EXPECT_EQ((*events)[i].pcr, 15u);
    EXPECT_EQ((*events)[i].type, EventType::kEventTag);
    auto item = parse_tagged_event((*events)[i].data);
    ASSERT_TRUE(item.ok());
    EXPECT_EQ(item->tag, kBulwarkIsolationTag);
  }
  EXPECT_EQ(parse_tagged_event((*events)[4].data)->data, text_bytes(std::string_view("selinux dev-blk\0", 16)));
  EXPECT_EQ((*events)[4].digests, *measure(text_bytes("system_u:system_r:bulwark_dev_t:s0:c1,c2")));
}

TEST(EventLog, PrecomputedDigestsAreWrittenAsGiven) {
  EventLogWriter log;
  Digests given;
  given.sha256.fill(0xAB);
  given.sha384.fill(0xCD);
  auto written = log.add_digests(4, EventType::kSeparator, std::vector<uint8_t>(4, 0), given);
  ASSERT_TRUE(written.ok());
  EXPECT_EQ(*written, given);
  auto events = parse_event_log(log.bytes());
  ASSERT_TRUE(events.ok()) << events.error().message();
  ASSERT_EQ(events->size(), 1u);
  EXPECT_EQ((*events)[0].digests, given);
  EXPECT_EQ((*events)[0].type, EventType::kSeparator);
}

TEST(EventLog, MeasureMatchesKnownDigests) {
  auto abc = measure(text_bytes("abc"));
  ASSERT_TRUE(abc.ok());
  // FIPS 180-2's "abc" examples.
  EXPECT_EQ(abc->sha256[0], 0xBA);
  EXPECT_EQ(abc->sha256[31], 0xAD);
  EXPECT_EQ(abc->sha384[0], 0xCB);
  EXPECT_EQ(abc->sha384[47], 0xA7);
}

TEST(EventLogWriter, RefusesWhatTheParserWouldRefuse) {
  EventLogWriter log;
  const std::vector<uint8_t> data(4, 0);
  auto pcr = log.add(24, EventType::kIpl, data, data);
  ASSERT_FALSE(pcr.ok());
  EXPECT_THAT(pcr.error().message(), HasSubstr("PCR index 24 is above 23"));
  auto no_action = log.add(9, EventType::kNoAction, data, data);
  ASSERT_FALSE(no_action.ok());
  EXPECT_THAT(no_action.error().message(), HasSubstr("EV_NO_ACTION after the header"));
  auto unknown = log.add(9, static_cast<EventType>(0x80000001), data, data);
  ASSERT_FALSE(unknown.ok());
  EXPECT_THAT(unknown.error().message(), HasSubstr("event type 0x80000001 is not one a Bulwark launch writes"));
  auto big = log.add(9, EventType::kIpl, std::vector<uint8_t>(kMaxEventDataBytes + 1), data);
  ASSERT_FALSE(big.ok());
  EXPECT_THAT(big.error().message(), HasSubstr("above the limit of 65536 bytes"));
  auto bad_tag = log.add(9, EventType::kEventTag, data, data);
  ASSERT_FALSE(bad_tag.ok());
  EXPECT_THAT(bad_tag.error().message(), HasSubstr("shorter than its 8-byte tagged event header"));
  auto nul = measure_command_line(log, std::string_view("a\0b", 3));
  ASSERT_FALSE(nul.ok());
  EXPECT_THAT(nul.error().message(), HasSubstr("contains a NUL"));
  auto unnamed = measure_isolation_item(log, "", data);
  ASSERT_FALSE(unnamed.ok());
  EXPECT_THAT(unnamed.error().message(), HasSubstr("isolation item name"));
  // None of the refused events reached the log.
  EXPECT_EQ(log.event_count(), 0u);
  EXPECT_EQ(log.bytes(), EventLogWriter().bytes());
}

TEST(EventLogWriter, StopsAtTheEventLimit) {
  EventLogWriter log;
  const std::vector<uint8_t> none;
  for (size_t i = 0; i < kMaxEvents; ++i)
    ASSERT_TRUE(log.add_digests(10, EventType::kAction, none, Digests{}).ok());
  auto over = log.add_digests(10, EventType::kAction, none, Digests{});
  ASSERT_FALSE(over.ok());
  EXPECT_THAT(over.error().message(), HasSubstr("already has 4096 events"));
  auto events = parse_event_log(log.bytes());
  ASSERT_TRUE(events.ok()) << events.error().message();
  EXPECT_EQ(events->size(), kMaxEvents);
}

}  // namespace
}  // namespace bulwark::attestation
