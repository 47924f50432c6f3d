// The launcher's replies as bulwark-api decodes them: they round trip, and a reply with a status
// the API does not answer with, an unknown body kind or terminal controls in its body is refused.
#include <gtest/gtest.h>

#include <string>

#include "api/command/command.h"
#include "command_examples.h"
#include "message_builder.h"

namespace bulwark::api {
namespace {

using test::MessageBuilder;

// The largest body that fits: the message header, two u64 fields and the body's field header.
constexpr size_t kLargestBody = kMaxMessageBytes - 6 - 14 - 14 - 6;

TEST(ApiReply, RoundTrips) {
  std::vector<Reply> replies;
  for (const auto& example : test::reply_examples()) replies.push_back(example.reply);
  for (uint16_t status : {200, 204, 400, 404, 405, 408, 409, 413, 500, 501, 503, 504})
    replies.push_back(Reply{status, Reply::Body::kFault, "status " + std::to_string(status)});
  replies.push_back(Reply{200, Reply::Body::kJson, std::string(kLargestBody, 'j')});
  replies.push_back(Reply{200, Reply::Body::kPrometheus, "a\tb\nc \xe2\x82\xac\n"});
  for (const Reply& reply : replies) {
    SCOPED_TRACE(reply.status);
    const auto bytes = encode_reply(reply);
    EXPECT_LE(bytes.size(), kMaxMessageBytes);
    auto decoded = decode_reply(bytes);
    ASSERT_TRUE(decoded.ok()) << decoded.error().message();
    EXPECT_EQ(*decoded, reply);
    EXPECT_EQ(encode_reply(*decoded), bytes);
  }
}

TEST(ApiReply, BytesAreTheDocumentedLayout) {
  const std::vector<uint8_t> expected = {
      'B', 'W', 'R', '1', 0, 0,                              //
      1,   0,   8,   0,   0, 0, 0x94, 1,  0, 0, 0, 0, 0, 0,  // 404
      2,   0,   8,   0,   0, 0, 3,    0,  0, 0, 0, 0, 0, 0,  // fault
      3,   0,   2,   0,   0, 0, 'n',  'o'};
  EXPECT_EQ(encode_reply(Reply{404, Reply::Body::kFault, "no"}), expected);
}

MessageBuilder reply(uint64_t status, uint64_t body_kind, std::string_view body) {
  return MessageBuilder::reply().u64(1, status).u64(2, body_kind).text(3, body);
}

TEST(ApiReply, RefusesWhatTheLauncherMustNotSend) {
  struct Case {
    const char* name;
    std::vector<uint8_t> bytes;
    std::string error;
  };
  const std::vector<Case> cases = {
      {"command magic", MessageBuilder("BWC1", 0).bytes(), "reply: wrong magic, expected BWR1"},
      {"short", std::vector<uint8_t>{'B', 'W', 'R'},
       "reply: 3 bytes, shorter than the 6-byte header"},
      {"nonzero kind", MessageBuilder("BWR1", 1).bytes(), "reply: kind 1, must be 0"},
      {"missing status", MessageBuilder::reply().bytes(), "Reply.status: missing"},
      {"missing body", MessageBuilder::reply().u64(1, 204).u64(2, 0).bytes(),
       "Reply.body: missing"},
      {"status 302", reply(302, 0, "").bytes(),
       "Reply.status: 302 is not a status the API answers with"},
      {"status 0", reply(0, 0, "").bytes(), "Reply.status: 0, must be 100..599"},
      {"status 65736 (wraps to 200 in u16)", reply(65736, 0, "").bytes(),
       "Reply.status: 65736, must be 100..599"},
      {"body kind 4", reply(200, 4, "{}").bytes(), "Reply.body_kind: 4, must be 0..3"},
      {"body with kind none", reply(204, 0, "x").bytes(),
       "Reply.body: 1 bytes with body_kind none"},
      {"NUL in the body", reply(400, 3, std::string("a\0b", 3)).bytes(),
       "Reply.body: byte 1 is a control character"},
      {"escape in the body", reply(400, 3, "\x1b]0;pwned\x07").bytes(),
       "Reply.body: byte 0 is a control character"},
      {"CR in the body", reply(200, 1, "{}\r\n").bytes(),
       "Reply.body: byte 2 is a control character"},
      {"invalid UTF-8 body", reply(200, 1, "\xff").bytes(),
       "Reply.body: byte 0 is not valid UTF-8"},
      {"unknown tag", reply(200, 1, "{}").u64(4, 1).bytes(), "Reply: unknown tag 4"},
      {"body one byte too long", reply(200, 1, std::string(kLargestBody + 1, 'j')).bytes(),
       "reply: " + std::to_string(kMaxMessageBytes + 1) + " bytes, at most " + std::to_string(kMaxMessageBytes)},
      {"hostile body length",
       MessageBuilder::reply().u64(1, 200).u64(2, 1).field_header(3, 0xffffffff).bytes(),
       "Reply.body: length 4294967295, only 0 bytes left"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    auto decoded = decode_reply(c.bytes);
    ASSERT_FALSE(decoded.ok());
    EXPECT_EQ(decoded.error().message(), c.error);
  }
}

// A command is never taken for a reply, nor a reply for a command.
TEST(ApiReply, CommandsAndRepliesDoNotMix) {
  EXPECT_FALSE(decode_reply(encode_command(InstanceStart{})).ok());
  EXPECT_FALSE(decode_command(encode_reply(Reply{})).ok());
}

}  // namespace
}  // namespace bulwark::api
