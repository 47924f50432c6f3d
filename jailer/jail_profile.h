// What the jail applies to every process it starts, whatever its JailSpec: the namespaces it
// creates, the securebits it locks, no_new_privs and dumpable. jail.cc and jail_child.cc apply
// these values; `bulwark policy show` reads them from here, so the listing cannot drift from
// what the jail does.
#pragma once

#include <linux/securebits.h>
#include <sched.h>

#include "jailer/jail_spec.h"

namespace bulwark::jail {

// New for every jailed process: mount (pivot_root into the jail), pid, ipc, uts.
inline constexpr unsigned long kJailNamespaceFlags =
    CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS;

// The clone() namespace flags for `spec`: a new, empty network namespace unless the spec names
// one to join (then the child setns()es into /run/netns/<netns>).
inline unsigned long jail_namespace_flags(const JailSpec& spec) {
  return kJailNamespaceFlags | (spec.netns.empty() ? CLONE_NEWNET : 0UL);
}

// uid 0 never means privilege again, capabilities never survive a uid change, and none of it
// can be undone.
inline constexpr unsigned long kJailSecurebits =
    SECBIT_NOROOT | SECBIT_NOROOT_LOCKED | SECBIT_NO_SETUID_FIXUP_LOCKED | SECBIT_KEEP_CAPS_LOCKED |
    SECBIT_NO_CAP_AMBIENT_RAISE | SECBIT_NO_CAP_AMBIENT_RAISE_LOCKED;

// PR_SET_NO_NEW_PRIVS value (the kernel accepts only 1) and PR_SET_DUMPABLE value.
inline constexpr unsigned long kJailNoNewPrivs = 1;
inline constexpr unsigned long kJailDumpable = 0;

}  // namespace bulwark::jail
