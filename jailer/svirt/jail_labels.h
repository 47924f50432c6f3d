// Which label each file of a VM's jail gets under sVirt, decided without touching the files:
// the jail's directories are image-typed at the VM's pair (the VM's domains may only search
// them), and the files the launcher writes into the root for the VM to read (vm.json) are
// jail-typed at the pair: the policy lets the monitor read bulwark_jail_t but keeps
// bulwark_image_t files to the blk domain.
#pragma once

#include <filesystem>
#include <span>
#include <string>
#include <vector>

#include "bulwark/common/result.h"
#include "jailer/svirt/mcs_pair.h"
#include "jailer/svirt/security_context.h"

namespace bulwark::jailer {

struct PlannedLabel {
  std::filesystem::path path;
  std::string context;
  bool operator==(const PlannedLabel&) const = default;
};

// instance_dir and root_dir first, then root_dir + each of generated_jail_paths (absolute as
// seen inside the jail, e.g. "/vm.json"; a relative one or one with a ".." component is refused,
// so a label can never land outside the root).
Result<std::vector<PlannedLabel>> plan_jail_labels(
    const SvirtTypes& types, const McsPair& pair, const std::filesystem::path& instance_dir,
    const std::filesystem::path& root_dir, std::span<const std::string> generated_jail_paths);

}  // namespace bulwark::jailer
