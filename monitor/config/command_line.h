// The monitor's command line, in the style of QEMU and Firecracker users: long flags, each given
// at most once, as `--flag value` or `--flag=value`. `--config FILE` loads the JSON config
// (json_config.h) first and the other flags override its fields, whatever their order.
#pragma once

#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "bulwark/common/log.h"
#include "bulwark/common/result.h"
#include "monitor/config/vm_config.h"

namespace bulwark::config {

struct CommandLine {
  VmConfig config;
  bool show_help = false;
  bool show_version = false;
  bool list_cpu_templates = false;
  std::string log_level = "info";  // one of debug, info, warn, error
};

// Reads the file named by --config; errors should name the file.
using ReadFile = std::function<Result<std::string>(const std::string& path)>;

// `args` excludes argv[0]. On success the config has passed validate_vm_config(), except when
// --help, --version or --list-cpu-templates is given: then the config file is not read, no
// kernel is required and `config` should not be used. Flag values are still checked, so a
// typo is reported rather than hidden behind the help text.
Result<CommandLine> parse_command_line(std::span<const std::string_view> args,
                                       const ReadFile& read_file);

// The --help text; the monitor appends its CPU template list.
std::string usage_text(std::string_view program);

// "debug" -> log::Level::kDebug, ...; nullopt for anything else.
std::optional<log::Level> log_level_from_name(std::string_view name);

}  // namespace bulwark::config
