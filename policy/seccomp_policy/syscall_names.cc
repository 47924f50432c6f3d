#include "policy/seccomp_policy/syscall_names.h"

#include <seccomp.h>

#include <cstdlib>
#include <memory>
#include <string>

namespace bulwark::policy {

Result<int> resolve_x86_64_syscall(std::string_view name) {
  const std::string terminated(name);
  // Negative numbers are libseccomp's stand-ins for calls that other architectures have
  // (socketcall, ipc, ...) and x86-64 does not.
  const int number = seccomp_syscall_resolve_name_arch(SCMP_ARCH_X86_64, terminated.c_str());
  if (number < 0 || name.find('\0') != std::string_view::npos) {
    return Error("unknown system call '" + terminated + "' on x86-64");
  }
  return number;
}

std::string x86_64_syscall_name(long number) {
  if (number >= 0 && number <= 0xffff) {
    // libseccomp returns a malloc'd copy that the caller frees.
    std::unique_ptr<char, decltype(&std::free)> name(
        seccomp_syscall_resolve_num_arch(SCMP_ARCH_X86_64, static_cast<int>(number)), &std::free);
    if (name) return name.get();
  }
  return "syscall " + std::to_string(number);
}

Status check_x86_64_syscall_name(std::string_view name) {
  Result<int> number = resolve_x86_64_syscall(name);
  if (!number.ok()) return number.error();
  return ok_status();
}

}  // namespace bulwark::policy
