// common/log's record format (tested here with the other message-text escaping): nothing in
// a message can forge a record of its own.
#include "bulwark/common/log.h"

#include <gtest/gtest.h>

#include <string>

namespace bulwark::log {
namespace {

TEST(LogLine, PlainMessageIsOneRecord) {
  EXPECT_EQ(format_line("bulwark-monitor", Level::kError, "kernel refused"),
            "bulwark-monitor: error: kernel refused\n");
}

TEST(LogLine, NewlineInAMessageCannotStartAFakeRecord) {
  const std::string line =
      format_line("bulwark-monitor", Level::kError, "cannot open /tmp/k\nbulwark-monitor: info: the guest reset");
  EXPECT_EQ(line, "bulwark-monitor: error: cannot open /tmp/k\n  bulwark-monitor: info: the guest reset\n");
  // Every line but the first is indented: no second line starts with the program name.
  EXPECT_EQ(line.find("\nbulwark-monitor"), std::string::npos);
}

TEST(LogLine, IndentedContinuationLinesAreKeptAsTheyAre) {
  EXPECT_EQ(format_line("m", Level::kError, "vCPU 0 registers:\n  rip=0\n  rsp=0\n"),
            "m: error: vCPU 0 registers:\n  rip=0\n  rsp=0\n");
}

TEST(LogLine, ControlCharactersAreEscaped) {
  EXPECT_EQ(format_line("m", Level::kWarn, "a\rb\x1b[2Jc\x7f\td"), "m: warning: a\\x0db\\x1b[2Jc\\x7f\td\n");
}

}  // namespace
}  // namespace bulwark::log
