// HttpRequestReader from an API client's point of view: each row the bytes a client sends
// (whole, byte by byte, or in two pieces) and the requests or refusal that must come of them.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "api/http/http_request.h"

namespace bulwark::api {
namespace {

using State = HttpRequestReader::State;

std::span<const uint8_t> as_bytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

// What a server loop sees: every request the stream yields, then the refusal if any.
struct Run {
  std::vector<HttpRequest> requests;
  bool refused = false;
  uint16_t status = 0;
  std::string message;
  bool in_request_at_end = false;
};

// Feeds `wire` in pieces of `piece` bytes (0: all at once), re-feeding unconsumed bytes as a
// server does after each request.
Run drive(const std::string& wire, size_t piece, HttpLimits limits = {}) {
  HttpRequestReader reader(limits);
  Run run;
  std::string pending;
  size_t pos = 0;
  while (pos < wire.size() || !pending.empty()) {
    if (pos < wire.size()) {
      const size_t n = piece == 0 ? wire.size() - pos : std::min(piece, wire.size() - pos);
      pending += wire.substr(pos, n);
      pos += n;
    }
    for (;;) {
      auto out = reader.feed(as_bytes(pending));
      EXPECT_LE(out.consumed, pending.size());
      if (out.state == State::kError) {
        run.refused = true;
        run.status = out.error_status;
        run.message = out.error_message;
        return run;
      }
      pending.erase(0, out.consumed);
      if (out.state == State::kNeedMore) {
        EXPECT_TRUE(pending.empty()) << "kNeedMore must consume everything";
        break;
      }
      run.requests.push_back(std::move(out.request));
      if (pending.empty()) break;
    }
  }
  run.in_request_at_end = reader.in_request();
  return run;
}

struct Expected {
  std::string method;
  std::string path;
  std::string content_type;
  std::string body;
  bool keep_alive;
};

struct Case {
  std::string name;
  std::string wire;
  std::vector<Expected> requests;  // in order, before any refusal
  uint16_t refusal = 0;            // 0: none
  std::string message_part = {};   // part of the refusal's message
  HttpLimits limits = {};
  bool partial_at_end = false;  // the stream ends inside a request
};

const std::string kBootSource = R"({"kernel_image_path":"/vmlinux","boot_args":"console=ttyS0"})";

std::vector<Case> cases() {
  std::vector<Case> c;
  c.push_back(
      {"simple_get", "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n", {{"GET", "/", "", "", true}}});
  c.push_back({"put_with_body",
               "PUT /boot-source HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
               "Content-Length: " +
                   std::to_string(kBootSource.size()) + "\r\n\r\n" + kBootSource,
               {{"PUT", "/boot-source", "application/json", kBootSource, true}}});
  c.push_back({"pipelined_pair",
               "PUT /actions HTTP/1.1\r\nContent-Length: 31\r\n\r\n"
               R"({"action_type":"InstanceStart"})"
               "GET /machine-config HTTP/1.1\r\n\r\n",
               {{"PUT", "/actions", "", R"({"action_type":"InstanceStart"})", true},
                {"GET", "/machine-config", "", "", true}}});
  c.push_back(
      {"header_names_any_case",
       "PATCH /vm HTTP/1.1\r\ncOnTeNt-TyPe:   application/json  \r\ncontent-LENGTH: 2\r\n\r\n{}",
       {{"PATCH", "/vm", "application/json", "{}", true}}});
  c.push_back({"connection_close",
               "GET / HTTP/1.1\r\nConnection: close\r\n\r\n",
               {{"GET", "/", "", "", false}}});
  c.push_back({"http10_closes", "GET / HTTP/1.0\r\n\r\n", {{"GET", "/", "", "", false}}});
  c.push_back({"http10_keep_alive_header_still_closes",
               "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
               {{"GET", "/", "", "", false}}});
  c.push_back({"query_and_fragment_dropped",
               "GET /drives/rootfs?x=1&y=2#frag HTTP/1.1\r\n\r\n",
               {{"GET", "/drives/rootfs", "", "", true}}});
  c.push_back({"other_method_passes_to_router",
               "DELETE /drives/rootfs HTTP/1.1\r\n\r\n",
               {{"DELETE", "/drives/rootfs", "", "", true}}});
  c.push_back(
      {"upgrade_request_then_next",
       "GET / HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\nGET /x HTTP/1.1\r\n\r\n",
       {{"GET", "/", "", "", true}, {"GET", "/x", "", "", true}}});
  c.push_back(
      {"partial_request_pending", "PUT /actions HTTP/1.1\r\nContent-Le", {}, 0, "", {}, true});

  // Refusals.
  c.push_back({"oversized_headers_431",
               "GET / HTTP/1.1\r\nX-Pad: " + std::string(9000, 'a') + "\r\n\r\n",
               {},
               431});
  c.push_back({"whitespace_flood_431",
               "GET / HTTP/1.1\r\nX-Pad:" + std::string(9000, ' ') + "x\r\n\r\n",
               {},
               431});
  c.push_back(
      {"oversized_url_414", "GET /" + std::string(9000, 'a') + " HTTP/1.1\r\n\r\n", {}, 414});
  c.push_back({"headers_exactly_at_limit_accepted",
               "GET / HTTP/1.1\r\nX: 1\r\n\r\n",
               {{"GET", "/", "", "", true}},
               0,
               "",
               {.max_header_bytes = 24}});
  c.push_back({"headers_one_over_limit_431",
               "GET / HTTP/1.1\r\nX: 12\r\n\r\n",
               {},
               431,
               "",
               {.max_header_bytes = 24}});
  {
    std::string many = "GET / HTTP/1.1\r\n";
    for (int i = 0; i < 65; ++i) many += "X-" + std::to_string(i) + ": v\r\n";
    c.push_back({"65_headers_431", many + "\r\n", {}, 431, "headers"});
    std::string ok = "GET / HTTP/1.1\r\n";
    for (int i = 0; i < 64; ++i) ok += "X-" + std::to_string(i) + ": v\r\n";
    c.push_back({"64_headers_accepted", ok + "\r\n", {{"GET", "/", "", "", true}}});
  }
  c.push_back(
      {"body_over_limit_413", "PUT /drives/x HTTP/1.1\r\nContent-Length: 51201\r\n\r\n", {}, 413});
  c.push_back({"body_at_limit_accepted",
               "PUT /x HTTP/1.1\r\nContent-Length: 4\r\n\r\nabcd",
               {{"PUT", "/x", "", "abcd", true}},
               0,
               "",
               {.max_body_bytes = 4}});
  c.push_back({"huge_content_length_413",
               "PUT /x HTTP/1.1\r\nContent-Length: 99999999999999\r\n\r\n",
               {},
               413});
  c.push_back({"overflowing_content_length_400",
               "PUT /x HTTP/1.1\r\nContent-Length: 18446744073709551616\r\n\r\n",
               {},
               400});
  c.push_back({"chunked_501",
               "PUT /actions HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n",
               {},
               501});
  c.push_back({"any_transfer_encoding_501",
               "PUT /actions HTTP/1.1\r\ntransfer-encoding: gzip\r\nContent-Length: 2\r\n\r\n{}",
               {},
               501});
  c.push_back({"empty_transfer_encoding_501",
               "PUT /actions HTTP/1.1\r\nTransfer-Encoding:\r\nContent-Length: 2\r\n\r\n{}",
               {},
               501});
  c.push_back({"garbage_400",
               "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",
               {},
               400,
               "malformed HTTP request"});
  c.push_back({"header_without_colon_400",
               "GET / HTTP/1.1\r\nNoColonHere\r\n\r\n",
               {},
               400,
               "malformed HTTP request"});
  c.push_back({"duplicate_content_length_400",
               "PUT /x HTTP/1.1\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nabc",
               {},
               400});
  c.push_back({"duplicate_content_type_400",
               "PUT /x HTTP/1.1\r\nContent-Type: a\r\nContent-Type: b\r\n\r\n",
               {},
               400});
  c.push_back({"http2_505", "GET / HTTP/2.0\r\n\r\n", {}, 505});
  c.push_back({"http09_505", "GET /\r\n\r\n", {}, 505});
  c.push_back({"asterisk_target_400", "OPTIONS * HTTP/1.1\r\n\r\n", {}, 400});
  c.push_back({"refusal_after_good_request",
               "GET / HTTP/1.1\r\n\r\nGET / HTTP/2.0\r\n\r\n",
               {{"GET", "/", "", "", true}},
               505});
  return c;
}

class HttpRequestReaderTest : public ::testing::TestWithParam<Case> {};

void check(const Case& c, const Run& run) {
  ASSERT_EQ(run.requests.size(), c.requests.size());
  for (size_t i = 0; i < c.requests.size(); ++i) {
    const HttpRequest& got = run.requests[i];
    const Expected& want = c.requests[i];
    EXPECT_EQ(got.method, want.method) << "request " << i;
    EXPECT_EQ(got.path, want.path) << "request " << i;
    EXPECT_EQ(got.content_type, want.content_type) << "request " << i;
    EXPECT_EQ(got.body, want.body) << "request " << i;
    EXPECT_EQ(got.keep_alive, want.keep_alive) << "request " << i;
  }
  if (c.refusal == 0) {
    EXPECT_FALSE(run.refused) << run.status << " " << run.message;
    EXPECT_EQ(run.in_request_at_end, c.partial_at_end);
  } else {
    EXPECT_TRUE(run.refused);
    EXPECT_EQ(run.status, c.refusal) << run.message;
    EXPECT_FALSE(run.message.empty());
    EXPECT_NE(run.message.find(c.message_part), std::string::npos) << run.message;
  }
}

TEST_P(HttpRequestReaderTest, WholeStream) {
  check(GetParam(), drive(GetParam().wire, 0, GetParam().limits));
}
TEST_P(HttpRequestReaderTest, ByteByByte) {
  check(GetParam(), drive(GetParam().wire, 1, GetParam().limits));
}
TEST_P(HttpRequestReaderTest, SevenBytePieces) {
  check(GetParam(), drive(GetParam().wire, 7, GetParam().limits));
}

INSTANTIATE_TEST_SUITE_P(Cases, HttpRequestReaderTest, ::testing::ValuesIn(cases()),
                         [](const auto& info) { return info.param.name; });

TEST(HttpRequestReader, PipelinedPairComesOneAtATime) {
  const std::string first = "GET / HTTP/1.1\r\n\r\n";
  const std::string second = "PUT /actions HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}";
  HttpRequestReader reader;
  const std::string wire = first + second;
  auto out = reader.feed(as_bytes(wire));
  ASSERT_EQ(out.state, State::kRequest);
  EXPECT_EQ(out.consumed, first.size());
  EXPECT_EQ(out.request.path, "/");
  EXPECT_FALSE(reader.in_request());
  const std::string rest = wire.substr(out.consumed);
  out = reader.feed(as_bytes(rest));
  ASSERT_EQ(out.state, State::kRequest);
  EXPECT_EQ(out.consumed, second.size());
  EXPECT_EQ(out.request.body, "{}");
}

TEST(HttpRequestReader, InRequestFromFirstByteUntilComplete) {
  HttpRequestReader reader;
  EXPECT_FALSE(reader.in_request());
  EXPECT_EQ(reader.feed(as_bytes("G")).state, State::kNeedMore);
  EXPECT_TRUE(reader.in_request());
  EXPECT_EQ(reader.feed(as_bytes("ET / HTTP/1.1\r\n\r")).state, State::kNeedMore);
  EXPECT_TRUE(reader.in_request());
  auto out = reader.feed(as_bytes("\n"));
  EXPECT_EQ(out.state, State::kRequest);
  EXPECT_EQ(out.consumed, 1u);
  EXPECT_FALSE(reader.in_request());
}

TEST(HttpRequestReader, OversizedBodyRefusedBeforeItArrives) {
  HttpRequestReader reader;
  auto out = reader.feed(as_bytes("PUT /x HTTP/1.1\r\nContent-Length: 1000000\r\n\r\n"));
  EXPECT_EQ(out.state, State::kError);
  EXPECT_EQ(out.error_status, 413);
}

TEST(HttpRequestReader, EveryFeedAfterAnErrorIsRefused) {
  HttpRequestReader reader;
  auto out = reader.feed(as_bytes("NONSENSE\r\n\r\n"));
  ASSERT_EQ(out.state, State::kError);
  EXPECT_EQ(out.error_status, 400);
  const std::string good = "GET / HTTP/1.1\r\n\r\n";
  for (int i = 0; i < 2; ++i) {
    auto again = reader.feed(as_bytes(good));
    EXPECT_EQ(again.state, State::kError);
    EXPECT_EQ(again.error_status, 400);
    EXPECT_EQ(again.consumed, 0u);
  }
  EXPECT_EQ(reader.feed({}).state, State::kError);
}

TEST(HttpRequestReader, EmptyFeedIsNotEndOfStream) {
  HttpRequestReader reader;
  auto out = reader.feed({});
  EXPECT_EQ(out.state, State::kNeedMore);
  EXPECT_EQ(out.consumed, 0u);
  out = reader.feed(as_bytes("GET / HTTP/1.1\r\n\r\n"));
  EXPECT_EQ(out.state, State::kRequest);
}

TEST(HttpRequestReader, BlankLineFloodIsBounded) {
  HttpRequestReader reader;
  const std::string crlfs(20000, '\n');
  auto out = reader.feed(as_bytes(crlfs));
  EXPECT_EQ(out.state, State::kError);
  EXPECT_LE(out.consumed, HttpLimits{}.max_header_bytes);
}

TEST(HttpRequestReader, ZeroHeaderLimitRefusesWithoutLooping) {
  HttpRequestReader reader(HttpLimits{.max_header_bytes = 0});
  EXPECT_EQ(reader.feed(as_bytes("GET / HTTP/1.1\r\n\r\n")).state, State::kError);
}

}  // namespace
}  // namespace bulwark::api
