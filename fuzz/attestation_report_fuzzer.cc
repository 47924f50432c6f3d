// What `bulwark attest verify --report` reads from a host the tenant does not trust
// (attestation/launch_report.h, report_verify.h): the launch report's JSON, GET /attestation's
// body around it, and the report's checks against a quoted event log. Input: the first byte
// picks (mod 3) 0 the report parser, 1 the body's split, 2 the report's checks (the input as the
// report, its own event log as the quoted one, a fixed P-384 host key). What an accepted input
// promises: a report that serializes back to JSON that parses to the same report, within the
// limits (items, text, event log); a split body's signature of at most 256 bytes.
#include <cstdint>
#include <cstdlib>
#include <span>
#include <string_view>

#include "attestation/launch_report.h"
#include "attestation/report_signature.h"
#include "attestation/report_verify.h"

namespace {

constexpr const char kHostKey[] =
    "-----BEGIN PUBLIC KEY-----\n"
    "MHYwEAYHKoZIzj0CAQYFK4EEACIDYgAEJNl8ZJeH6Do80SV3eosJMJhaku30QosR\n"
    "k2wjQLXPE8ABSR573AIFuL650ZQeVwvwUr1ojHH2FvHRZfdgq6JH3Yzk8kNmhyhq\n"
    "ZxWh3jebmnpIQQ1jdpZkqAGMcq2EcfKd\n"
    "-----END PUBLIC KEY-----\n";

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace bulwark::attestation;
  if (size == 0) return 0;
  const std::span<const uint8_t> input(data + 1, size - 1);
  const std::string_view text(reinterpret_cast<const char*>(input.data()), input.size());
  switch (data[0] % 3) {
    case 0: {
      auto report = parse_launch_report(text);
      if (!report.ok()) break;
      if (report->items.size() > kMaxReportItems || report->event_log.size() > kMaxReportEventLogBytes) std::abort();
      for (const ReportItem& item : report->items) {
        if (item.pcr >= kPcrCount || item.name.empty() || (item.text && item.text->size() > kMaxReportTextBytes)) {
          std::abort();
        }
      }
      auto again = parse_launch_report(report_json(*report));
      if (!again.ok() || !(*again == *report)) std::abort();
      break;
    }
    case 1: {
      auto body = split_attestation_body(text);
      if (body.ok() && body->signature.size() > kMaxReportSignatureBytes) std::abort();
      break;
    }
    default: {
      auto report = parse_launch_report(text);
      const std::vector<uint8_t> log = report.ok() ? report->event_log : std::vector<uint8_t>{};
      ReportEvidence evidence{{input.begin(), input.end()}, {0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01}, kHostKey};
      const auto checks = verify_report(evidence, log);
      // r = s = 1 is never the host key's signature.
      if (checks.empty() || checks.front().passed) std::abort();
      break;
    }
  }
  return 0;
}
