#include "monitor/config/strict_json.h"

#include <algorithm>
#include <set>
#include <vector>

#include "monitor/config/message_text.h"

namespace bulwark::config {

namespace {

using nlohmann::json;

// A SAX pass that builds nothing: it tracks the keys of every open object to find duplicates,
// and keeps the current JSON pointer for the message. nlohmann's SAX parser is iterative, so
// the depth check here happens before anything recursive sees the document.
class DuplicateAndDepthChecker {
 public:
  explicit DuplicateAndDepthChecker(std::string_view text) : text_(text) {}

  bool null() { return begin_value(); }
  bool boolean(bool) { return begin_value(); }
  bool number_integer(json::number_integer_t) { return begin_value(); }
  bool number_unsigned(json::number_unsigned_t) { return begin_value(); }
  bool number_float(json::number_float_t, const json::string_t&) { return begin_value(); }
  bool string(json::string_t&) { return begin_value(); }
  bool binary(json::binary_t&) { return begin_value(); }  // never produced by JSON text

  bool start_object(std::size_t) { return begin_value() && push(/*is_array=*/false); }
  bool key(json::string_t& key) {
    Frame& frame = frames_.back();
    frame.member = key;
    if (!frame.keys.insert(key).second) return fail(pointer() + ": duplicate field");
    return true;
  }
  bool end_object() { return pop(); }
  bool start_array(std::size_t) { return begin_value() && push(/*is_array=*/true); }
  bool end_array() { return pop(); }

  bool parse_error(std::size_t position, const std::string&,
                   const nlohmann::json::exception& ex) {
    std::string_view what = ex.what();
    // Drop nlohmann's "[json.exception.parse_error.101] " tag; keep its line/column text.
    if (size_t tag_end = what.find("] "); !what.empty() && what.front() == '[' &&
                                          tag_end != std::string_view::npos) {
      what.remove_prefix(tag_end + 2);
    }
    std::string message = "invalid JSON: ";
    // Number overflow errors carry no position of their own.
    if (what.find("line ") == std::string_view::npos) message += line_and_column(position) + ": ";
    // nlohmann's "; last read: '...'" echoes the input's bytes (the start of a secret file
    // named as the config): dropped, the line and column say where.
    if (size_t last_read = what.find("; last read:"); last_read != std::string_view::npos)
      what = what.substr(0, last_read);
    return fail(message + printable_text(what, 400));
  }

  const std::string& error() const { return error_; }

 private:
  struct Frame {
    bool is_array;
    size_t elements = 0;     // arrays: values seen so far
    std::string member;      // objects: the current key
    std::set<std::string> keys;
  };

  // Every value, container or not, is the next element when the enclosing value is an array.
  bool begin_value() {
    if (!frames_.empty() && frames_.back().is_array) ++frames_.back().elements;
    return true;
  }
  bool push(bool is_array) {
    if (frames_.size() >= kMaxJsonDepth) {
      return fail(pointer() + ": nested deeper than " + std::to_string(kMaxJsonDepth) + " levels");
    }
    frames_.push_back(Frame{is_array, 0, {}, {}});
    return true;
  }
  bool pop() {
    frames_.pop_back();
    return true;
  }
  // Pointer of the value currently being read.
  std::string pointer() const {
    std::string out;
    for (const Frame& frame : frames_) {
      out = frame.is_array ? json_pointer_child(out, frame.elements - 1)
                           : json_pointer_child(out, frame.member);
    }
    return out;
  }
  bool fail(std::string message) {
    error_ = std::move(message);
    return false;
  }

  // "at line 2, column 7" for the byte at offset-1: the convention nlohmann's messages use,
  // where the offset counts the bytes read so far.
  std::string line_and_column(size_t offset) const {
    return "at " + line_and_column_of(text_, offset == 0 ? 0 : offset - 1);
  }

  std::string_view text_;
  std::vector<Frame> frames_;
  std::string error_;
};

}  // namespace

std::string line_and_column_of(std::string_view text, size_t offset) {
  const std::string_view before = text.substr(0, std::min(offset, text.size()));
  const size_t last_newline = before.rfind('\n');
  const size_t line_start = last_newline == std::string_view::npos ? 0 : last_newline + 1;
  const size_t line = 1 + static_cast<size_t>(std::count(before.begin(), before.end(), '\n'));
  return "line " + std::to_string(line) + ", column " + std::to_string(offset - line_start + 1);
}

std::string json_pointer_child(std::string_view parent, std::string_view key) {
  std::string token;
  for (char c : key) {
    if (c == '~') {
      token += "~0";
    } else if (c == '/') {
      token += "~1";
    } else {
      token += c;
    }
  }
  return std::string(parent) + "/" + printable_text(token);
}

std::string json_pointer_child(std::string_view parent, size_t index) {
  return std::string(parent) + "/" + std::to_string(index);
}

Result<nlohmann::json> parse_strict_json(std::string_view text) {
  if (text.size() > kMaxJsonBytes) {
    return Error("larger than " + std::to_string(kMaxJsonBytes) + " bytes");
  }
  // nlohmann's lexer takes a NUL byte for the end of input and would ignore whatever follows;
  // JSON text never contains one (inside strings it must be written \u0000).
  if (size_t nul = text.find('\0'); nul != std::string_view::npos) {
    return Error("invalid JSON: NUL byte at " + line_and_column_of(text, nul));
  }
  DuplicateAndDepthChecker checker(text);
  if (!json::sax_parse(text.begin(), text.end(), &checker)) {
    // sax_parse only fails through the checker, which always says why.
    return Error(checker.error().empty() ? "invalid JSON" : checker.error());
  }
  json document = json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (document.is_discarded()) return Error("invalid JSON");  // the SAX pass accepted it
  return document;
}

std::string describe_json_value(const nlohmann::json& value) {
  using nlohmann::json;
  switch (value.type()) {
    case json::value_t::object: return "an object";
    case json::value_t::array: return "an array";
    case json::value_t::string: return quoted_text(*value.get_ptr<const json::string_t*>());
    case json::value_t::null: return "null";
    case json::value_t::boolean:
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
    case json::value_t::number_float: return value.dump();
    default: return "an unsupported value";
  }
}

}  // namespace bulwark::config
