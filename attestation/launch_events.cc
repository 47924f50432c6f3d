#include "attestation/launch_events.h"

#include <string>
#include <vector>

namespace bulwark::attestation {

namespace {

std::span<const uint8_t> bytes_of(std::string_view text) {
  return {reinterpret_cast<const uint8_t*>(text.data()), text.size()};
}

constexpr size_t kMaxItemNameBytes = 4096;

}  // namespace

Result<Digests> measure_kernel(EventLogWriter& log, std::span<const uint8_t> kernel) {
  return log.add(kPcrBootInputs, EventType::kIpl, bytes_of(kKernelDescription), kernel);
}

Result<Digests> measure_initrd(EventLogWriter& log, std::span<const uint8_t> initrd) {
  return log.add(kPcrBootInputs, EventType::kEventTag,
                 encode_tagged_event(kLinuxInitrdTag, bytes_of(kLinuxInitrdDescription)), initrd);
}

Result<Digests> measure_command_line(EventLogWriter& log, std::string_view command_line) {
  if (command_line.find('\0') != std::string_view::npos) return Error("command line: contains a NUL byte");
  std::string data(kCommandLinePrefix);
  data.append(command_line);
  data.push_back('\0');
  return log.add(kPcrBootInputs, EventType::kIpl, bytes_of(data), bytes_of(command_line));
}

Result<Digests> measure_vm_config(EventLogWriter& log, std::string_view canonical_json) {
  std::vector<uint8_t> name(kVmConfigItem.begin(), kVmConfigItem.end());
  name.push_back(0);
  return log.add(kPcrBootInputs, EventType::kEventTag, encode_tagged_event(kBulwarkIsolationTag, name),
                 bytes_of(canonical_json));
}

Result<Digests> measure_isolation_item(EventLogWriter& log, std::string_view item,
                                       std::span<const uint8_t> measured) {
  if (item.empty() || item.size() > kMaxItemNameBytes || item.find('\0') != std::string_view::npos)
    return Error("isolation item name: expected 1 to " + std::to_string(kMaxItemNameBytes) +
                 " bytes without NUL");
  std::vector<uint8_t> name(item.begin(), item.end());
  name.push_back(0);
  return log.add(kPcrIsolation, EventType::kEventTag, encode_tagged_event(kBulwarkIsolationTag, name), measured);
}

}  // namespace bulwark::attestation
