// `bulwark vm`'s parsers of bulwark-api's answers (jailer/vm_cli, library bulwark_api_response):
// the HTTP response framing, then for a complete answer the JSON and Prometheus readings of its
// body, as the CLI would apply them. The API process is jailed and may be compromised; the CLI
// runs as root. Input: byte 0 picks the split into feed() calls (a recv() boundary: 0 = all at
// once, else pieces of that many bytes), the rest is the connection's bytes; the connection
// then closes. Limits are shrunk so the fuzzer reaches them with small inputs.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>

#include "jailer/vm_cli/api_response.h"
#include "jailer/vm_cli/prometheus_text.h"
#include "jailer/vm_cli/response_json.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace bulwark::vm_cli;
  if (size < 1) return 0;
  const size_t piece = data[0] == 0 ? size : data[0];
  const std::span<const uint8_t> stream(data + 1, size - 1);
  ApiResponseLimits limits;
  limits.max_header_bytes = 1024;
  limits.max_body_bytes = 4096;
  ApiResponseReader reader(limits);
  for (size_t at = 0; at < stream.size() && reader.state() == ApiResponseReader::State::kNeedMore; at += piece) {
    reader.feed(stream.subspan(at, std::min(piece, stream.size() - at)));
  }
  reader.finish();
  if (reader.state() != ApiResponseReader::State::kComplete) {
    if (reader.error().empty()) __builtin_trap();  // every refusal has a message
    return 0;
  }
  const ApiResponse& response = reader.response();
  if (response.status < 200 || response.status > 599 || response.body.size() > limits.max_body_bytes) {
    __builtin_trap();
  }
  auto json = parse_response_json(response.body);
  if (json.ok()) (void)dump_response_json(*json);
  (void)fault_message_of(response.body);
  auto metrics = prometheus_text_to_json(response.body);
  if (metrics.ok()) (void)dump_response_json(*metrics);
  return 0;
}
