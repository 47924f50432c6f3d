#include "jailer/svirt/security_context.h"

namespace bulwark::jailer {

Status validate_selinux_identifier(std::string_view what, std::string_view name) {
  if (name.empty()) return Error("SELinux " + std::string(what) + " name is empty");
  if (name.size() > 128) return Error("SELinux " + std::string(what) + " name is too long");
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
    if (!ok)
      return Error("SELinux " + std::string(what) + " name '" + std::string(name) +
                   "' has a character outside [A-Za-z0-9_]");
  }
  return ok_status();
}

Status validate_svirt_types(const SvirtTypes& t) {
  BULWARK_TRY(validate_selinux_identifier("user", t.user));
  BULWARK_TRY(validate_selinux_identifier("process role", t.process_role));
  BULWARK_TRY(validate_selinux_identifier("object role", t.object_role));
  BULWARK_TRY(validate_selinux_identifier("sensitivity", t.sensitivity));
  BULWARK_TRY(validate_selinux_identifier("VM domain", t.vm_domain));
  BULWARK_TRY(validate_selinux_identifier("image type", t.image_type));
  BULWARK_TRY(validate_selinux_identifier("content type", t.content_type));
  BULWARK_TRY(validate_selinux_identifier("jail type", t.jail_type));
  return ok_status();
}

std::string process_context(const SvirtTypes& t, std::string_view domain, const McsPair& pair) {
  return t.user + ":" + t.process_role + ":" + std::string(domain) + ":" + t.sensitivity + ":" +
         pair.categories();
}

std::string vm_process_context(const SvirtTypes& t, const McsPair& pair) {
  return process_context(t, t.vm_domain, pair);
}

std::string image_file_context(const SvirtTypes& t, const McsPair& pair) {
  return t.user + ":" + t.object_role + ":" + t.image_type + ":" + t.sensitivity + ":" +
         pair.categories();
}

std::string content_file_context(const SvirtTypes& t) {
  return t.user + ":" + t.object_role + ":" + t.content_type + ":" + t.sensitivity;
}

std::string private_content_file_context(const SvirtTypes& t, const McsPair& pair) {
  return content_file_context(t) + ":" + pair.categories();
}

std::string jail_file_context(const SvirtTypes& t, const McsPair& pair) {
  return t.user + ":" + t.object_role + ":" + t.jail_type + ":" + t.sensitivity + ":" +
         pair.categories();
}

std::string vm_socket_context(const SvirtTypes& t, const McsPair& pair) {
  return vm_process_context(t, pair);
}

}  // namespace bulwark::jailer
