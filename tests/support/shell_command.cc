#include "tests/support/shell_command.h"

#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>

namespace bulwark::test {

ShellResult run_shell(const std::string& command, int timeout_seconds) {
  ShellResult result;
  FILE* pipe = ::popen(("timeout " + std::to_string(timeout_seconds) + " " + command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return result;
  char buffer[4096];
  while (size_t n = std::fread(buffer, 1, sizeof buffer, pipe)) result.output.append(buffer, n);
  const int status = ::pclose(pipe);
  result.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

bool have_qemu_tools() {
  static const bool have =
      std::system("command -v qemu-img >/dev/null 2>&1 && command -v qemu-io >/dev/null 2>&1") == 0;
  return have;
}

}  // namespace bulwark::test
