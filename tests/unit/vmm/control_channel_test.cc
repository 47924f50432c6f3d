// The monitor's end of the control channel over a real SOCK_SEQPACKET socketpair: what the
// launcher's end sees.
#include "monitor/vmm/control_channel.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "bulwark/common/unique_fd.h"
#include "tests/unit/vmm/fake_vm_controls.h"

namespace bulwark::vmm {
namespace {

struct Pair {
  UniqueFd launcher;
  int monitor = -1;  // owned by the channel once adopted
};

Pair make_pair(int type = SOCK_SEQPACKET) {
  int fds[2];
  EXPECT_EQ(::socketpair(AF_UNIX, type | SOCK_CLOEXEC, 0, fds), 0);
  return Pair{UniqueFd(fds[0]), fds[1]};
}

short revents_of(int fd) {
  pollfd p{fd, POLLIN, 0};
  EXPECT_EQ(::poll(&p, 1, 1000), 1);
  return p.revents;
}

api::Reply read_reply(int fd) {
  std::vector<uint8_t> buffer(api::kMaxMessageBytes);
  const ssize_t n = ::read(fd, buffer.data(), buffer.size());
  EXPECT_GT(n, 0);
  auto reply = api::decode_reply(std::span<const uint8_t>(buffer.data(), n > 0 ? size_t(n) : 0));
  EXPECT_TRUE(reply.ok());
  return reply.ok() ? *reply : api::Reply{};
}

void send(int fd, const std::vector<uint8_t>& bytes) {
  ASSERT_EQ(::write(fd, bytes.data(), bytes.size()), ssize_t(bytes.size()));
}

// One datagram with `fds` as SCM_RIGHTS, as the launcher sends a ReplaceDevice.
void send_with_fds(int socket, const std::vector<uint8_t>& bytes, const std::vector<int>& fds) {
  iovec io{const_cast<uint8_t*>(bytes.data()), bytes.size()};
  std::vector<uint8_t> control(CMSG_SPACE(fds.size() * sizeof(int)), 0);
  msghdr header{};
  header.msg_iov = &io;
  header.msg_iovlen = 1;
  header.msg_control = control.data();
  header.msg_controllen = control.size();
  cmsghdr* c = CMSG_FIRSTHDR(&header);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(fds.size() * sizeof(int));
  std::memcpy(CMSG_DATA(c), fds.data(), fds.size() * sizeof(int));
  ASSERT_EQ(::sendmsg(socket, &header, 0), ssize_t(bytes.size()));
}

// Whether `fd`'s file is still open somewhere other than `fd` itself: the peer's end of a
// socketpair reads end-of-file (0) only once every copy of this end is closed.
bool peer_sees_closed(int peer) {
  pollfd p{peer, POLLIN, 0};
  if (::poll(&p, 1, 1000) != 1) return false;
  char byte;
  return ::recv(peer, &byte, 1, MSG_DONTWAIT) == 0;
}

TEST(ControlChannelTest, AReplaceDeviceFdIsHandedToTheVm) {
  Pair pair = make_pair();
  auto channel = ControlChannel::adopt(pair.monitor);
  ASSERT_TRUE(channel.ok());
  FakeVmControls vm;
  int device[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, device), 0);
  UniqueFd ours(device[0]), theirs(device[1]);
  send_with_fds(pair.launcher.get(), api::encode_command(api::ReplaceDevice{2}), {theirs.get()});
  struct stat sent {};
  ASSERT_EQ(::fstat(theirs.get(), &sent), 0);
  theirs.reset();
  EXPECT_TRUE(channel->serve(revents_of(channel->fd()), vm));
  EXPECT_EQ(read_reply(pair.launcher.get()), (api::Reply{204, api::Reply::Body::kNone, ""}));
  EXPECT_EQ(vm.replaces, 1);
  EXPECT_EQ(vm.replaced_index, 2u);
  ASSERT_TRUE(vm.replaced_with_socket);
  struct stat got {};
  ASSERT_EQ(::fstat(vm.replaced_socket.get(), &got), 0);
  EXPECT_EQ(got.st_ino, sent.st_ino) << "another socket than the one sent";
  EXPECT_NE(::fcntl(vm.replaced_socket.get(), F_GETFD) & FD_CLOEXEC, 0);
}

TEST(ControlChannelTest, AReplaceDeviceWithoutFdAsksTheVmToFailTheDevice) {
  Pair pair = make_pair();
  auto channel = ControlChannel::adopt(pair.monitor);
  ASSERT_TRUE(channel.ok());
  FakeVmControls vm;
  vm.replace_outcome = {ReplaceOutcome::Kind::kFailed, ""};
  send(pair.launcher.get(), api::encode_command(api::ReplaceDevice{0}));
  EXPECT_TRUE(channel->serve(revents_of(channel->fd()), vm));
  EXPECT_EQ(read_reply(pair.launcher.get()), (api::Reply{204, api::Reply::Body::kNone, ""}));
  EXPECT_EQ(vm.replaces, 1);
  EXPECT_FALSE(vm.replaced_with_socket);
}

TEST(ControlChannelTest, TwoFdsAreRefusedAndClosed) {
  Pair pair = make_pair();
  auto channel = ControlChannel::adopt(pair.monitor);
  ASSERT_TRUE(channel.ok());
  FakeVmControls vm;
  int a[2], b[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, a), 0);
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, b), 0);
  UniqueFd a_peer(a[0]), a_sent(a[1]), b_peer(b[0]), b_sent(b[1]);
  send_with_fds(pair.launcher.get(), api::encode_command(api::ReplaceDevice{0}), {a_sent.get(), b_sent.get()});
  a_sent.reset();
  b_sent.reset();
  EXPECT_TRUE(channel->serve(revents_of(channel->fd()), vm));
  const api::Reply reply = read_reply(pair.launcher.get());
  EXPECT_EQ(reply.status, 400);
  EXPECT_NE(reply.body.find("2 fds, at most 1"), std::string::npos) << reply.body;
  EXPECT_EQ(vm.calls(), 0);
  EXPECT_TRUE(peer_sees_closed(a_peer.get()));
  EXPECT_TRUE(peer_sees_closed(b_peer.get()));
}

TEST(ControlChannelTest, AnFdWithAnotherCommandIsRefusedAndClosed) {
  Pair pair = make_pair();
  auto channel = ControlChannel::adopt(pair.monitor);
  ASSERT_TRUE(channel.ok());
  FakeVmControls vm;
  int a[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, a), 0);
  UniqueFd peer(a[0]), sent(a[1]);
  send_with_fds(pair.launcher.get(), api::encode_command(api::SetVmState{true}), {sent.get()});
  sent.reset();
  EXPECT_TRUE(channel->serve(revents_of(channel->fd()), vm));
  const api::Reply reply = read_reply(pair.launcher.get());
  EXPECT_EQ(reply.status, 400);
  EXPECT_NE(reply.body.find("takes no file descriptor"), std::string::npos) << reply.body;
  EXPECT_EQ(vm.calls(), 0);
  EXPECT_TRUE(peer_sees_closed(peer.get()));
}

TEST(ControlChannelTest, ManyFdsAreCutByTheKernelAndRefused) {
  Pair pair = make_pair();
  auto channel = ControlChannel::adopt(pair.monitor);
  ASSERT_TRUE(channel.ok());
  FakeVmControls vm;
  int a[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, a), 0);
  UniqueFd peer(a[0]), sent(a[1]);
  send_with_fds(pair.launcher.get(), api::encode_command(api::ReplaceDevice{0}), std::vector<int>(8, sent.get()));
  sent.reset();
  EXPECT_TRUE(channel->serve(revents_of(channel->fd()), vm));
  EXPECT_EQ(read_reply(pair.launcher.get()).status, 400);
  EXPECT_EQ(vm.calls(), 0);
  EXPECT_TRUE(peer_sees_closed(peer.get()));
}

TEST(ControlChannelTest, AnswersEachDatagramWithOneReply) {
  Pair pair = make_pair();
  auto channel = ControlChannel::adopt(pair.monitor);
  ASSERT_TRUE(channel.ok()) << channel.error().message();
  FakeVmControls vm;
  send(pair.launcher.get(), api::encode_command(api::SetVmState{true}));
  send(pair.launcher.get(), api::encode_command(api::GetMetrics{}));
  // One datagram per serve(): the first is answered alone.
  EXPECT_TRUE(channel->serve(revents_of(channel->fd()), vm));
  EXPECT_EQ(read_reply(pair.launcher.get()), (api::Reply{204, api::Reply::Body::kNone, ""}));
  EXPECT_EQ(vm.metrics_reads, 0);
  EXPECT_TRUE(channel->serve(revents_of(channel->fd()), vm));
  EXPECT_EQ(read_reply(pair.launcher.get()).body_kind, api::Reply::Body::kPrometheus);
  EXPECT_EQ(vm.pauses, 1);
  EXPECT_EQ(vm.metrics_reads, 1);
}

TEST(ControlChannelTest, TheSocketIsMadeNonBlockingAndCloseOnExec) {
  Pair pair = make_pair();
  auto channel = ControlChannel::adopt(pair.monitor);
  ASSERT_TRUE(channel.ok());
  EXPECT_NE(::fcntl(channel->fd(), F_GETFL) & O_NONBLOCK, 0);
  EXPECT_NE(::fcntl(channel->fd(), F_GETFD) & FD_CLOEXEC, 0);
  // Nothing waiting: serve() neither blocks nor closes.
  FakeVmControls vm;
  EXPECT_TRUE(channel->serve(POLLIN, vm));
  EXPECT_EQ(vm.calls(), 0);
}

TEST(ControlChannelTest, AnOversizedOrEmptyDatagramIsRefused) {
  Pair pair = make_pair();
  int size = 1 << 20;
  ASSERT_EQ(::setsockopt(pair.launcher.get(), SOL_SOCKET, SO_SNDBUF, &size, sizeof size), 0);
  auto channel = ControlChannel::adopt(pair.monitor);
  ASSERT_TRUE(channel.ok());
  FakeVmControls vm;
  send(pair.launcher.get(), std::vector<uint8_t>(api::kMaxMessageBytes + 100, 'B'));
  EXPECT_TRUE(channel->serve(revents_of(channel->fd()), vm));
  api::Reply reply = read_reply(pair.launcher.get());
  EXPECT_EQ(reply.status, 400);
  EXPECT_EQ(reply.body, "malformed command: longer than " + std::to_string(api::kMaxMessageBytes) + " bytes");
  send(pair.launcher.get(), {});
  EXPECT_TRUE(channel->serve(revents_of(channel->fd()), vm));
  EXPECT_EQ(read_reply(pair.launcher.get()).status, 400);
  EXPECT_EQ(vm.calls(), 0);
}

TEST(ControlChannelTest, ClosesWhenTheLauncherHangsUp) {
  Pair pair = make_pair();
  auto channel = ControlChannel::adopt(pair.monitor);
  ASSERT_TRUE(channel.ok());
  FakeVmControls vm;
  pair.launcher.reset();
  EXPECT_FALSE(channel->serve(revents_of(channel->fd()), vm));
  EXPECT_FALSE(channel->is_open());
  EXPECT_FALSE(channel->serve(POLLIN, vm));  // and stays closed
  EXPECT_EQ(vm.calls(), 0);
}

TEST(ControlChannelTest, AMessageSentBeforeTheHangUpIsServedThenTheChannelCloses) {
  // The monitor ignores SIGPIPE (main.cc); the reply's write then fails with EPIPE.
  ::signal(SIGPIPE, SIG_IGN);
  Pair pair = make_pair();
  auto channel = ControlChannel::adopt(pair.monitor);
  ASSERT_TRUE(channel.ok());
  FakeVmControls vm;
  send(pair.launcher.get(), api::encode_command(api::SetVmState{true}));
  pair.launcher.reset();
  EXPECT_FALSE(channel->serve(revents_of(channel->fd()), vm));
  EXPECT_EQ(vm.pauses, 1);
  EXPECT_FALSE(channel->is_open());
}

TEST(ControlChannelTest, OnlyAUnixSeqpacketSocketIsAdopted) {
  Pair stream = make_pair(SOCK_STREAM);
  auto refused = ControlChannel::adopt(stream.monitor);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().message().find("not a unix SOCK_SEQPACKET socket"), std::string::npos);
  ::close(stream.monitor);

  int pipe_fds[2];
  ASSERT_EQ(::pipe2(pipe_fds, O_CLOEXEC), 0);
  UniqueFd read_end(pipe_fds[0]), write_end(pipe_fds[1]);
  auto not_socket = ControlChannel::adopt(read_end.get());
  ASSERT_FALSE(not_socket.ok());
  EXPECT_NE(not_socket.error().message().find("is not a socket"), std::string::npos);

  auto closed = ControlChannel::adopt(1048575);
  ASSERT_FALSE(closed.ok());
  EXPECT_NE(closed.error().message().find("is not open"), std::string::npos);
}

}  // namespace
}  // namespace bulwark::vmm
