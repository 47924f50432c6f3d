// The jailed child's half of the jail sequence: runs between clone() (new mount, pid, ipc, uts
// and network namespaces) and execve(). It waits for the launcher to put it in its cgroup, then
// builds its root, drops every privilege and executes the program. Any failure is written to
// `error_fd` as "jail step <name>: <what>: <strerror>" and the child exits; on success the
// close-on-exec pipe simply closes.
#pragma once

#include "jailer/jail_spec.h"

namespace bulwark::jail {

struct ChildChannels {
  int go_fd = -1;     // read end: one byte once the launcher has set up the cgroup
  int error_fd = -1;  // write end, close-on-exec
  int netns_fd = -1;  // /run/netns/<name> to join, or -1 (a new one was created by clone)
};

[[noreturn]] void run_jailed_child(const JailSpec& spec, const ChildChannels& channels);

}  // namespace bulwark::jail
