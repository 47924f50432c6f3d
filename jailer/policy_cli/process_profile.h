// What each Bulwark process kind may do, computed from the launcher's own code (the JailSpecs
// build_monitor_spec/build_device_spec produce for a representative VM, the jail's fixed steps
// in jailer/jail_profile.h) and the policy files, never from a hand-kept copy. The result is one
// JSON document; `bulwark policy show` prints it as text or as JSON.
#pragma once

#include <optional>
#include <string>

#include <nlohmann/json.hpp>

namespace bulwark::policy_cli {

struct ShowOptions {
  std::string seccomp_dir;
  std::optional<std::string> selinux_dir;  // nullopt: no SELinux policy directory
};

// {"representative_vm": {...}, "processes": [ {kind, title, selinux, seccomp, namespaces, ...} ]}
nlohmann::json build_process_profiles(const ShowOptions& options);

// The same document as text, grouped per process.
std::string render_profiles_text(const nlohmann::json& profiles);

}  // namespace bulwark::policy_cli
