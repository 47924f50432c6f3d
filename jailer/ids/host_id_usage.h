// Ids the host already uses, whoever handed them out: a VM's uid or gid must be unused by any
// running process (another launcher with another run dir, a service) and by every account and
// group in the host's databases (NSS: /etc/passwd, /etc/group, LDAP, ...). A lock file only
// proves that no launcher sharing this run dir holds the number.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <string>

namespace bulwark::jailer {

class HostIdUsage {
 public:
  // Reads every process's uids and gids (real, effective, saved, filesystem) from /proc once.
  static HostIdUsage scan();
  // "" when nothing uses `id` as a uid or gid, else who does: "process 1234", "account
  // \"www-data\"", "group \"shadow\"".
  std::string user_of(uint32_t id) const;

 private:
  std::map<uint32_t, pid_t> process_ids_;
};

}  // namespace bulwark::jailer
