// bulwark-monitor's exit codes: how a VM ended, distinct for every cause a user or the
// launcher must tell apart. Documented in README.md; tests assert them.
#pragma once

namespace bulwark::vmm {

enum ExitCode : int {
  kExitGuestReset = 0,          // the guest reset or powered off the machine (its normal end)
  kExitConfigError = 1,         // bad command line or config file; nothing ran
  kExitKvmUnavailable = 2,      // no /dev/kvm, no permission, old API or a missing capability
  kExitBadImage = 3,            // kernel or initrd refused (malformed, truncated, too large)
  kExitGuestTripleFault = 4,    // the guest triple-faulted (KVM_EXIT_SHUTDOWN)
  kExitGuestEmulationFailure = 5,  // an instruction the host cannot run, or a KVM internal error
  kExitVmEntryFailed = 6,       // KVM could not enter the guest (KVM_EXIT_FAIL_ENTRY)
  kExitHostError = 7,           // an unexpected host-side failure (an ioctl or syscall failed)
  kExitStoppedBySignal = 8,     // SIGTERM or SIGINT from the host stopped the VM cleanly
  // 9 is never the monitor's: `bulwark run` exits 9 when a jail step failed.
  kExitResourceExhausted = 10,  // a host resource ran out: threads (pids.max, RLIMIT_NPROC),
                                // file descriptors (RLIMIT_NOFILE) or memory; the message names it
};

}  // namespace bulwark::vmm
