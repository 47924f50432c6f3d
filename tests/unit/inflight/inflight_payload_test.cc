// GET_INFLIGHT_FD / SET_INFLIGHT_FD's payload: QEMU's 24-byte layout both ways, and the
// refusals of a peer's out-of-range fields.
#include <sys/eventfd.h>

#include <gtest/gtest.h>

#include "devices/vhost_user/protocol.h"

namespace bulwark::vhost_user {
namespace {

UniqueFd some_fd() { return UniqueFd(::eventfd(0, EFD_CLOEXEC)); }

TEST(InflightPayload, RoundTripsAsQemuLaysItOut) {
  InflightDescription description{8320, 4096, 2, 256};
  Message message = make_inflight_message(Request::SET_INFLIGHT_FD, description, some_fd());
  ASSERT_EQ(message.payload.size(), 24u);
  EXPECT_EQ(message.payload[0], 0x80);  // 8320 = 0x2080, little endian
  EXPECT_EQ(message.payload[1], 0x20);
  EXPECT_EQ(message.payload[9], 0x10);  // 4096
  EXPECT_EQ(message.payload[16], 2);
  EXPECT_EQ(message.payload[19], 1);  // 256
  auto parsed = parse_inflight_description(message, 1);
  ASSERT_TRUE(parsed.ok()) << parsed.error().message();
  EXPECT_EQ(parsed->mmap_size, 8320u);
  EXPECT_EQ(parsed->mmap_offset, 4096u);
  EXPECT_EQ(parsed->num_queues, 2);
  EXPECT_EQ(parsed->queue_size, 256);
}

TEST(InflightPayload, QemusGetRequestWithZeroSizesIsAccepted) {
  Message message = make_inflight_message(Request::GET_INFLIGHT_FD, {0, 0, 1, 128});
  auto parsed = parse_inflight_description(message, 0);
  ASSERT_TRUE(parsed.ok()) << parsed.error().message();
  Message reply = make_inflight_reply(message, {4096, 0, 1, 128}, some_fd());
  EXPECT_TRUE(reply.is_reply());
  ASSERT_EQ(reply.fds.size(), 1u);
  EXPECT_TRUE(parse_inflight_description(reply, 1).ok());
}

struct Refusal {
  const char* name;
  InflightDescription description;
  bool with_fd;
  const char* message;
};

class InflightPayloadRefusal : public ::testing::TestWithParam<Refusal> {};

TEST_P(InflightPayloadRefusal, NamesTheField) {
  const Refusal& refusal = GetParam();
  Message message = make_inflight_message(refusal.with_fd ? Request::SET_INFLIGHT_FD : Request::GET_INFLIGHT_FD,
                                          refusal.description, refusal.with_fd ? some_fd() : UniqueFd());
  auto parsed = parse_inflight_description(message, refusal.with_fd ? 1 : 0);
  ASSERT_FALSE(parsed.ok());
  EXPECT_NE(parsed.error().message().find(refusal.message), std::string::npos) << parsed.error().message();
}

INSTANTIATE_TEST_SUITE_P(
    Cases, InflightPayloadRefusal,
    ::testing::Values(Refusal{"no_queues", {4096, 0, 0, 256}, true, "0 queues"},
                      Refusal{"too_many_queues", {4096, 0, 65, 256}, true, "65 queues"},
                      Refusal{"size_not_power_of_two", {4096, 0, 1, 100}, true, "queue size 100"},
                      Refusal{"size_zero", {4096, 0, 1, 0}, false, "queue size 0"},
                      Refusal{"record_empty", {0, 0, 1, 256}, true, "record of 0 bytes"},
                      Refusal{"record_huge", {uint64_t{1} << 40, 0, 1, 256}, true, "record of 1099511627776"},
                      Refusal{"offset_unaligned", {8192, 100, 1, 256}, true, "offset 100"}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(InflightPayload, WrongSizeOrFdCountIsRefused) {
  Message message = make_inflight_message(Request::SET_INFLIGHT_FD, {4096, 0, 1, 256});
  EXPECT_FALSE(parse_inflight_description(message, 1).ok());  // SET without its fd
  Message with_fd = make_inflight_message(Request::GET_INFLIGHT_FD, {0, 0, 1, 256}, some_fd());
  EXPECT_FALSE(parse_inflight_description(with_fd, 0).ok());  // GET with an fd
  Message short_payload = make_inflight_message(Request::GET_INFLIGHT_FD, {0, 0, 1, 256});
  short_payload.payload.resize(20);
  EXPECT_FALSE(parse_inflight_description(short_payload, 0).ok());
}

}  // namespace
}  // namespace bulwark::vhost_user
