// The launch report (issue 16): built from a launch's event log, serialized, parsed back as a
// verifier parses a hostile one, signed with a P-384 key and checked against a quote's log.
// What a verifier would see: a report that round-trips, refusals naming the field, a signature
// that fails for a flipped byte or another key, and report checks naming what differs.
#include <gtest/gtest.h>

#include "attestation/base64_text.h"
#include "attestation/event_log_parser.h"
#include "attestation/launch_reference.h"
#include "attestation/launch_report.h"
#include "attestation/report_signature.h"
#include "attestation/report_verify.h"
#include "launch_report_sample.h"

namespace bulwark::attestation {
namespace {

using testing::fresh_ec_keys;
using testing::report_text_span;
using testing::sample_launch;

LaunchReport sample_report(const std::string& context = "off", const std::string& second = "") {
  const auto launch = sample_launch(context, second);
  auto report = build_launch_report("vm-1", "2026-12-07T20:40:00Z", launch.log, launch.texts);
  EXPECT_TRUE(report.ok()) << report.error().message();
  return report.ok() ? *report : LaunchReport{};
}

const Check* find_check(const std::vector<Check>& checks, const std::string& name) {
  for (const Check& check : checks) {
    if (check.name == name) return &check;
  }
  return nullptr;
}

TEST(Base64, RfcVectorsAndStrictRefusals) {
  EXPECT_EQ(to_base64(report_text_span("")), "");
  EXPECT_EQ(to_base64(report_text_span("f")), "Zg==");
  EXPECT_EQ(to_base64(report_text_span("fo")), "Zm8=");
  EXPECT_EQ(to_base64(report_text_span("foobar")), "Zm9vYmFy");
  auto back = parse_base64("Zm9vYmE=", 100);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(std::string(back->begin(), back->end()), "fooba");
  for (const char* bad : {"Zm9", "Zm9=Zm9v", "Zm9 YmFy", "Zm9vYmF=", "Zh==", "===="}) {
    EXPECT_FALSE(parse_base64(bad, 100).ok()) << bad;
  }
  EXPECT_FALSE(parse_base64("Zm9vYmFy", 5).ok()) << "over max_bytes";
}

TEST(LaunchReport, BuiltFromTheLogRoundTrips) {
  const LaunchReport report = sample_report();
  ASSERT_EQ(report.items.size(), 8u);
  EXPECT_EQ(report.items[0].name, "kernel");
  EXPECT_EQ(report.items[2].name, "vm-config");
  EXPECT_EQ(report.items[2].pcr, 9u);
  ASSERT_TRUE(report.items[2].text.has_value());
  EXPECT_EQ(report.items[4].name, "jail profile dev-rng");
  EXPECT_EQ(report.items[4].pcr, 15u);
  EXPECT_FALSE(report.items[0].text.has_value()) << "a file item carries no text";
  EXPECT_EQ(report.binaries.size(), 1u);
  EXPECT_TRUE(report.binaries.contains("monitor"));
  EXPECT_TRUE(report.policies.contains("dev-rng"));
  EXPECT_EQ(report.pcrs_sha256.size(), 2u);
  EXPECT_EQ(report.pcrs_sha384.size(), 2u);

  const std::string json = report_json(report);
  EXPECT_EQ(json.find('\n'), std::string::npos);
  EXPECT_EQ(json.rfind("{\"binaries\":", 0), 0u) << "keys sorted: " << json.substr(0, 40);
  auto parsed = parse_launch_report(json);
  ASSERT_TRUE(parsed.ok()) << parsed.error().message();
  EXPECT_EQ(*parsed, report);
  EXPECT_EQ(report_json(*parsed), json) << "serializes back to the bytes signed";
}

TEST(LaunchReport, TextThatIsNotWhatWasMeasuredIsRefused) {
  auto launch = sample_launch();
  launch.texts["jail profile dev-rng"] = "bulwark-jail-profile 1\nrlimit.nofile 65\n";
  auto report = build_launch_report("vm-1", "t", launch.log, launch.texts);
  ASSERT_FALSE(report.ok());
  EXPECT_NE(report.error().message().find("jail profile dev-rng"), std::string::npos) << report.error().message();
}

TEST(LaunchReport, HostileReportsAreRefusedNamingTheField) {
  const std::string good = report_json(sample_report());
  auto refused = [&](const std::string& from, const std::string& to, const std::string& expect) {
    std::string json = good;
    const size_t at = json.find(from);
    ASSERT_NE(at, std::string::npos) << from;
    json.replace(at, from.size(), to);
    auto parsed = parse_launch_report(json);
    ASSERT_FALSE(parsed.ok()) << "accepted: " << to;
    EXPECT_NE(parsed.error().message().find(expect), std::string::npos) << parsed.error().message();
  };
  refused("\"bulwark_launch_report\":1", "\"bulwark_launch_report\":2", "bulwark_launch_report");
  refused("\"vm_id\":", "\"extra\":0,\"vm_id\":", "unknown key \"extra\"");
  refused("\"9\":", "\"09\":", "not a PCR index");
  refused("\"15\":", "\"24\":", "not a PCR index");
  refused("\"pcr\":9", "\"pcr\":99", "/pcr");
  refused("\"name\":\"vm-config\"", "\"name\":\"kernel\"", "listed twice");
  refused("\"event_log\":\"", "\"event_log\":\"!", "/event_log");
  refused("\"sha256\":{", "\"sha1\":{},\"sha256\":{", "unknown bank");
  EXPECT_FALSE(parse_launch_report("[]").ok());
  EXPECT_FALSE(parse_launch_report("{").ok());
  EXPECT_FALSE(parse_launch_report(std::string(kMaxReportBytes + 1, ' ')).ok());
}

TEST(ReportSignature, SignsWithP384AndVerifiesOnlyTheSameBytes) {
  const auto keys = fresh_ec_keys("P-384");
  ASSERT_FALSE(keys.private_pem.empty());
  const std::string json = report_json(sample_report());
  auto signature = sign_report(keys.private_pem, report_text_span(json));
  ASSERT_TRUE(signature.ok()) << signature.error().message();
  EXPECT_EQ((*signature)[0], 0x30) << "DER SEQUENCE";
  EXPECT_TRUE(verify_report_signature(keys.public_pem, report_text_span(json), *signature).ok());
  auto derived = report_public_key_pem(keys.private_pem);
  ASSERT_TRUE(derived.ok());
  EXPECT_EQ(*derived, keys.public_pem);

  std::string flipped = json;
  flipped[flipped.size() / 2] ^= 0x01;
  EXPECT_FALSE(verify_report_signature(keys.public_pem, report_text_span(flipped), *signature).ok());
  const auto other = fresh_ec_keys("P-384");
  EXPECT_FALSE(verify_report_signature(other.public_pem, report_text_span(json), *signature).ok());
  const auto p256 = fresh_ec_keys("P-256");
  auto refused = sign_report(p256.private_pem, report_text_span(json));
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().message().find("P-384"), std::string::npos) << refused.error().message();
  EXPECT_FALSE(verify_report_signature(p256.public_pem, report_text_span(json), *signature).ok());
  EXPECT_FALSE(sign_report("not a key", report_text_span(json)).ok());
}

TEST(ReportVerify, EveryCheckPassesForTheQuotedLog) {
  const auto keys = fresh_ec_keys();
  const auto launch = sample_launch("system_u:system_r:bulwark_vm_t:s0:c3,c17",
                                    "system_u:system_r:bulwark_dev_rng_t:s0:c3,c17");
  auto report = build_launch_report("vm-1", "2026-12-07T20:40:00Z", launch.log, launch.texts);
  ASSERT_TRUE(report.ok()) << report.error().message();
  const std::string json = report_json(*report);
  auto signature = sign_report(keys.private_pem, report_text_span(json));
  ASSERT_TRUE(signature.ok());
  ReportEvidence evidence{{json.begin(), json.end()}, *signature, keys.public_pem};
  const auto checks = verify_report(evidence, launch.log);
  for (const Check& check : checks) EXPECT_TRUE(check.passed) << check.name << ": " << check.detail;
  for (const char* name : {"report signature", "report", "report event log", "report PCRs", "report items", "report selinux"}) {
    EXPECT_NE(find_check(checks, name), nullptr) << name;
  }
  EXPECT_NE(find_check(checks, "report selinux")->detail.find("c3,c17"), std::string::npos);

  // Another launch's log: the report's log and PCRs are not the quoted ones.
  const auto other = sample_launch("off");
  const auto against_other = verify_report(evidence, other.log);
  EXPECT_FALSE(find_check(against_other, "report event log")->passed);
  EXPECT_FALSE(find_check(against_other, "report PCRs")->passed);
  EXPECT_TRUE(find_check(against_other, "report signature")->passed);

  // A flipped byte of the report: the signature fails, by name.
  ReportEvidence flipped = evidence;
  flipped.report[flipped.report.size() - 3] ^= 0x01;
  const auto flipped_checks = verify_report(flipped, launch.log);
  EXPECT_FALSE(find_check(flipped_checks, "report signature")->passed);
}

TEST(ReportVerify, SelinuxPairsMustAgree) {
  std::string pair;
  EXPECT_TRUE(selinux_context_follows_rule("off", pair));
  EXPECT_TRUE(selinux_context_follows_rule("system_u:system_r:bulwark_vm_t:s0:c1,c2", pair));
  EXPECT_EQ(pair, "c1,c2");
  for (const char* bad : {"system_u:system_r:bulwark_vm_t:s0:c2,c1", "system_u:system_r:bulwark_vm_t:s0:c1,c1",
                          "system_u:system_r:bulwark_vm_t:s0", "system_u:system_r:bulwark_vm_t:s0-s0:c0.c1023",
                          "unconfined", ""}) {
    EXPECT_FALSE(selinux_context_follows_rule(bad, pair)) << bad;
  }
  const LaunchReport mixed = sample_report("system_u:system_r:bulwark_vm_t:s0:c1,c2",
                                           "system_u:system_r:bulwark_dev_rng_t:s0:c1,c3");
  const std::string json = report_json(mixed);
  ReportEvidence evidence{{json.begin(), json.end()}, {}, ""};
  const auto checks = verify_report(evidence, mixed.event_log);
  const Check* selinux = find_check(checks, "report selinux");
  ASSERT_NE(selinux, nullptr);
  EXPECT_FALSE(selinux->passed);
  EXPECT_NE(selinux->detail.find("selinux dev-rng"), std::string::npos) << selinux->detail;
}

TEST(ReportVerify, AttestationBodySplitsBackToTheSignedBytes) {
  const auto keys = fresh_ec_keys();
  const std::string json = report_json(sample_report());
  auto signature = sign_report(keys.private_pem, report_text_span(json));
  ASSERT_TRUE(signature.ok());
  const std::string body = "{\"report\": " + json + ", \"signature\": \"" + to_base64(*signature) + "\"}";
  auto split = split_attestation_body(body);
  ASSERT_TRUE(split.ok()) << split.error().message();
  EXPECT_EQ(std::string(split->report.begin(), split->report.end()), json);
  EXPECT_EQ(split->signature, *signature);
  EXPECT_TRUE(verify_report_signature(keys.public_pem, split->report, split->signature).ok());
  EXPECT_FALSE(split_attestation_body("{\"report\": {}}").ok());
  EXPECT_FALSE(split_attestation_body("{\"report\": {}, \"signature\": \"@@\"}").ok());
}

TEST(LaunchReference, VmConfigIsComparedWhenTheReferenceHasIt) {
  const auto launch = sample_launch();
  auto events = parse_event_log(launch.log);
  ASSERT_TRUE(events.ok());
  auto items = launch_items(*events);
  ASSERT_TRUE(items.ok()) << items.error().message();
  Reference reference;
  auto unchecked = compare_with_reference(*items, reference);
  bool listed = false;
  for (const ReferenceCheck& check : unchecked) {
    if (check.item == "vm-config") listed = !check.checked && check.passed;
  }
  EXPECT_TRUE(listed) << "measured, not in the reference: unchecked";
  auto digests = measure(report_text_span(launch.texts.at("vm-config") + " "));
  ASSERT_TRUE(digests.ok());
  reference.vm_config = digests->sha256;
  bool failed = false;
  for (const ReferenceCheck& check : compare_with_reference(*items, reference)) {
    if (check.item == "vm-config") failed = check.checked && !check.passed;
  }
  EXPECT_TRUE(failed);
  auto round_trip = parse_reference(reference_json(reference));
  ASSERT_TRUE(round_trip.ok());
  EXPECT_EQ(round_trip->vm_config, reference.vm_config);
}

}  // namespace
}  // namespace bulwark::attestation
