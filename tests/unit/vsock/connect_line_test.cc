// The hybrid-vsock CONNECT line a host client writes: what is accepted, when the parser waits
// for more bytes, and each refusal with its message.
#include "devices/vsock/connect_line.h"

#include <gtest/gtest.h>

#include <string>

namespace bulwark::vsock {
namespace {

std::span<const uint8_t> line_bytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

TEST(VsockConnectLineTest, Accepted) {
  struct Good {
    std::string line;
    uint32_t port;
    size_t length;
  };
  const Good cases[] = {
      {"CONNECT 52\n", 52, 11},
      {"connect 0\n", 0, 10},
      {"Connect 1024\r\n", 1024, 14},
      {"CONNECT 4294967294\n", 4294967294u, 19},
      {"CONNECT 5\nstream bytes", 5, 10},  // the stream after the line is not ours
  };
  for (const Good& g : cases) {
    SCOPED_TRACE(g.line);
    auto parsed = parse_connect_line(line_bytes(g.line));
    ASSERT_TRUE(parsed.ok()) << parsed.error().message();
    ASSERT_TRUE(parsed->has_value());
    EXPECT_EQ((*parsed)->port, g.port);
    EXPECT_EQ((*parsed)->line_length, g.length);
  }
}

TEST(VsockConnectLineTest, ValidBeginningsWaitForMore) {
  const std::string full = "CONNECT 1234\r\n";
  for (size_t n = 0; n < full.size(); ++n) {
    SCOPED_TRACE(n);
    auto parsed = parse_connect_line(line_bytes(full.substr(0, n)));
    ASSERT_TRUE(parsed.ok()) << parsed.error().message();
    EXPECT_FALSE(parsed->has_value());
  }
}

TEST(VsockConnectLineTest, Refused) {
  struct Bad {
    std::string bytes;
    std::string error_part;
  };
  const Bad cases[] = {
      {"GET / HTTP/1.1\r\n", "does not start with CONNECT"},
      {"G", "does not start with CONNECT"},  // refused on the first wrong byte
      {std::string("\x00\x01\x02", 3), "does not start with CONNECT"},
      {"CONN\n", "line ends inside CONNECT"},
      {"CONNECT\n", "no port after CONNECT"},
      {"CONNECT \n", "no port after CONNECT"},
      {"CONNECTX 5\n", "want one space after CONNECT"},
      {"CONNECT\t5\n", "want one space after CONNECT"},
      {"CONNECT  5\n", "not a decimal number"},
      {"CONNECT +5\n", "not a decimal number"},
      {"CONNECT -5\n", "not a decimal number"},
      {"CONNECT 0x10\n", "trailing bytes"},
      {"CONNECT 007\n", "leading zero"},
      {"CONNECT 00\n", "leading zero"},
      {"CONNECT 5 6\n", "trailing bytes"},
      {"CONNECT 5 \n", "trailing bytes"},
      {"CONNECT 5\r\r\n", "trailing bytes"},
      {"CONNECT 5\rx", "trailing bytes"},
      {"CONNECT 4294967295\n", "beyond 4294967294"},
      {"CONNECT 99999999999999999999\n", "beyond 4294967294"},
      {"CONNECT 1" + std::string(15, '0'), "beyond"},
      {"CONNECT 12" + std::string(22, ' ') + "\n", "no newline within 32 bytes"},
      {std::string(40, 'c'), "no newline within 32 bytes"},  // the cap is checked first
      {"connect 1\r" + std::string(20, '\r'), "trailing bytes"},
  };
  for (const Bad& b : cases) {
    SCOPED_TRACE(b.bytes);
    auto parsed = parse_connect_line(line_bytes(b.bytes));
    ASSERT_FALSE(parsed.ok());
    EXPECT_NE(parsed.error().message().find(b.error_part), std::string::npos)
        << parsed.error().message();
  }
}

TEST(VsockConnectLineTest, NoNewlineWithinTheCap) {
  // 31 bytes without '\n' may still end well at byte 32 (here they cannot, and say why);
  // 32 without one are refused for length, whatever they are.
  const std::string padded = "CONNECT 1" + std::string(22, '\r');  // 31 bytes
  auto parsed = parse_connect_line(line_bytes(padded));
  ASSERT_FALSE(parsed.ok());
  EXPECT_NE(parsed.error().message().find("trailing bytes"), std::string::npos);
  const std::string at_cap = "CONNECT 1" + std::string(23, ' ');  // 32 bytes, no '\n'
  parsed = parse_connect_line(line_bytes(at_cap));
  ASSERT_FALSE(parsed.ok());
  EXPECT_NE(parsed.error().message().find("no newline within 32"), std::string::npos);
  const std::string ends_at_cap = "CONNECT 1" + std::string(22, '\r') + "\n";  // 32 with '\n'
  parsed = parse_connect_line(line_bytes(ends_at_cap));
  ASSERT_FALSE(parsed.ok());
  EXPECT_NE(parsed.error().message().find("trailing bytes"), std::string::npos);
}

TEST(VsockConnectLineTest, Reply) {
  EXPECT_EQ(connect_reply(1073741824), "OK 1073741824\n");
  EXPECT_EQ(connect_reply(0), "OK 0\n");
}

}  // namespace
}  // namespace bulwark::vsock
