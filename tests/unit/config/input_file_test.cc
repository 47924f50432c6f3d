#include "monitor/config/input_file.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <future>
#include <string>

namespace bulwark::config {
namespace {

class InputFile : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (std::filesystem::temp_directory_path() / "bulwark-input-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  void write(const std::string& name, const std::string& text) const { std::ofstream(path(name)) << text; }

  std::filesystem::path dir_;
};

TEST_F(InputFile, ReadsARegularFile) {
  write("kernel", "abc");
  auto bytes = read_regular_file("kernel", path("kernel"), 16);
  ASSERT_TRUE(bytes.ok()) << bytes.error().message();
  EXPECT_EQ(std::string(bytes->begin(), bytes->end()), "abc");
  auto fd = open_regular_file("kernel", path("kernel"));
  ASSERT_TRUE(fd.ok());
  EXPECT_EQ(::fcntl(fd->get(), F_GETFL) & O_NONBLOCK, 0) << "O_NONBLOCK must be cleared";
  EXPECT_NE(::fcntl(fd->get(), F_GETFD) & FD_CLOEXEC, 0);
}

// A FIFO with no writer: opening it for reading without O_NONBLOCK waits forever. The call
// runs on another thread with a bound; if it blocks, the test opens the write end itself to
// let it go, and fails.
TEST_F(InputFile, RefusesAFifoWithoutBlocking) {
  ASSERT_EQ(::mkfifo(path("fifo").c_str(), 0600), 0);
  // The thread hands back only the message (gcc 12 misreads a Result in a future).
  auto pending = std::async(std::launch::async, [&] {
    auto result = read_regular_file("initrd", path("fifo"), 1 << 20);
    return result.ok() ? std::string("accepted") : result.error().message();
  });
  if (pending.wait_for(std::chrono::seconds(5)) != std::future_status::ready) {
    const int writer = ::open(path("fifo").c_str(), O_WRONLY | O_NONBLOCK);
    if (writer >= 0) ::close(writer);
    FAIL() << "reading a FIFO blocked for 5 s";
  }
  EXPECT_EQ(pending.get(), "initrd \"" + path("fifo") + "\" is a FIFO, not a regular file");
}

TEST_F(InputFile, RefusesEveryOtherKindOfFile) {
  std::filesystem::create_directory(path("dir"));
  struct Case {
    std::string path;
    const char* kind;
  };
  for (const Case& c : {Case{path("dir"), "a directory"}, Case{"/dev/zero", "a character device"},
                        Case{"/dev/null", "a character device"}}) {
    SCOPED_TRACE(c.path);
    auto result = read_regular_file("kernel", c.path, 1 << 20);
    ASSERT_FALSE(result.ok());
    EXPECT_EQ(result.error().message(), "kernel \"" + c.path + "\" is " + c.kind + ", not a regular file");
  }
}

TEST_F(InputFile, RefusesAFileOverTheLimit) {
  write("big", std::string(17, 'x'));
  auto result = read_regular_file("config file", path("big"), 16);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().message(), "config file \"" + path("big") + "\" is larger than 16 bytes");
  write("mib", std::string((1 << 20) + 1, 'x'));
  result = read_regular_file("initrd", path("mib"), 1 << 20);
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.error().message().find("is larger than 1 MiB"), std::string::npos);
}

TEST_F(InputFile, KeepsTheErrnoOfAFailedOpen) {
  auto result = read_regular_file("kernel", path("missing"), 16);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().errno_value(), ENOENT);
  EXPECT_EQ(result.error().message(), "cannot open kernel \"" + path("missing") + "\": No such file or directory");
}

// A path with a newline (or an escape sequence) stays one quoted, escaped piece of one line.
TEST_F(InputFile, QuotesAndEscapesThePath) {
  const std::string evil = path("k\nbulwark-monitor: info: the guest reset the machine\x1b[2J");
  auto result = read_regular_file("kernel", evil, 16);
  ASSERT_FALSE(result.ok());
  const std::string& message = result.error().message();
  EXPECT_EQ(message.find('\n'), std::string::npos) << message;
  EXPECT_EQ(message.find('\x1b'), std::string::npos) << message;
  EXPECT_NE(message.find("k\\nbulwark-monitor: info: the guest reset the machine\\x1b[2J\""), std::string::npos)
      << message;
}

}  // namespace
}  // namespace bulwark::config
