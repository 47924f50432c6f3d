// Runs a shell command line for a test, bounded in time: `timeout SECONDS` in front, stdout and
// stderr captured together. For tests that drive reference tools (qemu-img, qemu-io).
#pragma once

#include <string>

namespace bulwark::test {

struct ShellResult {
  int status = -1;     // exit code; -1 when the command did not exit normally
  std::string output;  // stdout and stderr
};

ShellResult run_shell(const std::string& command, int timeout_seconds = 60);
// Whether qemu-img and qemu-io are on PATH.
bool have_qemu_tools();

}  // namespace bulwark::test
