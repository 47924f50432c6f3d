#include "policy/seccomp_policy/policy_loader.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "bulwark/common/unique_fd.h"
#include "policy/seccomp_policy/policy_text.h"
#include "policy/seccomp_policy/syscall_names.h"

namespace bulwark::policy {

namespace {

#if defined(__SANITIZE_ADDRESS__)
constexpr bool kSanitizerBuild = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(undefined_behavior_sanitizer)
constexpr bool kSanitizerBuild = true;
#else
constexpr bool kSanitizerBuild = false;
#endif
#else
constexpr bool kSanitizerBuild = false;
#endif


Result<std::string> read_regular_file(int directory_fd, const std::string& name, int flags) {
  // O_NONBLOCK: opening a FIFO must not hang; it is refused below as not a regular file.
  const int open_flags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK | flags;
  UniqueFd file(::openat(directory_fd, name.c_str(), open_flags));
  if (!file.valid()) {
    if (errno == ELOOP && (flags & O_NOFOLLOW) != 0) {
      return Error("is a symbolic link; included files must be regular files");
    }
    return Error::from_errno("cannot open", errno);
  }
  struct stat info {};
  if (::fstat(file.get(), &info) != 0) return Error::from_errno("cannot stat", errno);
  if (!S_ISREG(info.st_mode)) return Error("not a regular file");
  std::string text;
  char buffer[4096];
  while (true) {
    const ssize_t got = ::read(file.get(), buffer, sizeof(buffer));
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) return Error::from_errno("cannot read", errno);
    if (got == 0) break;
    if (text.size() + static_cast<size_t>(got) > kMaxPolicyFileBytes) {
      return Error("larger than " + std::to_string(kMaxPolicyFileBytes) + " bytes");
    }
    text.append(buffer, static_cast<size_t>(got));
  }
  return text;
}

std::string directory_of(const std::string& path) {
  const size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

}  // namespace

Result<SeccompPolicy> load_seccomp_policy_file(const std::string& path) {
  // Includes are opened relative to this descriptor, so renaming directories meanwhile
  // cannot redirect them.
  const std::string directory = directory_of(path);
  UniqueFd directory_fd(::open(directory.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!directory_fd.valid()) {
    return Error::from_errno(path + ": cannot open its directory", errno);
  }
  Result<std::string> text = read_regular_file(AT_FDCWD, path, 0);
  if (!text.ok()) return text.error().wrap(path);
  const int dir = directory_fd.get();
  IncludeReader read_include = [dir](const std::string& name) {
    return read_regular_file(dir, name, O_NOFOLLOW);
  };
  return parse_seccomp_policy(*text, path, read_include, check_x86_64_syscall_name);
}

Result<SeccompPolicy> load_process_policy(const std::string& dir, const std::string& file) {
  auto loaded = load_seccomp_policy_file(dir + "/" + file);
  if (!loaded.ok()) return loaded.error().wrap("seccomp policy");
  if (kSanitizerBuild) {
    auto extra = load_seccomp_policy_file(dir + "/sanitizer-runtime.policy");
    if (!extra.ok()) return extra.error().wrap("seccomp policy");
    for (const SyscallRule& rule : extra->rules) {
      std::erase_if(loaded->rules, [&](const SyscallRule& r) { return r.name == rule.name; });
      loaded->rules.push_back(rule);
    }
  }
  return loaded;
}

}  // namespace bulwark::policy
