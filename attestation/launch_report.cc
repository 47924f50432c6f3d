#include "attestation/launch_report.h"

#include <ctime>
#include <nlohmann/json.hpp>
#include <set>

#include "attestation/base64_text.h"
#include "attestation/event_log_parser.h"
#include "attestation/hex_text.h"
#include "attestation/launch_reference.h"
#include "attestation/pcr_replay.h"

namespace bulwark::attestation {

namespace {

using Json = nlohmann::json;

constexpr size_t kMaxNameBytes = 4096;
constexpr size_t kMaxVmIdBytes = 256;

template <size_t N>
Result<std::array<uint8_t, N>> digest_of(const Json& value, const std::string& where) {
  if (!value.is_string() || value.get_ref<const std::string&>().size() != 2 * N) {
    return Error(where + ": expected " + std::to_string(2 * N) + " hex digits");
  }
  auto bytes = parse_hex(value.get_ref<const std::string&>(), N);
  if (!bytes.ok()) return bytes.error().wrap(where);
  std::array<uint8_t, N> out{};
  std::copy(bytes->begin(), bytes->end(), out.begin());
  return out;
}

bool good_name(const std::string& name) {
  return !name.empty() && name.size() <= kMaxNameBytes && name.find('\0') == std::string::npos;
}

Result<std::string> string_field(const Json& doc, const char* key, size_t max) {
  const auto it = doc.find(key);
  if (it == doc.end() || !it->is_string()) return Error(std::string("report: /") + key + ": expected a string");
  const std::string& text = it->get_ref<const std::string&>();
  if (text.empty() || text.size() > max || text.find('\0') != std::string::npos) {
    return Error(std::string("report: /") + key + ": empty, too long or with a NUL");
  }
  return text;
}

template <size_t N>
Status digest_map(const Json& doc, const char* key, std::map<std::string, std::array<uint8_t, N>>& into) {
  const auto it = doc.find(key);
  if (it == doc.end() || !it->is_object()) return Error(std::string("report: /") + key + ": expected an object");
  if (it->size() > kMaxReportItems) return Error(std::string("report: /") + key + ": too many entries");
  for (const auto& [name, value] : it->items()) {
    if (!good_name(name)) return Error(std::string("report: /") + key + ": a name empty, over 4 KiB or with a NUL");
    auto d = digest_of<N>(value, std::string("report: /") + key + "/" + name.substr(0, 64));
    if (!d.ok()) return d.error();
    into[name] = *d;
  }
  return ok_status();
}

template <size_t N>
Status pcr_bank(const Json& bank, const std::string& where, std::map<uint32_t, std::array<uint8_t, N>>& into) {
  if (!bank.is_object()) return Error(where + ": expected an object");
  for (const auto& [index, value] : bank.items()) {
    // "0" to "23", no leading zeros: one spelling per PCR.
    if (index.empty() || index.size() > 2 || index.find_first_not_of("0123456789") != std::string::npos ||
        (index.size() == 2 && index[0] == '0') || std::stoul(index) >= kPcrCount) {
      return Error(where + ": \"" + index.substr(0, 8) + "\" is not a PCR index 0-23");
    }
    auto d = digest_of<N>(value, where + "/" + index);
    if (!d.ok()) return d.error();
    into[static_cast<uint32_t>(std::stoul(index))] = *d;
  }
  return ok_status();
}

}  // namespace

std::string report_json(const LaunchReport& report) {
  Json doc = Json::object();
  doc["bulwark_launch_report"] = kLaunchReportVersion;
  doc["vm_id"] = report.vm_id;
  doc["time"] = report.time;
  doc["event_log"] = to_base64(report.event_log);
  Json sha256 = Json::object(), sha384 = Json::object();
  for (const auto& [pcr, value] : report.pcrs_sha256) sha256[std::to_string(pcr)] = to_hex(value);
  for (const auto& [pcr, value] : report.pcrs_sha384) sha384[std::to_string(pcr)] = to_hex(value);
  doc["pcrs"] = {{"sha256", sha256}, {"sha384", sha384}};
  Json binaries = Json::object(), policies = Json::object();
  for (const auto& [name, digest] : report.binaries) binaries[name] = to_hex(digest);
  for (const auto& [name, digest] : report.policies) policies[name] = to_hex(digest);
  doc["binaries"] = binaries;
  doc["policies"] = policies;
  Json items = Json::array();
  for (const ReportItem& item : report.items) {
    Json entry = {{"pcr", item.pcr}, {"name", item.name}, {"sha256", to_hex(item.sha256)}};
    if (item.text) entry["text"] = *item.text;
    items.push_back(std::move(entry));
  }
  doc["items"] = std::move(items);
  return doc.dump(-1, ' ', false, Json::error_handler_t::replace);
}

Result<LaunchReport> parse_launch_report(std::string_view json) {
  if (json.size() > kMaxReportBytes) return Error("report: larger than 24 MiB");
  const Json doc = Json::parse(json, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) return Error("report: not a JSON object");
  static const std::set<std::string> kKeys = {"bulwark_launch_report", "vm_id", "time", "event_log", "pcrs",
                                              "binaries", "policies", "items"};
  for (const auto& [key, value] : doc.items()) {
    if (!kKeys.contains(key)) return Error("report: unknown key \"" + key.substr(0, 64) + "\"");
  }
  const auto version = doc.find("bulwark_launch_report");
  if (version == doc.end() || !version->is_number_unsigned() || version->get<uint64_t>() != kLaunchReportVersion) {
    return Error("report: \"bulwark_launch_report\": 1 missing (an unknown version?)");
  }
  LaunchReport report;
  auto vm_id = string_field(doc, "vm_id", kMaxVmIdBytes);
  if (!vm_id.ok()) return vm_id.error();
  report.vm_id = *vm_id;
  auto time = string_field(doc, "time", 64);
  if (!time.ok()) return time.error();
  report.time = *time;
  const auto log = doc.find("event_log");
  if (log == doc.end() || !log->is_string()) return Error("report: /event_log: expected a base64 string");
  auto log_bytes = parse_base64(log->get_ref<const std::string&>(), kMaxReportEventLogBytes);
  if (!log_bytes.ok()) return log_bytes.error().wrap("report: /event_log");
  report.event_log = std::move(*log_bytes);

  const auto pcrs = doc.find("pcrs");
  if (pcrs == doc.end() || !pcrs->is_object()) return Error("report: /pcrs: expected an object");
  for (const auto& [bank, values] : pcrs->items()) {
    if (bank == "sha256") {
      BULWARK_TRY(pcr_bank<kSha256Bytes>(values, "report: /pcrs/sha256", report.pcrs_sha256));
    } else if (bank == "sha384") {
      BULWARK_TRY(pcr_bank<kSha384Bytes>(values, "report: /pcrs/sha384", report.pcrs_sha384));
    } else {
      return Error("report: /pcrs: unknown bank \"" + bank.substr(0, 16) + "\" (sha256, sha384)");
    }
  }
  BULWARK_TRY(digest_map<kSha256Bytes>(doc, "binaries", report.binaries));
  BULWARK_TRY(digest_map<kSha256Bytes>(doc, "policies", report.policies));

  const auto items = doc.find("items");
  if (items == doc.end() || !items->is_array()) return Error("report: /items: expected an array");
  if (items->size() > kMaxReportItems) return Error("report: /items: more than 4096");
  std::set<std::string> seen;
  for (size_t i = 0; i < items->size(); ++i) {
    const Json& entry = (*items)[i];
    const std::string where = "report: /items/" + std::to_string(i);
    if (!entry.is_object()) return Error(where + ": expected an object");
    ReportItem item;
    for (const auto& [key, value] : entry.items()) {
      if (key == "pcr") {
        if (!value.is_number_unsigned() || value.get<uint64_t>() >= kPcrCount) return Error(where + "/pcr: expected 0-23");
        item.pcr = value.get<uint32_t>();
      } else if (key == "name") {
        if (!value.is_string() || !good_name(value.get_ref<const std::string&>())) {
          return Error(where + "/name: expected 1 to 4096 bytes without NUL");
        }
        item.name = value.get_ref<const std::string&>();
      } else if (key == "sha256") {
        auto d = digest_of<kSha256Bytes>(value, where + "/sha256");
        if (!d.ok()) return d.error();
        item.sha256 = *d;
      } else if (key == "text") {
        if (!value.is_string() || value.get_ref<const std::string&>().size() > kMaxReportTextBytes) {
          return Error(where + "/text: expected a string of at most 64 KiB");
        }
        item.text = value.get_ref<const std::string&>();
      } else {
        return Error(where + ": unknown key \"" + key.substr(0, 64) + "\"");
      }
    }
    if (item.name.empty() || !entry.contains("pcr") || !entry.contains("sha256")) {
      return Error(where + ": pcr, name and sha256 are required");
    }
    if (!seen.insert(item.name).second) return Error(where + ": \"" + item.name.substr(0, 64) + "\" listed twice");
    report.items.push_back(std::move(item));
  }
  return report;
}

Result<LaunchReport> build_launch_report(std::string vm_id, std::string time, std::span<const uint8_t> event_log,
                                         const std::map<std::string, std::string>& texts) {
  auto events = parse_event_log(event_log);
  if (!events.ok()) return events.error().wrap("launch report");
  auto values = replay_pcrs(*events);
  if (!values.ok()) return values.error().wrap("launch report");
  auto items = launch_items(*events);
  if (!items.ok()) return items.error().wrap("launch report");
  LaunchReport report;
  report.vm_id = std::move(vm_id);
  report.time = std::move(time);
  report.event_log.assign(event_log.begin(), event_log.end());
  for (uint32_t pcr : {9u, 15u}) {
    report.pcrs_sha256[pcr] = values->sha256[pcr];
    report.pcrs_sha384[pcr] = values->sha384[pcr];
  }
  for (const LaunchItem& logged : *items) {
    ReportItem item{logged.pcr, logged.name, logged.sha256, std::nullopt};
    if (const auto text = texts.find(logged.name); text != texts.end()) {
      const std::span<const uint8_t> bytes(reinterpret_cast<const uint8_t*>(text->second.data()), text->second.size());
      auto digests = measure(bytes);
      if (!digests.ok()) return digests.error();
      if (digests->sha256 != logged.sha256) return Error("launch report: the text of \"" + logged.name + "\" is not what was measured");
      item.text = text->second;
    }
    if (logged.name.starts_with("binary ")) report.binaries[logged.name.substr(7)] = logged.sha256;
    if (logged.name.starts_with("seccomp ")) report.policies[logged.name.substr(8)] = logged.sha256;
    report.items.push_back(std::move(item));
  }
  return report;
}

std::string report_time_now() {
  const std::time_t now = std::time(nullptr);
  std::tm utc{};
  ::gmtime_r(&now, &utc);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return text;
}

}  // namespace bulwark::attestation
