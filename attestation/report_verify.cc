#include "attestation/report_verify.h"

#include <nlohmann/json.hpp>
#include <regex>

#include "attestation/base64_text.h"
#include "attestation/event_log_parser.h"
#include "attestation/hex_text.h"
#include "attestation/launch_events.h"
#include "attestation/launch_reference.h"
#include "attestation/launch_report.h"
#include "attestation/pcr_replay.h"
#include "attestation/report_signature.h"

namespace bulwark::attestation {

namespace {

Check failed(const std::string& name, const std::string& detail) { return {name, false, true, detail}; }
Check passed(const std::string& name, const std::string& detail) { return {name, true, true, detail}; }

Check check_pcrs(const LaunchReport& report, std::span<const uint8_t> quoted_event_log) {
  const std::string name = "report PCRs";
  auto own = parse_event_log(report.event_log);
  if (!own.ok()) return failed(name, "the report's event log does not parse: " + own.error().message());
  auto own_values = replay_pcrs(*own);
  if (!own_values.ok()) return failed(name, own_values.error().message());
  for (const auto& [pcr, value] : report.pcrs_sha256) {
    if (own_values->sha256[pcr] != value) return failed(name, "sha256 PCR " + std::to_string(pcr) + " is not its log's replay");
  }
  for (const auto& [pcr, value] : report.pcrs_sha384) {
    if (own_values->sha384[pcr] != value) return failed(name, "sha384 PCR " + std::to_string(pcr) + " is not its log's replay");
  }
  auto quoted = parse_event_log(quoted_event_log);
  if (!quoted.ok()) return failed(name, "needs the quoted event log, which does not parse");
  auto quoted_values = replay_pcrs(*quoted);
  if (!quoted_values.ok()) return failed(name, quoted_values.error().message());
  for (uint32_t pcr : {kPcrBootInputs, kPcrIsolation}) {
    const auto it = report.pcrs_sha256.find(pcr);
    if (it == report.pcrs_sha256.end()) return failed(name, "sha256 PCR " + std::to_string(pcr) + " missing");
    if (it->second != quoted_values->sha256[pcr]) {
      return failed(name, "sha256 PCR " + std::to_string(pcr) + " differs: report " + to_hex(it->second) +
                              ", quoted log " + to_hex(quoted_values->sha256[pcr]));
    }
  }
  return passed(name, "sha256 PCR 9 " + to_hex(report.pcrs_sha256.at(kPcrBootInputs)).substr(0, 16) +
                          "..., PCR 15 " + to_hex(report.pcrs_sha256.at(kPcrIsolation)).substr(0, 16) + "...");
}

Check check_items(const LaunchReport& report) {
  const std::string name = "report items";
  auto events = parse_event_log(report.event_log);
  if (!events.ok()) return failed(name, "the report's event log does not parse");
  auto items = launch_items(*events);
  if (!items.ok()) return failed(name, items.error().message());
  if (items->size() != report.items.size()) {
    return failed(name, std::to_string(report.items.size()) + " items listed, " + std::to_string(items->size()) +
                            " in the event log");
  }
  for (size_t i = 0; i < items->size(); ++i) {
    const LaunchItem& logged = (*items)[i];
    const ReportItem& listed = report.items[i];
    if (listed.name != logged.name || listed.pcr != logged.pcr || listed.sha256 != logged.sha256) {
      return failed(name, "item " + std::to_string(i + 1) + " \"" + listed.name.substr(0, 64) +
                              "\" is not the log's event " + std::to_string(i + 1) + " \"" + logged.name.substr(0, 64) + "\"");
    }
    if (listed.text) {
      const std::span<const uint8_t> text(reinterpret_cast<const uint8_t*>(listed.text->data()), listed.text->size());
      auto digests = measure(text);
      if (!digests.ok() || digests->sha256 != listed.sha256) {
        return failed(name, "\"" + listed.name.substr(0, 64) + "\": its text does not hash to its digest");
      }
    }
  }
  return passed(name, std::to_string(items->size()) + " items, each the log's");
}

Check check_selinux(const LaunchReport& report) {
  const std::string name = "report selinux";
  std::string common;
  size_t count = 0;
  for (const ReportItem& item : report.items) {
    if (!item.name.starts_with("selinux ")) continue;
    ++count;
    if (!item.text) return failed(name, "\"" + item.name.substr(0, 64) + "\": no text to check");
    std::string pair;
    if (!selinux_context_follows_rule(*item.text, pair)) {
      return failed(name, "\"" + item.name.substr(0, 64) + "\": \"" + item.text->substr(0, 128) +
                              "\" is neither \"off\" nor at an MCS pair s0:cA,cB");
    }
    if (count == 1) common = pair;
    if (pair != common) {
      return failed(name, "\"" + item.name.substr(0, 64) + "\" at " + (pair.empty() ? "off" : pair) +
                              ", another process at " + (common.empty() ? "off" : common));
    }
  }
  if (count == 0) return {name, true, false, "no SELinux contexts measured"};
  return passed(name, std::to_string(count) + " processes, " +
                          (common.empty() ? std::string("selinux off") : "each at s0:" + common));
}

}  // namespace

bool selinux_context_follows_rule(const std::string& context, std::string& pair) {
  pair.clear();
  if (context == "off") return true;
  static const std::regex kContext(R"(^[a-z0-9_]+:[a-z0-9_]+:[a-z0-9_]+:s0:c([0-9]{1,4}),c([0-9]{1,4})$)");
  std::smatch m;
  if (context.size() > 512 || !std::regex_match(context, m, kContext)) return false;
  if (std::stoul(m[1]) >= std::stoul(m[2]) || std::stoul(m[2]) > 1023) return false;
  pair = "c" + m[1].str() + ",c" + m[2].str();
  return true;
}

Result<SignedReportBytes> split_attestation_body(std::string_view json) {
  if (json.size() > kMaxReportBytes) return Error("attestation body: larger than 24 MiB");
  const nlohmann::json doc = nlohmann::json::parse(json, nullptr, false);
  if (doc.is_discarded() || !doc.is_object() || doc.size() != 2) {
    return Error("attestation body: expected {\"report\": {...}, \"signature\": \"<base64>\"}");
  }
  const auto report = doc.find("report");
  const auto signature = doc.find("signature");
  if (report == doc.end() || !report->is_object() || signature == doc.end() || !signature->is_string()) {
    return Error("attestation body: expected {\"report\": {...}, \"signature\": \"<base64>\"}");
  }
  SignedReportBytes out;
  const std::string text = report->dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  out.report.assign(text.begin(), text.end());
  auto der = parse_base64(signature->get_ref<const std::string&>(), kMaxReportSignatureBytes);
  if (!der.ok()) return der.error().wrap("attestation body: /signature");
  out.signature = std::move(*der);
  return out;
}

std::vector<Check> verify_report(const ReportEvidence& evidence, std::span<const uint8_t> quoted_event_log) {
  std::vector<Check> checks;
  if (Status s = verify_report_signature(evidence.host_key_pem, evidence.report, evidence.signature); s.ok()) {
    checks.push_back(passed("report signature", "ECDSA P-384 by the host key"));
  } else {
    checks.push_back(failed("report signature", s.error().message()));
  }
  auto report = parse_launch_report(
      std::string_view(reinterpret_cast<const char*>(evidence.report.data()), evidence.report.size()));
  if (!report.ok()) {
    checks.push_back(failed("report", report.error().message()));
    for (const char* name : {"report event log", "report PCRs", "report items"}) {
      checks.push_back(failed(name, "needs a report that parses"));
    }
    return checks;
  }
  checks.push_back(passed("report", "VM " + report->vm_id.substr(0, 64) + ", launched " + report->time));
  const bool same_log = report->event_log.size() == quoted_event_log.size() &&
                        std::equal(report->event_log.begin(), report->event_log.end(), quoted_event_log.begin());
  checks.push_back(same_log ? passed("report event log", "the quoted event log, byte for byte")
                            : failed("report event log", "differs from the quoted event log (" +
                                                             std::to_string(report->event_log.size()) + " bytes, quoted " +
                                                             std::to_string(quoted_event_log.size()) + ")"));
  checks.push_back(check_pcrs(*report, quoted_event_log));
  checks.push_back(check_items(*report));
  checks.push_back(check_selinux(*report));
  return checks;
}

}  // namespace bulwark::attestation
