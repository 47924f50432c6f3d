// A launch record (jailer/launch_record.h): what a killed launcher left in the run dir, read by
// the next launch of that VM id before it removes anything. It must parse to plain absolute paths
// and a non-root uid, or be refused; what parses must format back to the same record.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "jailer/launch_record.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto parsed = bulwark::jail::parse_launch_record(text);
  if (!parsed.ok()) return 0;
  if (parsed->uid == 0) std::abort();
  for (const auto* list : {&parsed->jail_dirs, &parsed->cgroup_dirs}) {
    for (const auto& path : *list) {
      if (path.empty() || path.front() != '/' || path.find("/../") != std::string::npos ||
          path.find("//") != std::string::npos) {
        std::abort();
      }
    }
  }
  auto again = bulwark::jail::parse_launch_record(bulwark::jail::format_launch_record(*parsed));
  if (!again.ok() || !(*again == *parsed)) std::abort();
  return 0;
}
