// Strict JSON body parsing and typed member access (the API client's bytes). See json_body.h.
#include "api/routes/json_body.h"

#include <algorithm>
#include <set>

namespace bulwark::api::body {

namespace {

using nlohmann::json;

// A SAX pass that builds nothing: it finds duplicate keys (nlohmann would keep the last one, so
// the client and a reviewer of its request could read different values) and bounds nesting
// before the recursive DOM parse sees the text.
class DuplicateAndDepthChecker {
 public:
  bool null() { return true; }
  bool boolean(bool) { return true; }
  bool number_integer(json::number_integer_t) { return true; }
  bool number_unsigned(json::number_unsigned_t) { return true; }
  bool number_float(json::number_float_t, const json::string_t&) { return true; }
  bool string(json::string_t&) { return true; }
  bool binary(json::binary_t&) { return true; }  // never produced by JSON text

  bool start_object(std::size_t) { return push(/*is_array=*/false); }
  bool key(json::string_t& key) {
    Frame& frame = frames_.back();
    frame.member = key;
    if (!frame.keys.insert(key).second) return fail("body field " + path() + ": duplicate field");
    return true;
  }
  bool end_object() { return pop(); }
  bool start_array(std::size_t) { return push(/*is_array=*/true); }
  bool end_array() { return pop(); }

  bool parse_error(std::size_t position, const std::string&, const json::exception&) {
    // nlohmann's own message echoes the bytes it last read; the offset says enough.
    // `position` counts the bytes read, so it is the offending byte numbered from 1.
    return fail("body: not valid JSON (at byte " + std::to_string(position) + ")");
  }

  const std::string& error() const { return error_; }

 private:
  struct Frame {
    bool is_array;
    std::string member;
    std::set<std::string> keys;
  };

  bool push(bool is_array) {
    if (frames_.size() >= kMaxBodyDepth)
      return fail("body: nested deeper than " + std::to_string(kMaxBodyDepth) + " levels");
    frames_.push_back(Frame{is_array, {}, {}});
    return true;
  }
  bool pop() {
    frames_.pop_back();
    return true;
  }
  // "rate_limiter.bandwidth.size" for the member being read (array levels are skipped).
  std::string path() const {
    std::string out;
    for (const Frame& frame : frames_) {
      if (frame.is_array) continue;
      if (!out.empty()) out += '.';
      out += echo_text(frame.member);
    }
    return out;
  }
  bool fail(std::string message) {
    if (error_.empty()) error_ = std::move(message);
    return false;
  }

  std::vector<Frame> frames_;
  std::string error_;
};

const char* type_name(const json& value) {
  switch (value.type()) {
    case json::value_t::object: return "an object";
    case json::value_t::array: return "an array";
    case json::value_t::string: return "a string";
    case json::value_t::boolean: return "a boolean";
    case json::value_t::null: return "null";
    case json::value_t::number_float: return "a fractional number";
    case json::value_t::number_integer:
    case json::value_t::number_unsigned: return "an integer";
    default: return "an unsupported value";
  }
}

}  // namespace

Result<json> parse_object(std::string_view text) {
  if (text.size() > kMaxBodyBytes)
    return Error("body: larger than " + std::to_string(kMaxBodyBytes) + " bytes");
  // nlohmann's lexer may take a raw NUL for the end of input and ignore what follows; JSON text
  // never contains one.
  if (text.find('\0') != std::string_view::npos) return Error("body: contains a NUL byte");
  DuplicateAndDepthChecker checker;
  if (!json::sax_parse(text.begin(), text.end(), &checker))
    return Error(checker.error().empty() ? "body: not valid JSON" : checker.error());
  json document = json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (document.is_discarded()) return Error("body: not valid JSON");
  if (!document.is_object())
    return Error(std::string("body: expected a JSON object, got ") + type_name(document));
  return document;
}

std::string echo_text(std::string_view text, size_t max_bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (i == max_bytes) {
      out += "...";
      break;
    }
    const auto byte = static_cast<unsigned char>(text[i]);
    if (byte >= 0x20 && byte < 0x7f) {
      out += static_cast<char>(byte);
    } else {
      out += "\\x";
      out += kHex[byte >> 4];
      out += kHex[byte & 0xf];
    }
  }
  return out;
}

FieldReader::FieldReader(const json& object, std::string prefix)
    : object_(object), prefix_(std::move(prefix)) {}

std::string FieldReader::child_prefix(std::string_view name) const {
  return prefix_ + std::string(name) + ".";
}

Error FieldReader::field_error(std::string_view name, const std::string& why) const {
  return Error("body field " + prefix_ + std::string(name) + ": " + why);
}

bool FieldReader::has(std::string_view name) const {
  const auto it = object_.find(name);
  return it != object_.end() && !it->is_null();
}

const json* FieldReader::take(std::string_view name) {
  read_.emplace_back(name);
  const auto it = object_.find(name);
  if (it == object_.end() || it->is_null()) return nullptr;
  return &*it;
}

Status FieldReader::text(std::string_view name, Presence presence, const wire::TextRule& rule,
                         std::string& out) {
  const json* value = take(name);
  if (value == nullptr) {
    if (presence == Presence::kRequired) return field_error(name, "required");
    return ok_status();
  }
  if (!value->is_string())
    return field_error(name, std::string("expected a string, got ") + type_name(*value));
  const std::string& text = *value->get_ptr<const json::string_t*>();
  if (auto problem = wire::text_problem(text, rule)) {
    if (rule.charset == wire::TextCharset::kId) {
      return field_error(name, "expected " + std::to_string(rule.min_bytes) + " to " +
                                   std::to_string(rule.max_bytes) +
                                   " characters from A-Z a-z 0-9 _ - (" + *problem + ")");
    }
    return field_error(name, *problem);
  }
  out = text;
  return ok_status();
}

Status FieldReader::boolean(std::string_view name, Presence presence, bool& out) {
  const json* value = take(name);
  if (value == nullptr) {
    if (presence == Presence::kRequired) return field_error(name, "required");
    return ok_status();
  }
  if (!value->is_boolean())
    return field_error(name, std::string("expected a boolean, got ") + type_name(*value));
  out = value->get<bool>();
  return ok_status();
}

Status FieldReader::integer(std::string_view name, Presence presence, uint64_t min, uint64_t max,
                            uint64_t& out) {
  const json* value = take(name);
  if (value == nullptr) {
    if (presence == Presence::kRequired) return field_error(name, "required");
    return ok_status();
  }
  const std::string range = "expected an integer from " + std::to_string(min) + " to " +
                            std::to_string(max);
  // A number beyond int64/uint64 parses as a float, and so is refused here too.
  if (value->is_number_unsigned()) {
    const auto number = value->get<uint64_t>();
    if (number < min || number > max) return field_error(name, range + ", got " + value->dump());
    out = number;
    return ok_status();
  }
  if (value->is_number()) return field_error(name, range + ", got " + value->dump());
  return field_error(name, range + ", got " + type_name(*value));
}

Result<const json*> FieldReader::object(std::string_view name, Presence presence) {
  const json* value = take(name);
  if (value == nullptr) {
    if (presence == Presence::kRequired) return field_error(name, "required");
    return static_cast<const json*>(nullptr);
  }
  if (!value->is_object())
    return field_error(name, std::string("expected an object, got ") + type_name(*value));
  return value;
}

Status FieldReader::only_known_fields() const {
  for (const auto& [key, value] : object_.items()) {
    if (std::find(read_.begin(), read_.end(), key) == read_.end())
      return Error("body field " + prefix_ + echo_text(key) + ": unknown field");
  }
  return ok_status();
}

}  // namespace bulwark::api::body
