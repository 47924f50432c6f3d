// parse_vm_config_json on arbitrary bytes: it must never crash, and whatever it accepts must
// survive to_json() and parse back to the same config.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "monitor/config/json_config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace bulwark::config;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  bulwark::Result<VmConfig> parsed = parse_vm_config_json(text);
  if (!parsed.ok()) {
    if (parsed.error().message().rfind("config: ", 0) != 0) {
      std::fprintf(stderr, "error without the config prefix: %s\n",
                   parsed.error().message().c_str());
      std::abort();
    }
    return 0;
  }
  if (!validate_vm_config(*parsed).ok()) {
    std::fprintf(stderr, "accepted an invalid config: %s\n",
                 validate_vm_config(*parsed).error().message().c_str());
    std::abort();
  }
  const std::string serialized = to_json(*parsed);
  bulwark::Result<VmConfig> reparsed = parse_vm_config_json(serialized);
  if (!reparsed.ok()) {
    std::fprintf(stderr, "to_json output rejected: %s\n%s", reparsed.error().message().c_str(),
                 serialized.c_str());
    std::abort();
  }
  if (!(*reparsed == *parsed) || to_json(*reparsed) != serialized) {
    std::fprintf(stderr, "round trip changed the config:\n%s%s", serialized.c_str(),
                 to_json(*reparsed).c_str());
    std::abort();
  }
  return 0;
}
