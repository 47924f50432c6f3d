// The launcher's log records of a VM process's stderr (jailer/line_splitter.h, jailer/log_line.h):
// whatever bytes a process writes, in whatever chunks they arrive, each line becomes exactly
// one record line, valid UTF-8 without a control character, stamped with the VM id and process
// the launcher chose; a JSON record parses to an object whose message is a string.
// Input: one byte of chunk size, then the stream.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "jailer/line_splitter.h"
#include "jailer/log_line.h"
#include "monitor/config/message_text.h"

namespace {

using namespace bulwark;

void check_one_clean_line(const std::string& record) {
  if (record.empty() || record.back() != '\n' || record.find('\n') != record.size() - 1) std::abort();
  const std::string_view body(record.data(), record.size() - 1);
  for (size_t pos = 0; pos < body.size();) {
    const auto byte = static_cast<unsigned char>(body[pos]);
    if (byte < 0x20 || byte == 0x7f) std::abort();
    const size_t length = config::utf8_sequence_length(body, pos);
    if (length == 0) std::abort();
    pos += length;
  }
}

void check_line(const jail::LineSplitter::Line& line) {
  if (line.text.empty() || line.text.find('\n') != std::string::npos) std::abort();
  if (line.text.size() > jail::kMaxRelayedLineBytes) std::abort();
  if (line.cut && line.text.size() != jail::kMaxRelayedLineBytes) std::abort();
  const jail::LogSource source{"vm-7", "dev-blk:blk0"};
  const auto now = std::chrono::system_clock::time_point(std::chrono::milliseconds(1714566896789));

  const std::string text = jail::format_relayed_line(jail::LogFormat::kText, source, line.text, line.cut, now);
  check_one_clean_line(text);
  if (!std::string_view(text).starts_with("bulwark[vm-7/dev-blk:blk0]: ")) std::abort();

  const std::string record = jail::format_relayed_line(jail::LogFormat::kJson, source, line.text, line.cut, now);
  check_one_clean_line(record);
  const auto json = nlohmann::json::parse(record, nullptr, false);
  if (!json.is_object() || json.size() != 5) std::abort();
  if (json["vm"] != "vm-7" || json["process"] != "dev-blk:blk0") std::abort();
  if (!json["message"].is_string() || json["time"] != "2024-05-01T12:34:56.789Z") std::abort();
  const std::string_view level = jail::relayed_line_level(line.text);
  if (json["level"] != level) std::abort();
  if (level != "info" && level != "debug" && level != "warning" && level != "error") std::abort();

  // The launcher's own records and the dropped-lines report take the same shapes: a line a
  // process wrote used as the launcher's message, and its length as a count.
  const std::string launcher = jail::format_launcher_json("vm-7", level, line.text, now);
  check_one_clean_line(launcher);
  if (!nlohmann::json::parse(launcher, nullptr, false).is_object()) std::abort();
  for (jail::LogFormat format : {jail::LogFormat::kText, jail::LogFormat::kJson}) {
    check_one_clean_line(jail::format_dropped_lines(format, source, line.text.size(), now));
  }
  // The flag's parser sees arbitrary text too.
  (void)jail::parse_log_format(line.text);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const size_t chunk = static_cast<size_t>(data[0]) + 1;
  std::string_view stream(reinterpret_cast<const char*>(data + 1), size - 1);
  jail::LineSplitter splitter(jail::kMaxRelayedLineBytes);
  std::vector<jail::LineSplitter::Line> lines;
  size_t fed = 0;
  while (!stream.empty()) {
    const std::string_view part = stream.substr(0, chunk);
    splitter.feed(part, lines);
    stream.remove_prefix(part.size());
    fed += part.size();
  }
  splitter.finish(lines);
  size_t kept = 0;
  for (const auto& line : lines) {
    check_line(line);
    kept += line.text.size();
  }
  if (kept > fed) std::abort();
  return 0;
}
