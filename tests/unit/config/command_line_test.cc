#include "monitor/config/command_line.h"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

namespace bulwark::config {
namespace {

// An in-memory file system for --config, recording what was read.
class FakeFiles {
 public:
  void add(const std::string& path, const std::string& text) { files_[path] = text; }
  ReadFile reader() {
    return [this](const std::string& path) -> Result<std::string> {
      reads_.push_back(path);
      auto it = files_.find(path);
      if (it == files_.end()) return Error(path + ": No such file or directory");
      return it->second;
    };
  }
  const std::vector<std::string>& reads() const { return reads_; }

 private:
  std::map<std::string, std::string> files_;
  std::vector<std::string> reads_;
};

Result<CommandLine> parse(std::vector<std::string_view> args, FakeFiles& files) {
  return parse_command_line(args, files.reader());
}

Result<CommandLine> parse(std::vector<std::string_view> args) {
  FakeFiles none;
  return parse(std::move(args), none);
}

std::string error_of(std::vector<std::string_view> args) {
  Result<CommandLine> r = parse(std::move(args));
  return r.ok() ? "ok" : r.error().message();
}

TEST(CommandLine, KernelAloneGetsDefaults) {
  Result<CommandLine> r = parse({"--kernel", "vmlinux"});
  ASSERT_TRUE(r.ok()) << r.error().message();
  VmConfig expected;
  expected.kernel = "vmlinux";
  EXPECT_EQ(r->config, expected);
  EXPECT_EQ(r->log_level, "info");
  EXPECT_FALSE(r->show_help || r->show_version || r->list_cpu_templates);
}

TEST(CommandLine, EveryFlag) {
  Result<CommandLine> r =
      parse({"--kernel", "bzImage", "--initrd", "initrd.img", "--cmdline", "console=ttyS0 quiet",
             "--memory", "2G", "--vcpus", "8", "--cpu-template", "T2", "--serial",
             "file:/tmp/console.log", "--no-serial-input", "--emulated-host-quirks", "off",
             "--log-level", "debug"});
  ASSERT_TRUE(r.ok()) << r.error().message();
  const VmConfig& c = r->config;
  EXPECT_EQ(c.kernel, "bzImage");
  EXPECT_EQ(c.initrd, "initrd.img");
  EXPECT_EQ(c.cmdline, "console=ttyS0 quiet");
  EXPECT_EQ(c.memory_mib, 2048u);
  EXPECT_EQ(c.vcpus, 8u);
  EXPECT_EQ(c.cpu_template, "T2");
  EXPECT_EQ(c.serial, SerialOutput::kFile);
  EXPECT_EQ(c.serial_path, "/tmp/console.log");
  EXPECT_FALSE(c.serial_input);
  EXPECT_EQ(c.emulated_host_quirks, EmulatedHostQuirks::kOff);
  EXPECT_EQ(r->log_level, "debug");
}

TEST(CommandLine, EqualsFormIsTheSame) {
  Result<CommandLine> spaced = parse({"--kernel", "k", "--memory", "1G", "--serial", "none",
                                      "--cmdline", "a=b c=d", "--vcpus", "3"});
  Result<CommandLine> equals = parse({"--kernel=k", "--memory=1G", "--serial=none",
                                      "--cmdline=a=b c=d", "--vcpus=3"});
  ASSERT_TRUE(spaced.ok()) << spaced.error().message();
  ASSERT_TRUE(equals.ok()) << equals.error().message();
  EXPECT_EQ(spaced->config, equals->config);
  EXPECT_EQ(equals->config.cmdline, "a=b c=d");
  EXPECT_EQ(equals->config.serial, SerialOutput::kNone);
}

TEST(CommandLine, EqualsFormAllowsEmptyAndDashValues) {
  Result<CommandLine> r = parse({"--kernel=k", "--cmdline=", "--initrd=--odd-name"});
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(r->config.cmdline, "");
  EXPECT_EQ(r->config.initrd, "--odd-name");
  r = parse({"--kernel", "k", "--cmdline", "-single-dash-is-a-value"});
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(r->config.cmdline, "-single-dash-is-a-value");
}

TEST(CommandLine, MemoryForms) {
  const std::pair<const char*, uint64_t> cases[] = {
      {"512", 512}, {"512M", 512}, {"512MiB", 512}, {"2G", 2048}, {"2GiB", 2048}};
  for (const auto& [text, mib] : cases) {
    Result<CommandLine> r = parse({"--kernel", "k", "--memory", text});
    ASSERT_TRUE(r.ok()) << text << ": " << r.error().message();
    EXPECT_EQ(r->config.memory_mib, mib) << text;
  }
}

TEST(CommandLine, SerialForms) {
  Result<CommandLine> r = parse({"--kernel", "k", "--serial", "stdout"});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->config.serial, SerialOutput::kStdout);
  r = parse({"--kernel", "k", "--serial", "file:with:colons.log"});
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(r->config.serial_path, "with:colons.log");
}

TEST(CommandLine, ModesNeedNoKernel) {
  for (std::string_view flag : {"--help", "-h", "--version", "--list-cpu-templates"}) {
    Result<CommandLine> r = parse({flag});
    ASSERT_TRUE(r.ok()) << flag << ": " << r.error().message();
    EXPECT_EQ(r->show_help, flag == "--help" || flag == "-h");
    EXPECT_EQ(r->show_version, flag == "--version");
    EXPECT_EQ(r->list_cpu_templates, flag == "--list-cpu-templates");
  }
}

TEST(CommandLine, HelpDoesNotReadTheConfigFile) {
  FakeFiles files;
  Result<CommandLine> r = parse({"--config", "missing.json", "--help"}, files);
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_TRUE(r->show_help);
  EXPECT_TRUE(files.reads().empty());
}

TEST(CommandLine, HelpStillReportsBadFlags) {
  EXPECT_EQ(error_of({"--help", "--vcpus", "lots"}),
            R"(--vcpus: expected an integer from 1 to 64, got "lots")");
  EXPECT_EQ(error_of({"--help", "--bogus"}), R"(unknown flag "--bogus" (see --help))");
}

TEST(CommandLine, ConfigFileSuppliesEverything) {
  FakeFiles files;
  files.add("vm.json", R"({"kernel": "vmlinux", "memory_mib": 1024, "vcpus": 2,
                           "serial": {"kind": "file", "path": "c.log", "input": false}})");
  Result<CommandLine> r = parse({"--config", "vm.json"}, files);
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(r->config.kernel, "vmlinux");
  EXPECT_EQ(r->config.memory_mib, 1024u);
  EXPECT_EQ(r->config.vcpus, 2u);
  EXPECT_EQ(r->config.serial, SerialOutput::kFile);
  EXPECT_EQ(r->config.serial_path, "c.log");
  EXPECT_FALSE(r->config.serial_input);
  EXPECT_EQ(files.reads(), std::vector<std::string>{"vm.json"});
}

TEST(CommandLine, FlagsOverrideTheConfigFileWhateverTheirOrder) {
  FakeFiles files;
  files.add("vm.json", R"({"kernel": "from-file", "initrd": "file-initrd", "cmdline": "file",
                           "memory_mib": 1024, "vcpus": 2, "cpu_template": "T2",
                           "serial": {"kind": "file", "path": "c.log"},
                           "emulated_host_quirks": "on"})");
  Result<CommandLine> r =
      parse({"--vcpus", "4", "--kernel", "from-flag", "--config", "vm.json", "--memory", "4G",
             "--serial", "none", "--emulated-host-quirks", "off", "--cmdline", "flag",
             "--cpu-template", "C3", "--initrd", "flag-initrd"},
            files);
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(r->config.kernel, "from-flag");
  EXPECT_EQ(r->config.initrd, "flag-initrd");
  EXPECT_EQ(r->config.cmdline, "flag");
  EXPECT_EQ(r->config.memory_mib, 4096u);
  EXPECT_EQ(r->config.vcpus, 4u);
  EXPECT_EQ(r->config.cpu_template, "C3");
  EXPECT_EQ(r->config.serial, SerialOutput::kNone);
  EXPECT_EQ(r->config.serial_path, "");  // the file's path does not linger
  EXPECT_EQ(r->config.emulated_host_quirks, EmulatedHostQuirks::kOff);
}

TEST(CommandLine, UnsetFlagsKeepTheFileValues) {
  FakeFiles files;
  files.add("vm.json", R"({"kernel": "k", "vcpus": 3, "serial": {"input": false}})");
  Result<CommandLine> r = parse({"--config=vm.json", "--memory", "64"}, files);
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(r->config.vcpus, 3u);
  EXPECT_EQ(r->config.memory_mib, 64u);
  EXPECT_FALSE(r->config.serial_input);
}

TEST(CommandLine, ConfigFileWithoutKernelNeedsTheFlag) {
  FakeFiles files;
  files.add("vm.json", R"({"vcpus": 2})");
  Result<CommandLine> r = parse({"--config", "vm.json", "--kernel", "k"}, files);
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(r->config.kernel, "k");
  r = parse({"--config", "vm.json"}, files);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message(), R"(no kernel: give --kernel PATH or "kernel" in the --config file)");
}

TEST(CommandLine, ConfigFileErrorsNameTheFileAndPath) {
  FakeFiles files;
  files.add("vm.json", R"({"kernel": "k", "vcpus": "two"})");
  files.add("typo.json", R"({"kernel": "k", "serial": {"colour": 1}})");
  files.add("broken.json", "{\"kernel\": ");
  Result<CommandLine> r = parse({"--config", "vm.json"}, files);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message(),
            R"(config file "vm.json": /vcpus: expected an integer from 1 to 64, got "two")");
  // A bad file is refused even when a flag would override the bad field.
  r = parse({"--config", "vm.json", "--vcpus", "2"}, files);
  ASSERT_FALSE(r.ok());
  r = parse({"--config", "typo.json"}, files);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message(), "config file \"typo.json\": /serial/colour: unknown field");
  r = parse({"--config", "broken.json"}, files);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("config file \"broken.json\": invalid JSON: parse error at line 1"),
            std::string::npos)
      << r.error().message();
  r = parse({"--config", "absent.json"}, files);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message(), "--config: absent.json: No such file or directory");
}

struct CliError {
  const char* name;
  std::vector<std::string_view> args;
  const char* expected;  // whole message
};

class CommandLineError : public testing::TestWithParam<CliError> {};

TEST_P(CommandLineError, NamesTheProblem) {
  EXPECT_EQ(error_of(GetParam().args), GetParam().expected);
}

const std::string kLongPath(4096, 'k');

const CliError kCliErrors[] = {
    {"NoArguments", {}, R"(no kernel: give --kernel PATH or "kernel" in the --config file)"},
    {"UnknownFlag", {"--kernel", "k", "--memroy", "1G"}, R"(unknown flag "--memroy" (see --help))"},
    {"UnknownFlagWithValue", {"--kernel=k", "--memroy=1G"}, R"(unknown flag "--memroy" (see --help))"},
    {"UnknownShortFlag", {"-m", "512"}, R"(unknown flag "-m" (see --help))"},
    {"DoubleDashAlone", {"--kernel", "k", "--"}, R"(unknown flag "--" (see --help))"},
    {"Positional", {"--kernel", "k", "vmlinux"},
     R"(unexpected argument "vmlinux" (settings are flags such as --kernel PATH; see --help))"},
    {"PositionalFirst", {"vmlinux"},
     R"(unexpected argument "vmlinux" (settings are flags such as --kernel PATH; see --help))"},
    {"LoneDash", {"-"},
     R"(unexpected argument "-" (settings are flags such as --kernel PATH; see --help))"},
    {"MissingValueAtEnd", {"--kernel"}, "--kernel: missing value PATH"},
    {"MissingValueBeforeFlag", {"--kernel", "--vcpus", "2"},
     R"(--kernel: missing value PATH (found "--vcpus"; write --kernel=VALUE for a value starting with --))"},
    {"RepeatedFlag", {"--kernel", "a", "--kernel", "b"}, "--kernel: given more than once"},
    {"RepeatedFlagMixedForms", {"--vcpus=1", "--kernel", "k", "--vcpus", "2"}, "--vcpus: given more than once"},
    {"RepeatedBooleanFlag", {"--kernel", "k", "--no-serial-input", "--no-serial-input"},
     "--no-serial-input: given more than once"},
    {"HelpTwice", {"-h", "--help"}, "--help: given more than once"},
    {"BooleanWithValue", {"--kernel", "k", "--no-serial-input=yes"}, "--no-serial-input: takes no value"},
    {"HelpWithValue", {"--help=1"}, "--help: takes no value"},
    {"EmptyKernel", {"--kernel", ""}, "--kernel: must not be empty"},
    {"EmptyKernelEquals", {"--kernel="}, "--kernel: must not be empty"},
    {"LongKernel", {"--kernel", kLongPath}, "--kernel: path is longer than 4095 bytes"},
    {"VcpusWord", {"--kernel", "k", "--vcpus", "two"}, R"(--vcpus: expected an integer from 1 to 64, got "two")"},
    {"VcpusZero", {"--kernel", "k", "--vcpus", "0"}, R"(--vcpus: expected an integer from 1 to 64, got "0")"},
    {"VcpusTooMany", {"--kernel", "k", "--vcpus", "65"}, R"(--vcpus: expected an integer from 1 to 64, got "65")"},
    {"VcpusNegative", {"--kernel", "k", "--vcpus", "-1"}, R"(--vcpus: expected an integer from 1 to 64, got "-1")"},
    {"VcpusFraction", {"--kernel", "k", "--vcpus", "2.5"}, R"(--vcpus: expected an integer from 1 to 64, got "2.5")"},
    {"VcpusHuge", {"--kernel", "k", "--vcpus", "18446744073709551617"},
     R"(--vcpus: expected an integer from 1 to 64, got "18446744073709551617")"},
    {"VcpusEmpty", {"--kernel", "k", "--vcpus="}, R"(--vcpus: expected an integer from 1 to 64, got "")"},
    {"MemoryZero", {"--kernel", "k", "--memory", "0"}, "--memory: must not be 0"},
    {"MemoryJunk", {"--kernel", "k", "--memory", "lots"},
     R"(--memory: expected a size like 512, 512M or 2G (MiB if no unit), got "lots")"},
    {"MemoryOverflow", {"--kernel", "k", "--memory", "18446744073709551616G"},
     R"(--memory: "18446744073709551616G" is too large (at most 1048576 MiB = 1 TiB))"},
    {"MemoryBadUnit", {"--kernel", "k", "--memory", "2GB"},
     R"(--memory: unknown unit "GB" in "2GB" (expected M, MiB, G, GiB, T or TiB; no unit means MiB))"},
    {"MemoryTooSmall", {"--kernel", "k", "--memory", "8M"}, R"(--memory: "8M" is too small (at least 16 MiB))"},
    {"SerialUnknown", {"--kernel", "k", "--serial", "pty"},
     R"(--serial: unknown value "pty" (expected stdout, none or file:PATH))"},
    {"SerialFileNoPath", {"--kernel", "k", "--serial", "file"}, R"(--serial: "file" needs a path: file:PATH)"},
    {"SerialFileEmptyPath", {"--kernel", "k", "--serial", "file:"}, "--serial: file:PATH: must not be empty"},
    {"QuirksUnknown", {"--kernel", "k", "--emulated-host-quirks", "yes"},
     R"(--emulated-host-quirks: unknown value "yes" (expected one of: auto, on, off))"},
    {"LogLevelUnknown", {"--kernel", "k", "--log-level", "verbose"},
     R"(--log-level: unknown value "verbose" (expected one of: debug, info, warn, error))"},
    {"CpuTemplateBad", {"--kernel", "k", "--cpu-template", "../../etc"},
     "--cpu-template: expected a name of 1 to 64 characters from A-Z a-z 0-9 . _ -"},
    {"ConfigEmpty", {"--config="}, "--config: must not be empty"},
    {"UnknownFlagIsEscaped", {"--\x1b[2J"}, R"(unknown flag "--\x1b[2J" (see --help))"},
};

INSTANTIATE_TEST_SUITE_P(Table, CommandLineError, testing::ValuesIn(kCliErrors),
                         [](const testing::TestParamInfo<CliError>& info) {
                           return std::string(info.param.name);
                         });

TEST(CommandLine, UsageListsEveryFlag) {
  const std::string usage = usage_text("bulwark-monitor");
  EXPECT_EQ(usage.rfind("Usage: bulwark-monitor --kernel PATH", 0), 0u) << usage;
  for (const char* flag :
       {"--kernel PATH", "--initrd PATH", "--cmdline STRING", "--memory SIZE", "--vcpus N",
        "--cpu-template NAME", "--serial OUTPUT", "--no-serial-input",
        "--emulated-host-quirks MODE", "--config FILE", "--log-level LEVEL", "--help", "-h",
        "--version", "--list-cpu-templates", "\"memory_mib\"", "\"emulated_host_quirks\""}) {
    EXPECT_NE(usage.find(flag), std::string::npos) << flag << " missing from\n" << usage;
  }
  // Every flag the usage advertises is one the parser accepts.
  for (std::string_view flag : {"--version", "--list-cpu-templates", "--help"}) {
    EXPECT_TRUE(parse({flag}).ok()) << flag;
  }
}

TEST(CommandLine, UsageFitsAnEightyColumnTerminal) {
  const std::string usage = usage_text("bulwark-monitor");
  size_t line_start = 0;
  while (line_start < usage.size()) {
    size_t line_end = usage.find('\n', line_start);
    if (line_end == std::string::npos) line_end = usage.size();
    EXPECT_LE(line_end - line_start, 80u) << usage.substr(line_start, line_end - line_start);
    line_start = line_end + 1;
  }
}

TEST(CommandLine, LogLevelNames) {
  EXPECT_EQ(log_level_from_name("debug"), log::Level::kDebug);
  EXPECT_EQ(log_level_from_name("info"), log::Level::kInfo);
  EXPECT_EQ(log_level_from_name("warn"), log::Level::kWarn);
  EXPECT_EQ(log_level_from_name("error"), log::Level::kError);
  EXPECT_EQ(log_level_from_name("warning"), std::nullopt);
}

}  // namespace
}  // namespace bulwark::config
