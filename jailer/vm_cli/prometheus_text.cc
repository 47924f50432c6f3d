// Prometheus text to JSON; input is bulwark-api's (hostile) GET /metrics body.
#include "jailer/vm_cli/prometheus_text.h"

#include <charconv>
#include <cmath>
#include <cstdint>
#include <string>

namespace bulwark::vm_cli {

namespace {

// Far more than Bulwark exports; keeps a hostile body from becoming a million-entry map.
constexpr size_t kMaxSeries = 65536;

bool is_name_start(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
}
bool is_name_char(char c) { return is_name_start(c) || (c >= '0' && c <= '9'); }
bool is_blank(char c) { return c == ' ' || c == '\t'; }

// The `{name="value",...}` block starting at line[pos] == '{': its end, or npos if malformed.
size_t end_of_labels(std::string_view line, size_t pos) {
  ++pos;
  while (true) {
    while (pos < line.size() && is_blank(line[pos])) ++pos;
    if (pos < line.size() && line[pos] == '}') return pos + 1;
    if (pos >= line.size() || !is_name_start(line[pos]) || line[pos] == ':') return std::string_view::npos;
    while (pos < line.size() && is_name_char(line[pos]) && line[pos] != ':') ++pos;
    if (pos >= line.size() || line[pos] != '=') return std::string_view::npos;
    if (++pos >= line.size() || line[pos] != '"') return std::string_view::npos;
    for (++pos;; ++pos) {
      if (pos >= line.size()) return std::string_view::npos;
      if (line[pos] == '"') break;
      if (line[pos] == '\\') {
        if (++pos >= line.size()) return std::string_view::npos;
        if (line[pos] != '\\' && line[pos] != '"' && line[pos] != 'n') return std::string_view::npos;
      }
    }
    ++pos;
    while (pos < line.size() && is_blank(line[pos])) ++pos;
    if (pos < line.size() && line[pos] == ',') ++pos;
    else if (pos >= line.size() || line[pos] != '}') return std::string_view::npos;
  }
}

bool all_digits(std::string_view text) {
  if (text.empty()) return false;
  for (char c : text)
    if (c < '0' || c > '9') return false;
  return true;
}

// A sample value: integer, float, NaN, +Inf, -Inf.
Result<nlohmann::json> parse_value(std::string_view token) {
  if (token == "NaN" || token == "+Inf" || token == "-Inf") return nlohmann::json(std::string(token));
  if (token == "Inf") return nlohmann::json("+Inf");
  const bool negative = !token.empty() && token[0] == '-';
  std::string_view digits = token;
  if (!digits.empty() && (digits[0] == '-' || digits[0] == '+')) digits.remove_prefix(1);
  if (all_digits(digits)) {
    if (negative) {
      int64_t value = 0;
      auto [end, ec] = std::from_chars(token.data(), token.data() + token.size(), value);
      if (ec == std::errc() && end == token.data() + token.size()) return nlohmann::json(value);
    } else {
      uint64_t value = 0;
      auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
      if (ec == std::errc() && end == digits.data() + digits.size()) return nlohmann::json(value);
    }
    // Out of 64-bit range: a float below, like Prometheus itself reads it.
  }
  // from_chars takes no '+', and would take "inf"/"nan" spellings Prometheus does not write.
  if (digits.empty() || !((digits[0] >= '0' && digits[0] <= '9') || digits[0] == '.')) {
    return Error("invalid sample value");
  }
  double value = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  if (ec != std::errc() || end != digits.data() + digits.size() || !std::isfinite(value)) {
    return Error("invalid sample value");
  }
  return nlohmann::json(negative ? -value : value);
}

// One sample line into `out`.
Status add_sample(std::string_view line, nlohmann::json& out) {
  size_t pos = 0;
  if (!is_name_start(line[0])) return Error("expected a metric name");
  while (pos < line.size() && is_name_char(line[pos])) ++pos;
  if (pos < line.size() && line[pos] == '{') {
    pos = end_of_labels(line, pos);
    if (pos == std::string_view::npos) return Error("malformed labels");
  }
  const std::string_view series = line.substr(0, pos);
  if (pos >= line.size() || !is_blank(line[pos])) return Error("expected a space and a value");
  while (pos < line.size() && is_blank(line[pos])) ++pos;
  size_t end = pos;
  while (end < line.size() && !is_blank(line[end])) ++end;
  auto value = parse_value(line.substr(pos, end - pos));
  if (!value.ok()) return value.error();
  // An optional integer timestamp (milliseconds), then nothing.
  while (end < line.size() && is_blank(line[end])) ++end;
  if (end < line.size()) {
    size_t stamp = end + (line[end] == '-' ? 1 : 0);
    const size_t digits_start = stamp;
    while (stamp < line.size() && line[stamp] >= '0' && line[stamp] <= '9') ++stamp;
    const bool has_digits = stamp > digits_start;
    while (stamp < line.size() && is_blank(line[stamp])) ++stamp;
    if (!has_digits || stamp != line.size()) return Error("unexpected text after the value");
  }
  const std::string key(series);
  if (out.contains(key)) return Error("series given twice");
  if (out.size() >= kMaxSeries) return Error("more than " + std::to_string(kMaxSeries) + " series");
  out[key] = std::move(*value);
  return ok_status();
}

}  // namespace

Result<nlohmann::json> prometheus_text_to_json(std::string_view text) {
  nlohmann::json out = nlohmann::json::object();
  size_t line_number = 0;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(start, end - start);
    start = end + 1;
    ++line_number;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    while (!line.empty() && is_blank(line.front())) line.remove_prefix(1);
    if (line.empty() || line[0] == '#') continue;
    if (Status added = add_sample(line, out); !added.ok()) {
      return added.error().wrap("metrics line " + std::to_string(line_number));
    }
  }
  return out;
}

}  // namespace bulwark::vm_cli
