#include "monitor/config/json_config.h"

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <type_traits>
#include <utility>

#include <nlohmann/json.hpp>

#include "monitor/config/message_text.h"
#include "monitor/config/strict_json.h"

namespace bulwark::config {

namespace {

using nlohmann::json;


// Field readers: each checks the type explicitly and reads through get_ptr, which returns
// nullptr on a mismatch instead of throwing.
Result<uint64_t> read_integer(const json& value, uint64_t min, uint64_t max) {
  const auto* number = value.get_ptr<const json::number_unsigned_t*>();
  if (number != nullptr && *number >= min && *number <= max) return *number;
  return Error(expected_integer_text(min, max) + ", got " + describe_json_value(value));
}

Result<std::string> read_string(const json& value) {
  const auto* text = value.get_ptr<const json::string_t*>();
  if (text == nullptr) return Error("expected a string, got " + describe_json_value(value));
  return *text;
}

Result<bool> read_bool(const json& value) {
  const auto* flag = value.get_ptr<const json::boolean_t*>();
  if (flag == nullptr) return Error("expected true or false, got " + describe_json_value(value));
  return *flag;
}

template <typename Enum>
Result<Enum> read_enum(const json& value, std::optional<Enum> (*from_name)(std::string_view),
                       std::string_view names) {
  const auto* text = value.get_ptr<const json::string_t*>();
  if (text == nullptr) {
    return Error("expected a string (one of: " + std::string(names) + "), got " +
                 describe_json_value(value));
  }
  std::optional<Enum> parsed = from_name(*text);
  if (!parsed) {
    return Error("unknown value " + quoted_text(*text) + " (expected one of: " +
                 std::string(names) + ")");
  }
  return *parsed;
}

// Walks one JSON object: each member must have a handler. A handler gets the member's JSON
// pointer and returns errors that already start with it.
using MemberHandler = std::function<Status(const json& value, const std::string& path)>;
Status read_object(const json& value, const std::string& path,
                   const std::map<std::string_view, MemberHandler>& handlers) {
  const auto* members = value.get_ptr<const json::object_t*>();
  if (members == nullptr) {
    const std::string where = path.empty() ? "top level" : path;
    return Error(where + ": expected an object, got " + describe_json_value(value));
  }
  for (const auto& [key, member] : *members) {
    const std::string member_path = json_pointer_child(path, key);
    auto handler = handlers.find(key);
    if (handler == handlers.end()) return Error(member_path + ": unknown field");
    BULWARK_TRY(handler->second(member, member_path));
  }
  return ok_status();
}

// A MemberHandler for a leaf value: reads it, applies the field rule, stores it in *out and
// sets *present.
template <typename T>
MemberHandler store(T* out, std::function<Result<T>(const json&)> reader,
                    Status (*rule)(std::string_view) = nullptr, bool* present = nullptr) {
  return [=](const json& value, const std::string& path) -> Status {
    Result<T> parsed = reader(value);
    if (!parsed.ok()) return parsed.error().wrap(path);
    if constexpr (std::is_same_v<T, std::string>) {
      if (rule != nullptr) {
        if (Status s = rule(*parsed); !s.ok()) return s.error().wrap(path);
      }
    }
    *out = std::move(*parsed);
    if (present != nullptr) *present = true;
    return ok_status();
  };
}

Status read_serial(const json& value, const std::string& path, VmConfig& config) {
  bool has_path = false;
  BULWARK_TRY(read_object(
      value, path,
      {
          {"kind", store<SerialOutput>(&config.serial,
                                       [](const json& v) {
                                         return read_enum(v, serial_output_from_name,
                                                          kSerialOutputNames);
                                       })},
          {"path", store<std::string>(&config.serial_path, read_string, check_required_path,
                                      &has_path)},
          {"input", store<bool>(&config.serial_input, read_bool)},
      }));
  if (config.serial == SerialOutput::kFile && !has_path) {
    return Error(path + "/path: required when " + path + "/kind is \"file\"");
  }
  if (config.serial != SerialOutput::kFile && has_path) {
    return Error(path + "/path: only allowed when " + path + "/kind is \"file\"");
  }
  return ok_status();
}

Status read_device(const json& value, const std::string& path, DeviceConfig& device) {
  bool has_type = false;
  bool has_socket = false;
  bool has_socket_fd = false;
  uint64_t socket_fd = 0;
  BULWARK_TRY(read_object(
      value, path,
      {
          {"type", store<std::string>(&device.type, read_string, check_device_type, &has_type)},
          {"socket",
           store<std::string>(&device.socket, read_string, check_required_path, &has_socket)},
          {"socket_fd",
           store<uint64_t>(&socket_fd,
                           [](const json& v) {
                             return read_integer(v, kMinDeviceSocketFd, kMaxDeviceSocketFd);
                           },
                           nullptr, &has_socket_fd)},
      }));
  if (!has_type) return Error(path + "/type: required field is missing");
  if (has_socket == has_socket_fd) {
    return Error(path + ": give exactly one of \"socket\" (a path) and \"socket_fd\"");
  }
  if (has_socket_fd) device.socket_fd = static_cast<int>(socket_fd);  // within kMaxDeviceSocketFd
  return ok_status();
}

Status read_devices(const json& value, const std::string& path, VmConfig& config) {
  const auto* items = value.get_ptr<const json::array_t*>();
  if (items == nullptr) {
    return Error(path + ": expected an array, got " + describe_json_value(value));
  }
  if (items->size() > kMaxDevices) {
    return Error(path + ": at most " + std::to_string(kMaxDevices) + " devices, got " +
                 std::to_string(items->size()));
  }
  config.devices.clear();
  for (size_t i = 0; i < items->size(); ++i) {
    DeviceConfig device;
    const std::string device_path = json_pointer_child(path, i);
    BULWARK_TRY(read_device((*items)[i], device_path, device));
    for (size_t j = 0; j < config.devices.size(); ++j) {
      if (device.socket_fd != -1 && device.socket_fd == config.devices[j].socket_fd) {
        return Error(device_path + "/socket_fd: " + std::to_string(device.socket_fd) +
                     " is already the socket of " + json_pointer_child(path, j));
      }
    }
    config.devices.push_back(std::move(device));
  }
  return ok_status();
}

Result<VmConfig> read_vm_config(const json& root, bool require_kernel) {
  VmConfig config;
  bool has_kernel = false;
  auto integer = [](uint64_t min, uint64_t max) {
    return [min, max](const json& v) { return read_integer(v, min, max); };
  };
  uint64_t vcpus = config.vcpus;
  uint64_t control_fd = 0;
  bool has_control_fd = false;
  uint64_t tpm_fd = 0;
  bool has_tpm_fd = false;
  BULWARK_TRY(read_object(
      root, "",
      {
          {"kernel",
           store<std::string>(&config.kernel, read_string, check_required_path, &has_kernel)},
          {"initrd", store<std::string>(&config.initrd, read_string, check_optional_path)},
          {"cmdline", store<std::string>(&config.cmdline, read_string, check_cmdline)},
          {"memory_mib",
           store<uint64_t>(&config.memory_mib, integer(kMinMemoryMib, kMaxMemoryMib))},
          {"vcpus", store<uint64_t>(&vcpus, integer(kMinVcpus, kMaxVcpus))},
          {"cpu_template",
           store<std::string>(&config.cpu_template, read_string, check_cpu_template_name)},
          {"serial", [&](const json& v, const std::string& path) {
             return read_serial(v, path, config);
           }},
          {"emulated_host_quirks",
           store<EmulatedHostQuirks>(&config.emulated_host_quirks,
                                     [](const json& v) {
                                       return read_enum(v, emulated_host_quirks_from_name,
                                                        kEmulatedHostQuirksNames);
                                     })},
          {"seccomp", store<SeccompMode>(&config.seccomp,
                                         [](const json& v) {
                                           return read_enum(v, seccomp_mode_from_name, kSeccompModeNames);
                                         })},
          {"seccomp_policy_dir", store<std::string>(&config.seccomp_policy_dir, read_string, check_optional_path)},
          {"devices", [&](const json& v, const std::string& path) {
             return read_devices(v, path, config);
           }},
          {"control_fd",
           store<uint64_t>(&control_fd, integer(kMinDeviceSocketFd, kMaxDeviceSocketFd), nullptr,
                           &has_control_fd)},
          {"tpm_fd",
           store<uint64_t>(&tpm_fd, integer(kMinDeviceSocketFd, kMaxDeviceSocketFd), nullptr, &has_tpm_fd)},
      }));
  config.vcpus = static_cast<uint32_t>(vcpus);  // read_integer kept it within kMaxVcpus
  if (has_control_fd) {
    config.control_fd = static_cast<int>(control_fd);  // within kMaxDeviceSocketFd
    if (Status s = check_control_fd(config.control_fd, config.devices); !s.ok()) {
      return s.error().wrap("/control_fd");
    }
  }
  if (has_tpm_fd) {
    config.tpm_fd = static_cast<int>(tpm_fd);  // within kMaxDeviceSocketFd
    if (Status s = check_tpm_fd(config.tpm_fd, config.control_fd, config.devices); !s.ok()) {
      return s.error().wrap("/tpm_fd");
    }
  }
  if (require_kernel && !has_kernel) return Error("/kernel: required field is missing");
  return config;
}

}  // namespace

Result<VmConfig> parse_vm_config_json(std::string_view text) {
  return parse_vm_config_json(text, JsonConfigOptions{});
}

Result<VmConfig> parse_vm_config_json(std::string_view text, const JsonConfigOptions& options) {
  const std::string source(options.source);
  Result<json> document = parse_strict_json(text);
  if (!document.ok()) return document.error().wrap(source);
  Result<VmConfig> config = read_vm_config(*document, options.require_kernel);
  if (!config.ok()) return config.error().wrap(source);
  // Every field was checked above with its path; this catches a rule the readers missed. A
  // partial config is validated by the caller once the command line has been merged in.
  if (options.require_kernel) {
    if (Status s = validate_vm_config(*config); !s.ok()) return s.error().wrap(source);
  }
  return config;
}

std::string to_json(const VmConfig& config) {
  nlohmann::ordered_json serial = {{"kind", serial_output_name(config.serial)}};
  if (config.serial == SerialOutput::kFile) serial["path"] = config.serial_path;
  serial["input"] = config.serial_input;
  nlohmann::ordered_json document = {
      {"kernel", config.kernel},
      {"initrd", config.initrd},
      {"cmdline", config.cmdline},
      {"memory_mib", config.memory_mib},
      {"vcpus", config.vcpus},
      {"cpu_template", config.cpu_template},
      {"serial", std::move(serial)},
      {"emulated_host_quirks", emulated_host_quirks_name(config.emulated_host_quirks)},
      {"seccomp", seccomp_mode_name(config.seccomp)},
      {"seccomp_policy_dir", config.seccomp_policy_dir},
  };
  // Only when there are devices, so a config without them reads as it always did.
  if (!config.devices.empty()) {
    nlohmann::ordered_json devices = nlohmann::ordered_json::array();
    for (const DeviceConfig& device : config.devices) {
      nlohmann::ordered_json entry = {{"type", device.type}};
      if (device.socket_fd != -1) {
        entry["socket_fd"] = device.socket_fd;
      } else {
        entry["socket"] = device.socket;
      }
      devices.push_back(std::move(entry));
    }
    document["devices"] = std::move(devices);
  }
  if (config.control_fd != -1) document["control_fd"] = config.control_fd;
  if (config.tpm_fd != -1) document["tpm_fd"] = config.tpm_fd;
  // replace: a command-line path that is not UTF-8 must not make dump() throw.
  return document.dump(2, ' ', /*ensure_ascii=*/false, nlohmann::json::error_handler_t::replace) +
         "\n";
}

}  // namespace bulwark::config
