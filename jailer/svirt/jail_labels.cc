#include "jailer/svirt/jail_labels.h"

namespace bulwark::jailer {

JailCreateLabel plan_jail_create_label(const SvirtTypes& types, const std::optional<McsPair>& pair,
                                       bool selinux_enabled) {
  if (!pair) return {};
  return {jail_file_context(types, *pair), selinux_enabled};
}

}  // namespace bulwark::jailer
