// The link to swtpm against a fake peer on a socketpair: a whole response read in pieces, a
// peer that never answers (the deadline), one that hangs up, one that lies about the size.
#include "monitor/tpm/swtpm_link.h"

#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace bulwark::tpm {
namespace {

using namespace std::chrono_literals;

struct Pair {
  UniqueFd ours, peer;
};

Pair make_pair() {
  int fds[2];
  EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
  return {UniqueFd(fds[0]), UniqueFd(fds[1])};
}

const std::vector<uint8_t> kCommand = {0x80, 0x01, 0, 0, 0, 0x0c, 0, 0, 0x01, 0x7b, 0x00, 0x10};

TEST(SwtpmLink, ReadsAWholeResponseSentInPieces) {
  Pair p = make_pair();
  std::thread peer([&p] {
    std::vector<uint8_t> got(kCommand.size());
    ASSERT_EQ(::read(p.peer.get(), got.data(), got.size()), static_cast<ssize_t>(got.size()));
    EXPECT_EQ(got, kCommand);
    const uint8_t part1[] = {0x80, 0x01, 0, 0};
    const uint8_t part2[] = {0, 0x0e, 0, 0, 0, 0, 0, 2, 0xab, 0xcd};
    ASSERT_EQ(::write(p.peer.get(), part1, sizeof part1), 4);
    std::this_thread::sleep_for(20ms);
    ASSERT_EQ(::write(p.peer.get(), part2, sizeof part2), 10);
  });
  SwtpmLink link(std::move(p.ours), 2000ms);
  auto response = link.transact(kCommand, 4096);
  peer.join();
  ASSERT_TRUE(response.ok()) << response.error().message();
  EXPECT_EQ(response->size(), 14u);
  EXPECT_EQ(response->back(), 0xcd);
}

TEST(SwtpmLink, AStuckPeerFailsAtTheDeadline) {
  Pair p = make_pair();
  SwtpmLink link(std::move(p.ours), 200ms);
  const auto start = std::chrono::steady_clock::now();
  auto response = link.transact(kCommand, 4096);
  EXPECT_FALSE(response.ok());
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
  EXPECT_NE(response.error().message().find("in time"), std::string::npos) << response.error().message();
}

TEST(SwtpmLink, APeerThatHangsUpFails) {
  Pair p = make_pair();
  p.peer.reset();
  SwtpmLink link(std::move(p.ours), 2000ms);
  EXPECT_FALSE(link.transact(kCommand, 4096).ok());
}

TEST(SwtpmLink, AnOversizedResponseIsRefusedBeforeItsBodyIsRead) {
  Pair p = make_pair();
  const uint8_t header[] = {0x80, 0x01, 0x00, 0x10, 0, 0, 0, 0, 0, 0};  // 1 MiB
  ASSERT_EQ(::write(p.peer.get(), header, sizeof header), 10);
  SwtpmLink link(std::move(p.ours), 2000ms);
  auto response = link.transact(kCommand, 4096);
  ASSERT_FALSE(response.ok());
  EXPECT_NE(response.error().message().find("exceeds"), std::string::npos) << response.error().message();
}

}  // namespace
}  // namespace bulwark::tpm
