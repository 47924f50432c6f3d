#include "monitor/config/json_config.h"

#include <gtest/gtest.h>

#include <string>

namespace bulwark::config {
namespace {

VmConfig full_config() {
  VmConfig c;
  c.kernel = "/srv/vm/vmlinux";
  c.initrd = "/srv/vm/initrd.img";
  c.cmdline = "console=ttyS0 root=/dev/vda quiet";
  c.memory_mib = 2048;
  c.vcpus = 4;
  c.cpu_template = "T2";
  c.serial = SerialOutput::kFile;
  c.serial_path = "/var/log/vm/console.log";
  c.serial_input = false;
  c.emulated_host_quirks = EmulatedHostQuirks::kOn;
  return c;
}

TEST(JsonConfig, MinimalConfigGetsDefaults) {
  Result<VmConfig> c = parse_vm_config_json(R"({"kernel": "vmlinux"})");
  ASSERT_TRUE(c.ok()) << c.error().message();
  VmConfig expected;
  expected.kernel = "vmlinux";
  EXPECT_EQ(*c, expected);
  EXPECT_EQ(c->memory_mib, 256u);
  EXPECT_EQ(c->vcpus, 1u);
  EXPECT_EQ(c->cmdline, "console=ttyS0 reboot=k panic=-1");
  EXPECT_EQ(c->serial, SerialOutput::kStdout);
  EXPECT_TRUE(c->serial_input);
  EXPECT_EQ(c->emulated_host_quirks, EmulatedHostQuirks::kAuto);
}

TEST(JsonConfig, ReadsEveryField) {
  Result<VmConfig> c = parse_vm_config_json(R"({
    "kernel": "/srv/vm/vmlinux", "initrd": "/srv/vm/initrd.img",
    "cmdline": "console=ttyS0 root=/dev/vda quiet", "memory_mib": 2048, "vcpus": 4,
    "cpu_template": "T2",
    "serial": {"kind": "file", "path": "/var/log/vm/console.log", "input": false},
    "emulated_host_quirks": "on"})");
  ASSERT_TRUE(c.ok()) << c.error().message();
  EXPECT_EQ(*c, full_config());
}

// Each variant differs from the defaults in one field, so a field that to_json drops or
// parse mixes up shows up as a mismatch.
TEST(JsonConfig, EveryFieldRoundTrips) {
  std::vector<VmConfig> variants;
  VmConfig base;
  base.kernel = "k";
  variants.push_back(base);
  variants.push_back(full_config());
  auto with = [&](auto change) {
    VmConfig c = base;
    change(c);
    variants.push_back(c);
  };
  with([](VmConfig& c) { c.kernel = "/a path/with \"quotes\" \\ and ünïcode"; });
  with([](VmConfig& c) { c.initrd = "initrd"; });
  with([](VmConfig& c) { c.cmdline = ""; });
  with([](VmConfig& c) { c.cmdline = "a\tb\nc"; });
  with([](VmConfig& c) { c.memory_mib = kMinMemoryMib; });
  with([](VmConfig& c) { c.memory_mib = kMaxMemoryMib; });
  with([](VmConfig& c) { c.vcpus = kMaxVcpus; });
  with([](VmConfig& c) { c.cpu_template = "C3"; });
  with([](VmConfig& c) { c.serial = SerialOutput::kNone; });
  with([](VmConfig& c) {
    c.serial = SerialOutput::kFile;
    c.serial_path = "out.log";
  });
  with([](VmConfig& c) { c.serial_input = false; });
  with([](VmConfig& c) { c.emulated_host_quirks = EmulatedHostQuirks::kOff; });
  with([](VmConfig& c) { c.emulated_host_quirks = EmulatedHostQuirks::kOn; });
  for (const VmConfig& original : variants) {
    const std::string text = to_json(original);
    Result<VmConfig> parsed = parse_vm_config_json(text);
    ASSERT_TRUE(parsed.ok()) << parsed.error().message() << "\n" << text;
    EXPECT_EQ(*parsed, original) << text;
  }
}

TEST(JsonConfig, ToJsonUsesTheDocumentedNames) {
  const std::string text = to_json(full_config());
  for (const char* name : {"\"kernel\"", "\"initrd\"", "\"cmdline\"", "\"memory_mib\"",
                           "\"vcpus\"", "\"cpu_template\"", "\"serial\"", "\"kind\"", "\"path\"",
                           "\"input\"", "\"emulated_host_quirks\"", "\"file\"", "\"on\""}) {
    EXPECT_NE(text.find(name), std::string::npos) << name << " missing from\n" << text;
  }
}

TEST(JsonConfig, ToJsonDoesNotThrowOnNonUtf8Paths) {
  VmConfig c;
  c.kernel = "/boot/\xff\xfevmlinux";  // possible from argv, not representable in JSON
  const std::string text = to_json(c);
  Result<VmConfig> parsed = parse_vm_config_json(text);
  ASSERT_TRUE(parsed.ok()) << parsed.error().message();
  EXPECT_NE(parsed->kernel, c.kernel);
  EXPECT_NE(parsed->kernel.find("vmlinux"), std::string::npos);
}

TEST(JsonConfig, EmptyInitrdMeansNone) {
  Result<VmConfig> c = parse_vm_config_json(R"({"kernel": "k", "initrd": ""})");
  ASSERT_TRUE(c.ok()) << c.error().message();
  EXPECT_EQ(c->initrd, "");
}

TEST(JsonConfig, SerialDefaultsInsideTheObject) {
  Result<VmConfig> c = parse_vm_config_json(R"({"kernel": "k", "serial": {"input": false}})");
  ASSERT_TRUE(c.ok()) << c.error().message();
  EXPECT_EQ(c->serial, SerialOutput::kStdout);
  EXPECT_FALSE(c->serial_input);
  c = parse_vm_config_json(R"({"kernel": "k", "serial": {"kind": "none"}})");
  ASSERT_TRUE(c.ok()) << c.error().message();
  EXPECT_EQ(c->serial, SerialOutput::kNone);
  EXPECT_TRUE(c->serial_input);
}

TEST(JsonConfig, AcceptsAByteOrderMarkAndWhitespace) {
  Result<VmConfig> c = parse_vm_config_json("\xEF\xBB\xBF \n{\"kernel\":\"k\"}\n\n");
  ASSERT_TRUE(c.ok()) << c.error().message();
}

TEST(JsonConfig, PartialConfigMayOmitTheKernel) {
  Result<VmConfig> c = parse_vm_config_json(R"({"vcpus": 2})",
                                            JsonConfigOptions{.source = "config file a.json",
                                                              .require_kernel = false});
  ASSERT_TRUE(c.ok()) << c.error().message();
  EXPECT_EQ(c->vcpus, 2u);
  EXPECT_EQ(c->kernel, "");
  Result<VmConfig> bad = parse_vm_config_json(R"({"vcpus": 0})",
                                              JsonConfigOptions{.source = "config file a.json",
                                                                .require_kernel = false});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().message(),
            "config file a.json: /vcpus: expected an integer from 1 to 64, got 0");
}

struct ErrorCase {
  const char* name;
  std::string input;
  std::string expected;  // substring of the message; starts with "config: " where whole
};

class JsonConfigError : public testing::TestWithParam<ErrorCase> {};

TEST_P(JsonConfigError, NamesTheProblem) {
  const ErrorCase& c = GetParam();
  Result<VmConfig> parsed = parse_vm_config_json(c.input);
  ASSERT_FALSE(parsed.ok()) << "accepted: " << c.input;
  EXPECT_NE(parsed.error().message().find(c.expected), std::string::npos)
      << "message: " << parsed.error().message() << "\nexpected to contain: " << c.expected;
  EXPECT_EQ(parsed.error().message().rfind("config: ", 0), 0u) << parsed.error().message();
}

// {"kernel": "k", <extra>}
std::string with_kernel(const std::string& extra) { return R"({"kernel": "k", )" + extra + "}"; }

const ErrorCase kErrorCases[] = {
    // Structure.
    {"TopLevelArray", "[1, 2]", "config: top level: expected an object, got an array"},
    {"TopLevelString", R"("vmlinux")", R"(config: top level: expected an object, got "vmlinux")"},
    {"TopLevelNull", "null", "config: top level: expected an object, got null"},
    {"MissingKernel", R"({"vcpus": 2})", "config: /kernel: required field is missing"},
    {"UnknownField", with_kernel(R"("memory_mib_typo": 512)"),
     "config: /memory_mib_typo: unknown field"},
    {"NestedUnknownField", with_kernel(R"("serial": {"colour": "red"})"),
     "config: /serial/colour: unknown field"},
    {"UnknownFieldPointerEscaping", with_kernel(R"("a/b~c": 1)"),
     "config: /a~1b~0c: unknown field"},
    {"UnknownFieldControlCharsEscaped", with_kernel(R"("\u001b[31mred": 1)"),
     R"(config: /\x1b[31mred: unknown field)"},
    {"DuplicateTopLevelKey", R"({"kernel": "a", "kernel": "b"})",
     "config: /kernel: duplicate field"},
    {"DuplicateNestedKey", with_kernel(R"("serial": {"kind": "none", "kind": "stdout"})"),
     "config: /serial/kind: duplicate field"},
    {"DuplicateKeyInsideArray", with_kernel(R"("x": [0, {"a": 1, "a": 2}])"),
     "config: /x/1/a: duplicate field"},
    {"TooDeep", with_kernel(std::string(R"("x": )") + std::string(40, '[') + std::string(40, ']')),
     "nested deeper than 32 levels"},
    // Invalid JSON: the parser's own position.
    {"Empty", "", "config: invalid JSON: parse error at line 1, column 1"},
    {"Truncated", R"({"kernel": "k")",
     "config: invalid JSON: parse error at line 1, column 15: syntax error while parsing object - "
     "unexpected end of input; expected '}'"},
    {"TrailingComma", "{\"kernel\": \"k\",\n}", "parse error at line 2, column 1"},
    {"TrailingGarbage", R"({"kernel": "k"} x)", "parse error at line 1, column 17"},
    {"Comment", "{\"kernel\": \"k\" // c\n}", "parse error at line 1, column 16"},
    {"SingleQuotes", "{'kernel': 'k'}", "parse error at line 1, column 2"},
    {"InvalidUtf8", "{\"kernel\": \"\xff\"}", "config: invalid JSON: parse error at line 1, column 13"},
    {"InvalidUtf8NamedNotEchoed", "{\"kernel\": \"\xff\"}", "column 13: syntax error while parsing value - invalid string: ill-formed UTF-8 byte"},
    {"OverlongUtf8", "{\"kernel\": \"\xc0\xaf\"}", "invalid JSON: parse error at line 1, column 13"},
    {"LoneSurrogate", R"({"kernel": "\ud800"})", "invalid JSON: parse error at line 1, column 19"},
    {"RawControlChar", "{\"kernel\": \"a\nb\"}",
     "invalid JSON: parse error at line 2, column 0: syntax error while parsing value - invalid "
     "string: control character U+000A (LF) must be escaped"},
    // nlohmann alone would stop at a NUL and accept what came before it.
    {"TrailingNulByte", std::string("{\"kernel\": \"k\"}\0", 16),
     "config: invalid JSON: NUL byte at line 1, column 16"},
    {"NulThenGarbage", std::string("{\"kernel\": \"k\"}\n\0{\"x\": 1", 24),
     "config: invalid JSON: NUL byte at line 2, column 1"},
    {"NulInString", std::string("{\"kernel\": \"k\0\"}", 16),
     "config: invalid JSON: NUL byte at line 1, column 14"},
    {"NumberOverflow", with_kernel(R"("vcpus": 1e400)"), "config: invalid JSON: at line 1, column 30: number overflow parsing '1e400'"},
    // Integers.
    {"VcpusString", with_kernel(R"("vcpus": "two")"),
     R"(config: /vcpus: expected an integer from 1 to 64, got "two")"},
    {"VcpusZero", with_kernel(R"("vcpus": 0)"), "config: /vcpus: expected an integer from 1 to 64, got 0"},
    {"VcpusTooMany", with_kernel(R"("vcpus": 65)"), "/vcpus: expected an integer from 1 to 64, got 65"},
    {"VcpusFraction", with_kernel(R"("vcpus": 2.5)"), "/vcpus: expected an integer from 1 to 64, got 2.5"},
    {"VcpusFloatWholeNumber", with_kernel(R"("vcpus": 2.0)"), "/vcpus: expected an integer from 1 to 64, got 2.0"},
    {"VcpusNegative", with_kernel(R"("vcpus": -1)"), "/vcpus: expected an integer from 1 to 64, got -1"},
    {"VcpusHugeFloat", with_kernel(R"("vcpus": 1e30)"), "/vcpus: expected an integer from 1 to 64, got 1e+30"},
    {"VcpusAboveUint64", with_kernel(R"("vcpus": 18446744073709551616)"),
     "/vcpus: expected an integer from 1 to 64, got 1.8446744073709552e+19"},
    {"VcpusUint64Max", with_kernel(R"("vcpus": 18446744073709551615)"),
     "/vcpus: expected an integer from 1 to 64, got 18446744073709551615"},
    {"VcpusWrapsTo32Bits", with_kernel(R"("vcpus": 4294967297)"),
     "/vcpus: expected an integer from 1 to 64, got 4294967297"},
    {"VcpusBool", with_kernel(R"("vcpus": true)"), "/vcpus: expected an integer from 1 to 64, got true"},
    {"VcpusNull", with_kernel(R"("vcpus": null)"), "/vcpus: expected an integer from 1 to 64, got null"},
    {"VcpusArray", with_kernel(R"("vcpus": [2])"), "/vcpus: expected an integer from 1 to 64, got an array"},
    {"MemoryString", with_kernel(R"("memory_mib": "512M")"),
     R"(config: /memory_mib: expected an integer from 16 to 1048576, got "512M")"},
    {"MemoryTooSmall", with_kernel(R"("memory_mib": 15)"), "/memory_mib: expected an integer from 16 to 1048576, got 15"},
    {"MemoryTooLarge", with_kernel(R"("memory_mib": 1048577)"), "/memory_mib: expected an integer from 16 to 1048576, got 1048577"},
    {"MemoryNegative", with_kernel(R"("memory_mib": -512)"), "/memory_mib: expected an integer from 16 to 1048576, got -512"},
    {"MemoryFraction", with_kernel(R"("memory_mib": 512.5)"), "/memory_mib: expected an integer from 16 to 1048576, got 512.5"},
    {"MemoryHuge", with_kernel(R"("memory_mib": 1e30)"), "/memory_mib: expected an integer from 16 to 1048576, got 1e+30"},
    {"MemoryObject", with_kernel(R"("memory_mib": {})"), "/memory_mib: expected an integer from 16 to 1048576, got an object"},
    // Strings.
    {"KernelNumber", R"({"kernel": 5})", "config: /kernel: expected a string, got 5"},
    {"KernelNull", R"({"kernel": null})", "config: /kernel: expected a string, got null"},
    {"KernelEmpty", R"({"kernel": ""})", "config: /kernel: must not be empty"},
    {"KernelNul", R"({"kernel": "vmlinux\u0000.evil"})", "config: /kernel: must not contain a NUL character"},
    {"KernelTooLong", R"({"kernel": ")" + std::string(4096, 'a') + R"("})",
     "config: /kernel: path is longer than 4095 bytes"},
    {"InitrdBool", with_kernel(R"("initrd": false)"), "config: /initrd: expected a string, got false"},
    {"InitrdNul", with_kernel(R"("initrd": "\u0000")"), "config: /initrd: must not contain a NUL character"},
    {"CmdlineArray", with_kernel(R"("cmdline": ["console=ttyS0"])"), "config: /cmdline: expected a string, got an array"},
    {"CmdlineNul", with_kernel(R"("cmdline": "a\u0000b")"), "config: /cmdline: must not contain a NUL character"},
    {"CmdlineTooLong", with_kernel(R"("cmdline": ")" + std::string(65536, 'x') + "\""),
     "config: /cmdline: longer than 65535 bytes"},
    {"CpuTemplateNumber", with_kernel(R"("cpu_template": 2)"), "config: /cpu_template: expected a string, got 2"},
    {"CpuTemplateEmpty", with_kernel(R"("cpu_template": "")"),
     "config: /cpu_template: expected a name of 1 to 64 characters from A-Z a-z 0-9 . _ -"},
    {"CpuTemplateSpace", with_kernel(R"("cpu_template": "T 2")"), "config: /cpu_template: expected a name"},
    {"GotStringIsEscaped", with_kernel(R"("vcpus": "\u001b]0;x\u0007\"")"),
     R"(got "\x1b]0;x\x07\"")"},
    {"GotStringIsTruncated", with_kernel(R"("vcpus": ")" + std::string(500, 'z') + "\""),
     "got \"" + std::string(80, 'z') + "...\""},
    // Serial.
    {"SerialString", with_kernel(R"("serial": "stdout")"), R"(config: /serial: expected an object, got "stdout")"},
    {"SerialKindUnknown", with_kernel(R"("serial": {"kind": "pty"})"),
     R"(config: /serial/kind: unknown value "pty" (expected one of: stdout, file, none))"},
    {"SerialKindCase", with_kernel(R"("serial": {"kind": "Stdout"})"), R"(/serial/kind: unknown value "Stdout")"},
    {"SerialKindNumber", with_kernel(R"("serial": {"kind": 1})"),
     "config: /serial/kind: expected a string (one of: stdout, file, none), got 1"},
    {"SerialFileWithoutPath", with_kernel(R"("serial": {"kind": "file"})"),
     R"(config: /serial/path: required when /serial/kind is "file")"},
    {"SerialPathWithoutFile", with_kernel(R"("serial": {"path": "x.log"})"),
     R"(config: /serial/path: only allowed when /serial/kind is "file")"},
    {"SerialPathWithNone", with_kernel(R"("serial": {"kind": "none", "path": "x.log"})"),
     R"(config: /serial/path: only allowed when /serial/kind is "file")"},
    {"SerialPathEmpty", with_kernel(R"("serial": {"kind": "file", "path": ""})"),
     "config: /serial/path: must not be empty"},
    {"SerialPathNumber", with_kernel(R"("serial": {"kind": "file", "path": 3})"),
     "config: /serial/path: expected a string, got 3"},
    {"SerialInputString", with_kernel(R"("serial": {"input": "yes"})"),
     R"(config: /serial/input: expected true or false, got "yes")"},
    {"SerialInputNumber", with_kernel(R"("serial": {"input": 1})"),
     "config: /serial/input: expected true or false, got 1"},
    // Quirks.
    {"QuirksUnknown", with_kernel(R"("emulated_host_quirks": "yes")"),
     R"(config: /emulated_host_quirks: unknown value "yes" (expected one of: auto, on, off))"},
    {"QuirksBool", with_kernel(R"("emulated_host_quirks": true)"),
     "config: /emulated_host_quirks: expected a string (one of: auto, on, off), got true"},
};

INSTANTIATE_TEST_SUITE_P(Table, JsonConfigError, testing::ValuesIn(kErrorCases),
                         [](const testing::TestParamInfo<ErrorCase>& info) {
                           return std::string(info.param.name);
                         });

// A host secret named as the config file: the syntax error says where, never what it read
// (nlohmann's "last read: '...'" would echo the start of a string or literal).
TEST(JsonConfig, SyntaxErrorsNeverEchoTheInput) {
  const std::string inputs[] = {
      "root:$y$j9T$secretsalt$hash:19000:0:99999:7:::\n",
      "\"secretpassword\x01\"",
      "{\"kernel\": \"secretvalue\x02\"}",
      "tr_secret",
  };
  for (const std::string& input : inputs) {
    SCOPED_TRACE(input);
    Result<VmConfig> parsed = parse_vm_config_json(input);
    ASSERT_FALSE(parsed.ok());
    const std::string& message = parsed.error().message();
    EXPECT_NE(message.find("parse error at line 1"), std::string::npos) << message;
    for (const char* leak : {"root", "secret", "last read", "tr_"})
      EXPECT_EQ(message.find(leak), std::string::npos) << leak << " in: " << message;
  }
}

TEST(JsonConfig, RefusesOversizedInput) {
  std::string text = R"({"kernel": "k", "cmdline": ")" + std::string(1 << 20, ' ') + "\"}";
  Result<VmConfig> parsed = parse_vm_config_json(text);
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.error().message(), "config: larger than 1048576 bytes");
}

TEST(JsonConfig, DeepNestingWithinTheLimitIsJustAnUnknownField) {
  std::string text =
      with_kernel(R"("x": )" + std::string(30, '[') + std::string(30, ']'));
  Result<VmConfig> parsed = parse_vm_config_json(text);
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.error().message(), "config: /x: unknown field");
}

}  // namespace
}  // namespace bulwark::config
