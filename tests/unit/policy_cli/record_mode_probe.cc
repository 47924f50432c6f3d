// A process for the `bulwark policy record` tests: installs POLICY_FILE in record mode, then
// makes getppid() three times, getuid() once (not in the test policy) and exits 0. Refuses
// with exit 3 when nothing traces it.
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdio>

#include "policy/seccomp_policy/policy_apply.h"
#include "policy/seccomp_policy/policy_loader.h"

// Leak checking at exit attaches to the process with ptrace, which the recorder already does
// (sanitizer builds); the monitor and the device processes turn it off for their policies too.
extern "C" const char* __lsan_default_options() { return "detect_leaks=0"; }  // NOLINT

int main(int argc, char** argv) {
  using namespace bulwark;
  if (argc != 2) return 2;
  auto policy = policy::load_seccomp_policy_file(argv[1]);
  if (!policy.ok()) {
    std::fprintf(stderr, "%s\n", policy.error().message().c_str());
    return 2;
  }
  if (Status traced = policy::check_recording_tracer(); !traced.ok()) {
    std::fprintf(stderr, "%s\n", traced.error().message().c_str());
    return 3;
  }
  if (Status applied = policy::apply_seccomp_policy(*policy, policy::ViolationAction::kRecord); !applied.ok()) {
    std::fprintf(stderr, "%s\n", applied.error().message().c_str());
    return 2;
  }
  for (int i = 0; i < 3; ++i) ::syscall(SYS_getppid);
  ::syscall(SYS_getuid);
  return 0;
}
