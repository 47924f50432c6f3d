#include "jailer/svirt/socket_create_context.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace bulwark::jailer {
namespace {

bool selinux_is_on_here() { return std::filesystem::exists("/sys/fs/selinux/enforce"); }

// A context as the kernel reports it, without SELinux's trailing NUL or a newline.
std::string trimmed(std::string text) {
  while (!text.empty() && (text.back() == '\0' || text.back() == '\n')) text.pop_back();
  return text;
}

std::string thread_attr(const char* name) {
  std::ifstream in(std::string("/proc/thread-self/attr/") + name);
  std::stringstream text;
  text << in.rdbuf();
  return trimmed(text.str());
}

void expect_connected_and_cloexec(const SocketPairEnds& ends) {
  ASSERT_TRUE(ends.first.valid() && ends.second.valid());
  EXPECT_TRUE(::fcntl(ends.first.get(), F_GETFD) & FD_CLOEXEC);
  EXPECT_TRUE(::fcntl(ends.second.get(), F_GETFD) & FD_CLOEXEC);
  ASSERT_EQ(::write(ends.first.get(), "ping", 4), 4);
  char got[4] = {};
  ASSERT_EQ(::read(ends.second.get(), got, sizeof got), 4);
  EXPECT_EQ(std::string(got, 4), "ping");
}

TEST(SocketCreateContext, EmptyContextSetsNothingAndStillMakesAPair) {
  auto guard = ScopedCreateContext::enter(CreateKind::kSocket, "");
  ASSERT_TRUE(guard.ok());
  EXPECT_FALSE(guard->active());
  EXPECT_TRUE(guard->reset().ok());
  EXPECT_TRUE(guard->reset().ok());

  auto ends = make_labelled_socketpair("");
  ASSERT_TRUE(ends.ok()) << ends.error().message();
  expect_connected_and_cloexec(*ends);
}

// Without SELinux the kernel refuses a socket-create context: the launcher must never ask
// for one there (plan_svirt), and if it did the error names the context and nothing stays set.
TEST(SocketCreateContext, WithoutSelinuxAContextIsRefusedAndNothingStaysSet) {
  if (selinux_is_on_here()) GTEST_SKIP() << "SELinux is on here";
  const std::string context = "system_u:system_r:bulwark_vm_t:s0:c1,c2";
  auto ends = make_labelled_socketpair(context);
  ASSERT_FALSE(ends.ok());
  EXPECT_EQ(ends.error().message().rfind("socketpair: setsockcreatecon " + context + ": ", 0), 0u)
      << ends.error().message();
  EXPECT_EQ(thread_attr("sockcreate"), "");
  auto plain = make_labelled_socketpair("");
  ASSERT_TRUE(plain.ok()) << plain.error().message();
  expect_connected_and_cloexec(*plain);
}

// On an SELinux host: both ends carry the requested context (here the test's own, which it
// may always use), and the thread's socket-create context is back to the default afterwards.
TEST(SocketCreateContext, WithSelinuxBothEndsCarryTheContextAndItIsResetAfter) {
  if (!selinux_is_on_here()) GTEST_SKIP() << "SELinux is not enabled here";
  const std::string own = thread_attr("current");
  ASSERT_FALSE(own.empty());
  auto ends = make_labelled_socketpair(own);
  ASSERT_TRUE(ends.ok()) << ends.error().message();
  EXPECT_EQ(thread_attr("sockcreate"), "");
  for (int fd : {ends->first.get(), ends->second.get()}) {
    char peer[512] = {};
    socklen_t size = sizeof peer;
    ASSERT_EQ(::getsockopt(fd, SOL_SOCKET, SO_PEERSEC, peer, &size), 0);
    EXPECT_EQ(trimmed(std::string(peer, size)), own);
  }
  {
    auto guard = ScopedCreateContext::enter(CreateKind::kSocket, own);
    ASSERT_TRUE(guard.ok()) << guard.error().message();
    EXPECT_TRUE(guard->active());
    EXPECT_EQ(thread_attr("sockcreate"), own);
  }
  EXPECT_EQ(thread_attr("sockcreate"), "") << "the guard did not reset on destruction";
}

}  // namespace
}  // namespace bulwark::jailer
