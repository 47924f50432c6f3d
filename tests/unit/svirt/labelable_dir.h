// A temporary directory on a filesystem that stores security.selinux xattrs (tried in /tmp,
// then /var/tmp, then /dev/shm), or none when no candidate does.
#pragma once

#include <sys/xattr.h>

#include <fstream>
#include <memory>

#include "tests/unit/ids/temp_dir.h"

namespace bulwark::testing_support {

inline std::unique_ptr<TempDir> make_labelable_temp_dir() {
  for (const char* base : {"/tmp", "/var/tmp", "/dev/shm"}) {
    auto dir = std::make_unique<TempDir>(base);
    if (!dir->ok()) continue;
    const auto probe = dir->path() / "probe";
    std::ofstream(probe) << "x";
    static const char kLabel[] = "system_u:object_r:tmp_t:s0";
    if (::lsetxattr(probe.c_str(), "security.selinux", kLabel, sizeof kLabel, 0) == 0) {
      std::filesystem::remove(probe);
      return dir;
    }
  }
  return nullptr;
}

}  // namespace bulwark::testing_support
