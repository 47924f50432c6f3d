// Shared pieces of the guest integration tests: where the monitor and the guests are, how to
// run one guest, and small output helpers.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "tests/integration/monitor_process.h"

namespace bulwark::test {

inline constexpr uint64_t kGuestRamMiB = 64;

// Absolute path of the bulwark-monitor binary under test ("" when it was not built).
std::string monitor_path();
// Absolute path of tests/guests/<name>.elf in the build tree.
std::string guest_path(std::string_view name);

// Runs bulwark-monitor --kernel <guest> --memory 64M <extra_args...>.
ProcessResult run_guest(std::string_view guest, const std::vector<std::string>& extra_args = {},
                        std::string stdin_data = {},
                        std::chrono::milliseconds timeout = std::chrono::seconds(120));
// The argument list run_guest uses, for tests that drive the child themselves.
std::vector<std::string> guest_args(std::string_view guest,
                                    const std::vector<std::string>& extra_args = {});

// Console text with '\r' removed, so line checks hold whether or not a terminal layer adds
// carriage returns.
std::string console_text(const std::string& out);
// True when `line` is one whole line of console_text(out).
bool has_line(const std::string& out, std::string_view line);
std::string lowercase(std::string s);

// Peak RSS the monitor may reach with a kGuestRamMiB guest: guest RAM + 64 MiB of its own,
// plus the sanitizer runtime's shadow memory and quarantine in ASan builds.
long rss_limit_kib();

// Base fixture: skips when this machine has no usable /dev/kvm, fails when the monitor
// binary is missing.
class GuestTest : public ::testing::Test {
 protected:
  void SetUp() override;
};

// A private directory under the test temp dir, removed with everything in it.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace bulwark::test
