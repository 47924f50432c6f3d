#include "attestation/launch_reference.h"

#include <algorithm>
#include <cstring>
#include <nlohmann/json.hpp>
#include <set>

#include "attestation/hex_text.h"
#include "attestation/launch_events.h"

namespace bulwark::attestation {

namespace {

using Json = nlohmann::json;

Result<Sha256> digest_field(const Json& value, const std::string& where) {
  if (!value.is_string()) return Error(where + ": expected a string of 64 hex digits");
  const std::string& text = value.get_ref<const std::string&>();
  if (text.size() != 2 * kSha256Bytes) return Error(where + ": expected 64 hex digits");
  auto bytes = parse_hex(text, kSha256Bytes);
  if (!bytes.ok()) return bytes.error().wrap(where);
  Sha256 out{};
  std::copy(bytes->begin(), bytes->end(), out.begin());
  return out;
}

std::string as_text(std::span<const uint8_t> bytes) { return std::string(bytes.begin(), bytes.end()); }

bool starts_with(std::span<const uint8_t> data, std::string_view prefix) {
  return data.size() >= prefix.size() && std::memcmp(data.data(), prefix.data(), prefix.size()) == 0;
}

}  // namespace

Result<Reference> parse_reference(std::string_view json) {
  if (json.size() > kMaxReferenceBytes) return Error("reference: larger than 1 MiB");
  const Json doc = Json::parse(json, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) return Error("reference: not a JSON object");
  const auto version = doc.find("bulwark_reference");
  if (version == doc.end() || !version->is_number_integer() || version->get<int64_t>() != 1) {
    return Error("reference: \"bulwark_reference\": 1 missing");
  }
  for (const auto& [key, value] : doc.items()) {
    if (key != "bulwark_reference" && key != "boot" && key != "isolation")
      return Error("reference: unknown key \"" + key.substr(0, 64) + "\"");
  }
  Reference reference;
  if (const auto boot = doc.find("boot"); boot != doc.end()) {
    if (!boot->is_object()) return Error("reference: /boot is not an object");
    for (const auto& [key, value] : boot->items()) {
      if (key == "kernel") {
        auto d = digest_field(value, "reference: /boot/kernel");
        if (!d.ok()) return d.error();
        reference.kernel = *d;
      } else if (key == "initrd") {
        auto d = digest_field(value, "reference: /boot/initrd");
        if (!d.ok()) return d.error();
        reference.initrd = *d;
      } else if (key == "cmdline") {
        if (!value.is_string()) return Error("reference: /boot/cmdline is not a string");
        const std::string& text = value.get_ref<const std::string&>();
        if (text.size() > kMaxCmdlineBytes || text.find('\0') != std::string::npos) {
          return Error("reference: /boot/cmdline: over 64 KiB or a NUL inside");
        }
        reference.cmdline = text;
      } else if (key == "vm_config") {
        auto d = digest_field(value, "reference: /boot/vm_config");
        if (!d.ok()) return d.error();
        reference.vm_config = *d;
      } else {
        return Error("reference: /boot: unknown key \"" + key.substr(0, 64) + "\"");
      }
    }
  }
  if (const auto isolation = doc.find("isolation"); isolation != doc.end()) {
    if (!isolation->is_object()) return Error("reference: /isolation is not an object");
    if (isolation->size() > kMaxReferenceItems) return Error("reference: more than 4096 isolation items");
    for (const auto& [key, value] : isolation->items()) {
      if (key.empty() || key.size() > kMaxReferenceNameBytes || key.find('\0') != std::string::npos) {
        return Error("reference: /isolation: an item name empty, over 4 KiB or with a NUL");
      }
      auto d = digest_field(value, "reference: /isolation/" + key.substr(0, 64));
      if (!d.ok()) return d.error();
      reference.isolation[key] = *d;
    }
  }
  return reference;
}

std::string reference_json(const Reference& reference) {
  Json doc = Json::object();
  doc["bulwark_reference"] = 1;
  Json boot = Json::object();
  if (reference.kernel) boot["kernel"] = to_hex(*reference.kernel);
  if (reference.initrd) boot["initrd"] = to_hex(*reference.initrd);
  if (reference.cmdline) boot["cmdline"] = *reference.cmdline;
  if (reference.vm_config) boot["vm_config"] = to_hex(*reference.vm_config);
  doc["boot"] = boot;
  Json isolation = Json::object();
  for (const auto& [name, digest] : reference.isolation) isolation[name] = to_hex(digest);
  doc["isolation"] = isolation;
  return doc.dump(2, ' ', false, Json::error_handler_t::replace) + "\n";
}

Result<std::vector<LaunchItem>> launch_items(std::span<const Event> events) {
  std::vector<LaunchItem> items;
  std::set<std::string> seen;
  for (size_t i = 0; i < events.size(); ++i) {
    const Event& event = events[i];
    const std::string where = "event " + std::to_string(i + 1);
    LaunchItem item;
    item.pcr = event.pcr;
    item.sha256 = event.digests.sha256;
    if (event.pcr == kPcrBootInputs && event.type == EventType::kIpl &&
        as_text(event.data) == std::string(kKernelDescription)) {
      item.name = "kernel";
    } else if (event.pcr == kPcrBootInputs && event.type == EventType::kIpl &&
               starts_with(event.data, kCommandLinePrefix) && event.data.back() == 0) {
      item.name = "cmdline";
      item.text =
          std::string(event.data.begin() + static_cast<ptrdiff_t>(kCommandLinePrefix.size()), event.data.end() - 1);
      const std::span<const uint8_t> text_bytes(reinterpret_cast<const uint8_t*>(item.text.data()), item.text.size());
      auto digests = measure(text_bytes);
      if (!digests.ok()) return digests.error();
      if (digests->sha256 != item.sha256) return Error(where + ": the command line's text does not hash to its digest");
    } else if (event.type == EventType::kEventTag) {
      auto tagged = parse_tagged_event(event.data);
      if (!tagged.ok()) return tagged.error().wrap(where);
      if (event.pcr == kPcrBootInputs && tagged->tag == kLinuxInitrdTag) {
        item.name = "initrd";
      } else if (event.pcr == kPcrBootInputs && tagged->tag == kBulwarkIsolationTag &&
                 as_text(tagged->data) == std::string(kVmConfigItem) + '\0') {
        item.name = std::string(kVmConfigItem);
      } else if (event.pcr == kPcrIsolation && tagged->tag == kBulwarkIsolationTag && !tagged->data.empty() &&
                 tagged->data.back() == 0 && tagged->data.size() <= kMaxReferenceNameBytes + 1) {
        item.name = std::string(tagged->data.begin(), tagged->data.end() - 1);
        if (item.name.empty() || item.name.find('\0') != std::string::npos)
          return Error(where + ": a malformed item name");
      }
    }
    if (item.name.empty()) {
      return Error(where + ": PCR " + std::to_string(event.pcr) + ", " +
                   event_type_name(static_cast<uint32_t>(event.type)) + ": not an event a Bulwark launch writes");
    }
    if (!seen.insert(item.name).second) return Error(where + ": \"" + item.name.substr(0, 64) + "\" measured twice");
    items.push_back(std::move(item));
  }
  return items;
}

std::vector<ReferenceCheck> compare_with_reference(std::span<const LaunchItem> items, const Reference& reference) {
  std::vector<ReferenceCheck> checks;
  auto find = [&items](const std::string& name) -> const LaunchItem* {
    for (const LaunchItem& item : items) {
      if (item.name == name) return &item;
    }
    return nullptr;
  };
  auto compare = [&checks](const std::string& name, const LaunchItem* measured, const std::optional<Sha256>& expected) {
    ReferenceCheck check{name, false, true, ""};
    if (!expected && !measured) return;
    if (!expected) {
      check.detail = "measured (sha256 " + to_hex(measured->sha256) + ") but not in the reference";
    } else if (!measured) {
      check.detail = "in the reference (sha256 " + to_hex(*expected) + ") but not measured";
    } else if (measured->sha256 != *expected) {
      check.detail = "differs: expected sha256 " + to_hex(*expected) + ", measured " + to_hex(measured->sha256);
    } else {
      check.passed = true;
      check.detail = "sha256 " + to_hex(*expected);
    }
    checks.push_back(std::move(check));
  };
  compare("kernel", find("kernel"), reference.kernel);
  compare("initrd", find("initrd"), reference.initrd);
  std::optional<Sha256> cmdline_digest;
  if (reference.cmdline) {
    const std::span<const uint8_t> text(reinterpret_cast<const uint8_t*>(reference.cmdline->data()),
                                        reference.cmdline->size());
    auto digests = measure(text);
    if (digests.ok()) cmdline_digest = digests->sha256;
  }
  const LaunchItem* cmdline = find("cmdline");
  compare("cmdline", cmdline, cmdline_digest);
  if (cmdline != nullptr && reference.cmdline && !checks.back().passed) {
    checks.back().detail = "differs: expected \"" + reference.cmdline->substr(0, 256) + "\", measured \"" +
                           cmdline->text.substr(0, 256) + "\"";
  }
  const LaunchItem* vm_config = find(std::string(kVmConfigItem));
  if (reference.vm_config) {
    compare(std::string(kVmConfigItem), vm_config, reference.vm_config);
  } else if (vm_config != nullptr) {
    checks.push_back({vm_config->name, true, false,
                      "measured (sha256 " + to_hex(vm_config->sha256) + "), not in the reference: unchecked"});
  }
  for (const auto& [name, digest] : reference.isolation) compare(name, find(name), digest);
  for (const LaunchItem& item : items) {
    if (item.pcr == kPcrIsolation && !reference.isolation.contains(item.name)) {
      checks.push_back(
          {item.name, true, false, "measured (sha256 " + to_hex(item.sha256) + "), not in the reference: unchecked"});
    }
  }
  return checks;
}

}  // namespace bulwark::attestation
