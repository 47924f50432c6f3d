// Replay gives the PCR values a TPM that saw the same extends holds: checked against values
// computed by hand (Python's hashlib: H(0...0 || H("abc")), then H(that || H("def"))).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdio>

#include "attestation/event_log_parser.h"
#include "attestation/pcr_replay.h"
#include "attestation_test_log.h"

namespace bulwark::attestation {
namespace {

using testing::digest_hex;
using testing::text_bytes;

TEST(PcrReplay, MatchesHandComputedValues) {
  EventLogWriter writer;
  ASSERT_TRUE(writer.add(9, EventType::kIpl, text_bytes("one"), text_bytes("abc")).ok());
  ASSERT_TRUE(writer.add(15, EventType::kAction, text_bytes("x"), text_bytes("abc")).ok());
  ASSERT_TRUE(writer.add(9, EventType::kIpl, text_bytes("two"), text_bytes("def")).ok());
  auto events = parse_event_log(writer.bytes());
  ASSERT_TRUE(events.ok()) << events.error().message();
  auto pcrs = replay_pcrs(*events);
  ASSERT_TRUE(pcrs.ok()) << pcrs.error().message();

  EXPECT_EQ(digest_hex(pcrs->sha256[9]), "f191db04b526f1e7a178d5da326687c0b27b531fbabde4f555ca7fdd6a239964");
  EXPECT_EQ(digest_hex(pcrs->sha384[9]),
            "c138bc0d993f7bcf76a109b56451f955580eba49e5b9b8a5a8655cdc54239a4e6ef931f15c4909459132b8f4b73d31a5");
  EXPECT_EQ(digest_hex(pcrs->sha256[15]), "589f9ffed4c477966bfb8d41f37895b08c69047df8f911d6f3b57fbe08faee8d");
  EXPECT_EQ(digest_hex(pcrs->sha384[15]),
            "93732e3733514a841c982cfa75ea76ab55fe011acb9cd980ef4523913c65be1b0998e04d77f8c174f81a82151619ca40");
  EXPECT_EQ(pcrs->extended.to_ulong(), (1ul << 9) | (1ul << 15));
  EXPECT_EQ(pcrs->sha256[0], Sha256{});  // untouched PCRs stay zero
}

TEST(PcrReplay, OrderMatters) {
  EventLogWriter forward, backward;
  ASSERT_TRUE(forward.add(9, EventType::kIpl, {}, text_bytes("abc")).ok());
  ASSERT_TRUE(forward.add(9, EventType::kIpl, {}, text_bytes("def")).ok());
  ASSERT_TRUE(backward.add(9, EventType::kIpl, {}, text_bytes("def")).ok());
  ASSERT_TRUE(backward.add(9, EventType::kIpl, {}, text_bytes("abc")).ok());
  auto a = replay_pcrs(*parse_event_log(forward.bytes()));
  auto b = replay_pcrs(*parse_event_log(backward.bytes()));
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(a->sha256[9], b->sha256[9]);
  EXPECT_NE(a->sha384[9], b->sha384[9]);
}

TEST(PcrReplay, RefusesAnEventOutsideThePcrs) {
  std::vector<Event> events(1);
  events[0].pcr = 24;
  auto pcrs = replay_pcrs(events);
  ASSERT_FALSE(pcrs.ok());
  EXPECT_THAT(pcrs.error().message(), ::testing::HasSubstr("PCR index 24 is above 23"));
}

}  // namespace
}  // namespace bulwark::attestation
