// Names a policy may use for argument values: the KVM ioctls the monitor issues and the usual
// flag and command constants of the system calls it makes (PROT_*, MAP_*, O_*, F_*, FUTEX_*,
// CLONE_*, SIG*, terminal ioctls, ...). Values are the x86-64 Linux ABI values.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

namespace bulwark::policy {

struct NamedConstant {
  std::string_view name;
  uint64_t value;  // negative C values (AT_FDCWD) are sign-extended, as the register holds them
};

// Every known name, sorted by name, each once.
std::span<const NamedConstant> named_constants();

std::optional<uint64_t> find_named_constant(std::string_view name);

}  // namespace bulwark::policy
