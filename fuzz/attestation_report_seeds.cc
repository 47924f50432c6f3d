// Writes the attestation_report fuzzer's seed corpus (fuzz/corpus/attestation_report/): launch
// reports from sample launches (selinux off and on), each as mode 0 (parser), 1 (GET
// /attestation's body) and 2 (the checks), and reports one lie away from valid.
// Usage: attestation_report_seeds DIR
#include <cstdio>
#include <string>
#include <vector>

#include "attestation/base64_text.h"
#include "attestation/launch_report.h"
#include "attestation/report_signature.h"
#include "fuzz/seed_file.h"
#include "tests/unit/attestation/launch_report_sample.h"

namespace {

using namespace bulwark::attestation;

std::vector<uint8_t> seed(uint8_t mode, const std::string& text) {
  std::vector<uint8_t> bytes(text.size() + 1);
  bytes[0] = mode;
  for (size_t i = 0; i < text.size(); ++i) bytes[i + 1] = static_cast<uint8_t>(text[i]);
  return bytes;
}

std::string replaced(std::string text, const std::string& from, const std::string& to) {
  const size_t at = text.find(from);
  if (at != std::string::npos) text.replace(at, from.size(), to);
  return text;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s DIR\n", argv[0]);
    return 2;
  }
  const std::string dir = argv[1];
  const auto keys = testing::fresh_ec_keys();
  bool ok = !keys.private_pem.empty();
  const std::pair<const char*, std::pair<std::string, std::string>> launches[] = {
      {"off", {"off", ""}},
      {"svirt", {"system_u:system_r:bulwark_vm_t:s0:c3,c17", "system_u:system_r:bulwark_dev_rng_t:s0:c3,c17"}},
      {"mixed-pairs", {"system_u:system_r:bulwark_vm_t:s0:c3,c17", "system_u:system_r:bulwark_dev_rng_t:s0:c4,c17"}}};
  for (const auto& [name, contexts] : launches) {
    const auto launch = testing::sample_launch(contexts.first, contexts.second);
    auto report = build_launch_report("vm-1", "2026-12-07T20:40:00Z", launch.log, launch.texts);
    if (!report.ok()) return 1;
    const std::string json = report_json(*report);
    auto signature = sign_report(keys.private_pem, testing::report_text_span(json));
    if (!signature.ok()) return 1;
    const std::string body = "{\"report\":" + json + ",\"signature\":\"" + to_base64(*signature) + "\"}";
    const std::string base = name;
    for (uint8_t mode : {0, 2}) ok &= bulwark::fuzz_seeds::write_seed(dir, base + "-report-" + std::to_string(mode), seed(mode, json));
    ok &= bulwark::fuzz_seeds::write_seed(dir, base + "-body", seed(1, body));
  }
  const auto launch = testing::sample_launch();
  auto report = build_launch_report("vm-1", "2026-12-07T20:40:00Z", launch.log, launch.texts);
  if (!report.ok()) return 1;
  const std::string json = report_json(*report);
  const std::pair<const char*, std::pair<std::string, std::string>> lies[] = {
      {"version-2", {"\"bulwark_launch_report\":1", "\"bulwark_launch_report\":2"}},
      {"unknown-key", {"\"vm_id\":", "\"x\":0,\"vm_id\":"}},
      {"pcr-09", {"\"9\":", "\"09\":"}},
      {"pcr-24", {"\"15\":", "\"24\":"}},
      {"bank-sha1", {"\"sha256\":{", "\"sha1\":{},\"sha256\":{"}},
      {"item-pcr-99", {"\"pcr\":9", "\"pcr\":99"}},
      {"item-twice", {"\"name\":\"vm-config\"", "\"name\":\"kernel\""}},
      {"item-no-name", {"\"name\":\"vm-config\",", ""}},
      {"base64-bad", {"\"event_log\":\"", "\"event_log\":\"!"}},
      {"base64-padding", {"\"event_log\":\"", "\"event_log\":\"AB==AAAA"}},
      {"digest-short", {"\"sha256\":\"", "\"sha256\":\"00"}},
      {"text-number", {"\"text\":\"", "\"text\":1,\"x\":\""}},
      {"time-empty", {"\"time\":\"2026-12-07T20:40:00Z\"", "\"time\":\"\""}},
      {"binaries-array", {"\"binaries\":{", "\"binaries\":[],\"y\":{"}},
      {"other-item-text", {"rlimit.nofile 64", "rlimit.nofile 65"}},
  };
  for (const auto& [name, change] : lies) {
    const std::string lie = replaced(json, change.first, change.second);
    ok &= bulwark::fuzz_seeds::write_seed(dir, std::string("lie-") + name, seed(0, lie));
    ok &= bulwark::fuzz_seeds::write_seed(dir, std::string("lie-") + name + "-checks", seed(2, lie));
  }
  ok &= bulwark::fuzz_seeds::write_seed(dir, "body-no-signature", seed(1, "{\"report\":{},\"x\":\"\"}"));
  ok &= bulwark::fuzz_seeds::write_seed(dir, "body-bad-base64", seed(1, "{\"report\":{},\"signature\":\"@@@@\"}"));
  ok &= bulwark::fuzz_seeds::write_seed(dir, "empty-object", seed(0, "{}"));
  return ok ? 0 : 1;
}
