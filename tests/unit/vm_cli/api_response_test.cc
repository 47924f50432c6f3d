// The response framing of `bulwark vm` (jailer/vm_cli/api_response.h) on bytes a compromised
// bulwark-api could send: exact limits whatever the chunking, and a message for every refusal.
#include <gtest/gtest.h>

#include <string>

#include "jailer/vm_cli/api_response.h"
#include "jailer/vm_cli/prometheus_text.h"
#include "jailer/vm_cli/response_json.h"
#include "jailer/vm_cli/terminal_text.h"

namespace bulwark::vm_cli {
namespace {

using State = ApiResponseReader::State;

std::span<const uint8_t> bytes_of(std::string_view text) {
  return {reinterpret_cast<const uint8_t*>(text.data()), text.size()};
}

// Feeds `text` in pieces of `piece` bytes, then the end of the connection if still incomplete.
State read_all(ApiResponseReader& reader, std::string_view text, size_t piece, bool close = true) {
  for (size_t at = 0; at < text.size(); at += piece) {
    reader.feed(bytes_of(text.substr(at, piece)));
  }
  if (close && reader.state() == State::kNeedMore) reader.finish();
  return reader.state();
}

TEST(ApiResponseReader, ReadsAResponseWhateverTheChunking) {
  const std::string text =
      "HTTP/1.1 200 OK\r\ncontent-TYPE: application/json\r\nContent-Length: 11\r\n\r\n{\"id\":\"a\"}\n";
  for (size_t piece : {1u, 2u, 7u, 4096u}) {
    ApiResponseReader reader;
    ASSERT_EQ(read_all(reader, text, piece, false), State::kComplete) << piece << ": " << reader.error();
    EXPECT_EQ(reader.response().status, 200);
    EXPECT_EQ(reader.response().content_type, "application/json");
    EXPECT_EQ(reader.response().body, "{\"id\":\"a\"}\n");
  }
}

TEST(ApiResponseReader, NoContentNeedsNoClose) {
  ApiResponseReader reader;
  EXPECT_EQ(reader.feed(bytes_of("HTTP/1.1 204 No Content\r\n\r\n")), State::kComplete);
  EXPECT_EQ(reader.response().status, 204);
  EXPECT_EQ(reader.response().body, "");
}

TEST(ApiResponseReader, ChunkedAndCloseDelimitedBodies) {
  ApiResponseReader chunked;
  EXPECT_EQ(read_all(chunked, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n", 5,
                     false),
            State::kComplete);
  EXPECT_EQ(chunked.response().body, "abcde");
  ApiResponseReader until_close;
  EXPECT_EQ(until_close.feed(bytes_of("HTTP/1.1 200 OK\r\n\r\nx 1\n")), State::kNeedMore);
  EXPECT_EQ(until_close.finish(), State::kComplete);
  EXPECT_EQ(until_close.response().body, "x 1\n");
}

TEST(ApiResponseReader, BytesAfterTheResponseAreIgnored) {
  ApiResponseReader reader;
  EXPECT_EQ(reader.feed(bytes_of("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 500 No\r\n\r\n")),
            State::kComplete);
  EXPECT_EQ(reader.response().status, 200);
  EXPECT_EQ(reader.response().body, "ok");
}

TEST(ApiResponseReader, HeaderLimitIsExact) {
  ApiResponseLimits limits;
  limits.max_header_bytes = 64;
  const std::string head = "HTTP/1.1 204 No Content\r\nX: ";
  const std::string exact = head + std::string(64 - head.size() - 4, 'v') + "\r\n\r\n";
  ASSERT_EQ(exact.size(), 64u);
  for (size_t piece : {1u, 10u, 64u}) {
    ApiResponseReader fits(limits);
    EXPECT_EQ(read_all(fits, exact, piece, false), State::kComplete) << fits.error();
    const std::string over = head + std::string(64 - head.size() - 3, 'v') + "\r\n\r\n";
    ApiResponseReader too_big(limits);
    EXPECT_EQ(read_all(too_big, over, piece), State::kError);
    EXPECT_EQ(too_big.error(), "response headers larger than 64 bytes");
  }
}

TEST(ApiResponseReader, BodyLimitIsExact) {
  ApiResponseLimits limits;
  limits.max_body_bytes = 10;
  ApiResponseReader fits(limits);
  EXPECT_EQ(read_all(fits, "HTTP/1.1 200 OK\r\n\r\n" + std::string(10, 'b'), 3), State::kComplete) << fits.error();
  ApiResponseReader too_big(limits);
  EXPECT_EQ(read_all(too_big, "HTTP/1.1 200 OK\r\n\r\n" + std::string(11, 'b'), 3), State::kError);
  EXPECT_EQ(too_big.error(), "response body larger than 10 bytes");
  ApiResponseReader declared(limits);
  EXPECT_EQ(declared.feed(bytes_of("HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\n")), State::kError);
  EXPECT_EQ(declared.error(), "response body of 11 bytes is larger than 10");
  ApiResponseReader chunked(limits);
  EXPECT_EQ(read_all(chunked, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n6\r\nabcdef\r\n6\r\nabcdef\r\n", 4),
            State::kError);
  EXPECT_EQ(chunked.error(), "response body larger than 10 bytes");
}

TEST(ApiResponseReader, RefusesMalformedAndInterimAnswers) {
  for (const char* text : {"garbage\r\n\r\n", "HTTP/1.1 2000 OK\r\n\r\n", "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n"
                                                                        "Content-Length: 2\r\n\r\n",
                           "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", "HTTP/1.1 200 OK\r\nBad Header\r\n\r\n"}) {
    ApiResponseReader reader;
    EXPECT_EQ(read_all(reader, text, 1000), State::kError) << text;
    EXPECT_TRUE(reader.error().starts_with("malformed HTTP response: ")) << text << " -> " << reader.error();
  }
  ApiResponseReader interim;
  EXPECT_EQ(read_all(interim, "HTTP/1.1 100 Continue\r\n\r\n", 1000), State::kError);
  EXPECT_EQ(interim.error(), "unexpected HTTP status 100");
  ApiResponseReader empty;
  EXPECT_EQ(empty.finish(), State::kError);
  EXPECT_EQ(empty.error(), "the connection closed without a response");
  ApiResponseReader cut;
  EXPECT_EQ(read_all(cut, "HTTP/1.1 200 OK\r\nContent-Len", 1000), State::kError);
  EXPECT_EQ(cut.error(), "the connection closed before the end of the response");
}

TEST(ApiResponseReader, AfterAnErrorEverythingIsRefused) {
  ApiResponseReader reader;
  EXPECT_EQ(reader.feed(bytes_of("nope\r\n")), State::kError);
  EXPECT_EQ(reader.feed(bytes_of("HTTP/1.1 204 No Content\r\n\r\n")), State::kError);
  EXPECT_EQ(reader.finish(), State::kError);
}

TEST(PrometheusText, ConvertsSamples) {
  auto metrics = prometheus_text_to_json(
      "# TYPE a counter\n\na 1\nb{x=\"q\\\"z\",y=\"\"} -2 123\r\nc 1e3\nd NaN\ne -Inf\nf 18446744073709551616\n"
      "g 18446744073709551615\n");
  ASSERT_TRUE(metrics.ok()) << metrics.error().message();
  EXPECT_EQ((*metrics)["a"], 1);
  EXPECT_EQ((*metrics)["b{x=\"q\\\"z\",y=\"\"}"], -2);
  EXPECT_EQ((*metrics)["c"], 1000.0);
  EXPECT_EQ((*metrics)["d"], "NaN");
  EXPECT_EQ((*metrics)["e"], "-Inf");
  EXPECT_EQ((*metrics)["f"], 18446744073709551616.0);
  EXPECT_EQ((*metrics)["g"].get<uint64_t>(), 18446744073709551615ull);
}

TEST(PrometheusText, RefusesMalformedLines) {
  for (const char* text : {"a\n", "a x\n", "a 1 2 3\n", "a{b=\"c} 1\n", "a{b=c} 1\n", "9a 1\n", "a 1\na 2\n",
                           "a inf\n", "a 1 -\n", "a{b=\"\\x\"} 1\n", "a 0x10\n"}) {
    auto metrics = prometheus_text_to_json(text);
    EXPECT_FALSE(metrics.ok()) << text;
    if (!metrics.ok()) {
      EXPECT_TRUE(metrics.error().message().starts_with("metrics line ")) << metrics.error().message();
    }
  }
}

TEST(ResponseJson, BoundsDepthAndFindsFaults) {
  EXPECT_TRUE(parse_response_json(std::string(64, '[') + std::string(64, ']')).ok());
  auto deep = parse_response_json(std::string(65, '[') + std::string(65, ']'));
  ASSERT_FALSE(deep.ok());
  EXPECT_EQ(deep.error().message(), "JSON nested deeper than 64 levels");
  EXPECT_FALSE(parse_response_json("{\"a\":\"\xff\"}").ok());  // invalid UTF-8
  EXPECT_EQ(fault_message_of(R"({"fault_message":"no"})"), "no");
  EXPECT_EQ(fault_message_of(R"({"fault_message":1})"), "");
  EXPECT_EQ(fault_message_of("<html>"), "");
  EXPECT_EQ(dump_response_json(nlohmann::json("\x1b\xc2\x9b")), "\"\\u001b\\u009b\"\n");
}

TEST(TerminalText, EscapesC0C1AndInvalidUtf8) {
  EXPECT_EQ(terminal_text("ok \xc3\xa9"), "ok \xc3\xa9");
  EXPECT_EQ(terminal_text("\x1b[0m\xc2\x9b" "31m\xff"), "\\x1b[0m\\u009b31m\\xff");
  EXPECT_EQ(terminal_text(std::string(200, 'a')).size(), 200u);  // no cut by default
}

}  // namespace
}  // namespace bulwark::vm_cli
