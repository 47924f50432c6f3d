#include "jailer/svirt/jail_labels.h"

namespace bulwark::jailer {

Result<std::vector<PlannedLabel>> plan_jail_labels(
    const SvirtTypes& types, const McsPair& pair, const std::filesystem::path& instance_dir,
    const std::filesystem::path& root_dir, std::span<const std::string> generated_jail_paths) {
  const std::string image = image_file_context(types, pair);
  const std::string jail = jail_file_context(types, pair);
  std::vector<PlannedLabel> labels = {{instance_dir, image}, {root_dir, image}};
  for (const std::string& jail_path : generated_jail_paths) {
    const std::filesystem::path in_jail(jail_path);
    if (!in_jail.is_absolute())
      return Error("jail file '" + jail_path + "' is not an absolute path inside the jail");
    for (const auto& component : in_jail) {
      if (component == "..") return Error("jail file '" + jail_path + "' leaves the jail root");
    }
    // root_dir / "/vm.json" would drop root_dir: join the part below "/".
    labels.push_back({root_dir / in_jail.relative_path(), jail});
  }
  return labels;
}

}  // namespace bulwark::jailer
