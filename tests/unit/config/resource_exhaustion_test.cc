// common's last-resort handler around every process's main(): an exhausted resource is a
// message naming it and the process's documented exit code, never std::terminate (SIGABRT).
#include "bulwark/common/resource_exhaustion.h"

#include <gtest/gtest.h>

#include <cerrno>
#include <new>
#include <stdexcept>
#include <string>
#include <system_error>

#include "bulwark/common/result.h"

namespace bulwark {
namespace {

constexpr int kResource = 9;
constexpr int kOther = 7;

struct Outcome {
  int code;
  std::string err;
};

Outcome run(const std::function<int()>& body) {
  ::testing::internal::CaptureStderr();
  const int code = run_main_guarded(body, kResource, kOther);
  return {code, ::testing::internal::GetCapturedStderr()};
}

TEST(ResourceExhaustion, ThreadCreationFailureNamesThreads) {
  // What std::thread's constructor throws under pids.max or RLIMIT_NPROC.
  Outcome o = run([]() -> int { throw std::system_error(EAGAIN, std::generic_category(), "thread"); });
  EXPECT_EQ(o.code, kResource);
  EXPECT_NE(o.err.find("resource exhausted: threads (the pids cgroup's pids.max or RLIMIT_NPROC): thread: "),
            std::string::npos)
      << o.err;
}

TEST(ResourceExhaustion, BadAllocNamesMemory) {
  Outcome o = run([]() -> int { throw std::bad_alloc(); });
  EXPECT_EQ(o.code, kResource);
  EXPECT_NE(o.err.find("resource exhausted: memory: an allocation failed"), std::string::npos) << o.err;
}

TEST(ResourceExhaustion, FdLimitNamesOpenFiles) {
  Outcome o = run([]() -> int { throw std::system_error(EMFILE, std::system_category(), "pipe"); });
  EXPECT_EQ(o.code, kResource);
  EXPECT_NE(o.err.find("resource exhausted: open files (RLIMIT_NOFILE): pipe"), std::string::npos) << o.err;
}

TEST(ResourceExhaustion, OtherExceptionsAreHostErrors) {
  EXPECT_EQ(run([]() -> int { throw std::system_error(EINVAL, std::generic_category(), "x"); }).code, kOther);
  EXPECT_EQ(run([]() -> int { throw std::runtime_error("x"); }).code, kOther);
  EXPECT_EQ(run([] { return 4; }).code, 4);
}

TEST(ResourceExhaustion, ErrnoSurvivesWrapAndNamesTheResource) {
  const Error e = Error::from_errno("cannot open kernel", EMFILE).wrap("--config");
  EXPECT_EQ(e.errno_value(), EMFILE);
  EXPECT_EQ(exhausted_resource(e.errno_value()), "open files (RLIMIT_NOFILE)");
  EXPECT_EQ(exhausted_resource(ENOMEM), "memory");
  EXPECT_TRUE(exhausted_resource(ENOENT).empty());
  EXPECT_TRUE(exhausted_resource(EAGAIN).empty()) << "EAGAIN is only exhaustion at thread creation";
  EXPECT_EQ(Error("plain").errno_value(), 0);
}

}  // namespace
}  // namespace bulwark
