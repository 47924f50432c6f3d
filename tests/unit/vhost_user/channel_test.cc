// The vhost-user socket transport against a hostile or clumsy peer: messages arriving in
// pieces, a peer that hangs up mid-message, too many fds, oversize payloads; and the strict
// parsers' refusals that codec_test.cc does not cover (extra fds, padded tables, names).
#include <dirent.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cstring>
#include <string>
#include <thread>

#include "devices/vhost_user/channel.h"
#include "devices/vhost_user/protocol.h"

namespace bulwark::vhost_user {
namespace {

class ChannelTest : public ::testing::Test {
 protected:
  void SetUp() override {
    int pair[2];
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair), 0);
    sender_.reset(pair[0]);
    receiver_.reset(pair[1]);
  }
  void send_raw(std::span<const uint8_t> bytes) {
    ASSERT_EQ(::write(sender_.get(), bytes.data(), bytes.size()), static_cast<ssize_t>(bytes.size()));
  }
  // Raw bytes with `count` eventfds attached, bypassing send_message's own limits.
  void send_with_fds(std::span<const uint8_t> bytes, size_t count) {
    std::vector<UniqueFd> fds;
    for (size_t i = 0; i < count; ++i) fds.emplace_back(::eventfd(0, EFD_CLOEXEC));
    std::vector<char> control(CMSG_SPACE(sizeof(int) * count));
    iovec io{const_cast<uint8_t*>(bytes.data()), bytes.size()};
    msghdr header{};
    header.msg_iov = &io;
    header.msg_iovlen = 1;
    header.msg_control = control.data();
    header.msg_controllen = control.size();
    cmsghdr* c = CMSG_FIRSTHDR(&header);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int) * count);
    for (size_t i = 0; i < count; ++i) {
      const int fd = fds[i].get();
      std::memcpy(CMSG_DATA(c) + i * sizeof(int), &fd, sizeof(int));
    }
    ASSERT_EQ(::sendmsg(sender_.get(), &header, 0), static_cast<ssize_t>(bytes.size()));
  }
  UniqueFd sender_, receiver_;
};

std::vector<uint8_t> header_bytes(uint32_t request, uint32_t flags, uint32_t size) {
  std::vector<uint8_t> bytes(12);
  std::memcpy(bytes.data(), &request, 4);
  std::memcpy(bytes.data() + 4, &flags, 4);
  std::memcpy(bytes.data() + 8, &size, 4);
  return bytes;
}

size_t open_fd_count() {
  size_t count = 0;
  DIR* dir = ::opendir("/proc/self/fd");
  if (dir == nullptr) return 0;
  while (::readdir(dir) != nullptr) ++count;
  ::closedir(dir);
  return count;
}

bool mentions(const Error& error, const std::string& text) { return error.message().find(text) != std::string::npos; }

TEST_F(ChannelTest, AMessageArrivingInPiecesIsReassembled) {
  std::vector<uint8_t> bytes = header_bytes(static_cast<uint32_t>(Request::SET_FEATURES), kVersion1, 8);
  const uint64_t features = 0x1'0000'0001ull;
  bytes.resize(20);
  std::memcpy(bytes.data() + 12, &features, 8);
  std::thread trickle([&] {
    for (uint8_t byte : bytes) {
      ASSERT_EQ(::write(sender_.get(), &byte, 1), 1);
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  });
  auto received = receive_message(receiver_.get());
  trickle.join();
  ASSERT_TRUE(received.ok()) << received.error().message();
  EXPECT_EQ(received->request, static_cast<uint32_t>(Request::SET_FEATURES));
  EXPECT_EQ(*parse_u64(*received), features);
}

TEST_F(ChannelTest, APeerThatHangsUpMidPayloadIsAnErrorNotAMessage) {
  std::vector<uint8_t> bytes = header_bytes(static_cast<uint32_t>(Request::SET_VRING_ADDR), kVersion1, 40);
  bytes.resize(12 + 16);  // 16 of the 40 payload bytes
  send_raw(bytes);
  sender_.reset();
  auto received = receive_message(receiver_.get());
  ASSERT_FALSE(received.ok());
  EXPECT_TRUE(mentions(received.error(), "closed mid-message")) << received.error().message();
}

TEST_F(ChannelTest, APeerThatHangsUpMidHeaderIsAnErrorNotAMessage) {
  const uint8_t partial[7] = {1, 0, 0, 0, 1, 0, 0};
  send_raw(partial);
  sender_.reset();
  auto received = receive_message(receiver_.get());
  ASSERT_FALSE(received.ok());
  EXPECT_TRUE(mentions(received.error(), "closed mid-message")) << received.error().message();
}

TEST_F(ChannelTest, AHangUpBetweenMessagesSaysClosed) {
  sender_.reset();
  auto received = receive_message(receiver_.get());
  ASSERT_FALSE(received.ok());
  EXPECT_TRUE(mentions(received.error(), "closed")) << received.error().message();
  EXPECT_FALSE(mentions(received.error(), "mid-message")) << received.error().message();
}

TEST_F(ChannelTest, TheLargestPayloadPassesAndOneByteMoreIsRefusedOnBothSides) {
  std::vector<uint8_t> largest(kMaxPayload, 0xab);
  ASSERT_TRUE(send_message(sender_.get(), make_request(Request::SET_CONFIG, largest)).ok());
  auto received = receive_message(receiver_.get());
  ASSERT_TRUE(received.ok()) << received.error().message();
  EXPECT_EQ(received->payload, largest);

  largest.push_back(0);
  EXPECT_FALSE(send_message(sender_.get(), make_request(Request::SET_CONFIG, largest)).ok());
  send_raw(header_bytes(static_cast<uint32_t>(Request::SET_CONFIG), kVersion1, kMaxPayload + 1));
  // With a deadline: a receiver that took the size would wait for a payload never sent, and
  // the test must then fail by itself, not by CTest's timeout.
  auto refused = receive_message_within(receiver_.get(), std::chrono::seconds(5));
  ASSERT_FALSE(refused.ok());
  EXPECT_TRUE(mentions(refused.error(), "SET_CONFIG")) << refused.error().message();
  // A size that would wrap a 32-bit addition is refused the same way, without allocating it.
  send_raw(header_bytes(static_cast<uint32_t>(Request::SET_CONFIG), kVersion1, 0xffffffffu));
  EXPECT_FALSE(receive_message(receiver_.get()).ok());
}

TEST_F(ChannelTest, MoreThanEightFdsAreRefusedAndNoneLeak) {
  const size_t before = open_fd_count();
  const std::vector<uint8_t> bytes = header_bytes(static_cast<uint32_t>(Request::SET_MEM_TABLE), kVersion1, 0);
  send_with_fds(bytes, kMaxFds + 1);
  auto received = receive_message(receiver_.get());
  ASSERT_FALSE(received.ok());
  EXPECT_TRUE(mentions(received.error(), "fds")) << received.error().message();
  EXPECT_EQ(open_fd_count(), before) << "fds received with a refused message must be closed";
}

TEST_F(ChannelTest, EightFdsArriveWithTheirMessage) {
  const std::vector<uint8_t> bytes = header_bytes(static_cast<uint32_t>(Request::SET_MEM_TABLE), kVersion1, 0);
  send_with_fds(bytes, kMaxFds);
  auto received = receive_message(receiver_.get());
  ASSERT_TRUE(received.ok()) << received.error().message();
  EXPECT_EQ(received->fds.size(), kMaxFds);
  for (const UniqueFd& fd : received->fds) EXPECT_TRUE(fd.valid());
}

TEST_F(ChannelTest, SendRefusesMoreFdsThanTheProtocolCarries) {
  Message message = make_request(Request::SET_MEM_TABLE);
  for (size_t i = 0; i <= kMaxFds; ++i) message.fds.emplace_back(::eventfd(0, EFD_CLOEXEC));
  EXPECT_FALSE(send_message(sender_.get(), message).ok());
}

TEST_F(ChannelTest, SendingToAPeerThatHungUpIsAnErrorNotASignal) {
  receiver_.reset();
  // MSG_NOSIGNAL: EPIPE comes back as an error instead of killing the process.
  Status sent = send_message(sender_.get(), make_u64_request(Request::SET_FEATURES, 1));
  EXPECT_FALSE(sent.ok());
}

// Parser refusals a hostile peer could try, beyond codec_test.cc.
Message memory_table(uint32_t count, size_t regions_on_wire, size_t fds) {
  std::vector<MemoryRegion> regions(regions_on_wire, MemoryRegion{0, 0x1000, 0x7000'0000, 0});
  for (size_t i = 0; i < regions.size(); ++i) regions[i].guest_phys_addr = i * 0x1000;
  std::vector<UniqueFd> fd_list;
  for (size_t i = 0; i < fds; ++i) fd_list.emplace_back(::eventfd(0, EFD_CLOEXEC));
  Message message = make_memory_table_request(regions, std::move(fd_list));
  std::memcpy(message.payload.data(), &count, 4);
  return message;
}

TEST(MemoryTableParser, APaddedTableIsReadUpToItsCount) {
  auto table = parse_memory_table(memory_table(2, kMaxMemoryRegions, 2));
  ASSERT_TRUE(table.ok()) << table.error().message();
  EXPECT_EQ(table->size(), 2u);
  EXPECT_EQ((*table)[1].guest_phys_addr, 0x1000u);
}

TEST(MemoryTableParser, RefusesExtraOrMissingFdsAndOddSizes) {
  auto extra = parse_memory_table(memory_table(2, 2, 3));
  ASSERT_FALSE(extra.ok());
  EXPECT_TRUE(mentions(extra.error(), "SET_MEM_TABLE")) << extra.error().message();
  EXPECT_FALSE(parse_memory_table(memory_table(2, 2, 1)).ok()) << "a region without its fd";
  EXPECT_FALSE(parse_memory_table(memory_table(2, 3, 2)).ok()) << "neither exact nor padded";
  EXPECT_FALSE(parse_memory_table(memory_table(3, 2, 3)).ok()) << "count beyond the regions sent";
  EXPECT_FALSE(parse_memory_table(memory_table(0, 0, 0)).ok()) << "no regions";
  EXPECT_FALSE(parse_memory_table(memory_table(9, kMaxMemoryRegions, 8)).ok()) << "more than 8";
  EXPECT_FALSE(parse_memory_table(make_request(Request::SET_MEM_TABLE)).ok()) << "no header";
}

TEST(PayloadParsers, RefuseFdsTheRequestDoesNotCarry) {
  Message state = make_vring_state_request(Request::SET_VRING_NUM, {0, 256});
  state.fds.emplace_back(::eventfd(0, EFD_CLOEXEC));
  EXPECT_FALSE(parse_vring_state(state).ok());
  Message address = make_vring_address_request({});
  address.fds.emplace_back(::eventfd(0, EFD_CLOEXEC));
  EXPECT_FALSE(parse_vring_address(address).ok());
  Message config = make_config_request(Request::GET_CONFIG, {0, 4, 0, {0, 0, 0, 0}});
  config.fds.emplace_back(::eventfd(0, EFD_CLOEXEC));
  EXPECT_FALSE(parse_device_config(config).ok());
  Message no_fd_but_fd = make_vring_fd_request(Request::SET_VRING_CALL, 0, UniqueFd());
  no_fd_but_fd.fds.emplace_back(::eventfd(0, EFD_CLOEXEC));
  auto refused = parse_vring_fd(no_fd_but_fd);
  ASSERT_FALSE(refused.ok());
  EXPECT_TRUE(mentions(refused.error(), "SET_VRING_CALL")) << refused.error().message();
}

TEST(PayloadParsers, RefuseOversizePayloadsNamingTheRequest) {
  const std::vector<uint8_t> nine(9);
  auto u64 = parse_u64(make_request(Request::SET_PROTOCOL_FEATURES, nine));
  ASSERT_FALSE(u64.ok());
  EXPECT_TRUE(mentions(u64.error(), "SET_PROTOCOL_FEATURES")) << u64.error().message();
  EXPECT_FALSE(parse_vring_state(make_request(Request::SET_VRING_BASE, nine)).ok());
  EXPECT_FALSE(parse_vring_fd(make_request(Request::SET_VRING_KICK, nine)).ok());
  const std::vector<uint8_t> forty_one(41);
  EXPECT_FALSE(parse_vring_address(make_request(Request::SET_VRING_ADDR, forty_one)).ok());
  Message config = make_config_request(Request::SET_CONFIG, {0, 4, 0, {1, 2, 3, 4, 5}});
  EXPECT_FALSE(parse_device_config(config).ok()) << "more bytes than its size field";
  EXPECT_FALSE(parse_device_config(make_request(Request::GET_CONFIG, nine)).ok()) << "short header";
}

TEST(PayloadParsers, TheLastConfigByteIsInRangeAndOnePastIsNot) {
  EXPECT_TRUE(parse_device_config(make_config_request(Request::SET_CONFIG, {255, 1, 0, {7}})).ok());
  EXPECT_FALSE(parse_device_config(make_config_request(Request::SET_CONFIG, {256, 1, 0, {7}})).ok());
  EXPECT_FALSE(parse_device_config(make_config_request(Request::SET_CONFIG, {0xffffffffu, 1, 0, {7}})).ok());
}

TEST(RequestNames, NameKnownRequestsAndDoNotInventOthers) {
  EXPECT_STREQ(request_name(5), "SET_MEM_TABLE");
  EXPECT_STREQ(request_name(37), "ADD_MEM_REG");
  EXPECT_STREQ(request_name(0), "unknown request");
  EXPECT_STREQ(request_name(0xffffffffu), "unknown request");
}

TEST(Replies, CheckReplyToWantsTheSameRequestTheReplyFlagAndVersionOne) {
  const Message request = make_request(Request::GET_FEATURES);
  Message reply = make_u64_reply(request, 3);
  EXPECT_TRUE(check_reply_to(Request::GET_FEATURES, reply).ok());
  reply.flags = kReplyFlag;  // version 0
  EXPECT_FALSE(check_reply_to(Request::GET_FEATURES, reply).ok());
  reply.flags = kVersion1 | kReplyFlag | 0x10;  // an unknown flag
  EXPECT_FALSE(check_reply_to(Request::GET_FEATURES, reply).ok());
}

}  // namespace
}  // namespace bulwark::vhost_user
