// The independent reader: tpm2-tools' tpm2_eventlog parses a log our writer made, lists the same
// events (PCR, type, digests) and prints the PCR values our replay computes. Skipped when
// tpm2_eventlog is not installed (scripts/setup.sh installs tpm2-tools).
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>

#include "attestation/event_log_parser.h"
#include "attestation/pcr_replay.h"
#include "attestation_test_log.h"

namespace bulwark::attestation {
namespace {

using testing::digest_hex;

bool have_tpm2_eventlog() { return std::system("command -v tpm2_eventlog >/dev/null 2>&1") == 0; }

// Runs tpm2_eventlog on `log` written to a temporary file; its stdout, and whether it exited 0.
std::pair<std::string, bool> run_tpm2_eventlog(const std::vector<uint8_t>& log) {
  char path[] = "/tmp/bulwark-eventlog-XXXXXX";
  const int fd = mkstemp(path);
  if (fd < 0) return {"mkstemp failed", false};
  close(fd);
  std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(log.data()), log.size());
  std::string output;
  FILE* pipe = popen((std::string("tpm2_eventlog ") + path + " 2>/dev/null").c_str(), "r");
  if (pipe == nullptr) {
    unlink(path);
    return {"popen failed", false};
  }
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), pipe)) > 0) output.append(buf, n);
  const int status = pclose(pipe);
  unlink(path);
  return {output, WIFEXITED(status) && WEXITSTATUS(status) == 0};
}

std::string trimmed(const std::string& line) {
  const size_t start = line.find_first_not_of(' ');
  return start == std::string::npos ? "" : line.substr(start);
}

// What tpm2_eventlog printed: per event (EventNum >= 1) its PCR, type and digests, and the
// "pcrs:" section as bank -> PCR -> hex value.
struct Tpm2View {
  struct Listed {
    std::string pcr, type, sha256, sha384;
  };
  std::vector<Listed> events;
  std::map<std::string, std::map<int, std::string>> pcrs;
};

Tpm2View read_tpm2_view(const std::string& output) {
  Tpm2View view;
  std::istringstream lines(output);
  std::string line, bank, algorithm;
  bool in_pcrs = false;
  while (std::getline(lines, line)) {
    const std::string text = trimmed(line);
    if (line == "pcrs:") { in_pcrs = true; continue; }
    if (in_pcrs) {
      if (text == "sha256:" || text == "sha384:") { bank = text.substr(0, 6); continue; }
      const size_t colon = text.find(':');
      if (colon == std::string::npos || bank.empty()) continue;
      std::string value = trimmed(text.substr(colon + 1));
      if (value.rfind("0x", 0) == 0) value = value.substr(2);
      for (char& c : value) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      view.pcrs[bank][std::atoi(text.substr(0, colon).c_str())] = value;
      continue;
    }
    if (text.rfind("- EventNum: ", 0) == 0) {
      if (text != "- EventNum: 0") view.events.emplace_back();
      algorithm.clear();
    } else if (view.events.empty()) {
      continue;
    } else if (text.rfind("PCRIndex: ", 0) == 0) {
      view.events.back().pcr = text.substr(10);
    } else if (text.rfind("EventType: ", 0) == 0) {
      view.events.back().type = text.substr(11);
    } else if (text.rfind("- AlgorithmId: ", 0) == 0) {
      algorithm = text.substr(15);
    } else if (text.rfind("Digest: \"", 0) == 0) {
      const std::string digest = text.substr(9, text.size() - 10);
      if (algorithm == "sha256") view.events.back().sha256 = digest;
      if (algorithm == "sha384") view.events.back().sha384 = digest;
    }
  }
  return view;
}

TEST(Tpm2EventlogAgreement, ListsTheSameEventsAndPcrValues) {
  if (!have_tpm2_eventlog()) GTEST_SKIP() << "tpm2_eventlog (tpm2-tools) is not installed";
  const std::vector<uint8_t> log = testing::sample_log();
  auto events = parse_event_log(log);
  ASSERT_TRUE(events.ok()) << events.error().message();
  auto pcrs = replay_pcrs(*events);
  ASSERT_TRUE(pcrs.ok());

  auto [output, exited_ok] = run_tpm2_eventlog(log);
  ASSERT_TRUE(exited_ok) << output;
  Tpm2View view = read_tpm2_view(output);
  ASSERT_EQ(view.events.size(), events->size()) << output;
  for (size_t i = 0; i < events->size(); ++i) {
    const Event& ours = (*events)[i];
    EXPECT_EQ(view.events[i].pcr, std::to_string(ours.pcr)) << "event " << i + 1;
    EXPECT_EQ(view.events[i].type, event_type_name(static_cast<uint32_t>(ours.type))) << "event " << i + 1;
    EXPECT_EQ(view.events[i].sha256, digest_hex(ours.digests.sha256)) << "event " << i + 1;
    EXPECT_EQ(view.events[i].sha384, digest_hex(ours.digests.sha384)) << "event " << i + 1;
  }
  // tpm2_eventlog lists the PCRs events went into: 9 and 15, in both banks.
  for (const char* bank : {"sha256", "sha384"}) {
    ASSERT_EQ(view.pcrs.count(bank), 1u) << output;
    EXPECT_EQ(view.pcrs.at(bank).size(), pcrs->extended.count()) << bank;
  }
  for (int pcr : {9, 15}) {
    EXPECT_EQ(view.pcrs["sha256"][pcr], digest_hex(pcrs->sha256[pcr])) << "PCR " << pcr;
    EXPECT_EQ(view.pcrs["sha384"][pcr], digest_hex(pcrs->sha384[pcr])) << "PCR " << pcr;
  }
}

TEST(Tpm2EventlogAgreement, EverySupportedEventTypeAndAnEmptyLog) {
  if (!have_tpm2_eventlog()) GTEST_SKIP() << "tpm2_eventlog (tpm2-tools) is not installed";
  EventLogWriter writer;
  const std::vector<uint8_t> four(4, 0);
  ASSERT_TRUE(writer.add(7, EventType::kSeparator, four, four).ok());
  ASSERT_TRUE(writer.add(23, EventType::kAction, testing::text_bytes("an action"), four).ok());
  ASSERT_TRUE(writer.add(0, EventType::kEventTag, encode_tagged_event(1, four), four).ok());
  ASSERT_TRUE(writer.add(9, EventType::kIpl, {}, {}).ok());
  auto pcrs = replay_pcrs(*parse_event_log(writer.bytes()));
  ASSERT_TRUE(pcrs.ok());
  auto [output, exited_ok] = run_tpm2_eventlog(writer.bytes());
  ASSERT_TRUE(exited_ok) << output;
  Tpm2View view = read_tpm2_view(output);
  ASSERT_EQ(view.events.size(), 4u) << output;
  EXPECT_EQ(view.events[0].type, "EV_SEPARATOR");
  EXPECT_EQ(view.events[1].type, "EV_ACTION");
  EXPECT_EQ(view.events[2].type, "EV_EVENT_TAG");
  EXPECT_EQ(view.events[3].type, "EV_IPL");
  for (int pcr : {0, 7, 9, 23}) {
    EXPECT_EQ(view.pcrs["sha256"][pcr], digest_hex(pcrs->sha256[pcr])) << "PCR " << pcr;
    EXPECT_EQ(view.pcrs["sha384"][pcr], digest_hex(pcrs->sha384[pcr])) << "PCR " << pcr;
  }

  auto [empty_output, empty_ok] = run_tpm2_eventlog(EventLogWriter().bytes());
  EXPECT_TRUE(empty_ok) << empty_output;
  EXPECT_TRUE(read_tpm2_view(empty_output).events.empty());
}

}  // namespace
}  // namespace bulwark::attestation
