// The launcher's console and log relay (jailer/stdio_relay.h), as a user of `bulwark run` under
// SELinux sees it: everything a VM process writes arrives, whole and in order, on the
// launcher's own output, and what the launcher reads on stdin reaches the monitor. Run here
// without SELinux (an empty socket context): the copying is the same.
#include "jailer/stdio_relay.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>
#include <thread>

namespace bulwark::jail {
namespace {

std::string read_until(int fd, size_t size) {
  std::string data;
  char buffer[8192];
  while (data.size() < size) {
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n <= 0) break;
    data.append(buffer, static_cast<size_t>(n));
  }
  return data;
}

void write_all_or_die(int fd, const std::string& data) {
  size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n <= 0) ::_exit(3);
    done += static_cast<size_t>(n);
  }
}

int wait_exit(pid_t pid) {
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

TEST(StdioRelay, OutputLargerThanAnySocketBufferArrivesWholeAndInOrder) {
  int target[2];
  ASSERT_EQ(::pipe(target), 0);
  StdioRelay relay("");
  auto io = relay.add_process(target[1], target[1], false);
  ASSERT_TRUE(io.ok()) << io.error().message();
  std::string expected;
  for (int i = 0; expected.size() < (4u << 20); ++i) expected += "console line " + std::to_string(i) + "\n";
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::alarm(20);
    // The process's stdin ends at once when nothing is forwarded to it.
    char byte;
    if (::read(io->in, &byte, 1) != 0) ::_exit(2);
    write_all_or_die(io->out, expected);
    ::_exit(0);
  }
  ASSERT_TRUE(relay.start().ok());
  std::string got;
  std::thread reader([&] { got = read_until(target[0], expected.size()); });
  EXPECT_EQ(wait_exit(child), 0);
  relay.finish(std::chrono::seconds(5));
  ::close(target[1]);
  reader.join();
  ::close(target[0]);
  EXPECT_EQ(got.size(), expected.size());
  EXPECT_TRUE(got == expected) << "the relayed bytes differ from what the process wrote";
}

TEST(StdioRelay, StdoutAndStderrGoToTheirOwnTargets) {
  int out[2], err[2];
  ASSERT_EQ(::pipe(out), 0);
  ASSERT_EQ(::pipe(err), 0);
  StdioRelay relay("");
  auto io = relay.add_process(out[1], err[1], false);
  ASSERT_TRUE(io.ok());
  ASSERT_NE(io->out, io->err);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    write_all_or_die(io->out, "guest console\n");
    write_all_or_die(io->err, "monitor log\n");
    ::_exit(0);
  }
  ASSERT_TRUE(relay.start().ok());
  EXPECT_EQ(wait_exit(child), 0);
  relay.finish(std::chrono::seconds(5));
  ::close(out[1]);
  ::close(err[1]);
  EXPECT_EQ(read_until(out[0], 1 << 20), "guest console\n");
  EXPECT_EQ(read_until(err[0], 1 << 20), "monitor log\n");
  ::close(out[0]);
  ::close(err[0]);
}

TEST(StdioRelay, TheLaunchersStdinReachesTheMonitorAndItsEndToo) {
  int input[2], out[2];
  ASSERT_EQ(::pipe(input), 0);
  ASSERT_EQ(::pipe(out), 0);
  const int saved_stdin = ::dup(STDIN_FILENO);
  ASSERT_GE(saved_stdin, 0);
  ASSERT_EQ(::dup2(input[0], STDIN_FILENO), STDIN_FILENO);
  ::close(input[0]);
  {
    StdioRelay relay("");
    auto io = relay.add_process(out[1], out[1], true);
    ASSERT_TRUE(io.ok());
    const pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      ::alarm(20);  // a relay that never forwards the end fails here, not by CTest's timeout
      ::close(input[1]);  // only the administrator holds the write end
      // Echo the console input back with its length once it ends.
      std::string seen;
      char buffer[256];
      ssize_t n;
      while ((n = ::read(io->in, buffer, sizeof buffer)) > 0) seen.append(buffer, static_cast<size_t>(n));
      write_all_or_die(io->out, "got " + std::to_string(seen.size()) + ": " + seen);
      ::_exit(n == 0 ? 0 : 4);
    }
    ASSERT_TRUE(relay.start().ok());
    ASSERT_EQ(::write(input[1], "root\n", 5), 5);
    ::close(input[1]);  // the administrator's stdin ends
    EXPECT_EQ(wait_exit(child), 0);
    relay.finish(std::chrono::seconds(5));
  }
  ASSERT_EQ(::dup2(saved_stdin, STDIN_FILENO), STDIN_FILENO);
  ::close(saved_stdin);
  ::close(out[1]);
  EXPECT_EQ(read_until(out[0], 1 << 20), "got 5: root\n");
  ::close(out[0]);
}

}  // namespace
}  // namespace bulwark::jail
