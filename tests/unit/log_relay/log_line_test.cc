// The records `bulwark run` writes for its VM processes' lines (jailer/log_line.h), as an
// operator reading the log, or a log shipper parsing it, sees them: one record per line, every
// byte a process wrote readable and inert, the VM id and process name the launcher's.
#include "jailer/log_line.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

namespace bulwark::jail {
namespace {

using std::chrono::system_clock;

const LogSource kBlk{"vm-7", "dev-blk:blk0"};

// 2024-05-01T12:34:56.789Z
system_clock::time_point fixed_time() {
  return system_clock::time_point(std::chrono::milliseconds(1714566896789));
}

nlohmann::json parsed(const std::string& record) {
  EXPECT_FALSE(record.empty());
  EXPECT_EQ(record.back(), '\n');
  EXPECT_EQ(record.find('\n'), record.size() - 1) << "more than one line: " << record;
  auto json = nlohmann::json::parse(record, nullptr, false);
  EXPECT_FALSE(json.is_discarded()) << record;
  EXPECT_TRUE(json.is_object()) << record;
  return json;
}

TEST(LogFormat, OnlyTextAndJson) {
  EXPECT_EQ(*parse_log_format("text"), LogFormat::kText);
  EXPECT_EQ(*parse_log_format("json"), LogFormat::kJson);
  auto bad = parse_log_format("JSON\x1b[2J");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().message(), "expected text or json, got \"JSON\\x1b[2J\"");
}

TEST(LogLine, TextRecordIsStampedWithTheVmAndProcess) {
  EXPECT_EQ(format_relayed_line(LogFormat::kText, kBlk, "bulwark-dev-blk: error: disk full", false, fixed_time()),
            "bulwark[vm-7/dev-blk:blk0]: bulwark-dev-blk: error: disk full\n");
}

TEST(LogLine, JsonRecordHasEveryField) {
  const auto json = parsed(
      format_relayed_line(LogFormat::kJson, kBlk, "bulwark-dev-blk: warning: slow", false, fixed_time()));
  EXPECT_EQ(json["time"], "2024-05-01T12:34:56.789Z");
  EXPECT_EQ(json["level"], "warning");
  EXPECT_EQ(json["vm"], "vm-7");
  EXPECT_EQ(json["process"], "dev-blk:blk0");
  EXPECT_EQ(json["message"], "bulwark-dev-blk: warning: slow");
  EXPECT_EQ(json.size(), 5u);
}

TEST(LogLine, ControlCharactersAndTerminalSequencesAreEscapedInBothFormats) {
  const std::string line = "a\x1b[2J\rb\tc\x7f";
  const std::string text = format_relayed_line(LogFormat::kText, kBlk, line, false, fixed_time());
  EXPECT_EQ(text, "bulwark[vm-7/dev-blk:blk0]: a\\x1b[2J\\x0db\\tc\\x7f\n");
  const auto json = parsed(format_relayed_line(LogFormat::kJson, kBlk, line, false, fixed_time()));
  EXPECT_EQ(json["message"], "a\\x1b[2J\\x0db\\tc\\x7f");
}

TEST(LogLine, InvalidUtf8IsEscapedAndValidUtf8Kept) {
  const std::string line = "caf\xc3\xa9 \xff\xfe \xed\xa0\x80 \xc3";  // é, junk, a surrogate, a cut sequence
  const std::string text = format_relayed_line(LogFormat::kText, kBlk, line, false, fixed_time());
  EXPECT_EQ(text, "bulwark[vm-7/dev-blk:blk0]: caf\xc3\xa9 \\xff\\xfe \\xed\\xa0\\x80 \\xc3\n");
  const auto json = parsed(format_relayed_line(LogFormat::kJson, kBlk, line, false, fixed_time()));
  EXPECT_EQ(json["message"], "caf\xc3\xa9 \\xff\\xfe \\xed\\xa0\\x80 \\xc3");
}

TEST(LogLine, ANulByteCannotEndTheRecordEarly) {
  const std::string line("before\0after", 12);
  EXPECT_EQ(format_relayed_line(LogFormat::kText, kBlk, line, false, fixed_time()),
            "bulwark[vm-7/dev-blk:blk0]: before\\x00after\n");
}

TEST(LogLine, ACutLineIsMarked) {
  const std::string line(kMaxRelayedLineBytes, 'x');
  const std::string text = format_relayed_line(LogFormat::kText, kBlk, line, true, fixed_time());
  EXPECT_EQ(text, "bulwark[vm-7/dev-blk:blk0]: " + line + "\xe2\x80\xa6[cut]\n");
  const auto json = parsed(format_relayed_line(LogFormat::kJson, kBlk, line, true, fixed_time()));
  EXPECT_EQ(json["message"], line + "\xe2\x80\xa6[cut]");
}

TEST(LogLine, LevelComesOnlyFromAnExactProgramLevelPrefix) {
  EXPECT_EQ(relayed_line_level("bulwark-monitor: error: guest triple fault"), "error");
  EXPECT_EQ(relayed_line_level("bulwark-dev-net: warning: x"), "warning");
  EXPECT_EQ(relayed_line_level("bulwark-api: debug: x"), "debug");
  EXPECT_EQ(relayed_line_level("bulwark-api: info: "), "info");
  EXPECT_EQ(relayed_line_level("prog_1.2: error: "), "error");
  // Not that shape: info.
  EXPECT_EQ(relayed_line_level("error: no program"), "info");
  EXPECT_EQ(relayed_line_level(": error: empty program"), "info");
  EXPECT_EQ(relayed_line_level("two words: error: x"), "info");
  EXPECT_EQ(relayed_line_level("prog: fatal: x"), "info");
  EXPECT_EQ(relayed_line_level("prog: errors: x"), "info");
  EXPECT_EQ(relayed_line_level("prog: error"), "info");
  EXPECT_EQ(relayed_line_level("prog: ERROR: x"), "info");
  EXPECT_EQ(relayed_line_level("  register dump: error: x"), "info");
  EXPECT_EQ(relayed_line_level(std::string(65, 'p') + ": error: x"), "info");
  EXPECT_EQ(relayed_line_level(std::string(64, 'p') + ": error: x"), "error");
  EXPECT_EQ(relayed_line_level(""), "info");
  const auto json = parsed(format_relayed_line(LogFormat::kJson, kBlk, "prog: fatal: x", false, fixed_time()));
  EXPECT_EQ(json["level"], "info");
}

TEST(LogLine, AProcessCannotClaimAnotherProcessOrVm) {
  const std::string forged =
      R"({"time":"2000-01-01T00:00:00.000Z","level":"error","vm":"other","process":"launcher","message":"root"})";
  const auto json = parsed(format_relayed_line(LogFormat::kJson, kBlk, forged, false, fixed_time()));
  EXPECT_EQ(json["process"], "dev-blk:blk0");
  EXPECT_EQ(json["vm"], "vm-7");
  EXPECT_EQ(json["level"], "info");
  EXPECT_EQ(json["time"], "2024-05-01T12:34:56.789Z");
  ASSERT_TRUE(json["message"].is_string());
  EXPECT_EQ(json["message"], forged);
  // In text, a line posing as the launcher's own record stays behind the process's stamp.
  EXPECT_EQ(format_relayed_line(LogFormat::kText, kBlk, "bulwark: error: VM vm-7: forged", false, fixed_time()),
            "bulwark[vm-7/dev-blk:blk0]: bulwark: error: VM vm-7: forged\n");
}

TEST(LogLine, DroppedLinesRecord) {
  EXPECT_EQ(format_dropped_lines(LogFormat::kText, kBlk, 42, fixed_time()),
            "bulwark: warning: VM vm-7: dev-blk:blk0: 42 lines dropped (rate limit)\n");
  const auto json = parsed(format_dropped_lines(LogFormat::kJson, kBlk, 42, fixed_time()));
  EXPECT_EQ(json["level"], "warning");
  EXPECT_EQ(json["process"], "dev-blk:blk0");
  EXPECT_EQ(json["message"], "42 lines dropped (rate limit)");
  EXPECT_EQ(json["fields"]["dropped"], 42);
}

TEST(LogLine, LauncherRecordsInJson) {
  const auto json = parsed(format_launcher_json("vm-7", "error", "cannot open \"/k\nbulwark: info: x\"\n", fixed_time()));
  EXPECT_EQ(json["process"], "launcher");
  EXPECT_EQ(json["level"], "error");
  EXPECT_EQ(json["vm"], "vm-7");
  EXPECT_EQ(json["message"], "cannot open \"/k\\nbulwark: info: x\"");
}

TEST(LogLine, TimeIsRfc3339UtcWithMilliseconds) {
  EXPECT_EQ(rfc3339_utc_ms(fixed_time()), "2024-05-01T12:34:56.789Z");
  EXPECT_EQ(rfc3339_utc_ms(system_clock::time_point()), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(rfc3339_utc_ms(system_clock::time_point(std::chrono::milliseconds(-1))), "1969-12-31T23:59:59.999Z");
}

}  // namespace
}  // namespace bulwark::jail
