// The outline rendering of bulwark-api's policy document (hostile text; see the header).
#include "jailer/vm_cli/json_summary.h"

#include "jailer/vm_cli/terminal_text.h"

namespace bulwark::vm_cli {

namespace {

using nlohmann::json;

std::string scalar_text(const json& value) {
  if (value.is_string()) return terminal_text(value.get_ref<const std::string&>());
  return value.dump(-1, ' ', true, json::error_handler_t::replace);
}

// A value that fits on its key's line: a scalar, an empty container, an array of scalars.
bool is_inline(const json& value) {
  if (!value.is_structured() || value.empty()) return true;
  if (!value.is_array()) return false;
  for (const json& item : value)
    if (item.is_structured()) return false;
  return true;
}

std::string inline_text(const json& value) {
  if (!value.is_structured()) return scalar_text(value);
  if (value.empty()) return value.is_array() ? "(none)" : "{}";
  std::string out;
  for (const json& item : value) {
    if (!out.empty()) out += ", ";
    out += scalar_text(item);
  }
  return out;
}

void render(const json& value, size_t indent, std::string& out) {
  const std::string pad(indent, ' ');
  if (is_inline(value)) {
    out += pad + inline_text(value) + "\n";
  } else if (value.is_object()) {
    for (const auto& [key, item] : value.items()) {
      if (is_inline(item)) {
        out += pad + terminal_text(key) + ": " + inline_text(item) + "\n";
      } else {
        out += pad + terminal_text(key) + ":\n";
        render(item, indent + 2, out);
      }
    }
  } else {
    for (const json& item : value) {
      if (is_inline(item)) {
        out += pad + "- " + inline_text(item) + "\n";
      } else {
        out += pad + "-\n";
        render(item, indent + 2, out);
      }
    }
  }
}

}  // namespace

std::string render_json_summary(const nlohmann::json& value) {
  std::string out;
  render(value, 0, out);
  return out;
}

}  // namespace bulwark::vm_cli
