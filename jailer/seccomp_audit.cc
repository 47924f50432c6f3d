#include "jailer/seccomp_audit.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <charconv>
#include <string>

namespace bulwark::jail {
namespace {

constexpr std::string_view kSeccompRecordType = "type=1326";

// The value of the token "key=VALUE" as a number in `base`, if exactly one such token exists.
template <typename Number>
std::optional<Number> numeric_field(std::string_view text, std::string_view key, int base) {
  std::optional<Number> found;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find(' ', pos);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view token = text.substr(pos, end - pos);
    pos = end + 1;
    if (token.size() <= key.size() || token.substr(0, key.size()) != key || token[key.size()] != '=') {
      continue;
    }
    const std::string_view value = token.substr(key.size() + 1);
    Number number{};
    auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), number, base);
    if (ec != std::errc() || ptr != value.data() + value.size() || found) return std::nullopt;
    found = number;
  }
  return found;
}

}  // namespace

std::optional<SeccompAuditRecord> parse_seccomp_audit_record(std::string_view record) {
  // /dev/kmsg: "<prefix>;<message>\n" followed by optional continuation lines (" KEY=VALUE").
  const size_t semicolon = record.find(';');
  if (semicolon == std::string_view::npos) return std::nullopt;
  std::string_view message = record.substr(semicolon + 1);
  if (const size_t newline = message.find('\n'); newline != std::string_view::npos) {
    message = message.substr(0, newline);
  }
  if (message.rfind("audit: ", 0) != 0) return std::nullopt;
  if (message.find(std::string(" ") + std::string(kSeccompRecordType) + " ") == std::string_view::npos) {
    return std::nullopt;
  }
  auto pid = numeric_field<long>(message, "pid", 10);
  auto signal = numeric_field<long>(message, "sig", 10);
  auto syscall = numeric_field<long>(message, "syscall", 10);
  auto arch = numeric_field<unsigned long>(message, "arch", 16);
  if (!pid || !signal || !syscall || !arch) return std::nullopt;
  return SeccompAuditRecord{*pid, *signal, *syscall, *arch};
}

Result<KernelLogCursor> KernelLogCursor::open_at_end() {
  UniqueFd fd(::open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC));
  if (!fd.valid()) return Error::from_errno("open /dev/kmsg", errno);
  if (::lseek(fd.get(), 0, SEEK_END) < 0) return Error::from_errno("seek /dev/kmsg", errno);
  return KernelLogCursor(std::move(fd));
}

std::optional<SeccompAuditRecord> KernelLogCursor::find_seccomp_kill(pid_t pid,
                                                                     std::chrono::milliseconds wait) {
  const auto deadline = std::chrono::steady_clock::now() + wait;
  char buffer[8192];
  for (;;) {
    const ssize_t n = ::read(fd_.get(), buffer, sizeof buffer);
    if (n > 0) {
      auto record = parse_seccomp_audit_record(std::string_view(buffer, static_cast<size_t>(n)));
      if (record && record->pid == pid) return record;
      continue;
    }
    if (n < 0 && errno == EPIPE) continue;  // records were overwritten: read on from the next
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno != EAGAIN) return std::nullopt;
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return std::nullopt;
    pollfd readable{fd_.get(), POLLIN, 0};
    ::poll(&readable, 1, static_cast<int>(left.count()));
  }
}

}  // namespace bulwark::jail
