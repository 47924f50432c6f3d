#include "jailer/tpm_host_config.h"

#include "jailer/host_config.h"
#include "jailer/jail_config.h"
#include "jailer/json_fields.h"
#include "monitor/config/message_text.h"
#include "monitor/config/strict_json.h"

namespace bulwark::jail {

Status read_host_tpm_config(const nlohmann::json& value, const std::string& path, TpmHostConfig& tpm) {
  const auto* members = value.get_ptr<const nlohmann::json::object_t*>();
  if (members == nullptr) return Error(path + ": expected an object, got " + config::describe_json_value(value));
  TpmHostConfig read;
  for (const auto& [key, member] : *members) {
    const std::string member_path = config::json_pointer_child(path, key);
    Status status = ok_status();
    if (key == "state_dir") {
      status = read_json_string(member, check_base_dir, &read.state_dir);
    } else if (key == "swtpm") {
      status = read_json_string(member, check_absolute_path, &read.swtpm);
    } else if (key == "swtpm_setup") {
      status = read_json_string(member, check_absolute_path, &read.swtpm_setup);
    } else if (key == "report_key") {
      status = read_json_string(member, check_absolute_path, &read.report_key);
    } else {
      return Error(member_path + ": unknown field (state_dir, swtpm, swtpm_setup or report_key)");
    }
    if (!status.ok()) return status.error().wrap(member_path);
  }
  if (read.state_dir.empty()) {
    return Error(config::json_pointer_child(path, "state_dir") +
                 ": required: the directory each VM's TPM state is kept in");
  }
  tpm = std::move(read);
  return ok_status();
}

std::string describe_tpm_host_config(const TpmHostConfig& tpm) {
  if (!tpm.enabled()) return "  tpm = (none: VMs may not have a TPM)\n";
  return "  tpm.state_dir = " + tpm.state_dir + "\n  tpm.swtpm = " +
         (tpm.swtpm.empty() ? std::string(kDefaultSwtpm) : tpm.swtpm) + "\n  tpm.swtpm_setup = " +
         (tpm.swtpm_setup.empty() ? std::string(kDefaultSwtpmSetup) : tpm.swtpm_setup) + "\n  tpm.report_key = " +
         (tpm.report_key.empty() ? std::string("(none: launch reports are not signed or written)") : tpm.report_key) + "\n";
}

}  // namespace bulwark::jail
