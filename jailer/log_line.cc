#include "jailer/log_line.h"

#include <time.h>

#include <array>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "monitor/config/message_text.h"

namespace bulwark::jail {

namespace {

constexpr size_t kMaxProgramBytes = 64;

bool program_character(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
         c == '-';
}

// Every byte kept readable: the line is never cut here (the splitter did that).
std::string escaped_line(std::string_view line, bool cut) {
  std::string text = config::printable_text(line, std::string::npos);
  if (cut) text.append(kCutMarker);
  return text;
}

// Key order kept as written, for people reading the log; dump() never throws on what
// printable_text() produced, and `replace` keeps that true should it ever not be UTF-8.
std::string json_record(nlohmann::ordered_json record) {
  std::string line = record.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
  line += '\n';
  return line;
}

nlohmann::ordered_json json_base(std::chrono::system_clock::time_point now, std::string_view level,
                                 std::string_view vm_id, std::string_view process, std::string message) {
  nlohmann::ordered_json record;
  record["time"] = rfc3339_utc_ms(now);
  record["level"] = std::string(level);
  record["vm"] = std::string(vm_id);
  record["process"] = std::string(process);
  record["message"] = std::move(message);
  return record;
}

}  // namespace

Result<LogFormat> parse_log_format(std::string_view text) {
  if (text == "text") return LogFormat::kText;
  if (text == "json") return LogFormat::kJson;
  return Error("expected text or json, got " + config::quoted_text(text));
}

std::string_view relayed_line_level(std::string_view line) {
  const size_t colon = line.find(": ");
  if (colon == 0 || colon == std::string_view::npos || colon > kMaxProgramBytes) return "info";
  for (char c : line.substr(0, colon)) {
    if (!program_character(c)) return "info";
  }
  const std::string_view rest = line.substr(colon + 2);
  for (std::string_view level : {"debug", "info", "warning", "error"}) {
    if (rest.starts_with(level) && rest.substr(level.size()).starts_with(": ")) return level;
  }
  return "info";
}

Result<RelayLevel> parse_relay_level(std::string_view firecracker_level) {
  if (firecracker_level.empty() || firecracker_level == "Info") return RelayLevel::kInfo;
  if (firecracker_level == "Error") return RelayLevel::kError;
  if (firecracker_level == "Warning") return RelayLevel::kWarning;
  if (firecracker_level == "Debug" || firecracker_level == "Trace") return RelayLevel::kDebug;
  if (firecracker_level == "Off") return RelayLevel::kOff;
  return Error("level: expected Error, Warning, Info, Debug, Trace or Off, got " + config::quoted_text(firecracker_level));
}

bool relay_level_passes(RelayLevel minimum, std::string_view line_level) {
  RelayLevel level = RelayLevel::kInfo;
  if (line_level == "debug") level = RelayLevel::kDebug;
  if (line_level == "warning") level = RelayLevel::kWarning;
  if (line_level == "error") level = RelayLevel::kError;
  return minimum != RelayLevel::kOff && level >= minimum;
}

std::string rfc3339_utc_ms(std::chrono::system_clock::time_point time) {
  const auto since_epoch = std::chrono::duration_cast<std::chrono::milliseconds>(time.time_since_epoch());
  auto seconds = since_epoch.count() / 1000;
  auto millis = since_epoch.count() % 1000;
  if (millis < 0) {  // before 1970: floor, not truncate
    millis += 1000;
    seconds -= 1;
  }
  const time_t whole = static_cast<time_t>(seconds);
  tm utc{};
  if (::gmtime_r(&whole, &utc) == nullptr) return "1970-01-01T00:00:00.000Z";
  std::array<char, 64> text{};
  std::snprintf(text.data(), text.size(), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", utc.tm_year + 1900, utc.tm_mon + 1,
                utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec, static_cast<int>(millis));
  return text.data();
}

std::string format_relayed_line(LogFormat format, const LogSource& source, std::string_view line, bool cut,
                                std::chrono::system_clock::time_point now) {
  if (format == LogFormat::kJson) {
    return json_record(
        json_base(now, relayed_line_level(line), source.vm_id, source.process, escaped_line(line, cut)));
  }
  std::string record = "bulwark[";
  record.append(source.vm_id).append("/").append(source.process).append("]: ");
  record += escaped_line(line, cut);
  record += '\n';
  return record;
}

std::string format_dropped_lines(LogFormat format, const LogSource& source, uint64_t count,
                                 std::chrono::system_clock::time_point now) {
  const std::string what = std::to_string(count) + " lines dropped (rate limit)";
  if (format == LogFormat::kJson) {
    nlohmann::ordered_json record = json_base(now, "warning", source.vm_id, source.process, what);
    record["fields"] = {{"dropped", count}};
    return json_record(std::move(record));
  }
  std::string record = "bulwark: warning: VM ";
  record.append(source.vm_id).append(": ").append(source.process).append(": ").append(what);
  record += '\n';
  return record;
}

std::string format_launcher_json(std::string_view vm_id, std::string_view level, std::string_view message,
                                 std::chrono::system_clock::time_point now) {
  // Trailing newlines would only end the message in "\n".
  while (!message.empty() && message.back() == '\n') message.remove_suffix(1);
  return json_record(json_base(now, level, vm_id, "launcher", escaped_line(message, false)));
}

}  // namespace bulwark::jail
