// The real bulwark-dev-rng under its seccomp policy (enforce), driven by the test frontend.
#include <sys/wait.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>

#include "tests/unit/blk/device_process.h"
#include "tests/unit/blk/test_frontend.h"

namespace bulwark::test {
namespace {

struct RngSession {
  DeviceProcess device;
  std::unique_ptr<TestFrontend> frontend;
};

RngSession start_rng() {
  RngSession session;
  auto process = start_device_process(BULWARK_DEV_RNG_BINARY, {"--seccomp", "enforce"});
  EXPECT_TRUE(process.ok());
  if (!process.ok()) return session;
  session.device = std::move(*process);
  auto frontend = TestFrontend::create(UniqueFd(::dup(session.device.socket.get())));
  EXPECT_TRUE(frontend.ok());
  session.frontend = std::move(*frontend);
  Status started = session.frontend->start(0);
  EXPECT_TRUE(started.ok()) << started.error().message();
  return session;
}

int finish(RngSession& session) {
  session.frontend.reset();
  session.device.socket.reset();
  return session.device.wait();
}

TEST(RngDeviceProcess, FillsWritableBuffersWithRandomBytes) {
  RngSession session = start_rng();
  ASSERT_TRUE(session.frontend);
  TestFrontend& f = *session.frontend;
  const uint64_t first = f.allocate(100);
  const uint64_t second = f.allocate(156);
  std::memset(f.guest(first), 0, 256);
  auto used = f.submit(0, {{first, 100, true}, {second, 156, true}});
  ASSERT_TRUE(used.ok()) << used.error().message();
  EXPECT_EQ(*used, 256u);
  const uint8_t* bytes = f.guest(first);
  EXPECT_FALSE(std::all_of(bytes, bytes + 100, [&](uint8_t b) { return b == bytes[0]; }));
  const uint8_t* more = f.guest(second);
  EXPECT_FALSE(std::all_of(more, more + 156, [&](uint8_t b) { return b == more[0]; }));
  const int status = finish(session);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "wait status " << status;
}

TEST(RngDeviceProcess, GivesAtMost64KiBPerRequest) {
  RngSession session = start_rng();
  ASSERT_TRUE(session.frontend);
  TestFrontend& f = *session.frontend;
  const uint64_t big = f.allocate(100 * 1024);
  std::memset(f.guest(big), 0, 100 * 1024);
  auto used = f.submit(0, {{big, 100 * 1024, true}});
  ASSERT_TRUE(used.ok()) << used.error().message();
  EXPECT_EQ(*used, 64u * 1024);
  const uint8_t* tail = f.guest(big + 64 * 1024);
  EXPECT_TRUE(std::all_of(tail, tail + 36 * 1024, [](uint8_t b) { return b == 0; }));
  const int status = finish(session);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "wait status " << status;
}

// The cap is per request, not per buffer: two 40 KiB buffers get 64 KiB between them.
TEST(RngDeviceProcess, The64KiBCapCoversEveryBufferOfARequestTogether) {
  RngSession session = start_rng();
  ASSERT_TRUE(session.frontend);
  TestFrontend& f = *session.frontend;
  const uint64_t first = f.allocate(40 * 1024);
  const uint64_t second = f.allocate(40 * 1024);
  std::memset(f.guest(first), 0, 40 * 1024);
  std::memset(f.guest(second), 0, 40 * 1024);
  auto used = f.submit(0, {{first, 40 * 1024, true}, {second, 40 * 1024, true}});
  ASSERT_TRUE(used.ok()) << used.error().message();
  EXPECT_EQ(*used, 64u * 1024);
  const uint8_t* tail = f.guest(second + 24 * 1024);
  EXPECT_TRUE(std::all_of(tail, tail + 16 * 1024, [](uint8_t b) { return b == 0; }));
  const int status = finish(session);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "wait status " << status;
}

TEST(RngDeviceProcess, AReadableOnlyRequestGetsNothing) {
  RngSession session = start_rng();
  ASSERT_TRUE(session.frontend);
  TestFrontend& f = *session.frontend;
  const uint64_t buffer = f.allocate(64);
  auto used = f.submit(0, {{buffer, 64, false}});
  ASSERT_TRUE(used.ok()) << used.error().message();
  EXPECT_EQ(*used, 0u);
  const int status = finish(session);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "wait status " << status;
}

}  // namespace
}  // namespace bulwark::test
