#include "tests/integration/guest_test_support.h"

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <filesystem>

#include "bulwark/common/unique_fd.h"

#ifndef BULWARK_MONITOR
#define BULWARK_MONITOR ""
#endif

namespace bulwark::test {

std::string monitor_path() { return BULWARK_MONITOR; }

std::string guest_path(std::string_view name) {
  return std::string(BULWARK_GUEST_DIR) + "/" + std::string(name) + ".elf";
}

std::vector<std::string> guest_args(std::string_view guest,
                                    const std::vector<std::string>& extra_args) {
  std::vector<std::string> args = {"--kernel", guest_path(guest), "--memory",
                                   std::to_string(kGuestRamMiB) + "M"};
  args.insert(args.end(), extra_args.begin(), extra_args.end());
  return args;
}

ProcessResult run_guest(std::string_view guest, const std::vector<std::string>& extra_args,
                        std::string stdin_data, std::chrono::milliseconds timeout) {
  return run_process(monitor_path(), guest_args(guest, extra_args), std::move(stdin_data),
                     timeout);
}

std::string console_text(const std::string& out) {
  std::string text = out;
  text.erase(std::remove(text.begin(), text.end(), '\r'), text.end());
  return text;
}

bool has_line(const std::string& out, std::string_view line) {
  const std::string text = "\n" + console_text(out) + "\n";
  return text.find("\n" + std::string(line) + "\n") != std::string::npos;
}

std::string lowercase(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

long rss_limit_kib() {
  long limit_mib = static_cast<long>(kGuestRamMiB) + 64;
#if defined(__SANITIZE_ADDRESS__)
  limit_mib += 64;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
  limit_mib += 64;
#endif
#endif
  return limit_mib * 1024;
}

void GuestTest::SetUp() {
  ASSERT_FALSE(monitor_path().empty()) << "built without the bulwark-monitor target";
  ASSERT_EQ(::access(monitor_path().c_str(), X_OK), 0) << monitor_path() << " is not executable";
  UniqueFd kvm(::open("/dev/kvm", O_RDWR | O_CLOEXEC));
  if (!kvm.valid()) GTEST_SKIP() << "no usable /dev/kvm on this machine";
}

TempDir::TempDir() {
  std::string pattern = ::testing::TempDir() + "bulwark-guest-test-XXXXXX";
  if (::mkdtemp(pattern.data()) != nullptr) path_ = pattern;
}

TempDir::~TempDir() {
  if (path_.empty()) return;
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

}  // namespace bulwark::test
